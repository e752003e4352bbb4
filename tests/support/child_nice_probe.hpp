#pragma once
// The nice value a forked save's child ran at, for tests: while a probe
// lives, the snapshot layer's fsync, called in any process but this one,
// writes the calling thread's nice value into a page shared with it (a
// child's memory is its own), and its pwrite the highest priority (lowest
// nice) of the threads that wrote: the child writes on a thread of its own.

#include <relstore/detail/snapshot_file_ops.hpp>

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <optional>

namespace relstore_test {

class child_nice_probe {
public:
    /// What seen() says when no child synced a file.
    static constexpr int no_child = -100;

    child_nice_probe() {
        void* page = ::mmap(nullptr, 2 * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (page == MAP_FAILED) throw std::bad_alloc();
        seen_ = static_cast<int*>(page);
        seen_[0] = seen_[1] = no_child;
        current() = this;
        auto ops = relstore::detail::system_file_ops();
        ops.fsync = &fsync_noting_nice;
        ops.pwrite = &pwrite_noting_nice;
        inject_.emplace(ops);
    }
    child_nice_probe(const child_nice_probe&) = delete;
    child_nice_probe& operator=(const child_nice_probe&) = delete;
    ~child_nice_probe() {
        inject_.reset();
        current() = nullptr;
        ::munmap(seen_, 2 * sizeof(int));
    }

    /// The nice value of the last child that synced a file, or no_child.
    [[nodiscard]] int seen() const noexcept { return seen_[0]; }
    /// The lowest nice value of the child threads that wrote to a file, or no_child.
    [[nodiscard]] int writers_seen() const noexcept { return seen_[1]; }

private:
    static child_nice_probe*& current() {
        static child_nice_probe* probe = nullptr;
        return probe;
    }
    static int fsync_noting_nice(int fd) {
        if (const auto* self = current(); self != nullptr && ::getpid() != self->parent_) {
            errno = 0;
            self->seen_[0] = ::getpriority(PRIO_PROCESS, 0);
        }
        return relstore::detail::system_file_ops().fsync(fd);
    }
    static ssize_t pwrite_noting_nice(int fd, const void* data, size_t n, off_t at) {
        if (const auto* self = current(); self != nullptr && ::getpid() != self->parent_) {
            // One writer thread at a time in a child: no race on the slot.
            errno = 0;
            const int nice = ::getpriority(PRIO_PROCESS, 0);
            if (self->seen_[1] == no_child || nice < self->seen_[1]) self->seen_[1] = nice;
        }
        return relstore::detail::system_file_ops().pwrite(fd, data, n, at);
    }

    int* seen_ = nullptr;
    pid_t parent_ = ::getpid();
    std::optional<relstore::detail::scoped_file_ops> inject_;
};

}  // namespace relstore_test
