#pragma once
// The seam between a store's commits and a journal (relstore/journal.hpp):
// what a transaction asks of the journal attached to its store, and the
// record of a commit that waits for the fsync it shares with later ones.

#include <relstore/changes.hpp>
#include <relstore/fwd.hpp>

#include <cstdint>
#include <exception>

namespace relstore::detail {

/// A journal, as the commit path sees it.
/// What a durable pair or a follower attaches to its store. A store
/// destroyed before it calls store_destroyed(): it stops its threads and
/// uses the store no more (before, its destructor or its next poll wrote to
/// the destroyed store).
class store_attachment {
public:
    virtual void store_destroyed() noexcept = 0;

protected:
    ~store_attachment() = default;
};

/// What relstore::durable hands its store when its destructor runs on a
/// thread that keeps every other writer out (its own transaction, or a read
/// scope's shared lock): the journal and the pair's lock, which the store
/// lets go of at its next exclusive lock or its end (see
/// store::retire_journal).
class retired_journal {
public:
    virtual ~retired_journal() = default;
};

template <class Store>
class commit_log {
public:
    virtual ~commit_log() = default;
    /// The position just past the last record written.
    [[nodiscard]] virtual std::uint64_t end_position() const noexcept = 0;
    /// Writes the record of a commit that changed something; called with the
    /// store held exclusively, before the commit takes effect. Returns the
    /// position just past the record. An exception refuses the commit (the
    /// transaction rolls back, the journal must stay as it was).
    virtual std::uint64_t append(const changes<Store>& c) = 0;
    /// True when commit() returns only once its record is durable
    /// (sync::every_commit); the store then groups concurrent commits.
    [[nodiscard]] virtual bool synchronous() const noexcept = 0;
    /// Makes every record up to `upto` durable; called with the store held.
    /// An exception rolls back every commit waiting for it.
    virtual void sync(std::uint64_t upto) = 0;
    /// After a failed sync: the records from `from` on belong to commits
    /// that were rolled back; the journal must not keep them.
    virtual void discard(std::uint64_t from) noexcept = 0;
};

/// A commit whose record waits for an fsync, in the group being made
/// durable. Lives in the frame of its committing thread, which waits for
/// `done`; the thread that syncs the group fills in `result`.
template <class Store, class Marks>
struct pending_commit {
    const changes<Store>* set;  // the commit's change set
    Marks start;                // the store's undo log marks when the transaction began
    std::uint64_t begin;        // the journal position of its record
    std::uint64_t end;          // and just past it
    std::exception_ptr result;  // the sync's failure, or its first subscriber's exception
    bool done = false;
};

}  // namespace relstore::detail
