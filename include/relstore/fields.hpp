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

#include <relstore/column_traits.hpp>
#include <relstore/detail/compact_serialization.hpp>

#include <chrono>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>

namespace relstore {

/// The value types a column may hold; a nullable column is a std::optional of one.
/// Kinds 1 to 12 are those of snapshot format version 1's first files; later
/// kinds were added after them, so a file that uses none of them is what an
/// older relstore wrote and reads.
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
    timestamp,    ///< a std::chrono::sys_time: an integer count of ticks since 1970-01-01T00:00:00 UTC
    duration,     ///< a std::chrono::duration: an integer count of ticks
    blob,         ///< std::vector<std::byte>
    enumeration,  ///< an enum described by RELSTORE_ENUM: its underlying integer, and the names of its values
};

/// The stored type of a column: its kind and whether it may be null, and for
/// the kinds that need them, how a value is counted and named.
struct column_type {
    column_kind kind{};
    bool nullable = false;
    /// timestamp, duration and enumeration: the integer kind a value is stored
    /// as (its count of ticks, or the enum's underlying type).
    column_kind rep{};
    /// timestamp and duration: one tick is num/den seconds (a std::ratio, in
    /// lowest terms), so that milliseconds are never read back as seconds.
    std::uint64_t num = 0;
    std::uint64_t den = 0;
    /// enumeration: the enum's name and the names of its values.
    const enum_labels* labels = nullptr;
    /// Keeps *labels alive when they were read from a snapshot; a program's
    /// own labels are static (RELSTORE_ENUM) and need no owner.
    std::shared_ptr<const void> labels_owner;

    column_type() = default;
    /// A column type; constexpr, so that column_type_of is constant-initialized
    /// (a class with a std::shared_ptr is not a literal type, but a constexpr
    /// constructor still initializes it statically).
    constexpr column_type(column_kind k, bool is_nullable, column_kind count = {}, std::uint64_t tick_num = 0,
                          std::uint64_t tick_den = 0, const enum_labels* names = nullptr) noexcept
        : kind(k), nullable(is_nullable), rep(count), num(tick_num), den(tick_den), labels(names) {}
    /// A column type that is not nullable. Explicit: a kind is not a type.
    constexpr explicit column_type(column_kind k) noexcept : column_type(k, false) {}

    /// Equal types: the same kind, nullability, count and names (not the same owner).
    friend bool operator==(const column_type& a, const column_type& b) noexcept {
        return a.kind == b.kind && a.nullable == b.nullable && a.rep == b.rep && a.num == b.num && a.den == b.den &&
               (a.labels == b.labels || (a.labels != nullptr && b.labels != nullptr && *a.labels == *b.labels));
    }
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
    case column_kind::timestamp: return "timestamp";
    case column_kind::duration: return "duration";
    case column_kind::blob: return "blob";
    case column_kind::enumeration: return "enum";
    }
    return "unknown";
}

/// True for the kinds int8 to uint64.
[[nodiscard]] constexpr bool is_integer_kind(column_kind k) noexcept {
    return k >= column_kind::int8 && k <= column_kind::uint64;
}

/// True for the kinds int8 to int64.
[[nodiscard]] constexpr bool is_signed_kind(column_kind k) noexcept {
    return k >= column_kind::int8 && k <= column_kind::int64;
}

namespace detail {

/// The suffix C++20's chrono writes after a count of ticks of num/den seconds
/// ("ms", "min", "d"...), or an empty view for a period that has none.
[[nodiscard]] constexpr std::string_view period_suffix(std::uint64_t num, std::uint64_t den) noexcept {
    struct named {
        std::uint64_t num, den;
        std::string_view suffix;
    };
    constexpr std::uint64_t e3 = 1000, e6 = e3 * e3, e9 = e6 * e3, e12 = e9 * e3, e15 = e12 * e3, e18 = e15 * e3;
    constexpr named table[] = {
        {1, e18, "as"},  {1, e15, "fs"},  {1, e12, "ps"},  {1, e9, "ns"},   {1, e6, "\xC2\xB5s"}, {1, e3, "ms"},
        {1, 100, "cs"},  {1, 10, "ds"},   {1, 1, "s"},     {10, 1, "das"},  {100, 1, "hs"},     {e3, 1, "ks"},
        {e6, 1, "Ms"},   {e9, 1, "Gs"},   {e12, 1, "Ts"},  {e15, 1, "Ps"},  {e18, 1, "Es"},     {60, 1, "min"},
        {3600, 1, "h"},  {86400, 1, "d"},
    };
    for (const auto& n : table)
        if (n.num == num && n.den == den) return n.suffix;
    return {};
}

}  // namespace detail

/// The name of a column type as schemas and messages show it: "int64",
/// "string?", "timestamp[ms]", "duration[min, int32]" (the count's type when
/// it is not int64), "duration[1/60 s]", "enum Color : uint8", "blob".
[[nodiscard]] inline std::string to_string(const column_type& t) {
    std::string s;
    switch (t.kind) {
    case column_kind::timestamp:
    case column_kind::duration: {
        s = std::string(to_string(t.kind)) + '[';
        const auto suffix = detail::period_suffix(t.num, t.den);
        if (!suffix.empty())
            s += suffix;
        else if (t.den == 1)
            s += std::to_string(t.num) + " s";
        else
            s += std::to_string(t.num) + '/' + std::to_string(t.den) + " s";
        if (t.rep != column_kind::int64) s += ", " + std::string(to_string(t.rep));
        s += ']';
        break;
    }
    case column_kind::enumeration:
        s = "enum " + std::string(t.labels != nullptr ? t.labels->name : "?") + " : " +
            std::string(to_string(t.rep));
        break;
    default: s = std::string(to_string(t.kind));
    }
    if (t.nullable) s += '?';
    return s;
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

/// How a C++ type is stored: its kind, and for the kinds that have them its
/// count type, tick period and value names (column_type without nullability).
struct stored_form {
    column_kind kind{};
    column_kind rep{};
    std::uint64_t num = 0;
    std::uint64_t den = 0;
    const enum_labels* labels = nullptr;
};

/// The kind of an integer type other than bool.
template <class I>
constexpr column_kind integer_kind() noexcept {
    constexpr std::size_t at = sizeof(I) == 1 ? 0 : sizeof(I) == 2 ? 1 : sizeof(I) == 4 ? 2 : 3;
    constexpr column_kind signed_kinds[] = {column_kind::int8, column_kind::int16, column_kind::int32,
                                            column_kind::int64};
    constexpr column_kind unsigned_kinds[] = {column_kind::uint8, column_kind::uint16, column_kind::uint32,
                                              column_kind::uint64};
    return std::is_signed_v<I> ? signed_kinds[at] : unsigned_kinds[at];
}

template <class T>
inline constexpr bool is_integer_v = std::is_integral_v<T> && !std::is_same_v<T, bool>;

/// The form of a type relstore stores itself, or nullopt.
template <class T>
constexpr std::optional<stored_form> builtin_form() noexcept {
    if constexpr (std::is_same_v<T, bool>) {
        return stored_form{column_kind::boolean};
    } else if constexpr (std::is_enum_v<T> && !has_column_traits<T>) {
        // An enum with column_traits is stored as they say (a name as a string, say).
        if constexpr (described_enum<T> && is_integer_v<std::underlying_type_t<T>>)
            return stored_form{column_kind::enumeration, integer_kind<std::underlying_type_t<T>>(), 0, 0,
                               &enum_labels_of<T>};
        else
            return builtin_form<std::underlying_type_t<T>>();
    } else if constexpr (is_string_column_v<T>) {
        // relstore::text is a string column: the same cells, so files load into either type.
        return stored_form{column_kind::string};
    } else if constexpr (is_integer_v<T>) {
        return stored_form{integer_kind<T>()};
    } else if constexpr (std::is_same_v<T, float>) {
        return stored_form{column_kind::float32};
    } else if constexpr (std::is_same_v<T, double>) {
        return stored_form{column_kind::float64};
    } else if constexpr (is_blob_column_v<T>) {
        return stored_form{column_kind::blob};
    } else if constexpr (is_sys_time<T>::value) {
        using D = typename T::duration;
        if constexpr (is_integer_v<typename D::rep>)
            return stored_form{column_kind::timestamp, integer_kind<typename D::rep>(),
                               static_cast<std::uint64_t>(D::period::num), static_cast<std::uint64_t>(D::period::den)};
        else
            return std::nullopt;
    } else if constexpr (is_duration<T>::value) {
        if constexpr (is_integer_v<typename T::rep>)
            return stored_form{column_kind::duration, integer_kind<typename T::rep>(),
                               static_cast<std::uint64_t>(T::period::num), static_cast<std::uint64_t>(T::period::den)};
        else
            return std::nullopt;
    } else {
        return std::nullopt;
    }
}

/// What keeps a type from being a column type, if anything; one static_assert
/// sentence per problem (field_type_check).
enum class column_problem : std::uint8_t {
    none,
    not_a_column_type,  // neither built in nor with column_traits
    other_clock,        // a time_point of a clock other than system_clock
    float_count,        // a duration or time point with a floating-point count
    traits_incomplete,  // column_traits without stored_type, to_stored or from_stored
    traits_stored,      // column_traits whose stored_type is not a built-in column type
    traits_compare,     // a column_traits type that is not comparable, ordered and default constructible
    nested_optional,    // std::optional<std::optional<T>>
};

template <class T>
constexpr column_problem problem_of() noexcept {
    if constexpr (is_optional_v<T>) {
        return column_problem::nested_optional;
    } else if constexpr (builtin_form<T>().has_value()) {
        return column_problem::none;
    } else if constexpr (is_time_point<T>::value && !is_sys_time<T>::value) {
        return column_problem::other_clock;
    } else if constexpr (is_time_point<T>::value || is_duration<T>::value) {
        return column_problem::float_count;
    } else if constexpr (!has_column_traits<T>) {
        return column_problem::not_a_column_type;
    } else if constexpr (!declares_column_traits<T>) {
        return column_problem::traits_incomplete;
    } else if constexpr (!builtin_form<typename column_traits<T>::stored_type>().has_value()) {
        return column_problem::traits_stored;
    } else if constexpr (!std::totally_ordered<T> || !std::is_default_constructible_v<T>) {
        return column_problem::traits_compare;
    } else {
        return column_problem::none;
    }
}

/// True for a type stored through its column_traits.
template <class T>
concept user_column = !builtin_form<T>().has_value() && problem_of<T>() == column_problem::none;

/// How a column type is stored, or nullopt when it is not a column type.
template <class T>
constexpr std::optional<stored_form> stored_form_of() noexcept {
    if constexpr (problem_of<T>() != column_problem::none)
        return std::nullopt;
    else if constexpr (user_column<T>)
        return builtin_form<typename column_traits<T>::stored_type>();
    else
        return builtin_form<T>();
}

template <class T>
inline constexpr stored_form stored_form_v = *stored_form_of<T>();

}  // namespace detail

/// A type a column may have: bool, an integer, an enum, float, double,
/// std::string or relstore::text, std::vector<std::byte> or relstore::bytes
/// (a blob), a std::chrono::sys_time or
/// duration with an integer count, a type with a relstore::column_traits
/// specialization, or a std::optional of one of those.
template <class T>
concept column_value = detail::stored_form_of<detail::unwrap_optional_t<T>>().has_value();

/// The column type of a C++ type. Constant-initialized: a schema built
/// during static initialization sees it whole.
template <column_value T>
inline constinit const column_type column_type_of{
    detail::stored_form_v<detail::unwrap_optional_t<T>>.kind, detail::is_optional_v<T>,
    detail::stored_form_v<detail::unwrap_optional_t<T>>.rep, detail::stored_form_v<detail::unwrap_optional_t<T>>.num,
    detail::stored_form_v<detail::unwrap_optional_t<T>>.den, detail::stored_form_v<detail::unwrap_optional_t<T>>.labels};

namespace detail {

/// Checks the type of one field named in RELSTORE_FIELDS. The static_asserts
/// live in a class template so that the compiler's message names the row and
/// the field's type: "In instantiation of field_type_check<Shape, Point>".
template <class Row, class Value>
struct field_type_check {
    static constexpr column_problem problem = problem_of<unwrap_optional_t<Value>>();
    static_assert(problem != column_problem::not_a_column_type,
                  "relstore: every field named in RELSTORE_FIELDS must be a column type: bool, an integer, an enum, "
                  "float, double, std::string or relstore::text, std::vector<std::byte> or relstore::bytes, a "
                  "std::chrono::sys_time or duration, or "
                  "std::optional of one of those; for a type of your own, specialize relstore::column_traits<T> "
                  "(relstore/column_traits.hpp) to store it as one of them");
    static_assert(problem != column_problem::other_clock,
                  "relstore: a time_point column must be a std::chrono::sys_time (of system_clock): another clock's "
                  "epoch means nothing to another process or machine; convert it to sys_time, or store a duration");
    static_assert(problem != column_problem::float_count,
                  "relstore: a duration or time_point column needs an integer count (a floating-point count can be "
                  "NaN, which no index can find); use an integer duration such as std::chrono::microseconds");
    static_assert(problem != column_problem::traits_incomplete,
                  "relstore: relstore::column_traits<T> of a column type must declare stored_type (a built-in column "
                  "type), static stored_type to_stored(const T&) and static T from_stored(const stored_type&)");
    static_assert(problem != column_problem::traits_stored,
                  "relstore: relstore::column_traits<T>::stored_type must be a built-in column type (bool, an "
                  "integer, an enum, float, double, std::string, relstore::text, std::vector<std::byte>, "
                  "relstore::bytes, a std::chrono::sys_time or "
                  "duration), not a std::optional or another column_traits type");
    static_assert(problem != column_problem::traits_compare,
                  "relstore: a column_traits type must be equality comparable and ordered, and default "
                  "constructible: keys, indexes and change notifications compare it, and loads value-initialize "
                  "rows; declare friend auto operator<=>(const T&, const T&) = default;");
    static_assert(problem != column_problem::nested_optional,
                  "relstore: a column is nullable through one std::optional; std::optional<std::optional<T>> is not "
                  "a column type");
    static constexpr bool ok = problem == column_problem::none;
};

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
    // Instantiates each field's check, whose own static_assert names the problem.
    [[maybe_unused]] constexpr bool checked = (field_type_check<Row, Values>::ok && ...);
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

/// Appends an integer (or another number) exactly, whatever the global locale.
template <class N>
void append_number(std::string& out, N v) {
    if constexpr (sizeof(N) == 1 && std::is_integral_v<N>) {
        out += std::to_string(static_cast<int>(v));  // not as a character
    } else {
        // to_chars gives the shortest text that reads back as the same value,
        // whatever the global locale (a stream would write 1234567.5 as
        // "1.234.567,5" under de_DE).
        char text[64];
        const auto [end, ec] = std::to_chars(text, text + sizeof text, v);
        out.append(text, ec == std::errc{} ? end : text);
    }
}

/// Appends a count of ticks of num/den seconds as C++20's chrono writes a
/// duration: "1500ms", "5min", "90[1/60]s", "2[604800]s".
template <class N>
void append_duration(std::string& out, N count, std::uint64_t num, std::uint64_t den) {
    append_number(out, count);
    const auto suffix = period_suffix(num, den);
    if (!suffix.empty()) {
        out += suffix;
        return;
    }
    out += '[' + std::to_string(num);
    if (den != 1) out += '/' + std::to_string(den);
    out += "]s";
}

/// Appends a time count ticks of num/den seconds after 1970-01-01T00:00:00
/// UTC in ISO 8601, to the precision of its period ("2024-03-05T12:34:56.789Z"
/// for milliseconds). A time the calendar cannot hold (past year +-32767, or
/// whose period is not a whole number of seconds or a decimal fraction of
/// one) is shown as the epoch plus a duration: "1970-01-01T00:00:00Z + 90[1/60]s".
template <class N>
void append_timestamp(std::string& out, N count, std::uint64_t num, std::uint64_t den) {
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    const auto fallback = [&] {
        std::string d;
        append_duration(d, count, num, den);
        out += "1970-01-01T00:00:00Z ";
        out += d[0] == '-' ? "- " + d.substr(1) : "+ " + d;
    };
    if (count > static_cast<N>(max > std::numeric_limits<N>::max() ? std::numeric_limits<N>::max() : max) ||
        num > static_cast<std::uint64_t>(max) || den > static_cast<std::uint64_t>(max))
        return fallback();
    const auto ticks = static_cast<std::int64_t>(count);
    // Seconds since the epoch, and the fraction of a second in `digits` decimals.
    std::int64_t seconds = 0, fraction = 0;
    int digits = 0;
    if (den == 1) {
        if (__builtin_mul_overflow(ticks, static_cast<std::int64_t>(num), &seconds)) return fallback();
    } else {
        std::int64_t p = 1;
        while (p < static_cast<std::int64_t>(den) && digits < 18) p *= 10, ++digits;
        if (num != 1 || p != static_cast<std::int64_t>(den)) return fallback();
        seconds = ticks / p;
        fraction = ticks % p;
        if (fraction < 0) --seconds, fraction += p;  // floor: the fraction counts forward
    }
    std::int64_t day = seconds / 86400, second = seconds % 86400;
    if (second < 0) --day, second += 86400;
    if (day < -11'000'000 || day > 11'000'000) return fallback();  // past year_month_day's years
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
    const auto pad = [&](long long v, int width) {
        const std::string t = std::to_string(v);
        if (static_cast<int>(t.size()) < width) out.append(static_cast<std::size_t>(width) - t.size(), '0');
        out += t;
    };
    const int year = static_cast<int>(ymd.year());
    if (year < 0) out += '-';
    else if (year > 9999) out += '+';  // ISO 8601's expanded years
    pad(year < 0 ? -year : year, 4);
    out += '-';
    pad(static_cast<unsigned>(ymd.month()), 2);
    out += '-';
    pad(static_cast<unsigned>(ymd.day()), 2);
    out += 'T';
    pad(second / 3600, 2);
    out += ':';
    pad(second / 60 % 60, 2);
    out += ':';
    pad(second % 60, 2);
    if (digits > 0) {
        out += '.';
        pad(fraction, digits);
    }
    out += 'Z';
}

/// Appends bytes as two lowercase hex digits each.
inline void append_hex(std::string& out, std::span<const std::byte> b) {
    constexpr char hex[] = "0123456789abcdef";
    for (const auto x : b) {
        const auto c = static_cast<unsigned>(x);
        out += hex[c >> 4];
        out += hex[c & 0xF];
    }
}

/// Appends bytes as messages show a blob: x'00ff10', and when there are more
/// than limit / 2 of them (as many hex digits as a string shows bytes), the
/// first ones, an ellipsis and the length.
inline void append_blob(std::string& out, std::span<const std::byte> b, std::size_t limit) {
    const bool cut = b.size() > limit / 2;
    out += "x'";
    append_hex(out, cut ? b.first(limit / 2) : b);
    out += '\'';
    if (cut) {
        out += "\xE2\x80\xA6 (";  // U+2026, the ellipsis
        out += std::to_string(b.size());
        out += " bytes)";
    }
}

/// True for the values a blob column is given: blobs, byte spans and arrays.
template <class T>
inline constexpr bool is_byte_range_v = std::is_convertible_v<const T&, std::span<const std::byte>>;

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
    } else if constexpr (is_byte_range_v<T>) {
        append_blob(out, std::span<const std::byte>(v), limit);
    } else if constexpr (user_column<T>) {
        append_display(out, column_traits<T>::to_stored(v), limit);  // shown as it is stored
    } else if constexpr (described_enum<T>) {
        const auto name = enum_labels_of<T>.name_of(integer_bits(static_cast<std::underlying_type_t<T>>(v)));
        if (name.empty())
            append_number(out, static_cast<std::underlying_type_t<T>>(v));
        else
            out += name;
    } else if constexpr (std::is_enum_v<T>) {
        append_display(out, static_cast<std::underlying_type_t<T>>(v), limit);
    } else if constexpr (is_time_point<T>::value) {
        if constexpr (is_sys_time<T>::value && is_integer_v<typename T::rep>) {
            append_timestamp(out, v.time_since_epoch().count(), static_cast<std::uint64_t>(T::period::num),
                             static_cast<std::uint64_t>(T::period::den));
        } else {
            // Another clock's, or a floating-point count: only a lookup value can be one.
            out += "time point ";
            append_display(out, v.time_since_epoch(), limit);
            out += " after its clock's epoch";
        }
    } else if constexpr (is_duration<T>::value) {
        append_duration(out, v.count(), static_cast<std::uint64_t>(T::period::num),
                        static_cast<std::uint64_t>(T::period::den));
    } else {
        append_number(out, v);  // numbers are never cut
    }
}

/// Renders a value as error messages show it: strings quoted, escaped and cut
/// after limit bytes, null as NULL, tuples as (a, b), numbers exactly,
/// timestamps in ISO 8601 UTC, durations with their unit, blobs in hex (cut
/// after limit / 2 bytes), described enums by name, and column_traits types
/// as their stored value.
template <class T>
std::string display(const T& v, std::size_t limit = display_limit) {
    std::string out;
    if constexpr (!is_byte_range_v<T> && requires { std::tuple_size<T>::value; }) {
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
