#pragma once
// Memory that a fork() does not copy into the child (MADV_WIPEONFORK).
//
// A save forks a child that encodes the store from its copy-on-write image
// (snapshot.hpp). While fork() copies the page tables it write-protects every
// private page of the process and holds the address space locked, so a
// thread that writes to any page during those milliseconds faults and waits
// for the fork to end (docs/concurrency.md, "A reader that a fork never
// stops"). With store_options::reads_never_wait_for_fork, what a read scope
// writes (the store's lock, the readers' pins) lives in memory the fork
// leaves out: its pages are never write-protected, and writing them never
// enters the kernel. A save's child never touches them: it reads the rows
// through the scope the saving thread opened before the fork. Any other
// child finds them zeroed (not unmapped): the store sees that and refuses.
#include <cstddef>
#include <new>
#include <utility>

#include <sys/mman.h>
#include <unistd.h>

namespace relstore::detail {

/// One T, with leave_out: in pages of its own, advised MADV_WIPEONFORK (a
/// child forked later finds them zero). Without, or where no mapping can be
/// had (the process's limit of mappings, no memory) or the platform has no
/// such advice: inside this object, as a plain member would be (no
/// allocation, no pointer to follow to another cache line), only a fork may
/// then make its writers wait.
template <class T>
class unforked {
public:
    template <class... Args>
    explicit unforked(bool leave_out, Args&&... args) {
        void* mem = leave_out ? map() : nullptr;
        mapped_ = mem != nullptr;
        if (!mapped_) mem = in_place_;
        try {
            p_ = ::new (mem) T(std::forward<Args>(args)...);
        } catch (...) {
            if (mapped_) ::munmap(mem, bytes());
            throw;
        }
    }
    ~unforked() {
        p_->~T();
        if (mapped_) ::munmap(p_, bytes());
    }
    unforked(const unforked&) = delete;
    unforked& operator=(const unforked&) = delete;

    [[nodiscard]] T& operator*() const noexcept { return *p_; }
    [[nodiscard]] T* operator->() const noexcept { return p_; }
    /// False when the object lies inside this one (see the class comment).
    [[nodiscard]] bool left_out_of_forks() const noexcept { return mapped_; }

private:
    static std::size_t bytes() noexcept {
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        return (sizeof(T) + page - 1) / page * page;
    }
    static void* map() noexcept {
        static_assert(alignof(T) <= 4096, "relstore: unforked<T> aligns T on a page at most");
#ifdef MADV_WIPEONFORK
        void* mem = ::mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) return nullptr;
        if (::madvise(mem, bytes(), MADV_WIPEONFORK) != 0) {
            ::munmap(mem, bytes());
            return nullptr;
        }
        return mem;
#else
        return nullptr;
#endif
    }
    T* p_ = nullptr;
    bool mapped_ = false;
    alignas(T) unsigned char in_place_[sizeof(T)];
};

/// True on a relstore::reader_thread: its stack is left out of forks, so
/// this thread must not fork (the child would run on a stack it does not
/// have).
inline bool& on_unforked_stack() noexcept {
    thread_local bool unforked_stack = false;
    return unforked_stack;
}

}  // namespace relstore::detail
