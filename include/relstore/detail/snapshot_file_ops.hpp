#pragma once
/// @file snapshot_file_ops.hpp
/// The seam between the snapshot file layer and the operating system. Tests
/// replace these functions to inject ENOSPC, EIO, short writes or EACCES on
/// any call; production code never touches it.

#include <sys/stat.h>
#include <sys/types.h>

namespace relstore::detail {

/// The POSIX calls the snapshot file layer makes, as replaceable function pointers.
/// Each has the POSIX signature and reports failure through errno.
struct file_ops {
    int (*open)(const char* path, int flags, mode_t mode);
    ssize_t (*read)(int fd, void* buf, size_t n);
    ssize_t (*pwrite)(int fd, const void* buf, size_t n, off_t offset);
    int (*fsync)(int fd);
    int (*close)(int fd);
    int (*rename)(const char* from, const char* to);
    int (*unlink)(const char* path);
    int (*fstat)(int fd, struct stat* st);
    int (*ftruncate)(int fd, off_t length);  // the journal cuts a refused record off its file
    // The journal's sync of a record written inside space it allocated ahead
    // (the file's size and extents unchanged since the last fsync).
    int (*fdatasync)(int fd);
    // fallocate(2) with mode 0 (allocates and extends the file; reads give
    // zeros); fails with EOPNOTSUPP where the file system or the system has
    // no such call, and the journal then writes zeros instead.
    int (*fallocate)(int fd, off_t offset, off_t length);
    // A large snapshot's second half is read by a second thread, at its offset.
    ssize_t (*pread)(int fd, void* buf, size_t n, off_t offset);
    // A follower looks at which file the journal's name holds (a checkpoint
    // renames a new one over it).
    int (*stat)(const char* path, struct stat* st);
};

/// The real POSIX calls.
[[nodiscard]] file_ops system_file_ops() noexcept;

/// The calls in use. Not synchronized: replace them only while no snapshot is
/// being read or written (tests do it before starting).
file_ops& current_file_ops() noexcept;

/// Installs replacement calls for its lifetime (tests only).
class scoped_file_ops {
public:
    /// Installs ops; the previous ones come back on destruction.
    explicit scoped_file_ops(const file_ops& ops) noexcept : saved_(current_file_ops()) { current_file_ops() = ops; }
    scoped_file_ops(const scoped_file_ops&) = delete;
    scoped_file_ops& operator=(const scoped_file_ops&) = delete;
    ~scoped_file_ops() { current_file_ops() = saved_; }

private:
    file_ops saved_;
};

}  // namespace relstore::detail
