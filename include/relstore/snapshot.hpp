#pragma once
/// @file snapshot.hpp
/// Saving a store to a snapshot file or stream and loading it back (opt-in:
/// not part of relstore.hpp). The file format is relstore's own
/// (docs/snapshot-format.md): rows are written column by column, never Boost
/// containers, and indexes are rebuilt on load.
///
///     relstore::save(db, "cache.snap");        // inside a read scope
///     relstore::load(db, "cache.snap");        // all or nothing
///
/// Loading matches columns by name, so a snapshot from an older schema loads
/// into a newer one: a column added since takes its default (the value of a
/// value-initialized member), a table added since loads empty; a column or
/// table the program no longer has is an error unless load_options allows
/// dropping it; a column whose type changed is an error.

#include <relstore/snapshot_format.hpp>
#include <relstore/store.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace relstore {

/// What a load may do when the snapshot has more than the program's schema.
struct load_options {
    /// Drop snapshot columns that the program's row types no longer have
    /// (otherwise such a column is a schema_mismatch error naming it).
    bool drop_unknown_columns = false;
    /// Drop snapshot tables that the program's store no longer has
    /// (otherwise such a table is a schema_mismatch error naming it).
    bool drop_unknown_tables = false;
};

namespace detail {

/// Appends one cell; W is a snapshot_writer or a row_encoder.
template <class W, class V>
void put_cell(W& w, const V& v) {
    if constexpr (is_optional_v<V>) {
        w.put_presence(v.has_value());
        if (v) put_cell(w, *v);
    } else if constexpr (std::is_enum_v<V>) {
        put_cell(w, static_cast<std::underlying_type_t<V>>(v));
    } else if constexpr (std::is_same_v<V, bool>) {
        w.put_bool(v);
    } else if constexpr (std::is_same_v<V, std::string>) {
        w.put_string(v);
    } else if constexpr (std::is_same_v<V, float>) {
        w.put_f32(v);
    } else if constexpr (std::is_same_v<V, double>) {
        w.put_f64(v);
    } else {
        static_assert(std::is_integral_v<V>);
        using U = std::make_unsigned_t<V>;
        if constexpr (sizeof(V) == 1) w.put_u8(static_cast<U>(v));
        else if constexpr (sizeof(V) == 2) w.put_u16(static_cast<U>(v));
        else if constexpr (sizeof(V) == 4) w.put_u32(static_cast<U>(v));
        else w.put_u64(static_cast<U>(v));
    }
}

template <class V>
void get_cell(row_cursor& c, V& v) {
    if constexpr (is_optional_v<V>) {
        if (c.get_presence()) {
            typename V::value_type x{};
            get_cell(c, x);
            v = std::move(x);
        } else {
            v.reset();
        }
    } else if constexpr (std::is_enum_v<V>) {
        std::underlying_type_t<V> x{};
        get_cell(c, x);
        v = static_cast<V>(x);
    } else if constexpr (std::is_same_v<V, bool>) {
        v = c.get_bool();
    } else if constexpr (std::is_same_v<V, std::string>) {
        v = c.get_string();
    } else if constexpr (std::is_same_v<V, float>) {
        v = c.get_f32();
    } else if constexpr (std::is_same_v<V, double>) {
        v = c.get_f64();
    } else {
        static_assert(std::is_integral_v<V>);
        if constexpr (sizeof(V) == 1) v = static_cast<V>(c.get_u8());
        else if constexpr (sizeof(V) == 2) v = static_cast<V>(c.get_u16());
        else if constexpr (sizeof(V) == 4) v = static_cast<V>(c.get_u32());
        else v = static_cast<V>(c.get_u64());
    }
}

template <class W, class Row>
void put_row_cells(W& w, const Row& row) {
    for_each_field<Row>([&](const auto& f) { put_cell(w, row.*(f.member)); });
}

/// The bytes put_cell writes for v.
template <class V>
std::uint64_t cell_size(const V& v) {
    if constexpr (is_optional_v<V>)
        return 1 + (v ? cell_size(*v) : 0);
    else if constexpr (std::is_enum_v<V>)
        return sizeof(std::underlying_type_t<V>);
    else if constexpr (std::is_same_v<V, bool>)
        return 1;
    else if constexpr (std::is_same_v<V, std::string>)
        return 8 + v.size();
    else
        return sizeof(V);
}

template <class Row>
std::uint64_t row_size(const Row& row) {
    std::uint64_t n = 0;
    for_each_field<Row>([&](const auto& f) { n += cell_size(row.*(f.member)); });
    return n;
}

template <class Row, std::size_t I>
void get_field(row_cursor& c, Row& row) {
    get_cell(c, row.*(std::get<I>(fields_of<Row>()).member));
}

/// One decoder per field of Row, by position, for loads whose columns differ
/// from the program's (an indirect call per cell only on that path).
template <class Row>
constexpr auto field_getters() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<void (*)(row_cursor&, Row&), sizeof...(I)>{&get_field<Row, I>...};
    }(std::make_index_sequence<field_count<Row>>{});
}

template <class T>
std::uint64_t next_key_of(const table_state<T>& st) {
    if constexpr (T::key::is_auto)
        return static_cast<std::uint64_t>(st.next_key);
    else
        return 0;
}

/// Asks for a row's node and its strings' bytes before they are encoded.
template <class Row>
void prefetch_row([[maybe_unused]] const Row& row, [[maybe_unused]] bool cells) {
#if defined(__GNUC__)
    __builtin_prefetch(&row);
    if (!cells) return;
    for_each_field<Row>([&](const auto& f) {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(row.*(f.member))>, std::string>)
            __builtin_prefetch((row.*(f.member)).data());
    });
#endif
}

template <class T>
inline constexpr bool is_tuple_v = false;
template <class... Ts>
inline constexpr bool is_tuple_v<std::tuple<Ts...>> = true;

/// The first column of a key: the key itself, or a composite key's first.
template <class Key>
const auto& leading_column(const Key& k) {
    if constexpr (is_tuple_v<Key>)
        return std::get<0>(k);
    else
        return k;
}

/// Sorts (key, row) pairs by their unique keys. When the keys' first column
/// is an integer that fills most of its range, as auto keys and the keys of
/// link tables do, a counting sort on it takes one pass and each run of equal
/// first columns is sorted on its own (a hash table's order is no order at
/// all: std::sort was 20% of a save, 15% for the links table alone).
template <class Key, class Ptr>
void sort_by_key(std::vector<std::pair<Key, Ptr>>& rows) {
    const auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (std::is_sorted(rows.begin(), rows.end(), by_key)) return;  // bucket order often is key order
    using lead = std::remove_cvref_t<decltype(leading_column(std::declval<const Key&>()))>;
    if constexpr (std::is_integral_v<lead> && !std::is_same_v<lead, bool>) {
        using U = std::make_unsigned_t<lead>;
        const auto by_lead = [](const auto& a, const auto& b) {
            return leading_column(a.first) < leading_column(b.first);
        };
        const auto [lo, hi] = std::minmax_element(rows.begin(), rows.end(), by_lead);
        const U low = static_cast<U>(leading_column(lo->first));
        const U span = static_cast<U>(static_cast<U>(leading_column(hi->first)) - low);
        if (span / 4 < rows.size()) {
            auto slot = [&](const auto& r) {
                return static_cast<std::size_t>(static_cast<U>(static_cast<U>(leading_column(r.first)) - low));
            };
            std::vector<std::size_t> next(static_cast<std::size_t>(span) + 2, 0);
            for (const auto& r : rows) ++next[slot(r) + 1];
            for (std::size_t v = 1; v < next.size(); ++v) next[v] += next[v - 1];
            std::vector<std::pair<Key, Ptr>> placed(rows.size());
            for (auto& r : rows) placed[next[slot(r)]++] = std::move(r);
            rows.swap(placed);
            if constexpr (is_tuple_v<Key>) {
                for (auto run = rows.begin(); run != rows.end();) {
                    auto run_end = std::find_if(run + 1, rows.end(), [&](const auto& r) {
                        return leading_column(r.first) != leading_column(run->first);
                    });
                    if (run_end - run > 1) std::sort(run, run_end, by_key);
                    run = run_end;
                }
            }
            return;
        }
    }
    std::sort(rows.begin(), rows.end(), by_key);
}

/// Collects (key, row) from a hashed key index bucket by bucket. Iterating
/// the index follows one list through every node, a cache miss waiting on
/// the one before (60% of a save); bucket heads are an array, so the rows a
/// few buckets ahead can be fetched while this one is read.
template <class T, class Rows>
void collect_by_bucket(const table_state<T>& st, Rows& rows, std::uint64_t& bytes) {
    const auto& idx = st.key_index();
    const std::size_t buckets = idx.bucket_count();
    constexpr std::size_t ahead = 16;
    for (std::size_t b = 0; b < buckets; ++b) {
#if defined(__GNUC__)
        if (b + ahead < buckets) {
            const auto next = idx.begin(b + ahead);
            if (next != idx.end(b + ahead)) __builtin_prefetch(&*next);
        }
#endif
        for (auto it = idx.begin(b), end = idx.end(b); it != end; ++it) {
            rows.emplace_back(table_state<T>::key_of(*it), &*it);
            bytes += row_size(*it);
        }
    }
}

/// A table's rows in key order, and the exact size of their encoding.
template <class T>
struct ordered_rows {
    std::vector<const typename T::row_type*> rows;
    std::uint64_t bytes = 0;
    std::uint64_t next_key = 0;  // for the directory
};

/// Puts a table's rows in key order: hashed tables too, so that equal
/// stores give byte-identical snapshots whatever their hash tables' history.
template <class T>
ordered_rows<T> rows_in_key_order(const table_state<T>& st) {
    ordered_rows<T> out;
    out.next_key = next_key_of(st);
    out.rows.reserve(st.rows.size());
    if constexpr (T::key::is_hashed) {
        // The keys are copied out beside the rows, so sorting never touches a row.
        using key_type = typename table_state<T>::key_type;
        std::vector<std::pair<key_type, const typename T::row_type*>> keyed;
        keyed.reserve(st.rows.size());
        collect_by_bucket<T>(st, keyed, out.bytes);
        sort_by_key(keyed);
        for (const auto& k : keyed) out.rows.push_back(k.second);
    } else {
        for (const auto& r : st.key_index()) {
            out.rows.push_back(&r);
            out.bytes += row_size(r);
        }
    }
    return out;
}

template <class... Tables>
std::tuple<ordered_rows<Tables>...> rows_of_every_table(const store<Tables...>& db) {
    return {rows_in_key_order(db.template state<Tables>())...};
}

/// Encodes rows in order. They are scattered over the heap: each is fetched
/// a few rows before it is encoded, as a walk from node to node cannot.
template <class W, class Row>
void encode_rows(W& w, const std::vector<const Row*>& rows) {
    constexpr std::size_t node_ahead = 16, cells_ahead = 8;
    const std::size_t n = rows.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (i + node_ahead < n) prefetch_row(*rows[i + node_ahead], false);
        if (i + cells_ahead < n) prefetch_row(*rows[i + cells_ahead], true);
        put_row_cells(w, *rows[i]);
    }
}

/// Encodes a store; the caller holds a read scope.
template <class Store>
void encode_tables(const Store& db, snapshot_writer& w) {
    std::size_t ti = 0;
    Store::for_each_table([&]<class T>(T*) {
        const auto& st = db.template state<T>();
        w.begin_table(ti++);
        encode_rows(w, rows_in_key_order(st).rows);
        w.end_table(st.rows.size(), next_key_of(st));
    });
}

/// Room for a whole image (the stream save), on the generous side: text
/// longer than the small string buffer lives outside the row, and growing a
/// large image copies it into fresh pages (28,000 page faults for 145 MB).
/// Address space is cheap: pages never written are never faulted in.
template <class Store>
std::size_t size_estimate(const Store& db) {
    std::size_t n = 0;
    Store::for_each_table([&]<class T>(T*) {
        n += db.template state<T>().rows.size() * 2 * (sizeof(typename T::row_type) + 8);
    });
    return n + 4096;
}

/// Encodes a whole store under a read scope; the scope ends before any I/O.
template <class Store>
snapshot_writer encode_store(const Store& db) {
    auto scope = db.read();
    snapshot_writer w(describe<Store>(), size_estimate(db));
    encode_tables(db, w);
    return w;
}

[[noreturn]] inline void load_fail(const snapshot_reader& r, errc code, std::optional<std::uint64_t> offset,
                                   const std::string& msg) {
    std::string what = "snapshot '" + r.name() + "'";
    if (offset) what += " at byte " + std::to_string(*offset);
    throw snapshot_error(code, r.name(), offset, what + ": " + msg);
}

template <class T>
void insert_loaded(const snapshot_reader& r, table_state<T>& st, typename T::row_type&& row, std::uint64_t at) {
    auto [it, inserted] = st.rows.insert(std::move(row));
    if (inserted) return;
    // Boost.MultiIndex does not move from a row it refuses, so row is intact here.
    std::string why = "a row is refused by an index";
    for_each_spec<T>([&]<class S>(S*) {
        if constexpr (index_for_spec<S>::enforced_by_container) {
            using traits = columns_traits<typename S::columns>;
            const auto v = traits::get(row);
            const auto& idx = st.rows.template get<S>();
            if (idx.find(v) != idx.end() && why.starts_with("a row"))
                why = std::string(std::is_same_v<typename S::spec_kind, key_tag> ? "duplicate key " : "duplicate ") +
                      traits::names() + " = " + display(v) +
                      (std::is_same_v<typename S::spec_kind, key_tag> ? "" : " in a unique index");
        }
    });
    load_fail(r, errc::bad_snapshot, at, "table '" + std::string(T::name) + "': " + why);
}

template <class Store, class T>
void decode_table(Store& fresh, const snapshot_reader& r, std::size_t fi, const table_info& want,
                  const load_options& opt) {
    using Row = typename T::row_type;
    auto& st = fresh.template state<T>();
    const auto& have = r.schema().tables[fi];
    const auto& stats = r.table(fi);
    auto cur = r.rows(fi);
    // Size hashed indexes once instead of rehashing as they grow. The row
    // count was checked against the bytes present, so this is no larger than
    // the rows themselves will need.
    for_each_spec<T>([&]<class S>(S*) {
        if constexpr (S::is_hashed) st.rows.template get<S>().reserve(static_cast<std::size_t>(stats.row_count));
    });

    if (have.columns == want.columns) {
        for (std::uint64_t i = 0; i < stats.row_count; ++i) {
            const auto at = cur.offset();
            Row row{};
            for_each_field<Row>([&](const auto& f) { get_cell(cur, row.*(f.member)); });
            insert_loaded<T>(r, st, std::move(row), at);
        }
    } else {
        static constexpr auto getters = field_getters<Row>();
        struct step {
            void (*get)(row_cursor&, Row&);
            column_type type;
        };
        std::vector<step> plan;
        plan.reserve(have.columns.size());
        for (const auto& c : have.columns) {
            const auto it = std::find_if(want.columns.begin(), want.columns.end(),
                                         [&](const column_info& w) { return w.name == c.name; });
            const std::string col = "column '" + have.name + "." + c.name + "'";
            if (it == want.columns.end()) {
                if (!opt.drop_unknown_columns)
                    load_fail(r, errc::schema_mismatch, std::nullopt,
                              col + " is not in the program's schema; load with "
                                    "load_options{.drop_unknown_columns = true} to drop it");
                plan.push_back({nullptr, c.type});
            } else if (it->type != c.type) {
                auto name = [](column_type t) { return std::string(to_string(t.kind)) + (t.nullable ? "?" : ""); };
                load_fail(r, errc::schema_mismatch, std::nullopt,
                          col + " changed type: " + name(c.type) + " in the snapshot, " + name(it->type) +
                              " in the program");
            } else {
                plan.push_back({getters[static_cast<std::size_t>(it - want.columns.begin())], c.type});
            }
        }
        for (std::uint64_t i = 0; i < stats.row_count; ++i) {
            const auto at = cur.offset();
            Row row{};
            for (const auto& s : plan) {
                if (s.get != nullptr)
                    s.get(cur, row);
                else
                    cur.skip_value(s.type);
            }
            insert_loaded<T>(r, st, std::move(row), at);
        }
    }
    cur.finish();

    if constexpr (T::key::is_auto) {
        using K = typename table_state<T>::key_type;
        const auto& idx = st.key_index();
        if (have.auto_key) {
            // A next key at or below a stored key would hand out that key again.
            const K first = st.next_key;  // a fresh table's
            const auto next = static_cast<K>(stats.next_auto_key);
            if (next < first)
                load_fail(r, errc::bad_snapshot, std::nullopt,
                          "table '" + std::string(T::name) + "': next key " + display(next) +
                              " is below the first key " + display(first));
            for (const auto& row : idx)
                if (!(table_state<T>::key_of(row) < next))
                    load_fail(r, errc::bad_snapshot, std::nullopt,
                              "table '" + std::string(T::name) + "': next key " + display(next) +
                                  " is not above stored key " + display(table_state<T>::key_of(row)));
            st.next_key = next;
        } else {
            // The key became an auto key since the snapshot: continue after the largest.
            for (const auto& row : idx)
                if (!(table_state<T>::key_of(row) < st.next_key)) st.next_key = table_state<T>::key_of(row) + 1;
        }
    }
}

/// Integrity of a decoded store: unique nullable columns, every foreign key
/// resolves, acyclic self-references have no cycle.
template <class Store>
void check_loaded(const Store& db, const snapshot_reader& r) {
    Store::for_each_table([&]<class T>(T*) {
        const auto& st = db.template state<T>();
        const std::string table = "table '" + std::string(T::name) + "': ";
        for_each_spec<T>([&]<class S>(S*) {
            using traits = columns_traits<typename S::columns>;
            if constexpr (is_fk<S>) {
                using P = parent_of<S, T>;
                using PK = typename table_state<P>::key_type;
                const auto& pidx = db.template state<P>().key_index();
                for (const auto& row : st.rows) {
                    const auto v = traits::get(row);
                    if (traits::has_null(v)) continue;
                    if (pidx.find(fk_value_as_parent_key<S, PK>(row)) == pidx.end())
                        load_fail(r, errc::bad_snapshot, std::nullopt,
                                  table + traits::names() + " = " + display(v) + " references no row in " +
                                      std::string(P::name));
                }
                if constexpr (S::is_acyclic) {
                    using K = typename table_state<T>::key_type;
                    const auto& idx = st.key_index();
                    std::set<K> rooted;  // rows whose chain of parents is known to end
                    std::set<K> path;
                    for (const auto& start : st.rows) {
                        path.clear();
                        const typename T::row_type* row = &start;
                        for (;;) {
                            const K k = table_state<T>::key_of(*row);
                            if (rooted.contains(k)) break;
                            if (!path.insert(k).second)
                                load_fail(r, errc::bad_snapshot, std::nullopt,
                                          table + traits::names() + " forms a cycle through key " + display(k));
                            if (traits::has_null(traits::get(*row))) break;
                            const auto up = idx.find(fk_value_as_parent_key<S, K>(*row));
                            if (up == idx.end()) break;
                            row = &*up;
                        }
                        rooted.insert(path.begin(), path.end());
                    }
                }
            } else if constexpr (index_for_spec<S>::checked_by_store) {
                const auto& idx = st.rows.template get<S>();
                for (const auto& row : st.rows) {
                    const auto v = traits::get(row);
                    if (traits::has_null(v)) continue;
                    auto [first, last] = idx.equal_range(v);
                    if (first != last && std::next(first) != last)
                        load_fail(r, errc::bad_snapshot, std::nullopt,
                                  table + "duplicate " + traits::names() + " = " + display(v) + " in a unique index");
                }
            }
        });
    });
}

/// Decodes a validated snapshot into a fresh store and checks it.
template <class Store>
std::unique_ptr<Store> decode_store(const snapshot_reader& r, const load_options& opt) {
    const schema_info want = describe<Store>();
    for (const auto& t : r.schema().tables) {
        const bool known = std::any_of(want.tables.begin(), want.tables.end(),
                                       [&](const table_info& w) { return w.name == t.name; });
        if (!known && !opt.drop_unknown_tables)
            load_fail(r, errc::schema_mismatch, std::nullopt,
                      "table '" + t.name +
                          "' is not in the program's schema; load with load_options{.drop_unknown_tables = true} "
                          "to drop it");
    }
    auto fresh = std::make_unique<Store>();
    std::size_t ti = 0;
    Store::for_each_table([&]<class T>(T*) {
        const auto& w = want.tables[ti++];
        if (const auto fi = r.find_table(w.name)) decode_table<Store, T>(*fresh, r, *fi, w, opt);
    });
    check_loaded(*fresh, r);
    return fresh;
}

template <class Store>
void load_from(Store& db, const snapshot_reader& r, const load_options& opt) {
    auto fresh = decode_store<Store>(r, opt);
    db.swap_contents(*fresh);
    // The old contents are destroyed here, after the store's lock is released.
}

}  // namespace detail

/// Saves the whole store to path, crash-safely (a temporary file in the same
/// directory, fsync, rename, fsync of the directory). Rows are encoded inside
/// a read scope, so readers keep reading, while a second thread writes the
/// encoded part; the fsyncs happen after the scope ends.
/// @throws relstore::snapshot_error (io) naming the failed operation; the old file stays.
/// @throws relstore::usage_error when this thread holds the store's write transaction.
template <class Store>
void save(const Store& db, const std::filesystem::path& path) {
    snapshot_writer header(describe<Store>());
    // Every table's rows are put in order and measured first, so the header
    // is complete before the first row: the file is then written front to
    // back as it is encoded, never held whole in memory.
    std::optional<decltype(db.read())> scope(db.read());
    const auto tables = detail::rows_of_every_table(db);
    std::vector<table_extent> extents;
    std::apply([&](const auto&... t) { (extents.push_back({t.rows.size(), t.next_key, t.bytes}), ...); }, tables);
    write_snapshot_file_streamed(path, header.header_for(extents), [&](detail::row_encoder& out) {
        std::apply([&](const auto&... t) { (detail::encode_rows(out, t.rows), ...); }, tables);
        out.flush();
        scope.reset();  // every row is in the chunks: writers need not wait for the disk
    });
}

/// Saves the whole store to a stream.
/// @throws relstore::snapshot_error (io) when the stream fails.
template <class Store>
void save(const Store& db, std::ostream& out) {
    auto w = detail::encode_store(db);
    write_snapshot_stream(out, w.finish());
}

/// Replaces the store's contents with a snapshot file's. The whole file is
/// read, its checksum verified, rows decoded into a fresh store and checked
/// (keys unique, every foreign key resolving) before the contents are swapped
/// in under the store's write lock; on any error the store is unchanged.
/// @throws relstore::snapshot_error naming the file and, where it applies, the byte offset.
template <class Store>
void load(Store& db, const std::filesystem::path& path, const load_options& options = {}) {
    detail::load_from(db, snapshot_reader::open(path), options);
}

/// As load from a file, reading the stream to its end.
/// @throws relstore::snapshot_error (path "<stream>").
template <class Store>
void load(Store& db, std::istream& in, const load_options& options = {}) {
    detail::load_from(db, snapshot_reader::from_stream(in), options);
}

}  // namespace relstore
