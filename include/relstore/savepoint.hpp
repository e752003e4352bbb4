#pragma once
/// @file savepoint.hpp
/// savepoint<Store>: a nested transaction, taken with transaction::savepoint().

#include <relstore/fwd.hpp>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <thread>
#include <utility>

namespace relstore {

/// A savepoint inside a transaction (SQLAlchemy's begin_nested()): rollback()
/// undoes what was done since it was taken; release() keeps it as part of
/// the enclosing transaction. Destroyed while active, it rolls back.
template <class Store>
class savepoint {
public:
    savepoint(const savepoint&) = delete;
    savepoint& operator=(const savepoint&) = delete;
    savepoint(savepoint&& o) noexcept : tx_(nullptr), db_(o.db_), owner_(o.owner_), depth_(o.depth_) {
        if (!o.active()) return;
        std::lock_guard lock(db_->savepoint_mu_);
        transaction<Store>* tx = o.tx_.exchange(nullptr, std::memory_order_relaxed);
        tx_.store(tx, std::memory_order_relaxed);
        if (tx) tx->savepoint_moved(&o, this);
    }
    /// Ending it while active rolls it back, on the thread that began the
    /// transaction; inside the user's code that a verb of the transaction
    /// runs, that would pull rows from under the verb, and the program stops
    /// with the message rollback() throws there. Ending it on another thread
    /// is a misuse that cannot throw here and cannot roll back here (the
    /// transaction's thread may be writing): the transaction's next write
    /// (insert, update, erase, commit, a savepoint or a savepoint's verb),
    /// on its thread, rolls it back and throws usage_error instead of doing
    /// anything else. Until then, reads through the transaction still see
    /// its changes; the transaction's rollback or an enclosing savepoint's
    /// covers it without an error.
    ~savepoint() {
        if (!active()) return;
        std::lock_guard lock(db_->savepoint_mu_);
        transaction<Store>* tx = tx_.load(std::memory_order_relaxed);
        if (!tx) return;  // ended by its transaction meanwhile
        if (std::this_thread::get_id() != owner_) {
            tx->abandon_locked(this);
            return;
        }
        tx->terminate_if_busy();
        tx->rollback_to_depth(depth_);
        if (tx_.load(std::memory_order_relaxed)) tx->savepoint_ended(this);
    }

    /// Undoes every change since the savepoint was taken, and ends it.
    /// Does nothing once the savepoint has ended.
    /// @throws usage_error on a thread other than the one that began the
    /// transaction (it would write the store under that thread's lock).
    void rollback() {
        end_with([](transaction<Store>& tx, std::size_t depth) { tx.rollback_to_depth(depth); });
    }
    /// Keeps the changes (they commit or roll back with the transaction), and
    /// ends it. Does nothing once the savepoint has ended.
    /// @throws usage_error on a thread other than the one that began the transaction.
    void release() {
        end_with([](transaction<Store>& tx, std::size_t depth) { tx.release_depth(depth); });
    }
    /// False once released, rolled back, or ended by an enclosing rollback or
    /// commit, or by the end of its transaction; also once ended on another
    /// thread (the savepoints it encloses stay active until its rollback).
    [[nodiscard]] bool active() const noexcept { return tx_.load(std::memory_order_acquire) != nullptr; }

private:
    friend class transaction<Store>;
    /// rollback() and release(): `end` at this savepoint's depth, on the
    /// transaction's thread (mut_locked() throws on another thread, and
    /// after rolling back a savepoint that was ended on another thread).
    template <class End>
    void end_with(End end) {
        if (!active()) return;
        std::lock_guard lock(db_->savepoint_mu_);
        transaction<Store>* tx = tx_.load(std::memory_order_relaxed);
        if (!tx) return;
        tx->mut_locked();
        end(*tx, depth_);
        if (tx_.load(std::memory_order_relaxed)) tx->savepoint_ended(this);  // whatever the depth bookkeeping did
    }
    // The transaction knows its live savepoints: it ends them when a
    // rollback or release goes below their depth or the transaction ends,
    // and points them at itself when it is moved. Without that, a savepoint
    // kept a pointer to a transaction destroyed or moved from, and one ended
    // by an enclosing rollback came back to life, as another savepoint's
    // alias, once a new savepoint took its depth. The link is atomic, and
    // changed only under the store's savepoint mutex, because either side
    // may be ended on another thread than the other's (see ~savepoint).
    savepoint(transaction<Store>* tx, Store* db, std::size_t depth) noexcept
        : tx_(tx), db_(db), owner_(std::this_thread::get_id()), depth_(depth) {}
    std::atomic<transaction<Store>*> tx_;
    Store* db_;  // outlives an active savepoint: a store destroyed under its transaction stops the program
    std::thread::id owner_;  // the transaction's thread
    std::size_t depth_;
};

}  // namespace relstore
