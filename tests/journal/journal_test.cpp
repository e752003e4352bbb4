// relstore::durable and relstore::follower in one process: replay of every
// kind of change, torn tails at every byte (with and without zeros after
// them), damage in the middle, journals of another snapshot or schema,
// checkpoints (interrupted ones too), space allocated ahead of the records,
// injected write/fsync/fdatasync/fallocate failures through
// detail::file_ops, sync policies, followers across checkpoints, and the
// `relstore journal` tool.
#include "alloc_counter.hpp"
#include "bank.hpp"
#include "child_nice_probe.hpp"
#include "watchdog.hpp"
#ifdef RELSTORE_CLI
#include "cli_run.hpp"
#endif

#include <relstore/detail/snapshot_file_ops.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>
#include <thread>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace journal_test {

using namespace jt;
using relstore::detail::file_ops;
using relstore::detail::scoped_file_ops;

namespace {


/// How a journal file's bytes scan (as recovery and the tool scan them).
rs::detail::record_scan scan_file(const std::string& bytes) {
    const std::span<const std::byte> b(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    const auto h = rs::detail::parse_journal_header(b, "scanned");
    auto scan = rs::detail::scan_records(b.subspan(h.size), h.size, h.first_seq, 1, true);
    scan.records.clear();  // they point into bytes
    return scan;
}

// Fault injection: which call fails, after how many calls; and call counts.
std::atomic<int> fail_fsync_after{-1};
std::atomic<int> fail_fdatasync_after{-1};
std::atomic<int> fail_pwrite_after{-1};
std::atomic<int> fail_fallocate_with{0};  // an errno
std::atomic<bool> fail_ftruncate{false};
std::atomic<bool> fail_rename_to_journal{false};
std::atomic<int> fsyncs{0}, fdatasyncs{0}, fallocates{0};
std::function<void()> during_failed_fsync;  // fsync or fdatasync
const file_ops real = rs::detail::system_file_ops();

// Fails once when the countdown reaches 0.
bool fails_now(std::atomic<int>& after) {
    if (after.load() == 0) {
        after = -1;
        if (during_failed_fsync) during_failed_fsync();
        errno = EIO;
        return true;
    }
    if (after.load() > 0) --after;
    return false;
}

file_ops faulty() {
    file_ops ops = real;
    ops.fsync = [](int fd) {
        ++fsyncs;
        return fails_now(fail_fsync_after) ? -1 : real.fsync(fd);
    };
    ops.fdatasync = [](int fd) {
        ++fdatasyncs;
        return fails_now(fail_fdatasync_after) ? -1 : real.fdatasync(fd);
    };
    ops.fallocate = [](int fd, off_t off, off_t len) {
        ++fallocates;
        if (const int err = fail_fallocate_with.load()) {
            errno = err;
            return -1;
        }
        return real.fallocate(fd, off, len);
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
        fail_fdatasync_after = -1;
        fail_pwrite_after = -1;
        fail_fallocate_with = 0;
        fail_ftruncate = false;
        fail_rename_to_journal = false;
        fsyncs = fdatasyncs = fallocates = 0;
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

TEST_CASE("a journal's name with control characters is shown escaped in its errors; path() keeps it",
          "[journal][errors]") {
    temp_dir dir;
    const auto journal = dir / "odd\tname\r.journal";
    spit(journal, "these bytes are text, not a relstore journal");
    bank db;
    try {
        rs::durable<bank> d(db, dir / "db.snap", journal, no_auto());
        FAIL("a file that is no journal was opened");
    } catch (const rs::snapshot_error& e) {
        CHECK(e.path() == journal.string());
        CHECK_THAT(e.what(), Catch::Contains("odd\\tname\\r.journal' at byte 0: not a relstore journal"));
        CHECK(std::string_view(e.what()).find_first_of("\t\r") == std::string_view::npos);
    }
}

TEST_CASE("a second writer's error shows the lock file's name escaped", "[journal][errors]") {
    temp_dir dir;
    bank a, b;
    const auto journal = dir / "odd\nname.journal";
    rs::durable<bank> d(a, dir / "db.snap", journal, no_auto());
    try {
        rs::durable<bank> again(b, dir / "db.snap", journal, no_auto());
        FAIL("a second writer opened the journal");
    } catch (const rs::snapshot_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("(it holds '" + (dir / "odd\\nname.journal.lock").string() + "')"));
        CHECK(std::string_view(e.what()).find('\n') == std::string_view::npos);
    }
}

/// stat() of a lock file fails with `err` for the next `times` calls (all,
/// when negative); other paths are looked at as the system does.
struct lock_stat_failure {
    static inline int err = 0;
    static inline int times = 0;
    static int stat(const char* path, struct stat* st) {
        if (std::string_view(path).ends_with(".lock") && times != 0) {
            if (times > 0) --times;
            errno = err;
            return -1;
        }
        return relstore::detail::system_file_ops().stat(path, st);
    }
};

TEST_CASE("a lock file that cannot be examined once locked fails the open with its error; one removed is made again",
          "[journal][errors][fault]") {
    temp_dir dir;
    bank db;
    auto ops = relstore::detail::system_file_ops();
    ops.stat = &lock_stat_failure::stat;
    SECTION("EIO: the error at once, not a lock file 'removed or replaced' a hundred times") {
        lock_stat_failure::err = EIO;
        lock_stat_failure::times = -1;
        {
            scoped_file_ops inject(ops);
            try {
                rs::durable<bank> d(db, dir / "db.snap", dir / "db.journal", no_auto());
                FAIL("opened with a lock file it could not examine");
            } catch (const rs::snapshot_error& e) {
                CHECK(e.code() == rs::errc::io);
                CHECK_THAT(e.what(), Catch::Contains("cannot stat the lock file '" +
                                                     (dir / "db.journal.lock").string() + "' after locking it") &&
                                         Catch::Contains("Input/output error"));
            }
        }
        CHECK_FALSE(fs::exists(dir / "db.journal"));
        CHECK_FALSE(fs::exists(dir / "db.journal.lock"));  // made by this open, so removed by it
    }
    SECTION("ENOENT twice (removed by another process after the lock): locked again, and opened") {
        lock_stat_failure::err = ENOENT;
        lock_stat_failure::times = 3;  // the first attempt's two looks, the second attempt's first
        scoped_file_ops inject(ops);
        rs::durable<bank> d(db, dir / "db.snap", dir / "db.journal", no_auto());
        CHECK(lock_stat_failure::times == 0);
        CHECK(fs::exists(dir / "db.journal"));
    }
    // Opens as usual afterwards; a lock file left behind is taken again.
    lock_stat_failure::times = 0;
    bank again;
    rs::durable<bank> d(again, dir / "db.snap", dir / "db.journal", no_auto());
    CHECK(fs::exists(dir / "db.journal.lock"));
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
    std::vector<std::uint64_t> ends;  // where the records end after k records
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        const auto header = header_size(journal);
        states.push_back(image(db));
        ends.push_back(header);
        for (int i = 0; i < 12; ++i) {
            mixed_commit(db, i);
            states.push_back(image(db));
            ends.push_back(header + d.journal_bytes());
        }
    }
    const std::string full = slurp(journal);
    REQUIRE(full.size() == ends.back());  // a clean close cut off the space allocated ahead
    const auto cut_dir = dir / "cut";
    fs::create_directory(cut_dir);
    // A crash leaves the cut alone (the file grew with each record), or the
    // cut followed by the zeros the writer had allocated ahead: both recover
    // the same records. A cut inside a record leaves a non-zero byte at least
    // (a record starts with its sequence number), so it is never read as zeros.
    for (const std::size_t zeros : {std::size_t{0}, std::size_t{5000}}) {
        for (std::size_t len = ends.front(); len <= full.size(); ++len) {
            spit(cut_dir / "j", full.substr(0, len) + std::string(zeros, '\0'));
            std::size_t k = 0;
            while (k + 1 < ends.size() && ends[k + 1] <= len) ++k;
            bank db;
            {
                rs::durable<bank> d(db, cut_dir / "s", cut_dir / "j", no_auto());
                INFO("journal cut at byte " << len << " of " << full.size() << ", then " << zeros << " zeros");
                REQUIRE(image(db) == states[k]);
                REQUIRE(d.recovery().transactions_replayed == k);
                if (len != ends[k]) {
                    REQUIRE(d.recovery().torn_tail_at == ends[k]);
                    REQUIRE(d.recovery().torn_tail_bytes == len + zeros - ends[k]);
                    REQUIRE(fs::file_size(cut_dir / "j") == ends[k]);  // the torn tail is cut off
                } else {
                    REQUIRE_FALSE(d.recovery().torn_tail_at);  // zeros are the end, not a torn record
                    REQUIRE(fs::file_size(cut_dir / "j") == len + zeros);  // and kept, to be written into
                }
            }
            REQUIRE(fs::file_size(cut_dir / "j") == ends[k]);  // closed: nothing after the records
        }
    }
}

// Preallocation (docs/journal.md): deliberate breakages these tests caught,
// one at a time: zeros read as a torn tail (the truncation, zero-tail, all-
// zeros and CLI tests); sync() always fdatasync, or always fsync, or no
// fsync after an allocation (the sync-count and fault tests); an open that
// cuts a zero tail off; no cut on a clean close; a header with first
// sequence 0 accepted; the zeros fallback's failure not undone; a follower
// whose read window never grows (stuck before a large record); a follower
// that does not skip the records it applied before a switch of journals
// (the concurrent follower test); preallocation for sync::none.
TEST_CASE("the zeros a writer allocated ahead are the journal's end, reused by the next writer",
          "[journal][preallocate]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank db;
    std::string copy;  // the journal as a crash (kill -9, power loss) would leave it
    std::uint64_t end = 0;
    {
        rs::durable<bank> d(db, snap, journal, no_auto());
        for (int i = 0; i < 8; ++i) mixed_commit(db, i);
        end = header_size(journal) + d.journal_bytes();
        copy = slurp(journal);
        REQUIRE(copy.size() == (std::uint64_t{4} << 20));  // the default step, 4 MiB, in whole steps
        CHECK(copy.find_first_not_of('\0', end) == std::string::npos);
    }
    CHECK(fs::file_size(journal) == end);  // a clean close keeps the records only
    const auto scan = scan_file(copy);
    CHECK(scan.tail == rs::detail::journal_tail::clean);
    CHECK(scan.end == end);
    CHECK(scan.zeros == copy.size() - end);
    CHECK(scan.next_seq == 9);

    spit(journal, copy);
    bank again;
    {
        rs::durable<bank> d(again, snap, journal, no_auto());
        CHECK(image(again) == image(db));
        CHECK(d.recovery().transactions_replayed == 8);
        CHECK_FALSE(d.recovery().torn_tail_at);
        CHECK_FALSE(d.recovery().damaged_record);
        CHECK(fs::file_size(journal) == copy.size());  // the zeros are kept and written into
        mixed_commit(again, 8);
        CHECK(fs::file_size(journal) == copy.size());
    }
    CHECK(fs::file_size(journal) > end);
    bank third;
    rs::durable<bank> d(third, snap, journal, no_auto());
    CHECK(image(third) == image(again));
    CHECK(d.recovery().transactions_replayed == 9);
}

TEST_CASE("no record is all zeros, not even with sequence number 0", "[journal][preallocate]") {
    const std::vector<std::byte> zeros(100);
    for (const std::uint64_t first_seq : {0, 1}) {
        const auto scan = rs::detail::scan_records(zeros, 64, first_seq, 1, true);
        CHECK(scan.records.empty());
        CHECK(scan.tail == rs::detail::journal_tail::clean);
        CHECK(scan.end == 64);
        CHECK(scan.zeros == 100);
        CHECK_FALSE(rs::detail::record_size_at(zeros, first_seq));
    }
    // A header whose first sequence number is 0 is refused (its records could be zeros).
    temp_dir dir;
    {
        bank db;
        rs::durable<bank> d(db, dir / "s", dir / "j", no_auto());
    }
    auto h = rs::detail::parse_journal_header(rs::detail::read_journal_file(dir / "j"), "j");
    h.first_seq = 0;
    const auto header = rs::detail::encode_journal_header(h);  // its checksum holds
    spit(dir / "j", std::string(reinterpret_cast<const char*>(header.data()), header.size()));
    bank db;
    CHECK_THROWS_WITH((rs::durable<bank>(db, dir / "s", dir / "j", no_auto())),
                      Catch::Contains("'" + (dir / "j").string() + "'") && Catch::Contains("at byte 16") &&
                          Catch::Contains("sequence numbers start at 1"));
}

TEST_CASE("a damaged record in the middle is refused with its number and offset", "[journal][corrupt]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    std::vector<std::uint64_t> ends;
    std::vector<std::string> states;
    std::string good;
    {
        // A small step: the records are written into space allocated ahead,
        // and zeros follow the last one (the file as a crash leaves it).
        auto o = no_auto();
        o.preallocate = 4096;
        bank db;
        rs::durable<bank> d(db, snap, journal, o);
        const auto header = header_size(journal);
        ends.push_back(header);
        states.push_back(image(db));
        for (int i = 0; i < 8; ++i) {
            mixed_commit(db, i);
            ends.push_back(header + d.journal_bytes());
            states.push_back(image(db));
        }
        good = slurp(journal);
    }
    REQUIRE(good.size() % 4096 == 0);
    REQUIRE(good.size() - ends.back() > 100);  // zeros after the last record
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
    SECTION("damage in the last record, or in the zeros after it, is a torn tail: the records before it load") {
        for (const auto at : {ends[ends.size() - 2] + 3, ends.back() + 17, good.size() - 1}) {
            std::string bad = good;
            bad[at] = static_cast<char>(bad[at] ^ 0x10);
            spit(journal, bad);
            const std::size_t kept = at < ends.back() ? ends.size() - 2 : ends.size() - 1;
            INFO("bit flipped at byte " << at);
            bank db;
            rs::durable<bank> d(db, snap, journal, no_auto());
            CHECK(image(db) == states[kept]);
            CHECK(d.recovery().torn_tail_at == ends[kept]);
            CHECK_FALSE(d.recovery().damaged_record);
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

namespace {

/// Whether another process is kept from locking path (a lock file): a forked
/// child asks with F_GETLK, which does not see this process's own locks, and
/// does not go through relstore, whose list of held locks the child inherits.
bool locked_for_other_processes(const fs::path& path) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) ::_exit(2);
        struct flock lk {};
        lk.l_type = F_WRLCK;
        lk.l_whence = SEEK_SET;
        if (::fcntl(fd, F_GETLK, &lk) != 0) ::_exit(2);
        ::_exit(lk.l_type == F_UNLCK ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) != 2);
    return WEXITSTATUS(status) == 1;
}

}  // namespace

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
    // The child above refuses by the list of locks it inherited; the kernel's
    // lock is what keeps out a process that did not fork from this one (the
    // refused open closed a descriptor of the lock file, which dropped it).
    CHECK(locked_for_other_processes(dir / "j.lock"));
    CHECK(locked_for_other_processes(dir / "s.lock"));
    d.reset();
    CHECK(other_process_opens() == 0);
}

TEST_CASE("a second durable pair on the same snapshot file is refused, naming the snapshot", "[journal][usage]") {
    // Both pairs opened (the lock covered the journal only); a checkpoint of
    // one replaced the snapshot the other's journal follows, and that pair
    // could not be opened again: its acknowledged commits were lost.
    temp_dir dir;
    const auto snap = dir / "s.snap";
    bank a, b;
    std::optional<rs::durable<bank>> d;
    d.emplace(a, snap, dir / "a.journal", no_auto());
    mixed_commit(a, 0);
    const auto refused = [&] {
        const auto before = contents_of(dir.path);
        try {
            rs::durable<bank> second(b, snap, dir / "b.journal", no_auto());
            FAIL("a second pair opened the snapshot");
        } catch (const rs::snapshot_error& e) {
            CHECK(e.code() == rs::errc::usage);
            CHECK(e.path() == snap.string());
            CHECK_THAT(e.what(), Catch::StartsWith("snapshot '" + snap.string() + "': another durable pair"));
            CHECK_THAT(e.what(), Catch::Contains("(this process or another)"));
            CHECK_THAT(e.what(), Catch::Contains("'" + snap.string() + ".lock'"));
        }
        CHECK(contents_of(dir.path) == before);  // no b.journal, no lock file of its own
        CHECK(image(b) == image(bank{}));
    };
    refused();
    CHECK(locked_for_other_processes(dir / "s.snap.lock"));
    // A checkpoint replaces the snapshot by a rename: the lock, on a file of
    // its own, still holds.
    d->checkpoint();
    mixed_commit(a, 1);
    refused();
    CHECK(locked_for_other_processes(dir / "s.snap.lock"));
    {
        // Followers take no lock: one follows the pair while it is open.
        bank replica;
        rs::follower<bank> f(replica, snap, dir / "a.journal", rs::follower_options{.poll_interval = {}});
        CHECK(image(replica) == image(a));
        mixed_commit(a, 2);
        CHECK(f.poll() == 1);
        CHECK(image(replica) == image(a));
    }
    const std::string committed = image(a);
    d.reset();
    CHECK(reopened(snap, dir / "a.journal") == committed);
    // Once the pair is closed, the snapshot may start another journal.
    bank c, snapshot_only;
    rs::durable<bank> other(c, snap, dir / "b.journal", no_auto());
    (void)rs::load(snapshot_only, snap);
    CHECK(image(c) == image(snapshot_only));
}

TEST_CASE("an open refused by the files it finds leaves the directory exactly as it was", "[journal][usage]") {
    // The open removed the leftovers of an interrupted checkpoint and made
    // the lock file before it read the snapshot and refused it.
    temp_dir dir;
    const auto snap = dir / "s.snap", journal = dir / "j.journal";
    spit(dir / "s.snap.new", "the snapshot of a checkpoint that did not finish");
    spit(dir / "j.journal.new", "the journal of a checkpoint that did not finish");
    SECTION("a snapshot that is no snapshot") {
        spit(snap, "these bytes are text, not a relstore snapshot");
    }
    SECTION("a journal that is no journal") {
        spit(journal, "these bytes are text, not a relstore journal");
    }
    SECTION("a journal of another snapshot") {
        {
            bank db;
            mixed_commit(db, 0);
            rs::durable<bank> d(db, dir / "x.snap", journal, no_auto());
            mixed_commit(db, 1);
        }
        bank other;
        rs::save(other, snap);
        fs::remove(dir / "j.journal.lock");
    }
    const auto before = contents_of(dir.path);
    bank db;
    CHECK_THROWS_AS((rs::durable<bank>(db, snap, journal, no_auto())), rs::snapshot_error);
    CHECK(contents_of(dir.path) == before);
    CHECK(image(db) == image(bank{}));
}


TEST_CASE("a store with a journal refuses a load, a swap of contents and a second durable pair", "[journal][usage]") {
    // The journal records transactions: contents replaced wholesale went
    // unrecorded, and reopening the pair silently brought the old rows back.
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank spare;
    mixed_commit(spare, 0);
    rs::save(spare, dir / "other.snap");
    std::string committed;
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        for (int i = 0; i < 4; ++i) mixed_commit(db, i);
        committed = image(db);
        const std::string journal_bytes = slurp(journal);
        CHECK_THROWS_WITH((void)rs::load(db, dir / "other.snap"),
                          Catch::StartsWith("relstore: this store has a journal (relstore::durable)"));
        CHECK_THROWS_AS(db.swap_contents(spare), rs::usage_error);
        CHECK_THROWS_AS(spare.swap_contents(db), rs::usage_error);
        CHECK_THROWS_WITH((rs::durable<bank>(db, dir / "second.snap", dir / "second.journal", no_auto())),
                          Catch::StartsWith("relstore: this store has a journal already"));
        CHECK_FALSE(fs::exists(dir / "second.journal"));
        CHECK_FALSE(fs::exists(dir / "second.snap"));
        CHECK(image(db) == committed);
        CHECK(image(spare) != committed);
        CHECK((slurp(journal) == journal_bytes));  // parenthesized: bytes are not printed
        mixed_commit(db, 4);  // the journal still records
        committed = image(db);
    }
    bank db;
    rs::durable<bank> d(db, snap, journal, no_auto());
    CHECK(image(db) == committed);
}

namespace {

/// What call() throws (its what()), or "returned"; the process ends if it
/// does not return (it waits forever: a FIFO opened for reading).
template <class Call>
std::string outcome_within_10s(Call&& call) {
    return relstore_test::returns_within(std::chrono::seconds(10), "opening the files", [&]() -> std::string {
        try {
            call();
            return "returned";
        } catch (const std::exception& e) {
            return e.what();
        }
    });
}

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
}

}  // namespace

TEST_CASE("a durable pair's paths: one file for both, one the other's lock or checkpoint file, a directory or a FIFO "
          "is refused before any file is made",
          "[journal][usage]") {
    // A FIFO was opened for reading and waited for a writer forever; a
    // directory was refused after the lock file was made (and left); the
    // same path for both was taken, snapshot and journal overwriting each other.
    temp_dir dir;
    REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
    fs::create_directory(dir / "sub");
    const auto before = names_in(dir.path);
    struct attempt {
        fs::path snapshot, journal;
        const char* refused;
    };
    const attempt attempts[] = {
        {dir / "db.snap", dir / "pipe", "is not a regular file"},
        {dir / "pipe", dir / "db.journal", "is not a regular file"},
        {dir / "db.snap", dir / "sub", "is not a regular file"},
        {dir / "sub", dir / "db.journal", "is a directory, not a snapshot file"},
        {dir / "db", dir / "db", "the snapshot and the journal are the same file"},
        {dir / "db", dir / "sub" / ".." / "db", "the snapshot and the journal are the same file"},
        // The lock taken on, or the checkpoint written over, the other file.
        {dir / "db.snap", dir / "db.snap.lock", "the journal is the snapshot's lock file"},
        {dir / "db.journal.lock", dir / "db.journal", "the snapshot is the journal's lock file"},
        {dir / "db.snap", dir / "sub" / ".." / "db.snap.new", "the journal is the snapshot's checkpoint file"},
        {dir / "db.journal.new", dir / "db.journal", "the snapshot is the journal's checkpoint file"},
    };
    for (const auto& a : attempts) {
        INFO("snapshot " << a.snapshot << ", journal " << a.journal);
        bank db;
        CHECK_THAT(outcome_within_10s([&] { rs::durable<bank> d(db, a.snapshot, a.journal, no_auto()); }),
                   Catch::Contains(a.refused));
        CHECK(names_in(dir.path) == before);  // no lock file, no snapshot, no journal
    }
    SECTION("load and a follower refuse a FIFO instead of waiting for a writer") {
        bank db;
        CHECK_THAT(outcome_within_10s([&] { (void)rs::load(db, dir / "pipe"); }),
                   Catch::Contains("is not a regular file"));
        {
            bank writer;
            rs::durable<bank> d(writer, dir / "w.snap", dir / "w.journal", no_auto());
            mixed_commit(writer, 0);
        }
        CHECK_THAT(outcome_within_10s([&] { rs::follower<bank> f(db, dir / "pipe", dir / "w.journal"); }),
                   Catch::Contains("is not a regular file"));
        CHECK_THAT(outcome_within_10s([&] { rs::follower<bank> f(db, dir / "w.snap", dir / "pipe"); }),
                   Catch::Contains("is not a regular file"));
        CHECK(fs::is_fifo(dir / "pipe"));
    }
}

TEST_CASE("an open that succeeds removes an interrupted checkpoint's files, and keeps its lock files",
          "[journal][checkpoint]") {
    temp_dir dir;
    const auto snap = dir / "s.snap", journal = dir / "j.journal";
    std::string committed;
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        mixed_commit(db, 0);
        d.checkpoint();
        mixed_commit(db, 1);
        committed = image(db);
    }
    spit(dir / "s.snap.new", "the snapshot of a checkpoint that did not finish");
    spit(dir / "j.journal.new", "the journal of a checkpoint that did not finish");
    CHECK(reopened(snap, journal) == committed);
    CHECK(names_in(dir.path) == std::vector<std::string>{"j.journal", "j.journal.lock", "s.snap", "s.snap.lock"});
}

TEST_CASE("a store destroyed before its durable pair or follower: they stop and leave it alone",
          "[journal][usage]") {
    // Their destructors detached themselves from the destroyed store
    // (AddressSanitizer: stack-use-after-scope), and a follower's poll
    // thread kept applying records to it.
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    std::string committed;
    {
        std::optional<rs::durable<bank>> d;
        {
            bank db;
            d.emplace(db, snap, journal, no_auto());
            for (int i = 0; i < 3; ++i) mixed_commit(db, i);
            committed = image(db);
        }  // the store goes first
        CHECK_THROWS_WITH(d->checkpoint(), Catch::StartsWith("relstore: the store of this durable pair was destroyed"));
        CHECK(d->sequence() == 3);
    }  // and the durable object after it: its records are synced
    {
        bank again;
        rs::durable<bank> d(again, snap, journal, no_auto());
        CHECK(image(again) == committed);
        mixed_commit(again, 3);
    }
    std::optional<rs::follower<bank>> f;
    {
        bank replica;
        f.emplace(replica, snap, journal, rs::follower_options{.poll_interval = std::chrono::milliseconds(1)});
        CHECK(f->sequence() == 4);
    }
    {
        bank writer;  // the follower's thread would apply this commit to the destroyed store
        rs::durable<bank> d(writer, snap, journal, no_auto());
        mixed_commit(writer, 4);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK_THROWS_WITH(f->poll(), Catch::StartsWith("relstore: the store of this follower was destroyed"));
    CHECK(f->sequence() == 4);
    f.reset();
}

TEST_CASE("a durable destroyed on a thread that holds its store: the journal goes on until that thread lets go",
          "[journal][usage]") {
    // Its destructor needs the store's exclusive lock, which would wait for
    // this thread: it aborted the process. Now the store keeps the journal
    // and the pair's lock, and lets go of them at its next exclusive lock.
    const bool never_wait = GENERATE(false, true);
    CAPTURE(never_wait);
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank db(rs::store_options{.readers_never_wait = never_wait});
    std::optional<rs::durable<bank>> d(std::in_place, db, snap, journal, no_auto());
    for (int i = 0; i < 3; ++i) mixed_commit(db, i);
    std::string journaled;
    SECTION("a read scope") {
        journaled = image(db);
        const auto n = db.read().count<accounts>();
        {
            auto q = db.read();
            d.reset();
            CHECK(q.count<accounts>() == n);
            if (!never_wait) {
                // Writers are kept out by this scope, so the store still holds the
                // journal and its lock: no other writer may open the pair yet.
                CHECK_THROWS_WITH(reopened(snap, journal), Catch::Contains("another"));
            }
        }
        mixed_commit(db, 3);  // detaches the journal first: not journaled
    }
    SECTION("its own transaction, whose commit is still journaled") {
        {
            auto tx = db.write();
            tx.insert(Account{0, "last", 7, std::nullopt});
            d.reset();
            tx.commit();
        }
        journaled = image(db);
        mixed_commit(db, 3);
    }
    CHECK(image(db) != journaled);
    CHECK(reopened(snap, journal) == journaled);
    // The store takes a new durable pair, which picks up where the old one stopped.
    bank again;
    rs::durable<bank> d2(again, snap, journal, no_auto());
    CHECK(image(again) == journaled);
}

TEST_CASE("a durable destroyed on a thread that holds its store allocates nothing", "[journal][usage][memory]") {
    // Out of memory in the destructor would terminate the process: the
    // holder the store keeps the journal in is made when the pair opens.
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank db;
    std::optional<rs::durable<bank>> d(std::in_place, db, snap, journal, no_auto());
    mixed_commit(db, 0);
    const std::string journaled = image(db);
    {
        auto q = db.read();
        relstore_test::fail_allocation_after(0);
        d.reset();
        CHECK_FALSE(relstore_test::disarm_allocation_failure());
    }
    mixed_commit(db, 1);  // the store lets go of the journal first
    CHECK(reopened(snap, journal) == journaled);
}

TEST_CASE("a durable destroyed while its automatic checkpoint waits for this thread's read scope returns",
          "[journal][usage]") {
    // The checkpoint's switch of journals waits for the store's exclusive
    // lock; the destructor joined its thread while holding a read scope.
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank db;
    auto o = no_auto();
    o.checkpoint_bytes = 1;  // every commit asks for one
    std::optional<rs::durable<bank>> d(std::in_place, db, snap, journal, o);
    relstore_test::returns_within(std::chrono::seconds(20), "destroying the durable", [&] {
        {
            auto tx = db.write();
            for (int i = 0; i < 100000; ++i) tx.insert(Account{0, "a" + std::to_string(i), i, std::nullopt});
            tx.commit();  // the checkpoint now saves the store, then waits for q
        }
        auto q = db.read();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        d.reset();
        return q.count<accounts>();
    });
    CHECK_FALSE(fs::exists(dir / "db.snap.new"));  // the checkpoint that gave up left no file behind
    const std::string journaled = image(db);
    mixed_commit(db, 0);  // the store lets go of the journal first
    CHECK(reopened(snap, journal) == journaled);
}

TEST_CASE("a follower destroyed on a thread that holds a read scope of its store returns", "[journal][usage]") {
    // Its poll thread may be waiting for this scope to end (a record to
    // apply), and its destructor joined that thread: a wait for itself.
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank writer;
    rs::durable<bank> d(writer, snap, journal, no_auto());
    mixed_commit(writer, 0);
    bank replica;
    std::optional<rs::follower<bank>> f(std::in_place, replica, snap, journal,
                                         rs::follower_options{.poll_interval = std::chrono::milliseconds(1)});
    const std::string before = image(replica);
    const std::string seen = relstore_test::returns_within(std::chrono::seconds(20), "destroying the follower", [&] {
        auto q = replica.read();
        mixed_commit(writer, 1);  // the poll thread now waits for this scope
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        f.reset();
        return image(replica);
    });
    CHECK(seen == before);
    // The store is no longer followed: it takes a load, and a new follower.
    rs::save(writer, dir / "w.snap");
    CHECK_NOTHROW(rs::load(replica, dir / "w.snap"));
    CHECK(image(replica) == image(writer));
    rs::follower<bank> again(replica, snap, journal);
    CHECK(image(replica) == image(writer));
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

namespace {

/// The nice value a checkpoint's child ran at, with these options.
int checkpoint_child_nice(const fs::path& dir, rs::durable_options o) {
    bank db;
    rs::durable<bank> d(db, dir / "db.snap", dir / "db.journal", o);
    mixed_commit(db, 0);
    relstore_test::child_nice_probe probe;
    d.checkpoint();
    return probe.seen();
}

}  // namespace

TEST_CASE("a checkpoint's child runs at the priority durable_options asks, and a bad one is refused",
          "[journal][checkpoint]") {
    temp_dir dir;
    errno = 0;
    const int own = ::getpriority(PRIO_PROCESS, 0);
    REQUIRE(errno == 0);
    REQUIRE(own < 19);
    SECTION("by default as a save's: 19 levels lower") {
        CHECK(checkpoint_child_nice(dir.path, no_auto()) == 19);
    }
    SECTION("as asked") {
        auto o = no_auto();
        o.checkpoint_child_nice = 0;
        CHECK(checkpoint_child_nice(dir.path, o) == own);
    }
    SECTION("outside 0 to 19: a usage error, and no file is made") {
        for (const int bad : {-1, 20}) {
            auto o = no_auto();
            o.checkpoint_child_nice = bad;
            bank db;
            try {
                rs::durable<bank> d(db, dir / "db.snap", dir / "db.journal", o);
                FAIL("opened");
            } catch (const rs::usage_error& e) {
                CHECK_THAT(e.what(), Catch::Contains("durable_options::checkpoint_child_nice is " + std::to_string(bad)));
                CHECK_THAT(e.what(), Catch::Contains("db.journal"));
            }
            CHECK_FALSE(fs::exists(dir / "db.snap"));
            CHECK_FALSE(fs::exists(dir / "db.journal"));
        }
    }
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

TEST_CASE("an injected fdatasync, fsync or write failure fails the commit, rolls it back and keeps the journal valid",
          "[journal][fault]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    fault_reset reset;
    // Inside space allocated ahead a commit's sync is an fdatasync; without
    // preallocation it is an fsync.
    const std::uint64_t step = GENERATE(std::uint64_t{4} << 20, std::uint64_t{0});
    auto o = no_auto();
    o.preallocate = step;
    bank db;
    std::string committed;
    {
        rs::durable<bank> d(db, snap, journal, o);
        for (int i = 0; i < 3; ++i) mixed_commit(db, i);
        committed = image(db);
        const auto end = header_size(journal) + d.journal_bytes();
        scoped_file_ops inject(faulty());
        SECTION("the commit's sync") {
            (step != 0 ? fail_fdatasync_after : fail_fsync_after) = 0;
            const std::string what = step != 0 ? "fdatasync failed" : "fsync failed";
            CHECK_THROWS_WITH(mixed_commit(db, 3), Catch::StartsWith("journal '" + journal.string() + "': " + what));
        }
        SECTION("a short write, then a full disk") {
            fail_pwrite_after = 0;
            CHECK_THROWS_WITH(mixed_commit(db, 3), Catch::Contains("write failed") &&
                                                       Catch::Contains(std::strerror(ENOSPC)));
        }
        INFO("preallocation step " << step);
        CHECK(image(db) == committed);          // rolled back in memory
        CHECK(fs::file_size(journal) == end);   // and cut off the file (with the space allocated ahead)
        CHECK(d.sequence() == 3);
        mixed_commit(db, 3);  // the journal goes on
        committed = image(db);
    }
    CHECK(reopened(snap, journal) == committed);
}

TEST_CASE("a failed allocation ahead of the records fails the commit, rolls it back and keeps the journal valid",
          "[journal][fault][preallocate]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    fault_reset reset;
    auto o = no_auto();
    o.preallocate = 1;  // every record extends the file
    bank db;
    std::string committed;
    {
        rs::durable<bank> d(db, snap, journal, o);
        for (int i = 0; i < 3; ++i) mixed_commit(db, i);
        committed = image(db);
        const auto end = header_size(journal) + d.journal_bytes();
        scoped_file_ops inject(faulty());
        SECTION("fallocate: the disk is full") {
            fail_fallocate_with = ENOSPC;
            CHECK_THROWS_WITH(mixed_commit(db, 3),
                              Catch::StartsWith("journal '" + journal.string() + "': cannot allocate ") &&
                                  Catch::Contains("at byte " + std::to_string(end)) &&
                                  Catch::Contains(std::strerror(ENOSPC)));
            CHECK(fs::file_size(journal) == end);
        }
        SECTION("the fsync of the file's new size") {
            fail_fsync_after = 0;
            CHECK_THROWS_WITH(mixed_commit(db, 3), Catch::Contains("fsync failed after allocating"));
            // The allocated space may stay; it is zeros, a clean end.
        }
        SECTION("no fallocate, and the zeros written instead do not fit") {
            fail_fallocate_with = EOPNOTSUPP;
            fail_pwrite_after = 0;
            CHECK_THROWS_WITH(mixed_commit(db, 3),
                              Catch::Contains("cannot write zeros") && Catch::Contains(std::strerror(ENOSPC)));
            CHECK(fs::file_size(journal) == end);
        }
        CHECK(image(db) == committed);  // rolled back in memory
        CHECK(d.sequence() == 3);
        const auto scan = scan_file(slurp(journal));
        CHECK(scan.tail == rs::detail::journal_tail::clean);  // nothing of the refused record reached the file
        CHECK(scan.end == end);
        fail_fallocate_with = 0;
        mixed_commit(db, 3);  // the journal goes on
        committed = image(db);
    }
    CHECK(reopened(snap, journal) == committed);
}

TEST_CASE("with every_commit a record inside the space allocated ahead is synced by fdatasync alone",
          "[journal][preallocate]") {
    temp_dir dir;
    fault_reset reset;
    scoped_file_ops inject(faulty());
    const auto counts = [] { return std::tuple(fallocates.load(), fsyncs.load(), fdatasyncs.load()); };
    SECTION("every_commit: one fallocate and fsync per step, an fdatasync per commit") {
        bank db;
        rs::durable<bank> d(db, dir / "s", dir / "j", no_auto());
        const auto before = counts();
        mixed_commit(db, 0);  // the first record allocates the first step
        CHECK(counts() == std::tuple(std::get<0>(before) + 1, std::get<1>(before) + 1, std::get<2>(before) + 1));
        for (int i = 1; i < 20; ++i) mixed_commit(db, i);
        CHECK(counts() == std::tuple(std::get<0>(before) + 1, std::get<1>(before) + 1, std::get<2>(before) + 20));
        CHECK(fs::file_size(dir / "j") == (std::uint64_t{4} << 20));
    }
    SECTION("where there is no fallocate, zeros hold the space") {
        fail_fallocate_with = EOPNOTSUPP;
        auto o = no_auto();
        o.preallocate = 64 << 10;
        bank db;
        rs::durable<bank> d(db, dir / "s", dir / "j", o);
        for (int i = 0; i < 20; ++i) mixed_commit(db, i);
        CHECK(fdatasyncs == 20);
        const auto bytes = slurp(dir / "j");
        CHECK(bytes.size() == (64 << 10));
        CHECK(scan_file(bytes).zeros == bytes.size() - header_size(dir / "j") - d.journal_bytes());
    }
    SECTION("without preallocation, or with another policy, the file grows with each record") {
        for (const auto policy : {rs::sync::every_commit, rs::sync::none}) {
            fdatasyncs = fallocates = 0;
            auto o = no_auto(policy);
            o.preallocate = policy == rs::sync::every_commit ? 0 : o.preallocate;
            const auto j = dir / ("j" + std::to_string(static_cast<int>(policy)));
            bank db;
            rs::durable<bank> d(db, dir / "s", j, o);
            fsyncs = 0;  // the journal's creation synced the file and its directory
            for (int i = 0; i < 5; ++i) mixed_commit(db, i);
            CHECK(fallocates == 0);
            CHECK(fdatasyncs == 0);
            CHECK(fs::file_size(j) == header_size(j) + d.journal_bytes());
            if (policy == rs::sync::every_commit) CHECK(fsyncs == 5);
        }
    }
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
    fail_fdatasync_after = 0;
    fail_ftruncate = true;
    CHECK_THROWS_WITH(mixed_commit(db, 1), Catch::Contains("fdatasync failed"));
    fail_fdatasync_after = -1;
    fail_ftruncate = false;
    CHECK(image(db) == committed);
    CHECK_THROWS_WITH(mixed_commit(db, 1), Catch::Contains("refuses further commits"));
    CHECK(image(db) == committed);
    CHECK_THROWS_WITH(d.checkpoint(), Catch::Contains("refuses further commits"));
}

TEST_CASE("an open that fails after it took the files' contents gives the store back what it held",
          "[journal][fault]") {
    // The store holds the snapshot and the replayed records before the open
    // cuts the torn tail off; that cut fails here, and the open with it.
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    fault_reset reset;
    std::string recovered;
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        mixed_commit(db, 0);
        recovered = image(db);
        mixed_commit(db, 1);
    }
    const std::string full = slurp(journal);
    spit(journal, full.substr(0, full.size() - 3));  // the last record torn
    bank db;
    mixed_commit(db, 6);  // what the store held before the open
    const auto before = image(db);
    REQUIRE(before != recovered);
    {
        scoped_file_ops inject(faulty());
        fail_ftruncate = true;
        CHECK_THROWS_WITH((rs::durable<bank>(db, snap, journal, no_auto())),
                          Catch::Contains("cannot cut the torn tail off the journal"));
        fail_ftruncate = false;
    }
    CHECK(image(db) == before);
    mixed_commit(db, 12);  // no journal is left attached: the store writes as before
    CHECK(image(db) != before);
    rs::durable<bank> d(db, snap, journal, no_auto());
    CHECK(image(db) == recovered);
    CHECK(d.recovery().torn_tail_at.has_value());
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

namespace {

/// The writer a follower test follows: a durable pair, in a directory of
/// its own, with nothing committed yet.
struct followed_writer {
    temp_dir dir;
    fs::path snap = dir / "db.snap", journal = dir / "db.journal";
    bank db;
    rs::durable<bank> d{db, snap, journal, no_auto()};
};

}  // namespace

TEST_CASE_METHOD(followed_writer,
                 "a follower's store refuses a load, a swap of contents, a durable pair and a second follower",
                 "[journal][follower][usage]") {
    // The follower applies records on top of the contents it loaded:
    // contents replaced behind its back made it diverge from the writer.
    for (int i = 0; i < 3; ++i) mixed_commit(db, i);
    bank spare;
    rs::save(spare, dir / "empty.snap");
    bank replica;
    {
        rs::follower<bank> f(replica, snap, journal, rs::follower_options{.poll_interval = {}});
        const std::string followed = image(replica);
        REQUIRE(followed == image(db));
        CHECK_THROWS_WITH((void)rs::load(replica, dir / "empty.snap"),
                          Catch::StartsWith("relstore: this store follows a journal (relstore::follower)"));
        CHECK_THROWS_AS(replica.swap_contents(spare), rs::usage_error);
        CHECK_THROWS_AS(spare.swap_contents(replica), rs::usage_error);
        CHECK_THROWS_AS((rs::durable<bank>(replica, dir / "r.snap", dir / "r.journal", no_auto())), rs::usage_error);
        CHECK_FALSE(fs::exists(dir / "r.journal"));
        CHECK_THROWS_AS((rs::follower<bank>(replica, snap, journal, rs::follower_options{.poll_interval = {}})),
                        rs::usage_error);
        CHECK(image(replica) == followed);
        mixed_commit(db, 3);
        CHECK(f.poll() == 1);  // still following
        CHECK(image(replica) == image(db));
    }
    // Once the follower is gone, the store is the application's again.
    (void)rs::load(replica, dir / "empty.snap");
    CHECK(image(replica) == image(spare));
}

TEST_CASE_METHOD(followed_writer,
                 "a follower keeps its journal when the name is removed, and reports a name that holds no journal",
                 "[journal][follower][errors]") {
    for (int i = 0; i < 3; ++i) mixed_commit(db, i);
    bank replica;
    rs::follower<bank> f(replica, snap, journal, rs::follower_options{.poll_interval = {}});
    fs::remove(journal);  // the writer and the follower still have the file open
    mixed_commit(db, 3);
    SECTION("no file under the name: the follower reads on from the file it has open") {
        CHECK(f.poll() == 1);
        CHECK(image(replica) == image(db));
        mixed_commit(db, 4);
        CHECK(f.poll() == 1);
        CHECK(image(replica) == image(db));
    }
    SECTION("a directory under the name: the poll applies what its file had, then fails naming the read") {
        fs::create_directory(journal);
        CHECK_THROWS_WITH(f.poll(), Catch::StartsWith("journal '" + journal.string() + "'") &&
                                        Catch::Contains("read failed at byte 0"));
        CHECK(image(replica) == image(db));  // commit 3, from the file it had open, is applied
        CHECK(f.sequence() == 4);
        CHECK_THROWS_WITH(f.poll(), Catch::Contains("read failed at byte 0"));  // every poll, until the name is mended
        fs::remove(journal);
        mixed_commit(db, 4);
        CHECK(f.poll() == 1);
        CHECK(image(replica) == image(db));
    }
    SECTION("a file that is no journal under the name") {
        spit(journal, "these bytes are text, not a relstore journal");
        CHECK_THROWS_WITH(f.poll(), Catch::StartsWith("journal '" + journal.string() + "'"));
        CHECK(image(replica) == image(db));
    }
}

TEST_CASE_METHOD(followed_writer, "a follower applies the writer's records, across checkpoints",
                 "[journal][follower]") {
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

TEST_CASE("a follower follows a writer into the space allocated ahead, across steps and checkpoints",
          "[journal][follower][preallocate]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    auto o = no_auto();
    o.preallocate = 64 << 10;  // small steps: the writer allocates again while the follower reads
    bank db;
    rs::durable<bank> d(db, snap, journal, o);
    mixed_commit(db, 0);
    bank replica;
    rs::follower<bank> f(replica, snap, journal, {.poll_interval = std::chrono::milliseconds(0)});
    CHECK(image(replica) == image(db));
    const auto header = header_size(journal);
    const auto zeros_ahead = [&] { return fs::file_size(journal) > header + d.journal_bytes(); };
    // A record larger than the follower's read window (256 KiB) and the step.
    const auto big = [&](const std::string& name) {
        auto tx = db.write();
        tx.insert(Account{0, name, 0, std::string(300 << 10, 'b')});
        tx.commit();
    };
    int n = 1;  // mixed_commit's variations go on from commit to commit
    for (int round = 0; round < 3; ++round) {
        INFO("round " << round);
        for (int i = 1; i < 40; ++i) {
            mixed_commit(db, n++);
            if (i % 7 == 0) {
                CHECK(zeros_ahead());
                f.poll();  // reads up to the zeros, and no further
                CHECK(f.sequence() == d.sequence());
            }
        }
        big("big" + std::to_string(round));
        CHECK(zeros_ahead());
        f.poll();
        CHECK(f.sequence() == d.sequence());
        CHECK(image(replica) == image(db));
        d.checkpoint();  // the new journal starts without space ahead; its first record allocates
        big("after checkpoint" + std::to_string(round));
        mixed_commit(db, n++);
        f.poll();
        CHECK(f.reloads() == 0);  // continued in the new journal, not loaded again
        CHECK(f.sequence() == d.sequence());
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
        fail_fdatasync_after = 0;
        CHECK_THROWS(mixed_commit(db, 1));
        fail_fdatasync_after = -1;
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

namespace {

/// The journal's records as (offset, sequence number, payload bytes).
struct raw_record {
    std::uint64_t offset = 0, seq = 0;
    std::string payload;
};
std::vector<raw_record> raw_records(const std::string& bytes) {
    const std::span<const std::byte> b(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    const auto h = rs::detail::parse_journal_header(b, "scanned");
    std::vector<raw_record> out;
    for (const auto& r : rs::detail::scan_records(b.subspan(h.size), h.size, h.first_seq, 1, true).records)
        out.push_back({r.offset, r.seq, std::string(reinterpret_cast<const char*>(r.payload.data()), r.payload.size())});
    return out;
}

/// bytes with the record at r.offset replaced by payload, framed and checksummed as a writer would.
std::string with_payload(std::string bytes, const raw_record& r, const std::string& payload) {
    rs::detail::record_buffer buf;
    rs::detail::begin_record(buf);
    for (const char c : payload) buf.put_u8(static_cast<std::uint8_t>(c));
    rs::detail::finish_record(buf, r.seq);
    REQUIRE(buf.size() == 32 + r.payload.size());
    std::memcpy(bytes.data() + r.offset, buf.data(), buf.size());
    return bytes;
}

/// The columns each update of a journal carries, per record (the tool's decoder).
std::vector<std::vector<bool>> update_columns(const fs::path& journal) {
    const auto bytes = rs::detail::read_journal_file(journal);
    const auto h = rs::detail::parse_journal_header(bytes, journal.string());
    const auto schema = rs::snapshot_reader(h.schema, "schema").schema();
    std::vector<std::vector<bool>> out;
    const std::span<const std::byte> b(bytes);
    for (const auto& r : rs::detail::scan_records(b.subspan(h.size), h.size, h.first_seq, 1, true).records) {
        if (r.kind() != rs::detail::record_kind::transaction) continue;
        for (const auto& t : rs::detail::decode_transaction(r, schema, journal.string()))
            for (const auto& cols : t.updated_columns) out.push_back(cols);
    }
    return out;
}

std::function<void()> during_pwrite;
file_ops calling_during_pwrite() {
    file_ops ops = real;
    ops.pwrite = [](int fd, const void* b, size_t n, off_t off) -> ssize_t {
        if (during_pwrite) std::exchange(during_pwrite, nullptr)();
        return real.pwrite(fd, b, n, off);
    };
    return ops;
}

}  // namespace

TEST_CASE("an update's record carries its key and the columns it changed, and replays exactly", "[journal][format]") {
    temp_dir dir;
    const auto snap = dir / "s", journal = dir / "j";
    bank db;
    {
        rs::durable<bank> d(db, snap, journal, no_auto(rs::sync::none));
        {
            auto tx = db.write();
            for (int i = 0; i < 100; ++i)
                tx.insert(Account{0, "a" + std::to_string(i), i, std::string(500, 'n')});
            tx.insert(Tag{1, "t", 0.5});
            tx.commit();
        }
        const auto before = d.journal_bytes();
        {
            auto tx = db.write();
            for (const auto& a : tx.all<accounts>()) tx.set<&Account::balance>(a, a.balance * 2 + 1);
            tx.commit();
        }
        // 100 updates of one integer column: key, mask and cell each, none of the 500-byte notes.
        CHECK(d.journal_bytes() - before < 100 * 32);
        {
            auto tx = db.write();
            tx.set<&Account::name>(tx.get<accounts>(1), "renamed");     // through the unique index
            tx.set<&Account::note>(tx.get<accounts>(2), std::nullopt);  // to null
            tx.set<&Account::balance>(tx.get<accounts>(3), 7);
            tx.set<&Account::balance>(tx.get<accounts>(3), 6);  // set twice: one update, of the last value
            tx.update(tx.get<tags>(1, "t"), [](Tag& t) { t.w = 2.5; });  // a composite key
            tx.commit();
        }
    }
    const auto cols = update_columns(journal);
    REQUIRE(cols.size() == 104);
    CHECK(cols[0] == std::vector<bool>{true, false, true, false});   // id, balance
    CHECK(cols[100] == std::vector<bool>{true, true, false, false});  // id, name
    CHECK(cols[101] == std::vector<bool>{true, false, false, true});  // id, note
    CHECK(cols[103] == std::vector<bool>{true, true, true});          // a, b (the key), w
    const auto replayed = reopened(snap, journal);
    CHECK(replayed == image(db));
    bank check;
    rs::durable<bank> d(check, snap, journal, no_auto());
    auto q = check.read();
    CHECK(q.get<accounts>(1).name == "renamed");
    CHECK(q.get<accounts>(1).note == std::string(500, 'n'));
    CHECK(!q.get<accounts>(2).note);
    CHECK(q.get<accounts>(3).balance == 6);
    CHECK(q.get<accounts>(50).balance == 99);
    CHECK(q.get<tags>(1, "t").w == 2.5);
}

TEST_CASE("a subscriber added while a journal-only commit is in flight takes part from the next commit",
          "[journal][format]") {
    temp_dir dir;
    bank db;
    rs::durable<bank> d(db, dir / "s", dir / "j", no_auto(rs::sync::none));
    {
        auto tx = db.write();
        tx.insert(Account{0, "a", 1, std::nullopt});
        tx.commit();
    }
    int calls = 0;
    std::int64_t old_balance = -1;
    std::optional<rs::subscription> sub;
    during_pwrite = [&] {  // nobody subscribed when this commit began: its change set has no old values
        sub.emplace(db.subscribe([&](const rs::changes<bank>& c) {
            ++calls;
            for (const auto& u : c.updated<accounts>()) old_balance = u.old().balance;
        }));
    };
    {
        scoped_file_ops inject(calling_during_pwrite());
        auto tx = db.write();
        tx.set<&Account::balance>(tx.get<accounts>(1), 2);
        tx.commit();
    }
    REQUIRE(sub);
    CHECK(calls == 0);
    {
        auto tx = db.write();
        tx.set<&Account::balance>(tx.get<accounts>(1), 3);
        tx.commit();
    }
    CHECK(calls == 1);
    CHECK(old_balance == 2);
}

TEST_CASE("a column-only update with unknown flags, a key column, no column or a column past the row is refused",
          "[journal][format][corrupt]") {
    temp_dir dir;
    const auto snap = dir / "s", journal = dir / "j";
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto(rs::sync::none));
        {
            auto tx = db.write();
            tx.insert(Account{0, "a", 1, std::nullopt});
            tx.commit();
        }
        auto tx = db.write();
        tx.set<&Account::balance>(tx.get<accounts>(1), 2);
        tx.commit();
    }
    const std::string good = slurp(journal);
    const auto records = raw_records(good);
    REQUIRE(records.size() == 2);
    const auto& r = records[1];
    // Payload: kind u8, tables u32, table u32, flags u8 (at 9), erased u64,
    // updated u64, then the update: the key cell, the mask (one byte for 4 columns), the cell.
    constexpr std::size_t flags_at = 9;
    const std::size_t mask_at = 26 + rs::detail::cell_size(std::int64_t{1});
    REQUIRE(static_cast<std::uint8_t>(r.payload[flags_at]) == 2);
    REQUIRE(static_cast<std::uint8_t>(r.payload[mask_at]) == 0b0100);  // balance
    const auto refused = [&](std::size_t at, std::uint8_t byte, const std::string& msg) {
        std::string payload = r.payload;
        payload[at] = static_cast<char>(byte);
        spit(journal, with_payload(good, r, payload));
        const std::string where =
            "journal '" + journal.string() + "' record 2 at byte " + std::to_string(r.offset + 24 + at) + ": " + msg;
        bank db;
        CHECK_THROWS_WITH((rs::durable<bank>(db, snap, journal, no_auto())), Catch::Contains(where));
        CHECK(db.read().count<accounts>() == 0);  // nothing loaded
        CHECK(slurp(journal) == with_payload(good, r, payload));  // nor the file touched
#ifdef RELSTORE_CLI
        const auto [rc, out] = relstore::test::run_cli("journal verify " + journal.string());
        CHECK(rc == 1);
        CHECK_THAT(out, Catch::Contains("record 2 at byte " + std::to_string(r.offset + 24 + at)) &&
                            Catch::Contains(msg));
#endif
    };
    SECTION("unknown flags") { refused(flags_at, 6, "unknown flags 6 for table 'accounts'"); }
    SECTION("a key column") { refused(mask_at, 0b0101, "an update of table 'accounts' names a key column"); }
    SECTION("no column") { refused(mask_at, 0, "an update of table 'accounts' changes no column"); }
    SECTION("a column past the row") { refused(mask_at, 0b10100, "an update of table 'accounts' names column 4 of 4"); }
    SECTION("the record as written replays") {
        spit(journal, good);
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        CHECK(db.read().get<accounts>(1).balance == 2);
    }
}

TEST_CASE("a version-1 journal from an earlier build recovers, grows in version 1 and becomes version 2 at a checkpoint",
          "[journal][format]") {
    // data/v1_mixed.journal: written by relstore at commit cece5b6 (format
    // version 1, whose updates carry whole rows), by mixed_commit(db, i) for
    // i = 0..23 through a durable<bank> with sync::none on an empty store.
    temp_dir dir;
    const auto snap = dir / "v1.snap", journal = dir / "v1.journal";
    fs::copy_file(fs::path(RELSTORE_TEST_DATA) / "v1_mixed.journal", journal);
    const auto version = [&] {
        return rs::detail::parse_journal_header(rs::detail::read_journal_file(journal), journal.string()).version;
    };
    REQUIRE(version() == 1);
    const std::size_t v1_updates = update_columns(journal).size();
    REQUIRE(v1_updates > 0);
    bank expected;
    for (int i = 0; i < 24; ++i) mixed_commit(expected, i);
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto(rs::sync::none));
        CHECK(d.recovery().transactions_replayed == 24);
        CHECK(image(db) == image(expected));
        for (int i = 24; i < 36; ++i) {
            mixed_commit(db, i);
            mixed_commit(expected, i);
        }
    }
    // Appended to a version-1 file, records stay version 1: whole rows.
    CHECK(version() == 1);
    const auto cols = update_columns(journal);
    CHECK(cols.size() > v1_updates);
    CHECK(std::ranges::all_of(cols, [](const auto& c) { return std::ranges::all_of(c, [](bool b) { return b; }); }));
    CHECK(reopened(snap, journal) == image(expected));
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto(rs::sync::none));
        d.checkpoint();
        mixed_commit(db, 37);  // updates every account: column-only from here
        mixed_commit(expected, 37);
    }
    CHECK(version() == 2);
    const auto after = update_columns(journal);
    REQUIRE(!after.empty());
    CHECK(std::ranges::all_of(after, [](const auto& c) { return c == std::vector<bool>{true, false, true, true}; }));
    CHECK(reopened(snap, journal) == image(expected));
}

#ifdef RELSTORE_CLI
using relstore::test::run_cli;

TEST_CASE("relstore journal info, verify and dump show records, the snapshot followed and a torn tail",
          "[journal][cli]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    std::uint64_t good_end = 0, second_end = 0;
    std::string open_copy;  // with the zeros allocated ahead, as a crash leaves it
    {
        bank db;
        rs::durable<bank> d(db, snap, journal, no_auto());
        mixed_commit(db, 0);
        d.checkpoint();
        const auto header = header_size(journal);
        mixed_commit(db, 1);
        second_end = header + d.journal_bytes();
        mixed_commit(db, 3);
        good_end = header + d.journal_bytes();
        open_copy = slurp(journal);
    }
    const std::string j = journal.string();
    {
        const auto copy = dir / "copy.journal";
        spit(copy, open_copy);
        const auto ahead = std::to_string(open_copy.size() - good_end);
        const auto [rc, out] = run_cli("journal info " + copy.string());
        CHECK(rc == 0);
        CHECK_THAT(out, Catch::Contains("records:        3 (2 transactions") &&
                            Catch::Contains("allocated ahead " + ahead + ")") &&
                            Catch::Contains("tail:           clean (the last record is followed by " + ahead +
                                            " zero bytes the writer allocated ahead)"));
        const auto [vrc, vout] = run_cli("journal verify " + copy.string());
        CHECK(vrc == 0);
        CHECK_THAT(vout, Catch::Contains("ok: ") && Catch::Contains("3 records") &&
                             Catch::Contains(ahead + " zero bytes allocated ahead") && !Catch::Contains("torn"));
    }
    {
        const auto [rc, out] = run_cli("journal info " + j);
        CHECK(rc == 0);
        CHECK_THAT(out, Catch::Contains("format version: 2\n") &&
                            Catch::Contains("follows:        the snapshot with checksum 0x") &&
                            Catch::Contains("records:        3 (2 transactions, 1 checkpoint marks), sequence 2..4") &&
                            Catch::Contains("tail:           clean"));
    }
    {
        const auto [rc, out] = run_cli("journal dump " + j);
        CHECK(rc == 0);
        CHECK_THAT(out, Catch::Contains("record 1 (sequence 2)") && Catch::Contains("checkpoint: the snapshot") &&
                            Catch::Contains("~ accounts {\"id\": 1, \"balance\": 1, \"note\": \"n1\"}\n") &&
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

TEST_CASE("relstore journal info and dump read a version-1 journal: its version, and updates as whole rows",
          "[journal][cli][format]") {
    const std::string v1 = (fs::path(RELSTORE_TEST_DATA) / "v1_mixed.journal").string();
    const auto [rc, out] = run_cli("journal info " + v1);
    CHECK(rc == 0);
    CHECK_THAT(out, Catch::Contains("format version: 1\n") && Catch::Contains("follows:        no snapshot"));
    const auto [drc, dout] = run_cli("journal dump " + v1);
    CHECK(drc == 0);
    // mixed_commit(db, 1): a set() of balance and note, recorded then as the whole row.
    CHECK_THAT(dout, Catch::Contains("~ accounts {\"id\": 1, \"name\": \"acct0\", \"balance\": 1, \"note\": \"n1\"}"));
}
#endif

// As without the fsync: a usage_error, never a wait for itself.
TEST_CASE("a subscriber of an every_commit commit cannot read, write, save or checkpoint its store",
          "[journal][usage][subscribe]") {
    temp_dir dir;
    bank db;
    std::optional<rs::durable<bank>> d;
    d.emplace(db, dir / "s", dir / "j", no_auto(rs::sync::every_commit));
    std::function<void()> verb;
    std::string what;
    int calls = 0;
    auto sub = db.subscribe([&](const rs::changes<bank>&) {
        if (++calls != 1) return;
        try {
            verb();
        } catch (const rs::usage_error& e) {
            what = e.what();
            throw;
        }
    });
    SECTION("read") { verb = [&] { (void)db.read(); }; }
    SECTION("write") { verb = [&] { auto tx = db.write(); }; }
    SECTION("save") { verb = [&] { rs::save(db, dir / "other"); }; }
    SECTION("checkpoint") { verb = [&] { d->checkpoint(); }; }
    relstore_test::returns_within(std::chrono::seconds(60), "a commit whose subscriber reads the store", [&] {
        auto tx = db.write();
        tx.insert(Account{0, "a", 1, std::nullopt});
        CHECK_THROWS_AS(tx.commit(), rs::usage_error);
    });
    CHECK_THAT(what, Catch::Contains("holds the store"));
    CHECK(calls == 1);
    // The commit stays, durably: the next one goes on, and both are in the journal.
    {
        auto tx = db.write();
        tx.insert(Account{0, "b", 2, std::nullopt});
        tx.commit();
    }
    const std::string now = image(db);
    d.reset();
    CHECK(reopened(dir / "s", dir / "j") == now);
    CHECK(db.read().count<accounts>() == 2);
}

}  // namespace journal_test
