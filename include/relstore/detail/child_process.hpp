#pragma once
// Saving from a child process (Redis's BGSAVE): the child writes a
// copy-on-write image of the store while the parent's readers and writers
// go on. Compiled in core/child_process.cpp.

#include <functional>
#include <string>

#include <relstore/detail/sanitizers.hpp>

namespace relstore::detail {

/// Forks; the child lowers its priority by `nice` levels (0 to 19), runs
/// `work` and exits, reporting an exception it threw through a pipe; the
/// parent calls `forked` at once (to let go of the view the child took with
/// it), then waits for the child's report and rethrows its error as the same
/// relstore error (or a snapshot_error naming `path` when the child died or
/// failed otherwise). After a success the parent
/// does not wait for the child's exit: a later call reaps it.
/// The child must not take any lock another thread of the parent may have
/// held at the fork. It may start threads where child_may_start_threads.
void run_in_child(const std::string& path, int nice, const std::function<void()>& work,
                  const std::function<void()>& forked);

/// Whether a save's child may start threads (its writer, its ordering
/// helpers): glibc's fork leaves the child of a multi-threaded process able
/// to, and the child holds no lock of the parent's. Not under
/// ThreadSanitizer, whose runtime ends such a child when it starts one
/// ("starting new threads after multi-threaded fork is not supported"), nor
/// under AddressSanitizer, where a thread started in a forked child cost
/// about 0.2 s (a test of 40 small saves beside three allocating threads:
/// 12 s instead of 3).
#if defined(RELSTORE_DETAIL_ASAN) || defined(RELSTORE_DETAIL_TSAN)
inline constexpr bool child_may_start_threads = false;
#else
inline constexpr bool child_may_start_threads = true;
#endif

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
