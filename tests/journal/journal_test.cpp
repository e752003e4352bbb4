// relstore::durable and relstore::follower in one process: replay of every
// kind of change, torn tails at every byte, damage in the middle, journals
// of another snapshot or schema, checkpoints (interrupted ones too),
// injected write/fsync failures through detail::file_ops, sync policies,
// followers across checkpoints, and the `relstore journal` tool.
#include "bank.hpp"

#include <relstore/detail/snapshot_file_ops.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace jt;
using relstore::detail::file_ops;
using relstore::detail::scoped_file_ops;

namespace {

rs::durable_options no_auto(rs::sync s = rs::sync::every_commit) {
    rs::durable_options o;
    o.sync = s;
    o.checkpoint_bytes = 0;
    return o;
}

/// Opens a pair into a fresh store and returns its image.
std::string reopened(const fs::path& snap, const fs::path& journal, rs::durable_options o = no_auto()) {
    bank db;
    rs::durable<bank> d(db, snap, journal, o);
    return image(db);
}

// Fault injection: which call fails, and how often it has been called.
std::atomic<int> fail_fsync_after{-1};
std::atomic<int> fail_pwrite_after{-1};
std::atomic<bool> fail_ftruncate{false};
std::atomic<bool> fail_rename_to_journal{false};
std::function<void()> during_failed_fsync;
const file_ops real = rs::detail::system_file_ops();

file_ops faulty() {
    file_ops ops = real;
    ops.fsync = [](int fd) {
        if (fail_fsync_after.load() == 0) {  // once
            fail_fsync_after = -1;
            if (during_failed_fsync) during_failed_fsync();
            errno = EIO;
            return -1;
        }
        if (fail_fsync_after.load() > 0) --fail_fsync_after;
        return real.fsync(fd);
    };
    ops.pwrite = [](int fd, const void* b, size_t n, off_t off) -> ssize_t {
        if (fail_pwrite_after.load() == 0) {
            // Half the bytes reach the file, then the disk is full.
            const ssize_t w = real.pwrite(fd, b, n / 2, off);
            if (w > 0 && static_cast<size_t>(w) < n) {
                fail_pwrite_after = -2;  // the retry of the rest fails
                return w;
            }
            errno = ENOSPC;
            return -1;
        }
        if (fail_pwrite_after.load() == -2) {
            fail_pwrite_after = -1;
            errno = ENOSPC;
            return -1;
        }
        if (fail_pwrite_after.load() > 0) --fail_pwrite_after;
        return real.pwrite(fd, b, n, off);
    };
    ops.ftruncate = [](int fd, off_t len) {
        if (fail_ftruncate.load()) {
            errno = EIO;
            return -1;
        }
        return real.ftruncate(fd, len);
    };
    ops.rename = [](const char* from, const char* to) {
        if (fail_rename_to_journal.load() && std::string(to).ends_with(".journal")) {
            errno = EIO;
            return -1;
        }
        return real.rename(from, to);
    };
    return ops;
}

struct fault_reset {
    ~fault_reset() {
        fail_fsync_after = -1;
        fail_pwrite_after = -1;
        fail_ftruncate = false;
        fail_rename_to_journal = false;
    }
};

}  // namespace

TEST_CASE("a durable store replays every committed transaction on open", "[journal]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    std::vector<std::string> states;
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        CHECK_FALSE(d.recovery().snapshot_loaded);
        CHECK(fs::exists(journal));
        CHECK_FALSE(fs::exists(snap));  // an empty store needs no snapshot
        for (int i = 0; i < 30; ++i) mixed_commit(db, i);
        { auto tx = db.write(); tx.commit(); }  // changed nothing: no record
        CHECK(d.sequence() == 30);
        states.push_back(image(db));
    }
    bank db;
    rs::durable<bank> d(db, snap, journal, no_auto());
    CHECK(d.recovery().transactions_replayed == 30);
    CHECK(image(db) == states.back());
    // Keys used up by erased rows are not handed out again.
    auto tx = db.write();
    const auto& a = tx.insert(Account{0, "after reopen", 0, std::nullopt});
    // Five commits of each kind inserted 20 accounts (a savepoint's rolled-back
    // insert gives its key back): the next key is 21, erased ones included.
    CHECK(a.id == 21);
    tx.commit();
}

TEST_CASE("a store with rows and no files becomes the first snapshot", "[journal]") {
    temp_dir dir;
    bank db;
    {
        auto tx = db.write();
        tx.insert(Account{0, "before", 5, std::nullopt});
        tx.commit();
    }
    const auto before = image(db);
    {
        rs::durable<bank> d(db, dir / "s", dir / "j", no_auto());
        CHECK(image(db) == before);
        mixed_commit(db, 0);
    }
    bank again;
    rs::durable<bank> d(again, dir / "s", dir / "j", no_auto());
    CHECK(d.recovery().snapshot_loaded);
    CHECK(d.recovery().transactions_replayed == 1);
    CHECK(image(again) == image(db));
}

TEST_CASE("every truncation of a journal recovers the complete records before the cut", "[journal][torn]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    std::vector<std::string> states;  // states[k]: after k records
    std::vector<std::uint64_t> ends;  // journal size after k records
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        states.push_back(image(db));
        ends.push_back(fs::file_size(journal));
        for (int i = 0; i < 12; ++i) {
            mixed_commit(db, i);
            states.push_back(image(db));
            ends.push_back(fs::file_size(journal));
        }
    }
    const std::string full = slurp(journal);
    const auto cut_dir = dir / "cut";
    fs::create_directory(cut_dir);
    for (std::size_t len = ends.front(); len <= full.size(); ++len) {
        spit(cut_dir / "j", full.substr(0, len));
        std::size_t k = 0;
        while (k + 1 < ends.size() && ends[k + 1] <= len) ++k;
        bank db;
        rs::durable<bank> d(db, cut_dir / "s", cut_dir / "j", no_auto());
        INFO("journal cut at byte " << len << " of " << full.size());
        REQUIRE(image(db) == states[k]);
        REQUIRE(d.recovery().transactions_replayed == k);
        if (len != ends[k]) {
            REQUIRE(d.recovery().torn_tail_at == ends[k]);
            REQUIRE(fs::file_size(cut_dir / "j") == ends[k]);  // the torn tail is cut off
        }
    }
}

TEST_CASE("a damaged record in the middle is refused with its number and offset", "[journal][corrupt]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    std::vector<std::uint64_t> ends;
    std::vector<std::string> states;
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        ends.push_back(fs::file_size(journal));
        states.push_back(image(db));
        for (int i = 0; i < 8; ++i) {
            mixed_commit(db, i);
            ends.push_back(fs::file_size(journal));
            states.push_back(image(db));
        }
    }
    const std::string good = slurp(journal);
    // Every byte of every record but the last (a damaged last record is
    // indistinguishable from a torn write), one bit each.
    for (std::size_t rec = 1; rec + 1 < ends.size(); ++rec) {
        for (std::uint64_t at = ends[rec - 1]; at < ends[rec]; at += 7) {
            std::string bad = good;
            bad[at] = static_cast<char>(bad[at] ^ (1 << (at % 8)));
            spit(journal, bad);
            bank db;
            mixed_commit(db, 0);
            const auto untouched = image(db);
            INFO("bit flipped at byte " << at << " in record " << rec);
            try {
                rs::durable<bank> d(db, snap, journal, no_auto());
                FAIL("the damaged journal was accepted");
            } catch (const rs::snapshot_error& e) {
                const std::string what = e.what();
                REQUIRE(e.code() == rs::errc::checksum_mismatch);
                REQUIRE(what.find("record " + std::to_string(rec) + " at byte " + std::to_string(ends[rec - 1])) !=
                        std::string::npos);
                REQUIRE(what.find("db.journal") != std::string::npos);
                REQUIRE(e.offset() == ends[rec - 1]);
            }
            REQUIRE(image(db) == untouched);  // nothing loaded
            REQUIRE(slurp(journal) == bad);   // nothing changed on disk
        }
    }
    SECTION("unless asked to recover up to the last good record") {
        std::string bad = good;
        const auto at = ends[3] + 30;
        bad[at] = static_cast<char>(bad[at] ^ 4);
        spit(journal, bad);
        rs::durable_options o = no_auto();
        o.recover_to_last_good = true;
        bank db;
        {
            rs::durable<bank> d(db, snap, journal, o);
            CHECK(image(db) == states[3]);
            CHECK(d.recovery().damaged_record == 4);
            CHECK(d.recovery().damaged_bytes == bad.size() - ends[3]);
            CHECK(slurp(dir / "db.journal.damaged") == bad.substr(ends[3]));
            mixed_commit(db, 3);  // the journal goes on after the last good record
        }
        bank again;
        rs::durable<bank> d(again, snap, journal, no_auto());
        CHECK(image(again) == image(db));
    }
}

TEST_CASE("a journal of another snapshot or another schema is refused, naming both files", "[journal]") {
    temp_dir dir;
    {
        bank db;
        rs::durable<bank> d(db, dir / "a.snap", dir / "a.journal", no_auto());
        mixed_commit(db, 0);
        d.checkpoint();
        mixed_commit(db, 1);
    }
    {
        bank db;
        rs::durable<bank> d(db, dir / "b.snap", dir / "b.journal", no_auto());
        mixed_commit(db, 0);
        mixed_commit(db, 1);
        d.checkpoint();
    }
    fs::copy_file(dir / "a.journal", dir / "b2.journal");
    fs::copy_file(dir / "b.snap", dir / "b2.snap");
    bank db;
    CHECK_THROWS_WITH((rs::durable<bank>(db, dir / "b2.snap", dir / "b2.journal", no_auto())),
                      Catch::Contains("b2.journal") && Catch::Contains("b2.snap") &&
                          Catch::Contains("belongs to another snapshot") && Catch::Contains("nothing was loaded"));
    fs::remove(dir / "b2.snap");
    CHECK_THROWS_WITH((rs::durable<bank>(db, dir / "b2.snap", dir / "b2.journal", no_auto())),
                      Catch::Contains("b2.snap' is missing"));
    CHECK(image(db) == image(bank{}));

    other o;
    try {
        rs::durable<other> d(o, dir / "x.snap", dir / "a.journal", no_auto());
        FAIL("a journal of another schema was accepted");
    } catch (const rs::snapshot_error& e) {
        CHECK(e.code() == rs::errc::schema_mismatch);
        CHECK_THAT(e.what(), Catch::Contains("a.journal") && Catch::Contains("another schema"));
    }
}

TEST_CASE("a second writer of the same journal is refused", "[journal]") {
    temp_dir dir;
    bank a, b;
    std::optional<rs::durable<bank>> d;
    d.emplace(a, dir / "s", dir / "j", no_auto());
    CHECK_THROWS_WITH((rs::durable<bank>(b, dir / "s", dir / "j", no_auto())), Catch::Contains("another writer"));
    // The refused open must not have dropped the holder's lock: another
    // process is refused too, and gets the journal once the holder is gone.
    const auto other_process_opens = [&] {
        const pid_t pid = ::fork();
        if (pid == 0) {
            try {
                bank c;
                rs::durable<bank> e(c, dir / "s", dir / "j", no_auto());
                ::_exit(0);
            } catch (const std::exception& ex) {
                ::_exit(std::string(ex.what()).find("another writer") != std::string::npos ? 1 : 2);
            }
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        return WEXITSTATUS(status);
    };
    CHECK(other_process_opens() == 1);
    d.reset();
    CHECK(other_process_opens() == 0);
}

TEST_CASE("a checkpoint writes a snapshot and starts an empty journal after it", "[journal][checkpoint]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank db;
    std::uint64_t header = 0;
    {
        rs::durable<bank> d(db, snap, journal, no_auto());
        header = fs::file_size(journal);
        for (int i = 0; i < 10; ++i) mixed_commit(db, i);
        CHECK(d.journal_bytes() > 0);
        d.checkpoint();
        CHECK(d.journal_bytes() > 0);  // the checkpoint's own mark
        CHECK(fs::exists(snap));
        CHECK_FALSE(fs::exists(dir / "db.snap.new"));
        for (int i = 10; i < 14; ++i) mixed_commit(db, i);
        CHECK(d.sequence() == 15);
    }
    CHECK(fs::file_size(journal) > header);
    bank again;
    rs::durable<bank> d(again, snap, journal, no_auto());
    CHECK(d.recovery().snapshot_loaded);
    CHECK(d.recovery().transactions_replayed == 4);
    CHECK(image(again) == image(db));
}

TEST_CASE("a checkpoint stopped after the snapshot's rename recovers through the old journal's mark",
          "[journal][checkpoint][fault]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    fault_reset reset;
    bank db;
    {
        rs::durable<bank> d(db, snap, journal, no_auto());
        for (int i = 0; i < 5; ++i) mixed_commit(db, i);
        {
            scoped_file_ops inject(faulty());
            fail_rename_to_journal = true;  // the new journal never replaces the old one
            CHECK_THROWS_WITH(d.checkpoint(), Catch::Contains("rename"));
            fail_rename_to_journal = false;
        }
        // The durable store goes on in the old journal.
        for (int i = 5; i < 8; ++i) mixed_commit(db, i);
    }
    bank again;
    {
        rs::durable<bank> d(again, snap, journal, no_auto());
        CHECK(d.recovery().checkpoint_completed);
        CHECK(d.recovery().records_skipped == 5);
        CHECK(d.recovery().transactions_replayed == 3);
        CHECK(image(again) == image(db));
        mixed_commit(again, 8);
    }
    bank third;
    rs::durable<bank> d(third, snap, journal, no_auto());
    CHECK_FALSE(d.recovery().checkpoint_completed);
    CHECK(image(third) == image(again));
}

TEST_CASE("an injected fsync or write failure fails the commit, rolls it back and keeps the journal valid",
          "[journal][fault]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    fault_reset reset;
    bank db;
    std::string committed;
    {
        rs::durable<bank> d(db, snap, journal, no_auto());
        for (int i = 0; i < 3; ++i) mixed_commit(db, i);
        committed = image(db);
        const auto size = fs::file_size(journal);
        scoped_file_ops inject(faulty());
        SECTION("fsync") {
            fail_fsync_after = 0;
            CHECK_THROWS_WITH(mixed_commit(db, 3), Catch::Contains("fsync failed") && Catch::Contains("db.journal"));
        }
        SECTION("a short write, then a full disk") {
            fail_pwrite_after = 0;
            CHECK_THROWS_WITH(mixed_commit(db, 3), Catch::Contains("write failed") &&
                                                       Catch::Contains(std::strerror(ENOSPC)));
        }
        CHECK(image(db) == committed);              // rolled back in memory
        CHECK(fs::file_size(journal) == size);      // and cut off the file
        CHECK(d.sequence() == 3);
        mixed_commit(db, 3);  // the journal goes on
        committed = image(db);
    }
    CHECK(reopened(snap, journal) == committed);
}

TEST_CASE("when a failed record cannot be cut off, the journal refuses every later commit",
          "[journal][fault]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    fault_reset reset;
    bank db;
    rs::durable<bank> d(db, snap, journal, no_auto());
    mixed_commit(db, 0);
    const auto committed = image(db);
    scoped_file_ops inject(faulty());
    fail_fsync_after = 0;
    fail_ftruncate = true;
    CHECK_THROWS_WITH(mixed_commit(db, 1), Catch::Contains("fsync failed"));
    fail_fsync_after = -1;
    fail_ftruncate = false;
    CHECK(image(db) == committed);
    CHECK_THROWS_WITH(mixed_commit(db, 1), Catch::Contains("refuses further commits"));
    CHECK(image(db) == committed);
    CHECK_THROWS_WITH(d.checkpoint(), Catch::Contains("refuses further commits"));
}

TEST_CASE("sync::interval and sync::none keep every commit across a clean close", "[journal][sync]") {
    for (auto policy : {rs::sync::interval, rs::sync::none}) {
        temp_dir dir;
        bank db;
        {
            auto o = no_auto(policy);
            o.sync_interval = std::chrono::milliseconds(1);
            rs::durable<bank> d(db, dir / "s", dir / "j", o);
            for (int i = 0; i < 20; ++i) mixed_commit(db, i);
            d.sync();
        }
        CHECK(reopened(dir / "s", dir / "j") == image(db));
    }
}

TEST_CASE("a journal past its size limit is checkpointed in the background", "[journal][checkpoint]") {
    temp_dir dir;
    bank db;
    rs::durable_options o;
    o.sync = rs::sync::none;
    o.checkpoint_bytes = 4096;
    {
        rs::durable<bank> d(db, dir / "s", dir / "j", o);
        for (int i = 0; i < 200; ++i) mixed_commit(db, i);
        // Waits for the background thread, with no bound on how quickly it runs.
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (d.checkpoints() == 0 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        CHECK(d.checkpoints() > 0);
        CHECK(d.background_error().empty());
    }
    CHECK(fs::exists(dir / "s"));
    CHECK(reopened(dir / "s", dir / "j") == image(db));
}

TEST_CASE("a follower applies the writer's records, across checkpoints", "[journal][follower]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank db;
    rs::durable<bank> d(db, snap, journal, no_auto());
    for (int i = 0; i < 4; ++i) mixed_commit(db, i);

    bank replica;
    rs::follower<bank> f(replica, snap, journal, {.poll_interval = std::chrono::milliseconds(0)});
    CHECK(image(replica) == image(db));
    CHECK(f.sequence() == d.sequence());

    int notified = 0;
    auto sub = replica.subscribe([&](const rs::changes<bank>& c) { notified += c.empty() ? 0 : 1; });
    for (int i = 4; i < 10; ++i) mixed_commit(db, i);
    CHECK(f.poll() == 6);
    CHECK(notified == 6);  // subscribers of the follower's store see each transaction
    CHECK(image(replica) == image(db));
    CHECK(f.poll() == 0);

    SECTION("one checkpoint: the follower continues in the new journal") {
        mixed_commit(db, 10);
        d.checkpoint();
        mixed_commit(db, 11);
        f.poll();
        CHECK(f.reloads() == 0);
        CHECK(image(replica) == image(db));
        CHECK(f.sequence() == d.sequence());
    }
    SECTION("two checkpoints between polls: the follower loads the new snapshot") {
        mixed_commit(db, 10);
        d.checkpoint();
        mixed_commit(db, 11);
        d.checkpoint();
        mixed_commit(db, 12);
        f.poll();
        CHECK(image(replica) == image(db));
        CHECK(f.sequence() == d.sequence());
    }
    SECTION("the follower's store is read-only") {
        auto tx = replica.write();
        tx.insert(Account{0, "sneaky", 0, std::nullopt});
        CHECK_THROWS_AS(tx.commit(), rs::usage_error);
        CHECK(image(replica) == image(db));
    }
}

TEST_CASE("a follower that applied a record whose fsync then failed loads the journal again",
          "[journal][follower][fault]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    fault_reset reset;
    bank db;
    rs::durable<bank> d(db, snap, journal, no_auto());
    mixed_commit(db, 0);
    bank replica;
    rs::follower<bank> f(replica, snap, journal, {.poll_interval = std::chrono::milliseconds(0)});
    {
        // The follower polls while the writer waits for the fsync that fails:
        // it applies a record that the writer then rolls back and cuts off.
        scoped_file_ops inject(faulty());
        during_failed_fsync = [&] { CHECK(f.poll() == 1); };
        fail_fsync_after = 0;
        CHECK_THROWS(mixed_commit(db, 1));
        fail_fsync_after = -1;
        during_failed_fsync = nullptr;
    }
    CHECK(f.sequence() == 2);
    SECTION("nothing written since") {
        f.poll();
        CHECK(f.reloads() == 1);
        CHECK(f.sequence() == 1);
        CHECK(image(replica) == image(db));
    }
    SECTION("another record written in its place") {
        mixed_commit(db, 7);  // a different record with the same sequence number
        f.poll();
        CHECK(f.reloads() == 1);
        CHECK(image(replica) == image(db));
    }
}

TEST_CASE("a follower under concurrent commits and checkpoints sees whole transactions and ends equal",
          "[journal][follower][concurrency]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank db;
    constexpr int n_accounts = 8;
    constexpr std::int64_t total = 1000;
    rs::durable_options o = no_auto(rs::sync::none);
    rs::durable<bank> d(db, snap, journal, o);
    {
        auto tx = db.write();
        for (int i = 0; i < n_accounts; ++i)
            tx.insert(Account{0, "a" + std::to_string(i), i == 0 ? total : 0, std::nullopt});
        tx.commit();
    }
    bank replica;
    rs::follower<bank> f(replica, snap, journal, {.poll_interval = std::chrono::milliseconds(1)});
    std::atomic<bool> stop{false};
    std::atomic<long> torn{0}, reads{0};
    std::thread reader([&] {
        while (!stop) {
            auto q = replica.read();
            std::int64_t sum = 0;
            for (const auto& a : q.all<accounts>()) sum += a.balance;
            if (sum != total) ++torn;  // a transfer seen half-applied
            ++reads;
        }
    });
    const long rounds = std::getenv("RELSTORE_JOURNAL_ROUNDS") ? std::atol(std::getenv("RELSTORE_JOURNAL_ROUNDS"))
                                                               : 1500;
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w)
        writers.emplace_back([&, w] {
            for (long i = 0; i < rounds; ++i) {
                auto tx = db.write();
                const auto& from = tx.get<accounts>(std::int64_t{1 + (i + w) % n_accounts});
                const auto& to = tx.get<accounts>(std::int64_t{1 + (i * 3 + w + 1) % n_accounts});
                if (&from == &to) continue;
                const std::int64_t amount = from.balance / 2;
                tx.set<&Account::balance>(from, from.balance - amount);
                tx.set<&Account::balance>(to, to.balance + amount);
                tx.insert(Entry{0, from.id, -amount});
                tx.commit();
            }
        });
    for (int c = 0; c < 6; ++c) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        d.checkpoint();
    }
    for (auto& t : writers) t.join();
    const auto target = d.sequence();
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (f.sequence() < target && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    stop = true;
    reader.join();
    INFO("follower error: " << f.background_error() << "; reads " << reads << ", reloads " << f.reloads());
    CHECK(f.sequence() == target);
    CHECK(torn == 0);
    CHECK(image(replica) == image(db));
    CHECK(f.background_error().empty());
}

#ifdef RELSTORE_CLI
namespace {

/// Runs the relstore tool; returns its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> run_cli(const std::string& args) {
    const std::string cmd = std::string(RELSTORE_CLI) + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    while (const auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    const int status = ::pclose(p);
    return {WEXITSTATUS(status), out};
}

}  // namespace

TEST_CASE("relstore journal info, verify and dump show records, the snapshot followed and a torn tail",
          "[journal][cli]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    std::uint64_t good_end = 0, second_end = 0;
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        mixed_commit(db, 0);
        d.checkpoint();
        mixed_commit(db, 1);
        second_end = fs::file_size(journal);
        mixed_commit(db, 3);
        good_end = fs::file_size(journal);
    }
    const std::string j = journal.string();
    {
        const auto [rc, out] = run_cli("journal info " + j);
        CHECK(rc == 0);
        CHECK_THAT(out, Catch::Contains("follows:        the snapshot with checksum 0x") &&
                            Catch::Contains("records:        3 (2 transactions, 1 checkpoint marks), sequence 2..4") &&
                            Catch::Contains("tail:           clean"));
    }
    {
        const auto [rc, out] = run_cli("journal dump " + j);
        CHECK(rc == 0);
        CHECK_THAT(out, Catch::Contains("record 1 (sequence 2)") && Catch::Contains("checkpoint: the snapshot") &&
                            Catch::Contains("~ accounts {\"id\": 1, \"name\": \"acct0\", \"balance\": 1, \"note\": \"n1\"}") &&
                            Catch::Contains("+ tags {\"a\": 1, \"b\": \"t1\", \"w\": 0.5}") &&
                            Catch::Contains("- accounts {\"id\": 1}") && Catch::Contains("- entries {\"id\": 1}") &&
                            Catch::Contains("accounts: next key 3"));
    }
    std::string bytes = slurp(journal);
    spit(journal, bytes + bytes.substr(bytes.size() - 40, 25));  // a torn write after the last record
    {
        const auto [rc, out] = run_cli("journal info " + j);
        CHECK(rc == 0);
        CHECK_THAT(out, Catch::Contains("tail:           torn at byte " + std::to_string(good_end) + " (25 bytes"));
        const auto [vrc, vout] = run_cli("journal verify " + j);
        CHECK(vrc == 0);
        CHECK_THAT(vout, Catch::Contains("ok: ") && Catch::Contains("torn tail at byte " + std::to_string(good_end)));
    }
    bytes[second_end - 20] = static_cast<char>(bytes[second_end - 20] ^ 1);  // inside the second record, not the last
    spit(journal, bytes + bytes.substr(bytes.size() - 40, 25));
    {
        const auto [rc, out] = run_cli("journal verify " + j);
        CHECK(rc == 1);
        CHECK_THAT(out, Catch::Contains("is not a sound journal") && Catch::Contains("record 2 at byte") &&
                            Catch::Contains("checksum mismatch"));
        const auto [irc, iout] = run_cli("journal info " + j);
        CHECK(irc == 1);
        CHECK_THAT(iout, Catch::Contains("DAMAGED: record 2"));
    }
    const auto [rc, out] = run_cli("journal verify " + snap.string());
    CHECK(rc == 1);
    CHECK_THAT(out, Catch::Contains("not a relstore journal"));
}
#endif
