#pragma once
/// @file fields.hpp
/// Column types and RELSTORE_FIELDS, the one line per row type that names its
/// fields. Boost 1.74 has no reflection, so this list is what error messages,
/// snapshots, printing and Boost.Serialization use to see inside a row.

#include <boost/preprocessor/punctuation/comma_if.hpp>
#include <boost/preprocessor/seq/for_each.hpp>
#include <boost/preprocessor/seq/for_each_i.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>
#include <boost/serialization/nvp.hpp>

#include <concepts>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace relstore {

/// The value types a column may hold; a nullable column is a std::optional of one.
enum class column_kind : std::uint8_t {
    boolean = 1,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
    float32,
    float64,
    string,
};

/// The stored type of a column: its kind and whether it may be null.
struct column_type {
    column_kind kind;
    bool nullable;
    friend constexpr bool operator==(column_type, column_type) = default;
};

/// The name of a column kind as written in schemas ("int64", "string", ...).
[[nodiscard]] constexpr std::string_view to_string(column_kind k) noexcept {
    switch (k) {
    case column_kind::boolean: return "bool";
    case column_kind::int8: return "int8";
    case column_kind::int16: return "int16";
    case column_kind::int32: return "int32";
    case column_kind::int64: return "int64";
    case column_kind::uint8: return "uint8";
    case column_kind::uint16: return "uint16";
    case column_kind::uint32: return "uint32";
    case column_kind::uint64: return "uint64";
    case column_kind::float32: return "float32";
    case column_kind::float64: return "float64";
    case column_kind::string: return "string";
    }
    return "unknown";
}

namespace detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
inline constexpr bool is_optional_v = is_optional<T>::value;

template <class T>
struct unwrap_optional {
    using type = T;
};
template <class T>
struct unwrap_optional<std::optional<T>> {
    using type = T;
};
template <class T>
using unwrap_optional_t = typename unwrap_optional<T>::type;

template <class T>
constexpr std::optional<column_kind> scalar_kind() noexcept {
    if constexpr (std::is_enum_v<T>) {
        return scalar_kind<std::underlying_type_t<T>>();
    } else if constexpr (std::is_same_v<T, bool>) {
        return column_kind::boolean;
    } else if constexpr (std::is_same_v<T, std::string>) {
        return column_kind::string;
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
        constexpr column_kind by_size[] = {column_kind::int8, column_kind::int16, column_kind::int32,
                                           column_kind::int64};
        return by_size[sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3];
    } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
        constexpr column_kind by_size[] = {column_kind::uint8, column_kind::uint16, column_kind::uint32,
                                           column_kind::uint64};
        return by_size[sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3];
    } else if constexpr (std::is_same_v<T, float>) {
        return column_kind::float32;
    } else if constexpr (std::is_same_v<T, double>) {
        return column_kind::float64;
    } else {
        return std::nullopt;
    }
}

}  // namespace detail

/// A type a column may have: bool, an integer, an enum, float, double,
/// std::string, or a std::optional of one of those.
template <class T>
concept column_value = detail::scalar_kind<detail::unwrap_optional_t<T>>().has_value() &&
                       !detail::is_optional_v<detail::unwrap_optional_t<T>>;

/// The column type of a C++ type.
template <column_value T>
inline constexpr column_type column_type_of{*detail::scalar_kind<detail::unwrap_optional_t<T>>(),
                                            detail::is_optional_v<T>};

namespace detail {

template <class T>
struct type_tag {};

/// One named field of a row type.
template <class Row, class Value>
struct field {
    std::string_view name;
    Value Row::*member;
    using row_type = Row;
    using value_type = Value;
};

template <class Row, class... Values>
constexpr auto make_fields(field<Row, Values>... fs) {
    static_assert((column_value<Values> && ...),
                  "relstore: every field named in RELSTORE_FIELDS must be a column type: bool, an integer, an "
                  "enum, float, double, std::string or std::optional of one of those");
    return std::tuple<field<Row, Values>...>{fs...};
}

template <class Row>
concept has_fields = requires { relstore_fields(type_tag<Row>{}); };

}  // namespace detail

/// True when RELSTORE_FIELDS was declared for Row.
template <class Row>
concept described_row = detail::has_fields<Row>;

/// The fields of a row type as a tuple of {name, member pointer}.
template <described_row Row>
constexpr auto fields_of() {
    return relstore_fields(detail::type_tag<Row>{});
}

/// The number of fields of a row type.
template <described_row Row>
inline constexpr std::size_t field_count = std::tuple_size_v<decltype(fields_of<Row>())>;

/// Calls f(field) for every field of Row, in declaration order.
template <described_row Row, class F>
constexpr void for_each_field(F&& f) {
    std::apply([&](const auto&... fs) { (f(fs), ...); }, fields_of<Row>());
}

/// The row type and value type of a member pointer used as a column.
template <auto Member>
struct member_traits;
template <class Row, class Value, Value Row::*Member>
struct member_traits<Member> {
    using row_type = Row;
    using value_type = Value;
};

/// The position of a member in its row type's RELSTORE_FIELDS list, or
/// field_count when it is not listed.
template <auto Member>
constexpr std::size_t field_index_of() {
    using row = typename member_traits<Member>::row_type;
    static_assert(described_row<row>, "relstore: the row type has no RELSTORE_FIELDS declaration");
    std::size_t index = field_count<row>;
    std::size_t i = 0;
    for_each_field<row>([&](const auto& f) {
        if constexpr (std::is_same_v<decltype(f.member), decltype(Member)>) {
            if (f.member == Member && index == field_count<row>) index = i;
        }
        ++i;
    });
    return index;
}

/// The name of the column a member pointer designates.
template <auto Member>
constexpr std::string_view column_name() {
    using row = typename member_traits<Member>::row_type;
    constexpr std::size_t i = field_index_of<Member>();
    static_assert(i < field_count<row>, "relstore: this member is not listed in its row type's RELSTORE_FIELDS");
    return std::get<i>(fields_of<row>()).name;
}

namespace detail {

inline void append_display(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

template <class T>
void append_display(std::string& out, const T& v) {
    if constexpr (is_optional_v<T>) {
        if (v)
            append_display(out, *v);
        else
            out += "NULL";
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        // Strings, and the string literals a lookup key may be given as.
        append_display(out, std::string_view(v));
    } else if constexpr (std::is_same_v<T, bool>) {
        out += v ? "true" : "false";
    } else if constexpr (std::is_enum_v<T>) {
        out += std::to_string(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t> ||
                         std::is_same_v<T, char>) {
        out += std::to_string(static_cast<int>(v));
    } else if constexpr (std::is_floating_point_v<T>) {
        std::ostringstream os;
        os.precision(17);
        os << v;
        out += os.str();
    } else {
        out += std::to_string(v);
    }
}

/// Renders a value as error messages show it: strings quoted, null as NULL,
/// tuples as (a, b).
template <class T>
std::string display(const T& v) {
    std::string out;
    if constexpr (requires { std::tuple_size<T>::value; }) {
        out += '(';
        std::apply(
            [&](const auto&... xs) {
                bool first = true;
                ((out += first ? "" : ", ", first = false, append_display(out, xs)), ...);
            },
            v);
        out += ')';
    } else {
        append_display(out, v);
    }
    return out;
}

}  // namespace detail
}  // namespace relstore

#define RELSTORE_DETAIL_FIELD(r, Row, i, f) \
    BOOST_PP_COMMA_IF(i)::relstore::detail::field<Row, decltype(Row::f)> { BOOST_PP_STRINGIZE(f), &Row::f }
#define RELSTORE_DETAIL_NVP(r, row, f) &::boost::serialization::make_nvp(BOOST_PP_STRINGIZE(f), row.f)

/// Names the fields of a row type. Use it once, in the namespace of the type:
///     RELSTORE_FIELDS(User, id, name, email)
/// It gives relstore the field names and types (for messages and snapshots) and
/// gives the type a Boost.Serialization serialize(), so it works with Boost's archives.
#define RELSTORE_FIELDS(Row, ...)                                                                      \
    [[maybe_unused]] inline constexpr auto relstore_fields(::relstore::detail::type_tag<Row>) {      \
        return ::relstore::detail::make_fields<Row>(                                                  \
            BOOST_PP_SEQ_FOR_EACH_I(RELSTORE_DETAIL_FIELD, Row, BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))); \
    }                                                                                                 \
    template <class Archive>                                                                          \
    [[maybe_unused]] void serialize(Archive& ar, Row& row, const unsigned int /*version*/) {         \
        ar BOOST_PP_SEQ_FOR_EACH(RELSTORE_DETAIL_NVP, row, BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__));    \
    }
