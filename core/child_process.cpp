#include <relstore/detail/child_process.hpp>
#include <relstore/error.hpp>
#include <relstore/detail/unforked.hpp>
#include <relstore/snapshot_format.hpp>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#ifdef RELSTORE_DETAIL_ASAN
// AddressSanitizer runtimes before LLVM 18 (llvm-project PR 75290) and GCC 15
// take no lock around fork(): a child forked while another thread was inside
// the sanitizer's allocator or stack depot waits forever on a lock nobody will
// release. A save's child allocates, so a multi-threaded program under such a
// runtime hung in its save. These are the functions the newer runtimes call
// from their own fork handler; the runtime linked statically (clang's) defines
// them, and where they are absent (GCC's shared libasan hides them) the weak
// references stay null and nothing is locked.
namespace __lsan {
[[gnu::weak]] void LockThreadRegistry();
[[gnu::weak]] void UnlockThreadRegistry();
[[gnu::weak]] void LockAllocator();
[[gnu::weak]] void UnlockAllocator();
}  // namespace __lsan
namespace __sanitizer {
[[gnu::weak]] void StackDepotLockAll();
[[gnu::weak]] void StackDepotUnlockAll();
}  // namespace __sanitizer
// The locks above leave one out: that of AddressSanitizer's quarantine (the
// freed blocks it keeps back to catch a use after free). A child forked
// while another thread moved its blocks into the shared quarantine spun
// forever in Quarantine::Drain on its next delete (seen in CI: a save's
// child under ASan, beside threads that allocate). So the
// parent empties its own thread's quarantine cache before the fork, and the
// child turns the quarantine off: a delete then frees at once, never
// touching the shared quarantine, whose state the fork may have cut in
// half. Quarantine::Init, which ReInitializeAllocator calls, also unlocks
// its locks. AllocatorOptions is the runtime's: its first two fields have
// been the quarantine's sizes (u32 MiB, u32 KiB) in clang 14's runtime and
// in LLVM's sources since; the rest is copied back as the runtime gave it.
namespace __asan {
struct AllocatorOptions;
[[gnu::weak]] void GetAllocatorOptions(AllocatorOptions* options);
[[gnu::weak]] void ReInitializeAllocator(const AllocatorOptions& options);
[[gnu::weak]] bool CanPoisonMemory();
[[gnu::weak]] void SetCanPoisonMemory(bool value);
}  // namespace __asan
extern "C" [[gnu::weak]] void __sanitizer_purge_allocator();
#endif

namespace relstore::detail {
namespace {

/// Holds the sanitizer runtime's locks across fork() (see above); a no-op in
/// builds without AddressSanitizer. Unlocked in both processes after the fork.
class sanitizer_fork_guard {
public:
    sanitizer_fork_guard() noexcept {
#ifdef RELSTORE_DETAIL_ASAN
        active_ = &__lsan::LockThreadRegistry != nullptr && &__lsan::UnlockThreadRegistry != nullptr &&
                  &__lsan::LockAllocator != nullptr && &__lsan::UnlockAllocator != nullptr &&
                  &__sanitizer::StackDepotLockAll != nullptr && &__sanitizer::StackDepotUnlockAll != nullptr;
        if (!active_) return;
        if (&__sanitizer_purge_allocator != nullptr) __sanitizer_purge_allocator();
        __lsan::LockThreadRegistry();
        __lsan::LockAllocator();
        __sanitizer::StackDepotLockAll();
#endif
    }
    void release() noexcept {
#ifdef RELSTORE_DETAIL_ASAN
        if (!active_) return;
        active_ = false;
        __sanitizer::StackDepotUnlockAll();
        __lsan::UnlockAllocator();
        __lsan::UnlockThreadRegistry();
#endif
    }
    /// In the child, after release(): no quarantine (see above).
    static void in_child() noexcept {
#ifdef RELSTORE_DETAIL_ASAN
        if (&__asan::GetAllocatorOptions == nullptr || &__asan::ReInitializeAllocator == nullptr) return;
        alignas(16) unsigned char options[256] = {};  // larger than any version's AllocatorOptions
        __asan::GetAllocatorOptions(reinterpret_cast<__asan::AllocatorOptions*>(options));
        std::memset(options, 0, 2 * sizeof(std::uint32_t));
        // ReInitializeAllocator also re-poisons every block of the heap (for a
        // runtime activated late); the child's shadow is the parent's, right
        // already, and the walk took ~150 ms per save with the quarantine full.
        const bool poisons = &__asan::CanPoisonMemory != nullptr && &__asan::SetCanPoisonMemory != nullptr &&
                             __asan::CanPoisonMemory();
        if (poisons) __asan::SetCanPoisonMemory(false);
        __asan::ReInitializeAllocator(*reinterpret_cast<const __asan::AllocatorOptions*>(options));
        if (poisons) __asan::SetCanPoisonMemory(true);
#endif
    }
    ~sanitizer_fork_guard() { release(); }
    sanitizer_fork_guard(const sanitizer_fork_guard&) = delete;
    sanitizer_fork_guard& operator=(const sanitizer_fork_guard&) = delete;

private:
    [[maybe_unused]] bool active_ = false;
};

// Lock-free, so that the child can read it after a fork that may have
// happened while another thread was registering.
std::atomic<int> closed_in_children[64] = {};
constexpr int free_slot = 0;  // fds are stored + 1: zero-initialised means free

// The child's report: one kind byte, then for errors the code, the offset
// (present or not) and the path and message, each with its length.
enum class outcome : std::uint8_t { ok = 0, snapshot_failure = 1, usage_failure = 2, other_failure = 3 };

void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& out, const std::string& s) {
    put_u64(out, s.size());
    out += s;
}

struct report_reader {
    const std::string& in;
    std::size_t at = 0;
    bool ok = true;
    std::uint64_t u64() {
        std::uint64_t v = 0;
        if (in.size() - at < sizeof v) return ok = false, 0;
        std::memcpy(&v, in.data() + at, sizeof v);
        at += sizeof v;
        return v;
    }
    std::string str() {
        const std::uint64_t n = u64();
        if (!ok || in.size() - at < n) return ok = false, std::string();
        std::string s = in.substr(at, static_cast<std::size_t>(n));
        at += static_cast<std::size_t>(n);
        return s;
    }
};

std::string child_report() {
    std::string r;
    try {
        std::rethrow_exception(std::current_exception());
    } catch (const snapshot_error& e) {
        r += static_cast<char>(outcome::snapshot_failure);
        put_u64(r, static_cast<std::uint64_t>(e.code().value()));
        put_u64(r, e.offset() ? 1 : 0);
        put_u64(r, e.offset().value_or(0));
        put_str(r, e.path());
        put_str(r, e.what());
    } catch (const usage_error& e) {
        r += static_cast<char>(outcome::usage_failure);
        put_str(r, e.what());
    } catch (const std::exception& e) {
        r += static_cast<char>(outcome::other_failure);
        put_str(r, e.what());
    } catch (...) {
        r += static_cast<char>(outcome::other_failure);
        put_str(r, "an exception that is not a std::exception");
    }
    return r;
}

// Set in a save's child only (one thread, so no synchronisation).
bool in_save_child = false;
std::vector<int> closed_after_report;

// Children that reported success and were still exiting when their parent
// read the report: reaped by a later save instead of waited for. A child
// tears down its copy-on-write view of this process's memory on exit, which
// took 20-35 ms for a 0.9 GB process, after the file was already in place.
std::mutex exiting_mu;
std::vector<pid_t> exiting;

void reap_exited() noexcept {
    std::lock_guard lock(exiting_mu);
    std::erase_if(exiting, [](pid_t pid) {
        int status = 0;
        pid_t got;
        while ((got = ::waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
        }
        return got != 0;  // reaped, or not ours to reap any more (ECHILD)
    });
}

void reap_later(pid_t pid) noexcept {
    std::lock_guard lock(exiting_mu);
    try {
        exiting.push_back(pid);
    } catch (...) {
        // No memory to remember it: wait for it now, as before.
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

[[noreturn]] void fail(const std::string& path, const std::string& why) {
    throw snapshot_error(errc::io, path, std::nullopt, "snapshot " + quoted_name(path) + ": cannot save: " + why +
                                                           "; the previous snapshot is unchanged");
}

}  // namespace

void run_in_child(const std::string& path, int nice, const std::function<void()>& work,
                  const std::function<void()>& forked) {
    if (on_unforked_stack()) {
        forked();
        throw usage_error("save " + quoted_name(path) +
                          ": called on a relstore::reader_thread, whose stack a fork does not copy (the save's child "
                          "would have none); save from another thread, or with save_options{.in_child_process = false}");
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        const int err = errno;
        forked();
        fail(path, std::string("pipe failed: ") + std::strerror(err));
    }
    reap_exited();
    const pid_t parent = ::getpid();
    sanitizer_fork_guard guard;
    const pid_t pid = ::fork();
    guard.release();
    if (pid == 0) {
        sanitizer_fork_guard::in_child();
        // A save whose caller died has nobody to report to, and its file
        // would appear after the caller's crash: the child dies with it.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        // Lowering one's own priority cannot be refused (raising it can);
        // the child has one thread, so this is the whole process.
        if (nice > 0) (void)::setpriority(PRIO_PROCESS, 0, std::min(19, ::getpriority(PRIO_PROCESS, 0) + nice));
        for (auto& slot : closed_in_children)
            if (const int fd = slot.load(std::memory_order_acquire); fd != free_slot) ::close(fd - 1);
        ::close(fds[0]);
        in_save_child = true;
        std::string report(1, static_cast<char>(outcome::ok));
        try {
            work();
        } catch (...) {
            report = child_report();
        }
        for (std::size_t done = 0; done < report.size();) {
            const ssize_t n = ::write(fds[1], report.data() + done, report.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        // The parent reads to the end of the pipe: end it now, not when
        // this process's memory is torn down, and only then do the work
        // nobody waits for.
        ::close(fds[1]);
        for (const int fd : closed_after_report) ::close(fd);
        ::_exit(0);  // not exit(): the parent's atexit handlers and buffers are the parent's
    }
    const int fork_error = pid < 0 ? errno : 0;
    forked();
    ::close(fds[1]);
    if (pid < 0) {
        ::close(fds[0]);
        fail(path, std::string("fork failed: ") + std::strerror(fork_error));
    }
    std::string report;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        report.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    if (report.size() == 1 && static_cast<outcome>(report[0]) == outcome::ok) {
        // The file is in place and durable: the child only has its exit left.
        pid_t got;
        while ((got = ::waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
        }
        if (got == 0) reap_later(pid);
        return;
    }
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status))
        fail(path, "the process writing it (pid " + std::to_string(pid) + ") was killed by signal " +
                       std::to_string(WTERMSIG(status)));
    if (report.empty()) fail(path, "the process writing it (pid " + std::to_string(pid) + ") exited without a word");
    report_reader r{report, 1};
    switch (static_cast<outcome>(report[0])) {
    case outcome::ok: return;
    case outcome::snapshot_failure: {
        const auto code = static_cast<errc>(r.u64());
        const bool has_offset = r.u64() != 0;
        const std::uint64_t offset = r.u64();
        std::string p = r.str();
        std::string what = r.str();
        if (r.ok)
            throw snapshot_error(code, std::move(p), has_offset ? std::optional<std::uint64_t>(offset) : std::nullopt,
                                 what);
        break;
    }
    case outcome::usage_failure: {
        std::string what = r.str();
        if (r.ok) throw usage_error(what);
        break;
    }
    case outcome::other_failure: {
        std::string what = r.str();
        if (r.ok) fail(path, what);
        break;
    }
    }
    fail(path, "the process writing it sent a report that cannot be read");
}

void close_in_children(int fd) noexcept {
    for (auto& slot : closed_in_children) {
        int expected = free_slot;
        if (slot.compare_exchange_strong(expected, fd + 1, std::memory_order_acq_rel)) return;
    }
}

void close_after_report(int fd) noexcept {
    if (in_save_child) {
        try {
            closed_after_report.push_back(fd);
            return;
        } catch (...) {
        }
    }
    ::close(fd);
}

void keep_in_children(int fd) noexcept {
    for (auto& slot : closed_in_children) {
        int expected = fd + 1;
        if (slot.compare_exchange_strong(expected, free_slot, std::memory_order_acq_rel)) return;
    }
}

}  // namespace relstore::detail
