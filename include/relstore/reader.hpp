#pragma once
/// @file reader.hpp
/// reader<Store>: the read operations of a store (get, find, where, range,
/// order_by, all, scan, count, children, parent, linked, plan_erase), shared
/// by read scopes and transactions. Opened with store::read().

#include <relstore/detail/scopes.hpp>
#include <relstore/detail/spec_traits.hpp>
#include <relstore/detail/store_lock.hpp>
#include <relstore/detail/table_state.hpp>
#include <relstore/erase_plan.hpp>
#include <relstore/error.hpp>
#include <relstore/fwd.hpp>
#include <relstore/rows.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

namespace relstore {

/// The read operations, shared by read scopes and transactions.
/// Verbs: get = exactly one row or throws; find = pointer or null;
/// where = a range of rows equal to a value; range/order_by = rows in order.
template <class Store>
class reader {
public:
    reader(reader&& other) noexcept
        : db_(std::exchange(other.db_, nullptr)),
          side_(other.side_),
          shared_(std::exchange(other.shared_, nullptr)),
          pinned_(std::exchange(other.pinned_, false)) {}
    reader& operator=(reader&&) = delete;
    reader(const reader&) = delete;
    ~reader() {
        if (pinned_) db_->unpin(side_);
        if (!shared_) return;
        auto& held = detail::read_scopes_held();
        for (auto it = held.rbegin(); it != held.rend(); ++it)
            if (*it == shared_) {
                held.erase(std::next(it).base());
                break;
            }
        shared_->unlock_shared();
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
        auto k = detail::lookup<typename T::key::columns>::make(key...);
        if (detail::any_nan(key...)) [[unlikely]]
            return nullptr;
        auto it = idx.find(k);
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
        auto k = detail::lookup<detail::column_list<Members...>>::make(values...);
        if (detail::any_nan(values...)) [[unlikely]]
            return nullptr;
        auto [first, last] = idx.equal_range(k);
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
            if (detail::any_nan(values...)) [[unlikely]]
                first = last;
            return rows<decltype(first)>(first, last);
        } else if constexpr (!std::is_void_v<prefix>) {
            const auto& idx = state_of<T>().rows.template get<prefix>();
            auto [first, last] = idx.equal_range(std::make_tuple(detail::lookup_value_for<Members>(values)...));
            if (detail::any_nan(values...)) [[unlikely]]
                first = last;
            return rows<decltype(first)>(first, last);
        } else {
            const auto& idx = state_of<T>().key_index();
            auto key = std::make_tuple(detail::column_value_for<Members>(values)...);
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
        const auto& idx = state_of<T>().rows.template get<spec>();
        const auto& l = detail::lookup_value_for<Member>(lo);
        const auto& h = detail::lookup_value_for<Member>(hi);
        // lo >= hi is an empty interval; without this check the first bound
        // would lie past the second and iterating would run off the index.
        // A NaN bound orders against nothing: no row lies between it and another.
        const bool empty = !(l < h) || detail::any_nan(lo, hi);
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
        constexpr bool by_key = !by_row && detail::value_fits_column<parent_key, ParentRow>();
        static_assert(by_row || by_key,
                      "relstore: children<>() takes a row of the table the foreign key references, or a value of "
                      "that table's key type (converted without narrowing)");
        const auto& idx = state_of<Child>().rows.template get<fk>();
        // By key, a caller that holds only the parent's key saves the lookup
        // of the parent row (a cache miss per navigation).
        auto [first, last] = [&] {
            if constexpr (by_row)
                return idx.equal_range(lookup_parent_key<fk, Parent>(parent));
            else if constexpr (by_key)
                return idx.equal_range(lookup_by_parent_key<fk>(parent_key(parent)));
            else
                return idx.equal_range(lookup_by_parent_key<fk>(parent_key{}));  // refused above
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
        // this->: clang 14 does not see the call through a generic lambda and
        // warns that the capture is unused.
        auto to = [this](const auto& link) -> decltype(auto) {
            return deref(this->template parent<ToFk>(link));
        };
        return mapped_rows<decltype(links.begin()), decltype(to)>(links.begin(), links.end(), std::move(to));
    }

    /// Works out what erasing a row would do, without doing it (the dry run).
    template <class Row>
    /// @throws usage_error when row is not this store's stored row.
    [[nodiscard]] erase_plan<Store> plan_erase(const Row& row) const {
        using T = typename Store::template table_of_row<Row>;
        require_stored(row, "plan_erase");
        erase_plan<Store> plan = new_plan();
        add_root<T>(plan, row);
        complete(plan);
        return plan;
    }

    /// The store this scope reads.
    [[nodiscard]] const Store& store_ref() const { return *checked(); }

    /// The storage of table T as this scope sees it. For the library's own
    /// layers (snapshots, relationship helpers).
    template <class T>
    [[nodiscard]] const detail::table_state<T>& state() const {
        return state_of<T>();
    }

    /// True when row is one of this store's stored rows (the object a query
    /// or insert returned), not a copy or a row of another store. One key lookup.
    template <class Row>
    [[nodiscard]] bool holds(const Row& row) const {
        using T = typename Store::template table_of_row<Row>;
        const auto& idx = state_of<T>().key_index();
        const auto it = idx.find(detail::table_state<T>::key_of(row));
        return it != idx.end() && &*it == &row;
    }

    /// Throws usage_error naming the verb, the table and the key unless row
    /// is this store's stored row (see holds()). Every write verb that takes
    /// a row calls it.
    template <class Row>
    void require_stored(const Row& row, const char* verb) const {
        if (!holds(row)) [[unlikely]]
            throw_not_stored(row, verb);
    }

protected:
    friend Store;
    explicit reader(const Store* db) : db_(db) {
        if (db->writer_.load(std::memory_order_relaxed) == std::this_thread::get_id())
            detail::throw_usage(
                "relstore: this thread holds the store's write transaction; read through the transaction instead of "
                "opening a read scope (that would deadlock)");
        if (db->readers_never_wait()) {
            // No lock: pin the last committed copy; a writer writes the other.
            side_ = db->pin();
            pinned_ = true;
            return;
        }
        auto& held = detail::read_scopes_held();
        held.reserve(held.size() + 1);
        // Wait behind a writer that is waiting, unless this thread already
        // reads this store: that writer waits for this thread, so waiting
        // for it would deadlock.
        const bool nested = std::find(held.begin(), held.end(), &db->lock_) != held.end();
        db->lock_.lock_shared(nested);
        shared_ = &db->lock_;
        held.push_back(shared_);
    }
    /// For transactions: the lock is the transaction's own; it reads the
    /// copy it writes.
    reader(const Store* db, std::defer_lock_t) : db_(db) {}

    const Store* checked() const {
        if (!db_) [[unlikely]]
            detail::throw_usage("relstore: this scope has ended (committed, rolled back or moved from)");
        return db_;
    }

    template <class T>
    const detail::table_state<T>& state_of() const {
        static_assert(Store::template has_table<T>, "relstore: this table is not part of the store");
        return checked()->template state<T>(side_);
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

    erase_plan<Store> new_plan() const {
        erase_plan<Store> plan;
        plan.store_ = &checked()->side(side_);  // the copy it was made on
        plan.stamp_ = checked()->changes_;
        return plan;
    }

    /// Write verbs take the stored row itself: its address is how the
    /// containers find the node, so a copy (`auto r = q.get<...>()`) or a row
    /// of another store would be written through as if it were one (a lost
    /// update, a corrupted index, another store's row erased).
    template <class Row>
    [[noreturn]] void throw_not_stored(const Row& row, const char* verb) const {
        using T = typename Store::template table_of_row<Row>;
        const auto& idx = state_of<T>().key_index();
        const auto key = detail::table_state<T>::key_of(row);
        const auto it = idx.find(key);
        using key_traits = detail::columns_traits<typename T::key::columns>;
        const std::string where = std::string(T::name) + "." + key_traits::names() + " = " + detail::display(key);
        throw usage_error(std::string("relstore: ") + verb + "() takes the row stored in this store, and was given " +
                          (it == idx.end() ? "a row of " + std::string(T::name) + " (" + where +
                                                 ") that this store does not hold (a copy of an erased row, or a "
                                                 "row of another store)"
                                           : "another object with the key of the stored row " + where +
                                                 " (a copy: `auto r = q.get<...>(...)` copies, `const auto& r` "
                                                 "does not; or a row of another store)") +
                          "; pass the reference the store returned, or use the key");
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
    int side_ = 0;  // the copy of the store this scope reads

private:
    detail::store_lock* shared_ = nullptr;  // the lock this read scope holds shared
    bool pinned_ = false;                   // side_ is pinned (readers_never_wait)
};

}  // namespace relstore
