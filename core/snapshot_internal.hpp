#pragma once
// Helpers shared by core/snapshot_*.cpp; not installed.

#include <relstore/error.hpp>
#include <relstore/snapshot_format.hpp>
#include <relstore/schema_info.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

namespace relstore::detail {

/// Throws snapshot_error with a message "KIND 'NAME' at byte N: MSG".
[[noreturn]] void file_fail(std::string_view kind, errc code, const std::string& name,
                            std::optional<std::uint64_t> offset, const std::string& msg);
/// Throws snapshot_error with a message "snapshot 'NAME' at byte N: MSG".
[[noreturn]] void snapshot_fail(errc code, const std::string& name, std::optional<std::uint64_t> offset,
                                const std::string& msg);

/// Throws snapshot_error (io) for a failed operating-system call, with errno's text.
[[noreturn]] void snapshot_io_fail(const std::string& name, const std::string& what, int err);

/// Describes the first way a schema is not well formed, if any (duplicate or
/// empty names, references to unknown columns or tables).
[[nodiscard]] std::optional<std::string> schema_problem(const schema_info& schema);

/// "0x" and 16 hex digits.
[[nodiscard]] std::string hex64(std::uint64_t v);

/// What a streamed reader's file was when its checksum was verified.
struct file_identity {
    std::uint64_t size = 0;
    std::int64_t mtime_sec = 0, mtime_nsec = 0;
    friend bool operator==(const file_identity&, const file_identity&) = default;
};

struct snapshot_file {
    int fd = -1;
    std::string name;
    // Not the change time: unlinking the name (a save renaming its new file
    // over it) changes the file's, and that is no change to its bytes.
    file_identity identity;
    snapshot_file() = default;
    snapshot_file(const snapshot_file&) = delete;
    snapshot_file& operator=(const snapshot_file&) = delete;
    ~snapshot_file();
    /// The file as fstat() sees it now.
    /// @throws relstore::snapshot_error (io) when fstat fails.
    [[nodiscard]] file_identity examine() const;
    /// Reads n bytes at offset, fewer only where the file ends (pread,
    /// retried on EINTR and short reads); returns how many.
    /// @throws relstore::snapshot_error (io) naming the byte offset when a read fails.
    std::size_t read_up_to(std::byte* data, std::size_t n, std::uint64_t offset) const;
    /// Reads exactly n bytes at offset.
    /// @throws relstore::snapshot_error (io) naming the byte offset when a
    /// read fails or the file ends early (it shrank since it was checked).
    void read_at(std::byte* data, std::size_t n, std::uint64_t offset) const;
};

/// A streamed cursor's window onto its table's rows (row_cursor::more).
class row_stream {
public:
    row_stream(std::shared_ptr<const snapshot_file> file, std::size_t window)
        : file_(std::move(file)), window_(window) {}
    /// Keeps c's unread bytes and reads after them from the file until n
    /// bytes at least are readable (c.left() >= n). The window grows to n when
    /// a cell is longer.
    void refill(row_cursor& c, std::size_t n);

private:
    std::shared_ptr<const snapshot_file> file_;
    std::size_t window_;
    std::vector<std::byte> buf_;
};

}  // namespace relstore::detail
