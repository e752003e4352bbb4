// Nobody waits: with store_options{.readers_never_wait = true} a read scope
// opened while a write transaction is open reads the last committed state at
// once and keeps it for its life; and a save (from a forked child, the
// default) lets writers commit while it writes. Run under ThreadSanitizer too.
#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>
#include <relstore/detail/snapshot_file_ops.hpp>

#include "alloc_counter.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

namespace never_wait_test {

namespace nw {

struct Item {
    std::int64_t id{};
    std::string name;
    std::int64_t qty{};
};
RELSTORE_FIELDS(Item, id, name, qty)
struct Note {
    std::int64_t id{};
    std::int64_t item_id{};
    std::string text;
};
RELSTORE_FIELDS(Note, id, item_id, text)

namespace rs = relstore;
using items = rs::table<"items", Item, rs::auto_key<&Item::id>, rs::unique<&Item::name>, rs::ordered<&Item::qty>>;
using notes = rs::table<"notes", Note, rs::auto_key<&Note::id>,
                        rs::references<&Note::item_id, items, rs::on_delete::cascade>>;
using store = rs::store<items, notes>;

void fill(store& db, int n) {
    auto tx = db.write();
    for (int i = 0; i < n; ++i) {
        const Item& it = tx.insert(Item{0, "item" + std::to_string(i), i});
        tx.insert(Note{0, it.id, "note"});
    }
    tx.commit();
}

/// Runs f on another thread; fails the test run (it cannot go on) when f
/// does not return within 10 s.
template <class F>
auto within_10s(const char* what, F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    std::thread t(std::move(task));
    if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
        std::fprintf(stderr, "FAILED: %s did not return within 10 s\n", what);
        std::_Exit(1);
    }
    t.join();
    return result.get();
}

/// Every row of both tables, as text: what a scope (or a transaction) sees.
template <class Scope>
std::string contents(const Scope& q) {
    std::string out;
    for (const Item& i : q.template order_by<&Item::qty>())
        out += std::to_string(i.id) + ":" + i.name + ":" + std::to_string(i.qty) + " ";
    out += "| ";
    for (const Note& n : q.template all<notes>())
        out += std::to_string(n.id) + ":" + std::to_string(n.item_id) + ":" + n.text + " ";
    return out;
}

/// Checks that both copies hold `expected`: the copy readers read now, and
/// (through a commit that changes a row and changes it back, which flips the
/// copies) the other one, each seen by a transaction and by a read scope.
void check_both_copies(store& db, const std::string& expected) {
    for (int copy = 0; copy < 2; ++copy) {
        CHECK(contents(db.read()) == expected);
        auto tx = db.write();
        CHECK(contents(tx) == expected);
        const Item& first = *tx.all<items>().begin();
        const std::int64_t qty = first.qty;
        tx.set<&Item::qty>(first, qty + 1000);
        tx.set<&Item::qty>(first, qty);
        tx.commit();
    }
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace nw

TEST_CASE("a read scope opened during a write transaction reads the last committed state at once",
          "[concurrency][never_wait]") {
    using namespace nw;
    store db(rs::store_options{.readers_never_wait = true});
    fill(db, 10);
    auto tx = db.write();
    tx.insert(Item{0, "uncommitted", 99});
    tx.erase(tx.get<items>(1));
    const auto seen = within_10s("a read scope during a transaction", [&] {
        auto q = db.read();
        return std::make_pair(q.count<items>(), q.find<items>(1) != nullptr);
    });
    CHECK(seen == std::make_pair(std::size_t{10}, true));
    tx.commit();
    auto q = db.read();
    CHECK(q.count<items>() == 10);
    CHECK(q.find<items>(1) == nullptr);
    CHECK(q.find<&Item::name>("uncommitted") != nullptr);
    CHECK(q.count<notes>() == 9);
}

TEST_CASE("a read scope keeps its state for its life while commits go on", "[concurrency][never_wait]") {
    using namespace nw;
    store db(rs::store_options{.readers_never_wait = true});
    fill(db, 5);
    auto old = db.read();
    const Item& first = old.get<items>(1);
    within_10s("a commit while a read scope is open", [&] {
        auto tx = db.write();
        tx.set<&Item::qty>(tx.get<items>(1), std::int64_t{100});
        tx.insert(Item{0, "new", 7});
        tx.commit();
        return 0;
    });
    // The old scope: its rows, its counts, its indexes, unchanged.
    CHECK(first.qty == 0);
    CHECK(old.count<items>() == 5);
    CHECK(old.range<&Item::qty>(std::int64_t{0}, std::int64_t{1000}).count() == 5);
    // A new scope sees the commit.
    {
        auto now = db.read();
        CHECK(now.get<items>(1).qty == 100);
        CHECK(now.count<items>() == 6);
    }
    // The next writer takes the copy the old scope reads once it ends, and
    // finds it brought up to date.
    std::atomic<bool> committed{false};
    std::thread second([&] {
        auto tx = db.write();
        tx.set<&Item::qty>(tx.get<items>(2), std::int64_t{200});
        CHECK(tx.get<items>(1).qty == 100);
        CHECK(tx.count<items>() == 6);
        tx.commit();
        committed = true;
    });
    { auto done = std::move(old); }
    second.join();
    CHECK(committed);
    auto q = db.read();
    CHECK(q.get<items>(2).qty == 200);
    CHECK(q.get<items>(1).qty == 100);
}

TEST_CASE("both copies hold every commit: unique values moved between rows, re-keyed indexes, erases, inserts",
          "[concurrency][never_wait]") {
    using namespace nw;
    store db(rs::store_options{.readers_never_wait = true});
    fill(db, 4);
    // Each commit is written to one copy and replayed onto the other before
    // the next transaction; four commits put each on both copies twice.
    {
        auto tx = db.write();  // names swapped through a third: a plain replace would clash
        tx.set<&Item::name>(tx.get<items>(std::int64_t{1}), std::string("tmp"));
        tx.set<&Item::name>(tx.get<items>(std::int64_t{2}), std::string("item0"));
        tx.set<&Item::name>(tx.get<items>(std::int64_t{1}), std::string("item1"));
        tx.commit();
    }
    {
        auto tx = db.write();  // an ordered index re-keyed, a cascade, an insert
        tx.set<&Item::qty>(tx.get<items>(std::int64_t{3}), std::int64_t{-5});
        tx.erase<items>(std::int64_t{4});
        tx.insert(Item{0, "item4", 40});
        tx.commit();
    }
    for (int round = 0; round < 2; ++round) {
        auto tx = db.write();  // a commit that leaves the rows as they are
        tx.set<&Item::qty>(tx.get<items>(std::int64_t{1}), std::int64_t{round + 100});
        tx.set<&Item::qty>(tx.get<items>(std::int64_t{1}), std::int64_t{0});
        tx.commit();
    }
    // Read both copies: a scope pins the published one; a commit flips.
    for (int copy = 0; copy < 2; ++copy) {
        {
        auto q = db.read();
        CHECK(q.find<&Item::name>("item0")->id == 2);
        CHECK(q.find<&Item::name>("item1")->id == 1);
        CHECK(q.find<&Item::name>("tmp") == nullptr);
        CHECK(q.find<&Item::name>("item2")->id == 3);
        CHECK(q.find<&Item::name>("item3") == nullptr);
        CHECK(q.count<items>() == 4);
        CHECK(q.count<notes>() == 3);
        CHECK(q.find<&Item::name>("item4")->id == 5);
        std::vector<std::int64_t> by_qty;
        for (const Item& i : q.order_by<&Item::qty>()) by_qty.push_back(i.id);
        CHECK(by_qty == std::vector<std::int64_t>{3, 1, 2, 5});
        }
        auto tx = db.write();  // changed and changed back: a commit, so the copies flip
        tx.set<&Item::qty>(tx.get<items>(std::int64_t{2}), std::int64_t{7});
        tx.set<&Item::qty>(tx.get<items>(std::int64_t{2}), std::int64_t{1});
        tx.commit();
    }
}

TEST_CASE("with readers that never wait, rollback, load and erase plans behave as with the lock",
          "[concurrency][never_wait]") {
    using namespace nw;
    store db(rs::store_options{.readers_never_wait = true});
    fill(db, 4);
    SECTION("a rolled-back transaction leaves both copies as they were") {
        {
            auto tx = db.write();
            tx.insert(Item{0, "x", 1});
            tx.erase(tx.get<items>(2));
        }
        for (int round = 0; round < 2; ++round) {  // each copy in turn becomes the one written
            auto tx = db.write();
            CHECK(tx.count<items>() == 4);
            CHECK(tx.find<items>(2) != nullptr);
            tx.set<&Item::qty>(tx.get<items>(3), std::int64_t{30 + round});
            tx.commit();
        }
        CHECK(db.read().get<items>(3).qty == 31);
    }
    SECTION("load replaces both copies") {
        store other;
        fill(other, 7);
        std::stringstream file;
        rs::save(other, file);
        (void)rs::load(db, file);
        CHECK(db.read().count<items>() == 7);
        for (int round = 0; round < 2; ++round) {
            auto tx = db.write();
            CHECK(tx.count<items>() == 7 + round);
            tx.insert(Item{0, "after" + std::to_string(round), 1});
            tx.commit();
        }
        CHECK(db.read().count<items>() == 9);
    }
    SECTION("an erase plan or a row from a read scope is another copy's: refused in a transaction") {
        auto q = db.read();
        auto plan = q.plan_erase(q.get<items>(1));
        const Item& read_row = q.get<items>(1);
        std::thread([&] {
            auto tx = db.write();
            CHECK_THROWS_AS(tx.apply(plan), rs::usage_error);
            CHECK_THROWS_AS(tx.erase(read_row), rs::usage_error);
            CHECK(tx.apply(tx.plan_erase(tx.get<items>(1))) == 2);
            tx.commit();
        }).join();
    }
}

// An erase plan records the store's change count, which the writer moves
// while a never-waiting reader makes its plan: a data race for TSan unless
// the count is atomic.
TEST_CASE("with readers that never wait, read scopes make erase plans while a writer commits",
          "[concurrency][never_wait]") {
    using namespace nw;
    store db(rs::store_options{.readers_never_wait = true});
    fill(db, 4);
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (int i = 0; i < 2000 && !stop.load(); ++i) {
            auto tx = db.write();
            tx.set<&Item::qty>(tx.get<items>(3), std::int64_t{i});
            tx.commit();
        }
    });
    std::size_t planned = 0;
    for (int i = 0; i < 2000; ++i) {
        auto q = db.read();
        planned += q.plan_erase(q.get<items>(1)).erased_count();
    }
    stop = true;
    writer.join();
    CHECK(planned == 2 * 2000);  // the item and its note, every time
}

// A commit is replayed onto the other copy when the next transaction begins
// (catch-up), which copies rows: it can run out of memory. Every allocation
// of the catch-up is made to fail in turn.
TEST_CASE("with readers that never wait, a catch-up that runs out of memory fails that write alone, and the next "
          "write does it again",
          "[concurrency][never_wait][bad_alloc]") {
    using namespace nw;
    store db(rs::store_options{.readers_never_wait = true});
    fill(db, 20);
    std::size_t failures = 0;
    for (std::size_t n = 0;; ++n) {
        INFO("allocation " << n << " of the write's catch-up fails");
        {
            // A commit to replay: names swapped (a replace that clashes on
            // the unique index), an ordered key moved, a cascade, inserts.
            auto tx = db.write();
            tx.set<&Item::name>(tx.get<items>(std::int64_t{1}), std::string("tmp"));
            tx.set<&Item::name>(tx.get<items>(std::int64_t{2}), std::string("item0"));
            tx.set<&Item::name>(tx.get<items>(std::int64_t{1}), std::string("item1"));
            tx.set<&Item::qty>(tx.get<items>(std::int64_t{3}), tx.get<items>(std::int64_t{3}).qty - 100);
            if (const Item* gone = tx.find<&Item::name>("item" + std::to_string(4 + n % 16))) tx.erase(*gone);
            const Item& added = tx.insert(Item{0, "new" + std::to_string(n), static_cast<std::int64_t>(n)});
            tx.insert(Note{0, added.id, std::string(40, 'n')});  // a heap string: its copy allocates
            tx.commit();
        }
        const std::string expected = contents(db.read());
        bool threw = false;
        relstore_test::fail_allocation_after(n);
        try {
            auto tx = db.write();
            (void)relstore_test::disarm_allocation_failure();
        } catch (const std::bad_alloc&) {
            threw = true;
        }
        const bool hit = relstore_test::disarm_allocation_failure() || threw;
        CHECK(contents(db.read()) == expected);  // readers saw nothing of it
        if (!hit) break;                          // n is past the catch-up's last allocation
        CHECK(threw);
        ++failures;
        within_10s("the write after a failed catch-up", [&] {  // the store is not left locked
            check_both_copies(db, expected);                    // and the next writer caught up
            return 0;
        });
    }
    CHECK(failures > 3);  // the catch-up allocates (else this test walks nothing)
}

TEST_CASE("with readers that never wait, commits of one size replay without a large allocation",
          "[concurrency][never_wait][memory]") {
    // A commit records the keys it touched for the other copy's catch-up;
    // the next commit reuses that record's memory. Freeing it instead
    // (80 KB here) right after the catch-up freed the old values made glibc
    // consolidate every small free block there and then: half the time of
    // W7's replay.
    using namespace nw;
    store db(rs::store_options{.readers_never_wait = true});
    constexpr int n = 10000;  // 80 KB of keys: above glibc's 64 KiB consolidation threshold
    fill(db, n);
    auto retitle = [&](int round) {
        auto tx = db.write();
        const std::string text = "r" + std::to_string(round);  // short: no heap string
        for (const Note& note : tx.all<notes>()) tx.set<&Note::text>(note, text);
        tx.commit();
    };
    for (int round = 0; round < 3; ++round) retitle(round);
    relstore_test::reset_largest();
    for (int round = 3; round < 6; ++round) retitle(round);
    (void)db.write();  // the last commit's catch-up
    CHECK(relstore_test::largest_allocation() < std::size_t{64} << 10);
    // Both copies still hold the last commit.
    {
        auto q = db.read();  // closed before the writes below, which wait for it
        std::size_t last = 0;
        for (const Note& note : q.all<notes>()) last += note.text == "r5";
        CHECK(last == n);
    }
    const std::string expected = contents(db.read());
    within_10s("two writes after the replays", [&] {
        check_both_copies(db, expected);
        return 0;
    });
}

TEST_CASE("with readers that never wait, a load that runs out of memory leaves the store whole, loaded or not",
          "[concurrency][never_wait][bad_alloc]") {
    using namespace nw;
    store other;
    fill(other, 9);
    std::stringstream file;
    rs::save(other, file);
    const std::string loaded = contents(other.read());
    const std::string bytes = file.str();

    std::size_t failures = 0;
    for (std::size_t n = 0;; ++n) {
        INFO("allocation " << n << " of the load fails");
        store db(rs::store_options{.readers_never_wait = true});
        fill(db, 4);
        const std::string before = contents(db.read());
        std::istringstream in(bytes);
        bool threw = false;
        relstore_test::fail_allocation_after(n);
        try {
            (void)rs::load(db, in);
        } catch (const std::exception&) {
            threw = true;
        }
        const bool hit = relstore_test::disarm_allocation_failure() || threw;
        within_10s("the write after a failed load", [&] {
            check_both_copies(db, threw ? before : loaded);
            return 0;
        });
        if (!hit) break;
        ++failures;
    }
    CHECK(failures > 10);
}

TEST_CASE("a save lets writers commit while it writes, and holds the state of the moment it began",
          "[concurrency][save]") {
    using namespace nw;
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait " << never_wait);
    store db(rs::store_options{.readers_never_wait = never_wait});
    fill(db, 200);
    const auto dir = std::filesystem::temp_directory_path();
    const auto file = dir / ("relstore-nowait-" + std::to_string(::getpid()) + ".snap");
    const auto reference = dir / ("relstore-nowait-ref-" + std::to_string(::getpid()) + ".snap");
    rs::save(db, reference, rs::save_options{.in_child_process = false});

    // Writes of the save (in the child: it inherits these calls) first wait
    // until the parent has committed, so the save is sure to be under way.
    static const auto marker = dir / ("relstore-nowait-go-" + std::to_string(::getpid()));
    std::filesystem::remove(marker);
    using relstore::detail::file_ops;
    static file_ops real = relstore::detail::system_file_ops();
    file_ops slow = real;
    slow.pwrite = [](int fd, const void* b, size_t n, off_t off) -> ssize_t {
        for (int i = 0; i < 1000 && !std::filesystem::exists(marker); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return real.pwrite(fd, b, n, off);
    };
    std::atomic<bool> saved{false};
    std::atomic<bool> committed_during_save{false};
    {
        relstore::detail::scoped_file_ops inject(slow);
        std::thread saver([&] {
            rs::save(db, file);
            saved = true;
        });
        // The save has its view once the child exists; commit meanwhile.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        {
            auto tx = db.write();
            tx.insert(Item{0, "during the save", 1});
            tx.commit();
        }
        committed_during_save = !saved.load();
        std::ofstream(marker.string()).put('x');
        saver.join();
    }
    std::filesystem::remove(marker);
    CHECK(committed_during_save);
    // The file is the state before the commit, byte for byte what an
    // in-process save of that state wrote.
    CHECK(slurp(file) == slurp(reference));
    CHECK(db.read().find<&Item::name>("during the save") != nullptr);
    std::filesystem::remove(file);
    std::filesystem::remove(reference);
}

TEST_CASE("a save in a child process reports the child's failure as its own", "[save]") {
    using namespace nw;
    store db;
    fill(db, 3);
    const auto file = std::filesystem::temp_directory_path() / ("relstore-childfail-" + std::to_string(::getpid()));
    using relstore::detail::file_ops;
    static file_ops real = relstore::detail::system_file_ops();
    file_ops failing = real;
    failing.fsync = [](int) { return errno = EIO, -1; };
    std::string in_child, in_process;
    {
        relstore::detail::scoped_file_ops inject(failing);
        try {
            rs::save(db, file);
        } catch (const rs::snapshot_error& e) {
            in_child = e.what();
            CHECK(e.code() == rs::make_error_code(rs::errc::io));
            CHECK(e.path() == file.string());
        }
        try {
            rs::save(db, file, rs::save_options{.in_child_process = false});
        } catch (const rs::snapshot_error& e) {
            in_process = e.what();
        }
    }
    CHECK_THAT(in_child, Catch::Contains("Input/output error"));
    // The same message, but for the temporary file's random name.
    const std::regex temp_name("\\.tmp-[0-9a-f]+");
    CHECK(std::regex_replace(in_child, temp_name, ".tmp-*") == std::regex_replace(in_process, temp_name, ".tmp-*"));
    CHECK_FALSE(std::filesystem::exists(file));
}

}  // namespace never_wait_test
