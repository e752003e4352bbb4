// A save's fork never stops a read scope on a relstore::reader_thread: what
// such a scope writes (the thread's stack and thread-local storage, the
// store's lock and pins) lies in memory a fork leaves out. These tests check
// where that memory lies (the VmFlags of /proc/self/smaps), what a child
// process has of it, and the misuse a reader_thread refuses.
#include <catch2/catch.hpp>
#include <relstore/detail/unforked.hpp>
#include <relstore/reader_thread.hpp>
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include "blog.hpp"
#include "temp_dir.hpp"
#include "vm_flags.hpp"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

namespace reader_thread_test {

namespace rs = relstore;

using blog::store;
using items = blog::users;
using Item = blog::User;

/// True when a fork does not copy the page that holds p into the child
/// (dc: MADV_DONTFORK; wf: MADV_WIPEONFORK, the child gets zeroes).
bool left_out_of_forks(const void* p) {
    const std::string f = relstore_test::vm_flags_of(p);
    return relstore_test::has_vm_flag(f, "dc") || relstore_test::has_vm_flag(f, "wf");
}

/// Bytes of this process's mappings that forks leave out.
std::size_t unforked_bytes() {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    std::size_t total = 0, size = 0;
    while (std::getline(smaps, line)) {
        unsigned long lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(' ') > line.find('-'))
            size = hi - lo;
        else if (line.rfind("VmFlags:", 0) == 0 &&
                 (relstore_test::has_vm_flag(line, "dc") || relstore_test::has_vm_flag(line, "wf")))
            total += size;
    }
    return total;
}

/// Runs f in a forked child; returns its result (0 to 255, its exit
/// status), or -1 when the child did not exit (a signal).
int in_child(const std::function<int()>& f) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(f());
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

thread_local int thread_value = 0;

TEST_CASE("a reader_thread runs its function with its arguments; its stack and its list of scopes are left out of "
          "forks, its thread-local storage is not",
          "[reader_thread]") {
    int sum = 0;
    bool stack_unforked = false, list_unforked = false, tls_unforked = true;
    {
        rs::reader_thread t(
            [&](int a, std::string b, int& out) {
                int local = a;
                thread_value = static_cast<int>(b.size());
                stack_unforked = left_out_of_forks(&local);
                list_unforked = left_out_of_forks(&rs::detail::this_thread_scopes().held());
                // glibc's control block of the thread lies beside it: a
                // child forked by another thread writes to it.
                tls_unforked = left_out_of_forks(&thread_value);
                out = local + thread_value;
            },
            40, std::string("ab"), std::ref(sum));
        CHECK(t.joinable());
    }  // joined here
    CHECK(sum == 42);
    CHECK(stack_unforked);
    CHECK(list_unforked);
    CHECK_FALSE(tls_unforked);

    // The check tells them apart: an ordinary thread's stack is copied.
    bool plain_unforked = true;
    std::thread([&] {
        int local = 0;
        plain_unforked = left_out_of_forks(&local);
    }).join();
    CHECK_FALSE(plain_unforked);
}

TEST_CASE("a reader_thread's stack is gone once it is joined, and a moved thread is joined by its new owner",
          "[reader_thread]") {
    std::atomic<const void*> where{nullptr};
    rs::reader_thread t([&] {
        int local = 0;
        where = &local;
    });
    rs::reader_thread moved(std::move(t));
    CHECK_FALSE(t.joinable());
    CHECK(moved.joinable());
    moved.join();
    CHECK_FALSE(moved.joinable());
    // msync: ENOMEM where nothing is mapped.
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    void* start = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(where.load()) & ~(page - 1));
    CHECK(::msync(start, page, MS_ASYNC) != 0);
}

TEST_CASE("reader_thread misuse: a stack below the minimum, a join without a thread, a join on itself",
          "[reader_thread][misuse]") {
    bool ran = false;
    CHECK_THROWS_WITH(rs::reader_thread(rs::stack_size{4096}, [&] { ran = true; }),
                      Catch::Contains("a stack of 4096 bytes is too small") && Catch::Contains("65536"));
    CHECK_FALSE(ran);
    rs::reader_thread none;
    CHECK_THROWS_AS(none.join(), rs::usage_error);
    CHECK_THROWS_WITH(none.join(), Catch::Contains("not joinable"));

    // A stack of exactly the minimum runs.
    rs::reader_thread small(rs::stack_size{rs::reader_thread::min_stack_bytes}, [&] { ran = true; });
    small.join();
    CHECK(ran);

    std::string message;
    std::atomic<rs::reader_thread*> self{nullptr};
    std::atomic<bool> go{false};
    rs::reader_thread t([&] {
        while (!go) std::this_thread::yield();
        try {
            self.load()->join();
        } catch (const rs::usage_error& e) {
            message = e.what();
        }
    });
    self = &t;
    go = true;
    t.join();
    CHECK_THAT(message, Catch::Contains("called on the thread itself"));
}

TEST_CASE("with reads_never_wait_for_fork a store's lock and pins lie in a page a fork leaves out, and a forked "
          "child's scope is a usage_error",
          "[reader_thread]") {
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait " << never_wait);
    const std::size_t before = unforked_bytes();
    {
        store db(rs::store_options{.readers_never_wait = never_wait, .reads_never_wait_for_fork = true});
        CHECK(unforked_bytes() >= before + static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
        {
            auto tx = db.write();
            tx.insert(Item{0, "a", ""});
            tx.commit();
        }
        CHECK(db.read().find<&Item::name>("a") != nullptr);
        // 1: read() refused with the sentence; 2: write() refused; 3: anything else.
        const int child = in_child([&] {
            int result = 0;
            try {
                (void)db.read();
                return 3;
            } catch (const rs::usage_error& e) {
                result = std::string(e.what()).find("reads_never_wait_for_fork") != std::string::npos ? 1 : 3;
            }
            try {
                (void)db.write();
                return 3;
            } catch (const rs::usage_error&) {
                return result == 1 ? 2 : 3;
            }
        });
        CHECK(child == 2);
        // This process goes on.
        CHECK(db.read().find<&Item::name>("a") != nullptr);
    }
    CHECK(unforked_bytes() == before);

    // Without the option a forked child reads and writes the store.
    store plain(rs::store_options{.readers_never_wait = never_wait});
    CHECK(unforked_bytes() == before);
    const int child = in_child([&] {
        auto tx = plain.write();
        tx.insert(Item{0, "in the child", ""});
        tx.commit();
        return plain.read().count<items>() == 1 ? 0 : 1;
    });
    CHECK(child == 0);
    CHECK(plain.read().count<items>() == 0);

    // The holder itself: a child finds its page zeroed.
    rs::detail::unforked<std::int64_t> value(true, 7);
    REQUIRE(value.left_out_of_forks());
    CHECK(*value == 7);
    CHECK(left_out_of_forks(&*value));
    CHECK(in_child([&] { return static_cast<int>(*value); }) == 0);
    const rs::detail::unforked<std::int64_t> in_place(false, 7);
    CHECK_FALSE(in_place.left_out_of_forks());
    CHECK(in_child([&] { return static_cast<int>(*in_place); }) == 7);
}

TEST_CASE("a save in a child process from a reader_thread is a usage_error naming the file; in the process it saves",
          "[reader_thread][save][misuse]") {
    relstore_test::temp_dir dir("relstore-reader-thread");
    const auto refused = dir.path / "refused.snap";
    const auto saved = dir.path / "saved.snap";
    store db;
    {
        auto tx = db.write();
        tx.insert(Item{0, "a", ""});
        tx.commit();
    }
    std::string message;
    rs::reader_thread t([&] {
        try {
            rs::save(db, refused);
        } catch (const rs::usage_error& e) {
            message = e.what();
        }
        rs::save(db, saved, rs::save_options{.in_child_process = false});
    });
    t.join();
    CHECK_THAT(message, Catch::Contains("refused.snap") && Catch::Contains("relstore::reader_thread") &&
                            Catch::Contains("in_child_process = false"));
    CHECK_FALSE(std::filesystem::exists(refused));
    store back;
    rs::load(back, saved);
    CHECK(back.read().find<&Item::name>("a") != nullptr);
    // The store is not left locked: a writer still gets in.
    auto tx = db.write();
    tx.commit();
}

TEST_CASE("read scopes on a reader_thread see every commit while other threads commit and save in child processes",
          "[reader_thread][concurrency][save]") {
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait " << never_wait);
    relstore_test::temp_dir dir("relstore-reader-thread");
    store db(rs::store_options{.readers_never_wait = never_wait, .reads_never_wait_for_fork = true});
    {
        auto tx = db.write();
        tx.insert(Item{0, "n0", ""});
        tx.commit();
    }
    std::atomic<bool> stop{false};
    std::atomic<long> reads{0}, bad{0};
    rs::reader_thread reader([&] {
        std::int64_t last = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            auto q = db.read();
            // One row, whose id only grows: a scope sees a whole commit, never an older one.
            const auto all = q.all<items>();
            std::int64_t n = 0, id = 0;
            for (const Item& i : all) {
                ++n;
                id = i.id;
            }
            if (n != 1 || id < last) ++bad;
            last = id;
            ++reads;
        }
    });
    std::thread writer([&] {
        for (int i = 1; i <= 200; ++i) {
            auto tx = db.write();
            tx.erase(*tx.all<items>().begin());
            tx.insert(Item{0, "n" + std::to_string(i), ""});
            tx.commit();
        }
    });
    for (int i = 0; i < 3; ++i) rs::save(db, dir.path / "s.snap");
    writer.join();
    while (reads.load() < 100) std::this_thread::yield();
    stop = true;
    reader.join();
    CHECK(bad.load() == 0);
    store back;
    rs::load(back, dir.path / "s.snap");
    CHECK(back.read().all<items>().count() == 1);
}

TEST_CASE("a thread holding more read scopes than its list keeps inline still has each one recorded",
          "[reader_thread][misuse]") {
    store db;
    std::vector<std::optional<decltype(db.read())>> scopes(rs::detail::scope_list::inline_capacity * 2 + 3);
    for (auto& s : scopes) s.emplace(db.read());
    // Each entry counts: until the last scope ends, a write on this thread is refused.
    for (std::size_t i = 0; i + 1 < scopes.size(); ++i) {
        scopes[i].reset();
        REQUIRE_THROWS_AS(db.write(), rs::usage_error);
    }
    scopes.back().reset();
    auto tx = db.write();
    tx.insert(Item{0, "after", ""});
    tx.commit();
    CHECK(db.read().all<items>().count() == 1);
}

}  // namespace reader_thread_test
