#pragma once
/// @file fields.hpp
/// Column types and RELSTORE_FIELDS, the one line per row type that names its
/// fields. Boost 1.74 has no reflection, so this list is what error messages,
/// snapshots, printing and Boost.Serialization use to see inside a row.

#include <boost/preprocessor/punctuation/comma_if.hpp>
#include <boost/preprocessor/seq/for_each.hpp>
#include <boost/preprocessor/seq/for_each_i.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/variadic/size.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>
#include <boost/serialization/nvp.hpp>

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

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

// RELSTORE_FIELDS is checked against the row type itself, since a member left
// out of the list would be silently dropped by snapshots and the CLI. Boost
// 1.74 has no PFR, so the members are counted here the way PFR counts them:
// Row{x, x, ..., x} is well-formed for up to as many x as Row has members,
// where x converts to any type.
//
// Only aggregates without base classes can be counted that way, so only those
// are rows (as the README says: a row is a plain aggregate struct). A
// constructor hides which members it sets, and a base takes one initializer
// for all of its members; instead of trusting an unchecked list for such
// types, RELSTORE_FIELDS refuses them with a sentence. Rows are read back by
// `Row row{}` and field assignment anyway, so a constructor buys nothing.

/// Stands for a value of any type in Row{any_member{}, ...}. Its conversion
/// is const&&-qualified so that a member's own converting constructor
/// template (std::optional's, which takes any U&&) binds the probe better and
/// wins, instead of the two being ambiguous and the count stopping there; a
/// std::string or an enum takes the conversion. Declared only: it is only used
/// in unevaluated operands.
struct any_member {
    any_member() = default;
    any_member(const any_member&) = delete;  // so std::any's constructor template does not take it either
    template <class U>
    operator U() const&& noexcept;
};

template <std::size_t>
using any_member_at = any_member;

template <class Row, std::size_t... I>
constexpr bool initializable_from(std::index_sequence<I...>) noexcept {
    return requires { Row{any_member_at<I>{}...}; };
}

/// Converts to a base class of Row and to nothing else: Row{base_member<Row>{}}
/// is well-formed only when Row's first element is a base.
template <class Row>
struct base_member {
    base_member() = default;
    base_member(const base_member&) = delete;
    template <class U>
        requires(std::is_base_of_v<U, Row> && !std::is_same_v<U, Row>)
    operator U() const&& noexcept;
};

/// True when relstore can count Row's members, and so accepts it as a row:
/// an aggregate class without base classes.
template <class Row>
constexpr bool countable_row() noexcept {
    if constexpr (!std::is_class_v<Row> || !std::is_aggregate_v<Row>)
        return false;
    else
        return !requires { Row{base_member<Row>{}}; };
}

/// The number of members of Row, given that it has at least Listed (the
/// RELSTORE_FIELDS list, whose names are distinct members). In the usual case
/// of a complete list this is a single check; Listed itself when Row cannot be
/// counted (the static_assert on countable_row reports that). The search
/// stops 64 past Listed, which is enough to say that members are missing.
template <class Row, std::size_t Listed, std::size_t N = Listed>
constexpr std::size_t member_count() noexcept {
    if constexpr (!countable_row<Row>())
        return Listed;
    else if constexpr (N >= Listed + 64 || !initializable_from<Row>(std::make_index_sequence<N + 1>{}))
        return N;
    else
        return member_count<Row, Listed, N + 1>();
}

/// Carries the count into the diagnostic: clang prints the template
/// arguments of members_of<Row, Count>::count, and gcc the comparison.
template <class Row, std::size_t Count>
struct members_of {
    static constexpr std::size_t count = Count;
};

/// True when no name appears twice in a RELSTORE_FIELDS list.
template <class Fields>
constexpr bool distinct_names(const Fields& fields) noexcept {
    return std::apply(
        [](const auto&... f) {
            const std::string_view names[] = {std::string_view(), f.name...};
            for (std::size_t i = 1; i < std::size(names); ++i)
                for (std::size_t j = 1; j < i; ++j)
                    if (names[i] == names[j]) return false;
            return true;
        },
        fields);
}

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

/// Calls f(field) for every field of Row, in the order RELSTORE_FIELDS lists them.
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

/// How many bytes of a string value a message shows. A longer one is cut at a
/// character boundary and followed by its length, so that a huge value cannot
/// make a huge what() (a duplicate 100 MB string once made a 100 MB message).
inline constexpr std::size_t display_limit = 64;
/// A limit that shows every byte, for text that must tell any two values apart
/// (the tests' images of a store); messages never use it.
inline constexpr std::size_t display_whole = static_cast<std::size_t>(-1);

/// The length of the well-formed UTF-8 sequence s starts with, or 0 when it
/// starts with a byte that is not one (overlong forms, surrogates and code
/// points above U+10FFFF are not).
[[nodiscard]] constexpr std::size_t utf8_sequence_length(std::string_view s) noexcept {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned lead = byte(0);
    if (lead < 0x80) return 1;
    std::size_t n = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        if (lead == 0xE0) lo = 0xA0;  // overlong below
        if (lead == 0xED) hi = 0x9F;  // surrogates above
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        if (lead == 0xF0) lo = 0x90;  // overlong below
        if (lead == 0xF4) hi = 0x8F;  // beyond U+10FFFF above
    } else {
        return 0;
    }
    if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
    return n;
}

/// Appends one character (a well-formed UTF-8 sequence, or a single byte when
/// valid is false) as messages show it: quotes and backslashes escaped, and
/// everything that would break the line or reorder it (C0 and C1 controls,
/// DEL, U+2028/2029, bidirectional controls) or that is not UTF-8 written as
/// an escape, so a message is always one line of valid UTF-8.
inline void append_display_char(std::string& out, std::string_view c, bool valid) {
    constexpr char hex[] = "0123456789abcdef";
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(c[i]); };
    if (!valid || (c.size() == 1 && (byte(0) < 0x20 || byte(0) == 0x7F))) {
        switch (c[0]) {
        case '\n': out += "\\n"; return;
        case '\r': out += "\\r"; return;
        case '\t': out += "\\t"; return;
        default:
            out += "\\x";
            out += hex[byte(0) >> 4];
            out += hex[byte(0) & 0xF];
            return;
        }
    }
    unsigned code = 0;
    if (c.size() == 2 && byte(0) == 0xC2 && byte(1) < 0xA0) code = byte(1);  // U+0080..U+009F
    if (c.size() == 3 && byte(0) == 0xE2 &&
        ((byte(1) == 0x80 && byte(2) >= 0xA8 && byte(2) <= 0xAE) ||   // U+2028..U+202E
         (byte(1) == 0x81 && byte(2) >= 0xA6 && byte(2) <= 0xA9)))    // U+2066..U+2069
        code = 0x2000u | ((byte(1) & 0x3Fu) << 6) | (byte(2) & 0x3Fu);
    if (code != 0) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out += hex[(code >> shift) & 0xF];
        return;
    }
    if (c[0] == '"' || c[0] == '\\') out += '\\';
    out += c;
}

/// Appends a string as messages show it: quoted and escaped, and when it is
/// longer than limit bytes, its first characters that fit in limit bytes (a
/// character is never cut in two), an ellipsis and its length in bytes.
inline void append_display(std::string& out, std::string_view s, std::size_t limit = display_limit) {
    const bool cut = s.size() > limit;
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence_length(s.substr(i));
        const std::size_t step = n == 0 ? 1 : n;
        if (cut && i + step > limit) break;
        append_display_char(out, s.substr(i, step), n != 0);
        i += step;
    }
    out += '"';
    if (cut) {
        out += "\xE2\x80\xA6 (";  // U+2026, the ellipsis
        out += std::to_string(s.size());
        out += " bytes)";
    }
}

template <class T>
void append_display(std::string& out, const T& v, std::size_t limit = display_limit) {
    if constexpr (is_optional_v<T>) {
        if (v)
            append_display(out, *v, limit);
        else
            out += "NULL";
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        // Strings, and the string literals a lookup key may be given as.
        append_display(out, std::string_view(v), limit);
    } else if constexpr (std::is_same_v<T, bool>) {
        out += v ? "true" : "false";
    } else if constexpr (std::is_enum_v<T>) {
        append_display(out, static_cast<std::underlying_type_t<T>>(v), limit);
    } else if constexpr (std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t> ||
                         std::is_same_v<T, char>) {
        out += std::to_string(static_cast<int>(v));
    } else {
        // Numbers are never cut. to_chars gives the shortest text that reads
        // back as the same value, whatever the global locale (a stream would
        // write 1234567.5 as "1.234.567,5" under de_DE).
        char text[64];
        const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
        out.append(text, ec == std::errc{} ? end : text);
    }
}

/// Renders a value as error messages show it: strings quoted, escaped and cut
/// after limit bytes, null as NULL, tuples as (a, b), numbers exactly.
template <class T>
std::string display(const T& v, std::size_t limit = display_limit) {
    std::string out;
    if constexpr (requires { std::tuple_size<T>::value; }) {
        out += '(';
        std::apply(
            [&](const auto&... xs) {
                bool first = true;
                ((out += first ? "" : ", ", first = false, append_display(out, xs, limit)), ...);
            },
            v);
        out += ')';
    } else {
        append_display(out, v, limit);
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
/// The type must be an aggregate without base classes, and the list must name
/// every member (in any order): a member left out would be silently dropped
/// by snapshots and the CLI, so it is a compile error.
#define RELSTORE_FIELDS(Row, ...)                                                                        \
    [[maybe_unused]] inline constexpr auto relstore_fields(::relstore::detail::type_tag<Row>) {        \
        return ::relstore::detail::make_fields<Row>(                                                    \
            BOOST_PP_SEQ_FOR_EACH_I(RELSTORE_DETAIL_FIELD, Row, BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__)));   \
    }                                                                                                   \
    static_assert(::relstore::detail::countable_row<Row>() || !::std::is_aggregate_v<Row>,              \
                  "relstore: RELSTORE_FIELDS(" #Row ", ...): " #Row " has a base class, whose members "     \
                  "relstore cannot count to check the list; declare every column in " #Row " itself");     \
    static_assert(::std::is_aggregate_v<Row>,                                                           \
                  "relstore: RELSTORE_FIELDS(" #Row ", ...): " #Row " is not an aggregate (it declares a " \
                  "constructor, or has private members or virtual functions), so relstore cannot check "    \
                  "that the list names every member; make it a plain struct");                             \
    static_assert(::relstore::detail::distinct_names(relstore_fields(::relstore::detail::type_tag<Row>{})), \
                  "relstore: RELSTORE_FIELDS(" #Row ", ...) lists a member twice; list each member once");  \
    static_assert(::relstore::detail::members_of<Row, ::relstore::detail::member_count<Row,                \
                      BOOST_PP_VARIADIC_SIZE(__VA_ARGS__)>()>::count == BOOST_PP_VARIADIC_SIZE(__VA_ARGS__), \
                  "relstore: RELSTORE_FIELDS(" #Row ", ...) does not list every member of " #Row            \
                  " (it lists " BOOST_PP_STRINGIZE(BOOST_PP_VARIADIC_SIZE(__VA_ARGS__)) "); list every "    \
                  "member (snapshots and the CLI would silently drop the others)");                        \
    template <class Archive>                                                                            \
    [[maybe_unused]] void serialize(Archive& ar, Row& row, const unsigned int /*version*/) {           \
        ar BOOST_PP_SEQ_FOR_EACH(RELSTORE_DETAIL_NVP, row, BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__));      \
    }
