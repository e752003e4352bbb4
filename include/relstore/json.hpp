#pragma once
/// @file json.hpp
/// A store, or one table, as JSON and back (opt-in: not part of relstore.hpp;
/// the header includes nlohmann-json: `find_package(nlohmann_json 3)` and
/// link nlohmann_json::nlohmann_json). Both directions stream: write_json
/// writes row by row from a read scope, read_json parses with nlohmann's SAX
/// interface and inserts each row as soon as its object ends, so neither
/// holds the whole store as JSON.
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

#include <array>
#include <cmath>
#include <cstddef>
#include <exception>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

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
    } else if constexpr (is_string_column_v<V>) {
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
        } else if constexpr (is_string_column_v<V>) {
            if (!j.is_string()) return json_shown(j) + " is not a string";
            v = j.get_ref<const std::string&>();
            return {};
        } else if constexpr (std::is_same_v<V, bool>) {
            if (!j.is_boolean()) return json_shown(j) + " is not a bool (true or false)";
            v = j.get<bool>();
            return {};
        } else {
            // The common numbers directly; the rest (out of range, floats for
            // integers, float columns) through the text, which names them.
            const auto integer = [&]<class I>(I& out) {
                if (j.is_number_unsigned()) {
                    const auto u = j.get<std::uint64_t>();
                    if (!std::in_range<I>(u)) return false;
                    out = static_cast<I>(u);
                    return true;
                }
                if (j.is_number_integer()) {
                    const auto i = j.get<std::int64_t>();
                    if (!std::in_range<I>(i)) return false;
                    out = static_cast<I>(i);
                    return true;
                }
                return false;
            };
            if constexpr (is_integer_v<V>) {
                if (integer(v)) return {};
            } else if constexpr (is_duration<V>::value || is_time_point<V>::value) {
                typename V::rep count{};
                if (integer(count)) {
                    if constexpr (is_time_point<V>::value)
                        v = V(typename V::duration(count));
                    else
                        v = V(count);
                    return {};
                }
            } else if constexpr (std::is_same_v<V, double>) {
                if (j.is_number()) {
                    v = j.get<double>();  // nlohmann's own parse of the text: correctly rounded
                    return {};
                }
            }
            if (j.is_string()) return parse_cell_text(j.get_ref<const std::string&>(), v);
            if constexpr (!is_blob_column_v<V>) {
                // nlohmann writes a number back exactly (integers as they
                // were, doubles at round-trip precision), so its text is
                // what the column's own parser checks for range and type.
                if (j.is_number()) return parse_cell_text(j.dump(), v, false);
            }
            return json_shown(j) + " is not a value of type " + type_name<V>();
        }
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

/// The row of table T being read, and which of its columns were given.
template <class T>
struct json_row {
    typename T::row_type row{};
    std::array<bool, field_count<typename T::row_type>> given{};
};

/// Reads rows from nlohmann's SAX events straight into the row of their
/// table, and inserts each when its object ends: no JSON value is built but
/// the scalar of one cell (a DOM per row took 2.5 times as long as the
/// parse itself). Only one row is in memory at a time.
template <class... Tables>
class json_rows_reader {
    using Store = store<Tables...>;
    using json = nlohmann::json;
    static constexpr std::size_t none = static_cast<std::size_t>(-1);

public:
    /// table: the table read in per-table mode (an array of rows), or none
    /// for the whole store (an object of arrays).
    json_rows_reader(transaction<Store>& tx, std::size_t table)
        : tx_(tx), whole_(table == none), row_depth_(whole_ ? 2 : 1), table_(table) {}

    [[nodiscard]] std::size_t rows() const noexcept { return total_; }

    bool null() { return cell(json(nullptr)); }
    bool boolean(bool v) { return cell(json(v)); }
    bool number_integer(json::number_integer_t v) { return cell(json(v)); }
    bool number_unsigned(json::number_unsigned_t v) { return cell(json(v)); }
    bool number_float(json::number_float_t v, const json::string_t&) { return cell(json(v)); }
    bool string(json::string_t& v) { return cell(json(std::move(v))); }
    bool binary(json::binary_t&) { return cell(json::binary({})); }  // not in JSON text

    bool start_object(std::size_t) {
        if (depth_ == 0 && !whole_) input_fail("json", {}, {}, {}, "expected an array of rows");
        if (depth_ == 1 && whole_) input_fail("json", {}, {}, {}, "expected an array of rows for each table");
        if (depth_ == row_depth_) begin_row();
        if (depth_ > row_depth_) nested("an object");
        ++depth_;
        return true;
    }
    bool end_object() {
        if (--depth_ == row_depth_) end_row();
        return true;
    }
    bool start_array(std::size_t) {
        if (depth_ == 0 && whole_) input_fail("json", {}, {}, {}, "expected an object with one array of rows per table");
        if (depth_ == row_depth_) not_an_object("[...]");
        if (depth_ > row_depth_) nested("an array");
        ++depth_;
        return true;
    }
    bool end_array() {
        --depth_;
        return true;
    }
    bool key(json::string_t& k) {
        if (whole_ && depth_ == 1) return begin_table(k);
        std::size_t i = 0;
        field_ = none;
        with_table([&]<class T>(T*) {
            for_each_field<typename T::row_type>([&](const auto& f) {
                if (f.name == k) field_ = i;
                ++i;
            });
            if (field_ == none) input_fail("json", T::name, k, row_at(index_), "no such column in the table");
            auto& r = std::get<json_row<T>>(rows_);
            if (r.given[field_]) input_fail("json", T::name, k, row_at(index_), "the column is given twice");
            r.given[field_] = true;
        });
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
        input_fail("json", {}, {}, {}, e.what());
    }

private:
    /// Calls f((T*)nullptr) for the table being read.
    template <class F>
    void with_table(F&& f) {
        std::size_t i = 0;
        Store::for_each_table([&]<class T>(T*) {
            if (i++ == table_) f(static_cast<T*>(nullptr));
        });
    }

    bool begin_table(const std::string& name) {
        table_ = none;
        std::size_t i = 0;
        Store::for_each_table([&]<class T>(T*) {
            if (T::name == name) table_ = i;
            ++i;
        });
        if (table_ == none)
            input_fail("json", name, {}, {}, "the store has no such table; its tables are: " + table_names<Store>());
        index_ = 0;
        return true;
    }

    void begin_row() {
        with_table([&]<class T>(T*) { std::get<json_row<T>>(rows_) = json_row<T>{}; });
    }

    void end_row() {
        with_table([&]<class T>(T*) {
            auto& r = std::get<json_row<T>>(rows_);
            std::size_t i = 0;
            for_each_field<typename T::row_type>([&](const auto& f) {
                if (!r.given[i++]) input_fail("json", T::name, f.name, row_at(index_), "the column is missing");
            });
            try {
                tx_.template insert<T>(std::move(r.row));
            } catch (const constraint_error& e) {
                rethrow_located(e, "json", row_at(index_));
            }
        });
        ++index_;
        ++total_;
    }

    [[noreturn]] void not_an_object(const std::string& shown) {
        with_table([&]<class T>(T*) { input_fail("json", T::name, {}, row_at(index_), shown + " is not an object"); });
        input_fail("json", {}, {}, {}, shown + " is not an object");  // not reached: the table is known
    }

    /// An object or array where a cell's value belongs.
    [[noreturn]] void nested(const char* what) {
        with_table([&]<class T>(T*) {
            std::size_t i = 0;
            for_each_field<typename T::row_type>([&](const auto& f) {
                using V = unwrap_optional_t<typename std::decay_t<decltype(f)>::value_type>;
                if (i++ == field_)
                    input_fail("json", T::name, f.name, row_at(index_),
                               std::string(what) + " is not a value of type " + type_name<V>());
            });
        });
        input_fail("json", {}, {}, {}, std::string(what) + " where a value belongs");
    }

    bool cell(const json& v) {
        if (depth_ == 0)
            input_fail("json", {}, {}, {},
                       whole_ ? "expected an object with one array of rows per table" : "expected an array of rows");
        if (depth_ == 1 && whole_) input_fail("json", {}, {}, {}, "expected an array of rows for each table");
        if (depth_ == row_depth_) not_an_object(json_shown(v));
        with_table([&]<class T>(T*) {
            auto& r = std::get<json_row<T>>(rows_);
            std::size_t i = 0;
            for_each_field<typename T::row_type>([&](const auto& f) {
                if (i++ != field_) return;
                if (auto why = cell_from_json(v, r.row.*f.member); !why.empty())
                    input_fail("json", T::name, f.name, row_at(index_), why);
            });
        });
        return true;
    }

    transaction<Store>& tx_;
    bool whole_;
    std::size_t row_depth_;
    std::size_t table_;
    std::size_t depth_ = 0;   // containers open around the next event
    std::size_t field_ = none;
    std::size_t index_ = 0;   // the row's index in its table
    std::size_t total_ = 0;
    std::tuple<json_row<Tables>...> rows_;
};

/// Feeds is to reader through nlohmann's SAX parser.
template <class Reader>
void parse_json_rows(std::istream& is, Reader& reader) {
    try {
        (void)nlohmann::json::sax_parse(is, &reader);
    } catch (const nlohmann::json::exception& e) {
        input_fail("json", {}, {}, {}, e.what());  // the input, not the grammar (a stream error)
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
    auto sp = tx.savepoint();
    detail::json_rows_reader<Tables...> reader(tx, static_cast<std::size_t>(-1));
    detail::parse_json_rows(is, reader);
    sp.release();
    return reader.rows();
}

/// Reads what write_json<T>(q, os) writes, an array of T's rows, and inserts
/// them through tx (see read_json(tx, is)). Returns the number of rows.
template <class T, class... Tables>
    requires store<Tables...>::template has_table<T>
std::size_t read_json(transaction<store<Tables...>>& tx, std::istream& is) {
    auto sp = tx.savepoint();
    std::size_t table = 0, i = 0;
    store<Tables...>::for_each_table([&]<class U>(U*) {
        if (std::is_same_v<T, U>) table = i;
        ++i;
    });
    detail::json_rows_reader<Tables...> reader(tx, table);
    detail::parse_json_rows(is, reader);
    sp.release();
    return reader.rows();
}

}  // namespace relstore
