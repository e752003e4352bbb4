// The snapshot file layer: whole-file reads and crash-safe replacement
// (temporary file, fsync, rename, fsync of the directory), through the
// replaceable detail::file_ops seam so tests can inject failures.

#include "snapshot_internal.hpp"

#include <relstore/detail/child_process.hpp>
#include <relstore/detail/node_pool.hpp>
#include <relstore/detail/snapshot_file_ops.hpp>
#include <relstore/detail/threads.hpp>
#include <relstore/snapshot_format.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <deque>
#include <istream>
#include <memory>
#include <mutex>
#include <new>
#include <ostream>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

namespace relstore {
namespace detail {
namespace {

// Wrappers because open is variadic and some of these may be macros or
// inline functions in the C library, so their addresses are not portable.
int sys_open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
ssize_t sys_read(int fd, void* buf, size_t n) { return ::read(fd, buf, n); }
ssize_t sys_pwrite(int fd, const void* buf, size_t n, off_t off) { return ::pwrite(fd, buf, n, off); }
ssize_t sys_pread(int fd, void* buf, size_t n, off_t off) { return ::pread(fd, buf, n, off); }
int sys_fsync(int fd) { return ::fsync(fd); }
int sys_close(int fd) { return ::close(fd); }
int sys_rename(const char* from, const char* to) { return ::rename(from, to); }
int sys_unlink(const char* path) { return ::unlink(path); }
int sys_fstat(int fd, struct stat* st) { return ::fstat(fd, st); }
int sys_stat(const char* path, struct stat* st) { return ::stat(path, st); }
int sys_ftruncate(int fd, off_t length) { return ::ftruncate(fd, length); }
int sys_fdatasync(int fd) { return ::fdatasync(fd); }
int sys_fallocate([[maybe_unused]] int fd, [[maybe_unused]] off_t offset, [[maybe_unused]] off_t length) {
#if defined(__linux__)
    return ::fallocate(fd, 0, offset, length);
#else
    // posix_fallocate may emulate the call by writing a byte per block,
    // which the journal's own fallback (writing zeros) does as well.
    errno = EOPNOTSUPP;
    return -1;
#endif
}

}  // namespace

file_ops system_file_ops() noexcept {
    return {&sys_open, &sys_read, &sys_pwrite, &sys_fsync, &sys_close, &sys_rename, &sys_unlink, &sys_fstat,
            &sys_ftruncate, &sys_fdatasync, &sys_fallocate, &sys_pread, &sys_stat};
}

file_ops& current_file_ops() noexcept {
    static file_ops ops = system_file_ops();
    return ops;
}

void snapshot_io_fail(const std::string& name, const std::string& what, int err) {
    snapshot_fail(errc::io, name, std::nullopt, what + ": " + std::strerror(err));
}

}  // namespace detail

namespace {

using detail::current_file_ops;
using detail::snapshot_io_fail;

// Closes a descriptor on scope exit; the read path ignores close errors
// because everything it needed has been read by then.
struct fd_closer {
    int fd = -1;
    fd_closer() = default;
    fd_closer(const fd_closer&) = delete;
    fd_closer& operator=(const fd_closer&) = delete;
    ~fd_closer() {
        if (fd >= 0) (void)current_file_ops().close(fd);
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

int open_retrying(const std::string& path, int flags, mode_t mode) {
    int fd;
    do fd = current_file_ops().open(path.c_str(), flags, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

struct xxh3_state_deleter {
    void operator()(XXH3_state_t* s) const noexcept { XXH3_freeState(s); }
};

/// Opens name for reading into fd and returns its size, refusing what is
/// not a regular file.
std::size_t open_for_reading(const std::string& name, fd_closer& fd) {
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer
    // forever; it then fails the regular-file check below.
    fd.fd = open_retrying(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd.fd < 0) snapshot_io_fail(name, "cannot open for reading", errno);
    struct stat st {};
    if (current_file_ops().fstat(fd.fd, &st) != 0) snapshot_io_fail(name, "cannot stat", errno);
    if (S_ISDIR(st.st_mode))
        detail::snapshot_fail(errc::io, name, std::nullopt, "is a directory, not a snapshot file");
    if (!S_ISREG(st.st_mode))
        detail::snapshot_fail(errc::io, name, std::nullopt, "is not a regular file");
    return static_cast<std::size_t>(st.st_size);
}

/// Reads [offset, offset + n) of fd into data in chunks of 1 MiB -- with
/// read() from where fd stands, or with pread() at offset (for a second
/// thread) -- handing each chunk to consume(first, count) while it is still
/// in the cache. Returns how many bytes there were (fewer than n when the
/// file shrank since its size was taken: the decoder then reports the
/// truncation); a failed call sets err and the offset it failed at, and stops.
template <class Consume>
std::size_t read_chunks(int fd, std::byte* data, std::size_t n, std::size_t offset, bool positional,
                        Consume&& consume, int& err, std::size_t& err_at) {
    const auto& ops = current_file_ops();
    constexpr std::size_t chunk = std::size_t{1} << 20;
    std::size_t got = 0;
    while (got < n) {
        const std::size_t want = std::min(chunk, n - got);
        const ssize_t r = positional ? ops.pread(fd, data + got, want, static_cast<off_t>(offset + got))
                                     : ops.read(fd, data + got, want);
        if (r < 0) {
            if (errno == EINTR) continue;
            err = errno;
            err_at = offset + got;
            break;
        }
        if (r == 0) break;
        consume(offset + got, static_cast<std::size_t>(r));
        got += static_cast<std::size_t>(r);
    }
    return got;
}

/// read_chunks from the start of the file, on this thread: a failure throws.
template <class Consume>
std::size_t read_all(const std::string& name, int fd, std::byte* data, std::size_t n, Consume&& consume) {
    int err = 0;
    std::size_t err_at = 0;
    const std::size_t got = read_chunks(fd, data, n, 0, false, consume, err, err_at);
    if (err != 0) snapshot_io_fail(name, "read failed at byte " + std::to_string(err_at), err);
    return got;
}

}  // namespace

std::vector<std::byte> read_snapshot_file(const std::filesystem::path& path) {
    const std::string name = path.string();
    fd_closer fd;
    std::vector<std::byte> bytes(open_for_reading(name, fd));
    bytes.resize(read_all(name, fd.fd, bytes.data(), bytes.size(), [](std::size_t, std::size_t) {}));
    return bytes;
}

namespace detail {

image_bytes image_bytes::uninitialized(std::size_t n) {
    image_bytes out;
    // Below a few MiB a vector's zeroing costs nothing worth a mapping.
    constexpr std::size_t map_from = std::size_t{4} << 20;
    if (n >= map_from) {
        // With use_huge_pages(true), on 2 MiB pages: the grouped decode
        // reads rows all over the image, and with 4 KiB pages each was a TLB
        // miss (the load of 1.6 M rows: 176-225 ms in most runs against
        // 280-470 ms, docs/bench.md). Not by default: a fault on memory advised for
        // huge pages may stall on compaction (the read then took up to
        // 360 ms instead of 40 on the benchmark machine).
        void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED && huge_pages_enabled.load(std::memory_order_relaxed))
            (void)::madvise(p, n, MADV_HUGEPAGE);
        if (p != MAP_FAILED) {
            out.map_ = static_cast<std::byte*>(p);
            out.map_size_ = out.size_ = n;
            return out;
        }
    }
    out.vec_.resize(n);
    out.size_ = n;
    return out;
}

image_bytes::image_bytes(image_bytes&& o) noexcept
    : vec_(std::move(o.vec_)),
      map_(std::exchange(o.map_, nullptr)),
      map_size_(std::exchange(o.map_size_, 0)),
      size_(std::exchange(o.size_, 0)) {}

image_bytes& image_bytes::operator=(image_bytes&& o) noexcept {
    if (this != &o) {
        release();
        vec_ = std::move(o.vec_);
        map_ = std::exchange(o.map_, nullptr);
        map_size_ = std::exchange(o.map_size_, 0);
        size_ = std::exchange(o.size_, 0);
    }
    return *this;
}

image_bytes::~image_bytes() { release(); }

void image_bytes::populate([[maybe_unused]] std::size_t first, [[maybe_unused]] std::size_t count) noexcept {
#ifdef MADV_POPULATE_WRITE  // Linux 5.14
    if (map_ == nullptr || first >= map_size_) return;
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t from = first / page * page;
    (void)::madvise(map_ + from, std::min(first + count, map_size_) - from, MADV_POPULATE_WRITE);
#endif
}

void image_bytes::release() noexcept {
    if (map_ != nullptr) (void)::munmap(map_, map_size_);
    map_ = nullptr;
    map_size_ = size_ = 0;
    vec_.clear();
}

}  // namespace detail

namespace {

// The name of every temporary file of a target starts with this:
// ".NAME.tmp-", followed by 16 random hex digits. A target name too long for
// that within NAME_MAX is cut, and a hash of the whole name keeps the
// prefixes of two such targets apart.
std::string temp_prefix(const std::string& filename) {
    constexpr std::size_t name_max = 255;
    constexpr std::size_t suffix = 16;
    std::string p = "." + filename + ".tmp-";
    if (p.size() + suffix <= name_max) return p;
    const std::size_t keep = name_max - suffix - std::string(".~.tmp-").size() - 16;
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx",
                  static_cast<unsigned long long>(XXH3_64bits(filename.data(), filename.size())));
    return "." + filename.substr(0, keep) + "~" + hash + ".tmp-";
}

// 64 random bits, fresh from the system for every name: a counter or a pid
// repeats (a restarted container's process is pid 1 again), and a seeded
// generator would repeat in a forked child.
std::string random_suffix() {
    std::uint64_t v = 0;
    try {
        std::random_device rd;
        v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    } catch (const std::exception&) {
        // No entropy source: a clash is still caught by O_EXCL and retried.
        static std::atomic<std::uint64_t> counter{0};
        v = XXH3_64bits_withSeed(&counter, sizeof counter,
                                 static_cast<std::uint64_t>(::getpid()) ^ counter.fetch_add(1) ^
                                     static_cast<std::uint64_t>(
                                         std::chrono::steady_clock::now().time_since_epoch().count()));
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// A temporary file next to the target, replaced over it by commit(). Until
// then any failure removes it and leaves the target as it was.
//
// The writer holds an flock on its temporary file from creation until after
// the rename, through a second descriptor (so that closing the written one,
// whose error matters, does not release it). A temporary file whose lock can
// be taken therefore belongs to no live save: a killed one's. Each
// successful save removes those of its target.
/// What a path that is not a regular file names, for a message.
std::string file_type_name(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    return "something other than a regular file";
}

class temp_file {
public:
    /// kind names the file in messages: "snapshot", or what the CLI writes
    /// through this ("SQLite database", "CSV file").
    explicit temp_file(const std::filesystem::path& target, std::string_view kind = "snapshot")
        : ops_(current_file_ops()), name_(target.string()), kind_(kind) {
        if (!target.has_filename())
            fail_with("cannot save: the path does not name a file");
        // The rename would replace whatever the name is: refuse to put a
        // snapshot in place of a device, a FIFO or a socket (load refuses to
        // read one), or to try a directory. A symbolic link is followed to
        // what it names, and the link itself replaced, as before.
        if (struct stat st{}; ::stat(name_.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
            fail_with(
                                  std::string("cannot save: the path names ") +
                                      file_type_name(st.st_mode) +
                                      ", which a save does not replace; nothing was written");
        dir_ = target.parent_path();
        if (dir_.empty()) dir_ = ".";
        prefix_ = temp_prefix(target.filename().string());
        for (int attempt = 0;; ++attempt) {
            tmp_ = (dir_ / (prefix_ + random_suffix())).string();
            fd_ = open_retrying(tmp_, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd_ < 0) {
                const int err = errno;
                if (err == EEXIST && attempt < 16) continue;
                // Nothing was created (or O_EXCL met another file): nothing of ours to unlink.
                const std::string tmp = std::exchange(tmp_, {});
                fail_with(
                                      "cannot save: open failed on temporary file " + detail::quoted_name(tmp) + ": " +
                                          std::strerror(err) + "; the previous " + kind_ + " is unchanged");
            }
            if (lock()) break;
            // The cleaner of another save took the lock in the moment between
            // the create and the lock, and removes the file: take another name.
            (void)ops_.close(std::exchange(fd_, -1));
            const std::string tmp = std::exchange(tmp_, {});
            if (attempt >= 16)
                fail_with(
                                      "cannot save: lock failed on temporary file " + detail::quoted_name(tmp) + ": " +
                                          std::strerror(EWOULDBLOCK) + "; the previous " + kind_ + " is unchanged");
        }
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    ~temp_file() { discard(); }
    // Starts writeback of what is written so far (Linux). Only a hint: the
    // disk then works while the rest is still being encoded, so commit()'s
    // fsync waits for the tail alone; errors surface at that fsync.
    void start_writeback([[maybe_unused]] std::size_t offset, [[maybe_unused]] std::size_t n) noexcept {
#if defined(__linux__)
        ::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE);
#endif
    }

    // Writes bytes at offset, resuming short writes. 1 MiB per call keeps
    // the pipelined writer's hold on the encoder's buffer short.
    // Returns 0 or the errno of the failure.
    int write_at(const std::byte* data, std::size_t n, std::size_t offset) noexcept {
        constexpr std::size_t max_chunk = std::size_t{1} << 20;
        std::size_t done = 0;
        while (done < n) {
            const std::size_t chunk = std::min(n - done, max_chunk);
            const ssize_t w = ops_.pwrite(fd_, data + done, chunk, static_cast<off_t>(offset + done));
            if (w < 0) {
                if (errno == EINTR) continue;
                return errno;
            }
            if (w == 0) return EIO;  // no progress and no error: do not spin
            done += static_cast<std::size_t>(w);
        }
        return 0;
    }

    [[noreturn]] void fail_with(const std::string& msg) const {
        detail::file_fail(kind_, errc::io, name_, std::nullopt, msg);
    }

    [[noreturn]] void fail(const char* op, int err) {
        const std::string msg = std::string("cannot save: ") + op + " failed on temporary file " + detail::quoted_name(tmp_) + ": " +
                                std::strerror(err) + "; the previous " + kind_ + " is unchanged";
        discard();
        fail_with(msg);
    }

    void write_all(std::span<const std::byte> bytes, std::size_t offset = 0) {
        if (const int err = write_at(bytes.data(), bytes.size(), offset)) fail("write", err);
    }

    // fsync, close, rename over the target, fsync the directory, remove stale temporaries.
    void commit() {
        if (ops_.fsync(fd_) != 0) fail("fsync", errno);
        // close() errors matter (NFS reports deferred write errors there); on
        // Linux the descriptor is released even when close fails, so never retry.
        if (ops_.close(std::exchange(fd_, -1)) != 0) fail("close", errno);
        // The file this save replaces, held open across the rename: its last
        // close frees its pages from the page cache (30-40 ms for 145 MB),
        // which a save's child then does after reporting, not in rename().
        replaced_ = ::open(name_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (ops_.rename(tmp_.c_str(), name_.c_str()) != 0) fail("rename", errno);
        tmp_.clear();
        unlock();

        // Without this the rename itself may not survive a power loss.
        const std::string dir_name = dir_.string();
        const auto not_durable = [&](const char* op, int err) {
            fail_with(
                                  std::string("cannot save: ") + op + " failed on directory " + detail::quoted_name(dir_name) + ": " +
                                      std::strerror(err) + "; the new " + kind_ + " is in place but may not be durable");
        };
        const int dfd = open_retrying(dir_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (dfd < 0) not_durable("open", errno);
        if (ops_.fsync(dfd) != 0) {
            const int err = errno;
            (void)ops_.close(dfd);
            not_durable("fsync", err);
        }
        (void)ops_.close(dfd);
        remove_stale();
        if (replaced_ >= 0) detail::close_after_report(std::exchange(replaced_, -1));
    }

private:
    void discard() noexcept {
        if (replaced_ >= 0) ::close(std::exchange(replaced_, -1));
        if (fd_ >= 0) (void)ops_.close(std::exchange(fd_, -1));
        if (!tmp_.empty()) (void)ops_.unlink(tmp_.c_str());  // still locked: no cleaner touches it
        tmp_.clear();
        unlock();
    }

    // Locks the new temporary file; false when a cleaner got to it first.
    bool lock() {
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK) return false;
            // No flock here (some file systems): cleaners cannot lock either, so they leave it alone.
            return true;
        }
        // A cleaner may have locked, checked and unlinked it before we locked it.
        struct stat st {};
        if (ops_.fstat(fd_, &st) == 0 && st.st_nlink == 0) return false;
        lock_fd_ = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
        if (lock_fd_ < 0) fail("dup", errno);
        return true;
    }

    void unlock() noexcept {
        if (lock_fd_ >= 0) (void)ops_.close(std::exchange(lock_fd_, -1));
    }

    // Removes the temporary files of this target that no live save holds
    // (left by saves killed mid-way). Best effort: the save has succeeded,
    // and a file that cannot be examined is left for the next one.
    void remove_stale() noexcept {
        std::error_code ec;
        for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string file = it->path().filename().string();
            if (!file.starts_with(prefix_)) continue;
            const std::string path = it->path().string();
            const int fd = open_retrying(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0);
            if (fd < 0) continue;
            // Locked, and still the file of that name (not one renamed away
            // and replaced since it was opened), it is nobody's.
            struct stat held {}, named {};
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ops_.fstat(fd, &held) == 0 && S_ISREG(held.st_mode) &&
                ::lstat(path.c_str(), &named) == 0 && named.st_dev == held.st_dev && named.st_ino == held.st_ino)
                (void)ops_.unlink(path.c_str());
            (void)ops_.close(fd);
        }
    }

    const detail::file_ops& ops_;
    std::string name_;
    std::string kind_;
    std::filesystem::path dir_;
    std::string prefix_;
    std::string tmp_;
    int fd_ = -1;
    int lock_fd_ = -1;  // the same open file as fd_, holding its flock until after the rename
    int replaced_ = -1;  // the file renamed over, until the save is done
};

// Writes an image's finished bytes while the encoder goes on. Two locks: the
// state lock is held only for bookkeeping, so published() never waits for a
// disk write; the buffer lock is held by the writer thread during a write and
// by the encoder while realloc moves the buffer.
class pipelined_writer final : public detail::image_observer {
public:
    pipelined_writer(temp_file& file, std::size_t first_final) : file_(file), written_(first_final) {
        // With no thread to be had, stop() reports nothing written, and the
        // caller writes the whole image itself.
        thread_ = detail::start_optional_thread([this] { run(); });
    }
    pipelined_writer(const pipelined_writer&) = delete;
    pipelined_writer& operator=(const pipelined_writer&) = delete;
    ~pipelined_writer() { join(); }

    void published(const std::byte* data, std::size_t size) override {
        {
            std::lock_guard lock(state_);
            if (data_ == nullptr) data_ = data;
            published_ = size;
            if (error_ != 0) throw_error();
        }
        wake_.notify_one();
    }
    void moving() override { buffer_.lock(); }
    void moved(const std::byte* data) override {
        {
            std::lock_guard lock(state_);
            data_ = data;
        }
        buffer_.unlock();
    }

    // Lets the thread write what is published, then ends it.
    void join() noexcept {
        {
            std::lock_guard lock(state_);
            stopping_ = true;
        }
        wake_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

    // Stops the thread; returns how far the file is written (from first_final on).
    std::size_t stop() {
        join();
        std::lock_guard lock(state_);
        if (error_ != 0) throw_error();
        return written_;
    }

private:
    [[noreturn]] void throw_error() {
        const int err = std::exchange(error_, 0);
        file_.fail("write", err);
    }

    void run() {
        std::unique_lock lock(state_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || published_ > written_; });
            if (published_ <= written_) return;  // stopping, and nothing left that is known to be final
            const std::size_t from = written_;
            const std::size_t n = std::min(published_ - from, std::size_t{1} << 20);
            lock.unlock();
            int err;
            {
                std::lock_guard buffer(buffer_);
                const std::byte* data;
                {
                    std::lock_guard again(state_);
                    data = data_;
                }
                err = file_.write_at(data + from, n, from);
            }
            lock.lock();
            if (err != 0) {
                error_ = err;
                return;
            }
            written_ = from + n;
            if (written_ - flushed_ >= writeback_step) {
                lock.unlock();
                file_.start_writeback(flushed_, written_ - flushed_);
                lock.lock();
                flushed_ = written_;
            }
        }
    }

    temp_file& file_;
    std::mutex state_;
    std::mutex buffer_;
    std::condition_variable wake_;
    const std::byte* data_ = nullptr;
    std::size_t published_ = 0;
    std::size_t written_;
    std::size_t flushed_ = written_;  // writeback started up to here
    static constexpr std::size_t writeback_step = std::size_t{8} << 20;
    bool stopping_ = false;
    int error_ = 0;
    std::thread thread_;
};

// Writes chunks handed over by the encoder, in order, from a second thread,
// while the encoder fills the next: a few 1 MiB chunks go round between the
// two, so they stay in cache and no page of a whole image is ever faulted in.
class chunk_writer final : public detail::chunk_sink {
public:
    static constexpr std::size_t chunk_size = std::size_t{1} << 20;
    static constexpr std::size_t chunk_count = 4;

    // threaded = false writes each piece as it is handed over, on this
    // thread: for a save in a forked child that may start no thread (see
    // child_may_start_threads), and when no thread can be had.
    explicit chunk_writer(temp_file& file, bool threaded = true) : file_(file), threaded_(threaded) {
        for (auto& c : chunks_) {
            c = std::make_unique<std::byte[]>(chunk_size);
            free_.push_back(c.get());
        }
        if (!hash_) throw std::bad_alloc();
        XXH3_64bits_reset(hash_.get());
        if (threaded_) {
            thread_ = detail::start_optional_thread([this] { run(); });
            threaded_ = thread_.joinable();  // without: slower, same file
        }
    }
    chunk_writer(const chunk_writer&) = delete;
    chunk_writer& operator=(const chunk_writer&) = delete;
    ~chunk_writer() { join(); }

    // Bytes that are not one of our chunks (the header, the checksum), hashed
    // or not; they must stay alive until finish().
    void put(const std::byte* data, std::size_t size, bool hashed) {
        if (hashed) XXH3_64bits_update(hash_.get(), data, size);
        enqueue(data, size, nullptr);
    }

    std::byte* first_chunk() { return next_free(); }

    std::byte* take(std::byte* chunk, std::size_t size) override {
        XXH3_64bits_update(hash_.get(), chunk, size);
        enqueue(chunk, size, chunk);
        return next_free();
    }

    [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
    [[nodiscard]] std::uint64_t checksum() const noexcept { return XXH3_64bits_digest(hash_.get()); }

    // Waits until every piece is written. @throws snapshot_error on a write failure.
    void finish() {
        join();
        if (error_ != 0) file_.fail("write", error_);
    }

private:
    struct piece {
        const std::byte* data;
        std::size_t size;
        std::uint64_t offset;
        std::byte* chunk;  // returns to the free list once written, when ours
    };

    void enqueue(const std::byte* data, std::size_t size, std::byte* chunk) {
        if (!threaded_) {
            const int err = file_.write_at(data, size, offset_);
            if (err != 0) file_.fail("write", err);
            if (offset_ + size - flushed_ >= writeback_step) {
                file_.start_writeback(flushed_, offset_ + size - flushed_);
                flushed_ = offset_ + size;
            }
            if (chunk != nullptr) free_.push_back(chunk);
            offset_ += size;
            return;
        }
        int err;
        {
            std::lock_guard lock(state_);
            err = error_;
            if (err == 0) queue_.push_back({data, size, offset_, chunk});
        }
        if (err != 0) {
            join();
            file_.fail("write", err);
        }
        offset_ += size;
        wake_.notify_all();
    }

    std::byte* next_free() {
        std::unique_lock lock(state_);
        wake_.wait(lock, [&] { return !free_.empty() || error_ != 0; });
        if (error_ != 0) {
            const int err = error_;
            lock.unlock();
            join();
            file_.fail("write", err);
        }
        std::byte* c = free_.back();
        free_.pop_back();
        return c;
    }

    void join() noexcept {
        {
            std::lock_guard lock(state_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    void run() {
        std::unique_lock lock(state_);
        for (;;) {
            wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping with nothing left
            const piece p = queue_.front();
            queue_.pop_front();
            lock.unlock();
            const int err = file_.write_at(p.data, p.size, p.offset);
            if (err == 0 && p.offset + p.size - flushed_ >= writeback_step) {
                file_.start_writeback(flushed_, p.offset + p.size - flushed_);
                flushed_ = p.offset + p.size;
            }
            lock.lock();
            if (p.chunk != nullptr) free_.push_back(p.chunk);
            if (err != 0) {
                error_ = err;
                queue_.clear();
                wake_.notify_all();
                return;
            }
            wake_.notify_all();
        }
    }

    static constexpr std::size_t writeback_step = std::size_t{8} << 20;
    temp_file& file_;
    std::array<std::unique_ptr<std::byte[]>, chunk_count> chunks_;
    std::vector<std::byte*> free_;
    std::deque<piece> queue_;
    std::mutex state_;
    std::condition_variable wake_;
    std::unique_ptr<XXH3_state_t, xxh3_state_deleter> hash_{XXH3_createState()};
    std::uint64_t offset_ = 0;   // encoder side: where the next piece goes
    std::uint64_t flushed_ = 0;  // writer side: writeback started up to here
    bool stopping_ = false;
    int error_ = 0;
    bool threaded_;
    std::thread thread_;
};

}  // namespace

void write_snapshot_file_streamed(const std::filesystem::path& target, std::span<const std::byte> header,
                                  const std::function<void(detail::row_encoder&)>& encode, bool threaded) {
    std::uint64_t file_size = 0;
    if (header.size() >= 24) std::memcpy(&file_size, header.data() + 16, sizeof file_size);
    file_size = detail::to_le(file_size);
    temp_file file(target);
    std::array<std::byte, 8> sum{};
    {
        chunk_writer out(file, threaded);
        out.put(header.data(), header.size(), true);
        detail::row_encoder rows(out, out.first_chunk(), chunk_writer::chunk_size);
        encode(rows);
        rows.flush();
        if (out.offset() + sum.size() != file_size)
            throw usage_error("relstore: the rows of snapshot " + detail::quoted_name(target.string()) + " came to " +
                              std::to_string(out.offset() - header.size()) + " bytes, not the " +
                              std::to_string(file_size - header.size() - sum.size()) + " its header announced");
        const std::uint64_t checksum = detail::to_le(out.checksum());
        std::memcpy(sum.data(), &checksum, sum.size());
        out.put(sum.data(), sum.size(), false);
        out.finish();
    }
    file.commit();
}

void write_snapshot_file(const std::filesystem::path& target, std::span<const std::byte> bytes,
                         std::string_view kind) {
    temp_file file(target, kind);
    file.write_all(bytes);
    file.commit();
}

void write_snapshot_file(const std::filesystem::path& target, snapshot_writer& w,
                         const std::function<void()>& encode) {
    temp_file file(target);
    // The header and directory before rows_begin() are patched until finish(),
    // so the thread starts after them and they are written last.
    const std::size_t first_final = w.rows_begin();
    std::size_t written;
    std::span<const std::byte> bytes;
    {
        pipelined_writer pipe(file, first_final);
        struct detach {
            snapshot_writer& w;
            ~detach() { w.observe(nullptr); }
        } detach_on_exit{w};
        w.observe(&pipe);
        encode();
        // Checksummed while the thread still writes the last rows: finish()
        // only patches the header, which the thread never writes.
        bytes = w.finish();
        w.observe(nullptr);
        written = pipe.stop();
    }
    file.write_all(bytes.subspan(written), written);
    file.write_all(bytes.first(first_final), 0);
    file.commit();
}

void write_snapshot_stream(std::ostream& out, std::span<const std::byte> bytes) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) detail::snapshot_fail(errc::io, "<stream>", std::nullopt, "writing to the stream failed");
}

snapshot_reader snapshot_reader::open(const std::filesystem::path& path, checksum_policy policy) {
    std::string name = path.string();
    fd_closer fd;
    const std::size_t size = open_for_reading(name, fd);
    auto image = detail::image_bytes::uninitialized(size);
    // A large file's second half is faulted in and read by a second thread
    // while this one does the first: the kernel's zeroing of fresh pages and
    // its copy from the page cache are most of a read.
    constexpr std::size_t split_from = std::size_t{16} << 20;
    std::size_t half = size;
    std::size_t tail_got = 0, tail_err_at = 0;
    int tail_err = 0;
    std::thread tail;
    struct joiner {
        std::thread& t;
        ~joiner() {
            if (t.joinable()) t.join();
        }
    } join_tail{tail};
    if (size >= split_from && std::thread::hardware_concurrency() > 1) {
        half = size / 2 / 4096 * 4096;
        tail = detail::start_optional_thread([&] {
            image.populate(half, size - half);
            tail_got = read_chunks(fd.fd, image.data() + half, size - half, half, true,
                                   [](std::size_t, std::size_t) {}, tail_err, tail_err_at);
        });
        if (!tail.joinable()) half = size;  // no thread to be had: this one reads it all
    }
    image.populate(0, half);
    // The checksum covers every byte before the stored one; each chunk of the
    // first half is hashed as it arrives, while it is in the cache.
    const std::size_t body = size - std::min(size, snapshot_checksum_size);
    const std::unique_ptr<XXH3_state_t, xxh3_state_deleter> hash(XXH3_createState());
    if (!hash) throw std::bad_alloc();
    XXH3_64bits_reset(hash.get());
    const auto add = [&](std::size_t first, std::size_t count) {
        if (first < body) XXH3_64bits_update(hash.get(), image.data() + first, std::min(count, body - first));
    };
    std::size_t got = read_all(name, fd.fd, image.data(), half, add);
    if (tail.joinable()) tail.join();
    if (got == half && half < size) {
        if (tail_err != 0) snapshot_io_fail(name, "read failed at byte " + std::to_string(tail_err_at), tail_err);
        add(half, tail_got);
        got += tail_got;
    }
    image.shrink(got);
    // A file that shrank meanwhile has another body: the constructor hashes it.
    const auto checksum = got == size ? std::optional<std::uint64_t>(XXH3_64bits_digest(hash.get())) : std::nullopt;
    return snapshot_reader(std::move(image), std::move(name), policy, checksum, {});
}

namespace detail {

snapshot_file::~snapshot_file() {
    if (fd >= 0) (void)current_file_ops().close(fd);
}

file_identity snapshot_file::examine() const {
    struct stat st {};
    if (current_file_ops().fstat(fd, &st) != 0) snapshot_io_fail(name, "cannot stat", errno);
    return {static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
}

std::size_t snapshot_file::read_up_to(std::byte* data, std::size_t n, std::uint64_t offset) const {
    const auto& ops = current_file_ops();
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ops.pread(fd, data + got, n - got, static_cast<off_t>(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) snapshot_io_fail(name, "read failed at byte " + std::to_string(offset + got), errno);
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    return got;
}

void snapshot_file::read_at(std::byte* data, std::size_t n, std::uint64_t offset) const {
    const std::size_t got = read_up_to(data, n, offset);
    if (got < n)
        snapshot_fail(errc::io, name, offset + got,
                      "the file ends here, before the bytes its checksum covered: it changed while it was loaded");
}

void row_stream::refill(row_cursor& c, std::size_t n) {
    const auto keep = static_cast<std::size_t>(c.end_ - c.cur_);
    const std::uint64_t at = c.offset();
    const std::uint64_t next = at + keep;  // the file offset after the window
    const std::size_t want = std::max(window_, n);
    if (buf_.size() < want) {
        std::vector<std::byte> bigger(want);
        if (keep != 0) std::memcpy(bigger.data(), c.cur_, keep);
        buf_.swap(bigger);
    } else if (keep != 0) {
        std::memmove(buf_.data(), c.cur_, keep);
    }
    const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size() - keep, c.end_offset_ - next));
    file_->read_at(buf_.data() + keep, count, next);
    c.begin_ = c.cur_ = buf_.data();
    c.end_ = buf_.data() + keep + count;
    c.base_offset_ = at;
}

}  // namespace detail

snapshot_reader snapshot_reader::open_streamed(const std::filesystem::path& path, std::size_t window,
                                               checksum_policy policy) {
    if (window == 0) throw usage_error("snapshot_reader::open_streamed: the window must be at least 1 byte");
    auto file = std::make_shared<detail::snapshot_file>();
    file->name = path.string();
    {
        fd_closer fd;
        (void)open_for_reading(file->name, fd);
        file->fd = fd.release();
    }
    // Taken before anything is read: a change from here on shows in check_unchanged().
    file->identity = file->examine();
    const std::uint64_t size = file->identity.size;

    // The checksum, through a buffer that stays in the cache: no page of the
    // file is held, so none is faulted in (35,500 of a 145 MB file's load).
    const std::uint64_t body = size - std::min<std::uint64_t>(size, snapshot_checksum_size);
    const std::unique_ptr<XXH3_state_t, xxh3_state_deleter> hash(XXH3_createState());
    if (!hash) throw std::bad_alloc();
    XXH3_64bits_reset(hash.get());
    constexpr std::size_t chunk = std::size_t{1} << 20;
    std::vector<std::byte> buf(static_cast<std::size_t>(std::min<std::uint64_t>(size, chunk)));
    std::uint64_t got = 0;
    while (got < size) {
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - got));
        const std::size_t r = file->read_up_to(buf.data(), want, got);
        if (got < body)
            XXH3_64bits_update(hash.get(), buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(r, body - got)));
        got += r;
        if (r < want) break;  // the file shrank: the constructor reports the truncation
    }

    // The head: header, schema and directory, as far as the file goes.
    constexpr std::size_t min_size = snapshot_header_size + snapshot_checksum_size;
    std::size_t head = static_cast<std::size_t>(got);
    std::uint64_t stored = 0;
    if (got >= min_size) {
        std::array<std::byte, snapshot_header_size> h{};
        file->read_at(h.data(), h.size(), 0);
        std::uint32_t tables = 0, schema = 0;
        std::memcpy(&tables, h.data() + 24, 4);
        std::memcpy(&schema, h.data() + 28, 4);
        const std::uint64_t rows_begin = snapshot_header_size + std::uint64_t{detail::to_le(schema)} +
                                         std::uint64_t{detail::to_le(tables)} * 32;
        head = static_cast<std::size_t>(std::min(got - snapshot_checksum_size, rows_begin));
        std::array<std::byte, snapshot_checksum_size> c{};
        file->read_at(c.data(), c.size(), got - snapshot_checksum_size);
        std::memcpy(&stored, c.data(), sizeof stored);
        stored = detail::to_le(stored);
    }
    std::vector<std::byte> first(head);
    file->read_at(first.data(), head, 0);
    // For a file that shrank during the pass no checksum of its bytes is
    // known: 0 has the constructor refuse it (by its header's size, or else
    // by the checksum, and check_unchanged() by its size) without hashing
    // the head as if it were the whole file, which the image path does.
    const std::uint64_t checksum = got == size ? XXH3_64bits_digest(hash.get()) : 0;
    std::string name = file->name;
    snapshot_reader r(detail::image_bytes(std::move(first)), std::move(name), policy, checksum,
                      {std::move(file), got, stored});
    r.window_ = window;
    return r;
}

snapshot_reader snapshot_reader::from_stream(std::istream& in, checksum_policy policy) {
    std::vector<std::byte> bytes;
    constexpr std::size_t chunk = std::size_t{1} << 20;
    while (in) {
        const std::size_t old = bytes.size();
        bytes.resize(old + chunk);
        in.read(reinterpret_cast<char*>(bytes.data() + old), static_cast<std::streamsize>(chunk));
        bytes.resize(old + static_cast<std::size_t>(in.gcount()));
    }
    if (in.bad()) detail::snapshot_fail(errc::io, "<stream>", bytes.size(), "reading from the stream failed");
    return snapshot_reader(std::move(bytes), "<stream>", policy);
}

}  // namespace relstore
