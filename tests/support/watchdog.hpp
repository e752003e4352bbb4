#pragma once
// A call that must return: a test of something that used to wait forever
// fails with a message instead of hanging the run until CTest's timeout.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <thread>
#include <utility>

namespace relstore_test {

/// Calls fn() on this thread (scopes it opens are this thread's) and returns
/// what it returns. If it has not returned within `limit`, a watchdog ends
/// the process with a message naming `what`.
template <class Fn>
auto returns_within(std::chrono::seconds limit, const char* what, Fn&& fn) {
    std::promise<void> done;
    std::thread watchdog([limit, what, returned = done.get_future()] {
        if (returned.wait_for(limit) != std::future_status::ready) {
            std::fprintf(stderr, "FAILED: %s did not return within %lld s (it waits forever?)\n", what,
                         static_cast<long long>(limit.count()));
            std::_Exit(1);
        }
    });
    struct finish {
        std::promise<void>& done;
        std::thread& watchdog;
        ~finish() {
            done.set_value();
            watchdog.join();
        }
    } on_return{done, watchdog};
    return std::forward<Fn>(fn)();
}

}  // namespace relstore_test
