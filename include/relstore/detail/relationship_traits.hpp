#pragma once
// What a relationship named by its foreign-key member(s) is in a store: the
// child and parent tables of a foreign key, the two keys of an association
// table, a self-reference. The navigation members of reader and the
// association writes of relationships.hpp share them.

#include <relstore/detail/spec_traits.hpp>
#include <relstore/detail/table_state.hpp>
#include <relstore/schema.hpp>

#include <functional>
#include <type_traits>

namespace relstore::detail {

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

/// A foreign key (Fk... on one table) that references its own table.
template <class Store, auto... Fk>
struct self_reference {
    using table = table_of_member<Store, first_of<Fk...>>;
    using spec = typename fk_spec<table, column_list<Fk...>>::type;
    static_assert(!std::is_void_v<spec>,
                  "relstore: no foreign key is declared on these columns; declare "
                  "relstore::references<&Row::parent_column, relstore::self> in the table");
    using parent = parent_of<std::conditional_t<std::is_void_v<spec>, foreign_key<self, fk_options{}, Fk...>, spec>,
                             table>;
    static_assert(std::is_same_v<parent, table>,
                  "relstore: ancestors<>() and descendants<>() walk a self-reference; this foreign key references "
                  "another table (use parent<>() and children<>())");
    static constexpr bool acyclic = [] {
        if constexpr (std::is_void_v<spec>)
            return false;
        else
            return spec::is_acyclic;
    }();
    using row = typename table::row_type;
};

/// A many-to-many within one table (members following members).
template <class Store, auto FromFk, auto ToFk>
struct self_association : association<Store, FromFk, ToFk> {
    static_assert(std::is_same_v<typename association<Store, FromFk, ToFk>::from_row,
                                 typename association<Store, FromFk, ToFk>::to_row>,
                  "relstore: reachable<>() follows a many-to-many within one table; both foreign keys of the "
                  "association table must reference that table");
    using row = typename association<Store, FromFk, ToFk>::from_row;
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

template <class P>
const P* to_pointer(const P& p) {
    return &p;
}
template <class P>
const P* to_pointer(const P* p) {
    return p;
}

}  // namespace relstore::detail
