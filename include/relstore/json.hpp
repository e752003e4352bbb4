#pragma once
/// @file json.hpp
/// A store, or one table, as JSON and back (opt-in: not part of relstore.hpp;
/// reading needs nlohmann-json, `find_package(nlohmann_json 3)` and
/// nlohmann_json::nlohmann_json). Both directions stream: write_json writes
/// row by row from a read scope, read_json inserts each row as soon as it is
/// parsed, so neither holds the whole store as JSON.
///
///     relstore::write_json(db.read(), out);            // {"users": [{...}, ...], "posts": [...]}
///     relstore::write_json<users>(db.read(), out);     // [{"id": 1, "name": "Ann"}, ...]
///     auto tx = db.write();
///     relstore::read_json(tx, in);                     // inserts every row, all or nothing
///     tx.commit();
///
/// A row is an object with one member per column, named as RELSTORE_FIELDS
/// names it. Values: integers and finite floats as JSON numbers (the
/// shortest text that reads back exactly), NaN and infinities as the strings
/// "NaN", "Infinity", "-Infinity"; bool as true/false; strings as JSON
/// strings (UTF-8); null for an empty std::optional; a blob as a string of
/// lowercase hex digits; a sys_time or duration as its integer count of
/// ticks (the column's type gives the unit, so nothing is rounded); an enum
/// described by RELSTORE_ENUM by the name of its value (a value without a
/// name as its integer), another enum as its integer; a column_traits type
/// as its stored value.

#include <relstore/detail/io.hpp>
#include <relstore/error.hpp>
#include <relstore/fields.hpp>
#include <relstore/store.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <exception>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

namespace relstore {

namespace detail {

/// Appends s as a JSON string; false when s is not UTF-8, which JSON cannot
/// carry (replacing bytes would silently change the value read back).
inline bool append_json_string(std::string& out, std::string_view s) {
    constexpr char hex[] = "0123456789abcdef";
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(s.substr(i));
            if (n == 0) return false;
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xF];
            } else {
                out += static_cast<char>(c);
            }
        }
        ++i;
    }
    out += '"';
    return true;
}

/// Appends a cell as JSON; false when it holds a string that is not UTF-8.
template <class V>
bool append_json_cell(std::string& out, const V& v) {
    if constexpr (is_optional_v<V>) {
        if (!v) {
            out += "null";
            return true;
        }
        return append_json_cell(out, *v);
    } else if constexpr (user_column<V>) {
        return append_json_cell(out, column_traits<V>::to_stored(v));
    } else if constexpr (std::is_same_v<V, std::string>) {
        return append_json_string(out, v);
    } else if constexpr (std::is_same_v<V, bool> || is_integer_v<V> || is_time_point<V>::value ||
                         is_duration<V>::value) {
        append_cell_text(out, v);
    } else if constexpr (std::is_floating_point_v<V>) {
        const bool quoted = !std::isfinite(v);
        if (quoted) out += '"';
        append_cell_text(out, v);
        if (quoted) out += '"';
        // JSON readers take -0 for the integer 0; -0.0 keeps the sign.
        if (v == 0 && std::signbit(v)) out += ".0";
    } else if constexpr (std::is_enum_v<V>) {
        const std::size_t at = out.size();
        append_cell_text(out, v);
        const char first = out[at];
        if (first != '-' && (first < '0' || first > '9')) {  // a name: quote it
            out.insert(at, 1, '"');
            out += '"';
        }
    } else {  // a blob
        out += '"';
        append_cell_text(out, v);
        out += '"';
    }
    return true;
}

/// What a JSON value looks like in a message: its text, cut after 64 bytes.
inline std::string json_shown(const nlohmann::json& j) {
    std::string d = j.dump();
    if (d.size() > display_limit) d = d.substr(0, display_limit) + "\xE2\x80\xA6";
    return d;
}

/// Reads a JSON value into a cell; returns why it could not (empty on success).
template <class V>
std::string cell_from_json(const nlohmann::json& j, V& v) {
    if constexpr (is_optional_v<V>) {
        if (j.is_null()) {
            v.reset();
            return {};
        }
        typename V::value_type x{};
        auto why = cell_from_json(j, x);
        if (why.empty()) v = std::move(x);
        return why;
    } else {
        if (j.is_null()) return "null in a column that is not nullable (" + type_name<V>() + ")";
        if constexpr (user_column<V>) {
            typename column_traits<V>::stored_type stored{};
            if (auto why = cell_from_json(j, stored); !why.empty()) return why;
            try {
                v = column_traits<V>::from_stored(stored);
            } catch (const std::exception& e) {
                return json_shown(j) + " is refused by its column_traits: " + e.what();
            }
            return {};
        } else if constexpr (std::is_same_v<V, std::string>) {
            if (!j.is_string()) return json_shown(j) + " is not a string";
            v = j.get_ref<const std::string&>();
            return {};
        } else if constexpr (std::is_same_v<V, bool>) {
            if (!j.is_boolean()) return json_shown(j) + " is not a bool (true or false)";
            v = j.get<bool>();
            return {};
        } else {
            if (j.is_string()) return parse_cell_text(j.get_ref<const std::string&>(), v);
            if constexpr (!std::is_same_v<V, blob_type>) {
                // nlohmann writes a number back exactly (integers as they
                // were, doubles at round-trip precision), so its text is
                // what the column's own parser checks for range and type.
                if (j.is_number()) return parse_cell_text(j.dump(), v, false);
            }
            return json_shown(j) + " is not a value of type " + type_name<V>();
        }
    }
}

/// Decodes one row object of table T and inserts it through tx.
template <class T, class Store>
void insert_json_row(transaction<Store>& tx, const nlohmann::json& obj, std::size_t index) {
    using Row = typename T::row_type;
    const std::string where = row_at(index);
    if (!obj.is_object()) input_fail("json", T::name, {}, where, json_shown(obj) + " is not an object");
    Row row{};
    std::size_t seen = 0;
    for_each_field<Row>([&](const auto& f) {
        const auto it = obj.find(std::string(f.name));
        if (it == obj.end()) input_fail("json", T::name, f.name, where, "the column is missing");
        ++seen;
        if (auto why = cell_from_json(*it, row.*f.member); !why.empty()) input_fail("json", T::name, f.name, where, why);
    });
    if (seen != obj.size()) {
        for (auto it = obj.begin(); it != obj.end(); ++it) {
            bool known = false;
            for_each_field<Row>([&](const auto& f) { known = known || f.name == it.key(); });
            if (!known) input_fail("json", T::name, it.key(), where, "no such column in the table");
        }
    }
    try {
        tx.template insert<T>(std::move(row));
    } catch (const constraint_error& e) {
        rethrow_located(e, "json", where);
    }
}

/// The names of Store's tables, for a message about one it does not have.
template <class Store>
std::string table_names() {
    std::string out;
    Store::for_each_table([&]<class T>(T*) { out += (out.empty() ? "" : ", ") + std::string(T::name); });
    return out;
}

/// Writes T's rows as a JSON array, one row per line after `indent`.
template <class T, class Store>
void write_json_rows(const reader<Store>& q, std::ostream& os, std::string_view indent) {
    using Row = typename T::row_type;
    std::string line;
    bool first = true;
    os << '[';
    for_each_row_parents_first<T>(q, [&](const Row& row) {
        line.clear();
        line += first ? "\n" : ",\n";
        line += indent;
        line += "  {";
        bool first_field = true;
        for_each_field<Row>([&](const auto& f) {
            if (!first_field) line += ", ";
            first_field = false;
            append_json_string(line, f.name);
            line += ": ";
            if (!append_json_cell(line, row.*f.member))
                input_fail("json", T::name, f.name, "the row " + display(table_state<T>::key_of(row)),
                           "a string that is not UTF-8 cannot be written as JSON (a blob column holds bytes)");
        });
        line += '}';
        os.write(line.data(), static_cast<std::streamsize>(line.size()));
        first = false;
    });
    if (!first) os << '\n' << indent;
    os << ']';
}

[[noreturn]] inline void json_stream_failed() {
    throw error(errc::io, "json: the output stream failed");
}

/// Parses is with nlohmann's callback parser, which hands over each row
/// object as it ends; on_row inserts it and the parser then drops it, so
/// only one row is in memory. row_depth is the depth of row objects.
template <class OnTable, class OnRow>
void parse_json_rows(std::istream& is, bool whole_store, OnTable&& on_table, OnRow&& on_row) {
    using json = nlohmann::json;
    using event = json::parse_event_t;
    const int row_depth = whole_store ? 2 : 1;
    try {
        // What is left of the document once every row was dropped.
        [[maybe_unused]] const json skeleton = json::parse(is, [&](int depth, event e, json& parsed) {
            if (depth == 0 && whole_store && e != event::object_start && e != event::object_end)
                input_fail("json", {}, {}, {}, "expected an object with one array of rows per table");
            if (depth == 0 && !whole_store && e != event::array_start && e != event::array_end)
                input_fail("json", {}, {}, {}, "expected an array of rows");
            if (whole_store && depth == 1) {
                if (e == event::key) on_table(parsed.get_ref<const std::string&>());
                if (e == event::value || e == event::object_start)
                    input_fail("json", {}, {}, {}, "expected an array of rows for each table");
            }
            if (depth == row_depth && (e == event::value || e == event::array_start))
                on_row(parsed);  // not an object: on_row says so
            if (depth == row_depth && e == event::object_end) {
                on_row(parsed);
                return false;
            }
            return true;
        });
    } catch (const json::exception& e) {
        input_fail("json", {}, {}, {}, e.what());
    }
}

}  // namespace detail

/// Writes every table of the store as q sees it: an object with one member
/// per table, an array of row objects, parents before children (tables that
/// a foreign key references first; in a self-referencing table, a row after
/// the row it references) so that read_json can insert them in that order.
/// @throws input_error for a string column holding bytes that are not UTF-8
/// (naming the table, column and key); error (io) when the stream fails.
template <class... Tables>
void write_json(const reader<store<Tables...>>& q, std::ostream& os) {
    // store<Tables...> in the parameter, not a Store: write_json<users>(q, os)
    // then fails deduction here at once, where clang 14 would instantiate
    // reader<users> to try a conversion before checking a constraint.
    using Store = store<Tables...>;
    os << '{';
    bool first = true;
    detail::for_each_table_parents_first<Store>([&]<class T>(T*) {
        os << (first ? "\n  " : ",\n  ");
        first = false;
        std::string name;
        detail::append_json_string(name, T::name);
        os << name << ": ";
        detail::write_json_rows<T>(q, os, "  ");
    });
    os << (first ? "}\n" : "\n}\n");
    if (!os) detail::json_stream_failed();
}

/// Writes table T as a JSON array of row objects (see write_json(q, os)).
template <class T, class Store>
    requires Store::template has_table<T>
void write_json(const reader<Store>& q, std::ostream& os) {
    detail::write_json_rows<T>(q, os, "");
    os << '\n';
    if (!os) detail::json_stream_failed();
}

/// Reads what write_json(q, os) writes and inserts every row through tx,
/// table by table in the document's order, so every key, unique, foreign
/// key and check applies to each row. A table's rows may be left out; a
/// referenced row must come before the rows that reference it (as
/// write_json writes them). Keys are inserted as given; an auto key of 0
/// gets the next key. A store's next auto key is not in JSON: after rows
/// were erased, keys above the largest read may be given again. The rows go
/// in through a savepoint: if anything fails, tx is as before the call (and
/// the store unchanged until tx commits), and the caller decides whether to
/// go on or roll back. Returns the number of rows inserted.
/// @throws input_error (errc::bad_input) for malformed JSON, an unknown
/// table, a row that is not an object, a missing or unknown column or a
/// value its column cannot hold, naming the table, row (counted from 0 in
/// its table), column and value; constraint_error as insert throws it,
/// with the table and row before the store's message.
template <class... Tables>
std::size_t read_json(transaction<store<Tables...>>& tx, std::istream& is) {
    using Store = store<Tables...>;
    auto sp = tx.savepoint();
    std::size_t table = static_cast<std::size_t>(-1), index = 0, total = 0;
    std::string table_name;
    detail::parse_json_rows(
        is, true,
        [&](const std::string& name) {
            table = static_cast<std::size_t>(-1);
            std::size_t i = 0;
            Store::for_each_table([&]<class T>(T*) {
                if (T::name == name) table = i;
                ++i;
            });
            if (table == static_cast<std::size_t>(-1))
                detail::input_fail("json", name, {}, {},
                                   "the store has no such table; its tables are: " + detail::table_names<Store>());
            table_name = name;
            index = 0;
        },
        [&](const nlohmann::json& row) {
            std::size_t i = 0;
            Store::for_each_table([&]<class T>(T*) {
                if (i++ == table) detail::insert_json_row<T>(tx, row, index);
            });
            ++index;
            ++total;
        });
    sp.release();
    return total;
}

/// Reads what write_json<T>(q, os) writes, an array of T's rows, and inserts
/// them through tx (see read_json(tx, is)). Returns the number of rows.
template <class T, class Store>
    requires Store::template has_table<T>
std::size_t read_json(transaction<Store>& tx, std::istream& is) {
    auto sp = tx.savepoint();
    std::size_t index = 0;
    detail::parse_json_rows(
        is, false, [](const std::string&) {},
        [&](const nlohmann::json& row) { detail::insert_json_row<T>(tx, row, index++); });
    sp.release();
    return index;
}

}  // namespace relstore
