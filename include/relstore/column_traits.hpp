#pragma once
/// @file column_traits.hpp
/// Column types of one's own, and names for enum values. A type relstore does
/// not know is stored through relstore::column_traits as one that it does; an
/// enum described by RELSTORE_ENUM keeps its value names in the schema, so
/// messages and the `relstore` tool show names instead of numbers.

#include <boost/preprocessor/punctuation/comma_if.hpp>
#include <boost/preprocessor/seq/for_each_i.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/variadic/size.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>

#include <relstore/bytes.hpp>
#include <relstore/text.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace relstore {

/// How a column of a type of your own is stored: as one of the built-in
/// column types (an integer, a string, a blob, a time point...). Specialize it
/// for the type, e.g. money as int64 cents:
///
///     template <> struct relstore::column_traits<Money> {
///         using stored_type = std::int64_t;
///         static stored_type to_stored(const Money& m) { return m.cents; }
///         static Money from_stored(stored_type cents) { return Money{cents}; }
///     };
///
/// Snapshots hold the stored value and the `relstore` tool prints it as that
/// type; messages show it too. An enum may have column_traits as well (to be
/// stored by name, as a string): they take the place of its underlying integer. The type itself is what rows hold and what
/// lookups take, so it must be equality comparable and ordered (keys, indexes
/// and change notifications compare it; `= default` of operator<=> will do),
/// and default constructible. Hashed indexes hash its std::hash when there is
/// one, else its stored value. A from_stored that throws on a stored value
/// makes a load fail, naming the file, offset and column.
template <class T>
struct column_traits {};

/// One named value of an enum described by RELSTORE_ENUM.
struct enum_value_name {
    /// The value, as its underlying integer: signed ones sign-extended to 64 bits.
    std::uint64_t value;
    std::string_view name;
    friend constexpr bool operator==(const enum_value_name&, const enum_value_name&) = default;
};

/// The names of an enum's values, as RELSTORE_ENUM declares them and snapshot
/// schemas record them.
struct enum_labels {
    std::string_view name;                    ///< the enum type's name, as RELSTORE_ENUM spells it
    std::span<const enum_value_name> values;  ///< in declaration order

    /// The name of a value (its underlying integer, as enum_value_name holds
    /// it), or an empty view when the enum does not name it.
    [[nodiscard]] constexpr std::string_view name_of(std::uint64_t value) const noexcept {
        for (const auto& v : values)
            if (v.value == value) return v.name;
        return {};
    }
    friend constexpr bool operator==(const enum_labels& a, const enum_labels& b) noexcept {
        if (a.name != b.name || a.values.size() != b.values.size()) return false;
        for (std::size_t i = 0; i < a.values.size(); ++i)
            if (!(a.values[i] == b.values[i])) return false;
        return true;
    }
};

namespace detail {

template <class T>
struct type_tag {};

/// The 64-bit form of an integer that enum_value_name and snapshots use:
/// signed values sign-extended, unsigned ones zero-extended.
template <class I>
constexpr std::uint64_t integer_bits(I v) noexcept {
    if constexpr (std::is_signed_v<I>)
        return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
    else
        return static_cast<std::uint64_t>(v);
}

template <class E>
constexpr enum_value_name enum_entry(E v, std::string_view name) noexcept {
    return {integer_bits(static_cast<std::underlying_type_t<E>>(v)), name};
}

/// True when RELSTORE_ENUM described E.
template <class E>
concept described_enum = std::is_enum_v<E> && requires { relstore_enum_values(type_tag<E>{}); };

template <described_enum E>
inline constexpr auto enum_values_of = relstore_enum_values(type_tag<E>{});

/// The names of a described enum's values, with static storage: schemas point at it.
template <described_enum E>
inline constexpr enum_labels enum_labels_of{relstore_enum_name(type_tag<E>{}), enum_values_of<E>};

template <class T>
struct is_duration : std::false_type {};
template <class Rep, class Period>
struct is_duration<std::chrono::duration<Rep, Period>> : std::true_type {};

template <class T>
struct is_time_point : std::false_type {};
template <class Clock, class Duration>
struct is_time_point<std::chrono::time_point<Clock, Duration>> : std::true_type {};

template <class T>
struct is_sys_time : std::false_type {};
template <class Duration>
struct is_sys_time<std::chrono::time_point<std::chrono::system_clock, Duration>> : std::true_type {};

/// The type of a blob column.
using blob_type = std::vector<std::byte>;

/// True for the C++ types of a string column: std::string and relstore::text
/// (the same column kind, so the same cells in files and the same messages).
template <class T>
inline constexpr bool is_string_column_v = std::is_same_v<T, std::string> || std::is_same_v<T, text>;

/// True for the C++ types of a blob column: std::vector<std::byte> and relstore::bytes.
template <class T>
inline constexpr bool is_blob_column_v = std::is_same_v<T, blob_type> || std::is_same_v<T, bytes>;

/// True for a column_traits specialization whose stored type and functions
/// are declared (whether the stored type is a built-in column type is checked
/// where column types are).
template <class T>
concept declares_column_traits = requires(const T& v, const typename column_traits<T>::stored_type& s) {
    { column_traits<T>::to_stored(v) } -> std::convertible_to<typename column_traits<T>::stored_type>;
    { column_traits<T>::from_stored(s) } -> std::convertible_to<T>;
};

/// True when column_traits<T> is specialized at all (it has stored_type).
template <class T>
concept has_column_traits = requires { typename column_traits<T>::stored_type; };

}  // namespace detail
}  // namespace relstore

#define RELSTORE_DETAIL_ENUM_VALUE(r, Enum, i, v) \
    BOOST_PP_COMMA_IF(i)::relstore::detail::enum_entry(Enum::v, BOOST_PP_STRINGIZE(v))

/// Names the values of an enum, so that schemas record them and messages and
/// the `relstore` tool show names instead of numbers. Use it once, in the
/// namespace of the enum:
///     enum class Color : std::uint8_t { red, green, blue };
///     RELSTORE_ENUM(Color, red, green, blue)
/// The column still stores the underlying integer, so a snapshot written
/// before the declaration loads after it, and the other way round. A value
/// left out of the list is stored as usual and shown as its number.
#define RELSTORE_ENUM(Enum, ...)                                                                          \
    static_assert(::std::is_enum_v<Enum>, "relstore: RELSTORE_ENUM: " #Enum " is not an enum; "          \
                                          "RELSTORE_ENUM names the values of an enum type");              \
    [[maybe_unused]] constexpr ::std::string_view relstore_enum_name(::relstore::detail::type_tag<Enum>) { \
        return #Enum;                                                                                    \
    }                                                                                                    \
    [[maybe_unused]] constexpr auto relstore_enum_values(::relstore::detail::type_tag<Enum>) {           \
        return ::std::array<::relstore::enum_value_name, BOOST_PP_VARIADIC_SIZE(__VA_ARGS__)>{             \
            {BOOST_PP_SEQ_FOR_EACH_I(RELSTORE_DETAIL_ENUM_VALUE, Enum, BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))}}; \
    }
