#pragma once
// Which scopes the current thread holds, so that a call that would wait for
// the thread itself is a usage_error instead of a deadlock.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace relstore::detail {

[[noreturn]] void throw_usage(const char* what);
/// For misuse found where nothing can be thrown (a destructor) and going on
/// would use a destroyed object: prints what and calls std::terminate.
[[noreturn]] void terminate_usage(const char* what) noexcept;

/// The read scopes one thread holds, recorded by their store's lock (one
/// entry per scope). A scope ended on another thread is reported to the
/// thread that opened it, which drops its entry at its next check: without
/// that, the entry stayed and that thread's next write() was refused.
class thread_scopes {
public:
    thread_scopes();  // registers it, for ends reported from other threads
    ~thread_scopes();
    thread_scopes(const thread_scopes&) = delete;
    thread_scopes& operator=(const thread_scopes&) = delete;

    /// Unique for the life of the process (an address is not: a new
    /// thread's record may take an exited thread's).
    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }

    /// This thread's scopes, after the ends other threads reported.
    [[nodiscard]] std::vector<const void*>& held() noexcept {
        if (reported_.load(std::memory_order_acquire)) [[unlikely]]
            take_reported();
        return held_;
    }
    [[nodiscard]] bool holds(const void* lock) noexcept {
        const auto& h = held();
        return std::find(h.begin(), h.end(), lock) != h.end();
    }
    /// Drops one entry of `lock` (the scope that ends here).
    void forget(const void* lock) noexcept {
        for (auto it = held_.rbegin(); it != held_.rend(); ++it)
            if (*it == lock) {
                held_.erase(std::next(it).base());
                return;
            }
    }
    /// A scope of thread `owner` on `lock` ended on this thread. Does
    /// nothing when that thread has exited.
    static void ended_elsewhere(std::uint64_t owner, const void* lock) noexcept;

private:
    void take_reported() noexcept;

    std::uint64_t id_;
    std::vector<const void*> held_;
    std::atomic<bool> reported_{false};
    std::mutex reported_mu_;
    std::vector<const void*> reported_ends_;  // guarded by reported_mu_
};

inline thread_scopes& this_thread_scopes() noexcept {
    thread_local thread_scopes scopes;
    return scopes;
}

/// True while this thread applies a journal's records or contents as a
/// relstore::follower: the one writer a follower's store accepts.
inline bool& applying_records() noexcept {
    thread_local bool applying = false;
    return applying;
}

}  // namespace relstore::detail
