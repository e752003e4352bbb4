// Opening a durable pair with each of its I/O calls failing in turn: an open
// that fails leaves the store and every file of the directory exactly as
// they were (before, a fresh pair's first snapshot stayed behind, and an
// interrupted checkpoint's files were removed before a later step failed).
#include "bank.hpp"

#include <relstore/detail/snapshot_file_ops.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

using namespace jt;
using relstore::detail::file_ops;
using relstore::detail::scoped_file_ops;

namespace {

std::atomic<int> calls{0};
std::atomic<int> fail_at{-1};
const pid_t test_process = ::getpid();
const file_ops real = rs::detail::system_file_ops();

/// True for the one call that is to fail, with errno set. Counted in this
/// process only: a save's forked child has its own copy of the counter, and
/// failing there too would make two failures of one open.
bool fails(int err) {
    if (::getpid() != test_process) return false;
    if (calls++ != fail_at.load()) return false;
    errno = err;
    return true;
}

/// Every call through detail::file_ops, each able to fail.
file_ops counted() {
    file_ops ops = real;
    ops.open = [](const char* p, int flags, mode_t mode) { return fails(EIO) ? -1 : real.open(p, flags, mode); };
    ops.read = [](int fd, void* b, size_t n) -> ssize_t { return fails(EIO) ? -1 : real.read(fd, b, n); };
    ops.pread = [](int fd, void* b, size_t n, off_t at) -> ssize_t { return fails(EIO) ? -1 : real.pread(fd, b, n, at); };
    ops.pwrite = [](int fd, const void* b, size_t n, off_t at) -> ssize_t {
        return fails(ENOSPC) ? -1 : real.pwrite(fd, b, n, at);
    };
    ops.fsync = [](int fd) { return fails(EIO) ? -1 : real.fsync(fd); };
    ops.fdatasync = [](int fd) { return fails(EIO) ? -1 : real.fdatasync(fd); };
    ops.close = [](int fd) {
        if (!fails(EIO)) return real.close(fd);
        (void)real.close(fd);  // as Linux does: the descriptor is gone even when close reports an error
        errno = EIO;
        return -1;
    };
    ops.rename = [](const char* from, const char* to) { return fails(EIO) ? -1 : real.rename(from, to); };
    ops.unlink = [](const char* p) { return fails(EIO) ? -1 : real.unlink(p); };
    ops.fstat = [](int fd, struct stat* st) { return fails(EIO) ? -1 : real.fstat(fd, st); };
    ops.ftruncate = [](int fd, off_t len) { return fails(EIO) ? -1 : real.ftruncate(fd, len); };
    ops.fallocate = [](int fd, off_t at, off_t len) { return fails(EIO) ? -1 : real.fallocate(fd, at, len); };
    return ops;
}

/// A directory's files and their bytes, to put back before each attempt.
std::vector<std::pair<std::string, std::string>> raw_files(const fs::path& dir) {
    std::vector<std::pair<std::string, std::string>> v;
    for (const auto& e : fs::directory_iterator(dir)) v.emplace_back(e.path().filename().string(), slurp(e.path()));
    return v;
}

void put_back(const fs::path& dir, const std::vector<std::pair<std::string, std::string>>& files) {
    for (const auto& e : fs::directory_iterator(dir)) fs::remove(e.path());
    for (const auto& [name, bytes] : files) spit(dir / name, bytes);
}

/// The bytes a journal's header takes (its records start there).
std::uint64_t header_size_of(const std::string& bytes) {
    const std::span<const std::byte> b(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size());
    return rs::detail::parse_journal_header(b, "journal").size;
}

/// The names whose bytes differ between two listings of contents_of.
std::string differences(const std::vector<std::pair<std::string, std::string>>& a,
                        const std::vector<std::pair<std::string, std::string>>& b) {
    const auto find = [](const auto& v, const std::string& name) {
        return std::find_if(v.begin(), v.end(), [&](const auto& e) { return e.first == name; });
    };
    std::string out;
    for (const auto& e : a) {
        const auto it = find(b, e.first);
        if (it == b.end()) out += " " + e.first + " is gone;";
        else if (it->second != e.second)
            out += " " + e.first + " changed (" + std::to_string(e.second.size()) + " -> " +
                   std::to_string(it->second.size()) + " bytes);";
    }
    for (const auto& e : b)
        if (find(a, e.first) == a.end()) out += " " + e.first + " is new;";
    return out;
}

struct outcome {
    int calls = 0;   // I/O calls of an open (and close) that nothing failed
    int failed = 0;  // opens that failed, one per call made to fail
};

/// Opens the pair once with no failure, to count its calls, then once for
/// each of them failing. Each failed open must leave the store and the
/// directory as they were; each open that still succeeds (the failure was
/// one it can do without) must have loaded what the clean open loaded.
/// Before each attempt the directory is put back as it was found.
outcome open_with_each_call_failing(const fs::path& dir, const rs::durable_options& o,
                                    const std::function<void(bank&)>& fill) {
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    const auto files = raw_files(dir);
    const auto before = contents_of(dir);
    outcome out;
    std::string opened;
    {
        bank db;
        fill(db);
        scoped_file_ops inject(counted());
        calls = 0;
        fail_at = -1;
        { rs::durable<bank> d(db, snap, journal, o); }
        out.calls = calls;
        opened = image(db);
    }
    for (int k = 0; k < out.calls; ++k) {
        put_back(dir, files);
        bank db;
        fill(db);
        const auto held = image(db);
        std::string error;
        {
            scoped_file_ops inject(counted());
            calls = 0;
            fail_at = k;
            try {
                rs::durable<bank> d(db, snap, journal, o);
            } catch (const rs::snapshot_error& e) {
                error = e.what();
            }
            fail_at = -1;
        }
        INFO("call " << k << " of " << out.calls << " failed: " << (error.empty() ? "the open succeeded" : error));
        if (error.empty()) {
            CHECK(image(db) == opened);
            continue;
        }
        ++out.failed;
        CHECK(image(db) == held);
        const auto after = contents_of(dir);
        INFO("the directory:" << differences(before, after));
        CHECK(after == before);
    }
    put_back(dir, files);
    return out;
}

/// A pair with `commits` records, closed.
void make_pair(const fs::path& dir, int commits, rs::durable_options o = no_auto()) {
    bank db;
    rs::durable<bank> d(db, dir / "db.snap", dir / "db.journal", o);
    for (int i = 0; i < commits; ++i) mixed_commit(db, i);
}

}  // namespace

TEST_CASE("an open that fails at any of its I/O calls leaves the store and every file as they were",
          "[journal][fault]") {
    temp_dir dir;
    const auto fill_other = [](bank& db) { mixed_commit(db, 6); };  // a store holding something else
    outcome r;
    SECTION("a fresh pair of a store with rows: its first snapshot and its journal") {
        // The snapshot of the store's rows stayed when the journal could not be made.
        r = open_with_each_call_failing(dir.path, no_auto(), fill_other);
    }
    SECTION("a fresh pair of an empty store: its journal") {
        r = open_with_each_call_failing(dir.path, no_auto(), [](bank&) {});
    }
    SECTION("a snapshot with no journal") {
        {
            bank src;
            for (int i = 0; i < 4; ++i) mixed_commit(src, i);
            rs::save(src, dir / "db.snap");
        }
        r = open_with_each_call_failing(dir.path, no_auto(), fill_other);
    }
    SECTION("a journal with a torn tail, and an interrupted checkpoint's files") {
        // The checkpoint's files were removed before the cut of the tail failed.
        make_pair(dir.path, 5);
        const auto j = dir / "db.journal";
        const std::string full = slurp(j);
        spit(j, full.substr(0, full.size() - 3));
        spit(dir / "db.snap.new", "the snapshot of a checkpoint that did not finish");
        spit(dir / "db.journal.new", "the journal of a checkpoint that did not finish");
        r = open_with_each_call_failing(dir.path, no_auto(), fill_other);
    }
    SECTION("a journal damaged in the middle, recovered to its last good record, next to an earlier damaged part") {
        // The damaged part was saved, then the cut failed: the copy stayed,
        // and the next recovery saved it over the earlier one.
        std::vector<std::uint64_t> ends;
        {
            bank db;
            rs::durable<bank> d(db, dir / "db.snap", dir / "db.journal", no_auto());
            for (int i = 0; i < 4; ++i) {
                mixed_commit(db, i);
                ends.push_back(d.journal_bytes());
            }
        }
        const auto j = dir / "db.journal";
        std::string bytes = slurp(j);
        bytes[header_size_of(bytes) + ends[1] + 20] ^= 0x08;  // inside the third of four records
        spit(j, bytes);
        spit(dir / "db.journal.damaged", "what an earlier recovery cut off");
        auto o = no_auto();
        o.recover_to_last_good = true;
        r = open_with_each_call_failing(dir.path, o, fill_other);
    }
    INFO(r.calls << " calls");
    CHECK(r.calls > 4);
    CHECK(r.failed > 0);
}

TEST_CASE("a recovery from damage keeps the damaged part an earlier recovery saved", "[journal][corrupt]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    auto o = no_auto();
    o.recover_to_last_good = true;
    std::vector<std::string> saved;
    for (int round = 0; round < 3; ++round) {
        std::uint64_t good_end = 0;
        {
            bank db;
            rs::durable<bank> d(db, snap, journal, o);
            // Inserts under new names: each commit makes a record.
            mixed_commit(db, 6 * (3 * round));
            good_end = d.journal_bytes();
            mixed_commit(db, 6 * (3 * round + 1));
            mixed_commit(db, 6 * (3 * round + 2));
        }
        std::string bytes = slurp(journal);
        const std::uint64_t header = header_size_of(bytes);
        bytes[header + good_end + 9] ^= 0x40;  // the second record of this round; the third follows it
        spit(journal, bytes);
        bank db;
        rs::durable<bank> d(db, snap, journal, o);
        REQUIRE(d.recovery().damaged_record.has_value());
        const fs::path expected = round == 0 ? dir / "db.journal.damaged"
                                             : dir / ("db.journal.damaged." + std::to_string(round));
        CHECK(d.recovery().damaged_file == expected);
        CHECK(slurp(expected) == bytes.substr(header + good_end));
        saved.push_back(slurp(expected));
    }
    // Each round's part is still there, unchanged.
    CHECK(slurp(dir / "db.journal.damaged") == saved[0]);
    CHECK(slurp(dir / "db.journal.damaged.1") == saved[1]);
    CHECK(saved[0] != saved[1]);
}
