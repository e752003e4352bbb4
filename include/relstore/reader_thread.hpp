#pragma once
// relstore::reader_thread: a thread whose reads a save never stops.
//
// A save forks a child that writes the snapshot from a copy-on-write image.
// fork() copies the process's page tables (tens of milliseconds per GiB of
// resident memory on 4 KiB pages) and, meanwhile, any thread of the process
// that writes to memory it had before the fork waits for the fork to end: its
// stack, its thread-local variables, a lock word. A read scope opened on a
// reader_thread writes only memory a fork leaves out: the thread's stack
// (this class maps it MADV_DONTFORK below its first frame, and keeps the
// thread's list of open scopes there) and the store's lock and pins when
// the store has store_options::reads_never_wait_for_fork (see
// detail/unforked.hpp). Its lookups therefore never wait for a save's fork;
// docs/concurrency.md, "A reader that a fork never stops", has the
// measurements.
//
// What the function run on it must not do, to keep that promise: allocate
// while a save forks (glibc's fork holds malloc's locks), or write to memory
// on the heap or to thread-local variables (a fault; glibc needs the
// thread's control block, which lies beside them, in every child): each is a
// wait, not an error. Keep what it writes in its local variables. What it must not do at all: fork, or save in a
// child process (the child would run on a stack it does not have): save()
// says so with a usage_error; use save_options{.in_child_process = false}
// or another thread.
#include <cstddef>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace relstore {

/// The size of a reader_thread's stack: what its function gets at least.
/// relstore maps more beside it, for glibc's control block of the thread and
/// its static thread-local storage (address space only until touched).
struct stack_size {
    std::size_t bytes;
};

/// A thread, as std::jthread without stop tokens: runs f(args...) on a stack
/// and thread-local storage that a save's fork() does not copy (see the file
/// comment). Joined by its destructor. An exception escaping f calls
/// std::terminate, as with std::thread.
class reader_thread {
public:
    /// 8 MiB: glibc's default for a thread's stack.
    static constexpr std::size_t default_stack_bytes = std::size_t{8} << 20;
    /// The least stack accepted.
    static constexpr std::size_t min_stack_bytes = std::size_t{64} << 10;

    reader_thread() noexcept = default;
    template <class F, class... Args>
        requires(!std::is_same_v<std::remove_cvref_t<F>, stack_size> &&
                 !std::is_same_v<std::remove_cvref_t<F>, reader_thread>)
    explicit reader_thread(F&& f, Args&&... args)
        : reader_thread(stack_size{default_stack_bytes}, std::forward<F>(f), std::forward<Args>(args)...) {}
    /// @throws usage_error when size.bytes is below min_stack_bytes;
    /// std::system_error when the stack cannot be mapped or the thread started.
    template <class F, class... Args>
    reader_thread(stack_size size, F&& f, Args&&... args) {
        auto call = [fn = std::decay_t<F>(std::forward<F>(f)),
                     tup = std::tuple<std::decay_t<Args>...>(std::forward<Args>(args)...)]() mutable {
            std::apply(fn, std::move(tup));
        };
        start(size.bytes, std::make_unique<task_of<decltype(call)>>(std::move(call)));
    }
    ~reader_thread() {
        if (joinable()) join();
    }
    reader_thread(reader_thread&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    /// Joins this thread first when it is joinable, as std::jthread does.
    reader_thread& operator=(reader_thread&& other) noexcept {
        if (this != &other) {
            if (joinable()) join();
            state_ = std::exchange(other.state_, nullptr);
        }
        return *this;
    }
    reader_thread(const reader_thread&) = delete;
    reader_thread& operator=(const reader_thread&) = delete;

    [[nodiscard]] bool joinable() const noexcept { return state_ != nullptr; }
    /// Waits for f to return, then unmaps the stack.
    /// @throws usage_error when not joinable, or called on this thread itself.
    void join();

    struct task {
        virtual ~task() = default;
        virtual void run() = 0;
    };
    struct state;

private:
    template <class C>
    struct task_of final : task {
        explicit task_of(C c) : call(std::move(c)) {}
        void run() override { call(); }
        C call;
    };
    void start(std::size_t stack_bytes, std::unique_ptr<task> t);

    state* state_ = nullptr;
};

}  // namespace relstore
