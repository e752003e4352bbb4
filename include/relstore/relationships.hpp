#pragma once
/// @file relationships.hpp
/// The writes of a many-to-many, as free functions of a transaction:
/// link, unlink, unlink_all and set_links (SQLAlchemy's `book.authors = [a1, a2]`),
/// e.g. relstore::link<&AuthorBook::author_id, &AuthorBook::book_id>(tx, author, book).
/// They take the single-column foreign keys of the association table, From to
/// the row given first and To to the other side.
///
/// Every read along a relationship is a member of the read scope or
/// transaction instead (reader.hpp): q.children, q.parent, q.linked,
/// q.find_link, q.is_linked, q.count_links, q.children_by, q.with_children,
/// q.without_children, q.with_parent, and the walks of graph.hpp.
///
/// Duplicate links: link() inserts a row, so a duplicate is refused exactly
/// when the association table's key or a unique constraint says so (declare
/// primary_key<&AB::left, &AB::right> and a second link is errc::duplicate_key).
/// set_links() works on sets: a target listed twice, or already linked, is
/// linked once, and existing links are kept with their extra columns.

#include <relstore/detail/relationship_traits.hpp>
#include <relstore/store.hpp>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <ranges>
#include <type_traits>
#include <vector>

namespace relstore {

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
    while (const auto* l = tx.template find_link<FromFk, ToFk>(from, to)) {
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
        if (tx.template find_link<FromFk, ToFk>(from, row)) continue;
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

}  // namespace relstore
