#pragma once
// The lock of a store: shared for read scopes, exclusive for a transaction.
// Its own rather than std::shared_mutex for two reasons:
//  - phase fairness that does not depend on the platform: a waiting writer
//    keeps new read scopes out (glibc's rwlock prefers readers, and a stream
//    of read scopes would starve writers), except a thread that already
//    reads (it would wait for the writer, which waits for it); and the read
//    scopes waiting when a writer lets go get in before the next writer (a
//    writer committing back to back would otherwise starve readers: each one
//    woken found the next transaction waiting again). Neither side waits for
//    more than one phase of the other;
//  - hand_off(): a committing transaction may pass the exclusive lock
//    straight to a waiting writer, with no reader let in between, while its
//    journal record waits for the fsync the next writer's record will share
//    (group commit). std::shared_mutex must be unlocked by the thread that
//    locked it, and unlocking it may let readers in first.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace relstore::detail {

/// The flag that cancels this thread's waits for a store's lock:
/// set for the threads of relstore::durable and relstore::follower, whose
/// destructors may run on a thread holding the read scope such a wait is
/// for, and would otherwise join a thread that waits for them.
inline thread_local const std::atomic<bool>* wait_cancel = nullptr;

class store_lock {
public:
    /// Takes the lock shared. `nested`: this thread already holds it shared,
    /// so it must not wait behind a waiting writer (that writer waits for it).
    /// Returns false, without the lock, when *cancel is set (and
    /// wake_waiters() called) while it waits.
    bool lock_shared(bool nested, const std::atomic<bool>* cancel = nullptr) {
        std::unique_lock l(m_);
        if (writer_ || (!nested && writers_waiting_ != 0)) {
            const std::uint64_t phase = phase_;
            ++readers_waiting_;
            const auto admitted = [&] { return !writer_ && (nested || writers_waiting_ == 0 || phase_ != phase); };
            readers_cv_.wait(l, [&] { return admitted() || (cancel && cancel->load(std::memory_order_relaxed)); });
            --readers_waiting_;
            if (!admitted()) {
                // Cancelled: a writer may be waiting for this reader's turn to pass.
                if (phase_ != phase && admitting_ != 0 && --admitting_ == 0 && readers_ == 0) writers_cv_.notify_all();
                return false;
            }
            // Admitted by the writer that let go (see unlock): the next writer waits for us.
            if (phase_ != phase && admitting_ != 0) --admitting_;
        }
        ++readers_;
        return true;
    }

    void unlock_shared() noexcept {
        std::lock_guard l(m_);
        if (--readers_ == 0 && admitting_ == 0 && writers_waiting_ != 0) writers_cv_.notify_one();
    }

    /// Takes the lock exclusive, before any read scope that starts waiting after it.
    void lock() { (void)lock(nullptr); }
    /// lock(), unless *cancel is set (and wake_waiters() called) while it
    /// waits: then returns false without the lock.
    bool lock(const std::atomic<bool>* cancel) {
        std::unique_lock l(m_);
        ++writers_waiting_;
        const auto free = [&] { return !writer_ && readers_ == 0 && admitting_ == 0; };
        writers_cv_.wait(l, [&] { return free() || (cancel && cancel->load(std::memory_order_relaxed)); });
        --writers_waiting_;
        if (!free()) {
            readers_cv_.notify_all();  // read scopes that waited behind this writer
            return false;
        }
        writer_ = true;
        return true;
    }
    /// True while a writer or a reader holds the lock (for the store's
    /// destructor, which must not free what they use).
    [[nodiscard]] bool held() const noexcept {
        std::lock_guard l(m_);
        return writer_ || readers_ != 0;
    }

    /// Wakes every wait, for a cancel (see lock(cancel)) to take effect.
    void wake_waiters() noexcept {
        std::lock_guard l(m_);
        writers_cv_.notify_all();
        readers_cv_.notify_all();
    }

    void unlock() noexcept {
        std::lock_guard l(m_);
        writer_ = false;
        if (readers_waiting_ != 0) {
            // A new phase: every read scope waiting now gets in before any writer.
            ++phase_;
            admitting_ = readers_waiting_;
            readers_cv_.notify_all();
        } else if (writers_waiting_ != 0) {
            writers_cv_.notify_one();
        } else {
            readers_cv_.notify_all();
        }
    }

    /// Read scopes and writers waiting for the lock now (for tests).
    [[nodiscard]] std::size_t readers_waiting() const {
        std::lock_guard l(m_);
        return readers_waiting_;
    }
    [[nodiscard]] std::size_t writers_waiting() const {
        std::lock_guard l(m_);
        return writers_waiting_;
    }

    /// Passes the exclusive lock to a writer that waits for it, if one does:
    /// readers stay out (they wait while a writer waits). Returns false, the
    /// caller keeping the lock, when none waits.
    bool hand_off() noexcept {
        std::lock_guard l(m_);
        if (writers_waiting_ == 0) return false;
        writer_ = false;
        writers_cv_.notify_one();
        return true;
    }

private:
    mutable std::mutex m_;
    std::condition_variable readers_cv_;
    std::condition_variable writers_cv_;
    std::size_t readers_ = 0;
    std::size_t writers_waiting_ = 0;
    std::size_t readers_waiting_ = 0;
    std::size_t admitting_ = 0;  // readers of the current phase not yet in
    std::uint64_t phase_ = 0;    // writers that let go with readers waiting
    bool writer_ = false;
};

}  // namespace relstore::detail
