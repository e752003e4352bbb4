#pragma once
// Saving from a child process (Redis's BGSAVE): the child writes a
// copy-on-write image of the store while the parent's readers and writers
// go on. Compiled in core/child_process.cpp.

#include <functional>
#include <string>

namespace relstore::detail {

/// Forks; the child lowers its priority by `nice` levels (0 to 19), runs
/// `work` and exits, reporting an exception it threw through a pipe; the
/// parent calls `forked` at once (to let go of the view the child took with
/// it), then waits for the child's report and rethrows its error as the same
/// relstore error (or a snapshot_error naming `path` when the child died or
/// failed otherwise). After a success the parent
/// does not wait for the child's exit: a later call reaps it.
/// The child must not take any lock another thread of the parent may have
/// held at the fork, nor start threads: it runs `work` alone.
void run_in_child(const std::string& path, int nice, const std::function<void()>& work,
                  const std::function<void()>& forked);

/// Marks fd as one a save's child closes first thing: a lock (a journal's
/// writer lock) that must go when this process dies, even while a child it
/// forked is still writing. At most 64 at once; more are not closed (the
/// lock then lasts until the child exits). Safe from any thread.
void close_in_children(int fd) noexcept;
/// Undoes close_in_children(fd), before fd is closed.
void keep_in_children(int fd) noexcept;

/// Closes fd once nobody waits for this save any more: in a save's child,
/// after its report is sent; elsewhere at once. For a reference to the file
/// a save replaced, whose last close frees its pages from the page cache
/// (tens of milliseconds for a large snapshot), work the caller of save()
/// need not wait for.
void close_after_report(int fd) noexcept;

}  // namespace relstore::detail
