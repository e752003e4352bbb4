#pragma once
// The lock of a store: shared for read scopes, exclusive for a transaction.
// Its own rather than std::shared_mutex for two reasons:
//  - writer preference that does not depend on the platform: a waiting
//    writer keeps new read scopes out (glibc's rwlock prefers readers, and a
//    stream of read scopes would starve writers), except a thread that
//    already reads (it would wait for the writer, which waits for it);
//  - hand_off(): a committing transaction may pass the exclusive lock
//    straight to a waiting writer, with no reader let in between, while its
//    journal record waits for the fsync the next writer's record will share
//    (group commit). std::shared_mutex must be unlocked by the thread that
//    locked it, and unlocking it may let readers in first.

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace relstore::detail {

class store_lock {
public:
    /// Takes the lock shared. `nested`: this thread already holds it shared,
    /// so it must not wait behind a waiting writer (that writer waits for it).
    void lock_shared(bool nested) {
        std::unique_lock l(m_);
        readers_cv_.wait(l, [&] { return !writer_ && (nested || writers_waiting_ == 0); });
        ++readers_;
    }

    void unlock_shared() noexcept {
        std::lock_guard l(m_);
        if (--readers_ == 0 && writers_waiting_ != 0) writers_cv_.notify_one();
    }

    /// Takes the lock exclusive, before any read scope that starts waiting after it.
    void lock() {
        std::unique_lock l(m_);
        ++writers_waiting_;
        writers_cv_.wait(l, [&] { return !writer_ && readers_ == 0; });
        --writers_waiting_;
        writer_ = true;
    }

    void unlock() noexcept {
        std::lock_guard l(m_);
        writer_ = false;
        if (writers_waiting_ != 0)
            writers_cv_.notify_one();
        else
            readers_cv_.notify_all();
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
    std::mutex m_;
    std::condition_variable readers_cv_;
    std::condition_variable writers_cv_;
    std::size_t readers_ = 0;
    std::size_t writers_waiting_ = 0;
    bool writer_ = false;
};

}  // namespace relstore::detail
