// The snapshot file layer: whole-file reads and crash-safe replacement
// (temporary file, fsync, rename, fsync of the directory), through the
// replaceable detail::file_ops seam so tests can inject failures.

#include "snapshot_internal.hpp"

#include <relstore/detail/snapshot_file_ops.hpp>
#include <relstore/snapshot_format.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <istream>
#include <ostream>
#include <utility>

namespace relstore {
namespace detail {
namespace {

// Wrappers because open is variadic and some of these may be macros or
// inline functions in the C library, so their addresses are not portable.
int sys_open(const char* path, int flags, mode_t mode) { return ::open(path, flags, mode); }
ssize_t sys_read(int fd, void* buf, size_t n) { return ::read(fd, buf, n); }
ssize_t sys_write(int fd, const void* buf, size_t n) { return ::write(fd, buf, n); }
int sys_fsync(int fd) { return ::fsync(fd); }
int sys_close(int fd) { return ::close(fd); }
int sys_rename(const char* from, const char* to) { return ::rename(from, to); }
int sys_unlink(const char* path) { return ::unlink(path); }
int sys_fstat(int fd, struct stat* st) { return ::fstat(fd, st); }

}  // namespace

file_ops system_file_ops() noexcept {
    return {&sys_open, &sys_read, &sys_write, &sys_fsync, &sys_close, &sys_rename, &sys_unlink, &sys_fstat};
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

}  // namespace

std::vector<std::byte> read_snapshot_file(const std::filesystem::path& path) {
    const auto& ops = current_file_ops();
    const std::string name = path.string();
    fd_closer fd;
    fd.fd = open_retrying(name, O_RDONLY | O_CLOEXEC, 0);
    if (fd.fd < 0) snapshot_io_fail(name, "cannot open for reading", errno);
    struct stat st {};
    if (ops.fstat(fd.fd, &st) != 0) snapshot_io_fail(name, "cannot stat", errno);
    if (S_ISDIR(st.st_mode))
        detail::snapshot_fail(errc::io, name, std::nullopt, "is a directory, not a snapshot file");
    if (!S_ISREG(st.st_mode))
        detail::snapshot_fail(errc::io, name, std::nullopt, "is not a regular file");

    std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ops.read(fd.fd, bytes.data() + got, bytes.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            snapshot_io_fail(name, "read failed at byte " + std::to_string(got), errno);
        }
        if (n == 0) break;  // the file shrank since fstat; the decoder reports the truncation
        got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    return bytes;
}

void write_snapshot_file(const std::filesystem::path& target, std::span<const std::byte> bytes) {
    const auto& ops = current_file_ops();
    const std::string name = target.string();
    if (!target.has_filename())
        detail::snapshot_fail(errc::io, name, std::nullopt, "cannot save: the path does not name a file");
    std::filesystem::path dir = target.parent_path();
    if (dir.empty()) dir = ".";

    // Unique per process and call, so concurrent saves never share a temporary.
    static std::atomic<unsigned long> counter{0};
    const std::string tmp = (dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                    std::to_string(counter.fetch_add(1))))
                                .string();

    int fd = -1;
    const auto give_up = [&](const char* op, int err) {
        if (fd >= 0) (void)ops.close(fd);
        (void)ops.unlink(tmp.c_str());
        detail::snapshot_fail(errc::io, name, std::nullopt,
                              std::string("cannot save: ") + op + " failed on temporary file '" + tmp +
                                  "': " + std::strerror(err) + "; the previous snapshot is unchanged");
    };
    fd = open_retrying(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        const int err = errno;
        // O_EXCL failed or nothing was created: the file is not ours to unlink.
        detail::snapshot_fail(errc::io, name, std::nullopt,
                              "cannot save: open failed on temporary file '" + tmp + "': " + std::strerror(err) +
                                  "; the previous snapshot is unchanged");
    }

    // Writes of at most 1 GiB, because Linux caps one write() near 2 GiB and
    // reports the rest as a short write anyway.
    constexpr std::size_t max_chunk = std::size_t{1} << 30;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const std::size_t chunk = std::min(bytes.size() - done, max_chunk);
        const ssize_t n = ops.write(fd, bytes.data() + done, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            give_up("write", errno);
        }
        if (n == 0) give_up("write", EIO);  // no progress and no error: do not spin
        done += static_cast<std::size_t>(n);
    }
    if (ops.fsync(fd) != 0) give_up("fsync", errno);
    // close() errors matter (NFS reports deferred write errors there); on
    // Linux the descriptor is released even when close fails, so never retry.
    const int closing = std::exchange(fd, -1);
    if (ops.close(closing) != 0) give_up("close", errno);
    if (ops.rename(tmp.c_str(), name.c_str()) != 0) give_up("rename", errno);

    // Without this the rename itself may not survive a power loss.
    const std::string dir_name = dir.string();
    const int dfd = open_retrying(dir_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    const auto not_durable = [&](const char* op, int err) {
        detail::snapshot_fail(errc::io, name, std::nullopt,
                              std::string("cannot save: ") + op + " failed on directory '" + dir_name + "': " +
                                  std::strerror(err) + "; the new snapshot is in place but may not be durable");
    };
    if (dfd < 0) not_durable("open", errno);
    if (ops.fsync(dfd) != 0) {
        const int err = errno;
        (void)ops.close(dfd);
        not_durable("fsync", err);
    }
    (void)ops.close(dfd);
}

void write_snapshot_stream(std::ostream& out, std::span<const std::byte> bytes) {
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) detail::snapshot_fail(errc::io, "<stream>", std::nullopt, "writing to the stream failed");
}

snapshot_reader snapshot_reader::open(const std::filesystem::path& path, checksum_policy policy) {
    return snapshot_reader(read_snapshot_file(path), path.string(), policy);
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
