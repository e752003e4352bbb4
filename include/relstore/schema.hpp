#pragma once
/// @file schema.hpp
/// The declarations a table is built from: its key, unique constraints,
/// secondary indexes and foreign keys, each spelled with member pointers.
///
///     using users = relstore::table<"users", User,
///         relstore::auto_key<&User::id>,
///         relstore::unique<&User::name>>;
///     using posts = relstore::table<"posts", Post,
///         relstore::auto_key<&Post::id>,
///         relstore::references<&Post::author_id, users, relstore::on_delete::cascade>>;

#include <relstore/detail/fixed_string.hpp>
#include <relstore/fields.hpp>
#include <relstore/schema_info.hpp>

#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace relstore {

namespace detail {

template <auto... Members>
struct column_list {
    static constexpr std::size_t size = sizeof...(Members);
};

struct key_tag {};
struct index_tag {};
struct fk_tag {};
struct check_tag {};

template <bool Unique, bool Hashed, auto... Members>
struct index_spec {
    using spec_kind = index_tag;
    using columns = column_list<Members...>;
    static constexpr bool is_unique = Unique;
    static constexpr bool is_hashed = Hashed;
    static_assert(sizeof...(Members) > 0, "relstore: an index needs at least one column");
};

template <bool Auto, bool Hashed, auto... Members>
struct key_spec {
    using spec_kind = key_tag;
    using columns = column_list<Members...>;
    static constexpr bool is_unique = true;
    static constexpr bool is_hashed = Hashed;
    static constexpr bool is_auto = Auto;
    static_assert(sizeof...(Members) > 0, "relstore: a primary key needs at least one column");
    static_assert(!Auto || sizeof...(Members) == 1, "relstore: an auto key is a single integer column");
};

}  // namespace detail

/// A primary key the caller supplies, on one column or several; ordered, so
/// all() walks the table in key order.
template <auto... Members>
struct primary_key : detail::key_spec<false, false, Members...> {};

/// A primary key the caller supplies, hashed: O(1) lookups, no key order.
template <auto... Members>
struct hashed_primary_key : detail::key_spec<false, true, Members...> {};

/// An integer surrogate key, ordered. A row inserted with the key 0 gets the
/// next key (one more than the largest the table has held); any other value is
/// used as given, like SQLAlchemy's `Integer, primary_key=True`.
template <auto Member>
struct auto_key : detail::key_spec<true, false, Member> {};

/// An integer surrogate key as auto_key, hashed: O(1) lookups, no key order.
template <auto Member>
struct hashed_auto_key : detail::key_spec<true, true, Member> {};

/// A unique constraint on one column or several, through a hashed index.
/// Null does not clash with null, as in SQL.
template <auto... Members>
struct unique : detail::index_spec<true, true, Members...> {};

/// A unique constraint through an ordered index (range queries and order too).
template <auto... Members>
struct ordered_unique : detail::index_spec<true, false, Members...> {};

/// A hashed secondary index: equality lookups in O(1).
template <auto... Members>
struct index : detail::index_spec<false, true, Members...> {};

/// An ordered secondary index: equality, ranges and ordering in O(log n).
/// A composite ordered index whose first column is a foreign key gives a
/// parent's children in order.
template <auto... Members>
struct ordered : detail::index_spec<false, false, Members...> {};

/// Stands for the table being declared, as the parent of a self-referencing key.
struct self {};

/// How a foreign key behaves and is indexed.
struct fk_options {
    on_delete action = on_delete::restrict;
    bool unique = false;   ///< one-to-one: at most one child per parent
    bool acyclic = false;  ///< self-reference whose changes may not close a cycle
    /// Hashed: a parent's children are found in O(1) but come in no set order.
    /// Ordered (the default): an ordered index on (foreign key, child key), as
    /// SQLite's index on the column: O(log n) to find them, in child-key order.
    bool hashed = false;
};

/// A foreign key: Members of this table reference Parent's primary key (in
/// order). It indexes its columns, so both directions of the relationship are
/// index walks over this one stored fact.
template <class Parent, fk_options Options, auto... Members>
struct foreign_key {
    using spec_kind = detail::fk_tag;
    using columns = detail::column_list<Members...>;
    using parent = Parent;
    static constexpr on_delete action = Options.action;
    static constexpr bool is_unique = Options.unique;
    static constexpr bool is_hashed = Options.hashed || Options.unique;
    static constexpr bool is_acyclic = Options.acyclic;
    static_assert(!Options.acyclic || std::is_same_v<Parent, self>,
                  "relstore: only a self-referencing foreign key (parent relstore::self) can be declared acyclic");
};

/// Many-to-one (and, seen from the parent, one-to-many): Member references
/// Parent's primary key; children come in key order.
template <auto Member, class Parent, on_delete Action = on_delete::restrict>
using references = foreign_key<Parent, fk_options{Action}, Member>;

/// As references, through a hashed index: O(1) to reach a parent's children,
/// which come in no set order.
template <auto Member, class Parent, on_delete Action = on_delete::restrict>
using hashed_references = foreign_key<Parent, fk_options{Action, false, false, true}, Member>;

/// One-to-one: as references, and at most one child per parent.
template <auto Member, class Parent, on_delete Action = on_delete::restrict>
using unique_references = foreign_key<Parent, fk_options{Action, true}, Member>;

/// A self-reference (a tree: employee to manager, category to parent) in
/// which a change that would close a cycle is a constraint error.
template <auto Member, on_delete Action = on_delete::restrict>
using acyclic_references = foreign_key<self, fk_options{Action, false, true}, Member>;

/// A column check (a validator): every value the column stores must satisfy
/// Pred, a function or captureless lambda of the column's value, e.g.
///     relstore::check<&User::age, [](auto v) { return v >= 0; }, "non_negative">
/// Checked on insert, update and set; a value that fails is a
/// constraint_error (errc::check_violation) naming the table, the column,
/// the value and the check's name, and the store is unchanged. Costs one
/// call of Pred per write of the column.
template <auto Member, auto Pred, detail::fixed_string Name = "">
struct check {
    using spec_kind = detail::check_tag;
    using columns = detail::column_list<Member>;
    static constexpr std::string_view name = Name.view();
    template <class Row>
    static bool holds(const Row& row) {
        return static_cast<bool>(Pred(row.*Member));
    }
};

/// A row check (a validator over several columns): every stored row must
/// satisfy Pred(const Row&), e.g.
///     relstore::row_check<[](const Booking& b) { return b.from < b.to; }, "from_before_to">
/// Checked as check is; a failure names the table, the row's key and the
/// check's name.
template <auto Pred, detail::fixed_string Name = "">
struct row_check {
    using spec_kind = detail::check_tag;
    using columns = detail::column_list<>;
    static constexpr std::string_view name = Name.view();
    template <class Row>
    static bool holds(const Row& row) {
        return static_cast<bool>(Pred(row));
    }
};

namespace detail {

template <class Spec>
inline constexpr bool is_check = std::is_same_v<typename Spec::spec_kind, check_tag>;

/// The specs of a list that are (Checks = true) or are not checks.
template <bool Checks, class... Specs>
using specs_where = decltype(std::tuple_cat(
    std::declval<std::conditional_t<is_check<Specs> == Checks, std::tuple<Specs>, std::tuple<>>>()...));

}  // namespace detail

/// A table: a name, a row type and its specs, the first of which is the key.
/// Specs are indexes, unique constraints, foreign keys and checks.
template <detail::fixed_string Name, class Row, class Key, class... Specs>
struct table {
    static_assert(described_row<Row>,
                  "relstore: the row type of a table needs a RELSTORE_FIELDS(Row, ...) declaration");
    static_assert(std::is_same_v<typename Key::spec_kind, detail::key_tag>,
                  "relstore: the first spec of a table must be its key: primary_key, hashed_primary_key, auto_key "
                  "or hashed_auto_key");
    static_assert((!std::is_same_v<typename Specs::spec_kind, detail::key_tag> && ...),
                  "relstore: a table has exactly one key spec, and it comes first");

    using row_type = Row;
    using key = Key;
    /// The key, indexes and foreign keys: what the container is built from.
    using specs = decltype(std::tuple_cat(std::tuple<Key>{}, std::declval<detail::specs_where<false, Specs...>>()));
    /// The column and row checks, in declaration order.
    using checks = detail::specs_where<true, Specs...>;

    /// The table's name, e.g. "users".
    static constexpr std::string_view name = Name.view();
};

}  // namespace relstore
