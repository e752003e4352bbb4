#pragma once
/// @file snapshot_format.hpp
/// The snapshot file format (docs/snapshot-format.md) without any store
/// templates: an encoder that turns a schema and rows into a checksummed
/// image, a validating decoder, the crash-safe file layer, and a dynamic view
/// used by the `relstore` tool. relstore/snapshot.hpp glues a store to it.
///
/// The per-value put/get functions are inline on purpose: they run once per
/// cell, and an out-of-line or virtual call there would cost more than the
/// encoding itself. Everything else lives in core/snapshot_*.cpp.

#include <relstore/error.hpp>
#include <relstore/fields.hpp>
#include <relstore/schema_info.hpp>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace relstore {

/// The format version this build writes; it reads exactly this version.
inline constexpr std::uint32_t snapshot_format_version = 1;

/// The eight bytes every snapshot starts with.
inline constexpr unsigned char snapshot_magic[8] = {0x89, 'R', 'S', 'N', 'A', 'P', '\r', '\n'};

/// Size of the fixed header that precedes the schema section.
inline constexpr std::size_t snapshot_header_size = 32;

/// Size of the trailing checksum.
inline constexpr std::size_t snapshot_checksum_size = 8;

/// A blob cell in the dynamic API.
using blob_value = std::vector<std::byte>;

/// One cell as the dynamic API sees it: null, bool, a signed or unsigned
/// integer (any width), a floating-point number (either width), a string or
/// a blob. A timestamp or duration is its count of ticks and an enumeration
/// its underlying integer (signed or unsigned as the column's count type);
/// the column's type says how to show them (detail::display_cell).
using value = std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string, blob_value>;

/// Per-table facts recorded in a snapshot's directory.
struct snapshot_table_stats {
    std::uint64_t row_count = 0;      ///< rows stored for the table
    std::uint64_t next_auto_key = 0;  ///< the key the store would assign next (0 when not auto-keyed)
    std::uint64_t rows_offset = 0;    ///< byte offset of the table's first row in the file
    std::uint64_t rows_size = 0;      ///< bytes taken by the table's rows
};

namespace detail {

/// Watches an image while it is encoded, so that a file save can write the
/// finished part on another thread (core/snapshot_file.cpp). Bytes before
/// rows_begin() change until finish(); later bytes are final once published.
class image_observer {
public:
    /// Bytes [0, size) of the buffer at data have been encoded.
    virtual void published(const std::byte* data, std::size_t size) = 0;
    /// The buffer is about to move: stop reading it until moved().
    virtual void moving() = 0;
    /// The buffer moved to data.
    virtual void moved(const std::byte* data) = 0;

protected:
    ~image_observer() = default;
};

/// Receives the full chunks of a row_encoder and hands back an empty one.
class chunk_sink {
public:
    /// Takes bytes [chunk, chunk + size), which are final; returns the chunk to
    /// fill next, of the same capacity.
    virtual std::byte* take(std::byte* chunk, std::size_t size) = 0;

protected:
    ~chunk_sink() = default;
};

template <class T>
inline T to_le(T v) noexcept {
    if constexpr (std::endian::native == std::endian::big && sizeof(T) > 1) {
        if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(static_cast<std::uint16_t>(v)));
        if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(static_cast<std::uint32_t>(v)));
        if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(static_cast<std::uint64_t>(v)));
    }
    return v;
}

/// Encodes cells as snapshot_writer does, into fixed-size chunks that a
/// chunk_sink takes as they fill: a save's rows never sit in memory whole,
/// and the chunks stay in cache.
class row_encoder {
public:
    row_encoder(chunk_sink& sink, std::byte* chunk, std::size_t capacity) noexcept
        : sink_(sink), begin_(chunk), cur_(chunk), end_(chunk + capacity) {}

    void put_bool(bool v) { put_u8(v ? 1 : 0); }
    void put_u8(std::uint8_t v) {
        room(1);
        *cur_++ = static_cast<std::byte>(v);
    }
    void put_u16(std::uint16_t v) { put_raw(v); }
    void put_u32(std::uint32_t v) { put_raw(v); }
    void put_u64(std::uint64_t v) { put_raw(v); }
    void put_f32(float v) { put_raw(std::bit_cast<std::uint32_t>(v)); }
    void put_f64(double v) { put_raw(std::bit_cast<std::uint64_t>(v)); }
    void put_presence(bool present) { put_u8(present ? 1 : 0); }
    void put_blob(std::span<const std::byte> b) {
        put_string(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
    void put_string(std::string_view s) {
        put_u64(static_cast<std::uint64_t>(s.size()));
        while (!s.empty()) {  // a string longer than a chunk goes in pieces
            room(1);
            const std::size_t n = std::min(s.size(), static_cast<std::size_t>(end_ - cur_));
            std::memcpy(cur_, s.data(), n);
            cur_ += n;
            s.remove_prefix(n);
        }
    }

    /// Hands over the chunk being filled, full or not.
    void flush() {
        if (cur_ != begin_) spill();
    }
    /// Bytes encoded so far.
    [[nodiscard]] std::uint64_t bytes() const noexcept {
        return taken_ + static_cast<std::uint64_t>(cur_ - begin_);
    }

private:
    template <class T>
    void put_raw(T v) {
        room(sizeof v);
        v = to_le(v);
        std::memcpy(cur_, &v, sizeof v);
        cur_ += sizeof v;
    }
    // Cells of at most 8 bytes never straddle chunks.
    void room(std::size_t n) {
        if (static_cast<std::size_t>(end_ - cur_) < n) spill();
    }
    void spill() {
        const auto capacity = static_cast<std::size_t>(end_ - begin_);
        taken_ += static_cast<std::uint64_t>(cur_ - begin_);
        begin_ = cur_ = sink_.take(begin_, static_cast<std::size_t>(cur_ - begin_));
        end_ = begin_ + capacity;
    }

    chunk_sink& sink_;
    std::byte* begin_;
    std::byte* cur_;
    std::byte* end_;
    std::uint64_t taken_ = 0;
};

/// The smallest number of bytes a value of this type can take in a row.
[[nodiscard]] std::uint64_t min_encoded_size(const column_type& t) noexcept;

/// When a load inserts a table's rows grouped by a foreign key (and so when a
/// save, or relstore import, writes them in that order; docs/snapshot-format.md):
/// enough rows, and rows large enough on average, for the grouping's memory
/// (4 bytes and a key a row) to stay below the table's size in the file;
/// offsets that fit 32 bits.
struct grouping_limits {
    static constexpr std::uint64_t min_rows = 4096, min_row_bytes = 24;
    static constexpr bool applies(std::uint64_t row_count, std::uint64_t rows_size) {
        return row_count >= min_rows && rows_size / row_count >= min_row_bytes &&
               rows_size <= std::numeric_limits<std::uint32_t>::max();
    }
};

/// Throws snapshot_error with the message "snapshot 'NAME' at byte N: MSG"
/// (no "at byte" without an offset): the one format of every snapshot error,
/// the reader's and the store loader's alike.
[[noreturn]] void throw_snapshot_error(errc code, const std::string& name, std::optional<std::uint64_t> offset,
                                       const std::string& msg);

/// A cell as error messages show it, as detail::display shows the same value
/// of a row type: strings quoted, null as NULL. Without the column's type, a
/// timestamp, duration or enumeration shows as its integer: see display_cell.
[[nodiscard]] std::string display_value(const value& v);
/// A cell of a column of this type as detail::display shows the same value of
/// a row type: timestamps in ISO 8601, durations with their unit, enum values
/// by name, blobs in hex.
[[nodiscard]] std::string display_cell(const value& v, const column_type& type);
/// Cells as detail::display shows a column or a tuple: one alone, several as "(a, b)".
[[nodiscard]] std::string display_values(std::span<const value> v);
/// Column names as messages show them: "name", or "(author_id, book_id)".
[[nodiscard]] std::string column_names_text(std::span<const std::string> names);

/// The texts of the integrity errors, shared by relstore::load (typed rows)
/// and snapshot_reader::check_integrity (the `relstore verify` tool's
/// dynamic rows), so that the two report a bad file in the same words.
/// Columns and values come as column_names_text and display_value(s) give them.
namespace integrity_text {
[[nodiscard]] std::string nan_in_indexed_column(std::string_view table, std::string_view column);
[[nodiscard]] std::string duplicate_key(std::string_view table, std::string_view columns, std::string_view value);
[[nodiscard]] std::string duplicate_unique(std::string_view table, std::string_view columns, std::string_view value);
[[nodiscard]] std::string dangling_reference(std::string_view table, std::string_view columns, std::string_view value,
                                             std::string_view parent);
[[nodiscard]] std::string cycle(std::string_view table, std::string_view columns, std::string_view key);
[[nodiscard]] std::string next_key_unfit(std::string_view table, std::string_view next, std::string_view key_type);
[[nodiscard]] std::string next_key_below_first(std::string_view table, std::string_view next, std::string_view first);
[[nodiscard]] std::string next_key_not_above(std::string_view table, std::string_view next,
                                             std::string_view largest);
}  // namespace integrity_text

}  // namespace detail

/// Encodes a snapshot image in memory: the header and schema first, then each
/// table's rows, then the checksum. Call begin_table/put.../end_table for each
/// table in schema order, then finish().
///
/// The image is built in one growing buffer rather than streamed, so that the
/// header can carry the file size and table directory (which lets a reader name
/// a truncation precisely) and the checksum is one pass at memory speed; the
/// cost is peak memory of about one snapshot size while saving.
/// One table of a snapshot written front to back: what its directory entry
/// holds, known before any of its rows is encoded.
struct table_extent {
    std::uint64_t row_count = 0;
    std::uint64_t next_auto_key = 0;
    std::uint64_t bytes = 0;  ///< the exact size of the table's encoded rows
};

class snapshot_writer {
public:
    /// Starts an image for this schema; size_hint reserves that many bytes.
    /// @throws relstore::usage_error when the schema is not well formed (duplicate names, unknown columns).
    explicit snapshot_writer(schema_info schema, std::size_t size_hint = 0);
    snapshot_writer(const snapshot_writer&) = delete;
    snapshot_writer& operator=(const snapshot_writer&) = delete;
    snapshot_writer(snapshot_writer&&) noexcept;
    snapshot_writer& operator=(snapshot_writer&&) noexcept;
    ~snapshot_writer();

    /// The schema being written.
    [[nodiscard]] const schema_info& schema() const noexcept { return schema_; }

    /// Starts the rows of the next table (tables go in schema order).
    /// @throws relstore::usage_error when called out of order.
    void begin_table(std::size_t table_index);
    /// Ends the current table, recording how many rows were put and its next auto key.
    /// @throws relstore::usage_error when no table is open.
    void end_table(std::uint64_t row_count, std::uint64_t next_auto_key = 0);

    /// Appends a bool cell.
    void put_bool(bool v) { put_u8(v ? 1 : 0); }
    /// Appends an 8-bit cell.
    void put_u8(std::uint8_t v) {
        reserve(1);
        *cur_++ = static_cast<std::byte>(v);
    }
    /// Appends a 16-bit cell, little-endian.
    void put_u16(std::uint16_t v) { put_raw(v); }
    /// Appends a 32-bit cell, little-endian.
    void put_u32(std::uint32_t v) { put_raw(v); }
    /// Appends a 64-bit cell, little-endian.
    void put_u64(std::uint64_t v) { put_raw(v); }
    /// Appends a float32 cell as its IEEE-754 bits.
    void put_f32(float v) { put_raw(std::bit_cast<std::uint32_t>(v)); }
    /// Appends a float64 cell as its IEEE-754 bits.
    void put_f64(double v) { put_raw(std::bit_cast<std::uint64_t>(v)); }
    /// Appends a blob cell: u64 length, then the bytes.
    void put_blob(std::span<const std::byte> b) {
        put_string(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
    /// Appends a string cell: u64 length, then the bytes.
    void put_string(std::string_view s) {
        reserve(8 + s.size());
        store(cur_, static_cast<std::uint64_t>(s.size()));
        if (!s.empty()) std::memcpy(cur_ + 8, s.data(), s.size());
        cur_ += 8 + s.size();
    }
    /// Appends the presence byte of a nullable cell (then the value when present).
    void put_presence(bool present) { put_u8(present ? 1 : 0); }

    /// Appends one cell of the given type from a dynamic value.
    /// @throws relstore::usage_error when the value does not fit the type (null in a
    /// non-nullable column, out-of-range integer, wrong alternative).
    void put_value(const column_type& type, const value& v);
    /// Appends a whole row of the current table from dynamic values, in column order.
    /// @throws relstore::usage_error as put_value, or when the number of values is wrong.
    void put_row(std::span<const value> row);

    /// Reserves room for an image of about total bytes.
    void reserve_total(std::size_t total);

    /// Reports progress to obs about every MiB while encoding (the pipelined
    /// file save); nullptr stops the reports.
    void observe(detail::image_observer* obs) noexcept;

    /// The offset of the first row: bytes before it are patched until finish().
    [[nodiscard]] std::size_t rows_begin() const noexcept {
        return directory_offset_ + schema_.tables.size() * 32;
    }

    /// For a snapshot written front to back (see write_snapshot_file_streamed):
    /// fills in the directory and the file size from every table's extent and
    /// returns the header, bytes [0, rows_begin()). The rows follow it, table
    /// after table, then the checksum. The writer must not have begun a table.
    /// @throws relstore::usage_error when a table was begun or the extents do not match the schema.
    [[nodiscard]] std::span<const std::byte> header_for(std::span<const table_extent> tables);

    /// Completes the image (file size, directory, checksum) and returns it; the
    /// span stays valid until the writer is destroyed or moved from.
    /// @throws relstore::usage_error when not every table was written.
    [[nodiscard]] std::span<const std::byte> finish();

private:
    template <class T>
    static void store(std::byte* p, T v) noexcept {
        v = detail::to_le(v);
        std::memcpy(p, &v, sizeof v);
    }
    template <class T>
    void put_raw(T v) {
        reserve(sizeof v);
        store(cur_, v);
        cur_ += sizeof v;
    }
    void reserve(std::size_t n) {
        if (static_cast<std::size_t>(end_ - cur_) < n) grow(n);
    }
    void grow(std::size_t n);
    [[nodiscard]] std::size_t size() const noexcept { return static_cast<std::size_t>(cur_ - begin_); }

    struct free_deleter {
        void operator()(std::byte* p) const noexcept;
    };

    schema_info schema_;
    std::unique_ptr<std::byte, free_deleter> buffer_;
    std::byte* begin_ = nullptr;
    std::byte* cur_ = nullptr;
    std::byte* end_ = nullptr;  // where grow() is next called: the capacity, or earlier when observed
    std::byte* cap_ = nullptr;  // the capacity
    detail::image_observer* observer_ = nullptr;
    std::size_t directory_offset_ = 0;
    std::size_t next_table_ = 0;
    std::size_t table_start_ = 0;
    bool table_open_ = false;
    bool finished_ = false;
};

class snapshot_reader;
class row_cursor;

namespace detail {
/// Where a streamed reader's cursor gets the bytes after those it holds: its
/// table's rows, read from the file through a window of its own.
class row_stream;
struct row_stream_deleter {
    void operator()(row_stream* s) const noexcept;
};
using row_stream_ptr = std::unique_ptr<row_stream, row_stream_deleter>;
}  // namespace detail

/// Decodes the rows of one table of a validated snapshot, cell by cell, in
/// column order. Every read checks the bytes left; a malformed cell throws
/// relstore::snapshot_error naming the byte offset. A cursor of a streamed
/// reader (snapshot_reader::open_streamed) holds a window of its table's
/// rows and reads the next one from the file when a cell needs more bytes;
/// a view a cell read returned then no longer points at its bytes, so a
/// caller copies each before reading the next cell (as every decoder does).
class row_cursor {
public:
    /// Reads a bool cell (the byte must be 0 or 1).
    bool get_bool() {
        const auto b = get_u8();
        if (b > 1) bad_byte(1, "a bool (0 or 1)", b);
        return b != 0;
    }
    /// Reads an 8-bit cell.
    std::uint8_t get_u8() {
        need(1);
        return static_cast<std::uint8_t>(*cur_++);
    }
    /// Reads a 16-bit cell.
    std::uint16_t get_u16() { return get_raw<std::uint16_t>(); }
    /// Reads a 32-bit cell.
    std::uint32_t get_u32() { return get_raw<std::uint32_t>(); }
    /// Reads a 64-bit cell.
    std::uint64_t get_u64() { return get_raw<std::uint64_t>(); }
    /// Reads a float32 cell.
    float get_f32() { return std::bit_cast<float>(get_raw<std::uint32_t>()); }
    /// Reads a float64 cell.
    double get_f64() { return std::bit_cast<double>(get_raw<std::uint64_t>()); }
    /// Reads a string cell; the view points into the reader's image, or the
    /// cursor's window (valid until the next read).
    std::string_view get_string() {
        const auto n = get_raw<std::uint64_t>();
        if (n > static_cast<std::uint64_t>(end_ - cur_)) more_for_string(n);
        const std::string_view s(reinterpret_cast<const char*>(cur_), static_cast<std::size_t>(n));
        cur_ += n;
        return s;
    }
    /// Reads a blob cell; the span points as get_string's view does.
    std::span<const std::byte> get_blob() {
        const auto s = get_string();
        return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
    }
    /// Reads the presence byte of a nullable cell (must be 0 or 1).
    bool get_presence() {
        const auto b = get_u8();
        if (b > 1) bad_byte(1, "a presence byte (0 or 1)", b);
        return b != 0;
    }
    /// Reads one cell of the given type as a dynamic value.
    value get_value(const column_type& type);
    /// Skips one cell of the given type (used for columns a program no longer has).
    void skip_value(const column_type& type);
    /// The file offset of the next byte to read.
    [[nodiscard]] std::uint64_t offset() const noexcept {
        return base_offset_ + static_cast<std::uint64_t>(cur_ - begin_);
    }
    /// Checks that every byte of the table's rows was consumed.
    /// @throws relstore::snapshot_error (bad_snapshot) otherwise.
    void finish() const;
    /// Fails the load at the cell that starts at byte `at`: "table 'T': MSG".
    /// @throws relstore::snapshot_error (bad_snapshot), always.
    [[noreturn]] void fail_at(std::uint64_t at, const std::string& msg) const;
    /// A cursor over the same table's rows from file offset `offset`, which
    /// must be one that offset() returned at the start of a row (a load
    /// decodes rows out of file order, grouped by a foreign key). Only for a
    /// cursor over rows held in memory (snapshot_reader::hold_rows).
    [[nodiscard]] row_cursor at(std::uint64_t offset) const noexcept {
        row_cursor c(begin_, end_, base_offset_, path_, table_);
        c.cur_ = begin_ + static_cast<std::size_t>(offset - base_offset_);
        return c;
    }

    /// A cursor over cells outside a snapshot's row section (a journal
    /// record's, relstore/journal.hpp), so that they are decoded by the same
    /// code. base_offset is the file offset of begin; path and table are what
    /// errors name, and must outlive the cursor.
    [[nodiscard]] static row_cursor over(const std::byte* begin, const std::byte* end, std::uint64_t base_offset,
                                         const std::string* path, const std::string* table) noexcept {
        return row_cursor(begin, end, base_offset, path, table);
    }

private:
    friend class snapshot_reader;
    friend class detail::row_stream;
    row_cursor(const std::byte* begin, const std::byte* end, std::uint64_t base_offset, const std::string* path,
               const std::string* table)
        : begin_(begin),
          cur_(begin),
          end_(end),
          base_offset_(base_offset),
          end_offset_(base_offset + static_cast<std::uint64_t>(end - begin)),
          path_(path),
          table_(table) {}
    /// A cursor that reads its bytes through stream, from base_offset.
    row_cursor(detail::row_stream_ptr stream, std::uint64_t base_offset, std::uint64_t end_offset,
               const std::string* path, const std::string* table);

    template <class T>
    T get_raw() {
        need(sizeof(T));
        T v;
        std::memcpy(&v, cur_, sizeof v);
        cur_ += sizeof v;
        return detail::to_le(v);
    }
    void need(std::size_t n) {
        if (static_cast<std::size_t>(end_ - cur_) < n) more(n);
    }
    /// The table's bytes after the cursor (beyond its window, for a stream).
    [[nodiscard]] std::uint64_t left() const noexcept { return end_offset_ - offset(); }
    /// Makes n bytes readable at cur_ (reading the file for a stream), or
    /// fails the load: the table has fewer left.
    void more(std::size_t n);
    void more_for_string(std::uint64_t n);
    [[noreturn]] void truncated(std::size_t n) const;
    [[noreturn]] void bad_byte(std::size_t back, const char* expected, unsigned got) const;
    [[noreturn]] void bad_length(std::uint64_t n) const;

    const std::byte* begin_ = nullptr;
    const std::byte* cur_ = nullptr;
    const std::byte* end_ = nullptr;
    std::uint64_t base_offset_ = 0;  // the file offset of begin_
    std::uint64_t end_offset_ = 0;   // the file offset just past the table's rows
    const std::string* path_ = nullptr;
    const std::string* table_ = nullptr;
    detail::row_stream_ptr stream_;
};

/// What a reader does when the stored checksum does not match the bytes.
enum class checksum_policy : std::uint8_t {
    verify,  ///< throw relstore::snapshot_error (checksum_mismatch) before anything is decoded
    report,  ///< keep going so that header and schema can be shown (`relstore info`); see checksum_ok()
};

namespace detail {
/// A file name as messages show it: control characters (a newline, an
/// escape sequence) as \n, \t, \r or \xNN, so that a hostile or mistaken
/// name can neither split a log line nor reach a terminal. The error's
/// path() keeps the name as it is.
[[nodiscard]] std::string printable_name(const std::string& name);
/// printable_name(name) in single quotes: how a message names a file.
[[nodiscard]] inline std::string quoted_name(const std::string& name) { return "'" + printable_name(name) + "'"; }

/// The bytes of an image a reader holds: a vector handed in, or memory that
/// snapshot_reader::open reads a file into. For the latter, a large file goes
/// into an anonymous mapping whose pages are faulted in by one madvise() per
/// range (populate()), neither zeroed a second time by a vector nor faulted
/// in one by one by read(): for a 145 MB file that took the read from
/// 150-175 ms to 120-128 ms on the benchmark machine, and to 70-85 ms with
/// each half faulted in and read by its own thread.
class image_bytes {
public:
    image_bytes() noexcept = default;
    explicit image_bytes(std::vector<std::byte> v) noexcept : vec_(std::move(v)), size_(vec_.size()) {}
    /// Room for n bytes, not initialised (their content is unspecified until written).
    /// @throws std::bad_alloc
    static image_bytes uninitialized(std::size_t n);
    image_bytes(image_bytes&& o) noexcept;
    image_bytes& operator=(image_bytes&& o) noexcept;
    image_bytes(const image_bytes&) = delete;
    image_bytes& operator=(const image_bytes&) = delete;
    ~image_bytes();

    [[nodiscard]] std::byte* data() noexcept { return map_ != nullptr ? map_ : vec_.data(); }
    [[nodiscard]] const std::byte* data() const noexcept { return map_ != nullptr ? map_ : vec_.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// Keeps the first n bytes (n <= size()).
    void shrink(std::size_t n) noexcept { size_ = std::min(size_, n); }
    /// Faults in the pages of [first, first + count) of a mapping in one call
    /// (nothing for a vector, or where the kernel cannot: reads then fault
    /// them in one by one).
    void populate(std::size_t first, std::size_t count) noexcept;
    operator std::span<const std::byte>() const noexcept { return {data(), size_}; }

private:
    void release() noexcept;
    std::vector<std::byte> vec_;
    std::byte* map_ = nullptr;
    std::size_t map_size_ = 0;
    std::size_t size_ = 0;
};

/// The open file a streamed reader's cursors read their rows from (with
/// pread(), so cursors on several threads share it), and what it was when
/// its checksum was verified.
struct snapshot_file;

/// A table's rows held in memory, for a decode that reads them out of file
/// order: a view into a reader's image, or, for a streamed reader, a copy
/// read from the file.
class held_rows {
public:
    /// The table's first row byte.
    [[nodiscard]] const std::byte* data() const noexcept { return data_; }
    /// A cursor over the rows (at() works on it).
    [[nodiscard]] row_cursor rows() const noexcept {
        return row_cursor::over(data_, data_ + size_, offset_, path_, table_);
    }

private:
    friend class relstore::snapshot_reader;
    image_bytes own_;
    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
    std::uint64_t offset_ = 0;
    const std::string* path_ = nullptr;
    const std::string* table_ = nullptr;
};
}  // namespace detail

/// A snapshot image held in memory and validated: size, magic, version,
/// platform and checksum first, then the schema and the table directory, with
/// every count and length checked against the bytes actually present.
class snapshot_reader {
public:
    /// Validates an image; name is what errors call it (a path or "<stream>").
    /// @throws relstore::snapshot_error naming the file, byte offset and what was expected.
    snapshot_reader(std::vector<std::byte> image, std::string name,
                    checksum_policy policy = checksum_policy::verify);

    /// Reads and validates a whole snapshot file.
    /// @throws relstore::snapshot_error (io for operating-system failures, else as the constructor).
    [[nodiscard]] static snapshot_reader open(const std::filesystem::path& path,
                                              checksum_policy policy = checksum_policy::verify);
    /// Reads and validates a snapshot from a stream (to its end).
    /// @throws relstore::snapshot_error (io when the stream fails, else as the constructor).
    [[nodiscard]] static snapshot_reader from_stream(std::istream& in,
                                                     checksum_policy policy = checksum_policy::verify);
    /// The window of a streamed reader's cursors, in bytes.
    static constexpr std::size_t default_stream_window = std::size_t{256} << 10;
    /// Validates a snapshot file as open() does, checksum first, but holds
    /// only its header, schema and directory: the checksum is computed
    /// through a small buffer, and each cursor (rows()) reads its table's
    /// rows from the file through a window of `window` bytes (at least 1) as
    /// they are decoded. A large file is then never whole in memory, and its
    /// pages never faulted in (relstore::load reads files this way). The file
    /// stays open as long as the reader; check_unchanged() tells whether it
    /// changed in place meanwhile.
    /// @throws relstore::snapshot_error as open().
    [[nodiscard]] static snapshot_reader open_streamed(const std::filesystem::path& path,
                                                       std::size_t window = default_stream_window,
                                                       checksum_policy policy = checksum_policy::verify);
    /// True for a reader made by open_streamed.
    [[nodiscard]] bool streamed() const noexcept { return file_ != nullptr; }
    /// For a streamed reader: checks that its file is the same as when its
    /// checksum was verified (its size and modification time), so that
    /// the rows decoded are those the checksum covered. A file replaced by a
    /// rename (as save does) is not a change: the reader holds the one it
    /// opened. Nothing for a reader holding its image.
    /// @throws relstore::snapshot_error (io) when the file changed, or cannot be examined.
    void check_unchanged() const;
    /// Table i's rows held in memory: a view into the image, or, for a
    /// streamed reader, read from the file.
    /// @throws relstore::snapshot_error (io) when the read fails.
    [[nodiscard]] detail::held_rows hold_rows(std::size_t i) const;

    /// What errors call the image: its path or "<stream>".
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// The format version of the image.
    [[nodiscard]] std::uint32_t format_version() const noexcept { return version_; }
    /// The writer's word size in bytes.
    [[nodiscard]] unsigned word_size() const noexcept { return word_size_; }
    /// The image size in bytes.
    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    /// The checksum stored in the image.
    [[nodiscard]] std::uint64_t stored_checksum() const noexcept { return stored_checksum_; }
    /// The checksum computed over the image's bytes.
    [[nodiscard]] std::uint64_t computed_checksum() const noexcept { return computed_checksum_; }
    /// True when stored and computed checksums agree.
    [[nodiscard]] bool checksum_ok() const noexcept { return stored_checksum_ == computed_checksum_; }
    /// The schema recorded in the image.
    [[nodiscard]] const schema_info& schema() const noexcept { return schema_; }
    /// The directory entry of table i.
    [[nodiscard]] const snapshot_table_stats& table(std::size_t i) const { return stats_.at(i); }
    /// The index of a table by name, if present.
    [[nodiscard]] std::optional<std::size_t> find_table(std::string_view name) const noexcept;
    /// A cursor over the rows of table i.
    [[nodiscard]] row_cursor rows(std::size_t i) const;
    /// Decodes every row of every table, checking each cell.
    /// @throws relstore::snapshot_error at the first malformed cell.
    void check_rows() const;
    /// Decodes every row and checks the constraints the snapshot's own schema
    /// records, in the order relstore::load checks a program's: per table, row
    /// by row, no NaN in a column that a key, index or foreign key covers, the
    /// key unique, then each unique index and one-to-one foreign key (nulls
    /// never clash); the next auto key fitting its column and above every
    /// key; then every foreign key resolving and no cycle through an acyclic
    /// self-reference. Loading the file into a program with the snapshot's
    /// schema fails with the same message. Memory: a set of every key and
    /// unique value, a few dozen bytes per row and constraint.
    /// @throws relstore::snapshot_error (bad_snapshot) at the first problem.
    void check_integrity() const;
    /// The raw image; for a streamed reader only its bytes before the first
    /// row (header, schema and directory).
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return image_; }

private:
    /// What open_streamed knows of the file besides its head.
    struct streamed_file {
        std::shared_ptr<detail::snapshot_file> file;
        std::uint64_t size = 0;             // the bytes the checksum pass read
        std::uint64_t stored_checksum = 0;  // the file's last 8 bytes
    };
    /// As the public constructor; body_checksum, when given, is the checksum
    /// of the image's bytes before the stored checksum, computed while they
    /// were read. With `streamed`, image holds only the file's first bytes,
    /// up to the first row, or fewer where the file is shorter.
    snapshot_reader(detail::image_bytes image, std::string name, checksum_policy policy,
                    std::optional<std::uint64_t> body_checksum, streamed_file streamed);

    detail::image_bytes image_;
    std::shared_ptr<detail::snapshot_file> file_;
    std::uint64_t size_ = 0;
    std::size_t window_ = default_stream_window;
    std::string name_;
    std::uint32_t version_ = 0;
    unsigned word_size_ = 0;
    std::uint64_t stored_checksum_ = 0;
    std::uint64_t computed_checksum_ = 0;
    schema_info schema_;
    std::vector<snapshot_table_stats> stats_;
};

/// What a load may do when the snapshot's schema differs from the program's
/// (columns and tables are matched by name). Whatever it allows, a snapshot
/// that shares no table with the program is refused.
struct load_options {
    /// Drop snapshot columns that the program's row types no longer have
    /// (otherwise such a column is a schema_mismatch error naming it).
    bool drop_unknown_columns = false;
    /// Drop snapshot tables that the program's store no longer has
    /// (otherwise such a table is a schema_mismatch error naming it).
    bool drop_unknown_tables = false;
    /// Load a table of the program that the snapshot does not have as empty
    /// (otherwise such a table is a schema_mismatch error naming it: an empty
    /// table is often a sign of the wrong file, not of a new table).
    bool empty_missing_tables = false;
};

/// The schema evolution a load applied, for the application to log; every
/// list is empty when the snapshot's tables and columns are the program's.
/// Columns are named "table.column".
struct load_report {
    std::vector<std::string> tables_filled_empty;  ///< program tables the snapshot lacks, loaded empty
    std::vector<std::string> tables_dropped;       ///< snapshot tables the program lacks, not loaded
    std::vector<std::string> columns_defaulted;    ///< program columns the snapshot lacks, given their defaults
    std::vector<std::string> columns_dropped;      ///< snapshot columns the program lacks, not loaded

    /// True when the load applied no schema evolution.
    [[nodiscard]] bool empty() const noexcept {
        return tables_filled_empty.empty() && tables_dropped.empty() && columns_defaulted.empty() &&
               columns_dropped.empty();
    }
    friend bool operator==(const load_report&, const load_report&) = default;
};

namespace detail {

/// How a snapshot's tables and columns map onto a program's schema.
struct load_plan {
    /// Marks a snapshot column the program does not have (skipped on load).
    static constexpr std::size_t no_column = static_cast<std::size_t>(-1);
    struct table {
        std::optional<std::size_t> source;        ///< the snapshot's table of that name, if any
        bool same_columns = false;                ///< the same columns in the same order
        std::vector<std::size_t> column_target;   ///< per snapshot column: the program's column, or no_column
    };
    std::vector<table> tables;  ///< per program table, in the program's order
    load_report report;
};

/// Matches a snapshot's schema to a program's before any row is decoded.
/// @throws relstore::snapshot_error (schema_mismatch) when they share no table,
/// for a table or column that options do not allow to drop or fill, and for a
/// column whose type changed.
[[nodiscard]] load_plan plan_load(const snapshot_reader& r, const schema_info& program, const load_options& options);

}  // namespace detail

/// XXH3-64 of a byte range, as snapshots use it.
[[nodiscard]] std::uint64_t snapshot_checksum(std::span<const std::byte> bytes) noexcept;

/// Reads a whole file into memory, with errors that name the file and the
/// failing operation.
/// @throws relstore::snapshot_error (io, also for a directory or another non-regular file).
[[nodiscard]] std::vector<std::byte> read_snapshot_file(const std::filesystem::path& path);

/// Replaces target with bytes, crash-safely: writes a temporary file
/// ".NAME.tmp-<random>" in the target's directory under an flock, fsyncs it,
/// renames it over target, fsyncs the directory, then removes the target's
/// temporary files that no live save holds (left by killed saves).
/// On failure before the rename the old target is untouched and the temporary
/// file is removed.
/// `kind` names the file in messages ("snapshot 'x': cannot save: ..."), for
/// other files written this way ("SQLite database").
/// @throws relstore::snapshot_error (io) naming the operation and the file.
void write_snapshot_file(const std::filesystem::path& target, std::span<const std::byte> bytes,
                         std::string_view kind = "snapshot");

/// As write_snapshot_file, for an image being encoded: runs encode() (which
/// fills w's tables) while a second thread writes the finished part of the
/// image, then finishes w and completes the file. Encoding and disk writes
/// overlap, which is most of a large save's time.
/// @throws relstore::snapshot_error (io) as above; whatever encode throws, after removing the temporary file.
void write_snapshot_file(const std::filesystem::path& target, snapshot_writer& w,
                         const std::function<void()>& encode);

/// As write_snapshot_file, for a snapshot written front to back: header (from
/// snapshot_writer::header_for), then the rows that encode() puts through the
/// row_encoder, then the checksum, computed as the chunks go. A second thread
/// writes each chunk while the next is encoded; the image is never whole in
/// memory. The rows must come to exactly the extents' bytes.
/// @throws relstore::snapshot_error (io) as above; relstore::usage_error when the
/// rows' size differs from the header's; whatever encode throws, after removing the temporary file.
void write_snapshot_file_streamed(const std::filesystem::path& target, std::span<const std::byte> header,
                                  const std::function<void(detail::row_encoder&)>& encode, bool threaded = true);

/// Writes bytes to a stream.
/// @throws relstore::snapshot_error (io) when the stream fails.
void write_snapshot_stream(std::ostream& out, std::span<const std::byte> bytes);

}  // namespace relstore
