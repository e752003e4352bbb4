#pragma once
// The storage of one table: its Boost.MultiIndex container, built from the
// table's specs, with its nodes in a pool of the table's own, plus the undo
// log that makes transactions atomic.

#include <relstore/detail/node_pool.hpp>
#include <relstore/detail/walk.hpp>
#include <relstore/schema.hpp>

#include <boost/multi_index/composite_key.hpp>
#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/key.hpp>
#include <boost/multi_index/ordered_index.hpp>
#include <boost/multi_index/tag.hpp>
#include <boost/multi_index_container.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace relstore::detail {

namespace bmi = boost::multi_index;

/// Hashes strings through string_view so that lookups by string_view or
/// const char* need no std::string; everything else through std::hash, whose
/// value for an engaged optional equals that of its value. The types std::hash
/// does not know are hashed through what they store, by std::hash too: blobs
/// as their bytes, time points and durations as their count, column_traits
/// types (without a std::hash of their own) as their stored value.
struct transparent_hash {
    template <class T>
    std::size_t operator()(const T& v) const noexcept(!user_column<unwrap_optional_t<T>>) {
        if constexpr (std::is_convertible_v<const T&, std::string_view>)
            return std::hash<std::string_view>{}(std::string_view(v));
        else if constexpr (is_byte_range_v<T>)  // blobs, relstore::bytes and the spans they are looked up by
            return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(std::data(v)),
                                                                  std::size(v)));
        else if constexpr (is_duration<T>::value)
            return std::hash<typename T::rep>{}(v.count());
        else if constexpr (is_time_point<T>::value)
            return std::hash<typename T::rep>{}(v.time_since_epoch().count());
        else if constexpr (requires { std::hash<T>{}(v); })
            return std::hash<T>{}(v);
        else if constexpr (is_optional_v<T>)
            return v ? (*this)(*v) : std::hash<std::optional<int>>{}(std::nullopt);
        else
            return (*this)(column_traits<T>::to_stored(v));
    }
};

template <class Columns>
struct columns_traits;

template <auto... Members>
struct columns_traits<column_list<Members...>> {
    static constexpr std::size_t size = sizeof...(Members);
    using first_row = std::tuple_element_t<0, std::tuple<typename member_traits<Members>::row_type...>>;
    static constexpr bool nullable = (is_optional_v<typename member_traits<Members>::value_type> || ...);
    /// The key value: the column's type for one column, a tuple for several.
    using value_type = std::conditional_t<size == 1,
                                          std::tuple_element_t<0, std::tuple<typename member_traits<Members>::value_type...>>,
                                          std::tuple<typename member_traits<Members>::value_type...>>;

    template <class Row>
    static value_type get(const Row& r) {
        if constexpr (size == 1)
            return std::get<0>(std::tie(r.*Members...));
        else
            return value_type{r.*Members...};
    }

    /// True when any column of the key is null (such keys never clash in a
    /// unique index and reference nothing as a foreign key).
    static bool has_null(const value_type& v) {
        if constexpr (size == 1) {
            if constexpr (is_optional_v<value_type>)
                return !v.has_value();
            else
                return false;
        } else {
            return std::apply(
                [](const auto&... xs) {
                    return ([](const auto& x) {
                        if constexpr (is_optional_v<std::decay_t<decltype(x)>>)
                            return !x.has_value();
                        else
                            return false;
                    }(xs) || ...);
                },
                v);
        }
    }

    /// "name", or "(author_id, book_id)".
    static std::string names() {
        std::string out = size == 1 ? "" : "(";
        bool first = true;
        ((out += first ? "" : ", ", first = false, out += column_name<Members>()), ...);
        if (size != 1) out += ')';
        return out;
    }

    static std::vector<std::string> name_list() { return {std::string(column_name<Members>())...}; }

    using key_extractor = bmi::key<Members...>;
    using hasher = std::conditional_t<size == 1, transparent_hash,
                                      bmi::composite_key_hash<std::conditional_t<true, transparent_hash, decltype(Members)>...>>;
    using equal = std::conditional_t<size == 1, std::equal_to<>,
                                     bmi::composite_key_equal_to<std::conditional_t<true, std::equal_to<>, decltype(Members)>...>>;
    using less = std::conditional_t<size == 1, std::less<>,
                                    bmi::composite_key_compare<std::conditional_t<true, std::less<>, decltype(Members)>...>>;
};

/// The Boost.MultiIndex index a spec stands for, tagged with the spec itself.
/// A unique spec over a nullable column is a non-unique index whose
/// uniqueness the store checks, because null must not clash with null.
template <class A, class B>
struct concat_columns;
template <auto... A, auto... B>
struct concat_columns<column_list<A...>, column_list<B...>> {
    using type = column_list<A..., B...>;
};

/// The columns an index is built on: a spec's own, except that an ordered
/// index that may hold equal values (a non-unique index or foreign key, or a
/// unique one over nullable columns) also orders by the row's key. Rows with
/// equal values then come in key order, and always in the same order: a
/// rollback that re-inserts a row puts it back where it was, not after its
/// equals.
template <class Spec, class KeySpec>
using indexed_columns =
    std::conditional_t<!Spec::is_hashed && !std::is_same_v<typename Spec::spec_kind, key_tag> &&
                           (!Spec::is_unique || columns_traits<typename Spec::columns>::nullable),
                       typename concat_columns<typename Spec::columns, typename KeySpec::columns>::type,
                       typename Spec::columns>;

template <class Spec, class KeySpec = Spec>
struct index_for_spec {
    using traits = columns_traits<indexed_columns<Spec, KeySpec>>;
    static constexpr bool nullable = columns_traits<typename Spec::columns>::nullable;
    static constexpr bool enforced_by_container = Spec::is_unique && !nullable;
    static constexpr bool checked_by_store = Spec::is_unique && nullable;
    using ext = typename traits::key_extractor;
    using tag = bmi::tag<Spec>;
    using type = std::conditional_t<
        Spec::is_hashed,
        std::conditional_t<enforced_by_container,
                           bmi::hashed_unique<tag, ext, typename traits::hasher, typename traits::equal>,
                           bmi::hashed_non_unique<tag, ext, typename traits::hasher, typename traits::equal>>,
        std::conditional_t<enforced_by_container, bmi::ordered_unique<tag, ext, typename traits::less>,
                           bmi::ordered_non_unique<tag, ext, typename traits::less>>>;
};

template <class Row, class SpecTuple>
struct container_for;
template <class Row, class Key, class... Specs>
struct container_for<Row, std::tuple<Key, Specs...>> {
    using type = bmi::multi_index_container<Row,
                                            bmi::indexed_by<typename index_for_spec<Key, Key>::type,
                                                            typename index_for_spec<Specs, Key>::type...>,
                                            pool_allocator<Row>>;
};

/// Checks, at compile time, that every column a spec names belongs to Row and
/// is listed in RELSTORE_FIELDS.
template <class Row, class Spec>
constexpr bool spec_columns_belong() {
    return []<auto... Ms>(column_list<Ms...>) {
        return (std::is_same_v<typename member_traits<Ms>::row_type, Row> && ...);
    }(typename Spec::columns{});
}

/// Checks, at compile time, that every column a spec names is listed in its
/// row type's RELSTORE_FIELDS (messages and snapshots need its name).
template <class Spec>
constexpr bool spec_columns_listed() {
    return []<auto... Ms>(column_list<Ms...>) {
        return ((field_index_of<Ms>() < field_count<typename member_traits<Ms>::row_type>) && ...);
    }(typename Spec::columns{});
}

/// True when a floating-point value is NaN (false for every other type and
/// for a null optional).
template <class V>
bool is_nan_value(const V& v) noexcept {
    if constexpr (is_optional_v<V>)
        return v.has_value() && is_nan_value(*v);
    else if constexpr (std::is_floating_point_v<V>)
        return v != v;
    else
        return false;
}

/// The first column of a row that some key, index or foreign key of Table
/// covers and that holds NaN, or an empty view. NaN equals nothing and orders
/// against nothing, so an index holding it finds wrong rows (a range lookup
/// over an ordered index lost a fifth of them): such rows are refused.
template <class Table>
std::string_view indexed_nan_column(const typename Table::row_type& row) noexcept {
    std::string_view found;
    std::apply(
        [&](auto... specs) {
            (([&]<auto... Ms>(column_list<Ms...>) {
                 ((found = !found.empty() || !is_nan_value(row.*Ms) ? found : column_name<Ms>()), ...);
             }(typename decltype(specs)::columns{})),
             ...);
        },
        typename Table::specs{});
    return found;
}

/// A check (validator) of Table that a row fails: the columns it covers
/// ("" for a row check) and the sentence that says so.
struct check_failure {
    std::string columns;
    std::string message;
};

/// The first check of Table that row fails, in declaration order, or none.
template <class Table>
std::optional<check_failure> failed_check(const typename Table::row_type& row) {
    std::optional<check_failure> out;
    std::apply(
        [&](auto... checks) {
            (([&]<class Check>(Check) {
                 if (out || Check::holds(row)) return;
                 const std::string named =
                     Check::name.empty() ? std::string() : " \"" + std::string(Check::name) + "\"";
                 const std::string table(Table::name);
                 if constexpr (Check::columns::size == 1) {
                     using traits = columns_traits<typename Check::columns>;
                     out = check_failure{traits::names(), table + "." + traits::names() + " = " +
                                                              display(traits::get(row)) + " violates the check" +
                                                              (named.empty() ? " on " + table + "." + traits::names()
                                                                             : named)};
                 } else {
                     using key = columns_traits<typename Table::key::columns>;
                     out = check_failure{"", "the row " + table + "." + key::names() + " = " +
                                                 display(key::get(row)) + " violates the row check" +
                                                 (named.empty() ? " of " + table : named)};
                 }
             }(checks)),
             ...);
        },
        typename Table::checks{});
    return out;
}

/// A foreign key's value (a column, or a tuple of them, optionals engaged)
/// as the parent's key; for checks that have the value but not a row.
template <class Fk, class ParentKey, class V>
ParentKey as_parent_key(const V& v) {
    const auto engaged = [](const auto& x) -> decltype(auto) {
        if constexpr (is_optional_v<std::decay_t<decltype(x)>>)
            return *x;
        else
            return x;
    };
    if constexpr (Fk::columns::size > 1)
        return std::apply([&](const auto&... xs) { return ParentKey{engaged(xs)...}; }, v);
    else
        return ParentKey(engaged(v));
}

enum class undo_kind : std::uint8_t { inserted, updated, extracted, column };

/// One undo vector per field of Row: (row, old value of that field).
template <class Fields>
struct column_logs_for;
template <class Row, class... Values>
struct column_logs_for<std::tuple<field<Row, Values>...>> {
    using type = std::tuple<std::vector<std::pair<Row*, Values>>...>;
};

/// Storage of one table. The store owns one per table; transactions log every
/// change here so that rollback can restore the container exactly.
template <class Table>
class table_state {
public:
    using table_type = Table;
    using row_type = typename Table::row_type;
    using key_spec = typename Table::key;
    using key_traits = columns_traits<typename key_spec::columns>;
    using key_type = typename key_traits::value_type;
    using container_type = typename container_for<row_type, typename Table::specs>::type;

    static_assert(std::apply([](auto... s) { return (spec_columns_belong<row_type, decltype(s)>() && ...); },
                             typename Table::specs{}),
                  "relstore: every column in a table's specs must be a member of the table's row type");
    static_assert(std::apply([](auto... s) { return (spec_columns_listed<decltype(s)>() && ...); },
                             typename Table::specs{}),
                  "relstore: a column in this table's specs is not listed in its row type's RELSTORE_FIELDS");
    static_assert(!key_traits::nullable, "relstore: a primary-key column cannot be std::optional");
    static_assert(!key_spec::is_auto || std::is_integral_v<key_type>,
                  "relstore: an auto key must be an integer column");

    struct mark {
        std::size_t entries;
        std::size_t inserted;
        std::size_t rows;
        key_type next_key;
    };

    table_state() : pool_(new_pool()), rows(typename container_type::ctor_args_list(), allocator(pool_.get())) {
        for_each_stamp([]<class S>(S, walk_stamp& st) {
            st.index = std::string(Table::name) + "." + columns_traits<typename S::columns>::names();
        });
    }
    // The container's allocator points at pool_: a table's storage is
    // exchanged whole, by swap, never copied or moved apart.
    table_state(const table_state&) = delete;
    table_state& operator=(const table_state&) = delete;

    /// Exchanges two tables' rows, pools, next keys and logs (what a load
    /// does to put a decoded store in place). Each keeps its stamps, moved
    /// on: a walk of the rows it held must not go on.
    friend void swap(table_state& a, table_state& b) noexcept {
        using std::swap;
        a.touch_all();
        b.touch_all();
        swap(a.pool_, b.pool_);
        a.rows.swap(b.rows);  // and the allocators, which point at the pools
        swap(a.next_key, b.next_key);
        swap(a.entries_, b.entries_);
        swap(a.inserted_, b.inserted_);
        swap(a.rows_, b.rows_);
        swap(a.nodes_, b.nodes_);
        swap(a.columns_, b.columns_);
    }

private:
    using allocator = pool_allocator<row_type>;
    using node = typename container_type::final_node_type;
    static std::unique_ptr<node_pool> new_pool() { return std::make_unique<node_pool>(sizeof(node), alignof(node)); }
    /// Where the container's nodes come from. Declared before the container
    /// (and the log's extracted nodes): it must outlive them.
    std::unique_ptr<node_pool> pool_;

public:
    container_type rows;
    /// The key an auto-keyed insert gets next; never decreases, so keys of
    /// erased rows are not reused.
    key_type next_key = initial_next_key();

    static key_type key_of(const row_type& r) { return key_traits::get(r); }

    const auto& key_index() const { return rows.template get<key_spec>(); }
    auto& key_index() { return rows.template get<key_spec>(); }

    /// The stamp of index S, which the walks of S check at each step.
    template <class S>
    [[nodiscard]] const walk_stamp& stamp() const noexcept {
        return stamps_[index_position<S>()];
    }
    /// A change that may move a row in every index, or free one: an insert
    /// (even a refused one: the hashed indexes may have grown), an erase,
    /// a rollback, a reserve.
    void touch_all() noexcept {
        for (auto& s : stamps_) ++s.changes;
    }
    /// A write to field I, which moves the row only in the indexes over it.
    template <std::size_t I>
    void touch_field() noexcept {
        for_each_stamp([]<class S>(S, walk_stamp& st) {
            if constexpr (covers_field<I>(S{})) ++st.changes;
        });
    }
    /// An update from a to b: bumps the indexes whose columns differ;
    /// returns whether any did (false: the row keeps its place in every index).
    bool touch_changed(const row_type& a, const row_type& b) noexcept {
        bool any = false;
        for_each_stamp([&]<class S>(S, walk_stamp& st) {
            const bool same = []<auto... Ms>(column_list<Ms...>, const row_type& x, const row_type& y) {
                return ((x.*Ms == y.*Ms) && ...);
            }(typename S::columns{}, a, b);
            if (!same) {
                ++st.changes;
                any = true;
            }
        });
        return any;
    }

    [[nodiscard]] mark current_mark() const { return {entries_.size(), inserted_.size(), rows_.size(), next_key}; }

    /// Logs an inserted row by its address: rows never move while they
    /// exist, so rollback finds the node without a lookup.
    void log_inserted(const row_type& row) noexcept {
        inserted_.push_back(&row);
        entries_.push_back({undo_kind::inserted, 0, inserted_.size() - 1});
    }
    void unlog_last() {
        if (entries_.back().kind != undo_kind::inserted) rows_.pop_back();
        entries_.pop_back();
    }
    using node_type = typename container_type::node_type;
    /// Room for one erase, so that logging it after the extract cannot throw.
    void reserve_extract() { reserve_more(entries_, 1); reserve_more(nodes_, 1); }
    /// Logs an erased row by keeping its node (no copy of the row).
    void log_extracted(node_type&& nh) noexcept {
        nodes_.push_back(std::move(nh));
        entries_.push_back({undo_kind::extracted, 0, nodes_.size() - 1});
    }
    /// Room for one update, so that logging it after the swap cannot throw.
    void reserve_update() { reserve_more(entries_, 1); reserve_more(rows_, 1); }
    /// Logs the old value of an updated row, moved (not copied) out of the store.
    void log_replaced(row_type&& old) noexcept {
        rows_.push_back(std::move(old));
        entries_.push_back({undo_kind::updated, 0, rows_.size() - 1});
    }
    /// Room for one column change, so that logging it cannot throw.
    template <std::size_t I>
    void reserve_column() {
        reserve_more(entries_, 1);
        reserve_more(std::get<I>(columns_), 1);
    }
    /// Logs field I of a stored row by moving its old value out; the caller
    /// then moves the new value in (for a column an index covers, inside the
    /// container's modify(), which re-indexes the row).
    template <std::size_t I>
    void log_column(row_type& row) noexcept {
        constexpr auto member = std::get<I>(fields_of<row_type>()).member;
        auto& log = std::get<I>(columns_);
        log.emplace_back(&row, std::move(row.*member));
        entries_.push_back({undo_kind::column, static_cast<std::uint16_t>(I), log.size() - 1});
    }
    /// Undoes the last log_column<I>: moves the old value back into the row
    /// (which the caller has not re-indexed yet, as in a modify()'s rollback)
    /// and forgets the entry.
    template <std::size_t I>
    void unlog_column() noexcept {
        constexpr auto member = std::get<I>(fields_of<row_type>()).member;
        auto& log = std::get<I>(columns_);
        log.back().first->*member = std::move(log.back().second);
        log.pop_back();
        entries_.pop_back();
    }

    /// True when a key, index or foreign key of the table covers field I.
    template <std::size_t I>
    static constexpr bool field_indexed() {
        return std::apply(
            [](auto... specs) {
                return ([]<auto... Ms>(column_list<Ms...>) {
                    return ((field_index_of<Ms>() == I) || ...);
                }(typename decltype(specs)::columns{}) ||
                        ...);
            },
            typename Table::specs{});
    }
    void reserve_log(std::size_t n) {
        reserve_more(entries_, n);
        reserve_more(inserted_, n);
    }

    /// Room for n more rows: nodes (one slab), buckets of every hashed index,
    /// and undo log entries for inserting them, so that inserting n rows
    /// allocates nothing but the rows' own data (strings).
    void reserve(std::size_t n) {
        touch_all();  // buckets: a hashed walk's order may change
        pool_->reserve(n);
        reserve_buckets(rows.size() + n);
        reserve_log(n);
    }
    /// Room for n more nodes in the pool, in one slab.
    void reserve_nodes(std::size_t n) { pool_->reserve(n); }
    /// Buckets for n rows in every hashed index (the container's reserve()
    /// reaches only the first index).
    void reserve_buckets(std::size_t n) {
        std::apply(
            [&](auto... specs) {
                (
                    [&]<class S>(S) {
                        if constexpr (S::is_hashed) rows.template get<S>().reserve(n);
                    }(specs),
                    ...);
            },
            typename Table::specs{});
    }

    /// The pool of this table's nodes.
    [[nodiscard]] const node_pool& pool() const noexcept { return *pool_; }

    /// Undoes every change logged since m, newest first.
    void rollback_to(const mark& m) noexcept {
        if (entries_.size() > m.entries) touch_all();
        auto& idx = key_index();
        while (entries_.size() > m.entries) {
            const entry e = entries_.back();
            switch (e.kind) {
            case undo_kind::inserted: {
                rows.erase(rows.iterator_to(*inserted_[e.index]));
                inserted_.pop_back();
                break;
            }
            case undo_kind::extracted: {
                rows.insert(std::move(nodes_[e.index]));
                nodes_.pop_back();
                break;
            }
            case undo_kind::updated: {
                auto it = idx.find(key_of(rows_[e.index]));
                assert(it != idx.end());
                [[maybe_unused]] bool ok = idx.replace(it, std::move(rows_[e.index]));
                assert(ok);
                rows_.pop_back();
                break;
            }
            case undo_kind::column:
                restore_column(e.field);
                break;
            }
            entries_.pop_back();
        }
        next_key = m.next_key;
    }

    /// Forgets the log (on commit). The log keeps its memory for the next
    /// transaction while it is small beside the table (at most 8 bytes per
    /// row, or 1 MiB): freeing a large block right after the erased rows'
    /// many small blocks makes glibc consolidate all of them there and then,
    /// which was half the time of a 100k-row cascade (W7), and the next
    /// transaction of that size would only grow it again. A larger log, such
    /// as a bulk load's, gives its memory back.
    void clear_log() noexcept {
        const std::size_t keep = std::max<std::size_t>(std::size_t{1} << 20, 8 * rows.size());
        std::size_t bytes = entries_.capacity() * sizeof(entry) + inserted_.capacity() * sizeof(const row_type*) +
                            rows_.capacity() * sizeof(row_type) + nodes_.capacity() * sizeof(node_type);
        std::apply([&](auto&... logs) { ((bytes += logs.capacity() * sizeof(logs[0])), ...); }, columns_);
        destroy_nodes();
        entries_.clear();
        inserted_.clear();
        rows_.clear();
        std::apply([](auto&... logs) { (logs.clear(), ...); }, columns_);
        if (bytes > keep) {
            std::vector<entry>().swap(entries_);
            std::vector<const row_type*>().swap(inserted_);
            std::vector<row_type>().swap(rows_);
            std::vector<node_type>().swap(nodes_);
            std::apply([](auto&... logs) { ((std::remove_reference_t<decltype(logs)>().swap(logs)), ...); }, columns_);
        }
        if (rows.empty()) release_memory();
    }

    /// The columns an entry may have changed, one bit per field in
    /// RELSTORE_FIELDS order; every bit for a whole row.
    using column_mask = std::uint64_t;
    static constexpr column_mask all_columns = ~column_mask{0};
    /// A key a copy of the table must take over, and which of its row's
    /// columns may differ there.
    struct touched_key {
        key_type key;
        column_mask columns;
    };

    /// Appends the key of every row an entry logged since m touched (a key
    /// may come more than once), with the columns the entry may have
    /// changed: what a copy of the table must take over.
    void logged_keys(const mark& m, std::vector<touched_key>& out) const {
        out.reserve(out.size() + (entries_.size() - m.entries));
        for (std::size_t i = m.entries; i < entries_.size(); ++i) {
            const entry& e = entries_[i];
            switch (e.kind) {
            case undo_kind::inserted: out.push_back({key_of(*inserted_[e.index]), all_columns}); break;
            case undo_kind::updated: out.push_back({key_of(rows_[e.index]), all_columns}); break;
            case undo_kind::extracted: out.push_back({key_of(nodes_[e.index].value()), all_columns}); break;
            case undo_kind::column:
                [&]<std::size_t... I>(std::index_sequence<I...>) {
                    ((e.field == I ? out.push_back({key_of(*std::get<I>(columns_)[e.index].first),
                                                    I < 64 ? column_mask{1} << (I % 64) : all_columns})
                                   : void()),
                     ...);
                }(std::make_index_sequence<std::tuple_size_v<column_logs>>{});
                break;
            }
        }
    }

    /// True when no change is logged (nothing to commit or roll back).
    [[nodiscard]] bool log_empty() const noexcept { return entries_.empty(); }

private:
    template <class>
    friend class change_builder;

    /// An empty table gives its slabs and hash buckets back in bulk: a fresh
    /// container with a fresh pool takes the old one's place. Below a few
    /// KiB it is not worth the allocations; on failure the memory is kept.
    void release_memory() noexcept {
        if (pool_->slab_bytes() <= 4096 && pool_->slab_count() <= 1) return;
        try {
            auto fresh_pool = new_pool();
            container_type fresh(typename container_type::ctor_args_list(), allocator(fresh_pool.get()));
            touch_all();
            rows.swap(fresh);
            pool_.swap(fresh_pool);
            // fresh (the old, empty container) goes before fresh_pool (the old pool), its header with it
        } catch (...) {
        }
    }

    /// Frees the erased rows. Their nodes went cold since the erase (a large
    /// erase evicts them), so each node is fetched 16 rows ahead of its
    /// destruction and, 8 ahead, the heap bytes of its strings (what their
    /// destructors and free() read): the memory comes in while earlier rows
    /// are destroyed instead of one miss after another. W7 after W8 went
    /// from 1.33-1.37x the hand-written peer's time to 1.07-1.12x.
    void destroy_nodes() noexcept {
        constexpr std::size_t ahead = 8;
        const std::size_t n = nodes_.size();
        for (std::size_t i = 0; i < n; ++i) {
#if defined(__GNUC__)
            if (i + 2 * ahead < n) __builtin_prefetch(&nodes_[i + 2 * ahead].value());
            if (i + ahead < n) prefetch_heap(nodes_[i + ahead].value());
#endif
            nodes_[i] = node_type();
        }
        nodes_.clear();
    }
    static void prefetch_heap([[maybe_unused]] const row_type& r) noexcept {
#if defined(__GNUC__)
        for_each_field<row_type>([&](const auto& f) {
            using V = std::remove_cvref_t<decltype(r.*(f.member))>;
            if constexpr (std::is_same_v<V, std::string>) {
                const auto p = reinterpret_cast<std::uintptr_t>((r.*(f.member)).data());
                __builtin_prefetch(reinterpret_cast<const void*>(p));
                __builtin_prefetch(reinterpret_cast<const void*>(p - 8));  // malloc's chunk header, read by free()
            }
        });
#endif
    }

    /// Puts back the newest logged value of field `field`. Rows never move
    /// while they exist, and an erased row's node is back in place before
    /// any older entry is undone, so the logged pointer is still the row.
    void restore_column(std::uint16_t field) noexcept {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((field == I ? restore_column<I>() : void()), ...);
        }(std::make_index_sequence<std::tuple_size_v<column_logs>>{});
    }
    template <std::size_t I>
    void restore_column() noexcept {
        constexpr auto member = std::get<I>(fields_of<row_type>()).member;
        auto& log = std::get<I>(columns_);
        auto& logged = log.back();  // not a structured binding: clang before 16 cannot capture one
        if constexpr (field_indexed<I>()) {
            // The old value held its place in every index before the newer
            // changes, all undone by now, so putting it back cannot clash.
            [[maybe_unused]] const bool ok = rows.modify(
                rows.iterator_to(*logged.first), [&](row_type& r) { r.*member = std::move(logged.second); },
                [](row_type&) {});
            assert(ok);
        } else {
            logged.first->*member = std::move(logged.second);
        }
        log.pop_back();
    }

    /// Room for n more elements, growing geometrically: reserve(size() + n)
    /// alone reallocates on every call, which made a transaction of n writes
    /// O(n^2) (100,000 links in one transaction never finished).
    template <class V>
    static void reserve_more(V& v, std::size_t n) {
        if (v.capacity() - v.size() < n) v.reserve(std::max(v.size() + n, 2 * v.capacity()));
    }

    static key_type initial_next_key() {
        if constexpr (key_spec::is_auto)
            return key_type{1};
        else
            return key_type{};
    }

    template <class S>
    static constexpr std::size_t index_position() {
        return []<class... Ss>(std::tuple<Ss...>*) {
            static_assert((std::is_same_v<S, Ss> || ...), "relstore: this index is not one of the table's");
            std::size_t i = 0;
            bool found = false;
            ((found = found || std::is_same_v<S, Ss>, i += found ? 0 : 1), ...);
            return i;
        }(static_cast<typename Table::specs*>(nullptr));
    }
    template <class F>
    void for_each_stamp(F&& f) {
        std::apply(
            [&](auto... specs) {
                std::size_t i = 0;
                (f(specs, stamps_[i++]), ...);
            },
            typename Table::specs{});
    }
    template <std::size_t I, class S>
    static constexpr bool covers_field(S) {
        return []<auto... Ms>(column_list<Ms...>) { return ((field_index_of<Ms>() == I) || ...); }(
            typename S::columns{});
    }

    /// One per index, in the order of Table::specs.
    std::array<walk_stamp, std::tuple_size_v<typename Table::specs>> stamps_;

    struct entry {  // 16 bytes: a bulk load logs one per row
        undo_kind kind;
        std::uint16_t field;  // for undo_kind::column
        std::size_t index;
    };
    static_assert(sizeof(entry) == 2 * sizeof(std::size_t));
    using column_logs = typename column_logs_for<decltype(fields_of<row_type>())>::type;
    std::vector<entry> entries_;
    std::vector<const row_type*> inserted_;
    std::vector<row_type> rows_;
    std::vector<node_type> nodes_;
    column_logs columns_;
};

}  // namespace relstore::detail
