// Stress: reader threads check invariants while writer threads run random
// transactions (some rolled back, some with refused calls inside). A reader
// must never see a half-applied transaction. Built and run under
// ThreadSanitizer too. Runs for RELSTORE_STRESS_SECONDS (default 2) seconds.
#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace concurrency_test {

namespace bank {

struct Account {
    std::int64_t id{};
    std::string owner;
    std::int64_t balance{};
};
RELSTORE_FIELDS(Account, id, owner, balance)

/// Entries come in pairs (+amount, -amount) sharing a pair number.
struct Entry {
    std::int64_t id{};
    std::int64_t pair{};
    std::int64_t account_id{};
    std::int64_t amount{};
};
RELSTORE_FIELDS(Entry, id, pair, account_id, amount)

/// One row: how many transactions committed.
struct Meta {
    std::int64_t id{};
    std::int64_t commits{};
};
RELSTORE_FIELDS(Meta, id, commits)

namespace rs = relstore;
using accounts = rs::table<"accounts", Account, rs::auto_key<&Account::id>, rs::unique<&Account::owner>,
                           rs::ordered<&Account::balance>>;
using entries = rs::table<"entries", Entry, rs::auto_key<&Entry::id>, rs::index<&Entry::pair>,
                          rs::references<&Entry::account_id, accounts, rs::on_delete::cascade>>;
using meta = rs::table<"meta", Meta, rs::primary_key<&Meta::id>>;
using store = rs::store<accounts, entries, meta>;

constexpr int initial_accounts = 16;
constexpr std::int64_t initial_balance = 1000;
constexpr std::int64_t total = initial_accounts * initial_balance;

/// What a reader checks inside one read scope; "" when every invariant holds.
std::string check(const rs::reader<store>& q, std::int64_t& last_commits) {
    std::int64_t sum = 0;
    for (const Account& a : q.all<accounts>()) sum += a.balance;
    if (sum != total) return "balances sum to " + std::to_string(sum);
    // The same sum through the ordered index: the indexes agree with the table.
    std::int64_t sum_by_index = 0;
    for (const Account& a : q.order_by<&Account::balance>()) sum_by_index += a.balance;
    if (sum_by_index != total) return "balances by index sum to " + std::to_string(sum_by_index);
    if (q.order_by<&Account::balance>().count() != q.count<accounts>()) return "balance index size differs";

    std::int64_t entry_sum = 0;
    for (const Entry& e : q.all<entries>()) {
        entry_sum += e.amount;
        if (q.where<&Entry::pair>(e.pair).count() != 2) return "pair " + std::to_string(e.pair) + " is incomplete";
        if (q.find<accounts>(e.account_id) == nullptr) return "an entry references a missing account";
    }
    if (entry_sum != 0) return "entries sum to " + std::to_string(entry_sum);
    if (q.count<entries>() % 2 != 0) return "odd number of entries";

    const std::int64_t commits = q.get<meta>(1).commits;
    if (commits < last_commits) return "the commit counter went backwards";
    last_commits = commits;
    return "";
}

/// The accounts, each with the initial balance, and the commit counter at 0.
void fill(store& db) {
    auto tx = db.write();
    for (int i = 0; i < initial_accounts; ++i) tx.insert(Account{0, "owner" + std::to_string(i), initial_balance});
    tx.insert(Meta{1, 0});
    tx.commit();
}

int seconds() {
    if (const char* s = std::getenv("RELSTORE_STRESS_SECONDS")) return std::max(1, std::atoi(s));
    return 2;
}

}  // namespace bank

TEST_CASE("readers never see a half-applied transaction while writers commit and roll back",
          "[concurrency][stress]") {
    using namespace bank;
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait " << never_wait);
    store db(rs::store_options{.readers_never_wait = never_wait});
    fill(db);

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds());
    std::atomic<bool> stop{false};
    std::mutex failure_mutex;
    std::string failure;
    auto fail = [&](const std::string& what) {
        std::lock_guard lock(failure_mutex);
        if (failure.empty()) failure = what;
        stop = true;
    };
    std::atomic<long> reads{0};
    std::atomic<long> commits{0};
    std::atomic<long> rollbacks{0};
    std::atomic<long> refusals{0};
    std::atomic<std::int64_t> next_pair{1};

    auto writer = [&](unsigned seed) {
        std::mt19937 rng(seed);
        auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
        try {
            while (!stop && std::chrono::steady_clock::now() < deadline) {
                auto tx = db.write();
                const int moves = pick(1, 6);
                for (int i = 0; i < moves; ++i) {
                    // Pick two distinct accounts by position.
                    const auto n = static_cast<int>(tx.count<accounts>());
                    auto nth = [&](int k) -> const Account& {
                        auto it = tx.all<accounts>().begin();
                        std::advance(it, k);
                        return *it;
                    };
                    const Account& from = nth(pick(0, n - 1));
                    const Account& to = nth(pick(0, n - 1));
                    if (&from == &to) continue;
                    const std::int64_t amount = pick(1, 50);
                    const std::int64_t pair = next_pair++;
                    auto move = [&] {
                        tx.update(from, [&](Account& a) { a.balance -= amount; });
                        tx.update(to, [&](Account& a) { a.balance += amount; });
                        tx.insert(Entry{0, pair, from.id, -amount});
                        tx.insert(Entry{0, pair, to.id, amount});
                    };
                    switch (pick(0, 5)) {
                    case 0:  // inside a savepoint that is rolled back
                    {
                        auto sp = tx.savepoint();
                        move();
                        sp.rollback();
                        break;
                    }
                    case 1:  // a refused call in the middle: the savepoint of nested() undoes the half move
                        try {
                            tx.nested([&] {
                                tx.update(from, [&](Account& a) { a.balance -= amount; });
                                tx.insert(Account{0, "owner0", 0});  // refused: owner0 exists
                            });
                        } catch (const relstore::constraint_error&) {
                            ++refusals;
                        }
                        break;
                    case 2:  // erase a pair of entries
                        if (const Entry* e = tx.all<entries>().first()) {
                            const std::int64_t p = e->pair;
                            while (const Entry* x = tx.where<&Entry::pair>(p).first()) tx.erase(*x);
                        }
                        break;
                    default:
                        move();
                    }
                }
                if (pick(0, 3) == 0) {
                    // An account with no money and no entries may be closed, and a new one opened.
                    const Account* poor = tx.where<&Account::balance>(0).first();
                    if (poor && tx.where<&Entry::account_id>(poor->id).empty()) tx.erase(*poor);
                    tx.insert(Account{0, "new" + std::to_string(next_pair++), 0});
                }
                const int end = pick(0, 9);
                if (end < 6) {
                    tx.update<meta>(1, [](Meta& m) { ++m.commits; });
                    tx.commit();
                    ++commits;
                } else if (end < 8) {
                    tx.rollback();
                    ++rollbacks;
                } else {
                    ++rollbacks;  // dropped: rolls back on destruction
                }
            }
        } catch (const std::exception& e) {
            fail(std::string("writer: ") + e.what());
        }
    };

    auto reader = [&] {
        std::int64_t last_commits = 0;
        try {
            while (!stop && std::chrono::steady_clock::now() < deadline) {
                auto q = db.read();
                if (auto problem = check(q, last_commits); !problem.empty()) fail("reader: " + problem);
                ++reads;
            }
        } catch (const std::exception& e) {
            fail(std::string("reader: ") + e.what());
        }
    };

    // Saves back to back: each file must hold one moment of the store (the
    // invariants hold in it, and its commit counter never goes back).
    std::atomic<long> saves{0};
    const auto file = std::filesystem::temp_directory_path() /
                      ("relstore-stress-" + std::to_string(::getpid()) + (never_wait ? "-lr" : "-lock") + ".snap");
    auto saver = [&] {
        std::int64_t last_commits = 0;
        try {
            while (!stop && std::chrono::steady_clock::now() < deadline) {
                rs::save(db, file);
                store loaded;
                (void)rs::load(loaded, file);
                if (auto problem = check(loaded.read(), last_commits); !problem.empty()) fail("saved file: " + problem);
                ++saves;
            }
        } catch (const std::exception& e) {
            fail(std::string("saver: ") + e.what());
        }
    };

    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back(reader);
    threads.emplace_back(writer, 1u);
    threads.emplace_back(writer, 2u);
    threads.emplace_back(saver);
    for (auto& t : threads) t.join();
    std::filesystem::remove(file);

    INFO("reads " << reads << ", commits " << commits << ", rollbacks " << rollbacks << ", refusals " << refusals
                  << ", saves " << saves);
    CHECK(saves > 0);
    CHECK(failure == "");
    CHECK(reads > 10);
    CHECK(commits > 10);
    CHECK(rollbacks > 0);
    CHECK(refusals > 0);
    std::int64_t last = 0;
    auto q = db.read();
    CHECK(check(q, last) == "");
    CHECK(q.get<meta>(1).commits == commits.load());
}

TEST_CASE("a read scope waits for the write transaction to end, then sees all of it", "[concurrency]") {
    using namespace bank;
    store db;
    {
        auto tx = db.write();
        tx.insert(Meta{1, 0});
        tx.commit();
    }
    auto tx = db.write();
    tx.insert(Account{0, "a", 10});
    std::atomic<int> seen{-1};
    std::thread t([&] {
        auto q = db.read();  // blocks until the transaction below commits
        seen = static_cast<int>(q.count<accounts>()) * 10 + static_cast<int>(q.get<meta>(1).commits);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(seen.load() == -1);
    tx.insert(Account{0, "b", 20});
    tx.update<meta>(1, [](Meta& m) { m.commits = 1; });
    tx.commit();
    t.join();
    CHECK(seen.load() == 21);  // two accounts and the commit counter, together
}

TEST_CASE("a waiting writer is not starved by a stream of read scopes", "[concurrency]") {
    using namespace bank;
    store db;
    {
        auto tx = db.write();
        tx.insert(Meta{1, 0});
        tx.commit();
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; ++i)
        readers.emplace_back([&] {
            while (!stop) {
                auto q = db.read();
                (void)q.get<meta>(1);
            }
        });
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        auto tx = db.write();
        tx.update<meta>(1, [](Meta& m) { ++m.commits; });
        tx.commit();
    }
    const auto took = std::chrono::steady_clock::now() - start;
    stop = true;
    for (auto& t : readers) t.join();
    CHECK(db.read().get<meta>(1).commits == 20);
    CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("read scopes handed to other threads and ended there, while their opening threads write", "[concurrency]") {
    // A scope ended elsewhere is reported to its opening thread, which drops
    // it at its next check: each thread's writes are refused only while a
    // scope it opened is still alive, and once all ended, every write works.
    using namespace bank;
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait = " << never_wait);
    store db(rs::store_options{.readers_never_wait = never_wait});
    {
        auto tx = db.write();
        tx.insert(Meta{1, 0});
        tx.commit();
    }
    constexpr int threads = 4;
    constexpr int rounds = 200;
    std::mutex mu;
    std::vector<std::unique_ptr<rs::reader<store>>> handed;  // opened by one thread, ended by another
    std::atomic<int> commits{0};
    std::atomic<int> wrong{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&] {
            // At most one scope waits in `handed`, and the thread that opened
            // it never waits (its reads are nested, its writes refused) until
            // the next thread takes it, or it ends every scope left when done;
            // so a writer waiting for that scope is never waited for in turn.
            for (int i = 0; i < rounds; ++i) {
                // Refused while the scope this thread opened last round lives
                // (in `handed`, or in the thread that took it).
                try {
                    auto tx = db.write();
                    tx.update<meta>(1, [](Meta& m) { ++m.commits; });
                    tx.commit();
                    ++commits;
                } catch (const rs::usage_error&) {
                }
                auto mine = std::make_unique<rs::reader<store>>(db.read());  // not under mu: it may wait for a writer
                std::unique_ptr<rs::reader<store>> theirs;
                {
                    std::lock_guard g(mu);
                    handed.push_back(std::move(mine));
                    if (handed.size() > 1) {  // another thread's
                        theirs = std::move(handed.front());
                        handed.erase(handed.begin());
                    }
                }
                if (theirs && theirs->get<meta>(1).commits < 0) ++wrong;
                theirs.reset();
            }
            std::lock_guard g(mu);
            handed.clear();
        });
    for (auto& w : workers) w.join();
    CHECK(handed.empty());
    CHECK(wrong == 0);
    CHECK(commits >= threads);  // each thread's first round holds nothing
    CHECK(db.read().get<meta>(1).commits == commits.load());
    // No thread holds anything now: each can write.
    std::vector<std::thread> after;
    std::atomic<int> ok{0};
    for (int t = 0; t < threads; ++t)
        after.emplace_back([&] {
            auto tx = db.write();
            tx.update<meta>(1, [](Meta& m) { ++m.commits; });
            tx.commit();
            ++ok;
        });
    for (auto& w : after) w.join();
    CHECK(ok == threads);
    auto tx = db.write();  // nor does this thread
    tx.rollback();
}

TEST_CASE("savepoints ended on other threads while their transaction's thread writes", "[concurrency]") {
    // Ended there, a savepoint cannot roll back (it raced with this
    // thread's writes): its rollback is left to the transaction's thread,
    // whose next write does it and reports the misuse. Whenever that lands,
    // each transfer is whole or gone, and every commit keeps the invariants.
    using namespace bank;
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait = " << never_wait);
    store db(rs::store_options{.readers_never_wait = never_wait});
    fill(db);
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::unique_ptr<rs::savepoint<store>>> handed;
    bool done = false;
    std::thread ender([&] {
        for (std::uint64_t n = 0;; ++n) {
            std::unique_ptr<rs::savepoint<store>> sp;
            {
                std::unique_lock g(mu);
                cv.wait(g, [&] { return done || !handed.empty(); });
                if (handed.empty()) return;
                sp = std::move(handed.front());
                handed.pop_front();
            }
            if (n % 3 == 0) {
                rs::savepoint<store> moved(std::move(*sp));  // moved here too, then ended
                sp.reset();
            } else {
                sp.reset();
            }
        }
    });
    std::mt19937 rng(7);
    std::int64_t pair = 0;
    int reported = 0;
    std::string wrong;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500 * seconds());
    for (int round = 0; round < 50 || (round < 2000 && std::chrono::steady_clock::now() < deadline); ++round) {
        auto tx = db.write();
        for (int step = 0; step < 8; ++step) {
            try {
                auto sp = std::make_unique<rs::savepoint<store>>(tx.savepoint());
                const std::int64_t from = 1 + static_cast<std::int64_t>(rng() % initial_accounts);
                const std::int64_t to = 1 + (from % initial_accounts);
                const std::int64_t amount = 1 + static_cast<std::int64_t>(rng() % 10);
                ++pair;
                tx.insert(Entry{0, pair, from, -amount});
                tx.insert(Entry{0, pair, to, amount});
                tx.update<accounts>(from, [&](Account& a) { a.balance -= amount; });
                tx.update<accounts>(to, [&](Account& a) { a.balance += amount; });
                if (rng() % 2 == 0) {
                    std::lock_guard g(mu);
                    handed.push_back(std::move(sp));
                    cv.notify_one();
                }  // else it ends here, and rolls the transfer back
            } catch (const rs::usage_error& e) {
                if (std::string_view(e.what()).find("ended on another thread") == std::string_view::npos) throw;
                ++reported;
            }
            std::int64_t sum = 0;  // no transfer is torn by a rollback landing in its middle
            for (const Account& a : tx.all<accounts>()) sum += a.balance;
            if (sum != total && wrong.empty()) wrong = "balances sum to " + std::to_string(sum);
        }
        std::int64_t last = -1;
        if (round % 16 == 0 && wrong.empty()) wrong = check(tx, last);
        for (;;) {  // each savepoint still in flight may be ended there meanwhile
            try {
                tx.update<meta>(1, [](Meta& m) { ++m.commits; });
                tx.commit();
                break;
            } catch (const rs::usage_error& e) {
                if (std::string_view(e.what()).find("ended on another thread") == std::string_view::npos) throw;
                ++reported;
            }
        }
    }
    {
        std::lock_guard g(mu);
        done = true;
        cv.notify_one();
    }
    ender.join();
    CHECK(wrong == "");
    std::int64_t last = -1;
    CHECK(check(db.read(), last) == "");
    CHECK(reported > 0);  // some ended while active
    auto tx = db.write();  // nothing is left to report
    tx.insert(Account{0, "last", 0});
    tx.commit();
}

TEST_CASE("a transaction ended on another thread while a savepoint of it ends on the transaction's thread",
          "[concurrency]") {
    // Both roll back the same tables: the savepoint mutex orders them.
    using namespace bank;
    store db;
    fill(db);
    for (int round = 0; round < 200; ++round) {
        std::optional<rs::transaction<store>> tx(db.write());
        tx->update<accounts>(1, [](Account& a) { a.balance -= 5; });
        std::optional<rs::savepoint<store>> sp(tx->savepoint());
        tx->insert(Entry{0, round, 1, -5});
        tx->insert(Entry{0, round, 2, 5});
        tx->update<accounts>(2, [](Account& a) { a.balance += 5; });
        std::atomic<bool> go{false};
        std::thread other([&, moved = std::move(*tx)]() mutable {
            while (!go.load()) std::this_thread::yield();
            moved.rollback();
        });
        go = true;
        sp.reset();
        other.join();
        CHECK_FALSE(sp.has_value());
    }
    std::int64_t last = -1;
    const auto q = db.read();
    CHECK(check(q, last) == "");
    CHECK(q.count<entries>() == 0);
    CHECK(q.get<accounts>(1).balance == initial_balance);
}

TEST_CASE("a thread that holds a read scope may open another while a writer waits", "[concurrency]") {
    using namespace bank;
    store db;
    {
        auto tx = db.write();
        tx.insert(Meta{1, 0});
        tx.commit();
    }
    auto outer = db.read();
    std::atomic<bool> written{false};
    std::thread writer([&] {
        auto tx = db.write();  // waits for `outer`
        tx.update<meta>(1, [](Meta& m) { m.commits = 1; });
        tx.commit();
        written = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the writer start waiting
    {
        auto inner = db.read();  // must not wait behind the writer, which waits for us
        CHECK(inner.get<meta>(1).commits == 0);
    }
    CHECK_FALSE(written.load());
    { auto done = std::move(outer); }
    writer.join();
    CHECK(db.read().get<meta>(1).commits == 1);
}

TEST_CASE("subscribers see every commit once, in order, while other threads subscribe and unsubscribe",
          "[concurrency][changes]") {
    using namespace bank;
    const bool never_wait = GENERATE(false, true);
    store db(rs::store_options{.readers_never_wait = never_wait});
    fill(db);
    // A copy of the balances kept by a subscriber: its sum must stay the
    // total after every commit, and its commit counter must step by one.
    std::map<std::int64_t, std::int64_t> balances;
    for (const Account& a : db.read().all<accounts>()) balances[a.id] = a.balance;  // the range holds the scope
    std::int64_t seen_commits = 0;
    std::string failure;
    auto mirror = db.subscribe([&](const rs::changes<store>& c) {
        for (const auto& u : c.updated<accounts>()) balances[u.row().id] = u.row().balance;
        std::int64_t sum = 0;
        for (const auto& [id, b] : balances) sum += b;
        if (sum != total && failure.empty()) failure = "mirrored balances sum to " + std::to_string(sum);
        for (const auto& u : c.updated<meta>()) {
            if (u.row().commits != seen_commits + 1 && failure.empty()) failure = "a commit was missed or repeated";
            seen_commits = u.row().commits;
        }
    });

    std::atomic<bool> stop{false};
    std::atomic<long> extra_calls{0};
    std::atomic<long> commits{0};
    auto writer = [&](unsigned seed) {
        std::mt19937 rng(seed);
        for (int i = 0; i < 300 && !stop; ++i) {
            auto tx = db.write();
            const Account& a = tx.get<accounts>(1 + static_cast<std::int64_t>(rng() % initial_accounts));
            const Account& b = tx.get<accounts>(1 + static_cast<std::int64_t>(rng() % initial_accounts));
            if (&a == &b) continue;
            tx.set<&Account::balance>(a, a.balance - 1);
            tx.set<&Account::balance>(b, b.balance + 1);
            tx.update<meta>(1, [](Meta& m) { ++m.commits; });
            tx.commit();
            ++commits;
        }
    };
    auto churn = [&] {
        while (!stop) {
            auto sub = db.subscribe<accounts>([&](const rs::table_changes<accounts>&) { ++extra_calls; });
            std::this_thread::yield();
        }  // reset here, possibly while a writer runs it
    };
    std::vector<std::thread> threads;
    threads.emplace_back(churn);
    threads.emplace_back(churn);
    threads.emplace_back(writer, 1u);
    threads.emplace_back(writer, 2u);
    threads[2].join();
    threads[3].join();
    stop = true;
    threads[0].join();
    threads[1].join();
    CHECK(failure == "");
    CHECK(seen_commits == commits.load());
    CHECK(db.read().get<meta>(1).commits == commits.load());
}

TEST_CASE("resetting a token on another thread waits for its running callback", "[concurrency][changes]") {
    using namespace bank;
    store db;
    {
        auto tx = db.write();
        tx.insert(Meta{1, 0});
        tx.commit();
    }
    for (int round = 0; round < 20; ++round) {
        auto state = std::make_unique<std::atomic<int>>(0);  // 1: running, 2: finished
        auto sub = db.subscribe([s = state.get()](const auto&) {
            s->store(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            s->store(2);
        });
        std::thread committer([&] {
            auto tx = db.write();
            tx.update<meta>(1, [](Meta& m) { ++m.commits; });
            tx.commit();
        });
        while (state->load() == 0) std::this_thread::yield();
        sub.reset();  // must return only once the callback has finished
        CHECK(state->load() == 2);
        committer.join();
        state.reset();  // what the callback captured is gone; it must not run again
    }
}

}  // namespace concurrency_test
