// Integrity checks of a snapshot without its program's row types (what
// `relstore verify` runs), and the texts of the integrity errors, which the
// typed loader in include/relstore/snapshot.hpp reports through the same
// functions.

#include "snapshot_internal.hpp"

#include <relstore/snapshot_format.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace relstore {
namespace detail {

std::string display_value(const value& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::monostate>)
                return display(std::optional<bool>());  // null, as a row's empty optional shows
            else
                return display(x);
        },
        v);
}

std::string display_cell(const value& v, const column_type& type) {
    // A timestamp, duration or enumeration is an integer cell that its type shows.
    const auto typed = [&](auto n) -> std::string {
        std::string out;
        switch (type.kind) {
        case column_kind::timestamp: append_timestamp(out, n, type.num, type.den); return out;
        case column_kind::duration: append_duration(out, n, type.num, type.den); return out;
        case column_kind::enumeration:
            if (type.labels != nullptr) out = type.labels->name_of(static_cast<std::uint64_t>(n));
            return out.empty() ? display_value(v) : out;
        default: return display_value(v);
        }
    };
    if (const auto* i = std::get_if<std::int64_t>(&v)) return typed(*i);
    if (const auto* u = std::get_if<std::uint64_t>(&v)) return typed(*u);
    return display_value(v);
}

std::string display_values(std::span<const value> v) {
    if (v.size() == 1) return display_value(v[0]);
    std::string out = "(";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i > 0 ? ", " : "") + display_value(v[i]);
    return out + ")";
}

std::string column_names_text(std::span<const std::string> names) {
    if (names.size() == 1) return names[0];
    std::string out = "(";
    for (std::size_t i = 0; i < names.size(); ++i) out += (i > 0 ? ", " : "") + names[i];
    return out + ")";
}

namespace integrity_text {

namespace {
std::string in_table(std::string_view table) { return "table '" + std::string(table) + "': "; }
}  // namespace

std::string nan_in_indexed_column(std::string_view table, std::string_view column) {
    return in_table(table) + std::string(column) +
           " = NaN, but a key, index or foreign key covers that column (NaN equals nothing, so no index can find it)";
}
std::string duplicate_key(std::string_view table, std::string_view columns, std::string_view value) {
    return in_table(table) + "duplicate key " + std::string(columns) + " = " + std::string(value);
}
std::string duplicate_unique(std::string_view table, std::string_view columns, std::string_view value) {
    return in_table(table) + "duplicate " + std::string(columns) + " = " + std::string(value) + " in a unique index";
}
std::string dangling_reference(std::string_view table, std::string_view columns, std::string_view value,
                               std::string_view parent) {
    return in_table(table) + std::string(columns) + " = " + std::string(value) + " references no row in " +
           std::string(parent);
}
std::string cycle(std::string_view table, std::string_view columns, std::string_view key) {
    return in_table(table) + std::string(columns) + " forms a cycle through key " + std::string(key);
}
std::string next_key_unfit(std::string_view table, std::string_view next, std::string_view key_type) {
    return in_table(table) + "next key " + std::string(next) + " does not fit the key's type " + std::string(key_type);
}
std::string next_key_below_first(std::string_view table, std::string_view next, std::string_view first) {
    return in_table(table) + "next key " + std::string(next) + " is below the first key " + std::string(first);
}
std::string next_key_not_above(std::string_view table, std::string_view next, std::string_view largest) {
    return in_table(table) + "next key " + std::string(next) + " is not above the largest stored key " +
           std::string(largest);
}

}  // namespace integrity_text
}  // namespace detail

namespace {

using detail::display_value;
using detail::display_values;
namespace says = detail::integrity_text;  // not "text": relstore::text is the column type

bool is_signed_integer(column_kind k) {
    return k == column_kind::int8 || k == column_kind::int16 || k == column_kind::int32 || k == column_kind::int64;
}
bool is_unsigned_integer(column_kind k) {
    return k == column_kind::uint8 || k == column_kind::uint16 || k == column_kind::uint32 ||
           k == column_kind::uint64;
}

// Appends bytes that are equal for two cells exactly when the typed indexes
// find them equal: integers by value, -0.0 as 0.0 (== has them equal; NaN is
// refused before any cell gets here), strings by their bytes.
void append_canonical(std::string& out, const value& v) {
    out.push_back(static_cast<char>(v.index()));
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            auto raw = [&](auto u) {
                char b[sizeof u];
                std::memcpy(b, &u, sizeof u);
                out.append(b, sizeof b);
            };
            if constexpr (std::is_same_v<T, bool>) {
                out.push_back(x ? '\1' : '\0');
            } else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, std::uint64_t>) {
                raw(x);
            } else if constexpr (std::is_same_v<T, double>) {
                raw(std::bit_cast<std::uint64_t>(x == 0.0 ? 0.0 : x));
            } else if constexpr (std::is_same_v<T, std::string>) {
                raw(static_cast<std::uint64_t>(x.size()));
                out += x;
            } else if constexpr (std::is_same_v<T, blob_value>) {
                raw(static_cast<std::uint64_t>(x.size()));
                out.append(reinterpret_cast<const char*>(x.data()), x.size());
            }
        },
        v);
}

std::size_t column_at(const table_info& t, const std::string& name) {
    for (std::size_t i = 0; i < t.columns.size(); ++i)
        if (t.columns[i].name == name) return i;
    return t.columns.size();  // schema_problem() already refused unknown names
}

std::vector<std::size_t> columns_at(const table_info& t, const std::vector<std::string>& names) {
    std::vector<std::size_t> out;
    out.reserve(names.size());
    for (const auto& n : names) out.push_back(column_at(t, n));
    return out;
}

// A uniqueness constraint over some columns: the key, a unique index or a one-to-one foreign key.
struct unique_columns {
    std::vector<std::size_t> columns;
    std::string names;
    bool is_key = false;
    std::unordered_set<std::string> seen;  // canonical values of the rows so far
};

// Canonical bytes of some cells of a row; false when one of them is null
// (a null never clashes and references nothing).
bool canonical(std::string& out, const std::vector<value>& row, const std::vector<std::size_t>& columns) {
    out.clear();
    for (const auto c : columns) {
        if (std::holds_alternative<std::monostate>(row[c])) return false;
        append_canonical(out, row[c]);
    }
    return true;
}

// Cells of a row as load's messages show the typed values: one alone, several as "(a, b)".
std::string shown(const table_info& t, const std::vector<value>& row, const std::vector<std::size_t>& columns) {
    std::string out = columns.size() == 1 ? "" : "(";
    for (std::size_t i = 0; i < columns.size(); ++i)
        out += (i > 0 ? ", " : "") + detail::display_cell(row[columns[i]], t.columns[columns[i]].type);
    return columns.size() == 1 ? out : out + ")";
}

}  // namespace

void snapshot_reader::check_integrity() const {
    const auto& tables = schema_.tables;
    auto fail = [&](std::optional<std::uint64_t> at, const std::string& msg) {
        detail::snapshot_fail(errc::bad_snapshot, name_, at, msg);
    };
    // Calls f(row, offset) for every row of table ti, in file order.
    std::vector<value> row;
    auto each_row = [&](std::size_t ti, auto&& f) {
        const auto& cols = tables[ti].columns;
        auto cur = rows(ti);
        row.resize(cols.size());
        for (std::uint64_t i = 0; i < stats_[ti].row_count; ++i) {
            const auto at = cur.offset();
            for (std::size_t c = 0; c < cols.size(); ++c) row[c] = cur.get_value(cols[c].type);
            f(row, at);
        }
        cur.finish();
    };

    // Rows: table by table, in file order, as a load decodes them.
    std::vector<std::unordered_set<std::string>> keys(tables.size());  // for the foreign keys
    std::string canon;
    for (std::size_t ti = 0; ti < tables.size(); ++ti) {
        const auto& t = tables[ti];
        std::vector<unique_columns> uniques;
        std::vector<std::size_t> covered;  // columns NaN must not be in: key, indexes, foreign keys
        auto cover = [&](const std::vector<std::size_t>& cols) {
            for (const auto c : cols)
                if (std::find(covered.begin(), covered.end(), c) == covered.end()) covered.push_back(c);
        };
        if (!t.key.empty()) {
            uniques.push_back({columns_at(t, t.key), detail::column_names_text(t.key), true, {}});
            cover(uniques.back().columns);
        }
        for (const auto& ix : t.indexes) {
            cover(columns_at(t, ix.columns));
            if (ix.kind == index_kind::hashed_unique || ix.kind == index_kind::ordered_unique)
                uniques.push_back({columns_at(t, ix.columns), detail::column_names_text(ix.columns), false, {}});
        }
        for (const auto& fk : t.foreign_keys) {
            cover(columns_at(t, fk.columns));
            if (fk.unique)
                uniques.push_back({columns_at(t, fk.columns), detail::column_names_text(fk.columns), false, {}});
        }
        std::erase_if(covered, [&](std::size_t c) {
            const auto k = t.columns[c].type.kind;
            return k != column_kind::float32 && k != column_kind::float64;
        });

        std::optional<std::size_t> auto_column;
        if (t.auto_key) {
            if (t.key.size() != 1 || !(is_signed_integer(t.columns[column_at(t, t.key[0])].type.kind) ||
                                       is_unsigned_integer(t.columns[column_at(t, t.key[0])].type.kind)))
                fail(std::nullopt, "table '" + t.name + "': its key is assigned by the store, but is not one integer column");
            auto_column = column_at(t, t.key[0]);
        }
        std::optional<value> largest;

        each_row(ti, [&](const std::vector<value>& r, std::uint64_t at) {
            for (const auto c : covered)
                if (const auto* d = std::get_if<double>(&r[c]); d != nullptr && std::isnan(*d))
                    fail(at, says::nan_in_indexed_column(t.name, t.columns[c].name));
            for (auto& u : uniques) {
                if (!canonical(canon, r, u.columns)) continue;
                if (!u.seen.insert(canon).second) {
                    const auto v = shown(t, r, u.columns);
                    fail(at, u.is_key ? says::duplicate_key(t.name, u.names, v)
                                      : says::duplicate_unique(t.name, u.names, v));
                }
            }
            if (auto_column && (!largest || *largest < r[*auto_column])) largest = r[*auto_column];
        });

        if (auto_column) {
            const auto kind = t.columns[*auto_column].type.kind;
            const auto raw = stats_[ti].next_auto_key;
            value next, top;  // top: the key type's largest value
            if (is_signed_integer(kind)) {
                const auto n = std::bit_cast<std::int64_t>(raw);
                const int bits = static_cast<int>(detail::min_encoded_size({kind, false})) * 8;
                const std::int64_t lo = bits == 64 ? std::numeric_limits<std::int64_t>::min() : -(std::int64_t{1} << (bits - 1));
                const std::int64_t hi = bits == 64 ? std::numeric_limits<std::int64_t>::max() : (std::int64_t{1} << (bits - 1)) - 1;
                if (n < lo || n > hi) fail(std::nullopt, says::next_key_unfit(t.name, display_value(n), to_string(kind)));
                next = n;
                top = hi;
            } else {
                const int bits = static_cast<int>(detail::min_encoded_size({kind, false})) * 8;
                if (bits < 64 && raw >= (std::uint64_t{1} << bits))
                    fail(std::nullopt, says::next_key_unfit(t.name, display_value(raw), to_string(kind)));
                next = raw;
                top = bits == 64 ? std::numeric_limits<std::uint64_t>::max() : (std::uint64_t{1} << bits) - 1;
            }
            const value first = is_signed_integer(kind) ? value(std::int64_t{1}) : value(std::uint64_t{1});
            if (next < first)
                fail(std::nullopt, says::next_key_below_first(t.name, display_value(next), display_value(first)));
            // At the largest value the counter is exhausted (an auto key is
            // never that value, a row may have it), not behind.
            if (largest && !(*largest < next) && !(next == top))
                fail(std::nullopt, says::next_key_not_above(t.name, display_value(next), display_value(*largest)));
        }
        if (!uniques.empty() && uniques.front().is_key) keys[ti] = std::move(uniques.front().seen);
    }

    // Foreign keys, once every table's keys are known, in file order again.
    for (std::size_t ti = 0; ti < tables.size(); ++ti) {
        const auto& t = tables[ti];
        for (const auto& fk : t.foreign_keys) {
            const std::size_t pi = *find_table(fk.parent_table);  // schema_problem() refused unknown parents
            const auto& parent = tables[pi];
            const auto names = detail::column_names_text(fk.columns);
            if (fk.columns.size() != parent.key.size())
                fail(std::nullopt, "table '" + t.name + "': foreign key " + names + " has " +
                                       std::to_string(fk.columns.size()) + " column(s) but the key of " +
                                       parent.name + " has " + std::to_string(parent.key.size()));
            const auto cols = columns_at(t, fk.columns);
            const bool acyclic = fk.acyclic && pi == ti;
            const auto key_cols = columns_at(t, t.key);
            std::unordered_map<std::string, std::optional<std::string>> up;  // a row's key -> its parent's
            std::vector<std::pair<std::uint64_t, std::string>> order;        // (offset, key) in file order
            each_row(ti, [&](const std::vector<value>& r, std::uint64_t at) {
                std::optional<std::string> to;
                if (canonical(canon, r, cols)) {
                    if (!keys[pi].contains(canon))
                        fail(at, says::dangling_reference(t.name, names, shown(t, r, cols), parent.name));
                    to = canon;
                }
                if (acyclic && canonical(canon, r, key_cols)) {
                    order.emplace_back(at, canon);
                    up.emplace(canon, std::move(to));
                }
            });
            if (!acyclic) continue;
            // From each row in file order, follow the parents until a root,
            // a row already known to lead to one, or a key seen twice.
            std::unordered_set<std::string> rooted, path;
            for (const auto& [at, start] : order) {
                path.clear();
                const std::string* k = &start;
                for (;;) {
                    if (rooted.contains(*k)) break;
                    if (!path.insert(*k).second) {
                        std::string key_text;
                        each_row(ti, [&](const std::vector<value>& r, std::uint64_t) {
                            if (key_text.empty() && canonical(canon, r, key_cols) && canon == *k)
                                key_text = shown(t, r, key_cols);
                        });
                        fail(at, says::cycle(t.name, names, key_text));
                    }
                    const auto it = up.find(*k);
                    if (it == up.end() || !it->second) break;
                    const auto next = up.find(*it->second);
                    if (next == up.end()) break;
                    k = &next->first;
                }
                rooted.insert(path.begin(), path.end());
            }
        }
    }
}

}  // namespace relstore
