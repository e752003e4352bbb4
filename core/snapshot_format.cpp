// Encoding and validating decoding of the snapshot format (docs/snapshot-format.md).

#include "snapshot_internal.hpp"

#include <relstore/snapshot_format.hpp>

#include <xxhash.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <new>
#include <set>
#include <utility>

namespace relstore {
namespace detail {

std::string printable_name(const std::string& name) {
    std::string out;
    out.reserve(name.size());
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        }
    }
    return out;
}

void snapshot_fail(errc code, const std::string& name, std::optional<std::uint64_t> offset, const std::string& msg) {
    file_fail("snapshot", code, name, offset, msg);
}

void file_fail(std::string_view kind, errc code, const std::string& name, std::optional<std::uint64_t> offset,
               const std::string& msg) {
    std::string what = std::string(kind) + " '" + printable_name(name) + "'";
    if (offset) what += " at byte " + std::to_string(*offset);
    what += ": " + msg;
    throw snapshot_error(code, name, offset, what);
}

void throw_snapshot_error(errc code, const std::string& name, std::optional<std::uint64_t> offset,
                          const std::string& msg) {
    snapshot_fail(code, name, offset, msg);
}

std::string hex64(std::uint64_t v) {
    char buf[19];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

namespace {

// The bytes a present value of this kind takes, or the smallest number for a
// string or blob (its length).
std::uint64_t value_size(column_kind kind, column_kind rep) noexcept {
    switch (kind) {
    case column_kind::boolean:
    case column_kind::int8:
    case column_kind::uint8: return 1;
    case column_kind::int16:
    case column_kind::uint16: return 2;
    case column_kind::int32:
    case column_kind::uint32:
    case column_kind::float32: return 4;
    case column_kind::int64:
    case column_kind::uint64:
    case column_kind::float64:
    case column_kind::string:
    case column_kind::blob: return 8;
    case column_kind::timestamp:
    case column_kind::duration:
    case column_kind::enumeration: return is_integer_kind(rep) ? value_size(rep, {}) : 1;
    }
    return 1;
}

}  // namespace

std::uint64_t min_encoded_size(const column_type& t) noexcept {
    return t.nullable ? 1 : value_size(t.kind, t.rep);
}

namespace {

std::string rep_problem(column_kind kind, column_kind rep) {
    return "the count of " + std::string(kind == column_kind::enumeration ? "an enum" : "a " + std::string(to_string(kind))) +
           " must be an integer kind (int8 to uint64), not " +
           (rep >= column_kind::boolean && rep <= column_kind::enumeration ? std::string(to_string(rep))
                                                                             : "kind " + std::to_string(static_cast<unsigned>(rep)));
}

std::string period_problem(std::uint64_t num, std::uint64_t den) {
    return "the tick period " + std::to_string(num) + "/" + std::to_string(den) +
           " s is not a positive fraction in lowest terms";
}

bool period_ok(std::uint64_t num, std::uint64_t den) noexcept {
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return num >= 1 && den >= 1 && num <= max && den <= max && std::gcd(num, den) == 1;
}

bool enum_value_fits(std::uint64_t bits, column_kind rep) noexcept {
    const auto bytes = value_size(rep, {});
    if (bytes == 8) return true;
    const unsigned width = static_cast<unsigned>(bytes) * 8;
    if (is_signed_kind(rep)) {
        const auto v = static_cast<std::int64_t>(bits);
        return v >= -(std::int64_t{1} << (width - 1)) && v < (std::int64_t{1} << (width - 1));
    }
    return bits < (std::uint64_t{1} << width);
}

std::string enum_value_problem(const enum_value_name& v, column_kind rep) {
    const std::string value =
        is_signed_kind(rep) ? std::to_string(static_cast<std::int64_t>(v.value)) : std::to_string(v.value);
    return "the enum value " + value + " (" + std::string(v.name) + ") does not fit " + std::string(to_string(rep));
}

std::string duplicate_enum_name(std::string_view name) {
    return "the enum value name " + std::string(name) + " appears twice";
}

std::optional<std::string> type_problem(const column_type& t) {
    if (t.kind < column_kind::boolean || t.kind > column_kind::enumeration)
        return "unknown column kind " + std::to_string(static_cast<unsigned>(t.kind));
    switch (t.kind) {
    case column_kind::timestamp:
    case column_kind::duration:
        if (!is_integer_kind(t.rep)) return rep_problem(t.kind, t.rep);
        if (!period_ok(t.num, t.den)) return period_problem(t.num, t.den);
        if (t.labels != nullptr) return "a " + std::string(to_string(t.kind)) + " column has no value names";
        return std::nullopt;
    case column_kind::enumeration: {
        if (!is_integer_kind(t.rep)) return rep_problem(t.kind, t.rep);
        if (t.labels == nullptr) return std::string("an enumeration needs its value names");
        if (t.num != 0 || t.den != 0) return std::string("an enumeration has no tick period");
        std::set<std::string_view> names;
        for (const auto& v : t.labels->values) {
            if (!enum_value_fits(v.value, t.rep)) return enum_value_problem(v, t.rep);
            if (!names.insert(v.name).second) return duplicate_enum_name(v.name);
        }
        return std::nullopt;
    }
    default:
        if (t.rep != column_kind{} || t.num != 0 || t.den != 0 || t.labels != nullptr)
            return "a column of kind " + std::string(to_string(t.kind)) +
                   " has no count type, tick period or value names";
        return std::nullopt;
    }
}

}  // namespace

namespace {

bool has_column(const table_info& t, const std::string& name) {
    return std::any_of(t.columns.begin(), t.columns.end(), [&](const column_info& c) { return c.name == name; });
}

std::optional<std::string> columns_problem(const table_info& t, const std::vector<std::string>& cols,
                                           const char* what) {
    for (const auto& c : cols)
        if (!has_column(t, c)) return "table '" + t.name + "': " + what + " names unknown column '" + c + "'";
    return std::nullopt;
}

}  // namespace

std::optional<std::string> schema_problem(const schema_info& schema) {
    std::set<std::string_view> tables;
    for (const auto& t : schema.tables) {
        if (t.name.empty()) return std::string("a table has an empty name");
        if (!tables.insert(t.name).second) return "table '" + t.name + "' appears twice";
    }
    for (const auto& t : schema.tables) {
        if (t.columns.empty()) return "table '" + t.name + "' has no columns";
        std::set<std::string_view> cols;
        for (const auto& c : t.columns) {
            if (c.name.empty()) return "table '" + t.name + "' has a column with an empty name";
            if (!cols.insert(c.name).second) return "table '" + t.name + "': column '" + c.name + "' appears twice";
            if (auto p = type_problem(c.type)) return "column '" + c.name + "' of table '" + t.name + "': " + *p;
        }
        if (auto p = columns_problem(t, t.key, "the key")) return p;
        for (const auto& ix : t.indexes) {
            if (ix.columns.empty()) return "table '" + t.name + "' has an index without columns";
            if (auto p = columns_problem(t, ix.columns, "an index")) return p;
        }
        for (const auto& fk : t.foreign_keys) {
            if (fk.columns.empty()) return "table '" + t.name + "' has a foreign key without columns";
            if (auto p = columns_problem(t, fk.columns, "a foreign key")) return p;
            if (!tables.contains(fk.parent_table))
                return "table '" + t.name + "': a foreign key references unknown table '" + fk.parent_table + "'";
        }
    }
    return std::nullopt;
}

}  // namespace detail

std::uint64_t snapshot_checksum(std::span<const std::byte> bytes) noexcept {
    return XXH3_64bits(bytes.data(), bytes.size());
}

// ---------------------------------------------------------------------------
// writer

namespace {

constexpr std::size_t directory_entry_size = 32;

std::uint8_t table_flags(const table_info& t) {
    return static_cast<std::uint8_t>((t.auto_key ? 1 : 0) | (t.hashed_key ? 2 : 0));
}

template <class T>
void patch(std::byte* p, T v) {
    v = detail::to_le(v);
    std::memcpy(p, &v, sizeof v);
}

}  // namespace

void snapshot_writer::free_deleter::operator()(std::byte* p) const noexcept { std::free(p); }

snapshot_writer::snapshot_writer(schema_info schema, std::size_t size_hint) : schema_(std::move(schema)) {
    if (auto p = detail::schema_problem(schema_)) throw usage_error("snapshot schema is not well formed: " + *p);
    if (schema_.tables.size() > std::numeric_limits<std::uint32_t>::max())
        throw usage_error("snapshot schema has too many tables");
    reserve(std::max<std::size_t>(size_hint, 4096));

    for (auto b : snapshot_magic) put_u8(b);
    put_u32(snapshot_format_version);
    put_u8(1);  // values are little-endian
    put_u8(static_cast<std::uint8_t>(sizeof(void*)));
    put_u16(0);
    put_u64(0);  // file size, patched by finish()
    put_u32(static_cast<std::uint32_t>(schema_.tables.size()));
    put_u32(0);  // schema size, patched below

    auto put_names = [&](const std::vector<std::string>& names) {
        put_u32(static_cast<std::uint32_t>(names.size()));
        for (const auto& n : names) put_string(n);
    };
    for (const auto& t : schema_.tables) {
        put_string(t.name);
        put_u8(table_flags(t));
        put_u32(static_cast<std::uint32_t>(t.columns.size()));
        for (const auto& c : t.columns) {
            put_string(c.name);
            put_u8(static_cast<std::uint8_t>(c.type.kind));
            put_u8(c.type.nullable ? 1 : 0);
            // The kinds added after version 1's first files describe
            // themselves further; the first twelve are as they were.
            switch (c.type.kind) {
            case column_kind::timestamp:
                put_u8(1);  // the clock: system_clock, Unix time
                [[fallthrough]];
            case column_kind::duration:
                put_u8(static_cast<std::uint8_t>(c.type.rep));
                put_u64(c.type.num);
                put_u64(c.type.den);
                break;
            case column_kind::enumeration:
                put_u8(static_cast<std::uint8_t>(c.type.rep));
                put_string(c.type.labels->name);
                put_u32(static_cast<std::uint32_t>(c.type.labels->values.size()));
                for (const auto& v : c.type.labels->values) {
                    put_u64(v.value);
                    put_string(v.name);
                }
                break;
            default: break;
            }
        }
        put_names(t.key);
        put_u32(static_cast<std::uint32_t>(t.indexes.size()));
        for (const auto& ix : t.indexes) {
            put_u8(static_cast<std::uint8_t>(ix.kind));
            put_names(ix.columns);
        }
        put_u32(static_cast<std::uint32_t>(t.foreign_keys.size()));
        for (const auto& fk : t.foreign_keys) {
            put_names(fk.columns);
            put_string(fk.parent_table);
            put_u8(static_cast<std::uint8_t>(fk.action));
            put_u8(static_cast<std::uint8_t>((fk.unique ? 1 : 0) | (fk.acyclic ? 2 : 0)));
        }
    }
    const std::size_t schema_size = size() - snapshot_header_size;
    if (schema_size > std::numeric_limits<std::uint32_t>::max()) throw usage_error("snapshot schema is too large");
    patch(begin_ + 28, static_cast<std::uint32_t>(schema_size));

    directory_offset_ = size();
    const std::size_t dir = schema_.tables.size() * directory_entry_size;
    reserve(dir);
    std::memset(cur_, 0, dir);
    cur_ += dir;
}

snapshot_writer::snapshot_writer(snapshot_writer&& o) noexcept
    : schema_(std::move(o.schema_)),
      buffer_(std::move(o.buffer_)),
      begin_(std::exchange(o.begin_, nullptr)),
      cur_(std::exchange(o.cur_, nullptr)),
      end_(std::exchange(o.end_, nullptr)),
      cap_(std::exchange(o.cap_, nullptr)),
      observer_(std::exchange(o.observer_, nullptr)),
      directory_offset_(o.directory_offset_),
      next_table_(o.next_table_),
      table_start_(o.table_start_),
      table_open_(o.table_open_),
      finished_(o.finished_) {}

snapshot_writer& snapshot_writer::operator=(snapshot_writer&& o) noexcept {
    if (this != &o) {
        schema_ = std::move(o.schema_);
        buffer_ = std::move(o.buffer_);
        begin_ = std::exchange(o.begin_, nullptr);
        cur_ = std::exchange(o.cur_, nullptr);
        end_ = std::exchange(o.end_, nullptr);
        cap_ = std::exchange(o.cap_, nullptr);
        observer_ = std::exchange(o.observer_, nullptr);
        directory_offset_ = o.directory_offset_;
        next_table_ = o.next_table_;
        table_start_ = o.table_start_;
        table_open_ = o.table_open_;
        finished_ = o.finished_;
    }
    return *this;
}

snapshot_writer::~snapshot_writer() = default;

namespace {
// How often an observed writer reports progress.
constexpr std::size_t observe_step = std::size_t{1} << 20;
}  // namespace

void snapshot_writer::observe(detail::image_observer* obs) noexcept {
    observer_ = obs;
    end_ = cap_;
    if (observer_ != nullptr) {
        end_ = cur_ + std::min<std::size_t>(static_cast<std::size_t>(cap_ - cur_), observe_step);
        observer_->published(begin_, size());
    }
}

void snapshot_writer::reserve_total(std::size_t total) {
    if (total <= size()) return;
    if (total - size() > static_cast<std::size_t>(cap_ - cur_)) grow(total - size());
    // Capacity only: progress is still reported every step. grow() set the
    // next report where this much room ends, so a save that reserved its
    // whole size up front was written only after it was all encoded.
    if (observer_ != nullptr) end_ = cur_ + std::min<std::size_t>(static_cast<std::size_t>(cap_ - cur_), observe_step);
}

void snapshot_writer::grow(std::size_t n) {
    const std::size_t used = size();
    const std::size_t cap = static_cast<std::size_t>(cap_ - begin_);
    if (observer_ != nullptr) {
        // A soft limit was reached, not necessarily the capacity.
        observer_->published(begin_, used);
        if (cap - used >= n) {
            end_ = cur_ + std::min(cap - used, std::max(n, observe_step));
            return;
        }
    }
    if (n > std::numeric_limits<std::size_t>::max() / 2 - used) throw std::bad_alloc();
    const std::size_t new_cap = std::max({cap * 2, used + n, std::size_t{4096}});
    // realloc rather than new[]+copy: for large buffers glibc moves pages with
    // mremap instead of copying, and nothing is zero-filled.
    if (observer_ != nullptr) observer_->moving();
    auto* p = static_cast<std::byte*>(std::realloc(buffer_.get(), new_cap));
    if (p == nullptr) {
        if (observer_ != nullptr) observer_->moved(begin_);
        throw std::bad_alloc();
    }
    (void)buffer_.release();
    buffer_.reset(p);
    begin_ = p;
    cur_ = p + used;
    cap_ = p + new_cap;
    end_ = cap_;
    if (observer_ != nullptr) {
        observer_->moved(p);
        end_ = cur_ + std::min(new_cap - used, std::max(n, observe_step));
    }
}

void snapshot_writer::begin_table(std::size_t table_index) {
    if (finished_) throw usage_error("snapshot_writer: begin_table after finish");
    if (table_open_) throw usage_error("snapshot_writer: begin_table while a table is open");
    if (table_index != next_table_ || table_index >= schema_.tables.size())
        throw usage_error("snapshot_writer: tables must be written in schema order; expected table " +
                          std::to_string(next_table_) + ", got " + std::to_string(table_index));
    table_open_ = true;
    table_start_ = size();
}

void snapshot_writer::end_table(std::uint64_t row_count, std::uint64_t next_auto_key) {
    if (!table_open_) throw usage_error("snapshot_writer: end_table without begin_table");
    std::byte* entry = begin_ + directory_offset_ + next_table_ * directory_entry_size;
    patch(entry, row_count);
    patch(entry + 8, next_auto_key);
    patch(entry + 16, static_cast<std::uint64_t>(table_start_));
    patch(entry + 24, static_cast<std::uint64_t>(size() - table_start_));
    table_open_ = false;
    ++next_table_;
}

namespace {

[[noreturn]] void bad_value(const table_info* t, const column_info* c, const column_type& type,
                            const std::string& why) {
    std::string where = c != nullptr ? "column '" + t->name + "." + c->name + "'" : "a column";
    throw usage_error("snapshot_writer: " + where + " of type " + to_string(type) + ": " + why);
}

// The kind a cell is encoded as: a timestamp's, duration's or enumeration's count type.
column_kind storage_kind(const column_type& t) noexcept {
    return t.kind == column_kind::timestamp || t.kind == column_kind::duration || t.kind == column_kind::enumeration
               ? t.rep
               : t.kind;
}

template <class T>
bool fits(const value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v))
        return *i >= static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
               (std::is_signed_v<T> || *i >= 0) &&
               static_cast<std::uint64_t>(std::max<std::int64_t>(*i, 0)) <=
                   static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    if (const auto* u = std::get_if<std::uint64_t>(&v))
        return *u <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
    return false;
}

template <class T>
T as_int(const value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<T>(*i);
    return static_cast<T>(std::get<std::uint64_t>(v));
}

void put_value_checked(snapshot_writer& w, const column_type& type, const value& v, const table_info* t,
                       const column_info* c) {
    if (std::holds_alternative<std::monostate>(v)) {
        if (!type.nullable) bad_value(t, c, type, "null in a column that is not nullable");
        w.put_presence(false);
        return;
    }
    auto need_int = [&]<class T>(T*) {
        if (!fits<T>(v)) bad_value(t, c, type, "value is not an integer in range");
    };
    const column_kind kind = storage_kind(type);
    switch (kind) {
    case column_kind::boolean:
        if (!std::holds_alternative<bool>(v)) bad_value(t, c, type, "value is not a bool");
        break;
    case column_kind::int8: need_int(static_cast<std::int8_t*>(nullptr)); break;
    case column_kind::int16: need_int(static_cast<std::int16_t*>(nullptr)); break;
    case column_kind::int32: need_int(static_cast<std::int32_t*>(nullptr)); break;
    case column_kind::int64: need_int(static_cast<std::int64_t*>(nullptr)); break;
    case column_kind::uint8: need_int(static_cast<std::uint8_t*>(nullptr)); break;
    case column_kind::uint16: need_int(static_cast<std::uint16_t*>(nullptr)); break;
    case column_kind::uint32: need_int(static_cast<std::uint32_t*>(nullptr)); break;
    case column_kind::uint64: need_int(static_cast<std::uint64_t*>(nullptr)); break;
    case column_kind::float32:
    case column_kind::float64:
        if (!std::holds_alternative<double>(v)) bad_value(t, c, type, "value is not a double");
        break;
    case column_kind::string:
        if (!std::holds_alternative<std::string>(v)) bad_value(t, c, type, "value is not a string");
        break;
    case column_kind::blob:
        if (!std::holds_alternative<blob_value>(v))
            bad_value(t, c, type, "value is not a blob (std::vector<std::byte>)");
        break;
    default: bad_value(t, c, type, "the column's type is not well formed");  // schema_problem refused it
    }
    if (type.nullable) w.put_presence(true);
    switch (kind) {
    case column_kind::boolean: w.put_bool(std::get<bool>(v)); break;
    case column_kind::int8: w.put_u8(static_cast<std::uint8_t>(as_int<std::int8_t>(v))); break;
    case column_kind::int16: w.put_u16(static_cast<std::uint16_t>(as_int<std::int16_t>(v))); break;
    case column_kind::int32: w.put_u32(static_cast<std::uint32_t>(as_int<std::int32_t>(v))); break;
    case column_kind::int64: w.put_u64(static_cast<std::uint64_t>(as_int<std::int64_t>(v))); break;
    case column_kind::uint8: w.put_u8(as_int<std::uint8_t>(v)); break;
    case column_kind::uint16: w.put_u16(as_int<std::uint16_t>(v)); break;
    case column_kind::uint32: w.put_u32(as_int<std::uint32_t>(v)); break;
    case column_kind::uint64: w.put_u64(as_int<std::uint64_t>(v)); break;
    case column_kind::float32: w.put_f32(static_cast<float>(std::get<double>(v))); break;
    case column_kind::float64: w.put_f64(std::get<double>(v)); break;
    case column_kind::string: w.put_string(std::get<std::string>(v)); break;
    case column_kind::blob: w.put_blob(std::get<blob_value>(v)); break;
    default: break;
    }
}

}  // namespace

void snapshot_writer::put_value(const column_type& type, const value& v) {
    put_value_checked(*this, type, v, nullptr, nullptr);
}

void snapshot_writer::put_row(std::span<const value> row) {
    if (!table_open_) throw usage_error("snapshot_writer: put_row without begin_table");
    const auto& t = schema_.tables[next_table_];
    if (row.size() != t.columns.size())
        throw usage_error("snapshot_writer: table '" + t.name + "' has " + std::to_string(t.columns.size()) +
                          " columns, the row has " + std::to_string(row.size()) + " values");
    for (std::size_t i = 0; i < row.size(); ++i)
        put_value_checked(*this, t.columns[i].type, row[i], &t, &t.columns[i]);
}

std::span<const std::byte> snapshot_writer::header_for(std::span<const table_extent> tables) {
    if (finished_ || table_open_ || next_table_ != 0)
        throw usage_error("snapshot_writer: header_for after a table was begun");
    if (tables.size() != schema_.tables.size())
        throw usage_error("snapshot_writer: header_for needs one extent per table: " + std::to_string(tables.size()) +
                          " for " + std::to_string(schema_.tables.size()));
    std::uint64_t at = rows_begin();
    for (std::size_t i = 0; i < tables.size(); ++i) {
        std::byte* entry = begin_ + directory_offset_ + i * directory_entry_size;
        patch(entry, tables[i].row_count);
        patch(entry + 8, tables[i].next_auto_key);
        patch(entry + 16, at);
        patch(entry + 24, tables[i].bytes);
        at += tables[i].bytes;
    }
    patch(begin_ + 16, at + snapshot_checksum_size);
    return {begin_, rows_begin()};
}

std::span<const std::byte> snapshot_writer::finish() {
    if (!finished_) {
        if (table_open_ || next_table_ != schema_.tables.size())
            throw usage_error("snapshot_writer: finish before every table was written (" +
                              std::to_string(next_table_) + " of " + std::to_string(schema_.tables.size()) + ")");
        reserve(snapshot_checksum_size);
        patch(begin_ + 16, static_cast<std::uint64_t>(size() + snapshot_checksum_size));
        put_u64(XXH3_64bits(begin_, size()));
        finished_ = true;
    }
    return {begin_, size()};
}

// ---------------------------------------------------------------------------
// row cursor

void detail::row_stream_deleter::operator()(row_stream* s) const noexcept { delete s; }

row_cursor::row_cursor(detail::row_stream_ptr stream, std::uint64_t base_offset,
                       std::uint64_t end_offset, const std::string* path, const std::string* table)
    : base_offset_(base_offset), end_offset_(end_offset), path_(path), table_(table), stream_(std::move(stream)) {}


void row_cursor::more(std::size_t n) {
    if (stream_ == nullptr || left() < n) truncated(n);
    stream_->refill(*this, n);
}

void row_cursor::more_for_string(std::uint64_t n) {
    if (stream_ == nullptr || left() < n) bad_length(n);
    stream_->refill(*this, static_cast<std::size_t>(n));
}

void row_cursor::truncated(std::size_t n) const {
    detail::snapshot_fail(errc::bad_snapshot, *path_, offset(),
                          "table '" + *table_ + "': a cell needs " + std::to_string(n) + " bytes but only " +
                              std::to_string(left()) + " remain in the table's rows");
}

void row_cursor::bad_byte(std::size_t back, const char* expected, unsigned got) const {
    detail::snapshot_fail(errc::bad_snapshot, *path_, offset() - back,
                          "table '" + *table_ + "': expected " + expected + ", found " + std::to_string(got));
}

void row_cursor::bad_length(std::uint64_t n) const {
    detail::snapshot_fail(errc::bad_snapshot, *path_, offset() - 8,
                          "table '" + *table_ + "': string length " + std::to_string(n) + " exceeds the " +
                              std::to_string(left()) + " bytes left in the table's rows");
}

value row_cursor::get_value(const column_type& type) {
    if (type.nullable && !get_presence()) return std::monostate{};
    switch (storage_kind(type)) {
    case column_kind::boolean: return get_bool();
    case column_kind::int8: return std::int64_t{static_cast<std::int8_t>(get_u8())};
    case column_kind::int16: return std::int64_t{static_cast<std::int16_t>(get_u16())};
    case column_kind::int32: return std::int64_t{static_cast<std::int32_t>(get_u32())};
    case column_kind::int64: return static_cast<std::int64_t>(get_u64());
    case column_kind::uint8: return std::uint64_t{get_u8()};
    case column_kind::uint16: return std::uint64_t{get_u16()};
    case column_kind::uint32: return std::uint64_t{get_u32()};
    case column_kind::uint64: return get_u64();
    case column_kind::float32: return static_cast<double>(get_f32());
    case column_kind::float64: return get_f64();
    case column_kind::string: return std::string(get_string());
    case column_kind::blob: {
        const auto b = get_blob();
        return blob_value(b.begin(), b.end());
    }
    default: return std::monostate{};  // schema_problem refused other kinds
    }
}

void row_cursor::skip_value(const column_type& type) {
    if (type.nullable && !get_presence()) return;
    switch (type.kind) {
    case column_kind::boolean: (void)get_bool(); return;
    case column_kind::string:
    case column_kind::blob: (void)get_string(); return;
    default: {
        const auto n = static_cast<std::size_t>(detail::value_size(type.kind, type.rep));
        need(n);
        cur_ += n;
    }
    }
}

void row_cursor::fail_at(std::uint64_t at, const std::string& msg) const {
    detail::snapshot_fail(errc::bad_snapshot, *path_, at, "table '" + *table_ + "': " + msg);
}

void row_cursor::finish() const {
    if (left() != 0)
        detail::snapshot_fail(errc::bad_snapshot, *path_, offset(),
                              "table '" + *table_ + "': " + std::to_string(left()) +
                                  " bytes left over after the last row");
}

// ---------------------------------------------------------------------------
// reader

namespace {

// Bounds-checked reading of the header, schema and directory. Field
// descriptions are plain literals plus a context ("table 'users'") that is
// only turned into a message on failure, so parsing builds no strings.
class parser {
public:
    parser(std::span<const std::byte> image, std::size_t pos, std::size_t end, const std::string& name,
           const char* section)
        : data_(image.data()), pos_(pos), end_(end), name_(name), section_(section) {}

    [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
    [[nodiscard]] std::size_t left() const noexcept { return end_ - pos_; }
    void context(std::string c) { context_ = std::move(c); }

    template <class T>
    T get(const char* what) {
        if (left() < sizeof(T))
            fail(pos_, "truncated " + std::string(section_) + ": expected " + describe(what) + " (" +
                           std::to_string(sizeof(T)) + " bytes), only " + std::to_string(left()) + " remain");
        T v;
        std::memcpy(&v, data_ + pos_, sizeof v);
        pos_ += sizeof v;
        return detail::to_le(v);
    }

    std::string str(const char* what) {
        const std::size_t at = pos_;
        const auto n = get<std::uint64_t>(what);
        if (n > left())
            fail(at, "the length of " + describe(what) + " is " + std::to_string(n) + " but only " +
                         std::to_string(left()) + " bytes remain in the " + section_);
        std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(n));
        pos_ += n;
        return s;
    }

    // A count of elements each at least min_size bytes long, checked against
    // the bytes left so that a corrupt count cannot drive a huge allocation.
    std::uint32_t count(const char* what, std::size_t min_size) {
        const std::size_t at = pos_;
        const auto n = get<std::uint32_t>(what);
        if (static_cast<std::uint64_t>(n) * min_size > left())
            fail(at, "the number of " + describe(what) + " is " + std::to_string(n) + " but only " +
                         std::to_string(left()) + " bytes remain in the " + section_);
        return n;
    }

    std::uint8_t enum_byte(const char* what, unsigned max) {
        const std::size_t at = pos_;
        const auto b = get<std::uint8_t>(what);
        if (b < 1 || b > max)
            fail(at, "expected " + describe(what) + " (1 to " + std::to_string(max) + "), found " +
                         std::to_string(b));
        return b;
    }

    std::uint8_t flags(const char* what, unsigned mask) {
        const std::size_t at = pos_;
        const auto b = get<std::uint8_t>(what);
        if ((b & ~mask) != 0) fail(at, "unknown bits set in " + describe(what) + ": " + std::to_string(b));
        return b;
    }

    std::vector<std::string> names(const char* what, const char* each) {
        const auto n = count(what, 8);
        std::vector<std::string> out;
        out.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) out.push_back(str(each));
        return out;
    }

    [[noreturn]] void fail(std::size_t at, const std::string& msg) const {
        detail::snapshot_fail(errc::bad_snapshot, name_, at, msg);
    }

private:
    [[nodiscard]] std::string describe(const char* what) const {
        return context_.empty() ? std::string(what) : std::string(what) + " of " + context_;
    }

    const std::byte* data_;
    std::size_t pos_;
    std::size_t end_;
    const std::string& name_;
    const char* section_;
    std::string context_;
};

// The names of an enumeration read from a file, owning the text that the
// column type's enum_labels views.
struct owned_labels {
    std::string name;
    std::vector<std::string> names;
    std::vector<enum_value_name> values;
    enum_labels labels;
};

// Reads what the kinds added after version 1's first files record after the
// nullable flag, checking each part at its own offset.
void read_type_details(parser& s, const std::string& table, column_info& c) {
    const auto where = [&] { return "column '" + c.name + "' of table '" + table + "': "; };
    auto& t = c.type;
    if (t.kind != column_kind::timestamp && t.kind != column_kind::duration && t.kind != column_kind::enumeration)
        return;
    if (t.kind == column_kind::timestamp) (void)s.enum_byte("a timestamp's clock", 1);  // 1: system_clock
    const std::size_t rep_at = s.pos();
    t.rep = static_cast<column_kind>(s.get<std::uint8_t>("a count type"));
    if (!is_integer_kind(t.rep)) s.fail(rep_at, where() + detail::rep_problem(t.kind, t.rep));
    if (t.kind != column_kind::enumeration) {
        const std::size_t period_at = s.pos();
        t.num = s.get<std::uint64_t>("a tick period's numerator");
        t.den = s.get<std::uint64_t>("a tick period's denominator");
        if (!detail::period_ok(t.num, t.den)) s.fail(period_at, where() + detail::period_problem(t.num, t.den));
        return;
    }
    auto owned = std::make_shared<owned_labels>();
    owned->name = s.str("an enum's name");
    const auto n = s.count("enum values", 16);
    std::vector<std::size_t> value_at(n), name_at(n);
    std::vector<std::uint64_t> values(n);
    owned->names.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        value_at[i] = s.pos();
        values[i] = s.get<std::uint64_t>("an enum value");
        name_at[i] = s.pos();
        owned->names.push_back(s.str("an enum value's name"));
    }
    // Views into the names only once no string moves any more.
    std::set<std::string_view> seen;
    owned->values.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        const enum_value_name v{values[i], owned->names[i]};
        if (!detail::enum_value_fits(v.value, t.rep)) s.fail(value_at[i], where() + detail::enum_value_problem(v, t.rep));
        if (!seen.insert(v.name).second) s.fail(name_at[i], where() + detail::duplicate_enum_name(v.name));
        owned->values.push_back(v);
    }
    owned->labels = {owned->name, owned->values};
    t.labels = &owned->labels;
    t.labels_owner = std::move(owned);
}

}  // namespace

snapshot_reader::snapshot_reader(std::vector<std::byte> image, std::string name, checksum_policy policy)
    : snapshot_reader(detail::image_bytes(std::move(image)), std::move(name), policy, std::nullopt, {}) {}

snapshot_reader::snapshot_reader(detail::image_bytes image, std::string name, checksum_policy policy,
                                 std::optional<std::uint64_t> body_checksum, streamed_file streamed)
    : image_(std::move(image)),
      file_(std::move(streamed.file)),
      size_(file_ != nullptr ? streamed.size : image_.size()),
      name_(std::move(name)) {
    using detail::snapshot_fail;
    // A streamed reader's image holds the file's first bytes only, up to the
    // first row: every check below reads no further before the directory is
    // validated, and the rows are read by the cursors.
    const std::size_t n = static_cast<std::size_t>(size_);
    const auto* d = image_.data();
    constexpr std::size_t min_size = snapshot_header_size + snapshot_checksum_size;

    if (n == 0) snapshot_fail(errc::bad_snapshot, name_, 0, "the file is empty; expected a relstore snapshot");
    for (std::size_t i = 0; i < std::min<std::size_t>(n, sizeof snapshot_magic); ++i)
        if (d[i] != static_cast<std::byte>(snapshot_magic[i]))
            snapshot_fail(errc::bad_snapshot, name_, i,
                          "not a relstore snapshot: wrong magic bytes (expected \\x89RSNAP\\r\\n)");
    if (n < min_size)
        snapshot_fail(errc::bad_snapshot, name_, n,
                      "truncated: the file has " + std::to_string(n) + " bytes, a snapshot has at least " +
                          std::to_string(min_size));

    parser h(image_, sizeof snapshot_magic, snapshot_header_size, name_, "header");
    version_ = h.get<std::uint32_t>("the format version");
    if (version_ != snapshot_format_version)
        snapshot_fail(errc::unsupported_version, name_, 8,
                      "format version " + std::to_string(version_) + " is not supported; this build reads version " +
                          std::to_string(snapshot_format_version));
    const auto byte_order = h.get<std::uint8_t>("the byte order");
    if (byte_order != 1)
        snapshot_fail(errc::incompatible_platform, name_, 12,
                      "byte order " + std::to_string(byte_order) +
                          (byte_order == 2 ? " (big-endian)" : " (unknown)") +
                          "; this build reads little-endian snapshots (byte order 1)");
    word_size_ = h.get<std::uint8_t>("the word size");
    if (word_size_ != 4 && word_size_ != 8)
        snapshot_fail(errc::bad_snapshot, name_, 13,
                      "word size " + std::to_string(word_size_) + " is not 4 or 8 bytes");
    if (word_size_ > sizeof(std::size_t))
        snapshot_fail(errc::incompatible_platform, name_, 13,
                      "written on a " + std::to_string(word_size_ * 8) + "-bit platform; this build is " +
                          std::to_string(sizeof(std::size_t) * 8) + "-bit");
    if (h.get<std::uint16_t>("reserved bytes") != 0)
        snapshot_fail(errc::bad_snapshot, name_, 14, "reserved header bytes are not zero");
    const auto declared = h.get<std::uint64_t>("the file size");
    if (declared > n)
        snapshot_fail(errc::bad_snapshot, name_, n,
                      "truncated: the header says the snapshot has " + std::to_string(declared) +
                          " bytes but only " + std::to_string(n) + " are present");
    if (declared < n)
        snapshot_fail(errc::bad_snapshot, name_, declared,
                      "the header says the snapshot has " + std::to_string(declared) + " bytes but there are " +
                          std::to_string(n) + " (trailing data)");

    const std::size_t body = n - snapshot_checksum_size;
    if (file_ != nullptr) {
        stored_checksum_ = streamed.stored_checksum;
    } else {
        std::memcpy(&stored_checksum_, d + body, 8);
        stored_checksum_ = detail::to_le(stored_checksum_);
    }
    computed_checksum_ = body_checksum ? *body_checksum : XXH3_64bits(d, body);
#ifdef RELSTORE_SNAPSHOT_FUZZING
    // The fuzzing build skips the check so that mutated inputs reach the decoder.
    computed_checksum_ = stored_checksum_;
#endif
    if (policy == checksum_policy::verify && !checksum_ok())
        snapshot_fail(errc::checksum_mismatch, name_, body,
                      "checksum mismatch: stored " + detail::hex64(stored_checksum_) + ", computed " +
                          detail::hex64(computed_checksum_) + " over bytes 0.." + std::to_string(body) +
                          "; the file is corrupt");

    const auto table_count = h.get<std::uint32_t>("the table count");
    const auto schema_size = h.get<std::uint32_t>("the schema size");
    if (schema_size > body - snapshot_header_size)
        snapshot_fail(errc::bad_snapshot, name_, 28,
                      "the schema size " + std::to_string(schema_size) + " exceeds the " +
                          std::to_string(body - snapshot_header_size) + " bytes after the header");
    const std::size_t dir_begin = snapshot_header_size + schema_size;
    if (static_cast<std::uint64_t>(table_count) * directory_entry_size > body - dir_begin)
        snapshot_fail(errc::bad_snapshot, name_, 24,
                      "the table count " + std::to_string(table_count) + " needs " +
                          std::to_string(static_cast<std::uint64_t>(table_count) * directory_entry_size) +
                          " bytes of table directory but only " + std::to_string(body - dir_begin) + " remain");
    const std::size_t rows_begin = dir_begin + table_count * directory_entry_size;

    // Schema. The smallest table entry is an empty name (8), flags (1), four counts (16).
    parser s(image_, snapshot_header_size, dir_begin, name_, "schema");
    if (static_cast<std::uint64_t>(table_count) * 25 > schema_size)
        s.fail(24, "the table count " + std::to_string(table_count) + " cannot fit in a schema of " +
                       std::to_string(schema_size) + " bytes");
    schema_.tables.reserve(table_count);
    for (std::uint32_t ti = 0; ti < table_count; ++ti) {
        table_info t;
        s.context("table " + std::to_string(ti));
        t.name = s.str("the name");
        s.context("table '" + t.name + "'");
        const auto flags = s.flags("the flags", 3);
        t.auto_key = (flags & 1) != 0;
        t.hashed_key = (flags & 2) != 0;
        const auto ncols = s.count("columns", 10);
        t.columns.reserve(ncols);
        for (std::uint32_t ci = 0; ci < ncols; ++ci) {
            column_info c;
            c.name = s.str("a column name");
            c.type.kind = static_cast<column_kind>(
                s.enum_byte("a column type", static_cast<unsigned>(column_kind::enumeration)));
            c.type.nullable = s.flags("a column's nullable flag", 1) != 0;
            read_type_details(s, t.name, c);
            t.columns.push_back(std::move(c));
        }
        t.key = s.names("key columns", "a key column name");
        const auto nix = s.count("indexes", 5);
        t.indexes.reserve(nix);
        for (std::uint32_t i = 0; i < nix; ++i) {
            index_info ix;
            ix.kind = static_cast<index_kind>(
                s.enum_byte("an index kind", static_cast<unsigned>(index_kind::ordered)));
            ix.columns = s.names("index columns", "an index column name");
            t.indexes.push_back(std::move(ix));
        }
        const auto nfk = s.count("foreign keys", 14);
        t.foreign_keys.reserve(nfk);
        for (std::uint32_t i = 0; i < nfk; ++i) {
            foreign_key_info fk;
            fk.columns = s.names("foreign key columns", "a foreign key column name");
            fk.parent_table = s.str("a foreign key's parent table");
            fk.action = static_cast<on_delete>(
                s.enum_byte("a foreign key's on-delete action", static_cast<unsigned>(on_delete::set_null)));
            const auto f = s.flags("a foreign key's flags", 3);
            fk.unique = (f & 1) != 0;
            fk.acyclic = (f & 2) != 0;
            t.foreign_keys.push_back(std::move(fk));
        }
        schema_.tables.push_back(std::move(t));
    }
    s.context({});
    if (s.left() != 0)
        s.fail(s.pos(), std::to_string(s.left()) + " bytes left over at the end of the schema section");
    if (auto p = detail::schema_problem(schema_)) s.fail(snapshot_header_size, "malformed schema: " + *p);

    // Directory: tables' rows must be contiguous, in order, and fill the space up to the checksum.
    parser dir(image_, dir_begin, rows_begin, name_, "table directory");
    stats_.reserve(table_count);
    std::uint64_t expected = rows_begin;
    for (std::uint32_t ti = 0; ti < table_count; ++ti) {
        const auto& t = schema_.tables[ti];
        const std::size_t at = dir.pos();
        snapshot_table_stats st;
        st.row_count = dir.get<std::uint64_t>("a row count");
        st.next_auto_key = dir.get<std::uint64_t>("a next key");
        st.rows_offset = dir.get<std::uint64_t>("a rows offset");
        st.rows_size = dir.get<std::uint64_t>("a rows size");
        if (st.rows_offset != expected)
            dir.fail(at + 16, "table '" + t.name + "': rows start at byte " + std::to_string(st.rows_offset) +
                                  ", expected " + std::to_string(expected));
        if (st.rows_size > body - expected)
            dir.fail(at + 24, "table '" + t.name + "': rows take " + std::to_string(st.rows_size) +
                                  " bytes but only " + std::to_string(body - expected) + " remain");
        std::uint64_t min_row = 0;
        for (const auto& c : t.columns) min_row += detail::min_encoded_size(c.type);
        if (st.row_count > st.rows_size / min_row)
            dir.fail(at, "table '" + t.name + "': " + std::to_string(st.row_count) + " rows cannot fit in " +
                             std::to_string(st.rows_size) + " bytes");
        expected += st.rows_size;
        stats_.push_back(st);
    }
    if (expected != body)
        detail::snapshot_fail(errc::bad_snapshot, name_, expected,
                              "the table rows end at byte " + std::to_string(expected) +
                                  " but the checksum starts at byte " + std::to_string(body));
}

std::optional<std::size_t> snapshot_reader::find_table(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < schema_.tables.size(); ++i)
        if (schema_.tables[i].name == name) return i;
    return std::nullopt;
}

row_cursor snapshot_reader::rows(std::size_t i) const {
    const auto& st = stats_.at(i);
    if (file_ != nullptr)
        return row_cursor(detail::row_stream_ptr(new detail::row_stream(file_, window_)), st.rows_offset,
                          st.rows_offset + st.rows_size, &name_, &schema_.tables[i].name);
    const auto* b = image_.data() + st.rows_offset;
    return row_cursor(b, b + st.rows_size, st.rows_offset, &name_, &schema_.tables[i].name);
}

detail::held_rows snapshot_reader::hold_rows(std::size_t i) const {
    const auto& st = stats_.at(i);
    detail::held_rows out;
    out.size_ = static_cast<std::size_t>(st.rows_size);
    out.offset_ = st.rows_offset;
    out.path_ = &name_;
    out.table_ = &schema_.tables[i].name;
    if (file_ == nullptr) {
        out.data_ = image_.data() + st.rows_offset;
        return out;
    }
    out.own_ = detail::image_bytes::uninitialized(out.size_);
    out.own_.populate(0, out.size_);
    file_->read_at(out.own_.data(), out.size_, st.rows_offset);
    out.data_ = out.own_.data();
    return out;
}

void snapshot_reader::check_unchanged() const {
    if (file_ != nullptr && file_->examine() != file_->identity)
        detail::snapshot_fail(errc::io, name_, std::nullopt,
                              "the file changed while it was loaded (its size or modification time is not what "
                              "it was when its checksum was verified); nothing was loaded");
}

void snapshot_reader::check_rows() const {
    for (std::size_t i = 0; i < stats_.size(); ++i) {
        auto cur = rows(i);
        const auto& cols = schema_.tables[i].columns;
        for (std::uint64_t r = 0; r < stats_[i].row_count; ++r)
            for (const auto& c : cols) cur.skip_value(c.type);
        cur.finish();
    }
}

}  // namespace relstore
