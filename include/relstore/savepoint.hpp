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
    savepoint(savepoint&& o) noexcept : tx_(std::exchange(o.tx_, nullptr)), depth_(o.depth_) {}
    ~savepoint() {
        if (active()) rollback();
    }

    /// Undoes every change since the savepoint was taken, and ends it.
    void rollback() noexcept {
        if (active()) tx_->rollback_to_depth(depth_);
        tx_ = nullptr;
    }
    /// Keeps the changes (they commit or roll back with the transaction), and ends it.
    void release() noexcept {
        if (active()) tx_->release_depth(depth_);
        tx_ = nullptr;
    }
    /// False once released, rolled back, or ended by an enclosing rollback or commit.
    [[nodiscard]] bool active() const noexcept { return tx_ && tx_->depth() > depth_; }

private:
    friend class transaction<Store>;
    savepoint(transaction<Store>* tx, std::size_t depth) : tx_(tx), depth_(depth) {}
    transaction<Store>* tx_;
    std::size_t depth_;
};

}  // namespace relstore
