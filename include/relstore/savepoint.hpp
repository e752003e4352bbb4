#pragma once
/// @file savepoint.hpp
/// savepoint<Store>: a nested transaction, taken with transaction::savepoint().

#include <relstore/fwd.hpp>

#include <cstddef>
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
    savepoint(savepoint&& o) noexcept : tx_(std::exchange(o.tx_, nullptr)), depth_(o.depth_) {
        if (tx_) tx_->savepoint_moved(&o, this);
    }
    // Ending it here, on whatever thread, rolls it back, as for a transaction.
    // Inside the user's code that a verb of the transaction runs, that
    // rollback would pull rows from under the verb: the program stops with
    // the message rollback() throws there.
    ~savepoint() {
        if (active()) {
            tx_->terminate_if_busy();
            tx_->rollback_to_depth(depth_);
        }
        detach();
    }

    /// Undoes every change since the savepoint was taken, and ends it.
    /// Does nothing once the savepoint has ended.
    /// @throws usage_error on a thread other than the one that began the
    /// transaction (it would write the store under that thread's lock).
    void rollback() {
        if (!active()) return;
        (void)tx_->mut();
        tx_->rollback_to_depth(depth_);
        detach();
    }
    /// Keeps the changes (they commit or roll back with the transaction), and
    /// ends it. Does nothing once the savepoint has ended.
    /// @throws usage_error on a thread other than the one that began the transaction.
    void release() {
        if (!active()) return;
        (void)tx_->mut();
        tx_->release_depth(depth_);
        detach();
    }
    /// False once released, rolled back, or ended by an enclosing rollback or
    /// commit, or by the end of its transaction.
    [[nodiscard]] bool active() const noexcept { return tx_ != nullptr; }

private:
    friend class transaction<Store>;
    // The transaction knows its live savepoints: it ends them when a
    // rollback or release goes below their depth or the transaction ends,
    // and points them at itself when it is moved. Without that, a savepoint
    // kept a pointer to a transaction destroyed or moved from, and one ended
    // by an enclosing rollback came back to life, as another savepoint's
    // alias, once a new savepoint took its depth.
    savepoint(transaction<Store>* tx, std::size_t depth) noexcept : tx_(tx), depth_(depth) {}
    void detach() noexcept {
        if (tx_) std::exchange(tx_, nullptr)->savepoint_ended(this);
    }
    transaction<Store>* tx_;
    std::size_t depth_;
};

}  // namespace relstore
