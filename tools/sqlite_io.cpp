#include "sqlite_io.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <variant>

namespace relstore::tool {

namespace fs = std::filesystem;

namespace {

struct db_closer {
    void operator()(sqlite3* db) const noexcept { sqlite3_close(db); }
};
struct stmt_finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using db_handle = std::unique_ptr<sqlite3, db_closer>;
using stmt_handle = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

[[noreturn]] void sqlite_fail(sqlite3* db, const std::string& file, const std::string& what) {
    throw data_failure(file + ": " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

db_handle open_db(const fs::path& path, int flags) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    db_handle db(raw);
    if (rc != SQLITE_OK) sqlite_fail(raw, relstore::detail::printable_name(path.string()), "cannot open the database");
    sqlite3_extended_result_codes(raw, 1);
    return db;
}

stmt_handle prepare(sqlite3* db, const std::string& file, const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr) != SQLITE_OK)
        sqlite_fail(db, file, "cannot run " + sql.substr(0, sql.find_first_of("( ", sql.find(' ') + 1)));
    return stmt_handle(raw);
}

void exec(sqlite3* db, const std::string& file, const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        const std::string msg = err != nullptr ? err : "unknown error";
        sqlite3_free(err);
        throw data_failure(file + ": " + sql.substr(0, sql.find('(')) + ": " + msg);
    }
}

// Identifiers are quoted so that any table or column name works, keywords included.
std::string quote(std::string_view name) {
    std::string s = "\"";
    for (const char c : name) {
        if (c == '"') s += '"';
        s += c;
    }
    return s + '"';
}

std::string quoted_list(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + quote(n);
    return s;
}

// SQLite's four storage classes; the relstore type stays in a comment of the
// CREATE TABLE, which sqlite3's .schema shows.
std::string_view sql_type(const column_type& t) {
    switch (t.kind) {
    case column_kind::float32:
    case column_kind::float64: return "REAL";
    case column_kind::string: return "TEXT";
    case column_kind::blob: return "BLOB";
    default: return "INTEGER";  // bool, integers, timestamp and duration ticks, enum values
    }
}

std::size_t column_of(const table_info& t, const std::string& name) {
    for (std::size_t c = 0; c < t.columns.size(); ++c)
        if (t.columns[c].name == name) return c;
    return 0;  // the reader validated the schema: every key column exists
}

// An auto key becomes INTEGER PRIMARY KEY AUTOINCREMENT, SQLite's own form of
// a key the store assigns, so that sqlite_sequence carries the next key.
bool autoincrement(const table_info& t) {
    return t.auto_key && t.key.size() == 1 && is_integer_kind(t.columns[column_of(t, t.key[0])].type.kind);
}

std::string create_table_sql(const schema_info& schema, const table_info& t) {
    const bool autoinc = autoincrement(t);
    std::string sql = "CREATE TABLE " + quote(t.name) + " (";
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        const auto& col = t.columns[c];
        column_type bare = col.type;
        bare.nullable = false;
        sql += std::string(c > 0 ? "," : "") + "\n  " + quote(col.name) + " " + std::string(sql_type(col.type));
        if (autoinc && col.name == t.key[0]) sql += " PRIMARY KEY AUTOINCREMENT";
        if (!col.type.nullable) sql += " NOT NULL";
        sql += " /* " + to_string(bare) + " */";
    }
    if (!autoinc) sql += ",\n  PRIMARY KEY (" + quoted_list(t.key) + ")";
    for (const auto& fk : t.foreign_keys) {
        // The parent is in the schema (the reader validated it); its key is what the columns reference.
        const auto parent = std::find_if(schema.tables.begin(), schema.tables.end(),
                                         [&](const table_info& p) { return p.name == fk.parent_table; });
        sql += ",\n  FOREIGN KEY (" + quoted_list(fk.columns) + ") REFERENCES " + quote(fk.parent_table) + " (" +
               quoted_list(parent->key) + ")";
        sql += " ON DELETE ";
        sql += fk.action == on_delete::cascade ? "CASCADE" : fk.action == on_delete::set_null ? "SET NULL" : "RESTRICT";
    }
    return sql + "\n)";
}

struct sql_index {
    bool unique;
    std::vector<std::string> columns;
};

// The schema's indexes, then an index per foreign key that none covers
// (relstore walks a foreign key through its index; SQLite needs one too to
// apply ON DELETE without scanning). A one-to-one foreign key's is unique.
std::vector<sql_index> indexes_of(const table_info& t) {
    std::vector<sql_index> out;
    for (const auto& ix : t.indexes)
        out.push_back({ix.kind == index_kind::hashed_unique || ix.kind == index_kind::ordered_unique, ix.columns});
    for (const auto& fk : t.foreign_keys) {
        // SQLite finds a foreign key's rows through any index it leads; a unique one needs its own.
        const auto leads = [&](const std::vector<std::string>& columns) {
            return columns.size() >= fk.columns.size() &&
                   std::equal(fk.columns.begin(), fk.columns.end(), columns.begin());
        };
        const bool covered = std::any_of(out.begin(), out.end(), [&](const sql_index& i) {
            return fk.unique ? i.unique && i.columns == fk.columns : leads(i.columns);
        }) || (fk.unique ? fk.columns == t.key : leads(t.key));
        if (!covered) out.push_back({fk.unique, fk.columns});
    }
    return out;
}

std::string value_text(const value& v, const column_type& t) {
    if (const auto* d = std::get_if<double>(&v); d != nullptr && std::isnan(*d)) return "NaN";  // not "nan"
    return detail::display_cell(v, t);
}

std::string row_text(const table_info& t, const std::vector<value>& row, std::uint64_t number) {
    std::vector<value> key;
    for (const auto& k : t.key) key.push_back(row[column_of(t, k)]);
    return "row " + std::to_string(number) + " (" + detail::column_names_text(t.key) + " = " +
           detail::display_values(key) + ")";
}

void bind(sqlite3_stmt* s, int i, const value& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>) sqlite3_bind_null(s, i);
            else if constexpr (std::is_same_v<T, bool>) sqlite3_bind_int64(s, i, x ? 1 : 0);
            else if constexpr (std::is_same_v<T, std::int64_t>) sqlite3_bind_int64(s, i, x);
            else if constexpr (std::is_same_v<T, std::uint64_t>) sqlite3_bind_int64(s, i, static_cast<std::int64_t>(x));
            else if constexpr (std::is_same_v<T, double>) sqlite3_bind_double(s, i, x);
            // A null pointer would bind NULL: an empty string or blob is not null.
            else if constexpr (std::is_same_v<T, std::string>)
                sqlite3_bind_text64(s, i, x.empty() ? "" : x.data(), x.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
            else if (x.empty()) sqlite3_bind_zeroblob(s, i, 0);
            else sqlite3_bind_blob64(s, i, x.data(), x.size(), SQLITE_TRANSIENT);
        },
        v);
}

void fill_database(sqlite3* db, const std::string& file, const snapshot_reader& r) {
    exec(db, file, "PRAGMA journal_mode = OFF");  // in memory, and a failure throws the whole database away
    exec(db, file, "BEGIN");
    const auto& tables = r.schema().tables;
    for (const auto& t : tables) {
        exec(db, file, create_table_sql(r.schema(), t));
        std::set<std::string> names;
        for (const auto& ix : indexes_of(t)) {
            std::string base = t.name;
            for (const auto& c : ix.columns) base += "_" + c;
            std::string name = base;
            for (int n = 2; !names.insert(name).second; ++n) name = base + "_" + std::to_string(n);
            exec(db, file,
                 std::string(ix.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") + quote(name) + " ON " +
                     quote(t.name) + " (" + quoted_list(ix.columns) + ")");
        }
    }
    for (std::size_t ti = 0; ti < tables.size(); ++ti) {
        const auto& t = tables[ti];
        std::string sql = "INSERT INTO " + quote(t.name) + " VALUES (";
        for (std::size_t c = 0; c < t.columns.size(); ++c) sql += c > 0 ? ", ?" : "?";
        const auto insert = prepare(db, file, sql + ")");
        auto cur = r.rows(ti);
        std::vector<value> row(t.columns.size());
        const auto rows = r.table(ti).row_count;
        for (std::uint64_t n = 1; n <= rows; ++n) {
            for (std::size_t c = 0; c < t.columns.size(); ++c) row[c] = cur.get_value(t.columns[c].type);
            for (std::size_t c = 0; c < t.columns.size(); ++c) {
                const auto& v = row[c];
                const char* problem = nullptr;
                if (const auto* u = std::get_if<std::uint64_t>(&v);
                    u != nullptr && *u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                    problem = "does not fit SQLite's INTEGER (signed 64-bit)";
                else if (const auto* d = std::get_if<double>(&v); d != nullptr && std::isnan(*d))
                    problem = "cannot be stored: SQLite stores NaN as NULL";
                else if (d != nullptr && *d == 0 && std::signbit(*d))
                    problem = "cannot be stored: SQLite stores -0 as 0";
                if (problem != nullptr)
                    throw data_failure("table '" + t.name + "', column '" + t.columns[c].name + "', " +
                                       row_text(t, row, n) + ": " + value_text(v, t.columns[c].type) + " " + problem);
                bind(insert.get(), static_cast<int>(c + 1), v);
            }
            if (sqlite3_step(insert.get()) != SQLITE_DONE)
                sqlite_fail(db, file, "table '" + t.name + "', " + row_text(t, row, n));
            sqlite3_reset(insert.get());
        }
        cur.finish();
        if (autoincrement(t)) {
            const auto next = r.table(ti).next_auto_key;
            if (next == 0 || next - 1 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                throw data_failure("table '" + t.name + "': next key " + std::to_string(next) +
                                   " does not fit sqlite_sequence");
            // The inserts made SQLite's own row (the largest key); the store's next key replaces it.
            const auto seq = prepare(db, file, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)");
            const auto del = prepare(db, file, "DELETE FROM sqlite_sequence WHERE name = ?");
            sqlite3_bind_text64(del.get(), 1, t.name.data(), t.name.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
            if (sqlite3_step(del.get()) != SQLITE_DONE) sqlite_fail(db, file, "sqlite_sequence");
            sqlite3_bind_text64(seq.get(), 1, t.name.data(), t.name.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
            sqlite3_bind_int64(seq.get(), 2, static_cast<std::int64_t>(next - 1));
            if (sqlite3_step(seq.get()) != SQLITE_DONE) sqlite_fail(db, file, "sqlite_sequence");
        }
    }
    exec(db, file, "COMMIT");
}

}  // namespace

void export_sqlite(const snapshot_reader& r, const fs::path& out) {
    std::error_code ec;
    const std::string file = relstore::detail::printable_name(out.string());  // as messages show it
    if (fs::is_directory(out, ec)) throw usage_failure("--sqlite " + file + " is a directory");
    // The database is built in memory and its file image written as a
    // snapshot is (temporary file, fsync, rename), so a failed or killed
    // export leaves the old file whole and no half-written database; the
    // cost is memory of about the database's size.
    const auto db = open_db(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY);
    fill_database(db.get(), file, r);
    r.check_unchanged();  // the rows exported are those the checksum covered
    sqlite3_int64 size = 0;
    const std::unique_ptr<unsigned char, decltype(&sqlite3_free)> image(sqlite3_serialize(db.get(), "main", &size, 0),
                                                                        &sqlite3_free);
    if (!image) sqlite_fail(db.get(), file, "serializing the database");
    try {
        write_snapshot_file(out, {reinterpret_cast<const std::byte*>(image.get()), static_cast<std::size_t>(size)},
                            "SQLite database");
    } catch (const snapshot_error& e) {
        throw data_failure(e.what());
    }
}

namespace {

/// The bytes a cell takes in a snapshot (a nullable cell's presence byte included).
std::uint64_t cell_size(const column_type& type, const value& v) {
    if (type.nullable && std::holds_alternative<std::monostate>(v)) return 1;
    column_type inner = type;
    inner.nullable = false;
    std::uint64_t n = (type.nullable ? 1 : 0) + detail::min_encoded_size(inner);
    if (const auto* str = std::get_if<std::string>(&v)) n += str->size();
    if (const auto* b = std::get_if<blob_value>(&v)) n += b->size();
    return n;
}

/// Reorders rows (in key order) as a program's save writes them when a load
/// groups them by a foreign key (relstore::detail::group_rows_as_loaded, on
/// the same conditions: docs/snapshot-format.md): the first one-to-many key
/// on one integer column; rows with a null key first, then by its value,
/// ascending, in key order within each value.
void group_as_loaded(const table_info& t, std::vector<std::vector<value>>& rows) {
    const auto fk = std::find_if(t.foreign_keys.begin(), t.foreign_keys.end(), [&](const foreign_key_info& f) {
        if (f.unique || f.columns.size() != 1) return false;
        const auto kind = t.columns[column_of(t, f.columns[0])].type.kind;
        return kind >= column_kind::int8 && kind <= column_kind::uint64;
    });
    if (fk == t.foreign_keys.end() || rows.empty()) return;
    std::uint64_t bytes = 0;
    for (const auto& r : rows)
        for (std::size_t c = 0; c < t.columns.size(); ++c) bytes += cell_size(t.columns[c].type, r[c]);
    if (!detail::grouping_limits::applies(rows.size(), bytes)) return;
    const std::size_t col = column_of(t, fk->columns[0]);
    // Every integer cell is an int64 or a uint64; a column holds one of them.
    const auto bits = [&](const value& v) -> std::optional<std::uint64_t> {
        if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<std::uint64_t>(*i);
        if (const auto* u = std::get_if<std::uint64_t>(&v)) return *u;
        return std::nullopt;
    };
    const bool is_signed = t.columns[col].type.kind <= column_kind::int64;
    // Ordered as the values: a signed one's bits with the sign bit flipped.
    const auto rank = [&](std::uint64_t b) { return is_signed ? b ^ (std::uint64_t{1} << 63) : b; };
    std::uint64_t lo = std::numeric_limits<std::uint64_t>::max(), hi = 0, with_value = 0;
    for (const auto& r : rows)
        if (const auto b = bits(r[col])) {
            lo = std::min(lo, rank(*b));
            hi = std::max(hi, rank(*b));
            ++with_value;
        }
    if (with_value == 0 || hi - lo >= with_value) return;  // too sparse: the load keeps file order
    std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
        const auto va = bits(a[col]), vb = bits(b[col]);
        if (!va || !vb) return !va && vb.has_value();  // nulls first
        return rank(*va) < rank(*vb);
    });
}

std::string sqlite_text(sqlite3_stmt* s, int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

// A SQLite cell as messages show it: SQL literal syntax, so a string's quotes show.
std::string sqlite_literal(sqlite3_stmt* s, int i) {
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: return std::to_string(sqlite3_column_int64(s, i));
    case SQLITE_FLOAT: return detail::display_value(value{sqlite3_column_double(s, i)});
    case SQLITE_TEXT: return detail::display_value(value{sqlite_text(s, i)});
    default: {
        const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(s, i));
        return detail::display_value(value{blob_value(p, p + sqlite3_column_bytes(s, i))});
    }
    }
}

std::string_view storage_class(int type) {
    switch (type) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "REAL";
    case SQLITE_TEXT: return "TEXT";
    default: return "BLOB";
    }
}

// d as a cell of a float32 or float64 column, or nullopt when a float32 cannot hold it exactly.
std::optional<value> convert_double(const column_type& t, double d) {
    if (t.kind == column_kind::float32 && !std::isinf(d) &&
        (std::fabs(d) > std::numeric_limits<float>::max() || static_cast<double>(static_cast<float>(d)) != d))
        return std::nullopt;
    return value{d};
}

// The cell of type t that SQLite's cell i holds, or nullopt when it does not
// hold one exactly.
std::optional<value> convert(const column_type& t, sqlite3_stmt* s, int i) {
    const int type = sqlite3_column_type(s, i);
    if (type == SQLITE_NULL) return t.nullable ? std::optional<value>(value{}) : std::nullopt;
    const bool number = t.kind == column_kind::float32 || t.kind == column_kind::float64;
    if (t.kind == column_kind::string) {
        if (type != SQLITE_TEXT) return std::nullopt;
        return value{sqlite_text(s, i)};
    }
    if (t.kind == column_kind::blob) {
        if (type != SQLITE_BLOB) return std::nullopt;
        const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(s, i));
        return value{blob_value(p, p + sqlite3_column_bytes(s, i))};
    }
    if (type == SQLITE_BLOB) return std::nullopt;
    if (type == SQLITE_TEXT) {
        // Text where a number belongs is what a person typed: read as --where reads it
        // (an enum's name, an ISO 8601 timestamp, "true"); a number as float64, so
        // that the float32 check below sees it before any rounding.
        try {
            auto v = parse_cell(number ? column_type(column_kind::float64) : t, sqlite_text(s, i));
            if (!number) return v;
            return convert_double(t, std::get<double>(v));
        } catch (const usage_failure&) {
            return std::nullopt;
        }
    }
    if (number) {
        double d = 0;
        if (type == SQLITE_INTEGER) {
            const auto n = sqlite3_column_int64(s, i);
            d = static_cast<double>(n);
            // 2^63 does not convert back; any other double in range does, exactly or not.
            if (d >= 9223372036854775808.0 || static_cast<std::int64_t>(d) != n) return std::nullopt;
        } else {
            d = sqlite3_column_double(s, i);
        }
        return convert_double(t, d);
    }
    std::int64_t n = 0;
    if (type == SQLITE_FLOAT) {
        const double d = sqlite3_column_double(s, i);
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || std::trunc(d) != d) return std::nullopt;
        n = static_cast<std::int64_t>(d);
    } else {
        n = sqlite3_column_int64(s, i);
    }
    if (t.kind == column_kind::boolean) {
        if (n != 0 && n != 1) return std::nullopt;
        return value{n == 1};
    }
    return integer_cell(*integer_rep(t), n);
}

std::vector<std::string> sqlite_tables(sqlite3* db, const std::string& file) {
    const auto q = prepare(db, file,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                           "ESCAPE '\\' ORDER BY name");
    std::vector<std::string> names;
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) names.push_back(sqlite_text(q.get(), 0));
    if (rc != SQLITE_DONE) sqlite_fail(db, file, "reading its tables");
    return names;
}

std::vector<std::string> sqlite_columns(sqlite3* db, const std::string& file, const std::string& table) {
    const auto q = prepare(db, file, "PRAGMA table_info(" + quote(table) + ")");
    std::vector<std::string> names;
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) names.push_back(sqlite_text(q.get(), 1));
    if (rc != SQLITE_DONE) sqlite_fail(db, file, "reading the columns of table '" + table + "'");
    return names;
}

std::string join_names(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& n : v) s += (s.empty() ? "" : ", ") + n;
    return s;
}

}  // namespace

std::vector<std::byte> import_sqlite(const fs::path& path, const snapshot_reader& source) {
    const std::string file = relstore::detail::printable_name(path.string());  // as messages show it
    std::error_code ec;
    if (!fs::exists(path, ec)) throw data_failure(file + ": no such file");
    if (!fs::is_regular_file(path, ec)) throw data_failure(file + ": not a regular file");
    const auto db = open_db(path, SQLITE_OPEN_READONLY);
    const auto& schema = source.schema();
    const std::string from = "the schema of " + source.name();

    const auto in_db = sqlite_tables(db.get(), file);
    for (const auto& t : schema.tables)
        if (std::find(in_db.begin(), in_db.end(), t.name) == in_db.end())
            throw data_failure(file + " has no table '" + t.name + "', which " + from + " has");
    for (const auto& name : in_db)
        if (!source.find_table(name))
            throw data_failure(file + " has a table '" + name + "' that " + from +
                               " lacks; an import leaves nothing out silently");
    bool has_sequence = false;
    {
        const auto q = prepare(db.get(), file, "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'");
        has_sequence = sqlite3_step(q.get()) == SQLITE_ROW;
    }

    snapshot_writer w(schema);
    for (std::size_t ti = 0; ti < schema.tables.size(); ++ti) {
        const auto& t = schema.tables[ti];
        const auto cols = sqlite_columns(db.get(), file, t.name);
        for (const auto& c : t.columns)
            if (std::find(cols.begin(), cols.end(), c.name) == cols.end())
                throw data_failure(file + ": table '" + t.name + "' has no column '" + c.name + "', which " + from +
                                   " has");
        for (const auto& c : cols)
            if (std::none_of(t.columns.begin(), t.columns.end(), [&](const column_info& ci) { return ci.name == c; }))
                throw data_failure(file + ": table '" + t.name + "' has a column '" + c + "' that " + from +
                                   " lacks; its columns are: " + join_names([&] {
                                       std::vector<std::string> n;
                                       for (const auto& ci : t.columns) n.push_back(ci.name);
                                       return n;
                                   }()));
        std::string sql = "SELECT rowid";
        for (const auto& c : t.columns) sql += ", " + quote(c.name);
        const auto q = prepare(db.get(), file, sql + " FROM " + quote(t.name) + " ORDER BY rowid");
        std::vector<std::vector<value>> rows;
        int rc;
        while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
            std::vector<value> row;
            row.reserve(t.columns.size());
            for (std::size_t c = 0; c < t.columns.size(); ++c) {
                const int i = static_cast<int>(c + 1);
                auto v = convert(t.columns[c].type, q.get(), i);
                if (!v) {
                    column_type bare = t.columns[c].type;
                    bare.nullable = false;
                    throw data_failure(file + ": table '" + t.name + "', column '" + t.columns[c].name +
                                       "', rowid " + std::to_string(sqlite3_column_int64(q.get(), 0)) + ": " +
                                       sqlite_literal(q.get(), i) + " (" +
                                       std::string(storage_class(sqlite3_column_type(q.get(), i))) +
                                       ") does not convert without loss to " + to_string(t.columns[c].type) +
                                       (sqlite3_column_type(q.get(), i) == SQLITE_NULL ? ", which is not nullable"
                                                                                        : ""));
                }
                row.push_back(std::move(*v));
            }
            rows.push_back(std::move(row));
        }
        if (rc != SQLITE_DONE) sqlite_fail(db.get(), file, "reading table '" + t.name + "'");

        // The order a program's save writes: key order, or grouped as a load
        // inserts the rows; so that a snapshot exported and imported again
        // gives the same bytes.
        std::vector<std::size_t> key;
        for (const auto& k : t.key) key.push_back(column_of(t, k));
        std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
            for (const auto k : key) {
                if (a[k] < b[k]) return true;
                if (b[k] < a[k]) return false;
            }
            return false;
        });
        group_as_loaded(t, rows);

        std::uint64_t next = 0;
        if (t.auto_key) {
            next = 1;
            std::optional<std::int64_t> seq;
            if (has_sequence) {
                const auto s = prepare(db.get(), file, "SELECT seq FROM sqlite_sequence WHERE name = ?");
                sqlite3_bind_text64(s.get(), 1, t.name.data(), t.name.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
                if (sqlite3_step(s.get()) == SQLITE_ROW) seq = sqlite3_column_int64(s.get(), 0);
            }
            if (seq && *seq >= 0) {
                next = static_cast<std::uint64_t>(*seq) + 1;
            } else if (!rows.empty()) {
                // Without sqlite_sequence, the store would hand out the key after the largest.
                std::visit(
                    [&](const auto& k) {
                        using K = std::decay_t<decltype(k)>;
                        if constexpr (std::is_same_v<K, std::int64_t> || std::is_same_v<K, std::uint64_t>)
                            next = static_cast<std::uint64_t>(k) + 1;
                    },
                    rows.back()[key[0]]);
            }
        }
        w.begin_table(ti);
        for (std::size_t n = 0; n < rows.size(); ++n) {
            try {
                w.put_row(rows[n]);
            } catch (const error& e) {
                throw data_failure(file + ": table '" + t.name + "', " + row_text(t, rows[n], n + 1) + ": " + e.what());
            }
        }
        w.end_table(rows.size(), next);
    }
    const auto bytes = w.finish();
    std::vector<std::byte> image(bytes.begin(), bytes.end());
    // The checks of relstore verify and load, over the new rows.
    try {
        snapshot_reader(image, path.string()).check_integrity();
    } catch (const snapshot_error& e) {
        std::string msg = e.what();
        // Byte offsets into an image never written mean nothing to the reader of the message.
        if (const auto at = msg.find(": table '"); at != std::string::npos) msg = msg.substr(at + 2);
        throw data_failure(file + " breaks a constraint of " + from + ": " + msg);
    }
    return image;
}

}  // namespace relstore::tool
