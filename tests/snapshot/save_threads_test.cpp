// Saves while other threads write and read. With load_test.cpp (tables
// decoded on several threads) this is the snapshot binary that CI also runs
// under ThreadSanitizer, kept apart from the single-threaded snapshot tests
// so that the TSan build compiles only what has threads in it.

#include "blog.hpp"
#include "child_nice_probe.hpp"
#include "temp_dir.hpp"

#include <relstore/relstore.hpp>
#include <relstore/detail/child_process.hpp>
#include <relstore/detail/snapshot_file_ops.hpp>
#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace save_threads_test {

namespace rs = relstore;

namespace {

void save_while_writing(const rs::save_options& options) {
    relstore_test::temp_dir dir("relstore-save-threads");
    blog::store db;
    std::atomic<bool> stop{false};
    // Each transaction adds a user and a post that references it, so a
    // snapshot taken mid-transaction would have a post without its author or
    // counts that differ. Bounded, so that the store (and each save) stays
    // small however fast the writer runs.
    std::thread writer([&] {
        for (int i = 0; !stop && i < 3000; ++i) {
            auto tx = db.write();
            const auto id = tx.insert(blog::User{.name = "u" + std::to_string(i)}).id;
            (void)tx.insert(blog::Post{.title = "t" + std::to_string(i), .author_id = id});
            tx.commit();
        }
    });
    std::atomic<int> torn_reads{0};  // Catch2 assertions are not thread-safe: count, check later
    std::thread reader([&] {
        while (!stop) {
            auto r = db.read();
            if (r.count<blog::users>() != r.count<blog::posts>()) ++torn_reads;
        }
    });
    for (int i = 0; i < 20; ++i) {
        const auto p = dir.path / ("c" + std::to_string(i) + ".snap");
        rs::save(db, p, options);
        blog::store copy;
        rs::load(copy, p);  // checks every foreign key
        auto r = copy.read();
        CHECK(r.count<blog::users>() == r.count<blog::posts>());
    }
    stop = true;
    writer.join();
    reader.join();
    CHECK(torn_reads == 0);
}

}  // namespace

TEST_CASE("a save sees whole transactions while writers commit and readers read", "[snapshot][store][concurrency]") {
    SECTION("saved by a forked child") { save_while_writing({.in_child_process = true}); }
    SECTION("saved on the calling thread") { save_while_writing({.in_child_process = false}); }
}

namespace {

/// A child of this process: its pid, state letter (R, S, Z...) and command name.
struct child_process {
    pid_t pid;
    char state;
    std::string comm;
};

/// The children of this process; with forked_only, only those that run
/// this program (a save's children), not a helper a sanitizer runtime
/// started (TSan's symbolizer), which can be a zombie of its own.
std::vector<child_process> children(bool forked_only = false) {
    std::vector<child_process> out;
    const std::string self = std::to_string(::getpid());
    std::string own;
    std::getline(std::ifstream("/proc/self/comm"), own);
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) continue;
        // pid (comm) state ppid ...: comm may hold spaces, so read after its ')'.
        const auto open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close < open) continue;
        std::istringstream rest(line.substr(close + 1));
        std::string state, ppid;
        rest >> state >> ppid;
        std::string comm = line.substr(open + 1, close - open - 1);
        if (ppid != self || state.empty() || (forked_only && comm != own)) continue;
        out.push_back({std::stoi(entry.path().filename().string()), state[0], std::move(comm)});
    }
    return out;
}

/// True when the child `pid` has exited whole and waitpid would reap it;
/// asks without reaping it (WNOWAIT), so the save that remembered it still
/// reaps it.
bool reapable(pid_t pid) {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

/// Kills every child of this process once `deadline` passes, so that a save
/// whose child hangs fails with "killed by signal 9" instead of hanging the
/// test until ctest's timeout.
void kill_children_after(std::chrono::steady_clock::time_point deadline, const std::atomic<bool>& done) {
    while (!done && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (done) return;
    for (const auto& c : children()) ::kill(c.pid, SIGKILL);
}

/// n users, each with one post whose title (100 bytes and more) lives on the heap.
void add_users_with_posts(blog::store& db, int n) {
    auto tx = db.write();
    for (int i = 0; i < n; ++i) {
        const auto id = tx.insert(blog::User{.name = "u" + std::to_string(i)}).id;
        (void)tx.insert(blog::Post{.title = std::string(100 + i, 'x'), .author_id = id});
    }
    tx.commit();
}

std::size_t open_descriptors() {
    return static_cast<std::size_t>(
        std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator()));
}

}  // namespace

// A forked child has only the thread that forked; a lock another thread held
// at that moment stays held in the child. Under sanitizer runtimes without
// their own fork handler that included the sanitizer's allocator, and the
// save's child, which allocates, waited forever.
TEST_CASE("a save in a child process finishes while other threads allocate without pause",
          "[snapshot][store][concurrency]") {
    relstore_test::temp_dir dir("relstore-save-alloc");
    blog::store db;
    add_users_with_posts(db, 200);
    std::atomic<bool> stop{false};
    std::vector<std::thread> churn;
    for (unsigned t = 0; t < 3; ++t)
        churn.emplace_back([&stop, t] {
            // Blocks of many sizes, freed in another order than allocated, so
            // the allocator's shared free lists are taken and given back often.
            std::vector<std::unique_ptr<char[]>> held(64);
            for (std::size_t i = t; !stop; ++i) {
                auto& slot = held[(i * 7) % held.size()];
                slot.reset();
                slot = std::make_unique<char[]>(16 + (i * 37) % 8000);
            }
        });
    std::atomic<bool> done{false};
    std::thread watchdog(kill_children_after, std::chrono::steady_clock::now() + std::chrono::seconds(60),
                         std::cref(done));
    int saved = 0;
    for (int i = 0; i < 40; ++i) {
        const auto p = dir.path / ("a" + std::to_string(i) + ".snap");
        try {
            // At the threads' priority: at the default, 19 levels below, the
            // child gets about 1/70 of a core while 3 threads churn on 2 cores,
            // and under TSan 40 saves then outlast the watchdog, which is
            // there for a child that hangs, not for one starved by design.
            rs::save(db, p, {.in_child_process = true, .child_nice = 0});
            ++saved;
        } catch (const rs::snapshot_error& e) {
            FAIL_CHECK(e.what());
            break;
        }
    }
    done = true;
    stop = true;
    watchdog.join();
    for (auto& t : churn) t.join();
    REQUIRE(saved == 40);
    blog::store copy;
    rs::load(copy, dir.path / "a39.snap");
    CHECK(copy.read().count<blog::posts>() == 200);
}

#ifdef RELSTORE_DETAIL_ASAN  // from relstore/detail/sanitizers.hpp
// The hang the test above caught once in ~20 runs under load: a thread of
// the parent held the lock of AddressSanitizer's quarantine at the fork, and
// the child spun forever on it at its next delete. The child now runs with
// the quarantine off (child_process.cpp): what it frees is free at once, so
// the same block comes back for the next allocation of its size, where the
// quarantine would have held it back. Fails with sanitizer_fork_guard's
// in_child() left out.
TEST_CASE("under AddressSanitizer a save's child frees without the quarantine, whose lock the fork may hold",
          "[snapshot][child]") {
    std::atomic<int> reused{-1};
    CHECK_NOTHROW(rs::detail::run_in_child(
        "<child>", 0,
        [] {
            auto* first = new char[200];
            const auto at = reinterpret_cast<std::uintptr_t>(first);
            delete[] first;
            auto* second = new char[200];
            const bool same = reinterpret_cast<std::uintptr_t>(second) == at;
            delete[] second;
            if (!same) throw std::runtime_error("the child's delete kept its block in the quarantine");
        },
        [] {}));
    // And the parent keeps its quarantine: a use after free is still caught there.
    auto* first = new char[200];
    const auto at = reinterpret_cast<std::uintptr_t>(first);
    delete[] first;
    auto* second = new char[200];
    reused = reinterpret_cast<std::uintptr_t>(second) == at ? 1 : 0;
    delete[] second;
    CHECK(reused == 0);
}
#endif

// save() returns once the child reports the file renamed into place and
// durable; the child's exit (tearing down its view of this process's memory)
// and the close of the file it replaced come after, unwaited. A later save
// reaps the exited children.
TEST_CASE("a save returns with its file in place, and no save leaves its child behind",
          "[snapshot][store][child]") {
    relstore_test::temp_dir dir("relstore-save-reap");
    blog::store db;
    add_users_with_posts(db, 100);
    const auto p = dir.path / "s.snap";
    for (int i = 0; i < 6; ++i) {
        {
            auto tx = db.write();
            (void)tx.insert(blog::User{.name = "v" + std::to_string(i)});
            tx.commit();
        }
        rs::save(db, p, {.in_child_process = true});  // over the file the previous save wrote
        blog::store copy;
        rs::load(copy, p);  // the file of this very save, whole
        CHECK(copy.read().count<blog::users>() == static_cast<std::size_t>(101 + i));
    }
    // Let every child finish exiting, then save once more: that save reaps
    // them all, and at most its own child is left a zombie. "Finished" is
    // "waitpid would reap it" (asked without reaping), not a state letter:
    // under TSan a child runs the runtime's background thread, and its main
    // thread shows 'Z' while that thread still tears down the memory, when
    // waitpid cannot reap it yet.
    for (int wait = 0; wait < 500; ++wait) {
        const auto c = children(true);
        if (std::all_of(c.begin(), c.end(), [](const auto& s) { return reapable(s.pid); })) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    rs::save(db, p, {.in_child_process = true});
    // A save's zombies only: a sanitizer runtime may run a helper process of
    // its own (TSan's symbolizer), which is no save's.
    std::string seen;
    for (const auto& c : children()) seen += std::to_string(c.pid) + ":" + c.state + ":" + c.comm + " ";
    INFO("children: " << seen);
    const auto left = children(true);
    const auto zombies = std::count_if(left.begin(), left.end(), [](const auto& c) { return c.state == 'Z'; });
    CHECK(zombies <= 1);
}

TEST_CASE("a save on the calling thread over an existing file keeps no descriptor open",
          "[snapshot][store][child]") {
    relstore_test::temp_dir dir("relstore-save-fds");
    blog::store db;
    {
        auto tx = db.write();
        (void)tx.insert(blog::User{.name = "only"});
        tx.commit();
    }
    const auto p = dir.path / "s.snap";
    rs::save(db, p, {.in_child_process = false});
    const std::size_t before = open_descriptors();
    for (int i = 0; i < 5; ++i) rs::save(db, p, {.in_child_process = false});  // each replaces the last
    CHECK(open_descriptors() == before);
    blog::store copy;
    rs::load(copy, p);
    CHECK(copy.read().count<blog::users>() == 1);
}

namespace {

/// The nice value a forked save with `options` ran at, as the child saw it.
int saved_at_nice(blog::store& db, const std::filesystem::path& p, rs::save_options options) {
    relstore_test::child_nice_probe probe;
    options.in_child_process = true;
    rs::save(db, p, options);
    // Every thread of the child that wrote ran at its priority, the writer
    // thread it starts (detail::child_may_start_threads) too.
    CHECK(probe.writers_seen() == probe.seen());
    return probe.seen();
}

}  // namespace

TEST_CASE("a save's child runs at the priority save_options asks, and a bad one is refused",
          "[snapshot][store][child]") {
    relstore_test::temp_dir dir("relstore-save-nice");
    blog::store db;
    add_users_with_posts(db, 10);
    const auto p = dir.path / "s.snap";
    errno = 0;
    const int own = ::getpriority(PRIO_PROCESS, 0);
    REQUIRE(errno == 0);
    REQUIRE(own < 19);  // room to go lower, or the test shows nothing

    SECTION("by default it runs 19 levels lower (the system stops at 19)") {
        CHECK(saved_at_nice(db, p, {}) == 19);
    }
    SECTION("a smaller step") {
        CHECK(saved_at_nice(db, p, {.child_nice = 1}) == own + 1);
    }
    SECTION("0 keeps the saving thread's priority") {
        CHECK(saved_at_nice(db, p, {.child_nice = 0}) == own);
    }
    SECTION("the saving thread keeps its own priority") {
        (void)saved_at_nice(db, p, {});
        CHECK(::getpriority(PRIO_PROCESS, 0) == own);
    }
    SECTION("outside 0 to 19 it is a usage error, and no file is written") {
        for (const int bad : {-1, 20, -20}) {
            INFO("child_nice " << bad);
            for (const bool in_child : {true, false}) {
                try {
                    rs::save(db, p, {.in_child_process = in_child, .child_nice = bad});
                    FAIL("no usage_error");
                } catch (const rs::usage_error& e) {
                    const std::string what = e.what();
                    CHECK(what.find("save_options::child_nice is " + std::to_string(bad)) != std::string::npos);
                    CHECK(what.find("0 to 19") != std::string::npos);
                    CHECK(what.find("s.snap") != std::string::npos);
                }
                CHECK_FALSE(std::filesystem::exists(p));
            }
        }
    }
    // The file a niced child wrote is the store, whole.
    if (std::filesystem::exists(p)) {
        blog::store copy;
        rs::load(copy, p);
        CHECK(copy.read().count<blog::posts>() == 10);
    }
}

namespace {

// The second thread of a large read calls pread; counted here (from that
// thread), and failed on the call fail_pread_on (0: never).
std::atomic<int> preads{0};
std::atomic<int> fail_pread_on{0};
ssize_t counting_pread(int fd, void* buf, size_t n, off_t offset) {
    if (++preads == fail_pread_on) {
        errno = EIO;
        return -1;
    }
    return rs::detail::system_file_ops().pread(fd, buf, n, offset);
}

}  // namespace

// Built and run under ThreadSanitizer too (CI's TSan stage runs this binary):
// a file of 16 MiB or more is read by two threads, the second one's half
// with pread, and its bytes or its error must reach the loading thread.
TEST_CASE("a snapshot of 16 MiB or more is read by two threads and loads whole, or not at all",
          "[snapshot][store][concurrency]") {
    relstore_test::temp_dir dir("relstore-two-reads");
    blog::store db;
    {
        auto tx = db.write();
        const auto author = tx.insert(blog::User{.name = "writer"}).id;
        for (int i = 0; i < 2200; ++i)
            (void)tx.insert(blog::Post{.title = "post " + std::to_string(i),
                                       .content = std::string(8000, static_cast<char>('a' + i % 26)),
                                       .author_id = author});
        tx.commit();
    }
    const auto p = dir.path / "big.snap";
    rs::save(db, p);
    REQUIRE(std::filesystem::file_size(p) >= (std::uintmax_t{16} << 20));
    auto ops = rs::detail::system_file_ops();
    ops.pread = counting_pread;
    preads = 0;

    SECTION("whole") {
        fail_pread_on = 0;
        blog::store copy;
        {
            rs::detail::scoped_file_ops inject(ops);
            rs::load(copy, p);
        }
        CHECK(preads > 0);  // the second thread read its half
        auto q = copy.read();
        REQUIRE(q.count<blog::posts>() == 2200);
        for (const blog::Post& post : q.all<blog::posts>()) {
            const auto i = std::stoi(post.title.substr(5));
            CHECK(post.content == std::string(8000, static_cast<char>('a' + i % 26)));
        }
    }
    SECTION("the second thread's read fails: an error naming the file, and the store as it was") {
        fail_pread_on = 2;
        blog::store copy;
        {
            auto tx = copy.write();
            (void)tx.insert(blog::User{.name = "kept"});
            tx.commit();
        }
        try {
            rs::detail::scoped_file_ops inject(ops);
            rs::load(copy, p);
            FAIL("the load succeeded");
        } catch (const rs::snapshot_error& e) {
            CHECK(std::string(e.what()).find("big.snap") != std::string::npos);
            CHECK(std::string(e.what()).find("Input/output error") != std::string::npos);
        }
        CHECK(preads >= 2);
        auto q = copy.read();
        CHECK(q.count<blog::users>() == 1);
        CHECK(q.count<blog::posts>() == 0);
    }
    fail_pread_on = 0;
}

}  // namespace save_threads_test
