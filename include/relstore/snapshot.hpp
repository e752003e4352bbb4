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
/// Loading matches tables and columns by name, so a snapshot from an older
/// schema loads into a newer one: a column added since takes its default (the
/// value of a value-initialized member); a table added since, or a column or
/// table the program no longer has, is an error unless load_options allows
/// it; a column whose type changed is an error, and so is a snapshot that
/// shares no table with the program. load() returns a load_report of what it
/// applied.

#include <relstore/detail/bucket_prefetch.hpp>
#include <relstore/detail/child_process.hpp>
#include <relstore/detail/insert_behind.hpp>
#include <relstore/detail/threads.hpp>
#include <relstore/snapshot_format.hpp>
#include <relstore/store.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <exception>
#include <filesystem>
#include <iosfwd>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace relstore {

namespace detail {

/// Appends one cell; W is a snapshot_writer or a row_encoder.
template <class W, class V>
void put_cell(W& w, const V& v) {
    if constexpr (is_optional_v<V>) {
        w.put_presence(v.has_value());
        if (v) put_cell(w, *v);
    } else if constexpr (user_column<V>) {
        put_cell(w, column_traits<V>::to_stored(v));
    } else if constexpr (std::is_enum_v<V>) {
        put_cell(w, static_cast<std::underlying_type_t<V>>(v));
    } else if constexpr (std::is_same_v<V, bool>) {
        w.put_bool(v);
    } else if constexpr (is_string_column_v<V>) {
        w.put_string(v);  // std::string and relstore::text: the same cell
    } else if constexpr (is_blob_column_v<V>) {
        w.put_blob(v);
    } else if constexpr (std::is_same_v<V, float>) {
        w.put_f32(v);
    } else if constexpr (std::is_same_v<V, double>) {
        w.put_f64(v);
    } else if constexpr (is_time_point<V>::value) {
        put_cell(w, v.time_since_epoch().count());
    } else if constexpr (is_duration<V>::value) {
        put_cell(w, v.count());
    } else {
        static_assert(std::is_integral_v<V>);
        using U = std::make_unsigned_t<V>;
        if constexpr (sizeof(V) == 1) w.put_u8(static_cast<U>(v));
        else if constexpr (sizeof(V) == 2) w.put_u16(static_cast<U>(v));
        else if constexpr (sizeof(V) == 4) w.put_u32(static_cast<U>(v));
        else w.put_u64(static_cast<U>(v));
    }
}

/// Reads one cell of column `column` (named in the message when a
/// column_traits type refuses its stored value).
template <class V>
void get_cell(row_cursor& c, V& v, std::string_view column = {}) {
    if constexpr (is_optional_v<V>) {
        if (c.get_presence()) {
            typename V::value_type x{};
            get_cell(c, x, column);
            v = std::move(x);
        } else {
            v.reset();
        }
    } else if constexpr (user_column<V>) {
        const auto at = c.offset();
        typename column_traits<V>::stored_type stored{};
        get_cell(c, stored);
        // A type of the user's may refuse what a file holds (a UUID of 3
        // bytes): the load fails at that cell, as for any malformed cell.
        try {
            v = column_traits<V>::from_stored(std::as_const(stored));
        } catch (const std::exception& e) {
            c.fail_at(at, "column " + std::string(column) + " = " + display(stored) +
                              " is refused by its column_traits: " + e.what());
        }
    } else if constexpr (std::is_enum_v<V>) {
        std::underlying_type_t<V> x{};
        get_cell(c, x);
        v = static_cast<V>(x);
    } else if constexpr (std::is_same_v<V, bool>) {
        v = c.get_bool();
    } else if constexpr (is_string_column_v<V>) {
        v = c.get_string();
    } else if constexpr (std::is_same_v<V, bytes>) {
        v = c.get_blob();
    } else if constexpr (std::is_same_v<V, blob_type>) {
        const auto b = c.get_blob();
        v.assign(b.begin(), b.end());
    } else if constexpr (std::is_same_v<V, float>) {
        v = c.get_f32();
    } else if constexpr (std::is_same_v<V, double>) {
        v = c.get_f64();
    } else if constexpr (is_time_point<V>::value) {
        typename V::rep n{};
        get_cell(c, n);
        v = V(typename V::duration(n));
    } else if constexpr (is_duration<V>::value) {
        typename V::rep n{};
        get_cell(c, n);
        v = V(n);
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
    else if constexpr (user_column<V>)
        return cell_size(column_traits<V>::to_stored(v));
    else if constexpr (std::is_enum_v<V>)
        return sizeof(std::underlying_type_t<V>);
    else if constexpr (std::is_same_v<V, bool>)
        return 1;
    else if constexpr (is_string_column_v<V> || is_blob_column_v<V>)
        return 8 + v.size();
    else if constexpr (is_time_point<V>::value || is_duration<V>::value)
        return sizeof(typename V::rep);
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
    constexpr auto f = std::get<I>(fields_of<Row>());
    get_cell(c, row.*(f.member), f.name);
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
        if constexpr (is_string_column_v<std::remove_cvref_t<decltype(row.*(f.member))>>)
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

/// Collects (key, entry(row)) from a hashed key index bucket by bucket.
/// Iterating the index follows one list through every node, a cache miss
/// waiting on the one before (60% of a save); bucket heads are an array, so
/// the rows a few buckets ahead can be fetched while this one is read.
template <class T, class Rows, class Entry>
void collect_by_bucket(const table_state<T>& st, Rows& rows, std::uint64_t& bytes, const Entry& entry) {
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
            rows.emplace_back(table_state<T>::key_of(*it), entry(*it));
            bytes += row_size(*it);
        }
    }
}

/// The foreign key a table's rows are inserted grouped by, when a load can:
/// the first one-to-many key on a single integer column (void when none).
template <class S>
constexpr bool groups_rows() {
    if constexpr (!is_fk<S>) {
        return false;
    } else if constexpr (S::is_unique || S::columns::size != 1) {
        return false;
    } else {
        using V = unwrap_optional_t<typename columns_traits<typename S::columns>::value_type>;
        return std::is_integral_v<V> && !std::is_same_v<V, bool>;
    }
}
template <class Specs>
struct first_grouping {
    using type = void;
};
template <class S, class... Rest>
struct first_grouping<std::tuple<S, Rest...>> {
    using type = std::conditional_t<groups_rows<S>(), S, typename first_grouping<std::tuple<Rest...>>::type>;
};
template <class T>
using grouping_fk = typename first_grouping<typename T::specs>::type;

/// A table's rows in the order a save writes them, and the exact size of their encoding.
template <class T>
struct ordered_rows {
    std::vector<const typename T::row_type*> rows;
    std::uint64_t bytes = 0;
    std::uint64_t next_key = 0;  // for the directory
};

/// Puts the n rows of a table whose load inserts them grouped by a foreign
/// key (decode_grouped), given in key order (row_of(i), its key's value
/// value_of(i)), into out.rows in that very order: rows with a null key
/// first, then by the key's value, ascending, in key order within each
/// value. The load then reads the table front to back, where rows in key
/// order sent it to a random place in the file for each row (a TLB miss a
/// row on 4 KiB pages, the most of what was left of a load). The order is
/// still a function of the rows alone: equal stores give equal files.
/// Returns false, out.rows untouched, where the load would not group them
/// (the same conditions as the load's): key order stays.
template <class T, class ValueOf, class RowOf>
bool place_grouped(ordered_rows<T>& out, std::size_t n, const ValueOf& value_of, const RowOf& row_of) {
    using traits = columns_traits<typename grouping_fk<T>::columns>;
    using K = unwrap_optional_t<typename traits::value_type>;
    using U = std::make_unsigned_t<K>;
    if (n == 0 || !grouping_limits::applies(n, out.bytes)) return false;
    const auto key_of = [](const auto& v) -> K {
        if constexpr (is_optional_v<std::remove_cvref_t<decltype(v)>>)
            return *v;
        else
            return v;
    };
    std::size_t nulls = 0;
    bool any = false;
    K lo{}, hi{};
    for (std::size_t i = 0; i < n; ++i) {
        const auto& v = value_of(i);
        if (traits::has_null(v)) {
            ++nulls;
            continue;
        }
        const K k = key_of(v);
        if (!any) lo = hi = k, any = true;
        lo = std::min(lo, k);
        hi = std::max(hi, k);
    }
    if (!any) return false;
    const U low = static_cast<U>(lo);
    const U span = static_cast<U>(static_cast<U>(hi) - low);
    if (span >= n - nulls) return false;  // the load's counting sort refuses it too
    const auto slot = [&](K k) { return static_cast<std::size_t>(static_cast<U>(static_cast<U>(k) - low)); };
    std::vector<std::uint32_t> next(static_cast<std::size_t>(span) + 2, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const auto& v = value_of(i);
        if (!traits::has_null(v)) ++next[slot(key_of(v)) + 1];
    }
    for (std::size_t v = 1; v < next.size(); ++v) next[v] += next[v - 1];
    std::vector<const typename T::row_type*> placed(n);
    std::size_t null_at = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& v = value_of(i);
        if (traits::has_null(v))
            placed[null_at++] = row_of(i);
        else
            placed[nulls + next[slot(key_of(v))]++] = row_of(i);
    }
    out.rows.swap(placed);
    return true;
}

/// Puts a table's rows in the order a save writes them: key order (hashed
/// tables too, so that equal stores give byte-identical snapshots whatever
/// their hash tables' history), or grouped as a load inserts them
/// (place_grouped).
template <class T>
ordered_rows<T> rows_in_save_order(const table_state<T>& st) {
    using S = grouping_fk<T>;
    using Row = typename T::row_type;
    ordered_rows<T> out;
    out.next_key = next_key_of(st);
    const std::size_t n = st.rows.size();
    if constexpr (T::key::is_hashed) {
        // The keys are copied out beside the rows, and so is the grouping
        // key while the row is at hand: sorting and grouping never touch a
        // row (a second pass over a million rows for their foreign keys,
        // and a copy of the pointers between the two orders, took 35 of the
        // 70 ms the largest table of the benchmark took).
        using key_type = typename table_state<T>::key_type;
        if constexpr (std::is_void_v<S>) {
            std::vector<std::pair<key_type, const Row*>> keyed;
            keyed.reserve(n);
            collect_by_bucket<T>(st, keyed, out.bytes, [](const Row& r) { return &r; });
            sort_by_key(keyed);
            out.rows.reserve(n);
            for (const auto& k : keyed) out.rows.push_back(k.second);
        } else {
            using traits = columns_traits<typename S::columns>;
            using V = typename traits::value_type;
            std::vector<std::pair<key_type, std::pair<V, const Row*>>> keyed;
            keyed.reserve(n);
            collect_by_bucket<T>(st, keyed, out.bytes,
                                 [](const Row& r) { return std::pair<V, const Row*>(traits::get(r), &r); });
            sort_by_key(keyed);
            if (!place_grouped(out, n, [&](std::size_t i) -> const V& { return keyed[i].second.first; },
                               [&](std::size_t i) { return keyed[i].second.second; })) {
                out.rows.reserve(n);
                for (const auto& k : keyed) out.rows.push_back(k.second.second);
            }
        }
    } else {
        out.rows.reserve(n);
        for (const auto& r : st.key_index()) {
            out.rows.push_back(&r);
            out.bytes += row_size(r);
        }
        if constexpr (!std::is_void_v<S>) {
            if (!grouping_limits::applies(n, out.bytes)) return out;
            using traits = columns_traits<typename S::columns>;
            // The rows are in key order, each a miss somewhere in the table:
            // their keys are read into an array first, fetched 16 ahead
            // (1 M posts: 12-13 ms without, 10-11 ms with).
            std::vector<typename traits::value_type> values;
            values.reserve(n);
            constexpr std::size_t ahead = 16;
            for (std::size_t i = 0; i < n; ++i) {
#if defined(__GNUC__)
                if (i + ahead < n) __builtin_prefetch(out.rows[i + ahead]);
#endif
                values.push_back(traits::get(*out.rows[i]));
            }
            // out.rows is read until place_grouped swaps the grouped order in.
            place_grouped(out, n, [&](std::size_t i) -> const auto& { return values[i]; },
                          [&](std::size_t i) { return out.rows[i]; });
        }
    }
    return out;
}

/// Runs task(i) for i in [0, n), largest cost first, on this thread and up to
/// `helpers` more; an exception of task(i) is kept and the one of the
/// smallest i rethrown after every task ran, so that the error is the one a
/// load in table order reports. Without threads (or if none can start) the
/// tasks run here, one after another. A thread that finds no task left
/// gives its core to spare, when given.
template <class Task>
void run_largest_first(std::size_t n, const std::vector<std::uint64_t>& cost, std::size_t helpers, Task&& task,
                       spare_cores* spare = nullptr) {
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
    std::vector<std::exception_ptr> failed(n);
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
        for (std::size_t k; (k = next.fetch_add(1, std::memory_order_relaxed)) < n;) {
            try {
                task(order[k]);
            } catch (...) {
                failed[order[k]] = std::current_exception();
            }
        }
        if (spare != nullptr) spare->give_back();
    };
    {
        std::vector<std::thread> threads;
        threads.reserve(helpers);  // so that no push_back throws with threads running
        for (std::size_t h = 0; h < helpers; ++h) {
            threads.push_back(start_optional_thread(work));
            if (!threads.back().joinable()) break;  // fewer threads, same result
        }
        work();
        for (auto& t : threads)
            if (t.joinable()) t.join();
    }
    for (const auto& e : failed)
        if (e) std::rethrow_exception(e);
}

/// Every table's rows in save order, as the read scope q sees them. With
/// threads (and 65,536 rows or more, where they pay), tables are put in
/// order in parallel, the largest first: for the benchmark's 1.6 M rows that
/// was 70 ms on one thread, 45 of them the largest table's, before a save
/// could write its first byte (the header needs every table's size).
template <class... Tables>
std::tuple<ordered_rows<Tables>...> rows_of_every_table(const reader<store<Tables...>>& q, bool threads) {
    std::tuple<ordered_rows<Tables>...> out;
    constexpr std::size_t n = sizeof...(Tables);
    const std::vector<std::uint64_t> cost{q.template state<Tables>().rows.size()...};
    std::uint64_t total = 0;
    for (const auto c : cost) total += c;
    constexpr std::uint64_t threads_pay_from = std::uint64_t{1} << 16;
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t helpers = !threads || total < threads_pay_from ? 0 : std::min(cores, n) - 1;
    run_largest_first(n, cost, helpers, [&](std::size_t i) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((I == i ? void(std::get<I>(out) = rows_in_save_order(q.template state<Tables>())) : void()), ...);
        }(std::index_sequence_for<Tables...>{});
    });
    return out;
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

/// Encodes a store as the read scope q sees it.
template <class Store>
void encode_tables(const reader<Store>& q, snapshot_writer& w) {
    std::size_t ti = 0;
    Store::for_each_table([&]<class T>(T*) {
        const auto& st = q.template state<T>();
        w.begin_table(ti++);
        encode_rows(w, rows_in_save_order(st).rows);
        w.end_table(st.rows.size(), next_key_of(st));
    });
}

/// Room for a whole image (the stream save), on the generous side: text
/// longer than the small string buffer lives outside the row, and growing a
/// large image copies it into fresh pages (28,000 page faults for 145 MB).
/// Address space is cheap: pages never written are never faulted in.
template <class Store>
std::size_t size_estimate(const reader<Store>& q) {
    std::size_t n = 0;
    Store::for_each_table([&]<class T>(T*) {
        n += q.template state<T>().rows.size() * 2 * (sizeof(typename T::row_type) + 8);
    });
    return n + 4096;
}

/// Encodes a whole store under a read scope; the scope ends before any I/O.
template <class Store>
snapshot_writer encode_store(const Store& db) {
    auto scope = db.read();
    snapshot_writer w(describe<Store>(), size_estimate(scope));
    encode_tables(scope, w);
    return w;
}

/// Writes the store as the read scope q sees it to path, front to back;
/// calls release() once every row is encoded (the scope is no longer needed).
/// threaded: a second thread writes while this one encodes, and tables are
/// put in order in parallel.
template <class Store, class Release>
void save_view(const reader<Store>& q, const std::filesystem::path& path, bool threaded, Release&& release) {
    snapshot_writer header(describe<Store>());
    // Every table's rows are put in order and measured first, so the header
    // is complete before the first row: the file is then written front to
    // back as it is encoded, never held whole in memory.
    const auto tables = rows_of_every_table(q, threaded);
    std::vector<table_extent> extents;
    std::apply([&](const auto&... t) { (extents.push_back({t.rows.size(), t.next_key, t.bytes}), ...); }, tables);
    write_snapshot_file_streamed(
        path, header.header_for(extents),
        [&](detail::row_encoder& out) {
            std::apply([&](const auto&... t) { (detail::encode_rows(out, t.rows), ...); }, tables);
            out.flush();
            release();
        },
        threaded);
}

[[noreturn]] inline void load_fail(const snapshot_reader& r, errc code, std::optional<std::uint64_t> offset,
                                   const std::string& msg) {
    throw_snapshot_error(code, r.name(), offset, msg);
}

/// Decodes the rows of one snapshot table into Row, through the load plan's
/// column mapping when the columns differ from the program's (an indirect
/// call per cell only on that path).
template <class Row>
class row_decoder {
public:
    row_decoder(const table_info& have, const load_plan::table& plan) : same_(plan.same_columns) {
        if (same_) return;
        static constexpr auto getters = field_getters<Row>();
        steps_.reserve(have.columns.size());
        for (std::size_t i = 0; i < have.columns.size(); ++i) {
            const auto to = plan.column_target[i];
            steps_.push_back({to == load_plan::no_column ? nullptr : getters[to], have.columns[i].type});
        }
    }
    void read(row_cursor& cur, Row& row) const {
        if (same_) {
            for_each_field<Row>([&](const auto& f) { get_cell(cur, row.*(f.member), f.name); });
            return;
        }
        for (const auto& s : steps_) {
            if (s.get != nullptr)
                s.get(cur, row);
            else
                cur.skip_value(s.type);
        }
    }

private:
    struct step {
        void (*get)(row_cursor&, Row&);
        column_type type;
    };
    bool same_;
    std::vector<step> steps_;
};

/// Calls f(row, offset) for every row of T's table in the snapshot, in file
/// order, then checks that the table's bytes were used up.
template <class T, class F>
void for_each_loaded_row(const snapshot_reader& r, const load_plan::table& plan, F&& f) {
    using Row = typename T::row_type;
    const std::size_t fi = *plan.source;
    const row_decoder<Row> decoder(r.schema().tables[fi], plan);
    auto cur = r.rows(fi);
    const std::uint64_t n = r.table(fi).row_count;
    for (std::uint64_t i = 0; i < n; ++i) {
        const auto at = cur.offset();
        Row row{};
        decoder.read(cur, row);
        f(row, at);
    }
    cur.finish();
}

/// Sizes T's hashed indexes ahead of the rows that arrive. The row count a
/// file declares is only a claim until its rows are decoded: a file of a few
/// MiB may declare millions of one-byte rows and be refused at the second,
/// and reserving buckets for all of them cost 25 times the file. So the first
/// reserve is only what half of the table's bytes in the file would take in
/// bucket pointers (the declared count, for rows of a realistic size, so the
/// index is sized once), and beyond that buckets grow in steps of 8 times the
/// rows present, up to the declared count: a few rehashes instead of the one
/// reserve, and past the first never more than 8 buckets per row loaded.
template <class T>
class index_growth {
public:
    index_growth(std::uint64_t declared, std::uint64_t bytes) noexcept
        : declared_(declared),
          first_(std::max<std::uint64_t>(
              first_step, bytes / (2 * sizeof(void*) * std::max<std::size_t>(hashed_index_count<T>, 1)))) {}
    void before_insert(table_state<T>& st) {
        if constexpr (hashed_index_count<T> > 0) {
            if (st.rows.size() < room_) return;
            const std::uint64_t want = room_ == 0 ? first_ : 8 * std::uint64_t{st.rows.size()};
            room_ = static_cast<std::size_t>(std::min(declared_, std::max(want, first_step)));
            for_each_spec<T>([&]<class S>(S*) {
                if constexpr (S::is_hashed) st.rows.template get<S>().reserve(room_);
            });
        }
    }

private:
    static constexpr std::uint64_t first_step = 1024;
    std::uint64_t declared_;
    std::uint64_t first_;
    std::size_t room_ = 0;
};

/// Calls f((Spec*)nullptr) for T's key, then its other indexes, then its
/// foreign keys: the order in which the snapshot's schema lists them, and
/// the order in which a row's clashes are reported (as verify does).
template <class T, class F>
void for_each_spec_in_schema_order(F&& f) {
    for_each_spec<T>([&]<class S>(S*) {
        if constexpr (std::is_same_v<typename S::spec_kind, key_tag>) f(static_cast<S*>(nullptr));
    });
    for_each_spec<T>([&]<class S>(S*) {
        if constexpr (std::is_same_v<typename S::spec_kind, index_tag>) f(static_cast<S*>(nullptr));
    });
    for_each_spec<T>([&]<class S>(S*) {
        if constexpr (is_fk<S>) f(static_cast<S*>(nullptr));
    });
}

template <class T>
inline constexpr bool has_store_checked_unique = std::apply(
    [](auto... s) { return (index_for_spec<decltype(s)>::checked_by_store || ...); }, typename T::specs{});

/// Inserts a decoded row, refusing NaN in a column an index covers and the
/// first clash with a row before it: the key, then each unique index and
/// one-to-one foreign key (nulls never clash).
template <class T>
void insert_loaded(const snapshot_reader& r, table_state<T>& st, typename T::row_type& row, std::uint64_t at) {
    // Before the insert: NaN in an ordered index breaks its order for every other row.
    if (const auto col = indexed_nan_column<T>(row); !col.empty())
        load_fail(r, errc::bad_snapshot, at, integrity_text::nan_in_indexed_column(T::name, col));
    // The program's checks hold for every stored row, loaded ones too (the
    // file cannot say: relstore verify, without the program, does not run them).
    if constexpr (std::tuple_size_v<typename T::checks> != 0) {
        if (auto failed = failed_check<T>(row))
            load_fail(r, errc::bad_snapshot, at, "table '" + std::string(T::name) + "': " + failed->message);
    }
    // A table's rows come in key order, unless grouped by a foreign key:
    // the hint at the end then links each at once, without a descent of the
    // key index (a hint that does not fit costs a plain insert).
    const auto before = st.rows.size();
    const auto pos = st.rows.insert(st.rows.end(), std::move(row));
    const bool inserted = st.rows.size() != before;
    if constexpr (!has_store_checked_unique<T>) {
        if (inserted) return;
    }
    // Boost.MultiIndex does not move from a row it refuses, so row is intact
    // when it was refused. A unique spec over nullable columns is a non-unique
    // index: it clashes when the row just inserted has company.
    const auto& probe = inserted ? *pos : row;
    std::string why;
    for_each_spec_in_schema_order<T>([&]<class S>(S*) {
        if constexpr (S::is_unique) {
            if (!why.empty() || (inserted && !index_for_spec<S>::checked_by_store)) return;
            using traits = columns_traits<typename S::columns>;
            const auto v = traits::get(probe);
            if (traits::has_null(v)) return;
            const auto [first, last] = st.rows.template get<S>().equal_range(v);
            if (std::distance(first, last) > (inserted ? 1 : 0))
                why = std::is_same_v<typename S::spec_kind, key_tag>
                          ? integrity_text::duplicate_key(T::name, traits::names(), display(v))
                          : integrity_text::duplicate_unique(T::name, traits::names(), display(v));
        }
    });
    if (!why.empty()) load_fail(r, errc::bad_snapshot, at, why);
    if (!inserted)  // every unique index was asked: a library bug, but not a silent one
        load_fail(r, errc::bad_snapshot, at, "table '" + std::string(T::name) + "': a row is refused by an index");
}

/// Checks a table's next auto key against its type and its rows, or, when
/// the snapshot's key was not an auto key, continues after the largest key.
template <class T>
void load_next_key(const snapshot_reader& r, table_state<T>& st, const table_info& have,
                   const snapshot_table_stats& stats,
                   std::optional<typename table_state<T>::key_type> largest) {
    using K = typename table_state<T>::key_type;
    if (!have.auto_key) {
        // The key became an auto key since the snapshot: continue after the largest.
        if (largest && !(*largest < st.next_key)) st.next_key = *largest + 1;
        return;
    }
    const std::string_view table = T::name;
    const std::uint64_t raw = stats.next_auto_key;
    if constexpr (std::is_signed_v<K>) {
        const auto n = std::bit_cast<std::int64_t>(raw);
        if (n < std::numeric_limits<K>::min() || n > std::numeric_limits<K>::max())
            load_fail(r, errc::bad_snapshot, std::nullopt,
                      integrity_text::next_key_unfit(table, display(n), to_string(column_type_of<K>.kind)));
    } else if (raw > std::numeric_limits<K>::max()) {
        load_fail(r, errc::bad_snapshot, std::nullopt,
                  integrity_text::next_key_unfit(table, display(raw), to_string(column_type_of<K>.kind)));
    }
    // A next key at or below a stored key would hand out that key again.
    const K next = static_cast<K>(raw);
    const K first = st.next_key;  // a fresh table's
    if (next < first)
        load_fail(r, errc::bad_snapshot, std::nullopt,
                  integrity_text::next_key_below_first(table, display(next), display(first)));
    // The counter stays at the largest value once a row has it (an auto
    // key is never that value): exhausted, not behind.
    const bool exhausted = next == std::numeric_limits<K>::max();
    if (largest && !(*largest < next) && !exhausted)
        load_fail(r, errc::bad_snapshot, std::nullopt,
                  integrity_text::next_key_not_above(table, display(next), display(*largest)));
    st.next_key = next;
}

/// The values of foreign key S that a decode collects for checking them
/// afterwards (nothing for a spec that is not a foreign key).
template <class S>
struct fk_values {
    template <class Row>
    void add(const Row&) {}
};
template <class S>
    requires is_fk<S>
struct fk_values<S> {
    using traits = columns_traits<typename S::columns>;
    std::vector<typename traits::value_type> values;
    template <class Row>
    void add(const Row& row) {
        auto v = traits::get(row);
        if (!traits::has_null(v)) values.push_back(std::move(v));
    }
};
template <class Specs>
struct fk_values_of;
template <class... S>
struct fk_values_of<std::tuple<S...>> {
    using type = std::tuple<fk_values<S>...>;
};

/// What decoding a table learned on the way, for the checks after it.
template <class T>
struct decoded_table {
    using key_type = typename table_state<T>::key_type;
    /// The largest key of the rows (tracked for hashed keys, which have no last row).
    std::optional<key_type> largest;
    /// Each foreign key's values, in decode order, so that they are checked
    /// after the decode without walking the table's nodes again (a cache
    /// miss per row in hash order).
    typename fk_values_of<typename T::specs>::type references;
    /// When the rows went in grouped by grouping_fk: that key's distinct
    /// values, ascending, so that it is checked once per parent (and not
    /// collected in `references`).
    std::vector<std::int64_t> grouped_values;
    bool grouped = false;

    void saw(const typename T::row_type& row) {
        if constexpr (T::key::is_hashed) {
            const auto k = table_state<T>::key_of(row);
            if (!largest || *largest < k) largest = k;
        }
        std::apply(
            [&](auto&... refs) {
                (
                    [&]<class S>(fk_values<S>& log) {
                        if constexpr (std::is_same_v<S, grouping_fk<T>>) {
                            if (grouped) return;
                        }
                        log.add(row);
                    }(refs),
                    ...);
            },
            references);
    }
};

/// Thrown inside a grouped decode when the file holds something to refuse:
/// the table is then decoded again in file order, so that the error is the
/// one a file-order load reports (the first offending row of the file).
struct refuse_in_file_order {};
/// Thrown inside a grouped decode of a table's rows in file order when they
/// turn out not to be grouped: they are then put in that order first.
struct not_in_group_order {};

/// Reads past a cell without decoding it into a value (strings are not copied).
template <class V>
void skip_cell(row_cursor& c) {
    if constexpr (is_optional_v<V>) {
        if (c.get_presence()) skip_cell<typename V::value_type>(c);
    } else if constexpr (is_string_column_v<V>) {
        (void)c.get_string();
    } else {
        V v{};
        get_cell(c, v);
    }
}

/// Decodes T's rows grouped by the foreign key S (stable: in file order within
/// a group) when that pays and is safe; returns false, having changed nothing,
/// when it does not apply. A one-to-many index inserted in file order finds
/// each parent's group anywhere in memory, two cache misses per row (35% of
/// a load); grouped, the group was just touched, the parent is checked once,
/// and a parent's children, nodes and strings, end up side by side (a
/// staging of decoded rows would put the strings in file order: destroying
/// the store then took 5 times as long, freeing them in random order).
/// Memory: 4 bytes and the key per row, and 4 bytes per value of the key's
/// range (no wider than the row count); it applies only to rows of 24 bytes
/// or more on average, so that this stays below the table's size in the file.
/// A file saved by relstore holds the rows grouped already: they are decoded
/// front to back and checked to be, without the pass that orders them (an
/// older file's first out-of-order row sends it to that pass). From
/// insert_behind::from_rows rows the inserts move to a thread of their own
/// as soon as spare has a core for it.
template <class T, class S>
bool decode_grouped(const snapshot_reader& r, const load_plan::table& plan, table_state<T>& st,
                    decoded_table<T>& out, spare_cores* spare) {
    using Row = typename T::row_type;
    using traits = columns_traits<typename S::columns>;
    using V = typename traits::value_type;
    using K = unwrap_optional_t<V>;
    using U = std::make_unsigned_t<K>;
    constexpr auto member = []<auto M>(column_list<M>) { return M; }(typename S::columns{});
    constexpr std::size_t field = field_index_of<member>();
    const std::size_t fi = *plan.source;
    const auto& have = r.schema().tables[fi];
    const auto& stats = r.table(fi);
    if (!grouping_limits::applies(stats.row_count, stats.rows_size)) return false;
    // The snapshot column that holds the foreign key.
    std::size_t column = have.columns.size();
    for (std::size_t i = 0; i < have.columns.size(); ++i)
        if (plan.same_columns ? i == field : plan.column_target[i] == field) column = i;
    if (column == have.columns.size()) return false;  // defaulted: every row has the same value

    // The rows in `order` (offsets from the table's first byte), each
    // fetched from the file a few ahead. check: order is to be filled with
    // the rows in file order, which must turn out grouped (else
    // not_in_group_order is thrown), and out.grouped_values with the
    // values met.
    const auto insert_grouped = [&](std::vector<std::uint32_t>& order, bool check) {
        out.grouped = true;
        try {
            const row_decoder<Row> decoder(have, plan);
            // Rows out of file order are read in memory: a streamed reader's
            // table is read whole for them (an older file's, see below).
            std::optional<held_rows> held;
            std::optional<row_cursor> base;
            const std::byte* rows = nullptr;
            if (!check) {
                held.emplace(r.hold_rows(fi));
                base.emplace(held->rows());
                rows = held->data();
            }
            auto in_file_order = r.rows(fi);
            bool any_value = false;  // the check's state: a non-null value met, the last one
            K last{};
            index_growth<T> growth(order.size(), stats.rows_size);
            // The nodes in one slab, so that each parent's children lie side by
            // side; at most twice the table's bytes in the file.
            st.reserve_nodes(std::min<std::uint64_t>(order.size(), 2 * stats.rows_size / st.pool().block_size()));
            // Rows are decoded `lead` ahead of their insert, with their buckets
            // prefetched (bucket_prefetch.hpp), and fetched from the file
            // `ahead` further on.
            constexpr std::size_t lead = 8, ahead = 8;
            bucket_prefetch<T> buckets;
            const auto decode = [&](std::size_t j, Row& row) {
                if (check) {  // rows come in order: j is one more than the last
                    order[j] = static_cast<std::uint32_t>(in_file_order.offset() - stats.rows_offset);
                    decoder.read(in_file_order, row);
                    const V v = traits::get(row);
                    if (traits::has_null(v)) {
                        if (any_value) throw not_in_group_order{};
                        return;
                    }
                    K k;
                    if constexpr (is_optional_v<V>)
                        k = *v;
                    else
                        k = v;
                    if (any_value && k < last) throw not_in_group_order{};
                    if (!any_value || k != last) out.grouped_values.push_back(static_cast<std::int64_t>(k));
                    any_value = true;
                    last = k;
                    return;
                }
#if defined(__GNUC__)
                if (j + ahead < order.size()) {
                    __builtin_prefetch(rows + order[j + ahead]);
                    __builtin_prefetch(rows + order[j + ahead] + 64);
                }
#endif
                auto cur = base->at(stats.rows_offset + order[j]);
                decoder.read(cur, row);
            };
            const auto insert = [&](std::size_t i, Row& row) {
                growth.before_insert(st);
                out.saw(row);
                insert_loaded<T>(r, st, row, stats.rows_offset + order[i]);
                buckets.learn(st);
            };
            // Decoded and inserted on this thread, `lead` rows apart, until a
            // core is free: then the inserts go to a thread there, behind this
            // one's decode (insert_behind.hpp).
            const std::size_t n = order.size();
            std::array<Row, lead> ring;
            const auto decode_into_ring = [&](std::size_t j) {
                Row& row = ring[j % lead];
                row = Row{};
                decode(j, row);
                buckets.prefetch(st, row);
            };
            for (std::size_t j = 0; j < std::min(lead, n); ++j) decode_into_ring(j);
            inserts_on_spare_core<Row> inserts(spare, n);
            static_assert(insert_behind<Row>::lead == lead);
            std::size_t i = 0;  // rows inserted
            for (; i < n; ++i) {
                if (inserts.may_move(i) &&
                    inserts.move(i, [&, first = i](std::size_t k, Row& row, const Row* later) {
                        if (later != nullptr) buckets.prefetch(st, *later);
                        insert(first + k, row);
                    }))
                    break;
                insert(i, ring[i % lead]);
                if (i + lead < n) decode_into_ring(i + lead);
            }
            if (inserts) {
                // The rows decoded already first, then the rest straight into its ring.
                inserts.give_rest(i, [&](std::size_t j, Row& row) {
                    if (j < i + lead) {
                        row = std::move(ring[j % lead]);
                    } else {
                        row = Row{};
                        decode(j, row);
                    }
                });
            }
            if (check) in_file_order.finish();
        } catch (const snapshot_error&) {
            throw refuse_in_file_order{};
        }
    };

    // A file relstore saved holds the rows in that order already (see
    // place_grouped): they are decoded front to back, with no first pass.
    {
        std::vector<std::uint32_t> order(static_cast<std::size_t>(stats.row_count));
        try {
            insert_grouped(order, true);
            return true;
        } catch (const not_in_group_order&) {
            // An older snapshot, in key order: the rows decoded so far go.
            table_state<T> empty;
            swap(st, empty);
            out = decoded_table<T>{};
        }
    }

    // Pass 1: where each row starts (from the table's first byte) and its
    // key, checking that the rows parse; a malformed row is left to the
    // file-order decode, which names it.
    std::vector<std::uint32_t> offsets;
    std::vector<K> values;
    std::vector<std::uint32_t> nulls;  // rows with a null key, inserted first
    try {
        auto cur = r.rows(fi);
        offsets.reserve(static_cast<std::size_t>(stats.row_count));
        values.reserve(static_cast<std::size_t>(stats.row_count));
        for (std::uint64_t i = 0; i < stats.row_count; ++i) {
            const auto at = static_cast<std::uint32_t>(cur.offset() - stats.rows_offset);
            V v{};
            if (plan.same_columns) {
                std::size_t k = 0;
                for_each_field<Row>([&](const auto& f) {
                    using C = typename std::decay_t<decltype(f)>::value_type;
                    if (k++ == column)
                        get_cell(cur, v);
                    else
                        skip_cell<C>(cur);
                });
            } else {
                for (std::size_t c = 0; c < have.columns.size(); ++c) {
                    if (c == column)
                        get_cell(cur, v);
                    else
                        cur.skip_value(have.columns[c].type);
                }
            }
            if (traits::has_null(v)) {
                nulls.push_back(at);
            } else {
                offsets.push_back(at);
                if constexpr (is_optional_v<V>)
                    values.push_back(*v);
                else
                    values.push_back(v);
            }
        }
        cur.finish();
    } catch (const snapshot_error&) {
        return false;
    }
    if (values.empty()) return false;
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    const U low = static_cast<U>(*lo);
    const U span = static_cast<U>(static_cast<U>(*hi) - low);
    if (span >= values.size()) return false;  // too sparse for a counting sort
    // A counting sort by value, stable: file order within each group.
    std::vector<std::uint32_t> next(static_cast<std::size_t>(span) + 2, 0);
    const auto slot = [&](K v) { return static_cast<std::size_t>(static_cast<U>(static_cast<U>(v) - low)); };
    for (const K v : values) ++next[slot(v) + 1];
    out.grouped_values.clear();
    for (std::size_t v = 0; v + 1 < next.size(); ++v)
        if (next[v + 1] != 0)
            out.grouped_values.push_back(static_cast<std::int64_t>(static_cast<K>(static_cast<U>(low + v))));
    for (std::size_t v = 1; v < next.size(); ++v) next[v] += next[v - 1];
    std::vector<std::uint32_t> order(nulls.size() + offsets.size());
    std::copy(nulls.begin(), nulls.end(), order.begin());
    for (std::size_t i = 0; i < offsets.size(); ++i) order[nulls.size() + next[slot(values[i])]++] = offsets[i];
    std::vector<std::uint32_t>().swap(offsets);
    std::vector<K>().swap(values);
    std::vector<std::uint32_t>().swap(next);

    insert_grouped(order, false);
    return true;
}

/// As for_each_loaded_row, for rows that insert(row, at) puts into st: each
/// row is decoded `lead` rows before its insert, and its buckets in st's
/// hashed indexes are prefetched meanwhile, then, `heads_lead` rows before,
/// the first node of each bucket (bucket_prefetch.hpp; a grouped decode does
/// only the first: there the second made the posts' decode slower, 72 to
/// 78 ms). A row that fails to decode fails the load only once every row
/// before it went in, so the error is still the first of the file. From
/// insert_behind::from_rows rows the inserts move to a thread of their own
/// as soon as spare has a core for it (as in decode_grouped).
template <class T, class Insert>
void insert_loaded_rows_in_file_order(const snapshot_reader& r, const load_plan::table& plan,
                                      const table_state<T>& st, Insert&& insert, spare_cores* spare = nullptr) {
    using Row = typename T::row_type;
    const std::size_t fi = *plan.source;
    const row_decoder<Row> decoder(r.schema().tables[fi], plan);
    auto cur = r.rows(fi);
    const std::uint64_t n = r.table(fi).row_count;
    constexpr std::size_t lead = 16, heads_lead = 8;
    struct decoded_row {
        Row row;
        std::uint64_t at = 0;
        std::exception_ptr failed;
    };
    std::array<decoded_row, lead> ring;
    bucket_prefetch<T> buckets;
    std::uint64_t decoded = 0;
    bool stopped = false;  // a row failed to decode: the cursor cannot go past it
    const auto decode_next = [&] {
        decoded_row& d = ring[decoded++ % lead];
        d.row = Row{};
        d.at = cur.offset();
        try {
            decoder.read(cur, d.row);
            buckets.prefetch(st, d.row);
        } catch (...) {
            d.failed = std::current_exception();
            stopped = true;
        }
    };
    while (!stopped && decoded < std::min<std::uint64_t>(n, lead)) decode_next();
    // On this thread until a core is free, then as decode_grouped does.
    inserts_on_spare_core<decoded_row> inserts(spare, static_cast<std::size_t>(n));
    std::uint64_t i = 0;  // rows inserted
    for (; i < n; ++i) {
        if (inserts.may_move(i) &&
            inserts.move(i, [&](std::size_t, decoded_row& d, const decoded_row* later) {
                if (later != nullptr) buckets.prefetch(st, later->row);
                insert(d.row, d.at);
                buckets.learn(st);
            }))
            break;
        decoded_row& d = ring[i % lead];
        if (d.failed) std::rethrow_exception(d.failed);
        insert(d.row, d.at);
        buckets.learn(st);
        if (i + heads_lead < decoded && !ring[(i + heads_lead) % lead].failed)
            buckets.prefetch_heads(st, ring[(i + heads_lead) % lead].row);
        if (!stopped && decoded < n) decode_next();
    }
    if (inserts) {
        // The rows decoded already first (one that failed fails the load
        // there), then the rest straight into its ring.
        inserts.give_rest(static_cast<std::size_t>(i), [&](std::size_t j, decoded_row& d) {
            if (j < decoded) {
                if (ring[j % lead].failed) std::rethrow_exception(ring[j % lead].failed);
                d = std::move(ring[j % lead]);
            } else {
                d.row = Row{};
                d.at = cur.offset();
                decoder.read(cur, d.row);
            }
        });
    }
    cur.finish();
}

/// Decodes T's rows into fresh's table: grouped by a foreign key where that
/// applies (decode_grouped), else in file order; any refusal is the one the
/// file-order decode reports.
template <class Store, class T>
decoded_table<T> decode_table(Store& fresh, const snapshot_reader& r, const load_plan::table& plan,
                              spare_cores* spare = nullptr) {
    auto& st = fresh.template state<T>();
    const auto& stats = r.table(*plan.source);
    decoded_table<T> out;
    bool done = false;
    if constexpr (!std::is_void_v<grouping_fk<T>>) {
        try {
            done = decode_grouped<T, grouping_fk<T>>(r, plan, st, out, spare);
        } catch (const refuse_in_file_order&) {
            table_state<T> empty;
            swap(st, empty);
            out = decoded_table<T>{};
        }
    }
    if (!done) {
        index_growth<T> growth(stats.row_count, stats.rows_size);
        insert_loaded_rows_in_file_order<T>(
            r, plan, st,
            [&](typename T::row_type& row, std::uint64_t at) {
                growth.before_insert(st);
                out.saw(row);
                insert_loaded<T>(r, st, row, at);
            },
            spare);
    }
    if constexpr (T::key::is_auto) {
        std::optional<typename table_state<T>::key_type> largest = out.largest;
        if constexpr (!T::key::is_hashed) {
            if (!st.rows.empty()) largest = table_state<T>::key_of(*std::prev(st.key_index().end()));
        }
        load_next_key<T>(r, st, r.schema().tables[*plan.source], stats, largest);
    }
    return out;
}

/// Checks every foreign key of a decoded store, and that acyclic
/// self-references have no cycle. Both are first checked over the containers;
/// only a store that fails is read again in file order, so that the error
/// names the first offending row of the file and its offset, as verify does.
/// A grouped decode (decode_grouped) knows the distinct values of its
/// foreign key, and checks each parent once instead of once per row.
template <class Store, class... Tables>
void check_references(const Store& db, const snapshot_reader& r, const load_plan& plan,
                      const std::tuple<decoded_table<Tables>...>& decoded) {
    std::size_t ti = 0;
    Store::for_each_table([&]<class T>(T*) {
        using Row = typename T::row_type;
        const auto& tp = plan.tables[ti++];
        const auto& st = db.template state<T>();
        const auto& seen = std::get<decoded_table<T>>(decoded);
        for_each_spec<T>([&]<class S>(S*) {
            if constexpr (is_fk<S>) {
                using traits = columns_traits<typename S::columns>;
                using P = parent_of<S, T>;
                using PK = typename table_state<P>::key_type;
                const auto& pidx = db.template state<P>().key_index();
                const auto dangles = [&](const Row& row) {
                    return !traits::has_null(traits::get(row)) &&
                           pidx.find(fk_value_as_parent_key<S, PK>(row)) == pidx.end();
                };
                bool any = false;
                if constexpr (std::is_same_v<S, grouping_fk<T>>) {
                    if (seen.grouped) {
                        using K = unwrap_optional_t<typename traits::value_type>;
                        any = std::any_of(seen.grouped_values.begin(), seen.grouped_values.end(),
                                          [&](std::int64_t v) { return pidx.find(PK(static_cast<K>(v))) == pidx.end(); });
                    }
                }
                if (!any) {
                    const auto& values = std::get<fk_values<S>>(seen.references).values;
                    any = std::any_of(values.begin(), values.end(), [&](const auto& v) {
                        return pidx.find(as_parent_key<S, PK>(v)) == pidx.end();
                    });
                }
                if (any)
                    for_each_loaded_row<T>(r, tp, [&](const Row& row, std::uint64_t at) {
                        if (dangles(row))
                            load_fail(r, errc::bad_snapshot, at,
                                      integrity_text::dangling_reference(T::name, traits::names(),
                                                                         display(traits::get(row)), P::name));
                    });
                if constexpr (S::is_acyclic) {
                    using K = typename table_state<T>::key_type;
                    const auto& idx = st.key_index();
                    std::set<K> rooted;  // rows whose chain of parents is known to end
                    std::set<K> path;
                    // The key at which the chain of parents from start meets itself, if it does.
                    const auto closes_at = [&](const Row& start) -> std::optional<K> {
                        path.clear();
                        const Row* row = &start;
                        for (;;) {
                            const K k = table_state<T>::key_of(*row);
                            if (rooted.contains(k)) break;
                            if (!path.insert(k).second) return k;
                            if (traits::has_null(traits::get(*row))) break;
                            const auto up = idx.find(fk_value_as_parent_key<S, K>(*row));
                            if (up == idx.end()) break;
                            row = &*up;
                        }
                        rooted.insert(path.begin(), path.end());
                        return std::nullopt;
                    };
                    if (std::any_of(st.rows.begin(), st.rows.end(), [&](const Row& row) { return closes_at(row); })) {
                        rooted.clear();
                        for_each_loaded_row<T>(r, tp, [&](const Row& row, std::uint64_t at) {
                            if (const auto k = closes_at(row))
                                load_fail(r, errc::bad_snapshot, at,
                                          integrity_text::cycle(T::name, traits::names(), display(*k)));
                        });
                    }
                }
            }
        });
    });
}

/// A decoded_table for each table of a store's tuple of tables.
template <class Tables>
struct decoded_tables;
template <class... Tables>
struct decoded_tables<std::tuple<Tables...>> {
    using type = std::tuple<decoded_table<Tables>...>;
};

/// Decodes a validated snapshot into a fresh store and checks it; report,
/// when given, receives the schema evolution applied. Tables are decoded in
/// parallel on the available cores (each table by one thread, the largest
/// first) when the snapshot is large enough to pay for the threads. For a
/// streamed reader, ends with its check_unchanged().
template <class Store>
std::unique_ptr<Store> decode_store(const snapshot_reader& r, const load_options& opt,
                                    load_report* report = nullptr) {
    auto plan = plan_load(r, describe<Store>(), opt);
    auto fresh = std::make_unique<Store>();
    typename decoded_tables<typename Store::tables>::type decoded;
    constexpr std::size_t n = std::tuple_size_v<typename Store::tables>;
    std::vector<std::uint64_t> cost(n, 0);
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < n; ++i)
        if (plan.tables[i].source) total += cost[i] = r.table(*plan.tables[i].source).rows_size;
    constexpr std::uint64_t threads_pay_from = std::uint64_t{4} << 20;
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t helpers = total < threads_pay_from ? 0 : std::min(cores, n) - 1;
    // Cores no table thread uses, and those freed as threads run out of
    // tables, go to the inserts of a large table (insert_behind.hpp).
    spare_cores spare(spare_cores_for_tests >= 0 ? spare_cores_for_tests
                      : total < threads_pay_from  ? 0
                                                  : static_cast<std::ptrdiff_t>(cores - helpers - 1));
    run_largest_first(
        n, cost, helpers,
        [&](std::size_t i) {
            std::size_t ti = 0;
            Store::for_each_table([&]<class T>(T*) {
                if (ti++ == i && plan.tables[i].source)
                    std::get<decoded_table<T>>(decoded) =
                        decode_table<Store, T>(*fresh, r, plan.tables[i], &spare);
            });
        },
        spare_cores_for_tests >= 0 ? nullptr : &spare);
    check_references(*fresh, r, plan, decoded);
    // The rows a streamed reader decoded came from the file after its
    // checksum pass: they are those the checksum covered only if the file
    // did not change in between.
    r.check_unchanged();
    if (report != nullptr) *report = std::move(plan.report);
    return fresh;
}

template <class Store>
load_report load_from(Store& db, const snapshot_reader& r, const load_options& opt) {
    load_report report;
    auto fresh = decode_store<Store>(r, opt, &report);
    db.swap_contents(*fresh);
    // The old contents are destroyed here, after the store's lock is released.
    return report;
}

}  // namespace detail

/// How save() takes its view of the store.
struct save_options {
    /// True (the default): the snapshot is written by a child process
    /// (fork(), as Redis's BGSAVE) from a copy-on-write image of the store;
    /// this process holds a read scope only while it forks, so readers and
    /// writers go on during the encoding and the I/O. Pages the store's
    /// writers change meanwhile are copied (at most the store's size).
    /// False: rows are encoded here, inside a read scope, while a second
    /// thread writes them; a writer waits for the encoding.
    bool in_child_process = true;
    /// Nice levels the child runs below the thread that saves (0 to 19; the
    /// system caps the result at 19). The child is background work nobody
    /// waits for but the caller of save(): at 19 (the default) it takes a
    /// core only when readers and writers leave one free, so on a busy
    /// machine the save takes longer and they do not. 0 competes with them
    /// as an equal (relstore_latency, docs/concurrency.md: a never_wait
    /// writer's p99 commit latency during back-to-back saves on 2 busy
    /// cores was 4 ms at 0 and 0.1 ms at 19). While every core stays busy,
    /// a child at 19 gets about 1/70 of one: a save of 0.3 s can take 20 s.
    /// Ignored by a save on the calling thread.
    int child_nice = 19;
};

namespace detail {
/// Writes the state scope holds to path, and resets scope as soon as the
/// rows no longer need it (for a child process: once it is forked). For
/// save and for the journal's checkpoint, which notes its position under
/// the same scope.
template <class Scope>
void save_scope(std::optional<Scope>& scope, const std::filesystem::path& path, const save_options& options) {
    if (options.child_nice < 0 || options.child_nice > 19)
        throw usage_error("save " + quoted_name(path.string()) + ": save_options::child_nice is " +
                          std::to_string(options.child_nice) +
                          "; it must be 0 to 19 (nice levels below the saving thread's priority)");
    if (!options.in_child_process) {
        // Every row is in the chunks before the last writes and the fsync:
        // writers need not wait for the disk.
        save_view(*scope, path, true, [&] { scope.reset(); });
        return;
    }
    // The child reads the scope's copy of the store as it was at the fork;
    // it must not open a scope of its own (another thread of this process
    // may have held the store's lock at that moment).
    const auto& view = *scope;
    run_in_child(
        path.string(), options.child_nice, [&] { save_view(view, path, child_may_start_threads, [] {}); },
        [&] { scope.reset(); });
}
}  // namespace detail

/// Saves the whole store to path, crash-safely (a temporary file in the same
/// directory, fsync, rename, fsync of the directory; then the temporary files
/// of killed saves of path are removed, see write_snapshot_file). The file
/// holds the state of one moment: the last commit before the save's read
/// scope opened. See save_options for who waits.
/// @throws relstore::snapshot_error (io) naming the failed operation; the old file stays.
/// @throws relstore::usage_error when this thread holds the store's write
/// transaction, or options.child_nice is outside 0 to 19 (nothing is written).
template <class Store>
void save(const Store& db, const std::filesystem::path& path, const save_options& options = {}) {
    std::optional<decltype(db.read())> scope(db.read());
    detail::save_scope(scope, path, options);
}

/// Saves the whole store to a stream.
/// @throws relstore::snapshot_error (io) when the stream fails.
template <class Store>
void save(const Store& db, std::ostream& out) {
    auto w = detail::encode_store(db);
    write_snapshot_stream(out, w.finish());
}

/// Replaces the store's contents with a snapshot file's. The file's checksum
/// is verified first, its schema matched to the program's (see
/// load_options), rows decoded into a fresh store and checked (no NaN in an
/// indexed column, keys and unique columns unique, next keys above every
/// key, every foreign key resolving, no cycle through an acyclic
/// self-reference) before the contents are swapped in under the store's
/// write lock; on any error the store is unchanged. The file is read twice
/// through small buffers (snapshot_reader::open_streamed), never held whole:
/// once for the checksum, then table by table as the rows are decoded; a
/// file changed in place between the two is refused (a file renamed over
/// it, as save does, is not a change). Memory: the new contents, and the old
/// ones until the swap (and a table's rows in the file, for a snapshot
/// written before relstore saved rows grouped by their foreign key). Threads: a file of 4 MiB
/// or more is decoded a table per core, the largest first, and a table of
/// 16,384 rows or more has its inserts done on a core the others leave free,
/// behind its decode; the result and any error are those of one thread.
/// @returns the schema evolution applied (empty for an unchanged schema).
/// @throws relstore::snapshot_error naming the file and, where it applies, the
/// byte offset, table, column and value: schema_mismatch when the snapshot
/// shares no table with the program or options do not allow a difference,
/// bad_snapshot for a malformed or inconsistent file.
/// @throws relstore::usage_error when this thread holds a scope of the store,
/// or the store has a journal (relstore::durable, which records
/// transactions, would lose the new contents when reopened).
template <class Store>
load_report load(Store& db, const std::filesystem::path& path, const load_options& options = {}) {
    return detail::load_from(db, snapshot_reader::open_streamed(path), options);
}

/// As load from a file, reading the stream to its end.
/// @throws relstore::snapshot_error (path "<stream>").
template <class Store>
load_report load(Store& db, std::istream& in, const load_options& options = {}) {
    return detail::load_from(db, snapshot_reader::from_stream(in), options);
}

}  // namespace relstore
