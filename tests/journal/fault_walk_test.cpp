// Each I/O call of an operation failing in turn, through detail::file_ops:
// - opening a durable pair: an open that fails leaves the store and every
//   file of the directory exactly as they were (before, a fresh pair's first
//   snapshot stayed behind, and an interrupted checkpoint's files were
//   removed before a later step failed);
// - a checkpoint: no commit is lost and no temporary file left (before, a
//   failed open of the new journal after its rename left the writer
//   appending to the replaced file: acknowledged commits lost on reopening);
// - a save: the previous snapshot stays, or the whole new one is in place;
// - a follower's poll and open: a poll that returns has read everything,
//   one that throws applied whole transactions only, and the next poll
//   catches up (before, a failed read ended a poll as if the journal ended).
#include "bank.hpp"
#include "thread_starts.hpp"

#include <relstore/detail/snapshot_file_ops.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

namespace fault_walk_test {

using namespace jt;
using relstore::detail::file_ops;
using relstore::detail::scoped_file_ops;

namespace {

/// The call counter and the call to fail, in memory shared with the
/// children a save forks: their calls are numbered with the test process's,
/// so that one call of an operation fails, in whichever process it is made.
/// The order is the same each time: the parent waits while its child works.
struct counters {
    std::atomic<int> calls{0};
    std::atomic<int> fail_at{-1};
};
counters& shared_counters() {
    static counters* c = [] {
        void* p = ::mmap(nullptr, sizeof(counters), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) std::abort();
        return new (p) counters;
    }();
    return *c;
}
std::atomic<int>& calls = shared_counters().calls;
std::atomic<int>& fail_at = shared_counters().fail_at;
const file_ops real = rs::detail::system_file_ops();

/// True for the one call that is to fail, with errno set.
bool fails(int err) {
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
    ops.stat = [](const char* p, struct stat* st) { return fails(EIO) ? -1 : real.stat(p, st); };
    return ops;
}

/// What one run of an operation with call `fail` failing (-1: none) did.
struct run {
    std::string error;  // what it threw; empty when it returned
    int calls = 0;      // the I/O calls it made
};

/// Runs op with every call through detail::file_ops counted, and call
/// `fail` failing.
run with_call_failing(int fail, const std::function<void()>& op) {
    scoped_file_ops inject(counted());
    calls = 0;
    fail_at = fail;
    run out;
    try {
        op();
    } catch (const rs::snapshot_error& e) {
        out.error = e.what();
    }
    fail_at = -1;
    out.calls = calls;
    return out;
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
        const run clean = with_call_failing(-1, [&] { rs::durable<bank> d(db, snap, journal, o); });
        REQUIRE(clean.error.empty());
        out.calls = clean.calls;
        opened = image(db);
    }
    for (int k = 0; k < out.calls; ++k) {
        put_back(dir, files);
        bank db;
        fill(db);
        const auto held = image(db);
        const std::string error = with_call_failing(k, [&] { rs::durable<bank> d(db, snap, journal, o); }).error;
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
        bytes[header_size(j) + ends[1] + 20] ^= 0x08;  // inside the third of four records
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
        const std::uint64_t header = header_size(journal);
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
    SECTION("with every name taken, the open is refused and changes nothing") {
        std::uint64_t good_end = 0;
        {
            bank db;
            rs::durable<bank> d(db, snap, journal, o);
            good_end = d.journal_bytes();
            mixed_commit(db, 600);
            mixed_commit(db, 606);
        }
        std::string bytes = slurp(journal);
        bytes[header_size(journal) + good_end + 9] ^= 0x40;
        spit(journal, bytes);
        for (int n = 2; n <= 1000; ++n) spit(dir / ("db.journal.damaged." + std::to_string(n)), "taken");
        const auto before = contents_of(dir.path);
        bank db;
        CHECK_THROWS_WITH((rs::durable<bank>(db, snap, journal, o)), Catch::Contains("no free name for the damaged part"));
        CHECK(contents_of(dir.path) == before);
        CHECK(image(db) == image(bank{}));
    }
}

TEST_CASE("a checkpoint that fails at any of its I/O calls loses no commit, before or after it",
          "[journal][fault][checkpoint]") {
    // The checkpoint's own save runs in a forked child, whose calls are
    // walked as the parent's are (the snapshot's writes and syncs; the
    // rename of the snapshot, the new journal's creation, rename and open,
    // the directory syncs).
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    make_pair(dir.path, 5);
    const auto files = raw_files(dir.path);
    const auto attempt = [&](int fail) {
        put_back(dir.path, files);
        bank db;
        std::optional<rs::durable<bank>> d(std::in_place, db, snap, journal, no_auto());
        mixed_commit(db, 5);
        const auto [error, made] = with_call_failing(fail, [&] { d->checkpoint(); });
        INFO("call " << fail << " failed: " << (error.empty() ? "the checkpoint succeeded" : error));
        // The store goes on (or, where a crash could lose what it appends,
        // refuses every commit), and every commit it acknowledged, before the
        // checkpoint and after it, is in the pair.
        for (int i : {6, 7}) {
            try {
                mixed_commit(db, i);
            } catch (const rs::snapshot_error& e) {
                CHECK_THAT(e.what(), Catch::Contains("refuses further commits"));
                CHECK_THAT(error, Catch::Contains("directory"));
            }
        }
        const auto committed = image(db);
        d.reset();
        for (const auto& e : fs::directory_iterator(dir.path)) {  // no temporary file left behind
            const auto name = e.path().filename().string();
            CHECK((name == "db.snap" || name == "db.journal" || name.ends_with(".lock")));
        }
        CHECK(reopened(snap, journal) == committed);
        return std::pair{made, !error.empty()};
    };
    const int total = attempt(-1).first;
    REQUIRE(total > 3);
    int failed = 0;
    for (int k = 0; k < total; ++k) failed += attempt(k).second ? 1 : 0;
    CHECK(failed > 0);
}

TEST_CASE("a save that fails at any of its I/O calls leaves the previous snapshot, and no other file",
          "[journal][fault][save]") {
    // In a forked child (the default), and on this thread and its writer
    // thread (in_child_process = false). Once the new snapshot is renamed
    // into place (only the directory's fsync can fail then), it is whole.
    temp_dir dir;
    const auto snap = dir / "db.snap";
    {
        bank before;
        for (int i = 0; i < 3; ++i) mixed_commit(before, i);
        rs::save(before, snap);
    }
    const std::string old_bytes = slurp(snap);
    bank db;
    for (int i = 0; i < 12; ++i) mixed_commit(db, i);
    rs::save_options o;
    SECTION("in a forked child") {
        o.in_child_process = true;
    }
    SECTION("in this process") {
        o.in_child_process = false;
    }
    const auto attempt = [&](int fail) {
        spit(snap, old_bytes);
        const auto [error, made] = with_call_failing(fail, [&] { rs::save(db, snap, o); });
        INFO("call " << fail << " failed: " << (error.empty() ? "the save succeeded" : error));
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(dir.path)) names.push_back(e.path().filename().string());
        CHECK(names == std::vector<std::string>{"db.snap"});
        bank back;
        (void)rs::load(back, snap);
        if (error.empty() || error.find("is in place") != std::string::npos)
            CHECK(image(back) == image(db));
        else
            CHECK(slurp(snap) == old_bytes);
        return std::pair{made, !error.empty()};
    };
    const int total = attempt(-1).first;
    REQUIRE(total > 3);
    int failed = 0;
    for (int k = 0; k < total + 2; ++k) failed += attempt(k).second ? 1 : 0;  // +2: the writer thread's calls vary
    CHECK(failed > 0);
}

namespace {

/// What a follower saw of one poll with one call failing, then of a poll
/// with none.
struct poll_attempt {
    int calls = 0;          // I/O calls of the first poll
    std::string error;      // what it threw, if it did
    bool prefix = false;    // after it, the replica held the writer's state after one of its commits
    bool first_caught_up = false;  // after it, the replica held the writer's last state
    bool caught_up = false; // after the second poll, the replica held the writer's last state
    int notified = 0;       // transactions the replica's subscriber was told of, both polls
    std::uint64_t reloads = 0;
};

/// Makes the writer's commits (commit(i): mixed_commit i) and checkpoints.
using writer_steps = std::function<void(const std::function<void(int)>& commit, rs::durable<bank>&)>;

/// A writer makes commits 0..2, a follower opens on its files, the writer
/// makes `more`, then the follower polls with call `fail` failing, and
/// polls again with none.
poll_attempt poll_with_call_failing(int fail, const writer_steps& more) {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    bank w;
    rs::durable<bank> d(w, snap, journal, no_auto());
    std::vector<std::string> states;
    for (int i = 0; i < 3; ++i) mixed_commit(w, i);
    states.push_back(image(w));
    bank replica;
    rs::follower<bank> f(replica, snap, journal, rs::follower_options{.poll_interval = {}});
    more(
        [&](int i) {
            mixed_commit(w, i);
            states.push_back(image(w));
        },
        d);
    poll_attempt out;
    auto seen = replica.subscribe([&](const rs::changes<bank>&) { ++out.notified; });
    const run first = with_call_failing(fail, [&] { (void)f.poll(); });
    out.error = first.error;
    out.calls = first.calls;
    out.prefix = std::find(states.begin(), states.end(), image(replica)) != states.end();
    out.first_caught_up = image(replica) == image(w);
    (void)f.poll();
    out.caught_up = image(replica) == image(w);
    out.reloads = f.reloads();
    return out;
}

}  // namespace

TEST_CASE("a follower's poll that fails at any of its I/O calls loses nothing: the next poll catches up",
          "[journal][fault][follower]") {
    // Before, the follower read with its own POSIX calls: a failed read
    // ended the poll as if the journal ended there (a follower could fall
    // behind without an error), and no failure could be injected.
    writer_steps more;
    bool reload_expected = false;
    SECTION("records appended to the journal it has open") {
        more = [](const auto& commit, rs::durable<bank>&) {
            for (int i = 3; i < 9; ++i) commit(i);
        };
    }
    SECTION("a checkpoint in between: the rest of the old journal, then the new one") {
        more = [](const auto& commit, rs::durable<bank>& d) {
            commit(3);
            commit(4);
            d.checkpoint();
            commit(5);
            commit(6);
        };
    }
    SECTION("two checkpoints: the follower loads the new snapshot") {
        more = [](const auto& commit, rs::durable<bank>& d) {
            commit(3);
            d.checkpoint();
            commit(4);
            d.checkpoint();
            commit(5);
        };
        reload_expected = true;
    }
    const poll_attempt clean = poll_with_call_failing(-1, more);
    REQUIRE(clean.error.empty());
    REQUIRE(clean.caught_up);
    REQUIRE(clean.calls > 2);
    CHECK(clean.reloads == (reload_expected ? 1u : 0u));
    int failed = 0;
    for (int k = 0; k < clean.calls; ++k) {
        const poll_attempt a = poll_with_call_failing(k, more);
        INFO("call " << k << " of " << clean.calls << " failed: " << (a.error.empty() ? "the poll returned" : a.error));
        // A poll that returns has read everything there was; one that throws
        // applied whole transactions only, and says which file failed.
        if (a.error.empty()) CHECK(a.first_caught_up);
        else CHECK_THAT(a.error, Catch::Contains("db.journal") || Catch::Contains("db.snap"));
        CHECK(a.prefix);
        CHECK(a.caught_up);
        if (!reload_expected) {
            CHECK(a.reloads == 0);
            CHECK(a.notified == clean.notified);  // each transaction applied once
        }
        failed += a.error.empty() ? 0 : 1;
    }
    CHECK(failed > 0);
}

namespace {

/// A closed pair in dir: commits 0..3, a checkpoint, commits 4..6. Returns
/// the store's image.
std::string checkpointed_pair(const fs::path& dir) {
    bank w;
    rs::durable<bank> d(w, dir / "db.snap", dir / "db.journal", no_auto());
    for (int i = 0; i < 4; ++i) mixed_commit(w, i);
    d.checkpoint();
    for (int i = 4; i < 7; ++i) mixed_commit(w, i);
    return image(w);
}

}  // namespace

TEST_CASE("a follower's open that fails at any of its I/O calls leaves the replica as it was, or loads it all",
          "[journal][fault][follower]") {
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    const std::string written = checkpointed_pair(dir.path);
    const auto files = contents_of(dir.path);
    const auto attempt = [&](int fail) {
        bank replica;
        const auto held = image(replica);
        const auto [error, made] = with_call_failing(
            fail, [&] { rs::follower<bank> f(replica, snap, journal, rs::follower_options{.poll_interval = {}}); });
        INFO("call " << fail << " failed: " << (error.empty() ? "the follower opened" : error));
        CHECK(image(replica) == (error.empty() ? written : held));
        CHECK(contents_of(dir.path) == files);  // a follower writes nothing
        return made;
    };
    const int total = attempt(-1);
    REQUIRE(total > 3);
    for (int k = 0; k < total; ++k) (void)attempt(k);
}

TEST_CASE("a follower's open of a pair that does not fit fails at once, not after 50 loads", "[journal][follower]") {
    // The open reads the pair again only when a file changed while it was
    // read (a checkpoint's renames); before, any error was tried 50 times,
    // a load of the snapshot each, before it was reported.
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    (void)checkpointed_pair(dir.path);
    const auto open_follower = [&] {
        bank replica;
        return with_call_failing(
            -1, [&] { rs::follower<bank> f(replica, snap, journal, rs::follower_options{.poll_interval = {}}); });
    };
    const run fitting = open_follower();
    REQUIRE(fitting.error.empty());
    REQUIRE(fitting.calls > 2);
    {
        bank other;
        mixed_commit(other, 0);
        rs::save(other, snap);  // another snapshot under the journal
    }
    const run refused = open_follower();
    CHECK_THAT(refused.error, Catch::Contains("the journal belongs to another snapshot"));
    CHECK(refused.calls <= 2 * fitting.calls);
}

TEST_CASE("a thread that cannot start fails the open of a durable pair or a follower, and changes nothing",
          "[journal][fault][thread]") {
    // std::thread's constructor throws std::system_error when the system has
    // no thread to give. A follower started its poll thread after its load
    // had replaced the store's contents: a failed start left them replaced,
    // and the store marked as followed (a later follower, load or durable
    // pair refused).
    temp_dir dir;
    const auto snap = dir / "db.snap", journal = dir / "db.journal";
    using relstore_test::no_threads;
    bank db;
    mixed_commit(db, 6);
    const std::string held = image(db);
    // A durable pair's open with no thread to be had: refused, and the store
    // and the directory as they were.
    const auto durable_refused_unchanged = [&] {
        const auto before = contents_of(dir.path);
        {
            no_threads n;
            CHECK_THROWS_AS((rs::durable<bank>(db, snap, journal)), std::system_error);
        }
        CHECK(image(db) == held);
        CHECK(contents_of(dir.path) == before);
    };
    SECTION("a durable pair: fresh, the store's rows its first snapshot") {
        durable_refused_unchanged();
        { rs::durable<bank> d(db, snap, journal); }  // once a thread can be had
        CHECK(reopened(snap, journal) == held);
    }
    SECTION("a durable pair of a snapshot and a journal") {
        make_pair(dir.path, 3);
        durable_refused_unchanged();
    }
    SECTION("a durable pair whose journal has a torn tail: the tail stays, uncut") {
        // The tail was cut before the thread failed to start.
        make_pair(dir.path, 3);
        const std::string full = slurp(journal);
        spit(journal, full.substr(0, full.size() - 3));
        durable_refused_unchanged();
    }
    SECTION("a follower") {
        make_pair(dir.path, 3);
        {
            no_threads n;
            CHECK_THROWS_AS((rs::follower<bank>(db, snap, journal)), std::system_error);
        }
        CHECK(image(db) == held);
        mixed_commit(db, 7);  // the store is the application's still
        rs::follower<bank> f(db, snap, journal, rs::follower_options{.poll_interval = {}});
        CHECK(image(db) == reopened(snap, journal));
    }
}

}  // namespace fault_walk_test
