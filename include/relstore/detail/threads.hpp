#pragma once
// How relstore starts its threads: one place, so that tests can make every
// start fail as a system out of threads does.

#include <new>
#include <system_error>
#include <thread>
#include <utility>

namespace relstore::detail {

/// Tests only: called before relstore starts any thread (a durable pair's or
/// a follower's, a save's writer and ordering helpers, a load's decoding
/// helpers and second reader), to fail that start as std::thread's
/// constructor does when the system has no thread to give
/// (std::system_error), or to count the starts. Set it while no other
/// thread uses relstore.
inline void (*thread_start_hook)() = nullptr;

/// Starts a thread of relstore's (see thread_start_hook).
/// @throws std::system_error when no thread can be started.
template <class F>
std::thread start_thread(F&& f) {
    if (thread_start_hook != nullptr) thread_start_hook();
    return std::thread(std::forward<F>(f));
}

/// Starts a thread its caller can do without (a save's writer or ordering
/// helper, a load's helper or second reader): when none can be had
/// (std::system_error, or std::bad_alloc for its state) the thread returned
/// is not joinable, and the caller does that work itself.
template <class F>
std::thread start_optional_thread(F&& f) {
    try {
        return start_thread(std::forward<F>(f));
    } catch (const std::system_error&) {
    } catch (const std::bad_alloc&) {
    }
    return {};
}

}  // namespace relstore::detail
