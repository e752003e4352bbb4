#pragma once
/// @file transaction.hpp
/// transaction<Store>: a write transaction (insert, update, set, erase,
/// savepoints, commit, rollback). Begun with store::write().

#include <relstore/changes.hpp>
#include <relstore/detail/bucket_prefetch.hpp>
#include <relstore/detail/scopes.hpp>
#include <relstore/detail/spec_traits.hpp>
#include <relstore/detail/table_state.hpp>
#include <relstore/erase_plan.hpp>
#include <relstore/error.hpp>
#include <relstore/fwd.hpp>
#include <relstore/reader.hpp>
#include <relstore/savepoint.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <ranges>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace relstore {

namespace detail {
/// How many rows insert_many reads ahead of its inserts, into a ring on the stack.
inline constexpr std::size_t insert_many_lead = 16;
/// Whether insert_many reads rows of this type ahead: only rows it can hold
/// in the ring, and small enough that the ring stays within 8 KiB of stack
/// (a row with a large inline member is inserted as it comes).
template <class Row>
inline constexpr bool insert_many_reads_ahead = std::is_default_constructible_v<Row> &&
                                                std::is_move_assignable_v<Row> &&
                                                sizeof(Row) * insert_many_lead <= 8192;

template <class Tuple>
struct marks_of;
template <class... T>
struct marks_of<std::tuple<T...>> {
    using type = std::tuple<typename table_state<T>::mark...>;
};

}  // namespace detail

/// A write transaction: every read operation plus insert, update, erase.
/// Each failed operation leaves the store exactly as before it and the
/// transaction usable. Rolls back unless commit() is called.
template <class Store>
class transaction : public reader<Store> {
    using base = reader<Store>;

public:
    /// @throws usage_error inside the user's code that runs on this
    /// transaction's behalf (see busy_scope): that code's caller goes on
    /// with this object once it returns.
    transaction(transaction&& o)
        : base((o.refuse_if_busy(), std::exchange(o.db_, nullptr)), std::defer_lock),
          db_mut_(std::exchange(o.db_mut_, nullptr)),
          marks_(std::move(o.marks_)) {
        this->side_ = o.side_;
        if (!db_mut_) return;
        // A savepoint may be ending on another thread meanwhile.
        std::lock_guard lock(db_mut_->savepoint_mu_);
        savepoints_ = std::exchange(o.savepoints_, {});
        for (auto* sp : savepoints_) sp->tx_.store(this, std::memory_order_relaxed);
    }
    transaction& operator=(transaction&&) = delete;
    ~transaction() {
        terminate_if_busy();  // its caller would go on with a destroyed object
        if (db_mut_) rollback();
    }

    /// Makes every change permanent and releases the lock.
    /// When someone listens (store::subscribe, store::before_commit), the
    /// transaction's change set is built first and the before_commit hooks
    /// see it; then the commit takes effect, and every subscriber is called
    /// while this thread still holds the store.
    /// @throws whatever a before_commit hook throws: the transaction is then
    /// rolled back. @throws the first exception a subscriber threw: the
    /// commit has happened and stays, and every subscriber was called.
    void commit() {
        auto* db = mut();
        if (db->listeners_->any() || db->journal_ || db->mirror_) [[unlikely]]
            return commit_observed();
        Store::for_each_table([&]<class T>(T*) { db->template state<T>().clear_log(); });
        end();
    }

    /// Undoes every change of the transaction and releases the lock.
    /// @throws usage_error only inside the user's code that runs on this
    /// transaction's behalf (update()'s function, a before_commit hook, a
    /// subscriber, insert_many's range): the code that called it goes on
    /// with the transaction once it returns.
    void rollback() {
        refuse_if_busy();
        if (!db_mut_) return;
        {
            // On another thread than the transaction's (ending it there is
            // allowed), a savepoint's end on the transaction's thread would
            // roll back at the same time: the mutex orders the two.
            auto lock = savepoint_lock();
            rollback_to_depth(0);
        }
        end();
    }

    /// Takes a savepoint (nested transaction).
    [[nodiscard]] relstore::savepoint<Store> savepoint() {
        Store* db = mut();
        {
            std::lock_guard lock(db->savepoint_mu_);
            savepoints_.reserve(savepoints_.size() + 1);  // registering below cannot throw
        }
        marks_.push_back(current_marks());
        relstore::savepoint<Store> sp(this, db, marks_.size() - 1);
        {
            std::lock_guard lock(db->savepoint_mu_);
            savepoints_.push_back(&sp);
            db->savepoints_live_.store(savepoints_.size(), std::memory_order_release);
        }
        return sp;  // NOLINT: a named return is moved (or elided), and the move updates the registration
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
            if (key_field == typename state::key_type{}) {
                // The counter stops at the largest value and never hands it
                // out: handed out, it would come back once that row is erased.
                if (st.next_key == std::numeric_limits<typename state::key_type>::max()) [[unlikely]]
                    throw_auto_key_exhausted<T>();
                key_field = st.next_key;
            }
        }
        check_values<T>(row);
        check_references<T>(row, nullptr);
        check_nullable_uniques<T>(row, nullptr);
        st.reserve_log(1);
        st.touch_all();
        auto [it, inserted] = st.rows.insert(std::move(row));
        if (!inserted) throw_unique_clash<T>(row, nullptr);
        st.log_inserted(*it);
        touch();
        if constexpr (T::key::is_auto) {
            const auto key = state::key_of(*it);
            // The counter stops at the largest key (no overflow): an auto
            // insert after that is refused (throw_auto_key_exhausted).
            if (key >= st.next_key)
                st.next_key = key == std::numeric_limits<typename state::key_type>::max() ? key : key + 1;
        }
        return *it;
    }

    /// Makes room for n more rows of table T: their nodes in one block,
    /// the buckets of every hashed index, and the undo log entries of
    /// inserting them. Inserting those rows then allocates nothing but what
    /// the rows themselves hold (strings), and no index rehashes on the way.
    /// Capacity is not a change: rollback keeps it.
    /// @throws std::bad_alloc; nothing is reserved then.
    template <class T>
    void reserve(std::size_t n) {
        static_assert(Store::template has_table<T>, "relstore: reserve<T>(n): T is not a table of this store");
        mut()->template state<T>().reserve(n);
    }

    /// Inserts every row of a range, all or nothing; returns how many. A
    /// range that knows its size reserves room for it first (see reserve).
    /// Rows the range yields by reference are copied; rows it yields as
    /// values (a transform view) are moved in. The range is read up to 16
    /// rows ahead of the inserts (rows of up to 512 bytes): a view that
    /// computes its rows from this store sees it as of up to 16 rows earlier.
    template <std::ranges::input_range R>
    std::size_t insert_many(R&& rows) {
        using Ref = std::ranges::range_reference_t<R>;
        using Row = std::remove_cvref_t<Ref>;
        constexpr bool one_table = []<class... Ts>(std::tuple<Ts...>*) {
            return (std::size_t{std::is_same_v<Row, typename Ts::row_type>} + ... + 0) == 1;
        }(static_cast<typename Store::tables*>(nullptr));
        // The range is the user's code: while it runs, the transaction can
        // be read but not written (busy_scope); a range that wrote it would
        // slip rows past the savepoint that makes this all or nothing.
        constexpr const char* in_range = "insert_many's range";
        if constexpr (std::ranges::sized_range<R> && one_table) {
            std::size_t size = 0;
            {
                const busy_scope busy(*this, in_range);
                size = static_cast<std::size_t>(std::ranges::size(rows));
            }
            reserve<typename Store::template table_of_row<Row>>(size);
        }
        auto sp = savepoint();
        std::size_t n = 0;
        const auto start = [&] {
            const busy_scope busy(*this, in_range);
            return std::ranges::begin(rows);
        };
        auto it = start();
        const auto last = [&] {
            const busy_scope busy(*this, in_range);
            return std::ranges::end(rows);
        }();
        const auto more = [&] {
            const busy_scope busy(*this, in_range);
            return it != last;
        };
        if constexpr (one_table && detail::insert_many_reads_ahead<Row>) {
            // Each row is taken into a small ring a few rows before its
            // turn, and its buckets, then its buckets' first nodes, are
            // prefetched meanwhile (detail/bucket_prefetch.hpp): a bulk
            // insert's index links otherwise wait on a cache miss each.
            using T = typename Store::template table_of_row<Row>;
            const auto& st = mut()->template state<T>();
            detail::bucket_prefetch<T> buckets;
            buckets.learn(st);
            constexpr std::size_t lead = detail::insert_many_lead, heads_lead = lead / 2;
            std::array<Row, lead> ring;
            std::size_t taken = 0;
            const auto take = [&] {
                Row& r = ring[taken++ % lead];
                {
                    const busy_scope busy(*this, in_range);
                    r = *it;
                    ++it;
                }
                buckets.prefetch(st, r);
            };
            while (taken < lead && more()) take();
            for (; n < taken; ++n) {
                insert<T>(std::move(ring[n % lead]));
                buckets.learn(st);
                if (n + heads_lead < taken) buckets.prefetch_heads(st, ring[(n + heads_lead) % lead]);
                if (more()) take();
            }
        } else {
            while (more()) {
                {
                    // The row as the range yields it: a reference is copied
                    // by insert(), a value moved in.
                    std::optional<busy_scope> busy(std::in_place, *this, in_range);
                    decltype(auto) r = *it;
                    busy.reset();
                    insert(std::forward<decltype(r)>(r));
                }
                ++n;
                const busy_scope busy(*this, in_range);
                ++it;
            }
        }
        sp.release();
        return n;
    }

    /// Changes a stored row through fn(Row&), keeping every index right.
    /// The primary key cannot change. Returns the stored row.
    /// @throws usage_error when row is not this store's stored row (a copy,
    /// a row of another store); constraint_error (unique, foreign key, cycle,
    /// key change, NaN in an indexed column); the row is unchanged.
    template <class Row, class F>
    const Row& update(const Row& row, F&& fn) {
        using T = typename Store::template table_of_row<Row>;
        mut();
        this->require_stored(row, "update");
        return update_stored<T>(row, std::forward<F>(fn));
    }

    /// Sets one column of a stored row: `tx.set<&Post::title>(post, "New")`.
    /// A column that no key, index or foreign key covers is changed in place
    /// and only its old value is logged, not a copy of the row (in W8, about
    /// 2.5 times the rate of update() for a new title); any other column goes through
    /// update() with all its checks. The value must have the column's type or
    /// convert to it without narrowing. Returns the stored row.
    /// @throws usage_error and constraint_error as update() does; the row is unchanged.
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
        static_assert(!std::is_constructible_v<Value, V&&> || detail::value_check<Member, V>::ok);
        mut();
        this->require_stored(row, "set");
        if constexpr (settable_in_place<T, Member>()) {
            return set_indexed<T, Member>(row, Value(std::forward<V>(value)));
        } else if constexpr (column_indexed<T, Member>() || column_checked<T, Member>() ||
                             !std::is_nothrow_move_constructible_v<Value> ||
                             !std::is_nothrow_move_assignable_v<Value>) {
            return update_stored<T>(row, [&](Row& r) { r.*Member = Value(std::forward<V>(value)); });
        } else {
            auto& st = db_mut_->template state<T>();
            Value fresh(std::forward<V>(value));  // may throw: nothing is changed yet
            st.template reserve_column<field>();
            auto& stored = const_cast<Row&>(row);
            st.template log_column<field>(stored);
            stored.*Member = std::move(fresh);
            touch();
            return row;
        }
    }

    /// Updates the row of T with this key (see update(row, fn)).
    /// @throws not_found_error when there is none.
    template <class T, class K, class F>
    const typename T::row_type& update(const K& key, F&& fn) {
        mut();
        return update_stored<T>(this->template get<T>(key), std::forward<F>(fn));
    }

    /// Erases a stored row and applies every referential action (cascade,
    /// set null, association links) in one step; returns the number of rows
    /// erased. @throws usage_error when row is not this store's stored row;
    /// constraint_error when restricting rows exist; nothing changes.
    template <class Row>
    std::size_t erase(const Row& row) {
        using T = typename Store::template table_of_row<Row>;
        mut();
        this->require_stored(row, "erase");
        return erase_stored<T>(row);
    }

    /// Erases the row of T with this key; returns the number of rows erased
    /// (0 when there is no such row).
    template <class T, class... K>
    std::size_t erase(const K&... key) {
        mut();
        if (const auto* row = this->template find<T>(key...)) return erase_stored<T>(*row);
        return 0;
    }

    /// Erases every row of T, with the referential actions of each.
    template <class T>
    std::size_t clear() {
        mut();
        erase_plan<Store> plan = this->new_plan();
        for (const auto& r : this->template all<T>()) this->template add_root<T>(plan, r);
        this->complete(plan);
        return apply_plan(plan);
    }

    /// Applies a plan made by plan_erase() on this store since its last
    /// change (in this transaction before any other write, or in a read
    /// scope with no commit since).
    /// @throws usage_error when the plan is stale or of another store (its
    /// rows may be gone); constraint_error when the plan is blocked.
    std::size_t apply(const erase_plan<Store>& plan) {
        mut();
        const std::uint64_t now = db_mut_->changes_.load(std::memory_order_relaxed);
        const bool stale = plan.stamp_ != now;
        // Another store's plan: another address, or another store's epoch (see
        // store::first_change_count) at this one's address.
        const bool other = plan.store_ != &db_mut_->writer_tables() || (plan.stamp_ >> 32) != (now >> 32);
        if (other || stale) [[unlikely]]
            detail::throw_usage(other
                                    ? "relstore: apply(plan) was given an erase plan made on another store (or, "
                                      "when readers never wait, in a read scope, which reads another copy: make "
                                      "the plan in the transaction)"
                                    : "relstore: apply(plan) was given a stale erase plan: the store changed since "
                                      "plan_erase() made it, so its rows may be gone; make the plan again");
        return apply_plan(plan);
    }

private:
    friend Store;
    friend class relstore::savepoint<Store>;
    friend struct detail::record_applier<Store>;

    /// update(row, fn) once row is known to be a stored row of T.
    template <class T, class F>
    const typename T::row_type& update_stored(const typename T::row_type& row, F&& fn) {
        using Row = typename T::row_type;
        using state = detail::table_state<T>;
        Row changed = row;
        {
            const busy_scope busy(*this, "update()'s function", T::name);
            std::forward<F>(fn)(changed);
        }
        if (!(state::key_of(changed) == state::key_of(row)))
            throw constraint_error(errc::key_changed, std::string(T::name),
                                   detail::columns_traits<typename T::key::columns>::names(),
                                   std::string(T::name) + "." + detail::columns_traits<typename T::key::columns>::names() +
                                       " = " + detail::display(state::key_of(row)) +
                                       " cannot be changed by update (erase and insert instead)");
        check_values<T>(changed);
        check_references<T>(changed, &row);
        check_nullable_uniques<T>(changed, &row);
        replace_logged<T>(row, std::move(changed));
        return row;
    }

    /// True when spec S has column M.
    template <class S, auto M>
    static constexpr bool covers() {
        return []<auto... Ms>(detail::column_list<Ms...>) {
            return (detail::same_member<Ms, M>() || ...);
        }(typename S::columns{});
    }

    /// True when set<Member> on T can re-index the row in place: indexes
    /// cover the column, none of them the key or an acyclic self-reference
    /// (whose check walks rows), no check reads the column, its values move
    /// without throwing (the log takes the old one out), and no index on it
    /// runs the user's code (index_may_throw).
    template <class T, auto M>
    static constexpr bool settable_in_place() {
        using V = typename member_traits<M>::value_type;
        if constexpr (!column_indexed<T, M>() || column_checked<T, M>() || !std::is_nothrow_move_constructible_v<V> ||
                      !std::is_nothrow_move_assignable_v<V> || index_may_throw<T, M>()) {
            return false;
        } else {
            bool ok = true;
            detail::for_each_spec<T>([&]<class S>(S*) {
                if constexpr (covers<S, M>()) {
                    ok = ok && !std::is_same_v<typename S::spec_kind, detail::key_tag>;
                    if constexpr (detail::is_fk<S>) ok = ok && !S::is_acyclic;
                }
            });
            return ok;
        }
    }

    /// True when set<M> on T re-indexes the row faster by taking its node
    /// out of the container and linking it back (a node handle: the same
    /// node, so references stay valid) than by modify(): every index is
    /// hashed, and a non-unique hashed index covers M. modify() first asks
    /// each index whether the node may stay where it is, and a hashed
    /// non-unique index answers by walking the whole group of rows with the
    /// new value, a cache miss per row: W8's re-parent spent half its time
    /// walking the new author's posts. Re-linking a hashed index touches the
    /// node's neighbours and one bucket instead. Not with an ordered index:
    /// its re-link descends the tree, where modify() looks at two neighbours.
    template <class T, auto M>
    static constexpr bool relink_beats_modify() {
        bool all_hashed = true, walks_group = false;
        detail::for_each_spec<T>([&]<class S>(S*) {
            all_hashed = all_hashed && S::is_hashed;
            if constexpr (covers<S, M>())
                walks_group = walks_group || (S::is_hashed && !detail::index_for_spec<S>::enforced_by_container);
        });
        return all_hashed && walks_group;
    }

    /// True when putting back a node just taken out of T's container cannot
    /// grow a bucket array: each hashed index has room for as many rows as
    /// it holds now (its max_load, computed as Boost.MultiIndex does). Only
    /// a max_load_factor lowered since the last insert leaves no such room.
    template <class T>
    static bool relink_cannot_allocate(const typename detail::table_state<T>::container_type& rows) noexcept {
        bool room = true;
        detail::for_each_spec<T>([&]<class S>(S*) {
            const auto& idx = rows.template get<S>();
            const float max_load = idx.max_load_factor() * static_cast<float>(idx.bucket_count());
            room = room && static_cast<float>(rows.size()) <= max_load - 1.0f;
        });
        return room;
    }

    /// True when a unique index that the container enforces covers column
    /// M of T: setting M can then be refused by the container itself.
    template <class T, auto M>
    static constexpr bool refusable_by_container() {
        bool any = false;
        detail::for_each_spec<T>([&]<class S>(S*) {
            if constexpr (covers<S, M>()) any = any || detail::index_for_spec<S>::enforced_by_container;
        });
        return any;
    }

    /// True when hashing or comparing the values of an index that covers
    /// column M of T runs the user's code, which may throw: a column_traits
    /// type's to_stored() or comparison. Such a set() goes through update()'s
    /// replace(), which leaves the row as it was when that code throws:
    /// modify() erases a row whose re-indexing throws, even with a rollback
    /// (Boost 1.74 rethrows inside the try that erases it).
    template <class T, auto M>
    static constexpr bool index_may_throw() {
        bool any = false;
        detail::for_each_spec<T>([&]<class S>(S*) {
            if constexpr (covers<S, M>())
                any = any || []<auto... Ms>(detail::column_list<Ms...>) {
                    return (detail::user_column<detail::unwrap_optional_t<typename member_traits<Ms>::value_type>> || ...);
                }(typename S::columns{});
        });
        return any;
    }

    /// The value of spec S's columns for row with column M set to v: what
    /// the row would have in that index after the set.
    template <class S, auto M, class Row, class V>
    static auto spec_value_with(const Row& row, const V& v) {
        using traits = detail::columns_traits<typename S::columns>;
        // The one-column case is decided out here: clang 14 instantiates both
        // branches of an `if constexpr` on the lambda's own pack.
        if constexpr (traits::size == 1)
            return typename traits::value_type(v);
        else
            return []<auto... Ms>(detail::column_list<Ms...>, const Row& r, const V& x) {
                return typename traits::value_type{column_or<Ms, M>(r, x)...};
            }(typename S::columns{}, row, v);
    }
    /// Column Mi of row, or v when Mi is M.
    template <auto Mi, auto M, class Row, class V>
    static const auto& column_or(const Row& row, const V& v) {
        if constexpr (detail::same_member<Mi, M>())
            return v;
        else
            return row.*Mi;
    }

    /// set() of an indexed column (see settable_in_place): update()'s checks
    /// on what changes (NaN, each foreign key and nullable unique covering
    /// the column, with the row's other columns as they are), then the row
    /// re-indexed in place by the container's modify(), as hand-written code
    /// does it, with only the old value logged. No copy of the row: W8's
    /// re-parent copied a post's two strings to change an integer.
    template <class T, auto Member>
    const typename T::row_type& set_indexed(const typename T::row_type& row,
                                            typename member_traits<Member>::value_type value) {
        using Row = typename T::row_type;
        constexpr std::size_t field = field_index_of<Member>();
        if (value == row.*Member) return row;  // no change to make or to log
        if (detail::is_nan_value(value)) [[unlikely]] {
            const std::string_view col = column_name<Member>();
            throw constraint_error(errc::invalid_value, std::string(T::name), std::string(col),
                                   where_text<T>(col, "NaN") +
                                       ": an indexed column cannot hold NaN (it equals nothing and orders against "
                                       "nothing, so the index would find wrong rows)");
        }
        detail::for_each_spec<T>([&]<class S>(S*) {
            if constexpr (covers<S, Member>()) {
                using traits = detail::columns_traits<typename S::columns>;
                if constexpr (detail::is_fk<S>) {
                    const auto v = spec_value_with<S, Member>(row, value);
                    if (traits::has_null(v)) return;
                    using P = detail::parent_of<S, T>;
                    const auto pk = detail::as_parent_key<S, typename detail::table_state<P>::key_type>(v);
                    bool self_ref = false;
                    if constexpr (std::is_same_v<P, T>) self_ref = pk == detail::table_state<T>::key_of(row);
                    const auto& pidx = this->template state_of<P>().key_index();
                    if (!self_ref && pidx.find(pk) == pidx.end())
                        throw constraint_error(errc::foreign_key_violation, std::string(T::name), traits::names(),
                                               where_text<T>(traits::names(), detail::display(v)) +
                                                   " references no row in " + std::string(P::name));
                } else if constexpr (detail::index_for_spec<S>::checked_by_store) {
                    const auto v = spec_value_with<S, Member>(row, value);
                    if (traits::has_null(v)) return;
                    const auto& idx = this->template state_of<T>().rows.template get<S>();
                    auto [first, last] = idx.equal_range(v);
                    for (; first != last; ++first)
                        if (&*first != &row) throw unique_error<T, S>(v);
                }
            }
        });
        auto& st = db_mut_->template state<T>();
        st.template reserve_column<field>();
        st.template touch_field<field>();
        auto& rows = st.rows;
        const auto set_value = [&](Row& r) {
            st.template log_column<field>(r);
            r.*Member = std::move(value);
        };
        if constexpr (!refusable_by_container<T, Member>()) {
            // Only non-unique indexes cover the column, and a unique index
            // whose key is unchanged keeps the row where it is: nothing can
            // refuse it (hashes and comparisons of column values do not
            // throw: settable_in_place), so modify() without a rollback,
            // which would erase a refused row, cannot erase this one. It
            // skips recording how to relink the row: 5% of the instructions
            // of W8's re-parent.
            if constexpr (relink_beats_modify<T, Member>()) {
                if (relink_cannot_allocate<T>(rows)) {
                    // Nothing can refuse the node (as above) nor make the
                    // insert allocate, so it goes back in.
                    auto node = rows.extract(rows.iterator_to(row));
                    set_value(node.value());
                    auto placed = rows.insert(std::move(node));
                    if (!placed.inserted) [[unlikely]] {
                        // Unreachable by the two checks above; were it not,
                        // the row goes back with its old value, not lost.
                        st.template unlog_column<field>();
                        rows.insert(std::move(placed.node));
                        throw constraint_error(errc::unique_violation, std::string(T::name), "",
                                               std::string(T::name) + ": row refused by an index");
                    }
                    touch();
                    return row;
                }
            }
            rows.modify(rows.iterator_to(row), set_value);
            touch();
            return row;
        }
        const bool placed = rows.modify(rows.iterator_to(row), set_value, [&](Row& r) {
            // a unique index refused the value: put the old one back
            value = std::move(r.*Member);
            st.template unlog_column<field>();
        });
        if (!placed) {
            // Which unique index refused it, for the message.
            detail::for_each_spec<T>([&]<class S>(S*) {
                if constexpr (detail::index_for_spec<S>::enforced_by_container && covers<S, Member>()) {
                    const auto v = spec_value_with<S, Member>(row, value);
                    const auto& idx = this->template state_of<T>().rows.template get<S>();
                    if (idx.find(v) != idx.end()) throw unique_error<T, S>(v);
                }
            });
            throw constraint_error(errc::unique_violation, std::string(T::name), "",
                                   std::string(T::name) + ": row refused by an index");
        }
        touch();
        return row;
    }

    /// erase(row) once row is known to be a stored row of T.
    template <class T>
    std::size_t erase_stored(const typename T::row_type& row) {
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
            erase_plan<Store> plan = this->new_plan();
            this->template add_root<T>(plan, row);
            this->complete(plan);
            return apply_plan(plan);
        }
    }

    void commit_observed() {
        auto* db = db_mut_;
        std::exception_ptr failed;
        {
            std::optional<changes<Store>> c;
            std::uint64_t begin = 0, end_pos = 0;
            try {
                // Old values are for subscribers: a journal records new ones.
                const bool listening = db->listeners_->any();
                if (listening || db->journal_)
                    c.emplace(detail::built_by_library{}, *db, *this, marks_.front(), listening);
                if (c && !c->empty()) {
                    {
                        const busy_scope busy(*this, "a before_commit hook");
                        db->listeners_->run_before(*c);
                    }
                    if (db->journal_) {
                        begin = db->journal_->end_position();
                        end_pos = db->journal_->append(*c);
                    }
                }
            } catch (...) {
                c.reset();
                rollback();
                throw;
            }
            if (db->journal_ && db->journal_->synchronous() && c && !c->empty())
                return commit_durably(*c, begin, end_pos);
            // The commit takes effect here (for readers too, when they never
            // wait: the copy written becomes theirs). The change set points
            // into the undo log, which lives until the subscribers have run.
            try {
                db->publish(marks_.front());
            } catch (...) {  // no room to record the keys to replay: the commit does not happen
                c.reset();
                rollback();
                throw;
            }
            if (c && !c->empty()) {
                const busy_scope busy(*this, "a subscriber (the transaction has committed)");
                failed = db->listeners_->run_after(*c);
            }
        }
        std::apply([](auto&... st) { (st.clear_log(), ...); }, db->side(this->side_));
        end();
        if (failed) std::rethrow_exception(failed);
    }

    /// A commit whose journal record must be durable before commit()
    /// returns. The record joins the group waiting for one fsync; if another
    /// writer waits for the store, the lock goes straight to it (no reader
    /// in between: nobody reads a commit before it is durable) and its
    /// record will share the fsync; otherwise this thread syncs the group.
    /// Subscribers of every commit in the group run after the fsync, on the
    /// thread that did it. A failed fsync rolls the whole group back.
    void commit_durably(const changes<Store>& c, std::uint64_t begin, std::uint64_t end_pos) {
        Store* db = db_mut_;
        typename Store::pending_type me{&c, marks_.front(), begin, end_pos, nullptr, false};
        db->pending_.push_back(&me);
        end_savepoints();
        db->writer_.store(std::thread::id{}, std::memory_order_relaxed);  // before the next writer sets it
        if (db->lock_.hand_off()) {
            // The store is the next writer's now; this transaction is over
            // but its reader stays valid for subscribers of the group.
            db_mut_ = nullptr;
            marks_.clear();
            db->wait_for_group(me);
            this->db_ = nullptr;
        } else {
            end();
        }
        if (me.result) std::rethrow_exception(me.result);
    }

    /// Applies a plan known to be current for this store.
    std::size_t apply_plan(const erase_plan<Store>& plan) {
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

    /// Counts a change of the store, so that an erase plan made before it is
    /// known to be stale.
    void touch() noexcept { db_mut_->bump_changes(); }

    explicit transaction(Store* db) : base(db, std::defer_lock), db_mut_(db) {
        if (db->writer_.load(std::memory_order_relaxed) == std::this_thread::get_id())
            detail::throw_usage("relstore: this thread already holds the store's write transaction");
        if (detail::this_thread_scopes().holds(&db->lock_))
            detail::throw_usage(
                "relstore: this thread holds a read scope of the store; end it before beginning a write transaction "
                "(the transaction would wait for it forever)");
        db->lock_exclusive();  // new readers wait behind this writer
        this->side_ = db->writer_side_;
        try {
            marks_.push_back(current_marks());  // a string key's copy may throw: never leave the store locked
        } catch (...) {
            db->unlock_exclusive();
            throw;
        }
        db->writer_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    }

    using marks_type = typename detail::marks_of<typename Store::tables>::type;

    /// Marks the time the user's code runs on this transaction's behalf, in
    /// the middle of one of its verbs: update()'s function, the before_commit
    /// hooks and subscribers of its commit, insert_many's range. There the
    /// transaction can be read through, but a write, commit, rollback,
    /// savepoint or move would change what the verb is working on (erase the
    /// row being updated, commit what the hooks have not seen, slip a row
    /// past the change set and the journal): each throws usage_error.
    struct busy_scope {
        busy_scope(const transaction& tx, const char* what, std::string_view table = {}) noexcept
            : tx_(tx), was_(std::exchange(tx.busy_, what)), was_table_(std::exchange(tx.busy_table_, table)) {}
        ~busy_scope() {
            tx_.busy_ = was_;
            tx_.busy_table_ = was_table_;
        }
        busy_scope(const busy_scope&) = delete;
        busy_scope& operator=(const busy_scope&) = delete;

    private:
        const transaction& tx_;
        const char* was_;
        std::string_view was_table_;
    };

    std::string busy_text() const {
        std::string t = "relstore: inside ";
        t += busy_;
        if (!busy_table_.empty()) t.append(" (table '").append(busy_table_).append("')");
        t += ", the transaction that runs it can be read but not written, committed, rolled back, moved or given a "
             "savepoint: its verb goes on with it once this code returns";
        return t;
    }
    /// For destructors, which cannot throw refuse_if_busy()'s error.
    void terminate_if_busy() const noexcept {
        if (busy_ != nullptr) [[unlikely]]
            detail::terminate_usage(busy_text().c_str());
    }
    void refuse_if_busy() const {
        if (busy_ != nullptr) [[unlikely]]
            throw usage_error(busy_text());
    }

    /// The store, for a verb that writes or ends the transaction. The
    /// store's lock is held for the thread that began it (a read scope or a
    /// second write() there is refused because of it): used from another
    /// thread, a transaction would let that thread's own read() wait for it
    /// forever, and race with the thread that began it.
    Store* mut() const {
        refuse_if_busy();
        if (!db_mut_) [[unlikely]]
            detail::throw_usage("relstore: this transaction has ended (committed, rolled back or moved from)");
        if (db_mut_->writer_.load(std::memory_order_relaxed) != std::this_thread::get_id()) [[unlikely]]
            detail::throw_usage(
                "relstore: this write transaction was begun on another thread; write, commit and take savepoints "
                "on the thread that began it (ending it anywhere else rolls it back)");
        if (db_mut_->savepoint_abandoned_.load(std::memory_order_relaxed)) [[unlikely]]
            const_cast<transaction*>(this)->report_abandoned();
        return db_mut_;
    }
    // Out of line: mut() is inlined into every write verb.
    [[noreturn, gnu::noinline, gnu::cold]] void report_abandoned() {
        {
            std::lock_guard lock(db_mut_->savepoint_mu_);
            apply_abandoned_locked();
        }
        throw_abandoned();
    }
    /// mut() for a savepoint's verb, which holds the savepoint mutex.
    void mut_locked() {
        refuse_if_busy();
        if (db_mut_->writer_.load(std::memory_order_relaxed) != std::this_thread::get_id()) [[unlikely]]
            detail::throw_usage(
                "relstore: this write transaction was begun on another thread; write, commit and take savepoints "
                "on the thread that began it (ending it anywhere else rolls it back)");
        if (db_mut_->savepoint_abandoned_.load(std::memory_order_relaxed)) [[unlikely]] {
            apply_abandoned_locked();
            throw_abandoned();
        }
    }
    // Thrown before the verb has used anything it was given: the rollback
    // may have freed the rows it was given.
    [[noreturn]] static void throw_abandoned() {
        detail::throw_usage(
            "relstore: a savepoint of this write transaction was ended on another thread, which cannot roll it "
            "back while this thread may be writing; it is rolled back now, with everything done since it was "
            "taken, and this call did nothing: end savepoints on the thread that began their transaction");
    }

    /// The savepoint mutex, when a savepoint is live or was ended on another
    /// thread; otherwise none is needed: only this transaction's thread
    /// makes savepoints, and no other thread holds one of its.
    std::unique_lock<std::mutex> savepoint_lock() const {
        Store* db = db_mut_;
        if (db->savepoints_live_.load(std::memory_order_acquire) == 0 &&
            !db->savepoint_abandoned_.load(std::memory_order_acquire))
            return {};
        return std::unique_lock(db->savepoint_mu_);
    }

    /// On another thread than the transaction's, under the savepoint mutex:
    /// sp ended there; its rollback waits for the transaction's next verb.
    void abandon_locked(relstore::savepoint<Store>* sp) noexcept {
        Store* db = db_mut_;
        db->abandoned_depth_ = std::min(db->abandoned_depth_, sp->depth_);
        db->savepoint_abandoned_.store(true, std::memory_order_release);
        savepoint_ended(sp);
    }
    /// On the transaction's thread, at the start of a write verb, under the
    /// savepoint mutex: rolls back to the savepoints ended on other threads.
    void apply_abandoned_locked() noexcept { rollback_to_depth(db_mut_->abandoned_depth_); }

    /// Ends every savepoint, and forgets those ended elsewhere, before the
    /// store goes to the next writer.
    void end_savepoints() noexcept {
        auto lock = savepoint_lock();
        end_savepoints_from(0);
        db_mut_->savepoint_abandoned_.store(false, std::memory_order_relaxed);
        db_mut_->abandoned_depth_ = static_cast<std::size_t>(-1);
    }

    void end() noexcept {
        end_savepoints();
        Store* db = std::exchange(db_mut_, nullptr);
        marks_.clear();
        db->writer_.store(std::thread::id{}, std::memory_order_relaxed);
        this->db_ = nullptr;
        db->unlock_exclusive();
    }

    auto current_marks() const {
        return std::apply([](const auto&... st) { return std::make_tuple(st.current_mark()...); },
                          db_mut_->writer_tables());
    }

    [[nodiscard]] std::size_t depth() const noexcept { return marks_.size(); }

    /// Under the savepoint mutex when savepoint_lock() would take it.
    void rollback_to_depth(std::size_t depth) noexcept {
        if (!db_mut_) return;
        if (depth <= db_mut_->abandoned_depth_) {  // this rollback covers theirs
            db_mut_->savepoint_abandoned_.store(false, std::memory_order_relaxed);
            db_mut_->abandoned_depth_ = static_cast<std::size_t>(-1);
        }
        if (depth >= marks_.size()) return;
        touch();
        auto& m = marks_[depth];
        std::apply([&](auto&... st) { std::apply([&](const auto&... mk) { (st.rollback_to(mk), ...); }, m); },
                   db_mut_->writer_tables());
        marks_.resize(depth == 0 ? 1 : depth);
        end_savepoints_from(depth);
    }
    void release_depth(std::size_t depth) noexcept {
        if (db_mut_ && depth > 0 && depth < marks_.size()) {
            marks_.resize(depth);
            end_savepoints_from(depth);
        }
    }

    // Savepoints are registered in the order taken, so those at `depth` and
    // deeper are at the back. This and the two below run under the
    // savepoint mutex, or with no savepoint live.
    void end_savepoints_from(std::size_t depth) noexcept {
        while (!savepoints_.empty() && savepoints_.back()->depth_ >= depth) {
            savepoints_.back()->tx_.store(nullptr, std::memory_order_release);
            savepoints_.pop_back();
        }
        db_mut_->savepoints_live_.store(savepoints_.size(), std::memory_order_release);
    }
    void savepoint_ended(relstore::savepoint<Store>* sp) noexcept {
        for (auto it = savepoints_.rbegin(); it != savepoints_.rend(); ++it)
            if (*it == sp) {
                savepoints_.erase(std::next(it).base());
                break;
            }
        sp->tx_.store(nullptr, std::memory_order_release);
        db_mut_->savepoints_live_.store(savepoints_.size(), std::memory_order_release);
    }
    void savepoint_moved(const relstore::savepoint<Store>* from, relstore::savepoint<Store>* to) noexcept {
        for (auto it = savepoints_.rbegin(); it != savepoints_.rend(); ++it)
            if (*it == from) {
                *it = to;
                return;
            }
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

    /// Values no column may hold: NaN in a column a key or index covers, and
    /// whatever a check declared on the table refuses.
    template <class T>
    static void check_values(const typename T::row_type& row) {
        const std::string_view col = detail::indexed_nan_column<T>(row);
        if (!col.empty()) [[unlikely]]
            throw constraint_error(errc::invalid_value, std::string(T::name), std::string(col),
                                   where_text<T>(col, "NaN") +
                                       ": an indexed column cannot hold NaN (it equals nothing and orders against "
                                       "nothing, so the index would find wrong rows)");
        if constexpr (std::tuple_size_v<typename T::checks> != 0) {
            if (auto failed = detail::failed_check<T>(row)) [[unlikely]]
                throw constraint_error(errc::check_violation, std::string(T::name), std::move(failed->columns),
                                       failed->message);
        }
    }

    /// True when a check of T reads column M (so set() must run it): a
    /// column check on M, or any row check.
    template <class T, auto M>
    static constexpr bool column_checked() {
        bool any = false;
        std::apply(
            [&](auto... checks) {
                ((any = any || decltype(checks)::columns::size == 0 ||
                        []<auto... Ms>(detail::column_list<Ms...>) {
                            return (detail::same_member<Ms, M>() || ...);
                        }(typename decltype(checks)::columns{})),
                 ...);
            },
            typename T::checks{});
        return any;
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

    template <class T>
    [[noreturn]] static void throw_auto_key_exhausted() {
        using key_type = typename detail::table_state<T>::key_type;
        const std::string column = detail::columns_traits<typename T::key::columns>::names();
        throw constraint_error(errc::duplicate_key, std::string(T::name), column,
                               std::string(T::name) + "." + column + ": the auto key is exhausted: the next would be " +
                                   detail::display(std::numeric_limits<key_type>::max()) +
                                   ", the largest value of its type, which an auto key never takes (it would come "
                                   "back once that row is erased); give new rows explicit keys");
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
        if (!st.touch_changed(row, changed)) {
            // No indexed column changed: the node keeps its place in every
            // index, so swap the values in place and skip Boost's re-check
            // of every index (which walks the FK index's group of equal keys,
            // a cache miss per sibling row).
            using std::swap;
            swap(const_cast<typename T::row_type&>(row), changed);
            st.log_replaced(std::move(changed));  // now the old row
            touch();
        } else {
            // replace(), not modify(): for an index whose key changed it
            // unlinks and relinks directly, where modify() would first walk
            // the new key's group to see whether the node is still in place.
            typename T::row_type old = row;
            if (!st.rows.replace(st.rows.iterator_to(row), std::move(changed)))
                throw_unique_clash<T>(changed, &row);  // changed is intact on failure
            st.log_replaced(std::move(old));
            touch();
        }
    }

    template <class T>
    void erase_one(const typename T::row_type& row) {
        auto& st = db_mut_->template state<T>();
        st.reserve_extract();
        st.touch_all();
        st.log_extracted(st.rows.extract(st.rows.iterator_to(row)));
        touch();
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
                        check_values<C>(changed);
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
    mutable const char* busy_ = nullptr;  // what runs the user's code now (busy_scope)
    mutable std::string_view busy_table_;
    std::vector<marks_type> marks_;
    /// The live savepoints, in the order taken (see end_savepoints_from).
    std::vector<relstore::savepoint<Store>*> savepoints_;
};

}  // namespace relstore
