#pragma once
// Compile-time questions about a table's specs: which index covers some
// columns, which foreign key a member is, what a lookup argument becomes.

#include <relstore/detail/table_state.hpp>
#include <relstore/schema.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace relstore::detail {

/// A blob made of the bytes of anything that converts to std::span<const std::byte>.
template <class Bytes>
blob_type to_blob(const Bytes& b) {
    const std::span<const std::byte> s(b);
    return blob_type(s.begin(), s.end());
}

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

/// How many of Table's indexes are hashed.
template <class Table>
inline constexpr std::size_t hashed_index_count =
    std::apply([](auto... s) { return (std::size_t{decltype(s)::is_hashed} + ... + 0); }, typename Table::specs{});

/// True when rows a and b of Table hold the same values in the columns of
/// every key, index and foreign key: b's values can then be assigned to a
/// in place, touching no index. (Boost's modify() would ask each index
/// whether the row may stay, and a hashed non-unique index answers by
/// walking its group of equal keys up to the row, a cache miss per row.)
template <class Table>
bool same_index_keys(const typename Table::row_type& a, const typename Table::row_type& b) {
    bool same = true;
    for_each_spec<Table>([&]<class S>(S*) {
        same = same && []<auto... Ms>(column_list<Ms...>, const auto& x, const auto& y) {
            return ((x.*Ms == y.*Ms) && ...);
        }(typename S::columns{}, a, b);
    });
    return same;
}

template <auto M0, auto... Ms>
inline constexpr auto first_of = M0;

/// True when a value of type Arg may stand for a value of column type Column
/// in a lookup or a set(): the column's own type, or one that converts to it
/// without narrowing (a string column takes anything that converts to
/// std::string_view; a blob column anything that converts to
/// std::span<const std::byte>; a time point or duration column the ones that
/// std::chrono converts to it implicitly, which never lose precision; bool,
/// enums and column_traits types take only themselves; a nullable column
/// also takes std::nullopt and its own optional). Anything else is a mistake
/// the compiler would otherwise let through: a pointer turned into an integer
/// ("abc" for an integer key), 30.9 silently matching 30.
template <class Column, class Arg>
constexpr bool value_fits_column() {
    using A = std::remove_cvref_t<Arg>;
    using U = unwrap_optional_t<Column>;
    if constexpr (std::is_same_v<A, Column> || std::is_same_v<A, U>) {
        return true;
    } else if constexpr (std::is_same_v<A, std::nullopt_t>) {
        return is_optional_v<Column>;
    } else if constexpr (is_optional_v<A>) {
        return is_optional_v<Column> && value_fits_column<U, typename A::value_type>();
    } else if constexpr (is_string_column_v<U>) {
        return std::is_convertible_v<const A&, std::string_view> && !std::is_same_v<A, std::nullptr_t>;
    } else if constexpr (is_blob_column_v<U>) {
        return is_byte_range_v<A>;
    } else if constexpr (std::is_same_v<U, bool> || std::is_same_v<A, bool> || std::is_enum_v<U> ||
                         std::is_enum_v<A> || user_column<U>) {
        return false;  // only themselves, handled above
    } else if constexpr (std::is_arithmetic_v<U> && std::is_arithmetic_v<A>) {
        return requires(A a) { U{a}; };  // brace initialization refuses narrowing
    } else {
        return std::is_convertible_v<const A&, U>;
    }
}

/// Checks one value given for column Member. The static_assert lives in a
/// class template so that the compiler's message names the column and the
/// value's type: "In instantiation of 'value_check<&User::age, double>'".
template <auto Member, class Arg>
struct value_check {
    static constexpr bool ok = value_fits_column<typename member_traits<Member>::value_type, Arg>();
    static_assert(ok,
                  "relstore: a value given for a column must have the column's type or convert to it without "
                  "narrowing (a string column takes anything convertible to std::string_view, a blob column "
                  "anything convertible to std::span<const std::byte>, a time point or duration column those "
                  "std::chrono converts without losing precision; bool, enum and column_traits columns take only "
                  "their own type); convert it first, e.g. std::int16_t{5} or 5u");
};

/// Converts a lookup argument to what the index compares with: strings stay
/// string views (no allocation), values for nullable columns are unwrapped,
/// byte spans become blobs or bytes (one allocation for a blob: std::vector has no comparison
/// with a span), time points and durations take the column's precision.
template <class Column, class Arg>
decltype(auto) lookup_value(const Arg& a) {
    using U = unwrap_optional_t<Column>;
    if constexpr (is_string_column_v<U> && std::is_convertible_v<const Arg&, std::string_view>)
        return std::string_view(a);
    else if constexpr (std::is_same_v<Arg, Column> || std::is_same_v<Arg, U>)
        return (a);
    else if constexpr (std::is_same_v<Arg, std::nullopt_t>)
        return Column(std::nullopt);  // where<&Row::nullable>(std::nullopt): the null rows
    else if constexpr (is_optional_v<Arg>)
        return a ? Column(lookup_value<U>(*a)) : Column(std::nullopt);
    else if constexpr (std::is_same_v<U, blob_type>)
        return to_blob(a);
    else if constexpr (std::is_same_v<U, bytes>)
        return bytes(std::span<const std::byte>(a));  // inline up to 15 bytes: no allocation
    else
        return U(a);
}

/// lookup_value for column Member, after checking the argument's type. A
/// value that fails the check is not converted, so that the check's sentence
/// is the only error the compiler prints.
template <auto Member, class Arg>
decltype(auto) lookup_value_for(const Arg& a) {
    using V = typename member_traits<Member>::value_type;
    if constexpr (value_check<Member, Arg>::ok)
        return lookup_value<V>(a);
    else
        return unwrap_optional_t<V>{};
}

/// A value converted to column Member's type, after checking its type (as
/// lookup_value_for).
template <auto Member, class Arg>
auto column_value_for(const Arg& a) {
    using V = typename member_traits<Member>::value_type;
    if constexpr (value_check<Member, Arg>::ok && is_blob_column_v<unwrap_optional_t<V>> &&
                  !std::is_same_v<Arg, V> && !std::is_same_v<Arg, std::nullopt_t>)
        return V(lookup_value<V>(a));
    else if constexpr (value_check<Member, Arg>::ok)
        return V(a);
    else
        return V{};
}

/// True when any lookup argument is NaN: NaN equals no stored value, and an
/// ordered index asked for it answers with every row (NaN is neither below
/// nor above anything), so such a lookup finds nothing by definition.
template <class... Args>
bool any_nan(const Args&... args) noexcept {
    return (is_nan_value(args) || ...);
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
            return lookup_value_for<first_of<Ms...>>(args...);
        else
            return std::make_tuple(lookup_value_for<Ms>(args)...);
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

}  // namespace relstore::detail
