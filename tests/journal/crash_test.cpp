// Crash recovery: a child process commits in a loop with sync::every_commit
// and reports each acknowledged commit through a pipe; the parent kills it
// with SIGKILL at a random moment, recovers, and checks that the store holds
// exactly the acknowledged commits, never fewer, and at most the one in
// flight more. A second loop kills children that checkpoint all the time.
// (A process crash: a power cut, which the fsyncs guard against, cannot be
// tested without a block-device fault injector.)
//
// CI runs a few hundred kills of a few seconds per test; set
// RELSTORE_JOURNAL_KILLS (and RELSTORE_JOURNAL_KILL_SECONDS) for thousands.

#include <relstore/journal.hpp>
#include <relstore/relstore.hpp>

#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

namespace crash_test {

namespace crash {

namespace rs = relstore;
namespace fs = std::filesystem;

struct Item {
    std::int64_t id{};
    std::string payload;
};
RELSTORE_FIELDS(Item, id, payload)
struct Counter {
    std::int32_t id{};
    std::int64_t value{};
};
RELSTORE_FIELDS(Counter, id, value)

using items = rs::table<"items", Item, rs::primary_key<&Item::id>>;
using counters = rs::table<"counters", Counter, rs::primary_key<&Counter::id>>;
using store = rs::store<items, counters>;

constexpr std::int64_t window = 300;  // rows kept: commit n inserts item n and erases item n - window

std::int64_t counter_of(const store& db) {
    auto q = db.read();
    const auto* c = q.find<counters>(std::int32_t{1});
    return c ? c->value : 0;
}

/// Commit n: the counter becomes n, item n comes, item n - window goes.
void commit(store& db, std::int64_t n) {
    auto tx = db.write();
    if (const auto* c = tx.find<counters>(std::int32_t{1}))
        tx.set<&Counter::value>(*c, n);
    else
        tx.insert(Counter{1, n});
    tx.insert(Item{n, std::string(64 + n % 100, static_cast<char>('a' + n % 26))});
    tx.erase<items>(n - window);
    tx.commit();
}

/// The store must hold exactly commits 1..c.
void check_holds(const store& db, std::int64_t c) {
    auto q = db.read();
    REQUIRE(q.count<items>() == static_cast<std::size_t>(std::min(c, window)));
    for (std::int64_t n = std::max<std::int64_t>(1, c - window + 1); n <= c; ++n) {
        const auto* it = q.find<items>(n);
        REQUIRE(it != nullptr);
        REQUIRE(it->payload.size() == static_cast<std::size_t>(64 + n % 100));
    }
}

long env_or(const char* name, long fallback) {
    const char* v = std::getenv(name);
    return v ? std::atol(v) : fallback;
}

/// Forks a child that opens the pair and commits forever, writing 0 once
/// the pair is open, then each acknowledged commit's number to the pipe, while a second thread
/// checkpoints every `checkpoint_every` ms (0: never). Returns its pid and the pipe's read end.
std::pair<pid_t, int> start_writer(const fs::path& snap, const fs::path& journal, int checkpoint_every) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(fds[0]);
        try {
            store db;
            rs::durable_options o;
            o.sync = rs::sync::every_commit;
            o.checkpoint_bytes = 0;
            rs::durable<store> d(db, snap, journal, o);
            const std::int64_t opened = 0;
            if (::write(fds[1], &opened, sizeof opened) != sizeof opened) ::_exit(4);
            // Checkpoints run on their own thread, so that commits land while
            // the snapshot is written (their records follow its state).
            std::thread checkpointer;
            if (checkpoint_every > 0)
                checkpointer = std::thread([&] {
                    try {
                        for (;;) {
                            d.checkpoint();
                            ::usleep(static_cast<useconds_t>(checkpoint_every) * 1000);
                        }
                    } catch (const std::exception& e) {
                        std::fprintf(stderr, "checkpoint failed: %s\n", e.what());
                        ::_exit(5);
                    }
                });
            for (std::int64_t n = counter_of(db) + 1;; ++n) {
                commit(db, n);
                if (::write(fds[1], &n, sizeof n) != sizeof n) ::_exit(4);
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "writer failed: %s\n", e.what());
            ::_exit(3);
        }
    }
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    return {pid, fds[0]};
}

/// Waits (at most 60 s) until the child has written something: it has opened the pair.
void wait_until_open(int fd) {
    pollfd p{fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 60'000) == 1);
}

/// Reads every number the child wrote; the last is its last acknowledged
/// commit (0 only says the child has opened the pair).
std::int64_t drain(int fd, std::int64_t last) {
    std::int64_t n;
    for (;;) {
        const ssize_t r = ::read(fd, &n, sizeof n);
        if (r == sizeof n) {
            if (n != 0) last = n;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        return last;  // EOF once the child is dead, EAGAIN before
    }
}

void kill_loop(int checkpoint_every, long default_kills, long default_seconds, int max_sleep_us) {
    relstore_test::temp_dir dir("relstore-journal-crash");
    const auto snap = dir.path / "crash.snap", journal = dir.path / "crash.journal";
    const long max_kills = env_or("RELSTORE_JOURNAL_KILLS", default_kills);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(env_or("RELSTORE_JOURNAL_KILL_SECONDS", default_seconds));
    std::mt19937_64 rng(std::random_device{}());
    std::int64_t acknowledged = 0;
    long kills = 0, in_flight_kept = 0, during_open = 0;
    // At least 50 kills (or all asked for) however slow the machine, then as
    // many as the time allows: a deadline alone made the count depend on load.
    const long least = std::min<long>(max_kills, 50);
    for (; kills < max_kills && (kills < least || std::chrono::steady_clock::now() < deadline); ++kills) {
        auto [pid, fd] = start_writer(snap, journal, checkpoint_every);
        // Every other kill lands while the child may still be recovering;
        // the rest after it has opened the pair, so that kills land among
        // commits however long recovery takes as the store grows.
        if (kills % 2 == 1) wait_until_open(fd);
        ::usleep(static_cast<useconds_t>(rng() % static_cast<unsigned>(max_sleep_us)));
        const std::int64_t before = acknowledged;
        acknowledged = drain(fd, acknowledged);
        REQUIRE(::kill(pid, SIGKILL) == 0);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("kill " << kills << ": child status " << status);
        REQUIRE(WIFSIGNALED(status));  // it never failed on its own
        acknowledged = drain(fd, acknowledged);
        ::close(fd);
        if (acknowledged == before) ++during_open;

        store db;
        rs::durable_options o;
        o.checkpoint_bytes = 0;
        rs::durable<store> d(db, snap, journal, o);
        const auto recovered = counter_of(db);
        INFO("acknowledged " << acknowledged << ", recovered " << recovered);
        REQUIRE(recovered >= acknowledged);
        REQUIRE(recovered <= acknowledged + 1);
        check_holds(db, recovered);
        in_flight_kept += recovered - acknowledged;
        acknowledged = recovered;  // the next child goes on from there
    }
    std::printf("%ld kills, %lld commits, %ld in-flight commits kept, %ld kills before a child's first commit\n",
                kills, static_cast<long long>(acknowledged), in_flight_kept, during_open);
    CHECK(acknowledged > kills / 2);  // the children killed after their open got to commit
}

}  // namespace crash

TEST_CASE("a writer killed at any moment recovers exactly its acknowledged commits, at most one more",
          "[journal][crash]") {
    crash::kill_loop(0, 200, 8, 15000);
}

TEST_CASE("a writer killed during checkpoints at random moments loses no acknowledged commit",
          "[journal][crash][checkpoint]") {
    crash::kill_loop(1, 150, 8, 25000);
}

}  // namespace crash_test
