#pragma once
/// @file io.hpp
/// Plain sequential file I/O: the raw peer's dump format and the W9 floor
/// (writing and reading the same number of bytes with write()+fsync()/read()).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace bench {

[[noreturn]] inline void throw_errno(const std::string& what, const std::filesystem::path& path) {
    throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

/// Writes through a 1 MiB buffer; finish() flushes, fsyncs and closes.
class file_writer {
public:
    explicit file_writer(const std::filesystem::path& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0) throw_errno("cannot create", path);
        buf_.reserve(1 << 20);
    }
    file_writer(const file_writer&) = delete;
    file_writer& operator=(const file_writer&) = delete;
    ~file_writer() {
        if (fd_ >= 0) ::close(fd_);
    }

    void bytes(const void* p, std::size_t n) {
        if (buf_.size() + n > buf_.capacity()) flush();
        if (n >= buf_.capacity()) return put(p, n);  // large blocks bypass the buffer
        const auto* c = static_cast<const char*>(p);
        buf_.insert(buf_.end(), c, c + n);
    }
    void u64(std::uint64_t v) { bytes(&v, sizeof v); }
    void i64(std::int64_t v) { bytes(&v, sizeof v); }
    void str(std::string_view s) {
        const auto n = static_cast<std::uint32_t>(s.size());
        bytes(&n, sizeof n);
        bytes(s.data(), s.size());
    }
    void finish() {
        flush();
        if (::fsync(fd_) != 0) throw_errno("cannot fsync", path_);
        if (::close(fd_) != 0) {
            fd_ = -1;
            throw_errno("cannot close", path_);
        }
        fd_ = -1;
    }

private:
    void flush() {
        put(buf_.data(), buf_.size());
        buf_.clear();
    }
    void put(const void* p, std::size_t n) {
        const auto* c = static_cast<const char*>(p);
        while (n > 0) {
            const ssize_t k = ::write(fd_, c, n);
            if (k < 0) {
                if (errno == EINTR) continue;
                throw_errno("cannot write", path_);
            }
            c += k, n -= static_cast<std::size_t>(k);
        }
    }

    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<char> buf_;
};

/// Reads a whole file into memory with sequential read() calls.
inline std::vector<char> read_all(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        throw_errno("cannot stat", path);
    }
    std::vector<char> out(static_cast<std::size_t>(st.st_size));
    std::size_t at = 0;
    while (at < out.size()) {
        const std::size_t want = std::min<std::size_t>(out.size() - at, 1 << 20);
        const ssize_t k = ::read(fd, out.data() + at, want);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            ::close(fd);
            throw_errno("cannot read", path);
        }
        at += static_cast<std::size_t>(k);
    }
    ::close(fd);
    return out;
}

/// Parses what file_writer wrote.
class file_reader {
public:
    explicit file_reader(const std::filesystem::path& path) : buf_(read_all(path)), path_(path) {}
    std::uint64_t u64() { return pod<std::uint64_t>(); }
    std::int64_t i64() { return pod<std::int64_t>(); }
    std::string_view str() {
        const auto n = pod<std::uint32_t>();
        need(n);
        std::string_view s(buf_.data() + at_, n);
        at_ += n;
        return s;
    }

private:
    template <class T>
    T pod() {
        need(sizeof(T));
        T v;
        std::memcpy(&v, buf_.data() + at_, sizeof v);
        at_ += sizeof v;
        return v;
    }
    void need(std::size_t n) const {
        if (buf_.size() - at_ < n)
            throw std::runtime_error("raw dump " + path_.string() + " truncated at byte " + std::to_string(at_));
    }
    std::vector<char> buf_;
    std::size_t at_ = 0;
    std::filesystem::path path_;
};

/// The W9 floor, write side: `bytes` bytes in 1 MiB write() calls, then fsync.
inline void floor_write(const std::filesystem::path& path, std::size_t bytes) {
    static const std::vector<char> chunk(1 << 20, 'x');
    file_writer w(path);
    for (std::size_t left = bytes; left > 0;) {
        const std::size_t n = std::min(left, chunk.size());
        w.bytes(chunk.data(), n);
        left -= n;
    }
    w.finish();
}

/// The W9 floor, read side: the whole file in 1 MiB read() calls; returns a
/// checksum of what was read so the reads cannot be skipped.
inline std::uint64_t floor_read(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw_errno("cannot open", path);
    static std::vector<char> chunk(1 << 20);
    std::uint64_t sum = 0;
    for (;;) {
        const ssize_t k = ::read(fd, chunk.data(), chunk.size());
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            ::close(fd);
            throw_errno("cannot read", path);
        }
        if (k == 0) break;
        sum += static_cast<std::uint64_t>(k) + static_cast<unsigned char>(chunk[static_cast<std::size_t>(k) - 1]);
    }
    ::close(fd);
    return sum;
}

}  // namespace bench
