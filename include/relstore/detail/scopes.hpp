#pragma once
// Which scopes the current thread holds, so that a call that would wait for
// the thread itself is a usage_error instead of a deadlock.

#include <vector>

namespace relstore::detail {

[[noreturn]] void throw_usage(const char* what);

/// The stores whose read scopes this thread holds (one entry per scope).
inline std::vector<const void*>& read_scopes_held() noexcept {
    thread_local std::vector<const void*> held;
    return held;
}

/// True while this thread applies a journal's records or contents as a
/// relstore::follower: the one writer a follower's store accepts.
inline bool& applying_records() noexcept {
    thread_local bool applying = false;
    return applying;
}

}  // namespace relstore::detail
