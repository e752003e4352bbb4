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

#include <relstore/detail/scopes.hpp>
#include <relstore/detail/spec_traits.hpp>
#include <relstore/detail/table_state.hpp>
#include <relstore/error.hpp>
#include <relstore/fwd.hpp>
#include <relstore/schema.hpp>
#include <relstore/schema_info.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

namespace relstore {

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
        for (const store* s : {this, &other}) {
            if (s->held_by_this_thread())
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

    /// True when this thread holds a read scope or the write transaction of
    /// this store (read scopes are recorded by the mutex they lock).
    bool held_by_this_thread() const {
        const auto& held = detail::read_scopes_held();
        return writer_.load(std::memory_order_relaxed) == std::this_thread::get_id() ||
               std::find(held.begin(), held.end(), &mutex_) != held.end();
    }

    std::tuple<detail::table_state<Tables>...> tables_;
    /// Counts changes (under the write lock), so that an erase plan can tell
    /// whether the store changed since it was made.
    std::uint64_t changes_ = 0;
    mutable std::shared_mutex mutex_;
    /// Held by a writer while it waits for mutex_, and passed through by new
    /// readers: the platform's shared_mutex may prefer readers (glibc does),
    /// and continuous read scopes would otherwise starve writers.
    mutable std::mutex gate_;
    std::atomic<std::thread::id> writer_{};
};

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

// A store is used through its scopes: including the store brings them.
#include <relstore/reader.hpp>
#include <relstore/transaction.hpp>
