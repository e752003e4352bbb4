#pragma once
/// @file store.hpp
/// store<Tables...>: the tables of one schema, the relationships between them,
/// and the scopes through which they are read (read()) and written (write()).
///
/// Thread safety: any number of read scopes run at once; a write transaction
/// excludes readers and other writers for its whole life, so a reader never
/// sees a half-applied transaction. Locks are taken once per scope, not per call.
/// A waiting writer goes before read scopes opened after it started waiting,
/// so a stream of readers cannot starve it; a thread that already holds a read
/// scope may open another without waiting (no self-deadlock).

#include <relstore/detail/table_state.hpp>
#include <relstore/error.hpp>
#include <relstore/rows.hpp>
#include <relstore/schema.hpp>
#include <relstore/schema_info.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace relstore {

template <class... Tables>
class store;
template <class Store>
class reader;
template <class Store>
class transaction;
template <class Store>
class erase_plan;

namespace detail {

template <class T, class... Ts>
inline constexpr std::size_t count_same = (std::size_t{std::is_same_v<T, Ts>} + ... + 0);

template <class T, class... Ts>
constexpr std::size_t index_in() {
    std::size_t i = 0;
    bool found = false;
    ((found = found || std::is_same_v<T, Ts>, i += found ? 0 : 1), ...);
    return i;
}

/// The parent table of a foreign key declared in Table (resolves relstore::self).
template <class Fk, class Table>
using parent_of = std::conditional_t<std::is_same_v<typename Fk::parent, self>, Table, typename Fk::parent>;

template <class Spec>
inline constexpr bool is_fk = std::is_same_v<typename Spec::spec_kind, fk_tag>;

template <auto A, auto B>
constexpr bool same_member() {
    if constexpr (std::is_same_v<decltype(A), decltype(B)>)
        return A == B;
    else
        return false;
}

template <class Columns, class Other>
struct same_columns : std::false_type {};
template <auto... A, auto... B>
    requires(sizeof...(A) == sizeof...(B))
struct same_columns<column_list<A...>, column_list<B...>>
    : std::bool_constant<(same_member<A, B>() && ...)> {};

template <class Columns, class Prefix>
struct starts_with : std::false_type {};
template <auto A0, auto... A, auto B0, auto... B>
struct starts_with<column_list<A0, A...>, column_list<B0, B...>>
    : std::bool_constant<sizeof...(B) <= sizeof...(A) &&
                         same_member<A0, B0>() &&
                         (sizeof...(B) == 0 || starts_with<column_list<A...>, column_list<B...>>::value)> {};
template <auto A0, auto... A, auto B0>
struct starts_with<column_list<A0, A...>, column_list<B0>>
    : std::bool_constant<same_member<A0, B0>()> {};

/// The first spec of Table over exactly these columns, preferring a hashed
/// one; void when there is none.
template <class Table, class Columns>
struct exact_index {
    template <class... S>
    static auto pick(std::tuple<S...>*) {
        constexpr bool hashed_hit[] = {(same_columns<typename S::columns, Columns>::value && S::is_hashed)..., false};
        constexpr bool any_hit[] = {same_columns<typename S::columns, Columns>::value..., false};
        constexpr std::size_t h = first_true(hashed_hit);
        constexpr std::size_t a = first_true(any_hit);
        if constexpr (h < sizeof...(S))
            return static_cast<std::tuple_element_t<h, std::tuple<S...>>*>(nullptr);
        else if constexpr (a < sizeof...(S))
            return static_cast<std::tuple_element_t<a, std::tuple<S...>>*>(nullptr);
        else
            return static_cast<void*>(nullptr);
    }
    template <std::size_t N>
    static constexpr std::size_t first_true(const bool (&b)[N]) {
        for (std::size_t i = 0; i < N; ++i)
            if (b[i]) return i;
        return N;
    }
    using type = std::remove_pointer_t<decltype(pick(static_cast<typename Table::specs*>(nullptr)))>;
};

/// The first ordered spec of Table whose columns start with these; void when none.
template <class Table, class Columns>
struct ordered_prefix_index {
    template <class... S>
    static auto pick(std::tuple<S...>*) {
        constexpr bool hit[] = {(!S::is_hashed && starts_with<typename S::columns, Columns>::value)..., false};
        constexpr std::size_t i = exact_index<Table, Columns>::first_true(hit);
        if constexpr (i < sizeof...(S))
            return static_cast<std::tuple_element_t<i, std::tuple<S...>>*>(nullptr);
        else
            return static_cast<void*>(nullptr);
    }
    using type = std::remove_pointer_t<decltype(pick(static_cast<typename Table::specs*>(nullptr)))>;
};

/// The foreign-key spec of Table over exactly these columns; void when none.
template <class Table, class Columns>
struct fk_spec {
    template <class... S>
    static auto pick(std::tuple<S...>*) {
        constexpr bool hit[] = {(is_fk<S> && same_columns<typename S::columns, Columns>::value)..., false};
        constexpr std::size_t i = exact_index<Table, Columns>::first_true(hit);
        if constexpr (i < sizeof...(S))
            return static_cast<std::tuple_element_t<i, std::tuple<S...>>*>(nullptr);
        else
            return static_cast<void*>(nullptr);
    }
    using type = std::remove_pointer_t<decltype(pick(static_cast<typename Table::specs*>(nullptr)))>;
};

template <class F, class... S>
constexpr void for_each_spec(std::tuple<S...>*, F&& f) {
    (f(static_cast<S*>(nullptr)), ...);
}

/// Calls f((Spec*)nullptr) for each spec of Table.
template <class Table, class F>
constexpr void for_each_spec(F&& f) {
    for_each_spec(static_cast<typename Table::specs*>(nullptr), f);
}

template <auto M0, auto... Ms>
inline constexpr auto first_of = M0;

/// Converts a lookup argument to what the index compares with: strings stay
/// string views (no allocation), values for nullable columns are unwrapped.
template <class Column, class Arg>
decltype(auto) lookup_value(const Arg& a) {
    using U = unwrap_optional_t<Column>;
    if constexpr (std::is_same_v<U, std::string> && std::is_convertible_v<const Arg&, std::string_view>)
        return std::string_view(a);
    else if constexpr (std::is_same_v<Arg, Column> || std::is_same_v<Arg, U>)
        return (a);
    else if constexpr (std::is_same_v<Arg, std::nullopt_t>)
        return Column(std::nullopt);  // where<&Row::nullable>(std::nullopt): the null rows
    else
        return U(a);
}

/// The lookup key for a columns list from arguments, one per column.
template <class Columns>
struct lookup;
template <auto... Ms>
struct lookup<column_list<Ms...>> {
    template <class... Args>
    static auto make(const Args&... args) {
        static_assert(sizeof...(Args) == sizeof...(Ms), "relstore: give one value per column of the lookup");
        if constexpr (sizeof...(Ms) == 1)
            return lookup_value<typename member_traits<first_of<Ms...>>::value_type>(args...);
        else
            return std::make_tuple(lookup_value<typename member_traits<Ms>::value_type>(args)...);
    }
};

/// Key of a parent row as a foreign key of Fk spells it, from a child row.
template <class Fk, class ParentKey, class Row>
ParentKey fk_value_as_parent_key(const Row& child) {
    using traits = columns_traits<typename Fk::columns>;
    auto v = traits::get(child);
    if constexpr (traits::size == 1) {
        if constexpr (is_optional_v<decltype(v)>)
            return ParentKey(*v);
        else
            return ParentKey(v);
    } else {
        return std::apply(
            [](const auto&... xs) {
                return ParentKey{[](const auto& x) -> decltype(auto) {
                    if constexpr (is_optional_v<std::decay_t<decltype(x)>>)
                        return *x;
                    else
                        return x;
                }(xs)...};
            },
            v);
    }
}

template <class Store>
struct store_traits;


template <class Tuple>
struct marks_of;
template <class... T>
struct marks_of<std::tuple<T...>> {
    using type = std::tuple<typename table_state<T>::mark...>;
};

[[noreturn]] void throw_usage(const char* what);

/// The stores whose read scopes this thread holds (one entry per scope).
inline std::vector<const void*>& read_scopes_held() noexcept {
    thread_local std::vector<const void*> held;
    return held;
}

}  // namespace detail

/// A store: one table of each type listed. Not copyable; reach its data
/// through read() and write().
template <class... Tables>
class store {
    static_assert(sizeof...(Tables) > 0, "relstore: a store needs at least one table");
    static_assert(((detail::count_same<Tables, Tables...> == 1) && ...),
                  "relstore: a table type is listed twice in the store");

public:
    using tables = std::tuple<Tables...>;
    template <class T>
    static constexpr bool has_table = detail::count_same<T, Tables...> == 1;

    /// The table whose row type is Row; fails to compile when no table or
    /// several tables store Row.
    template <class Row>
    using table_of_row =
        std::tuple_element_t<detail::index_in<Row, typename Tables::row_type...>(), std::tuple<Tables...>>;

    store() { check_schema(); }
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    /// Opens a read scope: a shared lock held until the reader is destroyed.
    /// @throws usage_error when this thread holds the store's write transaction.
    [[nodiscard]] reader<store> read() const { return reader<store>(this); }

    /// Begins a write transaction: the exclusive lock, held until commit,
    /// rollback or destruction; destruction without commit rolls back.
    /// @throws usage_error when this thread already holds the write transaction
    /// or a read scope of this store (either would deadlock).
    [[nodiscard]] transaction<store> write() { return transaction<store>(this); }

    /// The storage of one table. For the library's own layers (snapshots);
    /// the caller must hold the right lock.
    template <class T>
    detail::table_state<T>& state() noexcept {
        static_assert(has_table<T>, "relstore: this table is not part of the store");
        return std::get<detail::table_state<T>>(tables_);
    }
    template <class T>
    const detail::table_state<T>& state() const noexcept {
        static_assert(has_table<T>, "relstore: this table is not part of the store");
        return std::get<detail::table_state<T>>(tables_);
    }

    /// Swaps the whole contents with another store of the same type, under
    /// both stores' exclusive locks (what an atomic snapshot load ends with).
    /// @throws usage_error when this thread holds a scope on either store
    /// (taking the locks would deadlock).
    void swap_contents(store& other) {
        if (this == &other) return;
        const auto& held = detail::read_scopes_held();
        for (const store* s : {this, &other}) {
            if (s->writer_.load(std::memory_order_relaxed) == std::this_thread::get_id() ||
                std::find(held.begin(), held.end(), s) != held.end())
                detail::throw_usage(
                    "relstore: this thread holds a read scope or the transaction of a store whose contents are "
                    "being replaced (e.g. by load); end that scope first (waiting would deadlock)");
        }
        std::scoped_lock lock(mutex_, other.mutex_);
        std::swap(tables_, other.tables_);
    }

    /// Calls f((Table*)nullptr) for every table, in declaration order.
    template <class F>
    static constexpr void for_each_table(F&& f) {
        (f(static_cast<Tables*>(nullptr)), ...);
    }

private:
    friend class reader<store>;
    friend class transaction<store>;
    friend class erase_plan<store>;

    static constexpr void check_schema() {
        for_each_table([]<class T>(T*) {
            detail::for_each_spec<T>([]<class S>(S*) {
                if constexpr (detail::is_fk<S>) {
                    using parent = detail::parent_of<S, T>;
                    static_assert(has_table<parent>,
                                  "relstore: a foreign key references a table that is not part of the store");
                    using parent_key = typename parent::key::columns;
                    static_assert(S::columns::size == parent_key::size,
                                  "relstore: a foreign key must have as many columns as the parent's primary key");
                    static_assert(fk_types_match<typename S::columns, parent_key>(),
                                  "relstore: a foreign key column's type does not match the parent key's type");
                    static_assert(S::action != on_delete::set_null ||
                                      detail::columns_traits<typename S::columns>::nullable,
                                  "relstore: on_delete::set_null needs a std::optional foreign-key column");
                }
            });
        });
    }

    template <class Fk, class Pk>
    static constexpr bool fk_types_match() {
        return []<auto... F, auto... P>(detail::column_list<F...>, detail::column_list<P...>) {
            return (std::is_same_v<detail::unwrap_optional_t<typename member_traits<F>::value_type>,
                                   typename member_traits<P>::value_type> &&
                    ...);
        }(Fk{}, Pk{});
    }

    std::tuple<detail::table_state<Tables>...> tables_;
    mutable std::shared_mutex mutex_;
    /// Held by a writer while it waits for mutex_, and passed through by new
    /// readers: the platform's shared_mutex may prefer readers (glibc does),
    /// and continuous read scopes would otherwise starve writers.
    mutable std::mutex gate_;
    std::atomic<std::thread::id> writer_{};
};

/// What erasing rows does to the store, worked out before anything changes:
/// the rows erased (the roots and, through cascades, their descendants), the
/// rows whose foreign key is set to null, and the rows that block the erase.
/// tx.erase() applies a plan; reader::plan_erase() is the dry run.
template <class Store>
class erase_plan {
public:
    /// Rows of T that the erase removes, in the order it removes them.
    template <class T>
    [[nodiscard]] const std::vector<const typename T::row_type*>& erased() const {
        return std::get<per_table<T>>(tables_).erased;
    }
    /// Rows of T whose foreign key the erase sets to null.
    template <class T>
    [[nodiscard]] std::vector<const typename T::row_type*> nulled() const {
        std::vector<const typename T::row_type*> out;
        for (const auto& n : std::get<per_table<T>>(tables_).nulled) out.push_back(n.row);
        return out;
    }
    /// Rows of T that reference an erased row through an on_delete::restrict key.
    template <class T>
    [[nodiscard]] const std::vector<const typename T::row_type*>& blocking() const {
        return std::get<per_table<T>>(tables_).blocking;
    }
    /// True when no row blocks the erase.
    [[nodiscard]] bool allowed() const { return blocked_ == 0; }
    /// The number of rows the erase removes, in all tables.
    [[nodiscard]] std::size_t erased_count() const { return erased_; }
    /// The number of rows whose foreign key the erase sets to null.
    [[nodiscard]] std::size_t nulled_count() const { return nulled_; }

private:
    friend class reader<Store>;
    friend class transaction<Store>;

    template <class T>
    struct per_table {
        using row_t = typename T::row_type;
        struct null_entry {
            const row_t* row;
            std::size_t fk;  // ordinal of the spec in T::specs
        };
        std::vector<const row_t*> erased;
        std::vector<const row_t*> pending;
        std::vector<null_entry> nulled;
        std::vector<const row_t*> blocking;
    };
    template <class Tuple>
    struct all_tables;
    template <class... T>
    struct all_tables<std::tuple<T...>> {
        using type = std::tuple<per_table<T>...>;
    };

    typename all_tables<typename Store::tables>::type tables_;
    std::unordered_set<const void*> visited_;
    std::size_t erased_ = 0;
    std::size_t nulled_ = 0;
    std::size_t blocked_ = 0;
};

/// The read operations, shared by read scopes and transactions.
/// Verbs: get = exactly one row or throws; find = pointer or null;
/// where = a range of rows equal to a value; range/order_by = rows in order.
template <class Store>
class reader {
public:
    reader(reader&& other) noexcept : db_(std::exchange(other.db_, nullptr)), lock_(std::move(other.lock_)) {}
    reader& operator=(reader&&) = delete;
    reader(const reader&) = delete;
    ~reader() {
        if (!lock_.owns_lock()) return;
        auto& held = detail::read_scopes_held();
        const void* self = lock_.mutex();
        for (auto it = held.rbegin(); it != held.rend(); ++it)
            if (*it == self) {
                held.erase(std::next(it).base());
                break;
            }
    }

    /// The row with this primary key (one value per key column).
    /// @throws not_found_error naming the table and key when there is none.
    template <class T, class... K>
    [[nodiscard]] const typename T::row_type& get(const K&... key) const {
        if (const auto* row = find<T>(key...)) return *row;
        throw not_found_error(std::string(T::name), std::string(T::name) + "." +
                                                        detail::columns_traits<typename T::key::columns>::names() +
                                                        " = " + detail::display(key_display(key...)) + " not found");
    }

    /// The row with this primary key, or nullptr.
    template <class T, class... K>
    [[nodiscard]] const typename T::row_type* find(const K&... key) const {
        const auto& idx = state_of<T>().key_index();
        auto it = idx.find(detail::lookup<typename T::key::columns>::make(key...));
        return it == idx.end() ? nullptr : &*it;
    }

    /// The row whose unique column(s) equal these values, or nullptr.
    template <auto... Members, class... V>
    [[nodiscard]] auto find(const V&... values) const -> const typename member_traits<
        detail::first_of<Members...>>::row_type* {
        using T = typename Store::template table_of_row<typename member_traits<detail::first_of<Members...>>::row_type>;
        using spec = typename detail::exact_index<T, detail::column_list<Members...>>::type;
        static_assert(!std::is_void_v<spec> && requires { requires spec::is_unique; },
                      "relstore: find<&Row::column>() needs a unique constraint or key on exactly those columns; "
                      "use where<>() for other columns");
        const auto& idx = state_of<T>().rows.template get<spec>();
        auto [first, last] = idx.equal_range(detail::lookup<detail::column_list<Members...>>::make(values...));
        for (; first != last; ++first) return &*first;
        return nullptr;
    }

    /// The rows whose column(s) equal these values: an index walk when an index
    /// covers the columns (hashed, or an ordered one they prefix), else an O(n) scan.
    template <auto... Members, class... V>
    [[nodiscard]] auto where(const V&... values) const {
        using first_member = member_traits<detail::first_of<Members...>>;
        using T = typename Store::template table_of_row<typename first_member::row_type>;
        using cols = detail::column_list<Members...>;
        using exact = typename detail::exact_index<T, cols>::type;
        using prefix = typename detail::ordered_prefix_index<T, cols>::type;
        if constexpr (!std::is_void_v<exact>) {
            const auto& idx = state_of<T>().rows.template get<exact>();
            auto [first, last] = idx.equal_range(detail::lookup<cols>::make(values...));
            return rows<decltype(first)>(first, last);
        } else if constexpr (!std::is_void_v<prefix>) {
            const auto& idx = state_of<T>().rows.template get<prefix>();
            auto [first, last] = idx.equal_range(std::make_tuple(
                detail::lookup_value<typename member_traits<Members>::value_type>(values)...));
            return rows<decltype(first)>(first, last);
        } else {
            const auto& idx = state_of<T>().key_index();
            auto key = std::make_tuple(typename member_traits<Members>::value_type(values)...);
            auto pred = [key = std::move(key)](const typename T::row_type& r) {
                return std::tuple<const typename member_traits<Members>::value_type&...>(r.*Members...) == key;
            };
            return filtered_rows<decltype(idx.begin()), decltype(pred)>(idx.begin(), idx.end(), std::move(pred));
        }
    }

    /// True when a row's column(s) equal these values.
    template <auto... Members, class... V>
    [[nodiscard]] bool exists(const V&... values) const {
        return where<Members...>(values...).first() != nullptr;
    }

    /// The rows with lo <= column < hi, in order of an ordered index on the column.
    template <auto Member, class Lo, class Hi>
    [[nodiscard]] auto range(const Lo& lo, const Hi& hi) const {
        using T = typename Store::template table_of_row<typename member_traits<Member>::row_type>;
        using spec = ordered_spec<T, Member>;
        using V = typename member_traits<Member>::value_type;
        const auto& idx = state_of<T>().rows.template get<spec>();
        const auto& l = detail::lookup_value<V>(lo);
        const auto& h = detail::lookup_value<V>(hi);
        // lo >= hi is an empty interval; without this check the first bound
        // would lie past the second and iterating would run off the index.
        const bool empty = !(l < h);
        if constexpr (spec::columns::size == 1) {
            auto first = idx.lower_bound(l);
            return rows<decltype(idx.begin())>(first, empty ? first : idx.lower_bound(h));
        } else {
            auto first = idx.lower_bound(std::make_tuple(l));
            return rows<decltype(idx.begin())>(first, empty ? first : idx.lower_bound(std::make_tuple(h)));
        }
    }

    /// Every row in order of an ordered index whose first column is Member.
    /// Compose with std::views::drop / take for offset and limit, and with
    /// std::views::reverse for descending order.
    template <auto Member>
    [[nodiscard]] auto order_by() const {
        using T = typename Store::template table_of_row<typename member_traits<Member>::row_type>;
        const auto& idx = state_of<T>().rows.template get<ordered_spec<T, Member>>();
        return rows<decltype(idx.begin())>(idx.begin(), idx.end());
    }

    /// Every row of T, in key order for an ordered key.
    template <class T>
    [[nodiscard]] auto all() const {
        const auto& idx = state_of<T>().key_index();
        return rows<decltype(idx.begin())>(idx.begin(), idx.end());
    }

    /// The rows of T for which pred(row) is true: an O(n) scan.
    template <class T, class Pred>
    [[nodiscard]] auto scan(Pred pred) const {
        const auto& idx = state_of<T>().key_index();
        return filtered_rows<decltype(idx.begin()), Pred>(idx.begin(), idx.end(), std::move(pred));
    }

    /// The number of rows in T: O(1).
    template <class T>
    [[nodiscard]] std::size_t count() const {
        return state_of<T>().rows.size();
    }

    /// The children of a parent row (or of the parent with that key) along
    /// the foreign key FkMembers (the one-to-many direction): an index walk, no copy.
    template <auto... FkMembers, class ParentRow>
    [[nodiscard]] auto children(const ParentRow& parent) const {
        using fk = child_fk<FkMembers...>;
        using Child = typename Store::template table_of_row<
            typename member_traits<detail::first_of<FkMembers...>>::row_type>;
        using Parent = detail::parent_of<fk, Child>;
        using parent_key = typename detail::table_state<Parent>::key_type;
        constexpr bool by_row = std::is_same_v<typename Parent::row_type, ParentRow>;
        static_assert(by_row || std::is_convertible_v<const ParentRow&, parent_key>,
                      "relstore: children<>() takes a row of the table the foreign key references, or its key");
        const auto& idx = state_of<Child>().rows.template get<fk>();
        // By key, a caller that holds only the parent's key saves the lookup
        // of the parent row (a cache miss per navigation).
        auto [first, last] = [&] {
            if constexpr (by_row)
                return idx.equal_range(lookup_parent_key<fk, Parent>(parent));
            else
                return idx.equal_range(lookup_by_parent_key<fk>(parent_key(parent)));
        }();
        return rows<decltype(first)>(first, last);
    }

    /// The number of children of a parent along FkMembers (walks the index
    /// group, copies nothing).
    template <auto... FkMembers, class ParentRow>
    [[nodiscard]] std::size_t count_children(const ParentRow& parent) const {
        return children<FkMembers...>(parent).count();
    }

    /// The parent of a child row along the foreign key FkMembers (the
    /// many-to-one direction). A reference when the key cannot be null,
    /// else a pointer that is null when the key is null.
    template <auto... FkMembers, class ChildRow>
    [[nodiscard]] decltype(auto) parent(const ChildRow& child) const {
        using fk = child_fk<FkMembers...>;
        using Child = typename Store::template table_of_row<ChildRow>;
        using Parent = detail::parent_of<fk, Child>;
        using traits = detail::columns_traits<typename fk::columns>;
        using parent_key = typename detail::table_state<Parent>::key_type;
        const auto& idx = state_of<Parent>().key_index();
        if constexpr (traits::nullable) {
            if (traits::has_null(traits::get(child))) return static_cast<const typename Parent::row_type*>(nullptr);
            auto it = idx.find(detail::fk_value_as_parent_key<fk, parent_key>(child));
            return it == idx.end() ? nullptr : &*it;
        } else {
            auto it = idx.find(detail::fk_value_as_parent_key<fk, parent_key>(child));
            // Integrity is enforced on every write, so a non-null key always resolves.
            return static_cast<const typename Parent::row_type&>(*it);
        }
    }

    /// Many-to-many through an association table: the rows that `from` is
    /// linked to. FromFk is the association's key to from's table, ToFk its key
    /// to the other side; e.g. linked<&AuthorBook::author_id, &AuthorBook::book_id>(author)
    /// gives the author's books; `from` may also be the key of from's row.
    /// Two index walks per row, no copy.
    template <auto FromFk, auto ToFk, class FromRow>
    [[nodiscard]] auto linked(const FromRow& from) const {
        auto links = children<FromFk>(from);
        auto to = [this](const auto& link) -> decltype(auto) { return deref(parent<ToFk>(link)); };
        return mapped_rows<decltype(links.begin()), decltype(to)>(links.begin(), links.end(), std::move(to));
    }

    /// Works out what erasing a row would do, without doing it (the dry run).
    template <class Row>
    [[nodiscard]] erase_plan<Store> plan_erase(const Row& row) const {
        erase_plan<Store> plan;
        using T = typename Store::template table_of_row<Row>;
        add_root<T>(plan, row);
        complete(plan);
        return plan;
    }

    /// The store this scope reads.
    [[nodiscard]] const Store& store_ref() const { return *checked(); }

protected:
    friend Store;
    explicit reader(const Store* db) : db_(db) {
        if (db->writer_.load(std::memory_order_relaxed) == std::this_thread::get_id())
            detail::throw_usage(
                "relstore: this thread holds the store's write transaction; read through the transaction instead of "
                "opening a read scope (that would deadlock)");
        auto& held = detail::read_scopes_held();
        held.reserve(held.size() + 1);
        // Wait behind a writer that is waiting, unless this thread already
        // reads this store: that writer waits for this thread, so waiting
        // for it would deadlock.
        if (std::find(held.begin(), held.end(), &db->mutex_) == held.end()) {
            std::lock_guard gate(db->gate_);
        }
        lock_ = std::shared_lock(db->mutex_);
        held.push_back(&db->mutex_);
    }
    /// For transactions: the lock is the transaction's own.
    reader(const Store* db, std::defer_lock_t) : db_(db) {}

    const Store* checked() const {
        if (!db_) [[unlikely]]
            detail::throw_usage("relstore: this scope has ended (committed, rolled back or moved from)");
        return db_;
    }

    template <class T>
    const detail::table_state<T>& state_of() const {
        static_assert(Store::template has_table<T>, "relstore: this table is not part of the store");
        return checked()->template state<T>();
    }

    template <class T, auto Member>
    struct ordered_spec_check {
        using type = typename detail::ordered_prefix_index<T, detail::column_list<Member>>::type;
        static_assert(!std::is_void_v<type>,
                      "relstore: range<>() and order_by<>() need an ordered index whose first column is this column; "
                      "declare relstore::ordered<&Row::column> (or ordered_unique) in the table");
    };
    template <class T, auto Member>
    using ordered_spec = typename ordered_spec_check<T, Member>::type;

    template <auto... FkMembers>
    using child_fk_raw = typename detail::fk_spec<
        typename Store::template table_of_row<typename member_traits<detail::first_of<FkMembers...>>::row_type>,
        detail::column_list<FkMembers...>>::type;

    template <auto... FkMembers>
    struct child_fk_check {
        using type = child_fk_raw<FkMembers...>;
        static_assert(!std::is_void_v<type>,
                      "relstore: no relationship is declared on these columns; declare a foreign key with "
                      "relstore::references<&Child::column, Parent> in the child table");
    };
    template <auto... FkMembers>
    using child_fk = typename child_fk_check<FkMembers...>::type;

    template <class Fk, class Parent>
    static auto lookup_parent_key(const typename Parent::row_type& parent) {
        return lookup_by_parent_key<Fk>(detail::table_state<Parent>::key_of(parent));
    }

    template <class Fk, class Key>
    static auto lookup_by_parent_key(const Key& k) {
        // Look children up by the parent's key in the child's column types, so
        // an optional foreign key compares with a plain parent key.
        using traits = detail::columns_traits<typename Fk::columns>;
        if constexpr (traits::size == 1) {
            auto v = detail::unwrap_optional_t<typename traits::value_type>(k);
            if constexpr (Fk::is_hashed)
                return v;
            else
                return std::make_tuple(v);
        } else {
            return k;
        }
    }

    template <class P>
    static const P& deref(const P& p) {
        return p;
    }
    template <class P>
    static const P& deref(const P* p) {
        return *p;
    }

    template <class... K>
    static auto key_display(const K&... key) {
        if constexpr (sizeof...(K) == 1)
            return (key, ...);
        else
            return std::make_tuple(key...);
    }

    template <class T>
    void add_root(erase_plan<Store>& plan, const typename T::row_type& row) const {
        auto& pt = std::get<typename erase_plan<Store>::template per_table<T>>(plan.tables_);
        if (plan.visited_.insert(&row).second) {
            pt.erased.push_back(&row);
            pt.pending.push_back(&row);
            ++plan.erased_;
        }
    }

    /// Follows every foreign key that references an erased row until no new
    /// row is reached: cascades add rows, restrict keys record blockers,
    /// set-null keys record updates. Iterative, so deep trees cannot
    /// overflow the stack, and each row is visited once, so cycles end.
    void complete(erase_plan<Store>& plan) const {
        bool progress = true;
        while (progress) {
            progress = false;
            Store::for_each_table([&]<class P>(P*) {
                auto& pp = std::get<typename erase_plan<Store>::template per_table<P>>(plan.tables_);
                while (!pp.pending.empty()) {
                    progress = true;
                    const auto* parent_row = pp.pending.back();
                    pp.pending.pop_back();
                    visit_children<P>(plan, *parent_row);
                }
            });
        }
        // A restricting or nulled child that the erase removes anyway neither
        // blocks nor needs a null.
        Store::for_each_table([&]<class C>(C*) {
            auto& pc = std::get<typename erase_plan<Store>::template per_table<C>>(plan.tables_);
            std::erase_if(pc.blocking, [&](const auto* r) { return is_erased<C>(plan, r); });
            std::erase_if(pc.nulled, [&](const auto& n) { return is_erased<C>(plan, n.row); });
            plan.blocked_ += pc.blocking.size();
            plan.nulled_ += pc.nulled.size();
        });
    }

    template <class C>
    static bool is_erased(const erase_plan<Store>& plan, const typename C::row_type* r) {
        return plan.visited_.count(r) != 0;
    }

    template <class P>
    void visit_children(erase_plan<Store>& plan, const typename P::row_type& parent_row) const {
        Store::for_each_table([&]<class C>(C*) {
            std::size_t ordinal = 0;
            detail::for_each_spec<C>([&]<class S>(S*) {
                if constexpr (detail::is_fk<S>) {
                    if constexpr (std::is_same_v<detail::parent_of<S, C>, P>) {
                        auto& pc = std::get<typename erase_plan<Store>::template per_table<C>>(plan.tables_);
                        const auto& idx = state_of<C>().rows.template get<S>();
                        auto [first, last] = idx.equal_range(lookup_parent_key<S, P>(parent_row));
                        for (; first != last; ++first) {
                            const auto* child = &*first;
                            if constexpr (S::action == on_delete::cascade) {
                                add_root<C>(plan, *child);
                            } else if constexpr (S::action == on_delete::restrict) {
                                if (child != static_cast<const void*>(&parent_row)) pc.blocking.push_back(child);
                            } else {
                                pc.nulled.push_back({child, ordinal});
                            }
                        }
                    }
                }
                ++ordinal;
            });
        });
    }

    const Store* db_;

private:
    std::shared_lock<std::shared_mutex> lock_;
};

/// A savepoint inside a transaction (SQLAlchemy's begin_nested()): rollback()
/// undoes what was done since it was taken; release() keeps it as part of
/// the enclosing transaction. Destroyed while active, it rolls back.
template <class Store>
class savepoint {
public:
    savepoint(const savepoint&) = delete;
    savepoint& operator=(const savepoint&) = delete;
    savepoint(savepoint&& o) noexcept : tx_(std::exchange(o.tx_, nullptr)), depth_(o.depth_) {}
    ~savepoint() {
        if (active()) rollback();
    }

    /// Undoes every change since the savepoint was taken, and ends it.
    void rollback() noexcept {
        if (active()) tx_->rollback_to_depth(depth_);
        tx_ = nullptr;
    }
    /// Keeps the changes (they commit or roll back with the transaction), and ends it.
    void release() noexcept {
        if (active()) tx_->release_depth(depth_);
        tx_ = nullptr;
    }
    /// False once released, rolled back, or ended by an enclosing rollback or commit.
    [[nodiscard]] bool active() const noexcept { return tx_ && tx_->depth() > depth_; }

private:
    friend class transaction<Store>;
    savepoint(transaction<Store>* tx, std::size_t depth) : tx_(tx), depth_(depth) {}
    transaction<Store>* tx_;
    std::size_t depth_;
};

/// A write transaction: every read operation plus insert, update, erase.
/// Each failed operation leaves the store exactly as before it and the
/// transaction usable. Rolls back unless commit() is called.
template <class Store>
class transaction : public reader<Store> {
    using base = reader<Store>;

public:
    transaction(transaction&& o) noexcept
        : base(std::exchange(o.db_, nullptr), std::defer_lock),
          db_mut_(std::exchange(o.db_mut_, nullptr)),
          lock_(std::move(o.lock_)),
          marks_(std::move(o.marks_)) {}
    transaction& operator=(transaction&&) = delete;
    ~transaction() {
        if (db_mut_) rollback();
    }

    /// Makes every change permanent and releases the lock.
    void commit() {
        auto* db = mut();
        Store::for_each_table([&]<class T>(T*) { db->template state<T>().clear_log(); });
        end();
    }

    /// Undoes every change of the transaction and releases the lock.
    void rollback() noexcept {
        if (!db_mut_) return;
        rollback_to_depth(0);
        end();
    }

    /// Takes a savepoint (nested transaction).
    [[nodiscard]] relstore::savepoint<Store> savepoint() {
        mut();
        marks_.push_back(current_marks());
        return relstore::savepoint<Store>(this, marks_.size() - 1);
    }

    /// Runs f() inside a savepoint: released when f returns, rolled back when
    /// it throws (and the exception goes on).
    template <class F>
    decltype(auto) nested(F&& f) {
        auto sp = savepoint();
        if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
            f();
            sp.release();
        } else {
            decltype(auto) r = f();
            sp.release();
            return r;
        }
    }

    /// Inserts a row into the table that stores its type and returns the
    /// stored row (with its assigned key, for an auto key left 0).
    /// @throws constraint_error on a duplicate key, a unique violation, a
    /// foreign key that matches no row, or a cycle; the store is unchanged.
    template <class Row>
    const Row& insert(Row row) {
        return insert<typename Store::template table_of_row<Row>>(std::move(row));
    }

    /// Inserts a row into table T (when several tables share a row type).
    template <class T>
    const typename T::row_type& insert(typename T::row_type row) {
        auto& st = mut()->template state<T>();
        using state = detail::table_state<T>;
        if constexpr (T::key::is_auto) {
            auto& key_field = key_member<T>(row);
            if (key_field == typename state::key_type{}) key_field = st.next_key;
        }
        check_references<T>(row, nullptr);
        check_nullable_uniques<T>(row, nullptr);
        st.reserve_log(1);
        auto [it, inserted] = st.rows.insert(std::move(row));
        if (!inserted) throw_unique_clash<T>(row, nullptr);
        st.log_inserted(state::key_of(*it));
        if constexpr (T::key::is_auto) {
            const auto key = state::key_of(*it);
            // The counter stops at the largest key (no overflow): an auto
            // insert after that is refused as a duplicate key.
            if (key >= st.next_key)
                st.next_key = key == std::numeric_limits<typename state::key_type>::max() ? key : key + 1;
        }
        return *it;
    }

    /// Inserts every row of a range, all or nothing; returns how many.
    template <std::ranges::input_range R>
    std::size_t insert_many(R&& rows) {
        auto sp = savepoint();
        std::size_t n = 0;
        for (auto&& r : rows) {
            insert(r);
            ++n;
        }
        sp.release();
        return n;
    }

    /// Changes a stored row through fn(Row&), keeping every index right.
    /// The primary key cannot change. Returns the stored row.
    /// @throws constraint_error (unique, foreign key, cycle, key change); the row is unchanged.
    template <class Row, class F>
    const Row& update(const Row& row, F&& fn) {
        using T = typename Store::template table_of_row<Row>;
        using state = detail::table_state<T>;
        auto& st = mut()->template state<T>();
        Row changed = row;
        std::forward<F>(fn)(changed);
        if (!(state::key_of(changed) == state::key_of(row)))
            throw constraint_error(errc::key_changed, std::string(T::name),
                                   detail::columns_traits<typename T::key::columns>::names(),
                                   std::string(T::name) + "." + detail::columns_traits<typename T::key::columns>::names() +
                                       " = " + detail::display(state::key_of(row)) +
                                       " cannot be changed by update (erase and insert instead)");
        check_references<T>(changed, &row);
        check_nullable_uniques<T>(changed, &row);
        replace_logged<T>(row, std::move(changed));
        return row;
    }

    /// Sets one column of a stored row: `tx.set<&Post::title>(post, "New")`.
    /// A column that no key, index or foreign key covers is changed in place
    /// and only its old value is logged, not a copy of the row (in W8, about
    /// 2.5 times the rate of update() for a new title); any other column goes through
    /// update() with all its checks. Returns the stored row.
    /// @throws constraint_error as update() does; the row is unchanged.
    template <auto Member, class V>
    const typename member_traits<Member>::row_type& set(
        const typename member_traits<Member>::row_type& row, V&& value) {
        using Row = typename member_traits<Member>::row_type;
        using Value = typename member_traits<Member>::value_type;
        using T = typename Store::template table_of_row<Row>;
        constexpr std::size_t field = field_index_of<Member>();
        static_assert(field < field_count<Row>,
                      "relstore: set<&Row::column>: the column is not listed in the row type's RELSTORE_FIELDS");
        static_assert(std::is_constructible_v<Value, V&&>, "relstore: set<&Row::column>: the value does not convert "
                                                           "to the column's type");
        if constexpr (column_indexed<T, Member>() || !std::is_nothrow_move_constructible_v<Value> ||
                      !std::is_nothrow_move_assignable_v<Value>) {
            return update(row, [&](Row& r) { r.*Member = Value(std::forward<V>(value)); });
        } else {
            auto& st = mut()->template state<T>();
            Value fresh(std::forward<V>(value));  // may throw: nothing is changed yet
            st.template reserve_column<field>();
            auto& stored = const_cast<Row&>(row);
            st.template log_column<field>(stored);
            stored.*Member = std::move(fresh);
            return row;
        }
    }

    /// Updates the row of T with this key (see update(row, fn)).
    /// @throws not_found_error when there is none.
    template <class T, class K, class F>
    const typename T::row_type& update(const K& key, F&& fn) {
        return update(this->template get<T>(key), std::forward<F>(fn));
    }

    /// Erases a stored row and applies every referential action (cascade,
    /// set null, association links) in one step; returns the number of rows
    /// erased. @throws constraint_error when restricting rows exist; nothing changes.
    template <class Row>
    std::size_t erase(const Row& row) {
        using T = typename Store::template table_of_row<Row>;
        mut();
        if constexpr (!referenced<T>()) {
            erase_one<T>(row);
            return 1;
        } else if constexpr (cascades_to_leaves<T>()) {
            // Every key to T cascades, from tables nothing references, once
            // per table: a child is reached by exactly one path, so no plan,
            // no visited set, and no restrict or set-null to check.
            auto sp = savepoint();
            std::size_t n = 0;
            Store::for_each_table([&]<class C>(C*) {
                detail::for_each_spec<C>([&]<class S>(S*) {
                    if constexpr (detail::is_fk<S>) {
                        if constexpr (std::is_same_v<detail::parent_of<S, C>, T>) {
                            const auto& idx = this->template state_of<C>().rows.template get<S>();
                            auto [first, last] = idx.equal_range(this->template lookup_parent_key<S, T>(row));
                            while (first != last) {
                                const auto& child = *first++;
                                erase_one<C>(child);
                                ++n;
                            }
                        }
                    }
                });
            });
            erase_one<T>(row);
            sp.release();
            return n + 1;
        } else {
            auto plan = this->plan_erase(row);
            return apply(plan);
        }
    }

    /// Erases the row of T with this key; returns the number of rows erased
    /// (0 when there is no such row).
    template <class T, class... K>
    std::size_t erase(const K&... key) {
        if (const auto* row = this->template find<T>(key...)) return erase(*row);
        return 0;
    }

    /// Erases every row of T, with the referential actions of each.
    template <class T>
    std::size_t clear() {
        mut();
        erase_plan<Store> plan;
        for (const auto& r : this->template all<T>()) this->template add_root<T>(plan, r);
        this->complete(plan);
        return apply(plan);
    }

    /// Applies a plan made by plan_erase() in this transaction, before any
    /// other change. @throws constraint_error when the plan is blocked.
    std::size_t apply(const erase_plan<Store>& plan) {
        mut();
        if (!plan.allowed()) throw_restricted(plan);
        auto sp = savepoint();
        // Nulls first: a nulled row is never also erased (the plan excludes it).
        Store::for_each_table([&]<class C>(C*) {
            for (const auto& n : std::get<typename erase_plan<Store>::template per_table<C>>(plan.tables_).nulled)
                set_null<C>(*n.row, n.fk);
        });
        Store::for_each_table([&]<class C>(C*) {
            for (const auto* r : std::get<typename erase_plan<Store>::template per_table<C>>(plan.tables_).erased)
                erase_one<C>(*r);
        });
        sp.release();
        return plan.erased_count();
    }

private:
    friend Store;
    friend class relstore::savepoint<Store>;

    explicit transaction(Store* db) : base(db, std::defer_lock), db_mut_(db) {
        if (db->writer_.load(std::memory_order_relaxed) == std::this_thread::get_id())
            detail::throw_usage("relstore: this thread already holds the store's write transaction");
        const auto& held = detail::read_scopes_held();
        if (std::find(held.begin(), held.end(), &db->mutex_) != held.end())
            detail::throw_usage(
                "relstore: this thread holds a read scope of the store; end it before beginning a write transaction "
                "(the transaction would wait for it forever)");
        {
            std::lock_guard gate(db->gate_);  // new readers wait behind this writer
            lock_ = std::unique_lock(db->mutex_);
        }
        db->writer_.store(std::this_thread::get_id(), std::memory_order_relaxed);
        marks_.push_back(current_marks());
    }

    using marks_type = typename detail::marks_of<typename Store::tables>::type;

    Store* mut() const {
        if (!db_mut_) [[unlikely]]
            detail::throw_usage("relstore: this transaction has ended (committed, rolled back or moved from)");
        return db_mut_;
    }

    void end() noexcept {
        marks_.clear();
        db_mut_->writer_.store(std::thread::id{}, std::memory_order_relaxed);
        db_mut_ = nullptr;
        this->db_ = nullptr;
        lock_.unlock();
    }

    auto current_marks() const {
        return std::apply([](const auto&... st) { return std::make_tuple(st.current_mark()...); },
                          db_mut_->tables_);
    }

    [[nodiscard]] std::size_t depth() const noexcept { return marks_.size(); }

    void rollback_to_depth(std::size_t depth) noexcept {
        if (!db_mut_ || depth >= marks_.size()) return;
        auto& m = marks_[depth];
        std::apply([&](auto&... st) { std::apply([&](const auto&... mk) { (st.rollback_to(mk), ...); }, m); },
                   db_mut_->tables_);
        marks_.resize(depth == 0 ? 1 : depth);
    }
    void release_depth(std::size_t depth) noexcept {
        if (db_mut_ && depth > 0 && depth < marks_.size()) marks_.resize(depth);
    }

    template <class T>
    static auto& key_member(typename T::row_type& row) {
        return []<auto M>(detail::column_list<M>, auto& r) -> auto& { return r.*M; }(
            typename T::key::columns{}, row);
    }

    template <class T>
    static constexpr bool referenced() {
        bool any = false;
        Store::for_each_table([&]<class C>(C*) {
            detail::for_each_spec<C>([&]<class S>(S*) {
                if constexpr (detail::is_fk<S>) any = any || std::is_same_v<detail::parent_of<S, C>, T>;
            });
        });
        return any;
    }

    /// True when a key, index or foreign key of T covers column M.
    template <class T, auto M>
    static constexpr bool column_indexed() {
        bool any = false;
        detail::for_each_spec<T>([&]<class S>(S*) {
            any = any || []<auto... Ms>(detail::column_list<Ms...>) {
                return (detail::same_member<Ms, M>() || ...);
            }(typename S::columns{});
        });
        return any;
    }

    /// True when every foreign key to T cascades, no table has two keys to T,
    /// T does not reference itself, and no table holding a key to T is itself
    /// referenced: erasing a T row then erases exactly its direct children.
    template <class T>
    static constexpr bool cascades_to_leaves() {
        bool ok = true;
        Store::for_each_table([&]<class C>(C*) {
            int keys_to_t = 0;
            detail::for_each_spec<C>([&]<class S>(S*) {
                if constexpr (detail::is_fk<S>) {
                    if constexpr (std::is_same_v<detail::parent_of<S, C>, T>) {
                        ++keys_to_t;
                        ok = ok && S::action == on_delete::cascade && !std::is_same_v<C, T> && !referenced<C>();
                    }
                }
            });
            ok = ok && keys_to_t <= 1;
        });
        return ok;
    }

    template <class T>
    static std::string where_text(std::string_view cols, const std::string& value) {
        return std::string(T::name) + "." + std::string(cols) + " = " + value;
    }

    /// Every non-null foreign key of row must match a parent row; for an
    /// acyclic self-reference the new parent must not descend from row.
    template <class T>
    void check_references(const typename T::row_type& row, const typename T::row_type* old) const {
        detail::for_each_spec<T>([&]<class S>(S*) {
            if constexpr (detail::is_fk<S>) {
                using traits = detail::columns_traits<typename S::columns>;
                using P = detail::parent_of<S, T>;
                auto v = traits::get(row);
                if (traits::has_null(v)) return;
                if (old && traits::get(*old) == v) return;
                auto pk = detail::fk_value_as_parent_key<S, typename detail::table_state<P>::key_type>(row);
                const auto& pidx = this->template state_of<P>().key_index();
                bool self_ref = false;
                if constexpr (std::is_same_v<P, T>) self_ref = pk == detail::table_state<T>::key_of(row);
                if (!self_ref && pidx.find(pk) == pidx.end())
                    throw constraint_error(errc::foreign_key_violation, std::string(T::name), traits::names(),
                                           where_text<T>(traits::names(), detail::display(v)) +
                                               " references no row in " + std::string(P::name));
                // A row being inserted has no children yet (they would have
                // failed their own check), so only naming itself can close a
                // cycle; an update walks up from the new parent.
                if constexpr (S::is_acyclic) check_acyclic<T, S>(row, pk, old != nullptr);
            }
        });
    }

    template <class T, class S>
    void check_acyclic(const typename T::row_type& row, typename detail::table_state<T>::key_type pk,
                       bool walk) const {
        using traits = detail::columns_traits<typename S::columns>;
        using state = detail::table_state<T>;
        const auto own = state::key_of(row);
        const auto& idx = this->template state_of<T>().key_index();
        // Walk up from the new parent; meeting the row itself closes a cycle.
        // The walk is bounded by the table size, so a corrupt chain cannot loop.
        std::size_t steps = 0;
        for (;;) {
            if (pk == own)
                throw constraint_error(errc::cycle, std::string(T::name), traits::names(),
                                       where_text<T>(traits::names(), detail::display(traits::get(row))) +
                                           " would close a cycle through " + std::string(T::name) + "." +
                                           detail::columns_traits<typename T::key::columns>::names() + " = " +
                                           detail::display(own));
            if (!walk) return;
            auto it = idx.find(pk);
            if (it == idx.end() || ++steps > idx.size()) return;
            auto up = traits::get(*it);
            if (traits::has_null(up)) return;
            pk = detail::fk_value_as_parent_key<S, typename state::key_type>(*it);
        }
    }

    /// Unique specs over nullable columns are plain indexes (null must not
    /// clash with null), so their uniqueness is checked here.
    template <class T>
    void check_nullable_uniques(const typename T::row_type& row, const typename T::row_type* self) const {
        detail::for_each_spec<T>([&]<class S>(S*) {
            if constexpr (detail::index_for_spec<S>::checked_by_store) {
                using traits = detail::columns_traits<typename S::columns>;
                auto v = traits::get(row);
                if (traits::has_null(v)) return;
                const auto& idx = this->template state_of<T>().rows.template get<S>();
                auto [first, last] = idx.equal_range(v);
                for (; first != last; ++first)
                    if (&*first != self) throw unique_error<T, S>(v);
            }
        });
    }

    template <class T, class S, class V>
    static constraint_error unique_error(const V& v) {
        using traits = detail::columns_traits<typename S::columns>;
        const bool is_key = std::is_same_v<typename S::spec_kind, detail::key_tag>;
        return constraint_error(is_key ? errc::duplicate_key : errc::unique_violation, std::string(T::name),
                                traits::names(), where_text<T>(traits::names(), detail::display(v)) + " already exists");
    }

    /// Finds which unique index refused a row and throws its error.
    template <class T>
    [[noreturn]] void throw_unique_clash(const typename T::row_type& row, const typename T::row_type* self) const {
        detail::for_each_spec<T>([&]<class S>(S*) {
            if constexpr (detail::index_for_spec<S>::enforced_by_container) {
                using traits = detail::columns_traits<typename S::columns>;
                auto v = traits::get(row);
                const auto& idx = this->template state_of<T>().rows.template get<S>();
                auto [first, last] = idx.equal_range(v);
                for (; first != last; ++first)
                    if (&*first != self) throw unique_error<T, S>(v);
            }
        });
        throw constraint_error(errc::unique_violation, std::string(T::name), "", std::string(T::name) +
                                                                                     ": row refused by an index");
    }

    template <class T>
    void replace_logged(const typename T::row_type& row, typename T::row_type changed) {
        auto& st = db_mut_->template state<T>();
        st.reserve_update();
        bool keys_same = true;
        detail::for_each_spec<T>([&]<class S>(S*) {
            keys_same = keys_same && []<auto... Ms>(detail::column_list<Ms...>, const auto& a, const auto& b) {
                return ((a.*Ms == b.*Ms) && ...);
            }(typename S::columns{}, row, changed);
        });
        if (keys_same) {
            // No indexed column changed: the node keeps its place in every
            // index, so swap the values in place and skip Boost's re-check
            // of every index (which walks the FK index's group of equal keys,
            // a cache miss per sibling row).
            using std::swap;
            swap(const_cast<typename T::row_type&>(row), changed);
            st.log_replaced(std::move(changed));  // now the old row
        } else {
            // replace(), not modify(): for an index whose key changed it
            // unlinks and relinks directly, where modify() would first walk
            // the new key's group to see whether the node is still in place.
            typename T::row_type old = row;
            if (!st.rows.replace(st.rows.iterator_to(row), std::move(changed)))
                throw_unique_clash<T>(changed, &row);  // changed is intact on failure
            st.log_replaced(std::move(old));
        }
    }

    template <class T>
    void erase_one(const typename T::row_type& row) {
        auto& st = db_mut_->template state<T>();
        st.reserve_extract();
        st.log_extracted(st.rows.extract(st.rows.iterator_to(row)));
    }

    template <class C>
    void set_null(const typename C::row_type& row, std::size_t fk_ordinal) {
        std::size_t ordinal = 0;
        detail::for_each_spec<C>([&]<class S>(S*) {
            // Nested, not &&: S::action exists only on foreign keys.
            if constexpr (detail::is_fk<S>) {
                if constexpr (S::action == on_delete::set_null) {
                    if (ordinal == fk_ordinal) {
                        typename C::row_type changed = row;
                        []<auto... Ms>(detail::column_list<Ms...>, auto& r) {
                            ((r.*Ms = std::nullopt), ...);
                        }(typename S::columns{}, changed);
                        replace_logged<C>(row, std::move(changed));
                    }
                }
            }
            ++ordinal;
        });
    }

    [[noreturn]] void throw_restricted(const erase_plan<Store>& plan) const {
        std::string msg;
        std::string table_name;
        std::string cols;
        Store::for_each_table([&]<class C>(C*) {
            const auto& blocking = plan.template blocking<C>();
            if (blocking.empty() || !msg.empty()) return;
            using key_traits = detail::columns_traits<typename C::key::columns>;
            table_name = std::string(C::name);
            cols = key_traits::names();
            msg = "erase restricted: " + std::to_string(blocking.size()) + " row(s) of " + table_name +
                  " reference the rows erased (" + table_name + "." + cols + " = ";
            std::size_t shown = 0;
            for (const auto* r : blocking) {
                if (shown == 5) {
                    msg += ", ...";
                    break;
                }
                msg += (shown++ ? ", " : "") + detail::display(detail::table_state<C>::key_of(*r));
            }
            msg += ")";
        });
        throw constraint_error(errc::restrict_violation, table_name, cols, msg);
    }

    Store* db_mut_;
    std::unique_lock<std::shared_mutex> lock_;
    std::vector<marks_type> marks_;
};

namespace detail {

template <class... Tables>
struct store_traits<store<Tables...>> {
    using tables = std::tuple<Tables...>;
};

}  // namespace detail

/// The run-time description of a store's schema (what snapshots record).
template <class Store>
schema_info describe() {
    schema_info info;
    Store::for_each_table([&]<class T>(T*) {
        table_info t;
        t.name = std::string(T::name);
        for_each_field<typename T::row_type>([&](const auto& f) {
            using V = typename std::decay_t<decltype(f)>::value_type;
            t.columns.push_back({std::string(f.name), column_type_of<V>});
        });
        t.key = detail::columns_traits<typename T::key::columns>::name_list();
        t.auto_key = T::key::is_auto;
        t.hashed_key = T::key::is_hashed;
        detail::for_each_spec<T>([&]<class S>(S*) {
            using traits = detail::columns_traits<typename S::columns>;
            if constexpr (detail::is_fk<S>) {
                t.foreign_keys.push_back({traits::name_list(), std::string(detail::parent_of<S, T>::name), S::action,
                                          S::is_unique, S::is_acyclic});
            } else if constexpr (std::is_same_v<typename S::spec_kind, detail::index_tag>) {
                index_kind k = S::is_hashed ? (S::is_unique ? index_kind::hashed_unique : index_kind::hashed)
                                         : (S::is_unique ? index_kind::ordered_unique : index_kind::ordered);
                t.indexes.push_back({k, traits::name_list()});
            }
        });
        info.tables.push_back(std::move(t));
    });
    return info;
}

}  // namespace relstore
