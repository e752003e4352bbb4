#pragma once
/// @file detail/journal_file.hpp
/// The journal file format (docs/journal.md) without any store templates:
/// the header, record framing and scanning, the dynamic decoding of records
/// (for the `relstore journal` tool) and the file operations of a journal,
/// through the snapshot file layer's fault-injection seam (detail::file_ops).
/// relstore/journal.hpp glues a store to it. Compiled in core/journal_file.cpp.

#include <relstore/error.hpp>
#include <relstore/schema_info.hpp>
#include <relstore/snapshot_format.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relstore {

/// The eight bytes every journal starts with.
inline constexpr unsigned char journal_magic[8] = {0x89, 'R', 'J', 'R', 'N', 'L', '\r', '\n'};

/// The journal format version this build writes. It reads this one and
/// version 1, whose records are version 2's without column-only updates.
inline constexpr std::uint32_t journal_format_version = 2;
/// The oldest journal format version this build reads.
inline constexpr std::uint32_t journal_oldest_version = 1;

/// Bytes a record takes besides its payload: sequence number, length and
/// header checksum before it, the payload checksum after it.
inline constexpr std::size_t journal_record_overhead = 32;

namespace detail {

/// Flags of a table's part of a transaction record (the typed decoder in
/// journal.hpp and the schema-driven one in core/journal_file.cpp).
inline constexpr std::uint8_t table_flag_next_key = 1;     ///< a next auto key follows
inline constexpr std::uint8_t table_flag_column_only = 2;  ///< updates carry the key and the changed columns
inline constexpr std::uint8_t table_flags_known = table_flag_next_key | table_flag_column_only;

/// Appends cells to a growing buffer. It has snapshot_writer's put_* names,
/// so put_cell (snapshot.hpp) encodes journal records with the snapshot's
/// cell encoding; the buffer keeps its memory from record to record.
class record_buffer {
public:
    void clear() noexcept { size_ = 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] const std::byte* data() const noexcept { return buf_.data(); }
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return {buf_.data(), size_}; }

    void put_bool(bool v) { put_u8(v ? 1 : 0); }
    void put_u8(std::uint8_t v) { *room(1) = static_cast<std::byte>(v); }
    void put_u16(std::uint16_t v) { put_raw(v); }
    void put_u32(std::uint32_t v) { put_raw(v); }
    void put_u64(std::uint64_t v) { put_raw(v); }
    void put_f32(float v) { put_raw(std::bit_cast<std::uint32_t>(v)); }
    void put_f64(double v) { put_raw(std::bit_cast<std::uint64_t>(v)); }
    void put_presence(bool present) { put_u8(present ? 1 : 0); }
    void put_string(std::string_view s) {
        put_u64(static_cast<std::uint64_t>(s.size()));
        if (!s.empty()) std::memcpy(room(s.size()), s.data(), s.size());
    }
    /// A blob is a string cell of its bytes, as snapshot_writer writes it
    /// (without it, a journal of a store with a blob column did not compile).
    void put_blob(std::span<const std::byte> b) {
        put_string(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
    /// Overwrites 8 bytes at a position already written.
    void patch_u64(std::size_t at, std::uint64_t v) noexcept {
        v = to_le(v);
        std::memcpy(buf_.data() + at, &v, sizeof v);
    }
    void patch_u32(std::size_t at, std::uint32_t v) noexcept {
        v = to_le(v);
        std::memcpy(buf_.data() + at, &v, sizeof v);
    }

private:
    template <class T>
    void put_raw(T v) {
        v = to_le(v);
        std::memcpy(room(sizeof v), &v, sizeof v);
    }
    // Called for every cell of every record: the common case stays inline.
    std::byte* room(std::size_t n) {
        if (buf_.size() - size_ < n) [[unlikely]]
            grow(n);
        std::byte* p = buf_.data() + size_;
        size_ += n;
        return p;
    }
    [[gnu::noinline]] void grow(std::size_t n) { buf_.resize(std::max(buf_.size() * 2, size_ + n + 256)); }
    std::vector<std::byte> buf_;
    std::size_t size_ = 0;
};

/// Which snapshot a journal follows: the snapshot file's stored checksum
/// (XXH3 of its bytes) and size, or no snapshot (the journal starts from an
/// empty store).
struct snapshot_id {
    bool present = false;
    std::uint64_t checksum = 0;
    std::uint64_t size = 0;
    friend bool operator==(const snapshot_id&, const snapshot_id&) = default;
};

/// "the snapshot with checksum 0x… (N bytes)" or "no snapshot (an empty store)".
[[nodiscard]] std::string to_text(const snapshot_id& id);

/// The identity of the snapshot file at path (its stored checksum, which a
/// load verifies, and its size); not present when there is no such file.
/// @throws snapshot_error (io) when the file exists but cannot be read.
[[nodiscard]] snapshot_id read_snapshot_id(const std::filesystem::path& path);

/// An empty snapshot image of a schema: how a journal header records the
/// schema its records were written for (the snapshot format's own schema
/// encoding; its checksum is the schema's hash).
[[nodiscard]] std::vector<std::byte> schema_image(const schema_info& schema);

/// A journal's header.
struct journal_header {
    std::uint64_t first_seq = 1;            ///< sequence number of the first record
    snapshot_id follows;                     ///< the snapshot the records apply to
    std::vector<std::byte> schema;           ///< schema_image() of the writer's schema
    std::uint64_t size = 0;                  ///< bytes the header takes in the file
    /// The file's format version: a writer appending to a version-1 journal
    /// writes version-1 records (no column-only updates), which both read.
    std::uint32_t version = journal_format_version;
    /// The schema's hash: the checksum stored at the end of the schema image.
    [[nodiscard]] std::uint64_t schema_hash() const noexcept;
};

/// The bytes of a header (sets nothing in h).
[[nodiscard]] std::vector<std::byte> encode_journal_header(const journal_header& h);

/// Validates and decodes the header at the start of a journal's bytes.
/// @throws snapshot_error naming the file and the byte offset.
[[nodiscard]] journal_header parse_journal_header(std::span<const std::byte> file, const std::string& name);

/// What a record holds (its payload's first byte).
enum class record_kind : std::uint8_t {
    transaction = 1,  ///< the change set of one committed transaction
    checkpoint = 2,   ///< a checkpoint's new snapshot and where its state is in this journal
};

/// One complete, valid record of a journal.
struct record_ref {
    std::uint64_t number = 0;  ///< 1 for the first record of the file
    std::uint64_t seq = 0;     ///< the sequence number (continues across checkpoints)
    std::uint64_t offset = 0;  ///< file offset of the record's first byte
    std::span<const std::byte> payload;
    [[nodiscard]] record_kind kind() const noexcept { return static_cast<record_kind>(payload[0]); }
    [[nodiscard]] std::uint64_t size() const noexcept { return journal_record_overhead + payload.size(); }
    [[nodiscard]] std::uint64_t end() const noexcept { return offset + size(); }
};

/// A checkpoint record: the snapshot written, and where in this journal the
/// records that follow its state begin.
struct checkpoint_mark {
    snapshot_id snapshot;
    std::uint64_t offset = 0;  ///< file offset of the first record after the snapshot's state
    std::uint64_t seq = 0;     ///< that record's sequence number
};

/// Reserves a record's header in buf (which must be empty); the payload follows.
void begin_record(record_buffer& buf);
/// Completes the record in buf: sequence number, length, both checksums.
void finish_record(record_buffer& buf, std::uint64_t seq);
/// Puts a whole checkpoint record into buf.
void encode_checkpoint(record_buffer& buf, const checkpoint_mark& m, std::uint64_t seq);
/// Decodes a checkpoint record. @throws snapshot_error when malformed.
[[nodiscard]] checkpoint_mark parse_checkpoint(const record_ref& r, const std::string& name);

/// How the records of a journal end.
enum class journal_tail : std::uint8_t {
    clean,    ///< the last record ends the file, or only zeros follow it (space allocated ahead)
    torn,     ///< bytes after the last good record hold no valid record: an interrupted write
    corrupt,  ///< a bad record is followed by a valid one: damage in the middle
};

/// The records of a journal, as far as they are good.
struct record_scan {
    std::vector<record_ref> records;
    std::uint64_t end = 0;       ///< file offset just past the last good record
    std::uint64_t next_seq = 0;  ///< the sequence number the next record gets
    std::uint64_t next_number = 0;
    journal_tail tail = journal_tail::clean;
    std::string problem;  ///< what is wrong with the bytes at `end` (torn or corrupt)
    /// The bytes after `end` when they are all zeros (the tail is clean):
    /// the space a writer with sync::every_commit allocates ahead of its
    /// records. Zeros after a torn record are part of the torn tail (they
    /// may be part of the interrupted write as well).
    std::uint64_t zeros = 0;
};

/// Scans the records in bytes, which start at file offset base with
/// sequence number first_seq and record number first_number. Records end
/// where the bytes end or where only zeros remain (no record is all zeros:
/// sequence numbers start at 1 and the header check of zeros is not zero).
/// With classify, any other bad record is called corrupt when a complete
/// valid record follows it somewhere, torn otherwise; without, scanning just
/// stops at the first record that is not (yet) complete and valid (a follower).
[[nodiscard]] record_scan scan_records(std::span<const std::byte> bytes, std::uint64_t base, std::uint64_t first_seq,
                                       std::uint64_t first_number, bool classify);

/// The bytes the record at the start of bytes takes, when its header is
/// there and sound (checksum, sequence number seq, a payload): how much a
/// follower must read to see it whole. Nothing for zeros or a torn header.
[[nodiscard]] std::optional<std::uint64_t> record_size_at(std::span<const std::byte> bytes, std::uint64_t seq);

/// Throws snapshot_error with the message "journal 'NAME' record N at byte X: MSG"
/// (record and byte left out when not given).
[[noreturn]] void throw_journal_error(errc code, const std::string& name, std::optional<std::uint64_t> record,
                                      std::optional<std::uint64_t> offset, const std::string& msg);

/// One table's part of a transaction record, decoded without row types.
struct dynamic_table_change {
    std::size_t table = 0;
    std::optional<std::uint64_t> next_key;
    std::vector<std::vector<value>> erased;    ///< key cells of the rows erased
    std::vector<std::vector<value>> updated;   ///< new values of the rows updated, a cell per column
    /// Per updated row, the columns it carries: all of them for a whole row;
    /// the key and the changed columns for a column-only update (version 2),
    /// whose other cells are empty.
    std::vector<std::vector<bool>> updated_columns;
    std::vector<std::vector<value>> inserted;  ///< rows inserted
};

/// Decodes a transaction record with the journal's own schema.
/// @throws snapshot_error naming the file, record and byte offset.
[[nodiscard]] std::vector<dynamic_table_change> decode_transaction(const record_ref& r, const schema_info& schema,
                                                                   const std::string& name);

/// Reads a whole journal (or snapshot) file through the seam.
/// @throws snapshot_error (io) naming the journal.
[[nodiscard]] std::vector<std::byte> read_journal_file(const std::filesystem::path& path);

/// What a follower reads of a journal, through the seam. Each failure is
/// thrown as a journal error (io) that names the file and the call, but
/// for the cases each function names: a follower polls files that a writer
/// replaces under it, and must tell "not there (yet)" from "cannot be read".
struct followed_file {
    /// The file a descriptor or a name refers to.
    struct identity {
        std::uint64_t dev = 0;
        std::uint64_t ino = 0;
        friend bool operator==(const identity&, const identity&) = default;
    };
    /// Opens name for reading (O_NONBLOCK: a FIFO would wait for a writer
    /// forever; open_journal refuses it then). Returns -1 when no file has
    /// that name and missing_ok.
    static int open(const std::string& name, bool missing_ok);
    static void close(int fd) noexcept;
    static identity identity_of(int fd, const std::string& name);
    /// The file the name holds now; nullopt when no file has that name.
    static std::optional<identity> identity_of(const std::string& name);
    /// The file and its size and modification time: a file made in place of
    /// another may get the inode number the other had.
    struct version {
        identity id;
        std::uint64_t size = 0;
        std::int64_t mtime_ns = 0;
        friend bool operator==(const version&, const version&) = default;
    };
    /// As identity_of(name), with the file's size and modification time.
    static std::optional<version> version_of(const std::string& name);
    /// Up to `most` bytes from pos to the file's end (fewer when it ends first).
    static std::vector<std::byte> read(int fd, const std::string& name, std::uint64_t pos, std::uint64_t most);
    /// Reads exactly out.size() bytes at offset; false when the file ends before.
    static bool read_exact(int fd, const std::string& name, std::uint64_t offset, std::span<std::byte> out);
};

class journal_file;
struct created_journal;

/// Creates a journal at target, crash-safely: header, then bytes [from, to)
/// of source when given, into "<target>.new", fsync, rename over target,
/// fsync of the directory. Returns it open for appending after its last byte
/// (the descriptor it was written through: once the new journal is in
/// place, the caller has it; an open after the rename could fail and leave
/// the caller appending to the file the rename replaced).
/// @throws snapshot_error (io) naming the operation; target is untouched.
/// A failed fsync of the directory, after the rename, is not thrown but
/// returned (created_journal::unsynced): the new journal is in place.
created_journal create_journal_file(const std::filesystem::path& target, std::span<const std::byte> header,
                                    const journal_file* source = nullptr, std::uint64_t from = 0,
                                    std::uint64_t to = 0, std::uint64_t preallocate = 0);

/// A journal open for appending. Every call goes through detail::file_ops.
///
/// With a preallocation step, the file is extended ahead of the records
/// (fallocate, or zeros) and that new size made durable with a full fsync
/// at once; records then overwrite space whose size and extents are
/// already on disk, so sync() is an fdatasync, which writes the data and
/// the flush but not the inode (docs/journal.md, Preallocation).
class journal_file {
public:
    journal_file() = default;
    /// Opens path for appending after `end`; the file must be at least that
    /// long (bytes after `end` are overwritten: zeros allocated ahead).
    /// preallocate: the step the file is extended by ahead of the records; 0: none.
    /// @throws snapshot_error (io).
    journal_file(std::filesystem::path path, std::uint64_t end, std::uint64_t preallocate = 0);
    journal_file(journal_file&& o) noexcept;
    journal_file& operator=(journal_file&& o) noexcept;
    ~journal_file();

    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// Just past the last record: where the next one goes.
    [[nodiscard]] std::uint64_t end() const noexcept { return end_; }
    /// The file's size: end() plus the space allocated ahead.
    [[nodiscard]] std::uint64_t allocated() const noexcept { return allocated_; }

    /// Writes bytes at the end, first extending the file by the preallocation
    /// step when they do not fit (then fsync). On failure the file is cut
    /// back to where the records ended and snapshot_error (io) is thrown;
    /// when even the cut fails, broken() says so and the bytes may be on disk.
    void append(std::span<const std::byte> bytes);
    /// Makes everything written durable: fdatasync when the file's size has
    /// not changed since the last fsync, fsync otherwise. @throws snapshot_error (io).
    void sync();
    /// Cuts the file at offset (space allocated ahead goes too) and makes
    /// that durable; false on failure.
    [[nodiscard]] bool cut(std::uint64_t offset) noexcept;
    /// Writes bytes back at offset, where a failed cut may have taken them
    /// (its truncate done, its fsync failed), and makes them durable; the
    /// end of the records stays where it was. False when that fails too.
    [[nodiscard]] bool put_back(std::uint64_t offset, std::span<const std::byte> bytes) noexcept;
    /// True when a failed append could not be undone.
    [[nodiscard]] bool broken() const noexcept { return broken_; }
    /// Reads bytes at offset (a checkpoint copies the newest records).
    /// @throws snapshot_error (io).
    void read_at(std::uint64_t offset, std::span<std::byte> out) const;
    void close() noexcept;

private:
    friend created_journal create_journal_file(const std::filesystem::path&, std::span<const std::byte>,
                                               const journal_file*, std::uint64_t, std::uint64_t, std::uint64_t);
    /// Takes fd, open on a file of exactly `end` bytes.
    journal_file(int fd, std::string name, std::uint64_t end, std::uint64_t preallocate) noexcept
        : name_(std::move(name)), fd_(fd), end_(end), allocated_(end), step_(preallocate) {}
    void extend(std::uint64_t needed);

    std::string name_;
    int fd_ = -1;
    std::uint64_t end_ = 0;
    std::uint64_t allocated_ = 0;    // the file's size
    std::uint64_t step_ = 0;         // preallocation step; 0: the file grows with each record
    // The size changed since the last fsync: sync() must fsync. Atomic:
    // sync::interval's background sync runs beside append (under io_mu_,
    // not the store's lock); append sets it after its write, sync clears it
    // before its fsync, so a size change is never lost between the two.
    std::atomic<bool> size_dirty_{false};
    bool broken_ = false;
};

/// What create_journal_file() put in place.
struct created_journal {
    journal_file file;  ///< open for appending after its last byte
    /// Null, or the error of the directory's fsync after the rename: the new
    /// journal is in place, but a crash may bring the one it replaced back.
    std::exception_ptr unsynced;
};

/// Renames from over to and makes the rename durable (directory fsync).
/// @throws snapshot_error (io).
void rename_durably(const std::filesystem::path& from, const std::filesystem::path& to);

/// Refuses a durable pair's paths before any file is made (the lock file
/// first): the same file for both (usage_error), or a path that exists and
/// is not a regular file, such as a directory or a FIFO (snapshot_error or
/// journal_error, as reading it would).
void check_durable_paths(const std::filesystem::path& snapshot, const std::filesystem::path& journal);

/// Holds a durable pair's exclusive locks for its lifetime: "<journal>.lock",
/// so that a second writer of the journal is refused instead of
/// interleaving records, and "<snapshot>.lock", so that a second pair on the
/// snapshot is refused instead of replacing, at its checkpoints, the snapshot
/// the first pair's journal follows. Files of their own, not the snapshot:
/// a checkpoint replaces the snapshot by a rename, which would leave a lock
/// on the snapshot's inode behind. The locks go with the process, kill -9
/// included; followers take none.
class journal_lock {
public:
    /// Takes the journal's lock, then the snapshot's. When either is
    /// refused, the lock taken is let go of and the lock files this call
    /// made are removed: nothing on disk changed.
    /// @throws snapshot_error (usage) naming the journal or the snapshot when
    /// another pair, in this process or another, holds its lock; (io) when a
    /// lock file cannot be made or locked.
    journal_lock(const std::filesystem::path& snapshot, const std::filesystem::path& journal);
    /// Moved into the store with the journal (durable destroyed on a thread that holds a scope).
    journal_lock(journal_lock&& o) noexcept
        : journal_(std::exchange(o.journal_, {})), snapshot_(std::exchange(o.snapshot_, {})), keep_(o.keep_) {}
    journal_lock(const journal_lock&) = delete;
    journal_lock& operator=(const journal_lock&) = delete;
    /// Lets go of the locks; removes the lock files this object made unless keep() was called.
    ~journal_lock();
    /// The pair opened: its lock files stay when the locks are let go of, as
    /// they do when the process is killed (docs/journal.md, Files).
    void keep() noexcept { keep_ = true; }

    /// One locked lock file.
    struct held_file {
        int fd = -1;
        std::pair<std::uint64_t, std::uint64_t> id{};  // device and inode
        std::string name;
        bool made = false;  // this object created it
    };

private:
    held_file journal_;
    held_file snapshot_;
    bool keep_ = false;
};

}  // namespace detail
}  // namespace relstore
