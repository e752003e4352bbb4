// relstore: inspect snapshot files without the application's code; the
// snapshot header describes every column, so the tool needs no row types.
//
//   relstore info FILE                          header, schema, row counts, checksum status
//   relstore verify FILE                        exit 0 only for a snapshot that loads (integrity included)
//   relstore tables FILE                        table names and row counts
//   relstore dump FILE [--table T] [--format csv|json] [--columns a,b] [--where col=value] [--limit N] [--out DIR]
//   relstore schema FILE [--dot]                text, or a Graphviz graph
//   relstore export FILE --sqlite OUT.db        the snapshot as a SQLite database
//   relstore import IN.db --schema SNAP --out NEW.snap   a SQLite database as a snapshot of SNAP's schema
//   relstore journal info|verify|dump FILE      a journal's records, the snapshot it follows, its tail

#include <relstore/detail/journal_file.hpp>
#include <relstore/schema_dot.hpp>
#include <relstore/snapshot_format.hpp>
#include <relstore/version.hpp>

#include <CLI/CLI.hpp>

#include "cells.hpp"
#include "sqlite_io.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

namespace {

using namespace relstore;
namespace fs = std::filesystem;

// Exit statuses: 0 sound, 1 not a sound snapshot (or unreadable), 2 usage.
constexpr int exit_ok = 0;
constexpr int exit_bad = 1;
constexpr int exit_usage = 2;

// Output goes through one buffer flushed in large blocks; dumps can be large.
// With a sink, the output collects there instead (dump --out writes files).
class out_buffer {
public:
    out_buffer() { buf_.reserve(1 << 16); }
    explicit out_buffer(std::string* sink) : sink_(sink) {}
    out_buffer(const out_buffer&) = delete;
    out_buffer& operator=(const out_buffer&) = delete;
    ~out_buffer() { flush(); }
    out_buffer& operator<<(std::string_view s) {
        buf_.append(s);
        if (buf_.size() >= (1 << 16)) flush();
        return *this;
    }
    out_buffer& operator<<(char c) {
        buf_.push_back(c);
        return *this;
    }
    template <class T>
        requires std::is_arithmetic_v<T>
    out_buffer& operator<<(T v) {
        char tmp[64];
        auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
        buf_.append(tmp, end);
        return *this;
    }
    void flush() {
        if (sink_ != nullptr)
            sink_->append(buf_);
        else
            std::fwrite(buf_.data(), 1, buf_.size(), stdout);
        buf_.clear();
    }

private:
    std::string buf_;
    std::string* sink_ = nullptr;
};

std::string hex(std::uint64_t v) {
    char buf[19];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// A column's type, and for a described enum the names of its values:
// "enum Color : uint8 {red = 0, green = 1}".
std::string type_text(const column_type& t) {
    std::string s = to_string(t);
    if (t.kind == column_kind::enumeration && t.labels != nullptr) {
        s += " {";
        bool first = true;
        for (const auto& v : t.labels->values) {
            s += first ? "" : ", ";
            first = false;
            s += std::string(v.name) + " = " +
                 (is_signed_kind(t.rep) ? std::to_string(static_cast<std::int64_t>(v.value)) : std::to_string(v.value));
        }
        s += '}';
    }
    return s;
}

std::string index_kind_name(index_kind k) {
    switch (k) {
    case index_kind::hashed_unique: return "unique hashed index";
    case index_kind::hashed: return "hashed index";
    case index_kind::ordered_unique: return "unique ordered index";
    case index_kind::ordered: return "ordered index";
    }
    return "index";
}

std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i > 0) s += sep;
        s += v[i];
    }
    return s;
}

void print_schema_text(out_buffer& out, const snapshot_reader& r) {
    const auto& tables = r.schema().tables;
    for (std::size_t i = 0; i < tables.size(); ++i) {
        const auto& t = tables[i];
        const auto& st = r.table(i);
        out << "table " << t.name << ": " << st.row_count << (st.row_count == 1 ? " row" : " rows");
        if (t.auto_key) out << ", next key " << st.next_auto_key;
        out << '\n';
        std::size_t width = 0;
        for (const auto& c : t.columns) width = std::max(width, c.name.size());
        for (const auto& c : t.columns) {
            out << "  " << c.name << std::string(width - c.name.size() + 2, ' ') << type_text(c.type) << '\n';
        }
        out << "  key (" << join(t.key) << "), " << (t.hashed_key ? "hashed" : "ordered")
            << (t.auto_key ? ", assigned by the store" : "") << '\n';
        for (const auto& ix : t.indexes) out << "  " << index_kind_name(ix.kind) << " (" << join(ix.columns) << ")\n";
        for (const auto& fk : t.foreign_keys) {
            out << "  foreign key (" << join(fk.columns) << ") -> " << fk.parent_table << ", on delete "
                << to_string(fk.action);
            if (fk.unique) out << ", one-to-one";
            if (fk.acyclic) out << ", acyclic";
            out << '\n';
        }
    }
}

void report_error(const std::string& file, const snapshot_error& e) {
    std::cerr << "relstore: " << file << " is not a sound snapshot\n  reason: " << e.what() << '\n';
    if (e.offset()) std::cerr << "  offset: " << *e.offset() << '\n';
}

// "-" is standard input, so that a snapshot can come through a pipe. A file
// is read as relstore::load reads it, never whole (a large one would take
// its size in memory); a command that reports on its rows calls
// check_unchanged() before it says they are sound.
snapshot_reader open_snapshot(const std::string& file, checksum_policy policy = checksum_policy::verify) {
    if (file == "-") return snapshot_reader::from_stream(std::cin, policy);
    return snapshot_reader::open_streamed(file, snapshot_reader::default_stream_window, policy);
}

int cmd_info(const std::string& file) {
    // Report, rather than verify, the checksum so that a damaged file's header can still be shown.
    std::optional<snapshot_reader> r;
    try {
        r.emplace(open_snapshot(file, checksum_policy::report));
    } catch (const snapshot_error& e) {
        report_error(file, e);
        return exit_bad;
    }
    std::uint64_t rows = 0;
    for (std::size_t i = 0; i < r->schema().tables.size(); ++i) rows += r->table(i).row_count;
    out_buffer out;
    out << "file:           " << file << '\n'
        << "size:           " << r->size() << " bytes\n"
        << "format version: " << r->format_version() << '\n'
        << "platform:       little-endian, " << r->word_size() * 8 << "-bit writer\n";
    if (r->checksum_ok())
        out << "checksum:       ok (xxh3-64 " << hex(r->stored_checksum()) << ")\n";
    else
        out << "checksum:       MISMATCH (stored " << hex(r->stored_checksum()) << ", computed "
            << hex(r->computed_checksum()) << "): the file is corrupt\n";
    out << "tables:         " << r->schema().tables.size() << '\n' << "rows:           " << rows << "\n\n";
    print_schema_text(out, *r);
    return r->checksum_ok() ? exit_ok : exit_bad;
}

int cmd_verify(const std::string& file) {
    try {
        const auto r = open_snapshot(file);
        r.check_integrity();  // what a load checks, so "ok" means a program with this schema can load it
        r.check_unchanged();  // the rows checked are those the checksum covered
        std::uint64_t rows = 0;
        for (std::size_t i = 0; i < r.schema().tables.size(); ++i) rows += r.table(i).row_count;
        std::cout << "ok: " << file << ": format " << r.format_version() << ", " << r.schema().tables.size()
                  << " tables, " << rows << " rows, " << r.size() << " bytes, checksum " << hex(r.stored_checksum())
                  << '\n';
        return exit_ok;
    } catch (const snapshot_error& e) {
        report_error(file, e);
        return exit_bad;
    }
}

// RFC 4180: fields with a comma, quote, CR or LF are quoted and quotes doubled;
// an empty string is quoted too, so that it differs from null (an empty field).
void csv_string(out_buffer& out, std::string_view s) {
    if (!s.empty() && s.find_first_of(",\"\r\n") == std::string_view::npos) {
        out << s;
        return;
    }
    out << '"';
    for (char c : s) {
        if (c == '"') out << '"';
        out << c;
    }
    out << '"';
}

void number(out_buffer& out, column_kind kind, double d, bool json) {
    if (std::isnan(d)) {
        out << (json ? "\"NaN\"" : "NaN");
    } else if (std::isinf(d)) {
        out << (d > 0 ? (json ? "\"Infinity\"" : "Infinity") : (json ? "\"-Infinity\"" : "-Infinity"));
    } else if (kind == column_kind::float32) {
        out << static_cast<float>(d);  // shortest form that reads back as the same float
    } else {
        out << d;
    }
}

// JSON strings must be UTF-8; a snapshot's strings are bytes, so invalid
// sequences become U+FFFD rather than producing invalid JSON.
void json_string(out_buffer& out, std::string_view s) {
    out << '"';
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            switch (c) {
            case '"': out << "\\\""; break;
            case '\\': out << "\\\\"; break;
            case '\n': out << "\\n"; break;
            case '\r': out << "\\r"; break;
            case '\t': out << "\\t"; break;
            case '\b': out << "\\b"; break;
            case '\f': out << "\\f"; break;
            default:
                if (c < 0x20) {
                    char buf[7];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out << std::string_view(buf, 6);
                } else {
                    out << static_cast<char>(c);
                }
            }
            ++p;
            continue;
        }
        // Length and lowest code point of the sequence a lead byte starts.
        std::size_t n = 0;
        std::uint32_t min = 0;
        if ((c & 0xE0) == 0xC0) n = 2, min = 0x80;
        else if ((c & 0xF0) == 0xE0) n = 3, min = 0x800;
        else if ((c & 0xF8) == 0xF0) n = 4, min = 0x10000;
        bool ok = n != 0 && static_cast<std::size_t>(end - p) >= n;
        std::uint32_t cp = ok ? (c & (0x7F >> n)) : 0;
        for (std::size_t i = 1; ok && i < n; ++i) {
            if ((p[i] & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        ok = ok && cp >= min && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
        if (ok) {
            out << std::string_view(reinterpret_cast<const char*>(p), n);
            p += n;
        } else {
            out << "\\ufffd";
            ++p;
        }
    }
    out << '"';
}

// Text in a CSV field or a JSON string.
void text_cell(out_buffer& out, std::string_view s, bool json) {
    if (json)
        json_string(out, s);
    else
        csv_string(out, s);
}

// A timestamp (ISO 8601 UTC), a duration (with its unit) or a described
// enum's value (its name) as text; an empty string for other cells and for
// values the enum does not name, which print as numbers.
template <class N>
std::string typed_text(const column_type& t, N n) {
    std::string s;
    switch (t.kind) {
    case column_kind::timestamp: detail::append_timestamp(s, n, t.num, t.den); break;
    case column_kind::duration: detail::append_duration(s, n, t.num, t.den); break;
    case column_kind::enumeration:
        if (t.labels != nullptr) s = t.labels->name_of(static_cast<std::uint64_t>(n));
        break;
    default: break;
    }
    return s;
}

void cell(out_buffer& out, const column_info& col, const value& v, bool json) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
                if (json) out << "null";
            } else if constexpr (std::is_same_v<T, bool>) {
                out << (x ? "true" : "false");
            } else if constexpr (std::is_same_v<T, double>) {
                number(out, col.type.kind, x, json);
            } else if constexpr (std::is_same_v<T, std::string>) {
                text_cell(out, x, json);
            } else if constexpr (std::is_same_v<T, blob_value>) {
                std::string hex;
                detail::append_hex(hex, x);
                text_cell(out, hex, json);  // an empty blob is "", as an empty string: not null
            } else {
                if (const auto text = typed_text(col.type, x); !text.empty())
                    text_cell(out, text, json);
                else
                    out << x;
            }
        },
        v);
}

// What `dump` prints of each table: --columns, --where, --limit.
struct dump_options {
    std::vector<std::string> columns;  // empty: every column
    std::string where;                 // "column=value", or empty
    std::optional<std::uint64_t> limit;
};

// dump_options resolved against one table: the columns printed and the cell
// a row must hold in one column.
struct table_selection {
    std::vector<std::size_t> columns;
    std::optional<std::size_t> where_column;
    value where_value;
};

std::size_t column_index(const table_info& t, std::string_view name) {
    for (std::size_t c = 0; c < t.columns.size(); ++c)
        if (t.columns[c].name == name) return c;
    std::vector<std::string> names;
    for (const auto& c : t.columns) names.push_back(c.name);
    throw tool::usage_failure("table '" + t.name + "' has no column '" + std::string(name) + "'; its columns are: " +
                              join(names));
}

table_selection select(const table_info& t, const dump_options& o) {
    table_selection s;
    if (o.columns.empty())
        for (std::size_t c = 0; c < t.columns.size(); ++c) s.columns.push_back(c);
    else
        for (const auto& name : o.columns) s.columns.push_back(column_index(t, name));
    if (!o.where.empty()) {
        const auto eq = o.where.find('=');
        if (eq == std::string::npos)
            throw tool::usage_failure("--where takes COLUMN=VALUE, not '" + o.where + "'");
        const auto c = column_index(t, std::string_view(o.where).substr(0, eq));
        s.where_column = c;
        try {
            s.where_value = tool::parse_cell(t.columns[c].type, std::string_view(o.where).substr(eq + 1));
        } catch (const tool::usage_failure& e) {
            throw tool::usage_failure("--where " + t.name + "." + t.columns[c].name + ": " + e.what());
        }
    }
    return s;
}

void dump_table(out_buffer& out, const snapshot_reader& r, std::size_t ti, const table_selection& sel, bool json,
                const std::optional<std::uint64_t>& limit, const char* indent) {
    const auto& t = r.schema().tables[ti];
    auto cur = r.rows(ti);
    const auto rows = r.table(ti).row_count;
    if (!json) {
        for (std::size_t i = 0; i < sel.columns.size(); ++i) {
            if (i > 0) out << ',';
            csv_string(out, t.columns[sel.columns[i]].name);
        }
        out << "\r\n";
    } else {
        out << '[';
    }
    std::vector<value> row(t.columns.size());
    std::uint64_t printed = 0;
    std::uint64_t i = 0;
    for (; i < rows && (!limit || printed < *limit); ++i) {
        for (std::size_t c = 0; c < t.columns.size(); ++c) row[c] = cur.get_value(t.columns[c].type);
        // As SQL's "=": a null equals nothing, and NaN is never equal either.
        if (sel.where_column && !(row[*sel.where_column] == sel.where_value)) continue;
        if (json) out << (printed == 0 ? "\n" : ",\n") << indent << "  {";
        for (std::size_t k = 0; k < sel.columns.size(); ++k) {
            const auto c = sel.columns[k];
            if (json) {
                if (k > 0) out << ", ";
                json_string(out, t.columns[c].name);
                out << ": ";
            } else if (k > 0) {
                out << ',';
            }
            cell(out, t.columns[c], row[c], json);
        }
        out << (json ? "}" : "\r\n");
        ++printed;
    }
    if (i == rows) cur.finish();  // a --limit stops early: the rest is not decoded
    if (json) out << (printed > 0 ? "\n" + std::string(indent) + "]" : std::string("]"));
}

// A table name as a file name in --out: nothing that leaves the directory.
void check_file_name(const std::string& table) {
    if (table.empty() || table == "." || table == ".." || table.find('/') != std::string::npos ||
        table.find('\0') != std::string::npos)
        throw tool::data_failure("table '" + table + "' cannot be a file name in the --out directory");
}

// dump --out DIR: every table's CSV is built before the first file is
// written, so that a file that does not decode replaces no file; each file
// is then replaced crash-safely, as a snapshot save does.
void dump_to_directory(const snapshot_reader& r, const std::vector<std::size_t>& tables,
                       const std::vector<table_selection>& sel, const dump_options& o, const fs::path& dir) {
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        throw tool::usage_failure("--out " + dir.string() + " exists and is not a directory");
    std::vector<std::string> csv(tables.size());
    for (std::size_t k = 0; k < tables.size(); ++k) {
        check_file_name(r.schema().tables[tables[k]].name);
        out_buffer out(&csv[k]);
        dump_table(out, r, tables[k], sel[k], false, o.limit, "");
    }
    fs::create_directories(dir, ec);
    if (ec) throw tool::data_failure("cannot create the directory " + relstore::detail::printable_name(dir.string()) + ": " +
                                 ec.message());
    for (std::size_t k = 0; k < tables.size(); ++k) {
        const auto target = dir / (r.schema().tables[tables[k]].name + ".csv");
        try {
            write_snapshot_file(target, std::as_bytes(std::span<const char>(csv[k])), "CSV file");
        } catch (const snapshot_error& e) {
            throw tool::data_failure(e.what());
        }
    }
}

int cmd_dump(const std::string& file, const std::string& table, const std::string& format, const dump_options& o,
             const std::string& out_dir) {
    const bool json = format == "json";
    try {
        if (!out_dir.empty() && json) throw tool::usage_failure("--out writes CSV files: it needs --format csv");
        const auto r = open_snapshot(file);
        std::vector<std::size_t> tables;
        if (!table.empty()) {
            const auto only = r.find_table(table);
            if (!only) {
                std::vector<std::string> names;
                for (const auto& t : r.schema().tables) names.push_back(t.name);
                throw tool::usage_failure(file + " has no table '" + table + "'; its tables are: " + join(names));
            }
            tables.push_back(*only);
        } else {
            for (std::size_t i = 0; i < r.schema().tables.size(); ++i) tables.push_back(i);
        }
        // Every table's options are checked before a row is printed.
        std::vector<table_selection> sel;
        for (const auto i : tables) sel.push_back(select(r.schema().tables[i], o));
        if (!out_dir.empty()) {
            dump_to_directory(r, tables, sel, o, out_dir);
            r.check_unchanged();
            return exit_ok;
        }
        out_buffer out;
        if (!table.empty()) {
            dump_table(out, r, tables[0], sel[0], json, o.limit, "");
            if (json) out << '\n';
        } else if (json) {
            out << '{';
            for (std::size_t i = 0; i < tables.size(); ++i) {
                out << (i == 0 ? "\n  " : ",\n  ");
                json_string(out, r.schema().tables[i].name);
                out << ": ";
                dump_table(out, r, i, sel[i], json, o.limit, "  ");
            }
            out << (tables.empty() ? "}\n" : "\n}\n");
        } else {
            // Several tables do not fit one CSV; each gets a "# table NAME" line and a blank line after it.
            for (std::size_t i = 0; i < tables.size(); ++i) {
                if (i > 0) out << "\r\n";
                out << "# table " << r.schema().tables[i].name << "\r\n";
                dump_table(out, r, i, sel[i], json, o.limit, "");
            }
        }
        r.check_unchanged();
        return exit_ok;
    } catch (const tool::usage_failure& e) {
        std::cerr << "relstore: " << e.what() << '\n';
        return exit_usage;
    } catch (const tool::data_failure& e) {
        std::cerr << "relstore: " << e.what() << '\n';
        return exit_bad;
    } catch (const snapshot_error& e) {
        std::fflush(stdout);
        report_error(file, e);
        return exit_bad;
    }
}

// The tables of a snapshot and their row counts, as sqlite3's ".tables" lists names.
int cmd_tables(const std::string& file) {
    try {
        const auto r = open_snapshot(file);
        std::size_t width = 0;
        for (const auto& t : r.schema().tables) width = std::max(width, t.name.size());
        out_buffer out;
        for (std::size_t i = 0; i < r.schema().tables.size(); ++i) {
            const auto& name = r.schema().tables[i].name;
            const auto n = r.table(i).row_count;
            out << name << std::string(width - name.size() + 2, ' ') << n << (n == 1 ? " row\n" : " rows\n");
        }
        return exit_ok;
    } catch (const snapshot_error& e) {
        report_error(file, e);
        return exit_bad;
    }
}

int cmd_schema(const std::string& file, bool dot) {
    try {
        const auto r = open_snapshot(file);
        out_buffer out;
        // The library draws the graph, so this prints what schema_dot<Store>() returns.
        if (dot)
            out << schema_dot(r.schema());
        else
            print_schema_text(out, r);
        return exit_ok;
    } catch (const snapshot_error& e) {
        report_error(file, e);
        return exit_bad;
    }
}

// True when out names the existing file `in` (a typo that would replace the
// input with the output, as `cp a a` would; cp refuses it too).
bool same_file(const std::string& in, const std::string& out) {
    std::error_code ec;
    return in != "-" && fs::exists(out, ec) && fs::equivalent(in, out, ec) && !ec;
}

int cmd_export(const std::string& file, const std::string& out) {
    if (same_file(file, out)) {
        std::cerr << "relstore: --sqlite " << relstore::detail::printable_name(out)
                  << " is the snapshot being exported; write the database to another file\n";
        return exit_usage;
    }
    try {
        tool::export_sqlite(open_snapshot(file), out);
        return exit_ok;
    } catch (const tool::usage_failure& e) {
        std::cerr << "relstore: " << e.what() << '\n';
        return exit_usage;
    } catch (const tool::data_failure& e) {
        std::cerr << "relstore: export to " << out << " failed, nothing written: " << e.what() << '\n';
        return exit_bad;
    } catch (const snapshot_error& e) {
        report_error(file, e);
        return exit_bad;
    }
}

int cmd_import(const std::string& db, const std::string& schema_file, const std::string& out) {
    std::error_code ec;
    if (fs::is_directory(out, ec)) {
        std::cerr << "relstore: --out " << out << " is a directory\n";
        return exit_usage;
    }
    if (same_file(db, out)) {
        std::cerr << "relstore: --out " << relstore::detail::printable_name(out)
                  << " is the SQLite database being imported; write the snapshot to another file\n";
        return exit_usage;
    }
    std::optional<snapshot_reader> schema;
    try {
        schema.emplace(open_snapshot(schema_file));
    } catch (const snapshot_error& e) {
        report_error(schema_file, e);
        return exit_bad;
    }
    try {
        // Written only once every row converted and every constraint held.
        write_snapshot_file(out, tool::import_sqlite(db, *schema));
        return exit_ok;
    } catch (const tool::data_failure& e) {
        std::cerr << "relstore: import into " << out << " failed, nothing written: " << e.what() << '\n';
        return exit_bad;
    } catch (const snapshot_error& e) {
        std::cerr << "relstore: import into " << out << " failed: " << e.what() << '\n';
        return exit_bad;
    }
}

// ---------------------------------------------------------------------------
// relstore journal info|verify|dump FILE: the journal carries its schema (an
// empty snapshot image in its header), so records decode without the program.

struct journal_view {
    std::vector<std::byte> bytes;
    detail::journal_header header;
    schema_info schema;
    detail::record_scan scan;
};

journal_view open_journal_view(const std::string& file) {
    journal_view v;
    v.bytes = detail::read_journal_file(file);
    v.header = detail::parse_journal_header(v.bytes, file);
    v.schema = snapshot_reader(v.header.schema, file + " (schema)").schema();
    v.scan = detail::scan_records(std::span<const std::byte>(v.bytes).subspan(v.header.size), v.header.size,
                                  v.header.first_seq, 1, true);
    return v;
}

void report_journal_error(const std::string& file, const snapshot_error& e) {
    std::cerr << "relstore: " << file << " is not a sound journal\n  reason: " << e.what() << '\n';
    if (e.offset()) std::cerr << "  offset: " << *e.offset() << '\n';
}

std::string tail_text(const journal_view& v) {
    const auto left = v.bytes.size() - v.scan.end;
    switch (v.scan.tail) {
    case detail::journal_tail::clean:
        if (v.scan.zeros != 0)
            return "clean (the last record is followed by " + std::to_string(v.scan.zeros) +
                   " zero bytes the writer allocated ahead)";
        return "clean (the last record ends the file)";
    case detail::journal_tail::torn:
        return "torn at byte " + std::to_string(v.scan.end) + " (" + std::to_string(left) +
               " bytes of an interrupted write, cut off when the journal is opened): " + v.scan.problem;
    case detail::journal_tail::corrupt:
        return "DAMAGED: record " + std::to_string(v.scan.next_number) + " at byte " + std::to_string(v.scan.end) +
               ": " + v.scan.problem + "; a valid record follows, so this is not a torn write";
    }
    return "";
}

int cmd_journal_info(const std::string& file) {
    std::optional<journal_view> v;
    try {
        v.emplace(open_journal_view(file));
    } catch (const snapshot_error& e) {
        report_journal_error(file, e);
        return exit_bad;
    }
    std::uint64_t transactions = 0, marks = 0, largest = 0, inserted = 0, updated = 0, erased = 0;
    bool decoded = true;
    for (const auto& r : v->scan.records) {
        largest = std::max(largest, r.size());
        if (r.kind() != detail::record_kind::transaction) {
            ++marks;
            continue;
        }
        ++transactions;
        try {
            for (const auto& t : detail::decode_transaction(r, v->schema, file)) {
                inserted += t.inserted.size();
                updated += t.updated.size();
                erased += t.erased.size();
            }
        } catch (const snapshot_error&) {
            decoded = false;
        }
    }
    out_buffer out;
    out << "file:           " << file << '\n'
        << "size:           " << v->bytes.size() << " bytes (header " << v->header.size << ", records "
        << v->scan.end - v->header.size << ", allocated ahead " << v->scan.zeros << ")\n"
        << "format version: " << v->header.version << '\n'
        << "follows:        " << detail::to_text(v->header.follows) << '\n'
        << "schema:         " << v->schema.tables.size() << " tables, hash " << hex(v->header.schema_hash()) << '\n'
        << "records:        " << v->scan.records.size() << " (" << transactions << " transactions, " << marks
        << " checkpoint marks)";
    if (!v->scan.records.empty())
        out << ", sequence " << v->scan.records.front().seq << ".." << v->scan.records.back().seq;
    out << '\n'
        << "row changes:    " << inserted << " inserted, " << updated << " updated, " << erased << " erased"
        << (decoded ? "" : " (some records do not decode: run verify)") << '\n'
        << "largest record: " << largest << " bytes\n"
        << "tail:           " << tail_text(*v) << '\n';
    return v->scan.tail == detail::journal_tail::corrupt ? exit_bad : exit_ok;
}

int cmd_journal_verify(const std::string& file) {
    try {
        auto v = open_journal_view(file);
        if (v.scan.tail == detail::journal_tail::corrupt)
            detail::throw_journal_error(errc::checksum_mismatch, file, v.scan.next_number, v.scan.end,
                                        v.scan.problem + "; a valid record follows, so this is damage, not a torn write");
        std::uint64_t rows = 0;
        for (const auto& r : v.scan.records) {
            if (r.kind() == detail::record_kind::checkpoint) {
                (void)detail::parse_checkpoint(r, file);
                continue;
            }
            for (const auto& t : detail::decode_transaction(r, v.schema, file))
                rows += t.inserted.size() + t.updated.size() + t.erased.size();
        }
        std::cout << "ok: " << file << ": " << v.scan.records.size() << " records, " << rows << " row changes, "
                  << v.bytes.size() << " bytes, follows " << detail::to_text(v.header.follows);
        if (v.scan.tail == detail::journal_tail::torn)
            std::cout << "; torn tail at byte " << v.scan.end << " (" << v.bytes.size() - v.scan.end
                      << " bytes, cut off on open)";
        if (v.scan.zeros != 0) std::cout << "; " << v.scan.zeros << " zero bytes allocated ahead";
        std::cout << '\n';
        return exit_ok;
    } catch (const snapshot_error& e) {
        report_journal_error(file, e);
        return exit_bad;
    }
}

int cmd_journal_dump(const std::string& file) {
    try {
        const auto v = open_journal_view(file);
        out_buffer out;
        // The present cells of a row (a cell per column), in column order:
        // all of an inserted row, the key of an erased one, the key and the
        // changed columns of a version-2 update.
        const auto print_cells = [&](const table_info& t, const std::vector<value>& row,
                                     const std::vector<bool>& present) {
            out << '{';
            bool first = true;
            for (std::size_t c = 0; c < t.columns.size(); ++c) {
                if (!present[c]) continue;
                if (!first) out << ", ";
                first = false;
                json_string(out, t.columns[c].name);
                out << ": ";
                cell(out, t.columns[c], row[c], true);
            }
            out << "}\n";
        };
        for (const auto& r : v.scan.records) {
            out << "record " << r.number << " (sequence " << r.seq << ") at byte " << r.offset << ", " << r.size()
                << " bytes: ";
            if (r.kind() == detail::record_kind::checkpoint) {
                const auto m = detail::parse_checkpoint(r, file);
                out << "checkpoint: " << detail::to_text(m.snapshot) << " holds the state before byte " << m.offset
                    << " (sequence " << m.seq << ")\n";
                continue;
            }
            out << "transaction\n";
            for (const auto& t : detail::decode_transaction(r, v.schema, file)) {
                const auto& ti = v.schema.tables[t.table];
                if (t.next_key) out << "  " << ti.name << ": next key " << *t.next_key << '\n';
                // Key cells come in key order: put each at its column.
                std::vector<bool> key_present(ti.columns.size(), false);
                std::vector<std::size_t> key_column(ti.key.size());
                for (std::size_t c = 0; c < ti.columns.size(); ++c)
                    for (std::size_t i = 0; i < ti.key.size(); ++i)
                        if (ti.key[i] == ti.columns[c].name) {
                            key_present[c] = true;
                            key_column[i] = c;
                        }
                for (const auto& k : t.erased) {
                    std::vector<value> row(ti.columns.size());
                    for (std::size_t i = 0; i < ti.key.size(); ++i) row[key_column[i]] = k[i];
                    out << "  - " << ti.name << ' ';
                    print_cells(ti, row, key_present);
                }
                for (std::size_t u = 0; u < t.updated.size(); ++u) {
                    out << "  ~ " << ti.name << ' ';
                    print_cells(ti, t.updated[u], t.updated_columns[u]);
                }
                const std::vector<bool> all(ti.columns.size(), true);
                for (const auto& row : t.inserted) {
                    out << "  + " << ti.name << ' ';
                    print_cells(ti, row, all);
                }
            }
        }
        if (v.scan.tail != detail::journal_tail::clean) out << "tail: " << tail_text(v) << '\n';
        return v.scan.tail == detail::journal_tail::corrupt ? exit_bad : exit_ok;
    } catch (const snapshot_error& e) {
        std::fflush(stdout);
        report_journal_error(file, e);
        return exit_bad;
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"relstore: inspect relstore snapshot files, dump them as CSV or JSON, convert them to and from SQLite"};
    app.require_subcommand(1);
    app.set_version_flag("--version", RELSTORE_VERSION_STRING, "print relstore's version and exit");
    app.footer("A snapshot FILE argument of - reads the snapshot from standard input (journals are read from files).\n\n"
               "Exit status: 0 success (verify: the snapshot is sound); 1 the file is not a sound snapshot or "
               "journal, cannot be read, or an output cannot be written; 2 a bad command line: an unknown "
               "command or option, or a table, column or value the file does not have.\n");
    std::string file;
    std::string table;
    std::string format = "csv";
    std::string out_dir;
    dump_options dump_opts;
    bool dot = false;

    auto* info = app.add_subcommand("info", "Show a snapshot's format version, schema, row counts, size and checksum");
    info->add_option("FILE", file, "snapshot file")->required();
    auto* verify = app.add_subcommand("verify", "Check a snapshot completely, integrity included (keys, unique indexes, foreign keys, next keys), as a load does; exit status 0 only when it is sound");
    verify->add_option("FILE", file, "snapshot file")->required();
    auto* tables = app.add_subcommand("tables", "List a snapshot's tables and their row counts");
    tables->add_option("FILE", file, "snapshot file")->required();
    auto* dump = app.add_subcommand("dump", "Print a snapshot's rows as CSV (RFC 4180) or JSON, or write one CSV file per table");
    dump->add_option("FILE", file, "snapshot file")->required();
    dump->add_option("--table,-t", table, "only this table");
    dump->add_option("--format,-f", format, "csv or json")->check(CLI::IsMember({"csv", "json"}));
    dump->add_option("--limit,-n", dump_opts.limit, "at most N rows of each table");
    dump->add_option("--columns,-c", dump_opts.columns, "only these columns, in this order (a,b,c)")->delimiter(',');
    dump->add_option("--where,-w", dump_opts.where,
                     "only rows whose COLUMN equals VALUE (COLUMN=VALUE), VALUE written as dump prints it "
                     "(timestamps in ISO 8601 or as ticks, durations with or without their unit, enum names, "
                     "blobs in hex); a null equals nothing, as in SQL");
    dump->add_option("--out,-o", out_dir,
                     "write DIR/<table>.csv per table instead (CSV only; created if missing, each file replaced "
                     "crash-safely; null is an empty field, an empty string \"\")");
    auto* schema = app.add_subcommand("schema", "Print a snapshot's schema, or with --dot a Graphviz graph");
    schema->add_option("FILE", file, "snapshot file")->required();
    schema->add_flag("--dot", dot, "print the tables and foreign keys as a Graphviz digraph");

    std::string sqlite_out;
    std::string schema_file;
    auto* export_cmd = app.add_subcommand("export", "Write a snapshot as a SQLite database: a table per table with typed columns, NOT NULL, primary, foreign and unique keys, indexes, and next keys in sqlite_sequence");
    export_cmd->add_option("FILE", file, "snapshot file")->required();
    export_cmd->add_option("--sqlite", sqlite_out, "the SQLite database to write (replaced only when complete)")->required();
    auto* import_cmd = app.add_subcommand("import", "Read a SQLite database into a new snapshot with the schema of an existing one (tables and columns matched by name, values converted without loss, constraints checked as verify does)");
    import_cmd->add_option("DB", file, "SQLite database")->required();
    import_cmd->add_option("--schema", schema_file, "the snapshot whose schema the new one has")->required();
    import_cmd->add_option("--out,-o", out_dir, "the snapshot to write (replaced crash-safely, only when complete)")->required();

    auto* journal = app.add_subcommand("journal", "Inspect a journal (relstore::durable): info, verify or dump");
    journal->require_subcommand(1);
    auto* journal_info = journal->add_subcommand("info", "Show a journal's records, transactions, sizes, the snapshot it follows and where a torn tail starts");
    journal_info->add_option("FILE", file, "journal file")->required();
    auto* journal_verify = journal->add_subcommand("verify", "Check every record (framing, checksums, cells); exit status 0 when the journal opens (a torn tail is cut off then)");
    journal_verify->add_option("FILE", file, "journal file")->required();
    auto* journal_dump = journal->add_subcommand("dump", "Print every record: rows inserted (+), updated (~) and erased (-), next keys, checkpoint marks");
    journal_dump->add_option("FILE", file, "journal file")->required();

    // CLI11 reports "frobnicate x" as arguments not expected; name the command instead,
    // at each level of commands ("journal frobnicate" too).
    const CLI::App* level = &app;
    std::string path = "relstore";
    for (int i = 1; i < argc && argv[i][0] != '-' && !level->get_subcommands({}).empty(); ++i) {
        std::vector<std::string> names;
        const CLI::App* next = nullptr;
        for (const auto* sub : level->get_subcommands({})) {
            names.push_back(sub->get_name());
            if (sub->get_name() == argv[i]) next = sub;
        }
        if (next == nullptr) {
            std::cerr << "relstore: unknown command '" << (level == &app ? "" : path.substr(9) + " ") << argv[i]
                      << "'; the commands are: " << join(names) << " (" << path << " --help)\n";
            return exit_usage;
        }
        path += " " + next->get_name();
        level = next;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? exit_ok : exit_usage;
    }
    if (info->parsed()) return cmd_info(file);
    if (verify->parsed()) return cmd_verify(file);
    if (tables->parsed()) return cmd_tables(file);
    if (dump->parsed()) return cmd_dump(file, table, format, dump_opts, out_dir);
    if (schema->parsed()) return cmd_schema(file, dot);
    if (export_cmd->parsed()) return cmd_export(file, sqlite_out);
    if (import_cmd->parsed()) return cmd_import(file, schema_file, out_dir);
    if (journal_info->parsed()) return cmd_journal_info(file);
    if (journal_verify->parsed()) return cmd_journal_verify(file);
    if (journal_dump->parsed()) return cmd_journal_dump(file);
    return exit_usage;
}
