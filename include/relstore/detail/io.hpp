#pragma once
/// @file detail/io.hpp
/// What json.hpp, csv.hpp and archive.hpp share: the order in which a store's
/// tables and rows are written so that reading them back inserts every parent
/// before its children, and the text form of a cell.

#include <relstore/error.hpp>
#include <relstore/fields.hpp>
#include <relstore/store.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <vector>

namespace relstore::detail {

/// The positions of Store's tables, each after the tables it references.
/// Readers insert rows through a transaction, whose foreign-key checks need
/// the parent first. Tables in a cycle of references keep their declaration
/// order (no order can satisfy them; such data reads back only if each row's
/// parents happen to precede it).
template <class Store>
std::vector<std::size_t> tables_parents_first() {
    const auto schema = describe<Store>();
    const std::size_t n = schema.tables.size();
    std::vector<std::size_t> order;
    std::vector<bool> placed(n, false);
    while (order.size() < n) {
        bool progress = false;
        for (std::size_t i = 0; i < n; ++i) {
            if (placed[i]) continue;
            const bool ready = std::all_of(
                schema.tables[i].foreign_keys.begin(), schema.tables[i].foreign_keys.end(), [&](const auto& fk) {
                    if (fk.parent_table == schema.tables[i].name) return true;  // self: ordered row by row
                    for (std::size_t j = 0; j < n; ++j)
                        if (schema.tables[j].name == fk.parent_table) return bool(placed[j]);
                    return true;
                });
            if (ready) {
                order.push_back(i);
                placed[i] = true;
                progress = true;
            }
        }
        if (!progress) {
            for (std::size_t i = 0; i < n; ++i)
                if (!placed[i]) order.push_back(i), placed[i] = true;
        }
    }
    return order;
}

/// Calls f((T*)nullptr) for every table of Store, parents first.
template <class Store, class F>
void for_each_table_parents_first(F&& f) {
    for (const std::size_t i : tables_parents_first<Store>()) {
        std::size_t k = 0;
        Store::for_each_table([&]<class T>(T*) {
            if (k++ == i) f(static_cast<T*>(nullptr));
        });
    }
}

/// True when spec S of table T is a foreign key to T itself.
template <class T, class S>
constexpr bool is_self_fk() {
    if constexpr (is_fk<S>)
        return std::is_same_v<parent_of<S, T>, T>;
    else
        return false;
}

template <class T>
inline constexpr bool has_self_reference =
    std::apply([](auto... s) { return (is_self_fk<T, decltype(s)>() || ... || false); }, typename T::specs{});

/// The row of T with this key as q sees it, or nullptr.
template <class T, class Q, class K>
const typename T::row_type* find_by_key(const Q& q, const K& key) {
    if constexpr (requires { std::tuple_size<K>::value; })
        return std::apply([&](const auto&... k) { return q.template find<T>(k...); }, key);
    else
        return q.template find<T>(key);
}

/// Calls f(row) for every row of T, in key order, except that a row of a
/// self-referencing table comes after the row it references (a re-parented
/// row may reference a larger key). That needs a set of the keys written, a
/// table's worth of keys; other tables are walked as they are. A row on a
/// cycle of references is written when the walk meets the cycle again: it
/// cannot be read back by inserts, as no order of inserts makes it.
template <class T, class Q, class F>
void for_each_row_parents_first(const Q& q, F&& f) {
    using Row = typename T::row_type;
    if constexpr (!has_self_reference<T>) {
        for (const Row& row : q.template all<T>()) f(row);
    } else {
        using K = typename table_state<T>::key_type;
        std::set<K> written, pending;
        std::vector<const Row*> stack;
        // The first self-referenced parent of row that is not written yet and
        // not on the walk's path, or nullptr.
        const auto unwritten_parent = [&](const Row& row) -> const Row* {
            const Row* found = nullptr;
            for_each_spec<T>([&]<class S>(S*) {
                if constexpr (is_self_fk<T, S>()) {
                    {
                        using traits = columns_traits<typename S::columns>;
                        if (found != nullptr || traits::has_null(traits::get(row))) return;
                        const Row* p = find_by_key<T>(q, fk_value_as_parent_key<S, K>(row));
                        if (p != nullptr && p != &row && !written.contains(table_state<T>::key_of(*p)) &&
                            !pending.contains(table_state<T>::key_of(*p)))
                            found = p;
                    }
                }
            });
            return found;
        };
        for (const Row& start : q.template all<T>()) {
            if (written.contains(table_state<T>::key_of(start))) continue;
            stack.assign(1, &start);
            pending.insert(table_state<T>::key_of(start));
            while (!stack.empty()) {
                const Row& row = *stack.back();
                if (const Row* p = unwritten_parent(row)) {
                    stack.push_back(p);
                    pending.insert(table_state<T>::key_of(*p));
                    continue;
                }
                f(row);
                const K k = table_state<T>::key_of(row);
                pending.erase(k);
                written.insert(k);
                stack.pop_back();
            }
        }
    }
}

/// Appends a floating-point value: the shortest text that reads back as the
/// same value, and NaN, Infinity, -Infinity (JSON and CSV have no other).
template <class F>
void append_float_text(std::string& out, F v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "Infinity" : "-Infinity";
    } else {
        char text[64];
        const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
        out.append(text, ec == std::errc{} ? end : text);
    }
}

/// Appends a value of a column type (not an optional) as text: numbers as
/// std::to_chars writes them, bool as true/false, a blob in lowercase hex,
/// a time point or duration as its integer count of ticks (the column's
/// type gives the unit), a described enum by name (a value without a name
/// as its integer), a column_traits type as its stored value; a string as
/// itself.
template <class V>
void append_cell_text(std::string& out, const V& v) {
    if constexpr (is_string_column_v<V>) {
        out += std::string_view(v);
    } else if constexpr (std::is_same_v<V, bool>) {
        out += v ? "true" : "false";
    } else if constexpr (is_blob_column_v<V>) {
        append_hex(out, v);
    } else if constexpr (user_column<V>) {
        append_cell_text(out, column_traits<V>::to_stored(v));
    } else if constexpr (std::is_enum_v<V>) {
        using U = std::underlying_type_t<V>;
        if constexpr (described_enum<V>) {
            if (const auto name = enum_labels_of<V>.name_of(integer_bits(static_cast<U>(v))); !name.empty()) {
                out += name;
                return;
            }
        }
        append_number(out, static_cast<U>(v));
    } else if constexpr (is_time_point<V>::value || is_duration<V>::value) {
        if constexpr (is_time_point<V>::value)
            append_number(out, v.time_since_epoch().count());
        else
            append_number(out, v.count());
    } else if constexpr (std::is_floating_point_v<V>) {
        append_float_text(out, v);
    } else {
        append_number(out, v);
    }
}

/// The schema's name of V's stored type, for messages ("int32", "blob").
template <class V>
std::string type_name() {
    return to_string(column_type_of<V>);
}

/// Reads text into v (a column type, not an optional) as append_cell_text
/// writes it; returns why it could not (empty on success). An integer must
/// fit the column's type; a float may also be written as nan, inf, -inf.
/// quoted: the message shows s as a string (false for a JSON number's text).
template <class V>
std::string parse_cell_text(std::string_view s, V& v, bool quoted = true) {
    const auto whole_integer = [&]<class I>(I& out) -> bool {
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
    };
    const auto not_a = [&] {
        std::string why;
        if (quoted)
            append_display(why, s);
        else
            why = s;
        return why + " is not a value of type " + type_name<V>();
    };
    if constexpr (std::is_same_v<V, std::string>) {
        v.assign(s);
    } else if constexpr (std::is_same_v<V, text>) {
        v = s;
    } else if constexpr (std::is_same_v<V, bytes>) {
        blob_type b;  // decoded as a blob, then kept exactly sized
        if (auto why = parse_cell_text(s, b, quoted); !why.empty()) return why;
        v = b;
    } else if constexpr (std::is_same_v<V, bool>) {
        if (s == "true")
            v = true;
        else if (s == "false")
            v = false;
        else
            return not_a() + " (true or false)";
    } else if constexpr (std::is_same_v<V, blob_type>) {
        if (s.size() % 2 != 0) return not_a() + " (an even number of hex digits)";
        const auto digit = [](char c) -> int {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        };
        v.clear();
        v.reserve(s.size() / 2);
        for (std::size_t i = 0; i < s.size(); i += 2) {
            const int hi = digit(s[i]), lo = digit(s[i + 1]);
            if (hi < 0 || lo < 0) return not_a() + " (hex digits)";
            v.push_back(static_cast<std::byte>(hi * 16 + lo));
        }
    } else if constexpr (user_column<V>) {
        typename column_traits<V>::stored_type stored{};
        if (auto why = parse_cell_text(s, stored, quoted); !why.empty()) return why;
        try {
            v = column_traits<V>::from_stored(stored);
        } catch (const std::exception& e) {
            std::string why;
            append_display(why, s);
            return why + " is refused by its column_traits: " + e.what();
        }
    } else if constexpr (std::is_enum_v<V>) {
        using U = std::underlying_type_t<V>;
        if constexpr (described_enum<V>) {
            for (const auto& e : enum_labels_of<V>.values) {
                if (e.name == s) {
                    v = static_cast<V>(static_cast<U>(e.value));
                    return {};
                }
            }
        }
        U u{};
        if (!whole_integer(u)) {
            if constexpr (described_enum<V>) return not_a() + " (a name of its values, or an integer)";
            return not_a();
        }
        v = static_cast<V>(u);
    } else if constexpr (is_time_point<V>::value || is_duration<V>::value) {
        typename V::rep count{};
        if (!whole_integer(count)) return not_a() + " (an integer count of ticks)";
        if constexpr (is_time_point<V>::value)
            v = V(typename V::duration(count));
        else
            v = V(count);
    } else if constexpr (std::is_floating_point_v<V>) {
        if (s == "NaN" || s == "nan") {
            v = std::numeric_limits<V>::quiet_NaN();
        } else if (s == "Infinity" || s == "inf") {
            v = std::numeric_limits<V>::infinity();
        } else if (s == "-Infinity" || s == "-inf") {
            v = -std::numeric_limits<V>::infinity();
        } else {
            const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (ec != std::errc{} || end != s.data() + s.size() || s.empty() || !std::isfinite(v))
                return not_a();
        }
    } else {
        if (!whole_integer(v)) return not_a();
    }
    return {};
}

/// "row N": where a row is in the input, counted from 0 within its table.
inline std::string row_at(std::uint64_t index) { return "row " + std::to_string(index); }

/// Throws input_error: "<format>: table 'T', <row>, column 'c': <why>".
[[noreturn]] inline void input_fail(std::string_view format, std::string_view table, std::string_view column,
                                    const std::string& row, const std::string& why, errc code = errc::bad_input) {
    std::string where;
    if (!table.empty()) where += "table '" + std::string(table) + "'";
    if (!row.empty()) where += (where.empty() ? "" : ", ") + row;
    if (!column.empty()) where += (where.empty() ? "" : ", ") + ("column '" + std::string(column) + "'");
    std::string what(format);
    what += ": " + (where.empty() ? "" : where + ": ") + why;
    throw input_error(code, std::string(table), std::string(column), row, what);
}

/// Rethrows a constraint_error that inserting a row raised, with where the
/// row was in the input before its message; the store's checks say the rest.
[[noreturn]] inline void rethrow_located(const constraint_error& e, std::string_view format, const std::string& row) {
    throw constraint_error(static_cast<errc>(e.code().value()), e.table(), e.columns(),
                           std::string(format) + ": table '" + e.table() + "', " + row + ": " + e.what());
}

}  // namespace relstore::detail
