#pragma once
// Test hooks on the threads relstore starts (detail::thread_start_hook):
// none to be had, or each one counted.

#include <relstore/detail/threads.hpp>

#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <system_error>

namespace relstore_test {

/// While alive, every thread relstore would start fails to, as
/// std::thread's constructor does when the system has none to give.
struct no_threads {
    no_threads() {
        relstore::detail::thread_start_hook = [] {
            throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again),
                                    "no thread (test)");
        };
    }
    ~no_threads() { relstore::detail::thread_start_hook = nullptr; }
    no_threads(const no_threads&) = delete;
    no_threads& operator=(const no_threads&) = delete;
};

/// While alive, counts the threads relstore starts, in this process and in
/// the children its saves fork (the count is in memory shared with them).
class counted_thread_starts {
public:
    counted_thread_starts() {
        count() = 0;
        relstore::detail::thread_start_hook = [] { ++count(); };
    }
    ~counted_thread_starts() { relstore::detail::thread_start_hook = nullptr; }
    counted_thread_starts(const counted_thread_starts&) = delete;
    counted_thread_starts& operator=(const counted_thread_starts&) = delete;
    [[nodiscard]] int starts() const { return count().load(); }

private:
    static std::atomic<int>& count() {
        static std::atomic<int>* c = [] {
            void* p = ::mmap(nullptr, sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                             -1, 0);
            if (p == MAP_FAILED) std::abort();
            return new (p) std::atomic<int>(0);
        }();
        return *c;
    }
};

}  // namespace relstore_test
