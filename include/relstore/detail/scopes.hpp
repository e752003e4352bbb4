#pragma once
// Which scopes the current thread holds, so that a call that would wait for
// the thread itself is a usage_error instead of a deadlock.

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace relstore::detail {

[[noreturn]] void throw_usage(const char* what);
/// For misuse found where nothing can be thrown (a destructor) and going on
/// would use a destroyed object: prints what and calls std::terminate.
[[noreturn]] void terminate_usage(const char* what) noexcept;

/// One thread's list of held scopes, each entry the lock (or pin set) of a
/// store. The first few entries lie in the list itself, not on the heap: on
/// a relstore::reader_thread the list lies on the thread's stack, which a
/// save's fork() does not copy, so opening and ending a scope writes nothing
/// the fork write-protects and a fork never makes the scope wait (see
/// reader_thread.hpp). More entries go to the heap.
class scope_list {
public:
    /// Room for n entries, so that push_back cannot throw.
    void reserve(std::size_t n) {
        if (n > inline_capacity) more_.reserve(n - inline_capacity);
    }
    /// Requires room (reserve(size() + 1)) beyond the inline entries.
    void push_back(const void* entry) {
        if (n_ < inline_capacity)
            inline_[n_] = entry;
        else
            more_.push_back(entry);
        ++n_;
    }
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] bool contains(const void* entry) const noexcept {
        const std::size_t here = std::min(n_, inline_capacity);
        return std::find(inline_.begin(), inline_.begin() + static_cast<std::ptrdiff_t>(here), entry) !=
                   inline_.begin() + static_cast<std::ptrdiff_t>(here) ||
               std::find(more_.begin(), more_.end(), entry) != more_.end();
    }
    /// Drops one entry equal to `entry`, if any. The order of the entries is
    /// not kept: the list is a multiset.
    void erase_one(const void* entry) noexcept {
        if (const auto it = std::find(more_.begin(), more_.end(), entry); it != more_.end()) {
            *it = more_.back();
            more_.pop_back();
            --n_;
            return;
        }
        const std::size_t here = std::min(n_, inline_capacity);
        for (std::size_t i = 0; i < here; ++i)
            if (inline_[i] == entry) {
                // The last entry fills the hole: from the heap part when there is one.
                if (!more_.empty()) {
                    inline_[i] = more_.back();
                    more_.pop_back();
                } else {
                    inline_[i] = inline_[here - 1];
                }
                --n_;
                return;
            }
    }

    static constexpr std::size_t inline_capacity = 8;

private:
    std::array<const void*, inline_capacity> inline_{};
    std::size_t n_ = 0;
    std::vector<const void*> more_;
};

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
    [[nodiscard]] scope_list& held() noexcept {
        if (reported_.load(std::memory_order_acquire)) [[unlikely]]
            take_reported();
        return *held_;
    }
    /// Keeps this thread's list in `list` from now on (its entries moved
    /// there), or again in the thread's own record with nullptr. For
    /// relstore::reader_thread, whose list lies on its stack: a fork copies
    /// a thread's thread-local storage (glibc needs it in the child), not
    /// that stack, so writing the list there never waits for a fork.
    void keep_list_in(scope_list* list) noexcept {
        scope_list* to = list ? list : &own_;
        if (to == held_) return;
        std::swap(*to, *held_);
        held_ = to;
    }
    [[nodiscard]] bool holds(const void* lock) noexcept { return held().contains(lock); }
    /// Drops one entry of `lock` (the scope that ends here).
    void forget(const void* lock) noexcept { held_->erase_one(lock); }
    /// A scope of thread `owner` on `lock` ended on this thread. Does
    /// nothing when that thread has exited.
    static void ended_elsewhere(std::uint64_t owner, const void* lock) noexcept;

private:
    void take_reported() noexcept;

    std::uint64_t id_;
    scope_list own_;
    scope_list* held_ = &own_;
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
