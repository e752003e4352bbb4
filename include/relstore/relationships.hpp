#pragma once
/// @file relationships.hpp
/// Helpers over the relationship graph, as free functions of a read scope or
/// a transaction:
///
///  - many-to-many through an association table: link, unlink, unlink_all,
///    set_links (SQLAlchemy's `book.authors = [a1, a2]`), find_link,
///    is_linked, count_links;
///  - filters along a relationship (SQLAlchemy's any()/has()): with_children,
///    without_children, with_parent;
///  - a parent's children in the order of an ordered index: children_by.
///
/// Every helper names the relationship by the foreign-key member(s) it was
/// declared with, e.g. relstore::link<&AuthorBook::author_id, &AuthorBook::book_id>(tx, author, book).
/// The association helpers take single-column foreign keys.
///
/// Duplicate links: link() inserts a row, so a duplicate is refused exactly
/// when the association table's key or a unique constraint says so (declare
/// primary_key<&AB::left, &AB::right> and a second link is errc::duplicate_key).
/// set_links() works on sets: a target listed twice, or already linked, is
/// linked once, and existing links are kept with their extra columns.

#include <relstore/store.hpp>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <ranges>
#include <type_traits>
#include <vector>

namespace relstore {

namespace detail {

/// The table of a store that holds the row type of Member.
template <class Store, auto Member>
using table_of_member = typename Store::template table_of_row<typename member_traits<Member>::row_type>;

/// What a single-column foreign key Fk (a member of a child row) is in Store:
/// its spec, the child table and the parent table.
template <class Store, auto Fk>
struct fk_of {
    using child = table_of_member<Store, Fk>;
    using spec = typename fk_spec<child, column_list<Fk>>::type;
    static_assert(!std::is_void_v<spec>,
                  "relstore: no foreign key is declared on this column; declare "
                  "relstore::references<&Table::column, Parent> in the table that holds it");
    using parent = parent_of<std::conditional_t<std::is_void_v<spec>, foreign_key<self, fk_options{}, Fk>, spec>, child>;
    using child_row = typename child::row_type;
    using parent_row = typename parent::row_type;
    using parent_key = typename table_state<parent>::key_type;
};

/// The two foreign keys of an association table, From to one side and To to
/// the other.
template <class Store, auto FromFk, auto ToFk>
struct association {
    using from = fk_of<Store, FromFk>;
    using to = fk_of<Store, ToFk>;
    static_assert(std::is_same_v<typename member_traits<FromFk>::row_type, typename member_traits<ToFk>::row_type>,
                  "relstore: the two foreign keys of a many-to-many relationship must be columns of one "
                  "association table");
    using table = typename from::child;
    using row = typename table::row_type;
    using from_row = typename from::parent_row;
    using to_row = typename to::parent_row;

    /// The index find_link() can use to reach one (from, to) pair directly:
    /// one over exactly (from, to) or (to, from), or an ordered one they prefix.
    using pair_exact = typename exact_index<table, column_list<FromFk, ToFk>>::type;
    using pair_prefix = typename ordered_prefix_index<table, column_list<FromFk, ToFk>>::type;
    using pair_swapped_exact = typename exact_index<table, column_list<ToFk, FromFk>>::type;
    using pair_swapped_prefix = typename ordered_prefix_index<table, column_list<ToFk, FromFk>>::type;
    static constexpr bool direct = !std::is_void_v<pair_exact> || !std::is_void_v<pair_prefix>;
    static constexpr bool swapped = !std::is_void_v<pair_swapped_exact> || !std::is_void_v<pair_swapped_prefix>;
};

template <class T>
const T& as_row(const T& r) {
    return r;
}
template <class T>
const T& as_row(const T* r) {
    return *r;
}
template <class T>
const T& as_row(const std::reference_wrapper<const T>& r) {
    return r.get();
}

/// A foreign-key value without its optional, for comparing with a parent key
/// (callers check for null first).
template <class V>
const auto& unwrap(const V& v) {
    if constexpr (is_optional_v<V>)
        return *v;
    else
        return v;
}

}  // namespace detail

/// The row type of the table the single-column foreign key Fk references.
template <class Store, auto Fk>
using parent_row_t = typename detail::fk_of<Store, Fk>::parent_row;

/// What set_links() changed.
struct link_changes {
    std::size_t added = 0;    ///< links inserted
    std::size_t removed = 0;  ///< links erased
    friend bool operator==(const link_changes&, const link_changes&) = default;
};

// --- many-to-many ------------------------------------------------------------

/// Links `from` to `to` by inserting an association row whose FromFk holds
/// from's key and ToFk to's key; the other columns come from `extra` (an
/// association object's role, position, ...). Returns the stored link.
/// @throws usage_error when either row is not this store's stored row (a copy,
/// a row of another store); constraint_error errc::duplicate_key /
/// unique_violation when the association table's key or a unique constraint
/// already holds that link. The store is unchanged.
template <auto FromFk, auto ToFk, class Store>
const typename detail::association<Store, FromFk, ToFk>::row& link(
    transaction<Store>& tx, const typename detail::association<Store, FromFk, ToFk>::from_row& from,
    const typename detail::association<Store, FromFk, ToFk>::to_row& to,
    typename detail::association<Store, FromFk, ToFk>::row extra = {}) {
    using assoc = detail::association<Store, FromFk, ToFk>;
    tx.require_stored(from, "link");
    tx.require_stored(to, "link");
    extra.*FromFk = detail::table_state<typename assoc::from::parent>::key_of(from);
    extra.*ToFk = detail::table_state<typename assoc::to::parent>::key_of(to);
    return tx.template insert<typename assoc::table>(std::move(extra));
}

/// The first association row linking `from` to `to`, or nullptr. An index
/// lookup (O(log n) or O(1)) when the association table has an index over the
/// pair, such as a primary_key<&AB::from, &AB::to>; otherwise a walk of from's
/// links (O(log n + links of from)). No allocation.
template <auto FromFk, auto ToFk, class Store>
[[nodiscard]] const typename detail::association<Store, FromFk, ToFk>::row* find_link(
    const reader<Store>& q, const typename detail::association<Store, FromFk, ToFk>::from_row& from,
    const typename detail::association<Store, FromFk, ToFk>::to_row& to) {
    using assoc = detail::association<Store, FromFk, ToFk>;
    const auto from_key = detail::table_state<typename assoc::from::parent>::key_of(from);
    const auto to_key = detail::table_state<typename assoc::to::parent>::key_of(to);
    if constexpr (assoc::direct) {
        return q.template where<FromFk, ToFk>(from_key, to_key).first();
    } else if constexpr (assoc::swapped) {
        return q.template where<ToFk, FromFk>(to_key, from_key).first();
    } else {
        for (const auto& l : q.template children<FromFk>(from)) {
            const auto& v = l.*ToFk;
            if constexpr (detail::is_optional_v<std::decay_t<decltype(v)>>)
                if (!v) continue;
            if (detail::unwrap(v) == to_key) return std::addressof(l);
        }
        return nullptr;
    }
}

/// True when `from` is linked to `to` (see find_link for the cost).
template <auto FromFk, auto ToFk, class Store>
[[nodiscard]] bool is_linked(const reader<Store>& q,
                             const typename detail::association<Store, FromFk, ToFk>::from_row& from,
                             const typename detail::association<Store, FromFk, ToFk>::to_row& to) {
    return find_link<FromFk, ToFk>(q, from, to) != nullptr;
}

/// The number of links from `from` (association rows whose FromFk holds its
/// key): walks the index group, copies nothing. count_links<A, B>(q, a) is
/// the size of linked<A, B>(a).
template <auto FromFk, auto ToFk, class Store>
[[nodiscard]] std::size_t count_links(const reader<Store>& q,
                                      const typename detail::association<Store, FromFk, ToFk>::from_row& from) {
    return q.template count_children<FromFk>(from);
}

/// Removes every link between `from` and `to` (one, when the pair is a key);
/// returns how many association rows were erased, 0 when none existed.
/// All or nothing. @throws usage_error when either row is not this store's
/// stored row; constraint_error when an erased link is itself referenced by a
/// restricting key.
template <auto FromFk, auto ToFk, class Store>
std::size_t unlink(transaction<Store>& tx, const typename detail::association<Store, FromFk, ToFk>::from_row& from,
                   const typename detail::association<Store, FromFk, ToFk>::to_row& to) {
    tx.require_stored(from, "unlink");
    tx.require_stored(to, "unlink");
    std::size_t n = 0;
    auto sp = tx.savepoint();
    while (const auto* l = find_link<FromFk, ToFk>(tx, from, to)) {
        tx.erase(*l);
        ++n;
    }
    sp.release();
    return n;
}

/// Removes every link of `from` (SQLAlchemy's `book.authors.clear()`);
/// returns how many association rows were erased. All or nothing.
template <auto FromFk, auto ToFk, class Store>
std::size_t unlink_all(transaction<Store>& tx,
                       const typename detail::association<Store, FromFk, ToFk>::from_row& from) {
    tx.require_stored(from, "unlink_all");
    std::size_t n = 0;
    auto sp = tx.savepoint();
    while (const auto* l = tx.template children<FromFk>(from).first()) {
        tx.erase(*l);
        ++n;
    }
    sp.release();
    return n;
}

/// Makes `targets` (rows or pointers to rows of the To side) the whole set of
/// rows `from` is linked to: SQLAlchemy's `book.authors = [a1, a2]`, as one
/// atomic step. Links to rows no longer listed are erased; listed rows not yet
/// linked are linked, in the order given, with a default association row;
/// links that stay are kept untouched (with their extra columns). A target
/// listed twice is linked once.
/// Costs O((k + t) log n) for k existing links and t targets; allocates two
/// vectors of t keys and one of k pointers.
/// @throws usage_error when `from` or a target is not this store's stored
/// row; constraint_error as link() and erase(); nothing changes.
template <auto FromFk, auto ToFk, class Store, std::ranges::forward_range R>
link_changes set_links(transaction<Store>& tx, const typename detail::association<Store, FromFk, ToFk>::from_row& from,
                       R&& targets) {
    using assoc = detail::association<Store, FromFk, ToFk>;
    using to_table = typename assoc::to::parent;
    using key_type = typename assoc::to::parent_key;
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(detail::as_row(*std::ranges::begin(targets)))>,
                                 typename assoc::to_row>,
                  "relstore: set_links() takes rows (or pointers to rows) of the table the second foreign key "
                  "references");

    tx.require_stored(from, "set_links");
    std::vector<key_type> wanted;
    for (auto&& t : targets) {
        tx.require_stored(detail::as_row(t), "set_links");
        wanted.push_back(detail::table_state<to_table>::key_of(detail::as_row(t)));
    }
    std::vector<key_type> sorted = wanted;
    std::ranges::sort(sorted);
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());

    link_changes changes;
    auto sp = tx.savepoint();
    // Collect first: erasing while walking the index group would invalidate it.
    std::vector<const typename assoc::row*> gone;
    for (const auto& l : tx.template children<FromFk>(from)) {
        const auto& v = l.*ToFk;
        if constexpr (detail::is_optional_v<std::decay_t<decltype(v)>>)
            if (!v) continue;  // a link to nothing is not one of the set's
        if (!std::ranges::binary_search(sorted, key_type(detail::unwrap(v)))) gone.push_back(std::addressof(l));
    }
    for (const auto* l : gone) {
        tx.erase(*l);
        ++changes.removed;
    }
    for (auto&& t : targets) {
        const auto& row = detail::as_row(t);
        if (find_link<FromFk, ToFk>(tx, from, row)) continue;
        link<FromFk, ToFk>(tx, from, row);
        ++changes.added;
    }
    sp.release();
    return changes;
}

/// set_links() with a braced list: set_links<&AB::book_id, &AB::author_id>(tx, book, {&a1, &a2}),
/// or {} to remove every link.
template <auto FromFk, auto ToFk, class Store>
link_changes set_links(transaction<Store>& tx, const typename detail::association<Store, FromFk, ToFk>::from_row& from,
                       std::initializer_list<const typename detail::association<Store, FromFk, ToFk>::to_row*> targets) {
    return set_links<FromFk, ToFk, Store, std::initializer_list<const typename detail::association<Store, FromFk, ToFk>::to_row*>&>(
        tx, from, targets);
}

// --- filters along a relationship -------------------------------------------

/// The parent rows that have at least one child along the foreign key Fk
/// (SQLAlchemy's `User.posts.any()`): users with a post, books with an author
/// (with_children<&AuthorBook::book_id>). A scan of the parents, each checked
/// by one index lookup: O(parents · log n), no allocation. The range holds a
/// pointer to q; read it while q lives.
template <auto... Fk, class Store>
[[nodiscard]] auto with_children(const reader<Store>& q) {
    using child = detail::table_of_member<Store, detail::first_of<Fk...>>;
    using parent = detail::parent_of<typename detail::fk_spec<child, detail::column_list<Fk...>>::type, child>;
    return q.template scan<parent>(
        [q = &q](const typename parent::row_type& p) { return !q->template children<Fk...>(p).empty(); });
}

/// The parent rows with at least one child along Fk for which pred(child) is
/// true (SQLAlchemy's `User.posts.any(criterion)`). Stops at the first match.
template <auto... Fk, class Store, class Pred>
[[nodiscard]] auto with_children(const reader<Store>& q, Pred pred) {
    using child = detail::table_of_member<Store, detail::first_of<Fk...>>;
    using parent = detail::parent_of<typename detail::fk_spec<child, detail::column_list<Fk...>>::type, child>;
    return q.template scan<parent>([q = &q, pred = std::move(pred)](const typename parent::row_type& p) {
        for (const auto& c : q->template children<Fk...>(p))
            if (pred(c)) return true;
        return false;
    });
}

/// The parent rows with no child along Fk (SQLAlchemy's `~Book.authors.any()`):
/// books with no authors, users without posts. O(parents · log n), no allocation.
template <auto... Fk, class Store>
[[nodiscard]] auto without_children(const reader<Store>& q) {
    using child = detail::table_of_member<Store, detail::first_of<Fk...>>;
    using parent = detail::parent_of<typename detail::fk_spec<child, detail::column_list<Fk...>>::type, child>;
    return q.template scan<parent>(
        [q = &q](const typename parent::row_type& p) { return q->template children<Fk...>(p).empty(); });
}

/// The child rows whose parent along Fk satisfies pred (SQLAlchemy's
/// `Post.author.has(criterion)`); a child whose optional key is null has no
/// parent and is left out. O(children · log n), no allocation.
template <auto... Fk, class Store, class Pred>
[[nodiscard]] auto with_parent(const reader<Store>& q, Pred pred) {
    using child = detail::table_of_member<Store, detail::first_of<Fk...>>;
    return q.template scan<child>([q = &q, pred = std::move(pred)](const typename child::row_type& c) {
        decltype(auto) p = q->template parent<Fk...>(c);
        if constexpr (std::is_pointer_v<std::remove_cvref_t<decltype(p)>>)
            return p != nullptr && static_cast<bool>(pred(*p));
        else
            return static_cast<bool>(pred(p));
    });
}

// --- ordered children ---------------------------------------------------------

/// The children of `parent` along the foreign key Fk in order of the column
/// OrderBy, through an ordered index that starts with (Fk, OrderBy), e.g.
/// relstore::ordered<&Post::author_id, &Post::created>. An index walk: O(log n)
/// to start, no allocation, no copy. Compose with std::views::take(n) for a
/// limit and std::views::reverse for descending order.
///
/// (q.where<&Post::author_id>(id) walks the foreign key's own index, which
/// orders a parent's children by their primary key, not by OrderBy.)
template <auto Fk, auto OrderBy, class Store>
[[nodiscard]] auto children_by(const reader<Store>& q, const parent_row_t<Store, Fk>& parent) {
    using info = detail::fk_of<Store, Fk>;
    using child = typename info::child;
    using spec = typename detail::ordered_prefix_index<child, detail::column_list<Fk, OrderBy>>::type;
    static_assert(!std::is_void_v<spec>,
                  "relstore: children_by<&Child::fk, &Child::column>() needs an ordered index that starts with those "
                  "two columns: declare relstore::ordered<&Child::fk, &Child::column> in the child table");
    const auto& idx = q.store_ref().template state<child>().rows.template get<spec>();
    using fk_value = detail::unwrap_optional_t<typename member_traits<Fk>::value_type>;
    auto [first, last] =
        idx.equal_range(std::make_tuple(fk_value(detail::table_state<typename info::parent>::key_of(parent))));
    return rows<decltype(first)>(first, last);
}

}  // namespace relstore
