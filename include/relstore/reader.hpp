#pragma once
/// @file reader.hpp
/// reader<Store>: the read operations of a store, shared by read scopes and
/// transactions: lookups and queries (get, find, where, exists, range,
/// order_by, all, scan, count), navigation along relationships (children,
/// count_children, parent, children_by, linked, find_link, is_linked,
/// count_links, with_children, without_children, with_parent), walks over
/// self-references (ancestors, descendants, reachable, is_reachable), and
/// plan_erase. Opened with store::read().

#include <relstore/detail/relationship_traits.hpp>
#include <relstore/detail/scopes.hpp>
#include <relstore/detail/spec_traits.hpp>
#include <relstore/detail/store_lock.hpp>
#include <relstore/detail/table_state.hpp>
#include <relstore/detail/walk.hpp>
#include <relstore/erase_plan.hpp>
#include <relstore/error.hpp>
#include <relstore/fwd.hpp>
#include <relstore/graph.hpp>
#include <relstore/rows.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace relstore {
namespace detail {

/// What linked<>() maps a link to: the row its ToFk names. A reference when
/// ToFk cannot be null; else a pointer, null for a link to nothing, which
/// mapped_rows then skips (testing the key, not looking the row up).
template <class Store, auto FromFk, auto ToFk>
struct link_target {
    const reader<Store>* q = nullptr;

    decltype(auto) operator()(const typename association<Store, FromFk, ToFk>::row& link) const {
        return q->template parent<ToFk>(link);
    }
    bool reaches(const typename association<Store, FromFk, ToFk>::row& link) const {
        if constexpr (is_optional_v<std::remove_cvref_t<decltype(link.*ToFk)>>)
            return (link.*ToFk).has_value();
        else
            return true;
    }
    [[noreturn]] void maps_to_nothing(const typename association<Store, FromFk, ToFk>::row&) const {
        using assoc = association<Store, FromFk, ToFk>;
        throw usage_error("relstore: a linked<>() walk read the link it stood on after " +
                          std::string(assoc::table::name) + "." + columns_traits<column_list<ToFk>>::names() +
                          " was set to null (the row it named was erased); read linked<>() again after writing");
    }
};

}  // namespace detail

/// The read operations, shared by read scopes and transactions.
/// Verbs: get = exactly one row or throws; find = pointer or null;
/// where = a range of rows equal to a value; range/order_by = rows in order.
/// Every range a read returns yields const Row& and has first(), count(),
/// empty(), take(n), drop(n) and reverse() (see rows.hpp).
template <class Store>
class reader {
public:
    reader(reader&& other) noexcept
        : db_(std::exchange(other.db_, nullptr)),
          side_(other.side_),
          shared_(std::exchange(other.shared_, nullptr)),
          pinned_(std::exchange(other.pinned_, false)),
          owner_(other.owner_),
          of_transaction_(other.of_transaction_) {}
    reader& operator=(reader&&) = delete;
    reader(const reader&) = delete;
    /// A write transaction is no read scope: moved into one (a slice), the
    /// scope would go on reading the writer's copy without any lock once
    /// the transaction ended.
    template <class Tx>
        requires(std::is_base_of_v<reader, std::remove_cvref_t<Tx>> && !std::is_same_v<std::remove_cvref_t<Tx>, reader>)
    reader(Tx&&) {  // NOLINT: never instantiated without failing
        static_assert(detail::dependent_false<Tx>,
                      "relstore: a write transaction cannot become a read scope (reader): read through the "
                      "transaction, or pass it as const reader<Store>&");
    }
    ~reader() {
        if (!db_ || (!pinned_ && !shared_)) return;
        auto& here = detail::this_thread_scopes();
        if (here.id() == owner_) [[likely]]
            here.forget(&db_->lock_);
        else
            detail::thread_scopes::ended_elsewhere(owner_, &db_->lock_);
        if (pinned_)
            db_->unpin(side_);
        else
            shared_->unlock_shared();
    }

    /// The row with this primary key (one value per key column).
    /// @throws not_found_error naming the table and key when there is none.
    template <class T, class... K>
    [[nodiscard]] const typename T::row_type& get(const K&... key) const RELSTORE_LIFETIMEBOUND {
        if (const auto* row = find<T>(key...)) return *row;
        throw not_found_error(std::string(T::name), std::string(T::name) + "." +
                                                        detail::columns_traits<typename T::key::columns>::names() +
                                                        " = " + detail::display(key_display(key...)) + " not found");
    }

    /// The row with this primary key, or nullptr.
    template <class T, class... K>
    [[nodiscard]] const typename T::row_type* find(const K&... key) const RELSTORE_LIFETIMEBOUND {
        const auto& idx = state_of<T>().key_index();
        auto k = detail::lookup<typename T::key::columns>::make(key...);
        if (detail::any_nan(key...)) [[unlikely]]
            return nullptr;
        auto it = idx.find(k);
        return it == idx.end() ? nullptr : &*it;
    }

    /// The row whose unique column(s) equal these values, or nullptr.
    template <auto... Members, class... V>
    [[nodiscard]] auto find(const V&... values) const RELSTORE_LIFETIMEBOUND -> const typename member_traits<
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
    [[nodiscard]] auto where(const V&... values) const& {
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
            return walk<T, exact>(first, last);
        } else if constexpr (!std::is_void_v<prefix>) {
            const auto& idx = state_of<T>().rows.template get<prefix>();
            auto [first, last] = idx.equal_range(std::make_tuple(detail::lookup_value_for<Members>(values)...));
            if (detail::any_nan(values...)) [[unlikely]]
                first = last;
            return walk<T, prefix>(first, last);
        } else {
            const auto& idx = state_of<T>().key_index();
            auto key = std::make_tuple(detail::column_value_for<Members>(values)...);
            auto pred = [key = std::move(key)](const typename T::row_type& r) {
                return std::tuple<const typename member_traits<Members>::value_type&...>(r.*Members...) == key;
            };
            return walk_filtered<T>(idx.begin(), idx.end(), std::move(pred));
        }
    }

    /// True when a row's column(s) equal these values.
    template <auto... Members, class... V>
    [[nodiscard]] bool exists(const V&... values) const {
        return where<Members...>(values...).first() != nullptr;
    }

    /// The rows with lo <= column < hi, in order of an ordered index on the column.
    template <auto Member, class Lo, class Hi>
    [[nodiscard]] auto range(const Lo& lo, const Hi& hi) const& {
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
            return walk<T, spec>(first, empty ? first : idx.lower_bound(h));
        } else {
            auto first = idx.lower_bound(std::make_tuple(l));
            return walk<T, spec>(first, empty ? first : idx.lower_bound(std::make_tuple(h)));
        }
    }

    /// Every row in order of an ordered index whose first column is Member.
    /// drop(n) and take(n) are offset and limit, reverse() descending order:
    /// q.order_by<&Post::created>().reverse().drop(20).take(10).
    template <auto Member>
    [[nodiscard]] auto order_by() const& {
        using T = typename Store::template table_of_row<typename member_traits<Member>::row_type>;
        const auto& idx = state_of<T>().rows.template get<ordered_spec<T, Member>>();
        return walk<T, ordered_spec<T, Member>>(idx.begin(), idx.end());
    }

    /// Every row of T, in key order for an ordered key.
    template <class T>
    [[nodiscard]] auto all() const& {
        const auto& idx = state_of<T>().key_index();
        return walk<T, typename T::key>(idx.begin(), idx.end());
    }

    /// The rows of T for which pred(row) is true: an O(n) scan.
    template <class T, class Pred>
    [[nodiscard]] auto scan(Pred pred) const& {
        const auto& idx = state_of<T>().key_index();
        return walk_filtered<T>(idx.begin(), idx.end(), std::move(pred));
    }

    /// The number of rows in T: O(1).
    template <class T>
    [[nodiscard]] std::size_t count() const {
        return state_of<T>().rows.size();
    }

    /// The children of a parent row (or of the parent with that key) along
    /// the foreign key FkMembers (the one-to-many direction): an index walk, no copy.
    template <auto... FkMembers, class ParentRow>
    [[nodiscard]] auto children(const ParentRow& parent) const& {
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
        return walk<Child, fk>(first, last);
    }

    /// The number of children of a parent along FkMembers (walks the index
    /// group, copies nothing).
    template <auto... FkMembers, class ParentRow>
    [[nodiscard]] std::size_t count_children(const ParentRow& parent) const {
        return children<FkMembers...>(parent).count();
    }

    /// The parent of a child row along the foreign key FkMembers (the
    /// many-to-one direction). A reference when the key cannot be null,
    /// else a pointer that is null when the key is null. `child` may be any
    /// row (a copy, one built by hand): its foreign-key value is looked up.
    /// @throws not_found_error naming the parent table when the key is not
    /// null and names no row, e.g. "posts.author_id = 999 references no row
    /// in users". Only a row the store does not hold can do that.
    template <auto... FkMembers, class ChildRow>
    [[nodiscard]] decltype(auto) parent(const ChildRow& child) const RELSTORE_LIFETIMEBOUND {
        using fk = child_fk<FkMembers...>;
        using Child = typename Store::template table_of_row<ChildRow>;
        using Parent = detail::parent_of<fk, Child>;
        using traits = detail::columns_traits<typename fk::columns>;
        using parent_key = typename detail::table_state<Parent>::key_type;
        const auto& idx = state_of<Parent>().key_index();
        if constexpr (traits::nullable)
            if (traits::has_null(traits::get(child))) return static_cast<const typename Parent::row_type*>(nullptr);
        auto it = idx.find(detail::fk_value_as_parent_key<fk, parent_key>(child));
        // Writes keep every stored row's key resolving, but a read takes any
        // row. A throw rather than a null for an optional key too: null
        // means "the key is null", and the same row must not have a parent
        // along one key kind and none along the other.
        if (it == idx.end()) [[unlikely]]
            throw_dangling<fk, Child, Parent>(child);
        if constexpr (traits::nullable)
            return &*it;
        else
            return static_cast<const typename Parent::row_type&>(*it);
    }

    /// Many-to-many through an association table: the rows that `from` is
    /// linked to. FromFk is the association's key to from's table, ToFk its key
    /// to the other side; e.g. linked<&AuthorBook::author_id, &AuthorBook::book_id>(author)
    /// gives the author's books; `from` may also be the key of from's row.
    /// Two index walks per row, no copy.
    /// A link whose ToFk is null (an optional key that on_delete::set_null
    /// cleared) links to nothing and is skipped, as SQL's join drops it; a
    /// link whose FromFk is null is no row's link.
    template <auto FromFk, auto ToFk, class FromRow>
    [[nodiscard]] auto linked(const FromRow& from) const& {
        auto links = children<FromFk>(from);
        using target = detail::link_target<Store, FromFk, ToFk>;
        return mapped_rows<decltype(links.begin()), target>(links.begin(), links.end(), target{this});
    }

    /// The children of `parent` (a row, or its key) along the foreign key Fk
    /// in order of the column OrderBy, through an ordered index that starts
    /// with (Fk, OrderBy), e.g. relstore::ordered<&Post::author_id, &Post::created>:
    /// SQLAlchemy's relationship(order_by=...). An index walk: O(log n) to
    /// start, no allocation, no copy; take(n) for a limit, reverse() for
    /// descending order. (children<Fk>() walks the foreign key's own index,
    /// which orders a parent's children by their primary key.)
    template <auto Fk, auto OrderBy, class ParentRow>
    [[nodiscard]] auto children_by(const ParentRow& parent) const& {
        using info = detail::fk_of<Store, Fk>;
        using child = typename info::child;
        using spec = typename detail::ordered_prefix_index<child, detail::column_list<Fk, OrderBy>>::type;
        static_assert(!std::is_void_v<spec>,
                      "relstore: children_by<&Child::fk, &Child::column>() needs an ordered index that starts with "
                      "those two columns: declare relstore::ordered<&Child::fk, &Child::column> in the child table");
        using parent_key = typename info::parent_key;
        constexpr bool by_row = std::is_same_v<typename info::parent_row, ParentRow>;
        constexpr bool by_key = !by_row && detail::value_fits_column<parent_key, ParentRow>();
        static_assert(by_row || by_key,
                      "relstore: children_by<>() takes a row of the table the foreign key references, or a value of "
                      "that table's key type (converted without narrowing)");
        const auto& idx = state_of<child>().rows.template get<spec>();
        using fk_value = detail::unwrap_optional_t<typename member_traits<Fk>::value_type>;
        auto [first, last] = [&] {
            if constexpr (by_row)
                return idx.equal_range(
                    std::make_tuple(fk_value(detail::table_state<typename info::parent>::key_of(parent))));
            else if constexpr (by_key)
                return idx.equal_range(std::make_tuple(fk_value(parent_key(parent))));
            else
                return idx.equal_range(std::make_tuple(fk_value{}));  // refused above
        }();
        return walk<child, spec>(first, last);
    }

    /// The first association row linking `from` to `to`, or nullptr. An index
    /// lookup (O(log n) or O(1)) when the association table has an index over
    /// the pair, such as a primary_key<&AB::from, &AB::to>; otherwise a walk
    /// of from's links (O(log n + links of from)). No allocation.
    template <auto FromFk, auto ToFk>
    [[nodiscard]] const typename detail::association<Store, FromFk, ToFk>::row* find_link(
        const typename detail::association<Store, FromFk, ToFk>::from_row& from,
        const typename detail::association<Store, FromFk, ToFk>::to_row& to) const {
        using assoc = detail::association<Store, FromFk, ToFk>;
        const auto from_key = detail::table_state<typename assoc::from::parent>::key_of(from);
        const auto to_key = detail::table_state<typename assoc::to::parent>::key_of(to);
        if constexpr (assoc::direct) {
            return where<FromFk, ToFk>(from_key, to_key).first();
        } else if constexpr (assoc::swapped) {
            return where<ToFk, FromFk>(to_key, from_key).first();
        } else {
            for (const auto& l : children<FromFk>(from)) {
                const auto& v = l.*ToFk;
                if constexpr (detail::is_optional_v<std::decay_t<decltype(v)>>)
                    if (!v) continue;
                if (detail::unwrap(v) == to_key) return std::addressof(l);
            }
            return nullptr;
        }
    }

    /// True when `from` is linked to `to` (SQLAlchemy's `a in book.authors`;
    /// see find_link for the cost).
    template <auto FromFk, auto ToFk>
    [[nodiscard]] bool is_linked(const typename detail::association<Store, FromFk, ToFk>::from_row& from,
                                 const typename detail::association<Store, FromFk, ToFk>::to_row& to) const {
        return find_link<FromFk, ToFk>(from, to) != nullptr;
    }

    /// The number of links from `from` (a row, or its key): association rows
    /// whose FromFk holds its key and whose ToFk is not null. Walks the index
    /// group, reads no linked row, copies nothing; count_links<A, B>(a) is
    /// linked<A, B>(a).count().
    template <auto FromFk, auto ToFk, class FromRow>
    [[nodiscard]] std::size_t count_links(const FromRow& from) const {
        (void)sizeof(detail::association<Store, FromFk, ToFk>);  // checks that both keys are the association's
        return linked<FromFk, ToFk>(from).count();
    }

    /// The parent rows that have at least one child along the foreign key Fk
    /// (SQLAlchemy's `User.posts.any()`): users with a post, books with an
    /// author (with_children<&AuthorBook::book_id>). A scan of the parents,
    /// each checked by one index lookup: O(parents · log n), no allocation.
    /// The range refers to this scope; read it while the scope lives.
    template <auto... Fk>
    [[nodiscard]] auto with_children() const& {
        using parent = relationship_parent<Fk...>;
        return scan<parent>([q = this](const typename parent::row_type& p) {
            return !q->template children<Fk...>(p).empty();
        });
    }

    /// The parent rows with at least one child along Fk for which pred(child)
    /// is true (SQLAlchemy's `User.posts.any(criterion)`). Stops at the first
    /// match per parent.
    template <auto... Fk, class Pred>
    [[nodiscard]] auto with_children(Pred pred) const& {
        using parent = relationship_parent<Fk...>;
        return scan<parent>([q = this, pred = std::move(pred)](const typename parent::row_type& p) {
            for (const auto& c : q->template children<Fk...>(p))
                if (pred(c)) return true;
            return false;
        });
    }

    /// The parent rows with no child along Fk (SQLAlchemy's
    /// `~Book.authors.any()`): books with no authors, users without posts.
    /// O(parents · log n), no allocation.
    template <auto... Fk>
    [[nodiscard]] auto without_children() const& {
        using parent = relationship_parent<Fk...>;
        return scan<parent>([q = this](const typename parent::row_type& p) {
            return q->template children<Fk...>(p).empty();
        });
    }

    /// The child rows whose parent along Fk satisfies pred (SQLAlchemy's
    /// `Post.author.has(criterion)`); a child whose optional key is null has
    /// no parent and is left out. O(children · log n), no allocation.
    template <auto... Fk, class Pred>
    [[nodiscard]] auto with_parent(Pred pred) const& {
        using child = typename Store::template table_of_row<
            typename member_traits<detail::first_of<Fk...>>::row_type>;
        return scan<child>([q = this, pred = std::move(pred)](const typename child::row_type& c) {
            decltype(auto) p = q->template parent<Fk...>(c);
            if constexpr (std::is_pointer_v<std::remove_cvref_t<decltype(p)>>)
                return p != nullptr && static_cast<bool>(pred(*p));
            else
                return static_cast<bool>(pred(p));
        });
    }

    /// The ancestors of `row` along the self-reference Fk, nearest first:
    /// ancestors<&Employee::manager_id>(emp) is emp's manager, theirs, and so
    /// on (SQLAlchemy's recursive CTE up a tree). Lazy; see ancestor_range for
    /// the cost and for cycles. `row` may be a copy: its key value is
    /// followed. @throws not_found_error as parent() when that key names no row.
    template <auto... Fk>
    [[nodiscard]] ancestor_range<Store, Fk...> ancestors(
        const typename detail::self_reference<Store, Fk...>::row& row) const& {
        using info = detail::self_reference<Store, Fk...>;
        if constexpr (!info::acyclic) {
            // The cycle check compares addresses: started from a copy, it
            // would not know the stored row when the cycle comes back to it
            // and would yield it as its own ancestor. A copy naming another
            // parent than its twin is a row of its own, and starts as itself.
            using traits = detail::columns_traits<typename info::spec::columns>;
            const auto* twin = stored_twin(row);
            if (twin && twin != &row && traits::get(*twin) == traits::get(row))
                return ancestor_range<Store, Fk...>(*this, *twin);
        }
        return ancestor_range<Store, Fk...>(*this, row);
    }

    /// The descendants of `row` along the self-reference Fk, breadth first:
    /// its children (depth 1), then theirs, down to max_depth levels
    /// (all_depths: all). Each level is in the foreign key's index order. Each
    /// row has one parent, so no row is reached twice unless a cycle leads
    /// back to `row`, which is then skipped: no visited set is needed.
    /// `row` may be a copy: the walk starts from the stored row with its key
    /// (none: no descendants).
    /// O(k log n) for k descendants; collects them in one vector of k pointers.
    template <auto... Fk>
    [[nodiscard]] collected_rows<typename detail::self_reference<Store, Fk...>::row> descendants(
        const typename detail::self_reference<Store, Fk...>::row& row, std::size_t max_depth = all_depths) const& {
        using row_t = typename detail::self_reference<Store, Fk...>::row;
        std::vector<const row_t*> out;
        // The skip compares addresses: a copy would not match the stored row
        // a cycle leads back to, and the walk would go round for ever.
        const row_t* self = stored_twin(row);
        if (!self) return collected_rows<row_t>(std::move(out));  // a stored row's key names a stored row
        auto expand = [&](const row_t& parent) {
            for (const row_t& c : children<Fk...>(parent))
                if (&c != self) out.push_back(&c);
        };
        std::size_t level_begin = 0;
        for (std::size_t depth = 1; depth <= max_depth; ++depth) {
            const std::size_t level_end = out.size();
            if (depth == 1) {
                expand(row);
            } else {
                if (level_begin == level_end) break;
                for (std::size_t i = level_begin; i < level_end; ++i) expand(*out[i]);
            }
            level_begin = level_end;
            if (out.size() == level_end) break;
        }
        return collected_rows<row_t>(std::move(out));
    }

    /// The rows reachable from `start` along a self many-to-many, breadth
    /// first: reachable<&Follow::follower_id, &Follow::followee_id>(m) is whom
    /// m follows, whom they follow, ... down to max_depth links. Swap the
    /// members to walk the other way (followers of followers). Each row comes
    /// once; `start` never does. `start` may be a copy: the walk starts from
    /// the stored row with its key (none: nothing is reachable).
    /// O((k + links) log n); collects the k rows in a vector, with a visited
    /// set of k pointers.
    template <auto FromFk, auto ToFk>
    [[nodiscard]] collected_rows<typename detail::self_association<Store, FromFk, ToFk>::row> reachable(
        const typename detail::self_association<Store, FromFk, ToFk>::row& start,
        std::size_t max_depth = all_depths) const& {
        using row_t = typename detail::self_association<Store, FromFk, ToFk>::row;
        std::vector<const row_t*> out;
        // Visited rows are known by address: a copy of `start` would let the
        // stored one in.
        const row_t* self = stored_twin(start);
        if (!self) return collected_rows<row_t>(std::move(out));  // links name stored rows only
        std::unordered_set<const row_t*> visited{self};
        auto expand = [&](const row_t& from) {
            for (const row_t& to : linked<FromFk, ToFk>(from))
                if (visited.insert(&to).second) out.push_back(&to);
        };
        std::size_t level_begin = 0;
        for (std::size_t depth = 1; depth <= max_depth; ++depth) {
            const std::size_t level_end = out.size();
            if (depth == 1) {
                expand(*self);
            } else {
                for (std::size_t i = level_begin; i < level_end; ++i) expand(*out[i]);
            }
            level_begin = level_end;
            if (out.size() == level_end) break;
        }
        return collected_rows<row_t>(std::move(out));
    }

    /// True when a path of one or more links leads from `from` to `to` along
    /// a self many-to-many (is_reachable(m, m) is true when m is on a cycle).
    /// Breadth first, stops at the first path found; never loops. Two
    /// frontier vectors and a visited set. Either row may be a copy: the
    /// stored rows with their keys are meant (none: false).
    template <auto FromFk, auto ToFk>
    [[nodiscard]] bool is_reachable(const typename detail::self_association<Store, FromFk, ToFk>::row& from,
                                    const typename detail::self_association<Store, FromFk, ToFk>::row& to,
                                    std::size_t max_depth = all_depths) const {
        using row_t = typename detail::self_association<Store, FromFk, ToFk>::row;
        // Rows are matched by address: a copy of `to` would never be found.
        const row_t* source = stored_twin(from);
        const row_t* target = stored_twin(to);
        if (!source || !target) return false;  // links name stored rows only
        std::vector<const row_t*> frontier{source};
        std::vector<const row_t*> next;
        std::unordered_set<const row_t*> visited{source};
        for (std::size_t depth = 1; depth <= max_depth && !frontier.empty(); ++depth) {
            next.clear();
            for (const row_t* r : frontier)
                for (const row_t& n : linked<FromFk, ToFk>(*r)) {
                    if (&n == target) return true;
                    if (visited.insert(&n).second) next.push_back(&n);
                }
            frontier.swap(next);
        }
        return false;
    }

    // --- The same queries on a temporary scope ---------------------------------
    // db.read().all<T>() and the like: the range returned holds the scope
    // (scoped_rows, rows.hpp), so that `for (const Post& p :
    // db.read().all<posts>())` walks its rows under that scope; C++20 ends
    // the temporary scope before the loop runs. A temporary transaction
    // would roll back at the end of the expression: a range of one is a
    // usage_error.

    template <auto... Members, class... V>
    [[nodiscard]] auto where(const V&... values) && {
        return std::move(*this).held([&](const reader& q) { return q.template where<Members...>(values...); });
    }
    template <auto Member, class Lo, class Hi>
    [[nodiscard]] auto range(const Lo& lo, const Hi& hi) && {
        return std::move(*this).held([&](const reader& q) { return q.template range<Member>(lo, hi); });
    }
    template <auto Member>
    [[nodiscard]] auto order_by() && {
        return std::move(*this).held([](const reader& q) { return q.template order_by<Member>(); });
    }
    template <class T>
    [[nodiscard]] auto all() && {
        return std::move(*this).held([](const reader& q) { return q.template all<T>(); });
    }
    template <class T, class Pred>
    [[nodiscard]] auto scan(Pred pred) && {
        return std::move(*this).held([&](const reader& q) { return q.template scan<T>(std::move(pred)); });
    }
    template <auto... FkMembers, class ParentRow>
    [[nodiscard]] auto children(const ParentRow& parent) && {
        return std::move(*this).held([&](const reader& q) { return q.template children<FkMembers...>(parent); });
    }
    template <auto FromFk, auto ToFk, class FromRow>
    [[nodiscard]] auto linked(const FromRow& from) && {
        return std::move(*this).held([&](const reader& q) { return q.template linked<FromFk, ToFk>(from); });
    }
    template <auto Fk, auto OrderBy, class ParentRow>
    [[nodiscard]] auto children_by(const ParentRow& parent) && {
        return std::move(*this).held([&](const reader& q) { return q.template children_by<Fk, OrderBy>(parent); });
    }
    template <auto... Fk>
    [[nodiscard]] auto with_children() && {
        return std::move(*this).held([](const reader& q) { return q.template with_children<Fk...>(); });
    }
    template <auto... Fk, class Pred>
    [[nodiscard]] auto with_children(Pred pred) && {
        return std::move(*this).held([&](const reader& q) { return q.template with_children<Fk...>(std::move(pred)); });
    }
    template <auto... Fk>
    [[nodiscard]] auto without_children() && {
        return std::move(*this).held([](const reader& q) { return q.template without_children<Fk...>(); });
    }
    template <auto... Fk, class Pred>
    [[nodiscard]] auto with_parent(Pred pred) && {
        return std::move(*this).held([&](const reader& q) { return q.template with_parent<Fk...>(std::move(pred)); });
    }
    template <auto... Fk>
    [[nodiscard]] auto ancestors(const typename detail::self_reference<Store, Fk...>::row& row) && {
        return std::move(*this).held([&](const reader& q) { return q.template ancestors<Fk...>(row); });
    }
    template <auto... Fk>
    [[nodiscard]] auto descendants(const typename detail::self_reference<Store, Fk...>::row& row,
                                   std::size_t max_depth = all_depths) && {
        return std::move(*this).held([&](const reader& q) { return q.template descendants<Fk...>(row, max_depth); });
    }
    template <auto FromFk, auto ToFk>
    [[nodiscard]] auto reachable(const typename detail::self_association<Store, FromFk, ToFk>::row& start,
                                 std::size_t max_depth = all_depths) && {
        return std::move(*this).held(
            [&](const reader& q) { return q.template reachable<FromFk, ToFk>(start, max_depth); });
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
        db->check_marks_here();
        if (db->writer_.load(std::memory_order_relaxed) == std::this_thread::get_id())
            detail::throw_usage(
                "relstore: this thread holds the store's write transaction; read through the transaction instead of "
                "opening a read scope (that would deadlock)");
        auto& scopes = detail::this_thread_scopes();
        auto& held = scopes.held();
        held.reserve(held.size() + 1);
        owner_ = scopes.id();
        if (db->readers_never_wait()) {
            // No lock: pin the last committed copy; a writer writes the other.
            // Recorded all the same: a writer on this thread would wait for
            // this pin at its catch-up, once a commit is to replay.
            side_ = db->pin();
            pinned_ = true;
            held.push_back(&db->lock_);
            return;
        }
        // Wait behind a writer that is waiting, unless this thread already
        // reads this store: that writer waits for this thread, so waiting
        // for it would deadlock.
        const bool nested = held.contains(&db->lock_);
        if (!db->lock_.lock_shared(nested, detail::wait_cancel)) [[unlikely]]
            Store::throw_wait_cancelled();
        shared_ = &db->lock_;
        held.push_back(shared_);
    }
    /// For transactions: the lock is the transaction's own; it reads the
    /// copy it writes.
    reader(const Store* db, std::defer_lock_t) : db_(db), of_transaction_(true) {}

    /// A range of index S of T: its iterators check the index's stamp at
    /// each step, so a write to the index during the walk is a usage_error.
    template <class T, class S, class It>
    auto walk(It first, It last) const {
        const auto& stamp = state_of<T>().template stamp<S>();
        using W = detail::walk_iterator<It>;
        return rows<W>(W(std::move(first), stamp), W(std::move(last), stamp));
    }
    /// A scan of T's key index: rows of it for which pred is true.
    template <class T, class It, class Pred>
    auto walk_filtered(It first, It last, Pred pred) const {
        const auto& stamp = state_of<T>().template stamp<typename T::key>();
        using W = detail::walk_iterator<It>;
        return filtered_rows<W, Pred>(W(std::move(first), stamp), W(std::move(last), stamp), std::move(pred));
    }

    /// A query's range, holding this (temporary) scope: see scoped_rows.
    template <class Make>
    auto held(Make&& make) && {
        if (of_transaction_) [[unlikely]]
            detail::throw_usage(
                "relstore: a range read from a temporary write transaction would outlive it (it rolls back at the "
                "end of the expression); keep the transaction in a variable: auto tx = db.write();");
        using R = std::invoke_result_t<Make&, const reader&>;
        return scoped_rows<R, reader>(std::move(*this), std::forward<Make>(make));
    }

    const Store* checked() const {
        if (!db_) [[unlikely]]
            detail::throw_usage("relstore: this scope has ended (committed, rolled back or moved from)");
        // A read scope may be shared with other threads (it only reads); a
        // transaction may not: its thread writes the very containers read.
        if (of_transaction_ && db_->writer_.load(std::memory_order_relaxed) != std::this_thread::get_id())
            [[unlikely]]
            detail::throw_usage(
                "relstore: this write transaction was begun on another thread; read through it on that thread (its "
                "writes there would race with this read), or open a read scope on this one");
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

    /// The table a foreign key (declared on FkMembers) references.
    template <auto... FkMembers>
    using relationship_parent = detail::parent_of<
        child_fk<FkMembers...>,
        typename Store::template table_of_row<typename member_traits<detail::first_of<FkMembers...>>::row_type>>;

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

    /// A foreign key of a row the store does not hold that names no row:
    /// the message of the constraint that refuses it on a write.
    template <class Fk, class Child, class Parent>
    [[noreturn]] static void throw_dangling(const typename Child::row_type& child) {
        using traits = detail::columns_traits<typename Fk::columns>;
        throw not_found_error(std::string(Parent::name), std::string(Child::name) + "." + traits::names() + " = " +
                                                             detail::display(traits::get(child)) +
                                                             " references no row in " + std::string(Parent::name));
    }

    /// The stored row with row's key (row itself when it is stored), or
    /// nullptr. The walks compare rows by address, so a copy given as the
    /// start is swapped for its stored twin: one key lookup per walk.
    template <class Row>
    const Row* stored_twin(const Row& row) const {
        using T = typename Store::template table_of_row<Row>;
        const auto& idx = state_of<T>().key_index();
        const auto it = idx.find(detail::table_state<T>::key_of(row));
        return it == idx.end() ? nullptr : &*it;
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
        plan.stamp_ = checked()->changes_.load(std::memory_order_relaxed);
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
    std::uint64_t owner_ = 0;               // detail::thread_scopes::id() of the thread that opened it
    bool of_transaction_ = false;           // reads through a write transaction: only on its thread
};

}  // namespace relstore
