#include <relstore/reader_thread.hpp>

#include <relstore/detail/scopes.hpp>
#include <relstore/detail/unforked.hpp>
#include <relstore/error.hpp>

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <exception>
#include <string>
#include <system_error>

namespace relstore {

struct reader_thread::state {
    std::unique_ptr<task> work;
    void* mapping = nullptr;
    std::size_t mapping_bytes = 0;
    pthread_t handle{};
};

namespace {

// noexcept: an exception escaping the task ends the process, as with std::thread.
[[gnu::noinline]] void run_unforked(reader_thread::state* s) noexcept {
    detail::on_unforked_stack() = true;
    detail::scope_list scopes;
    detail::this_thread_scopes().keep_list_in(&scopes);
    s->work->run();
    detail::this_thread_scopes().keep_list_in(nullptr);
}

void* run_task(void* arg) noexcept {
    auto* s = static_cast<reader_thread::state*>(arg);
    // The stack below this frame is left out of forks. Not the top of the
    // mapping, where glibc keeps this thread's control block and static
    // thread-local storage: a child forked by another thread writes to the
    // control blocks linked with its own (glibc unlinks the forking thread
    // from its list of threads), so they must exist there. The scope list,
    // which each read scope writes, moves from thread-local storage onto the
    // left-out stack, in run_unforked's frame.
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto low = reinterpret_cast<std::uintptr_t>(s->mapping) + page;  // above the guard page
    const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    const std::uintptr_t high = (here & ~(page - 1)) - page;  // a page below this frame
    if (high > low) (void)::madvise(reinterpret_cast<void*>(low), high - low, MADV_DONTFORK);
    // Every frame from here on starts below `high`.
    void* pad = __builtin_alloca(here - high + 256);
    asm volatile("" : : "r"(pad) : "memory");
    run_unforked(s);
    return nullptr;
}

[[noreturn]] void throw_errno(int err, const char* what) { throw std::system_error(err, std::generic_category(), what); }

}  // namespace

void reader_thread::start(std::size_t stack_bytes, std::unique_ptr<task> t) {
    if (stack_bytes < min_stack_bytes)
        throw usage_error("relstore::reader_thread: a stack of " + std::to_string(stack_bytes) +
                          " bytes is too small; it must be at least " + std::to_string(min_stack_bytes));
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t stack = (stack_bytes + page - 1) / page * page;
    auto s = std::make_unique<state>();
    s->work = std::move(t);
    // glibc puts the thread's control block and static thread-local storage
    // at the top of the stack it is given (see run_task): room for them
    // beside the stack asked for. Their size is not published (ThreadSanitizer
    // alone adds 0.9 MiB); pthread_create says EINVAL when they do not fit,
    // and the room grows. Pages never touched cost address space only.
    for (std::size_t room = std::size_t{2} << 20;; room *= 4) {
        // A guard page below the stack, as glibc gives its own threads: an
        // overflow faults instead of writing over whatever lies below.
        const std::size_t bytes = page + stack + room;
        void* mem = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (mem == MAP_FAILED) throw_errno(errno, "relstore::reader_thread: cannot map its stack");
        int err = ::mprotect(mem, page, PROT_NONE) == 0 ? 0 : errno;
        pthread_attr_t attr;
        if (err == 0) err = ::pthread_attr_init(&attr);
        if (err == 0) {
            s->mapping = mem;
            s->mapping_bytes = bytes;
            err = ::pthread_attr_setstack(&attr, static_cast<char*>(mem) + page, stack + room);
            if (err == 0) err = ::pthread_create(&s->handle, &attr, run_task, s.get());
            ::pthread_attr_destroy(&attr);
        }
        if (err == 0) break;
        ::munmap(mem, bytes);
        if (err != EINVAL || room >= (std::size_t{512} << 20))
            throw_errno(err, "relstore::reader_thread: cannot start the thread");
    }
    state_ = s.release();
}

void reader_thread::join() {
    if (!state_) throw usage_error("relstore::reader_thread::join: the thread is not joinable (joined or moved from)");
    if (::pthread_equal(::pthread_self(), state_->handle))
        throw usage_error("relstore::reader_thread::join: called on the thread itself (it would wait for itself)");
    const int err = ::pthread_join(state_->handle, nullptr);
    if (err != 0) throw_errno(err, "relstore::reader_thread::join");
    ::munmap(state_->mapping, state_->mapping_bytes);
    delete state_;
    state_ = nullptr;
}

}  // namespace relstore
