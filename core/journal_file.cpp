// The journal file format (docs/journal.md): header, record framing,
// scanning with torn-tail/corruption classification, dynamic decoding, and
// the file operations of a journal through the detail::file_ops seam.

#include "snapshot_internal.hpp"

#include <relstore/detail/child_process.hpp>
#include <relstore/error.hpp>
#include <relstore/detail/journal_file.hpp>
#include <relstore/detail/snapshot_file_ops.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <xxhash.h>

#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <cstring>
#include <limits>
#include <utility>

namespace relstore::detail {
namespace {

constexpr std::size_t fixed_header = 48;  // magic .. schema size; the schema image follows
constexpr std::size_t record_header = 24;

std::uint64_t load_u64(const std::byte* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return to_le(v);
}
std::uint32_t load_u32(const std::byte* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return to_le(v);
}
void store_u64(std::byte* p, std::uint64_t v) noexcept {
    v = to_le(v);
    std::memcpy(p, &v, sizeof v);
}
void store_u32(std::byte* p, std::uint32_t v) noexcept {
    v = to_le(v);
    std::memcpy(p, &v, sizeof v);
}

std::uint64_t hash(const std::byte* p, std::size_t n, std::uint64_t seed = 0) noexcept {
    return XXH3_64bits_withSeed(p, n, seed);
}

int open_retrying(const std::string& path, int flags, mode_t mode) {
    int fd;
    do fd = current_file_ops().open(path.c_str(), flags, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

[[noreturn]] void io_fail(const std::string& name, const std::string& what, int err) {
    throw_journal_error(errc::io, name, std::nullopt, std::nullopt, what + ": " + std::strerror(err));
}

int write_all(int fd, const std::byte* data, std::size_t n, std::uint64_t offset) noexcept {
    const auto& ops = current_file_ops();
    std::size_t done = 0;
    while (done < n) {
        const ssize_t w = ops.pwrite(fd, data + done, n - done, static_cast<off_t>(offset + done));
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (w == 0) return EIO;
        done += static_cast<std::size_t>(w);
    }
    return 0;
}

void fsync_directory_of(const std::filesystem::path& file, const std::string& name) {
    const auto& ops = current_file_ops();
    std::filesystem::path dir = file.parent_path();
    if (dir.empty()) dir = ".";
    const int dfd = open_retrying(dir.string(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (dfd < 0) io_fail(name, "cannot open directory " + quoted_name(dir.string()), errno);
    if (ops.fsync(dfd) != 0) {
        const int err = errno;
        (void)ops.close(dfd);
        io_fail(name, "fsync failed on directory " + quoted_name(dir.string()), err);
    }
    (void)ops.close(dfd);
}

}  // namespace

void throw_journal_error(errc code, const std::string& name, std::optional<std::uint64_t> record,
                         std::optional<std::uint64_t> offset, const std::string& msg) {
    std::string what = "journal '" + printable_name(name) + "'";
    if (record) what += " record " + std::to_string(*record);
    if (offset) what += " at byte " + std::to_string(*offset);
    what += ": " + msg;
    throw snapshot_error(code, name, offset, what);
}

std::string to_text(const snapshot_id& id) {
    if (!id.present) return "no snapshot (an empty store)";
    return "the snapshot with checksum " + hex64(id.checksum) + " (" + std::to_string(id.size) + " bytes)";
}

snapshot_id read_snapshot_id(const std::filesystem::path& path) {
    const auto& ops = current_file_ops();
    const std::string name = path.string();
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer forever.
    const int fd = open_retrying(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0) {
        if (errno == ENOENT) return {};
        snapshot_io_fail(name, "cannot open for reading", errno);
    }
    struct stat st {};
    snapshot_id id;
    id.present = true;
    int err = 0;
    std::byte tail[8]{};
    if (ops.fstat(fd, &st) != 0) {
        err = errno;
    } else if (!S_ISREG(st.st_mode)) {
        (void)ops.close(fd);
        detail::snapshot_fail(errc::io, name, std::nullopt,
                              S_ISDIR(st.st_mode) ? "is a directory, not a snapshot file" : "is not a regular file");
    } else if (static_cast<std::uint64_t>(st.st_size) >= sizeof tail) {
        id.size = static_cast<std::uint64_t>(st.st_size);
        ssize_t n;
        do n = ops.pread(fd, tail, sizeof tail, static_cast<off_t>(id.size - sizeof tail));
        while (n < 0 && errno == EINTR);
        if (n != static_cast<ssize_t>(sizeof tail)) err = n < 0 ? errno : EIO;
        id.checksum = load_u64(tail);
    } else {
        id.size = static_cast<std::uint64_t>(st.st_size);
    }
    (void)ops.close(fd);
    if (err != 0) snapshot_io_fail(name, "cannot read its checksum", err);
    return id;
}

std::vector<std::byte> schema_image(const schema_info& schema) {
    snapshot_writer w(schema);
    for (std::size_t i = 0; i < schema.tables.size(); ++i) {
        w.begin_table(i);
        w.end_table(0, 0);
    }
    const auto img = w.finish();
    return {img.begin(), img.end()};
}

std::uint64_t journal_header::schema_hash() const noexcept {
    return schema.size() >= 8 ? load_u64(schema.data() + schema.size() - 8) : 0;
}

// Layout (docs/journal.md): magic, version u32, header size u32, first
// sequence u64, snapshot checksum u64, snapshot size u64, flags u32 (bit 0:
// follows a snapshot), schema image size u32, the image, XXH3 of all that.
std::vector<std::byte> encode_journal_header(const journal_header& h) {
    const std::size_t size = fixed_header + h.schema.size() + 8;
    std::vector<std::byte> out(size);
    std::memcpy(out.data(), journal_magic, sizeof journal_magic);
    store_u32(out.data() + 8, h.version);
    store_u32(out.data() + 12, static_cast<std::uint32_t>(size));
    store_u64(out.data() + 16, h.first_seq);
    store_u64(out.data() + 24, h.follows.present ? h.follows.checksum : 0);
    store_u64(out.data() + 32, h.follows.present ? h.follows.size : 0);
    store_u32(out.data() + 40, h.follows.present ? 1u : 0u);
    store_u32(out.data() + 44, static_cast<std::uint32_t>(h.schema.size()));
    if (!h.schema.empty()) std::memcpy(out.data() + fixed_header, h.schema.data(), h.schema.size());
    store_u64(out.data() + size - 8, hash(out.data(), size - 8));
    return out;
}

journal_header parse_journal_header(std::span<const std::byte> file, const std::string& name) {
    const auto fail = [&](std::uint64_t at, const std::string& msg) {
        throw_journal_error(errc::bad_snapshot, name, std::nullopt, at, msg);
    };
    const std::size_t n = file.size();
    if (n == 0) fail(0, "the file is empty; expected a relstore journal");
    for (std::size_t i = 0; i < std::min(n, sizeof journal_magic); ++i)
        if (file[i] != static_cast<std::byte>(journal_magic[i]))
            fail(i, "not a relstore journal: wrong magic bytes (expected \\x89RJRNL\\r\\n)");
    if (n < fixed_header + 8)
        fail(n, "truncated header: the file has " + std::to_string(n) + " bytes, a journal header at least " +
                    std::to_string(fixed_header + 8));
    const auto version = load_u32(file.data() + 8);
    if (version < journal_oldest_version || version > journal_format_version)
        throw_journal_error(errc::unsupported_version, name, std::nullopt, 8,
                            "journal format version " + std::to_string(version) +
                                " is not supported; this build reads versions " +
                                std::to_string(journal_oldest_version) + " to " +
                                std::to_string(journal_format_version));
    const std::uint64_t size = load_u32(file.data() + 12);
    const std::uint64_t image = load_u32(file.data() + 44);
    if (size != fixed_header + image + 8)
        fail(12, "header size " + std::to_string(size) + " does not match its schema image of " +
                     std::to_string(image) + " bytes");
    if (size > n)
        fail(n, "truncated header: it has " + std::to_string(size) + " bytes but the file only " + std::to_string(n));
    const auto stored = load_u64(file.data() + size - 8);
    auto computed = hash(file.data(), static_cast<std::size_t>(size - 8));
#ifdef RELSTORE_SNAPSHOT_FUZZING
    computed = stored;
#endif
    if (stored != computed)
        throw_journal_error(errc::checksum_mismatch, name, std::nullopt, size - 8,
                            "header checksum mismatch: stored " + hex64(stored) + ", computed " + hex64(computed) +
                                "; the journal is corrupt");
    const auto flags = load_u32(file.data() + 40);
    if ((flags & ~1u) != 0) fail(40, "unknown header flags " + std::to_string(flags));
    journal_header h;
    h.size = size;
    h.version = version;
    h.first_seq = load_u64(file.data() + 16);
    // Sequence 0 is never written, which keeps an all-zero record invalid
    // (the zeros a writer allocates ahead must never read as a record).
    if (h.first_seq == 0) fail(16, "the first sequence number is 0; sequence numbers start at 1");
    h.follows.present = (flags & 1u) != 0;
    h.follows.checksum = load_u64(file.data() + 24);
    h.follows.size = load_u64(file.data() + 32);
    h.schema.assign(file.begin() + fixed_header, file.begin() + static_cast<std::ptrdiff_t>(fixed_header + image));
    return h;
}

void begin_record(record_buffer& buf) {
    buf.put_u64(0);
    buf.put_u64(0);
    buf.put_u64(0);
}

// The header checksum covers sequence and length, so that a damaged length
// is never trusted; the payload's is seeded with it, tying the payload to
// its sequence number.
void finish_record(record_buffer& buf, std::uint64_t seq) {
    const std::uint64_t len = buf.size() - record_header;
    buf.patch_u64(0, seq);
    buf.patch_u64(8, len);
    const std::uint64_t hc = hash(buf.data(), 16);
    buf.patch_u64(16, hc);
    const std::uint64_t pc = hash(buf.data() + record_header, static_cast<std::size_t>(len), hc);
    buf.put_u64(pc);
}

void encode_checkpoint(record_buffer& buf, const checkpoint_mark& m, std::uint64_t seq) {
    buf.clear();
    begin_record(buf);
    buf.put_u8(static_cast<std::uint8_t>(record_kind::checkpoint));
    buf.put_u64(m.snapshot.checksum);
    buf.put_u64(m.snapshot.size);
    buf.put_u64(m.offset);
    buf.put_u64(m.seq);
    finish_record(buf, seq);
}

checkpoint_mark parse_checkpoint(const record_ref& r, const std::string& name) {
    if (r.payload.size() != 33)
        throw_journal_error(errc::bad_snapshot, name, r.number, r.offset,
                            "a checkpoint record has 33 bytes of payload, not " + std::to_string(r.payload.size()));
    checkpoint_mark m;
    m.snapshot.present = true;
    m.snapshot.checksum = load_u64(r.payload.data() + 1);
    m.snapshot.size = load_u64(r.payload.data() + 9);
    m.offset = load_u64(r.payload.data() + 17);
    m.seq = load_u64(r.payload.data() + 25);
    return m;
}

namespace {

// Why the record at pos is not good, or empty when it is.
std::string check_record(std::span<const std::byte> b, std::size_t pos, std::uint64_t seq, std::uint64_t& len) {
    const std::size_t rem = b.size() - pos;
    if (rem < record_header)
        return "the file ends " + std::to_string(rem) + " bytes into a record header of " +
               std::to_string(record_header);
    const auto* p = b.data() + pos;
    const auto s = load_u64(p);
    len = load_u64(p + 8);
    const auto hc = load_u64(p + 16);
#ifndef RELSTORE_SNAPSHOT_FUZZING  // the fuzzing build skips checksums, so mutated records reach the decoders
    if (hash(p, 16) != hc) return "record header checksum mismatch";
#endif
    if (s != seq)
        return "sequence number " + std::to_string(s) + " where " + std::to_string(seq) + " was expected";
    if (len == 0) return "a record with an empty payload";
    if (rem < journal_record_overhead || len > rem - journal_record_overhead)
        return "the record needs " + std::to_string(len + journal_record_overhead) + " bytes but only " +
               std::to_string(rem) + " remain";
    const auto stored = load_u64(p + record_header + len);
    auto computed = hash(p + record_header, static_cast<std::size_t>(len), hc);
#ifdef RELSTORE_SNAPSHOT_FUZZING
    computed = stored;
#endif
    if (stored != computed)
        return "checksum mismatch: stored " + hex64(stored) + ", computed " + hex64(computed) + " over the " +
               std::to_string(len) + "-byte payload";
    const auto kind = static_cast<std::uint8_t>(p[record_header]);
    if (kind != 1 && kind != 2) return "unknown record kind " + std::to_string(kind);
    return {};
}

// The zero bytes that end b (a writer's space allocated ahead), counted back
// from its end; a word at a time, as a tail of several MiB is common.
std::size_t trailing_zeros(std::span<const std::byte> b) noexcept {
    std::size_t n = b.size();
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, b.data() + n - 8, 8);
        if (w != 0) break;
        n -= 8;
    }
    while (n > 0 && b[n - 1] == std::byte{0}) --n;
    return b.size() - n;
}

// True when a complete, valid record with a sequence number of at least seq
// starts anywhere after pos: the bad record at pos is then in the middle.
bool valid_record_after(std::span<const std::byte> b, std::size_t pos, std::uint64_t seq) {
    for (std::size_t q = pos + 1; q + journal_record_overhead < b.size(); ++q) {
        const auto s = load_u64(b.data() + q);
        if (s < seq || s - seq > (b.size() - pos) / journal_record_overhead + 1) continue;
        std::uint64_t len = 0;
        if (check_record(b, q, s, len).empty()) return true;
    }
    return false;
}

}  // namespace

record_scan scan_records(std::span<const std::byte> bytes, std::uint64_t base, std::uint64_t first_seq,
                         std::uint64_t first_number, bool classify) {
    record_scan out;
    std::size_t pos = 0;
    std::uint64_t seq = first_seq;
    std::uint64_t number = first_number;
    while (pos < bytes.size()) {
        std::uint64_t len = 0;
        auto problem = check_record(bytes, pos, seq, len);
        if (!problem.empty()) {
            if (trailing_zeros(bytes.subspan(pos)) == bytes.size() - pos) {
                out.zeros = bytes.size() - pos;  // only zeros follow: the records end here, cleanly
                break;
            }
            out.tail = classify && valid_record_after(bytes, pos, seq) ? journal_tail::corrupt : journal_tail::torn;
            out.problem = std::move(problem);
            break;
        }
        out.records.push_back({number, seq, base + pos, bytes.subspan(pos + record_header, len)});
        pos += static_cast<std::size_t>(len + journal_record_overhead);
        ++seq;
        ++number;
    }
    out.end = base + pos;
    out.next_seq = seq;
    out.next_number = number;
    return out;
}

std::optional<std::uint64_t> record_size_at(std::span<const std::byte> bytes, std::uint64_t seq) {
    if (bytes.size() < record_header) return std::nullopt;
    const auto* p = bytes.data();
    const auto len = load_u64(p + 8);
    if (hash(p, 16) != load_u64(p + 16) || load_u64(p) != seq || len == 0 ||
        len > std::numeric_limits<std::uint64_t>::max() - journal_record_overhead)
        return std::nullopt;
    return len + journal_record_overhead;
}

std::vector<dynamic_table_change> decode_transaction(const record_ref& r, const schema_info& schema,
                                                     const std::string& name) {
    const std::string where = "record " + std::to_string(r.number);
    auto cur = row_cursor::over(r.payload.data(), r.payload.data() + r.payload.size(),
                                r.offset + record_header, &name, &where);
    std::vector<dynamic_table_change> out;
    try {
        (void)cur.get_u8();
        const auto tables = cur.get_u32();
        for (std::uint32_t t = 0; t < tables; ++t) {
            dynamic_table_change c;
            const auto at = cur.offset();
            c.table = cur.get_u32();
            if (c.table >= schema.tables.size())
                throw_journal_error(errc::bad_snapshot, name, r.number, at,
                                    "table index " + std::to_string(c.table) + " but the schema has " +
                                        std::to_string(schema.tables.size()) + " tables");
            const auto& ti = schema.tables[c.table];
            const auto flags_at = cur.offset();
            const auto flags = cur.get_u8();
            if ((flags & ~table_flags_known) != 0)
                throw_journal_error(errc::bad_snapshot, name, r.number, flags_at,
                                    "unknown flags " + std::to_string(flags) + " for table '" + ti.name + "'");
            if (flags & table_flag_next_key) c.next_key = cur.get_u64();
            std::vector<column_type> key_types;
            std::vector<std::size_t> key_columns;
            for (const auto& k : ti.key)
                for (std::size_t i = 0; i < ti.columns.size(); ++i)
                    if (ti.columns[i].name == k) {
                        key_types.push_back(ti.columns[i].type);
                        key_columns.push_back(i);
                    }
            const auto read_rows = [&](std::vector<std::vector<value>>& rows, bool keys) {
                const auto n = cur.get_u64();
                if (n > r.payload.size())  // every row takes a byte at least: checked before anything is allocated
                    throw_journal_error(errc::bad_snapshot, name, r.number, cur.offset() - 8,
                                        "a row count of " + std::to_string(n) + " exceeds the record");
                for (std::uint64_t i = 0; i < n; ++i) {
                    std::vector<value> row;
                    if (keys)
                        for (const auto& kt : key_types) row.push_back(cur.get_value(kt));
                    else
                        for (const auto& col : ti.columns) row.push_back(cur.get_value(col.type));
                    rows.push_back(std::move(row));
                }
            };
            read_rows(c.erased, true);
            if (flags & table_flag_column_only) {
                const auto n = cur.get_u64();
                if (n > r.payload.size())
                    throw_journal_error(errc::bad_snapshot, name, r.number, cur.offset() - 8,
                                        "a row count of " + std::to_string(n) + " exceeds the record");
                const std::size_t columns = ti.columns.size();
                for (std::uint64_t i = 0; i < n; ++i) {
                    std::vector<value> row(columns);
                    std::vector<bool> present(columns, false);
                    for (std::size_t k = 0; k < key_columns.size(); ++k) {
                        row[key_columns[k]] = cur.get_value(key_types[k]);
                        present[key_columns[k]] = true;
                    }
                    const auto mask_at = cur.offset();
                    bool any = false;
                    std::vector<std::uint8_t> mask((columns + 7) / 8);
                    for (auto& m : mask) m = cur.get_u8();
                    for (std::size_t col = 0; col < mask.size() * 8; ++col) {
                        if (!(mask[col / 8] & (1u << (col % 8)))) continue;
                        if (col >= columns || present[col])
                            throw_journal_error(errc::bad_snapshot, name, r.number, mask_at,
                                                "an update of table '" + ti.name + "' names " +
                                                    (col >= columns ? "column " + std::to_string(col) + " of " +
                                                                          std::to_string(columns)
                                                                    : std::string("a key column")));
                        any = true;
                    }
                    if (!any)
                        throw_journal_error(errc::bad_snapshot, name, r.number, mask_at,
                                            "an update of table '" + ti.name + "' changes no column");
                    for (std::size_t col = 0; col < columns; ++col)
                        if (mask[col / 8] & (1u << (col % 8))) {
                            row[col] = cur.get_value(ti.columns[col].type);
                            present[col] = true;
                        }
                    c.updated.push_back(std::move(row));
                    c.updated_columns.push_back(std::move(present));
                }
            } else {
                read_rows(c.updated, false);
                c.updated_columns.assign(c.updated.size(), std::vector<bool>(ti.columns.size(), true));
            }
            read_rows(c.inserted, false);
            out.push_back(std::move(c));
        }
        if (cur.offset() != r.offset + record_header + r.payload.size())
            throw_journal_error(errc::bad_snapshot, name, r.number, cur.offset(),
                                "bytes left over after the record's last row");
    } catch (const snapshot_error& e) {
        if (std::string_view(e.what()).starts_with("journal ")) throw;
        throw_journal_error(errc::bad_snapshot, name, r.number, e.offset(), e.what());
    }
    return out;
}

std::vector<std::byte> read_journal_file(const std::filesystem::path& path) {
    const auto& ops = current_file_ops();
    const std::string name = path.string();
    const int fd = open_retrying(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);  // a FIFO: no wait for a writer
    if (fd < 0) io_fail(name, "cannot open for reading", errno);
    struct stat st {};
    if (ops.fstat(fd, &st) != 0) {
        const int err = errno;
        (void)ops.close(fd);
        io_fail(name, "cannot stat", err);
    }
    if (!S_ISREG(st.st_mode)) {
        (void)ops.close(fd);
        throw_journal_error(errc::io, name, std::nullopt, std::nullopt, "is not a regular file");
    }
    std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ops.read(fd, bytes.data() + got, bytes.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            (void)ops.close(fd);
            io_fail(name, "read failed at byte " + std::to_string(got), err);
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    (void)ops.close(fd);
    bytes.resize(got);
    return bytes;
}

journal_file::journal_file(std::filesystem::path path, std::uint64_t end, std::uint64_t preallocate)
    : name_(path.string()), end_(end), allocated_(end), step_(preallocate) {
    const auto& ops = current_file_ops();
    fd_ = open_retrying(name_, O_RDWR | O_CLOEXEC, 0);
    if (fd_ < 0) io_fail(name_, "cannot open for appending", errno);
    struct stat st {};
    if (ops.fstat(fd_, &st) != 0) {
        const int err = errno;
        (void)ops.close(std::exchange(fd_, -1));
        io_fail(name_, "cannot stat", err);
    }
    // Zeros a previous writer allocated ahead are reused, not cut off.
    allocated_ = std::max(end, static_cast<std::uint64_t>(st.st_size));
}

journal_file::journal_file(journal_file&& o) noexcept
    : name_(std::move(o.name_)), fd_(std::exchange(o.fd_, -1)), end_(o.end_), allocated_(o.allocated_),
      step_(o.step_), size_dirty_(o.size_dirty_.load()), broken_(o.broken_) {}

journal_file& journal_file::operator=(journal_file&& o) noexcept {
    if (this != &o) {
        close();
        name_ = std::move(o.name_);
        fd_ = std::exchange(o.fd_, -1);
        end_ = o.end_;
        allocated_ = o.allocated_;
        step_ = o.step_;
        size_dirty_ = o.size_dirty_.load();
        broken_ = o.broken_;
    }
    return *this;
}

journal_file::~journal_file() { close(); }

void journal_file::close() noexcept {
    if (fd_ >= 0) (void)current_file_ops().close(std::exchange(fd_, -1));
}

// Extends the file to the next multiple of the step past `needed` and makes
// the new size durable before any record is written there: from then on a
// record inside it changes no metadata an fdatasync would skip (the size,
// the extents; an unwritten extent's conversion on first write is metadata
// fdatasync does write, as it is needed to read the data back).
void journal_file::extend(std::uint64_t needed) {
    const auto& ops = current_file_ops();
    const std::uint64_t target = needed + (step_ - needed % step_) % step_;  // the file in whole steps
    const std::string where = std::to_string(target - allocated_) + " bytes at byte " + std::to_string(allocated_);
    if (ops.fallocate(fd_, static_cast<off_t>(allocated_), static_cast<off_t>(target - allocated_)) != 0) {
        const int err = errno;
        if (err != EOPNOTSUPP && err != ENOSYS)
            io_fail(name_, "cannot allocate " + where + " ahead of the records", err);
        // No fallocate here (some network and older file systems): zeros
        // written by hand hold the space just as well, at the cost of writing them.
        static const std::vector<std::byte> zeros(std::size_t{1} << 20);
        for (std::uint64_t at = allocated_; at < target;) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), target - at));
            if (const int werr = write_all(fd_, zeros.data(), n, at)) {
                (void)ops.ftruncate(fd_, static_cast<off_t>(allocated_));  // zeros would be harmless; the size as it was is tidier
                io_fail(name_, "cannot write zeros to allocate " + where + " ahead of the records", werr);
            }
            at += n;
        }
    }
    // The zeros are a valid end of the journal whether or not this fsync
    // succeeds; only its success lets records in the new space be fdatasync'd.
    if (ops.fsync(fd_) != 0) io_fail(name_, "fsync failed after allocating " + where, errno);
    allocated_ = target;
    size_dirty_ = false;
}

void journal_file::append(std::span<const std::byte> bytes) {
    const std::uint64_t needed = end_ + bytes.size();
    if (step_ != 0 && needed > allocated_) extend(needed);  // throws before anything of the record is written
    if (const int err = write_all(fd_, bytes.data(), bytes.size(), end_)) {
        // Part of the record may be in the file: cut it off, so that neither
        // a later recovery nor a follower ever sees a refused record. (The
        // space allocated ahead goes with it; the next append allocates again.)
        if (current_file_ops().ftruncate(fd_, static_cast<off_t>(end_)) != 0) broken_ = true;
        allocated_ = end_;
        size_dirty_ = true;
        io_fail(name_, "write failed at byte " + std::to_string(end_), err);
    }
    end_ = needed;
    if (end_ > allocated_) {
        allocated_ = end_;
        size_dirty_ = true;
    }
}

void journal_file::sync() {
    const auto& ops = current_file_ops();
    if (size_dirty_.exchange(false)) {
        if (ops.fsync(fd_) != 0) {
            const int err = errno;
            size_dirty_ = true;
            io_fail(name_, "fsync failed", err);
        }
    } else if (ops.fdatasync(fd_) != 0) {
        io_fail(name_, "fdatasync failed", errno);
    }
}

bool journal_file::cut(std::uint64_t offset) noexcept {
    const auto& ops = current_file_ops();
    if (ops.ftruncate(fd_, static_cast<off_t>(offset)) != 0) return false;
    allocated_ = offset;
    size_dirty_ = true;
    if (ops.fsync(fd_) != 0) return false;
    size_dirty_ = false;
    end_ = offset;
    return true;
}

bool journal_file::put_back(std::uint64_t offset, std::span<const std::byte> bytes) noexcept {
    if (write_all(fd_, bytes.data(), bytes.size(), offset) != 0) return false;
    allocated_ = std::max(allocated_, offset + bytes.size());
    size_dirty_ = true;
    if (current_file_ops().fsync(fd_) != 0) return false;
    size_dirty_ = false;
    return true;
}

namespace {

/// Fills out from offset until the file ends; returns the bytes read.
/// @throws snapshot_error (io) naming name and the byte a read failed at.
std::size_t pread_fully(int fd, const std::string& name, std::uint64_t offset, std::span<std::byte> out) {
    const auto& ops = current_file_ops();
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ops.pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) io_fail(name, "read failed at byte " + std::to_string(offset + got), errno);
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    return got;
}

}  // namespace

void journal_file::read_at(std::uint64_t offset, std::span<std::byte> out) const {
    if (const auto got = pread_fully(fd_, name_, offset, out); got < out.size())
        io_fail(name_, "read failed at byte " + std::to_string(offset + got), EIO);
}

int followed_file::open(const std::string& name, bool missing_ok) {
    const int fd = open_retrying(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0 && !(missing_ok && errno == ENOENT)) io_fail(name, "cannot open for reading", errno);
    return fd;
}

void followed_file::close(int fd) noexcept {
    if (fd >= 0) (void)current_file_ops().close(fd);
}

followed_file::identity followed_file::identity_of(int fd, const std::string& name) {
    struct stat st {};
    if (current_file_ops().fstat(fd, &st) != 0) io_fail(name, "cannot stat the open file", errno);
    return {static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

std::optional<followed_file::version> followed_file::version_of(const std::string& name) {
    struct stat st {};
    if (current_file_ops().stat(name.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::nullopt;
        io_fail(name, "cannot stat", errno);
    }
    return version{{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)},
                   static_cast<std::uint64_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::optional<followed_file::identity> followed_file::identity_of(const std::string& name) {
    if (const auto v = version_of(name)) return v->id;
    return std::nullopt;
}

std::vector<std::byte> followed_file::read(int fd, const std::string& name, std::uint64_t pos, std::uint64_t most) {
    const auto& ops = current_file_ops();
    struct stat st {};
    if (ops.fstat(fd, &st) != 0) io_fail(name, "cannot stat the open file", errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size <= pos) return {};
    std::vector<std::byte> bytes(static_cast<std::size_t>(std::min(most, size - pos)));
    bytes.resize(pread_fully(fd, name, pos, bytes));  // shorter when cut since the fstat
    return bytes;
}

bool followed_file::read_exact(int fd, const std::string& name, std::uint64_t offset, std::span<std::byte> out) {
    return pread_fully(fd, name, offset, out) == out.size();
}

created_journal create_journal_file(const std::filesystem::path& target, std::span<const std::byte> header,
                                    const journal_file* source, std::uint64_t from, std::uint64_t to,
                                    std::uint64_t preallocate) {
    const auto& ops = current_file_ops();
    const std::string name = target.string();
    const std::string tmp = name + ".new";
    const int fd = open_retrying(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) io_fail(name, "cannot create " + quoted_name(tmp), errno);
    const auto fail = [&](const std::string& what, int err) {
        (void)ops.close(fd);
        (void)ops.unlink(tmp.c_str());
        io_fail(name, what + " on " + quoted_name(tmp) + "; the journal in place is unchanged", err);
    };
    if (const int err = write_all(fd, header.data(), header.size(), 0)) fail("write failed", err);
    std::uint64_t at = header.size();
    if (source != nullptr) {
        int err = 0;
        try {
            std::vector<std::byte> chunk(std::size_t{1} << 20);
            for (std::uint64_t off = from; off < to && err == 0;) {
                const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), to - off));
                source->read_at(off, {chunk.data(), n});
                err = write_all(fd, chunk.data(), n, at);
                off += n;
                at += n;
            }
        } catch (...) {
            (void)ops.close(fd);
            (void)ops.unlink(tmp.c_str());
            throw;
        }
        if (err != 0) fail("write failed", err);
    }
    if (ops.fsync(fd) != 0) fail("fsync failed", errno);
    journal_file file(fd, name, at, preallocate);  // closes fd from here on
    if (ops.rename(tmp.c_str(), name.c_str()) != 0) {
        const int err = errno;
        (void)ops.unlink(tmp.c_str());
        io_fail(name, "rename of " + quoted_name(tmp) + " failed; the journal in place is unchanged", err);
    }
    created_journal out{std::move(file), nullptr};
    try {
        fsync_directory_of(target, name);
    } catch (...) {
        out.unsynced = std::current_exception();
    }
    return out;
}

void rename_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
    if (current_file_ops().rename(from.c_str(), to.c_str()) != 0)
        snapshot_io_fail(to.string(), "rename of " + quoted_name(from.string()) + " failed", errno);
    fsync_directory_of(to, to.string());
}

namespace {

// A POSIX record lock (fcntl), not flock: a record lock is not inherited by
// fork(), so a checkpoint's save child never holds it, and a writer killed
// while such a child is still starting up (it may not have run yet on a
// loaded machine) leaves the journal free at once. Record locks do not
// exclude a second open in the same process, hence this list of the locks
// this process holds (by device and inode).
using file_id = std::pair<std::uint64_t, std::uint64_t>;
std::mutex held_mu;
std::set<file_id> held;
// Closing any descriptor of a file drops every record lock this process
// holds on it, so a held lock file opened a second time (its path was
// renamed over between the check and the open) keeps that descriptor open
// until the holder lets go.
std::multimap<file_id, int> parked;

[[noreturn]] void another_writer(const std::filesystem::path& journal, const std::string& name) {
    throw_journal_error(errc::usage, journal.string(), std::nullopt, std::nullopt,
                        "another writer has it open (it holds " + quoted_name(name) +
                            "); a journal has one writer, other processes can follow it");
}

[[noreturn]] void another_pair(const std::filesystem::path& snapshot, const std::string& name) {
    snapshot_fail(errc::usage, snapshot.string(), std::nullopt,
                  "another durable pair (this process or another) has it open (it holds " + quoted_name(name) +
                      "); a snapshot has one journal and one writer, other processes can follow the pair");
}

[[noreturn]] void refuse_lock(const std::filesystem::path& guarded, const std::string& name, bool is_journal) {
    if (is_journal) another_writer(guarded, name);
    another_pair(guarded, name);
}

[[noreturn]] void lock_io_fail(const std::filesystem::path& guarded, bool is_journal, const std::string& what,
                               int err) {
    if (is_journal) io_fail(guarded.string(), what, err);
    snapshot_io_fail(guarded.string(), what, err);
}

// The lock file of guarded (the journal, or the snapshot), locked. Made when
// missing, and then removed again by a refused open (journal_lock's
// destructor): it is removed while locked, so a process that opened it
// before the removal gets its lock only after it, and the check that the
// path still names the file locked sends that process round to make a new one.
journal_lock::held_file lock_file(const std::filesystem::path& guarded, bool is_journal) {
    const auto& ops = current_file_ops();
    const std::string name = guarded.string() + ".lock";
    const auto refuse = [&] { refuse_lock(guarded, name, is_journal); };
    const auto fail = [&](const std::string& what, int err) { lock_io_fail(guarded, is_journal, what, err); };
    const auto same = [](const struct stat& a, const struct stat& b) {
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    };
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::lock_guard l(held_mu);
        struct stat st {};
        if (ops.stat(name.c_str(), &st) == 0 && held.count({st.st_dev, st.st_ino}) != 0) refuse();
        journal_lock::held_file f;
        f.name = name;
        f.fd = open_retrying(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        f.made = f.fd >= 0;
        if (f.fd < 0 && errno == EEXIST) {
            f.fd = open_retrying(name, O_RDWR | O_CLOEXEC, 0);
            if (f.fd < 0 && errno == ENOENT) continue;  // removed in between: make it
        }
        if (f.fd < 0) fail("cannot open the lock file " + quoted_name(name), errno);
        if (ops.fstat(f.fd, &st) != 0) {
            const int err = errno;
            (void)ops.close(f.fd);
            if (f.made) (void)ops.unlink(name.c_str());  // nobody has locked a file just made
            fail("cannot stat the lock file " + quoted_name(name), err);
        }
        f.id = {st.st_dev, st.st_ino};
        if (held.count(f.id) != 0) {
            parked.emplace(f.id, f.fd);
            refuse();
        }
        struct flock lk {};
        lk.l_type = F_WRLCK;
        lk.l_whence = SEEK_SET;
        if (::fcntl(f.fd, F_SETLK, &lk) != 0) {
            // Not removed even when made here: the holder may be a process
            // that opened it since, and only a holder may remove it.
            const int err = errno;
            (void)ops.close(f.fd);
            if (err == EAGAIN || err == EACCES) refuse();
            fail("cannot lock " + quoted_name(name), err);
        }
        struct stat now {};
        const int looked = ops.stat(name.c_str(), &now);
        if (looked != 0 && errno != ENOENT) {
            // Not "removed": a path that cannot be examined (EACCES, EIO)
            // would fail the same way on every attempt. A file made here is
            // removed while locked, as a refused open does: while it is
            // locked here, no other process removes it or puts another there.
            const int err = errno;
            if (f.made) (void)ops.unlink(name.c_str());
            (void)ops.close(f.fd);
            fail("cannot stat the lock file " + quoted_name(name) + " after locking it", err);
        }
        if (looked != 0 || !same(now, st)) {
            (void)ops.close(f.fd);  // a lock on a file no path names any more: try again
            continue;
        }
        held.insert(f.id);
        return f;
    }
    lock_io_fail(guarded, is_journal,
                 "cannot lock " + quoted_name(name) + ": it was removed or replaced each time it was locked", EAGAIN);
}

void unlock_file(journal_lock::held_file& f, bool remove) noexcept {
    if (f.fd < 0) return;
    const auto& ops = current_file_ops();
    std::lock_guard l(held_mu);
    struct stat now {};
    // Removed while still locked (see lock_file), and only when the path
    // still names it.
    if (remove && ops.stat(f.name.c_str(), &now) == 0 && file_id{now.st_dev, now.st_ino} == f.id)
        (void)ops.unlink(f.name.c_str());
    (void)ops.close(std::exchange(f.fd, -1));  // releases the record lock
    const auto [first, last] = parked.equal_range(f.id);
    for (auto it = first; it != last; ++it) (void)ops.close(it->second);
    parked.erase(first, last);
    held.erase(f.id);
}

}  // namespace

void check_durable_paths(const std::filesystem::path& snapshot, const std::filesystem::path& journal) {
    std::error_code ec_snapshot, ec_journal;
    const auto snapshot_at = std::filesystem::weakly_canonical(snapshot, ec_snapshot);
    const auto journal_at = std::filesystem::weakly_canonical(journal, ec_journal);
    if (!ec_snapshot && !ec_journal && snapshot_at == journal_at)
        throw usage_error("relstore: durable store " + quoted_name(journal.string()) +
                          ": the snapshot and the journal are the same file; give each a path of its own");
    // Each file of the pair has a lock file beside it (NAME.lock) and, during
    // a checkpoint, its next version (NAME.new): either being the other file
    // of the pair, the lock would be taken on it, or the checkpoint write
    // over it.
    const auto aux_clash = [](const std::filesystem::path& of, const std::filesystem::path& other_at,
                              const char* role) -> std::optional<std::string> {
        for (const char* suffix : {".lock", ".new"}) {
            std::error_code ec;
            const auto at = std::filesystem::weakly_canonical(of.string() + suffix, ec);
            if (!ec && at == other_at)
                return std::string("is the ") + role + "'s " + (suffix[1] == 'l' ? "lock file" : "checkpoint file") +
                       " (" + quoted_name(of.string() + suffix) + ")";
        }
        return std::nullopt;
    };
    if (!ec_snapshot && !ec_journal) {
        const char* which = "journal";
        auto clash = aux_clash(snapshot, journal_at, "snapshot");
        if (!clash && (clash = aux_clash(journal, snapshot_at, "journal"))) which = "snapshot";
        if (clash)
            throw usage_error("relstore: durable store " + quoted_name(journal.string()) + ": the " + which + " " +
                              *clash + "; give each file of the pair a path whose .lock and .new files are not "
                                       "the other");
    }
    struct stat st {};
    if (::stat(snapshot.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        snapshot_fail(errc::io, snapshot.string(), std::nullopt,
                      S_ISDIR(st.st_mode) ? "is a directory, not a snapshot file" : "is not a regular file");
    if (::stat(journal.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw_journal_error(errc::io, journal.string(), std::nullopt, std::nullopt, "is not a regular file");
}

journal_lock::journal_lock(const std::filesystem::path& snapshot, const std::filesystem::path& journal)
    : journal_(lock_file(journal, true)) {
    try {
        snapshot_ = lock_file(snapshot, false);
    } catch (...) {
        unlock_file(journal_, journal_.made);
        throw;
    }
}

journal_lock::~journal_lock() {
    // The snapshot's first: the journal's lock, taken first, is let go of last.
    unlock_file(snapshot_, snapshot_.made && !keep_);
    unlock_file(journal_, journal_.made && !keep_);
}

}  // namespace relstore::detail
