#pragma once
/// @file text.hpp
/// relstore::text, the compact string column type: 16 bytes in the row
/// against std::string's 32, strings up to 15 bytes inline, longer ones in a
/// heap block of exactly their length. Opt-in: a row that keeps std::string
/// works unchanged, and a text column is a "string" column in snapshots, so
/// files load into either.

#include <relstore/detail/compact_rep.hpp>

#include <compare>
#include <concepts>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <type_traits>

namespace relstore {

/// An immutable string value of 16 bytes: up to inline_capacity (15) bytes
/// inline, longer ones in a heap block of exactly their length (std::string
/// is 32 bytes and rounds its block up with capacity and a NUL). It converts
/// implicitly from and to std::string_view, compares and hashes as that view,
/// so indexes over a text column are looked up by std::string_view or
/// const char* without building a text. Copying a long text allocates;
/// moving never does (the moved-from text is empty). To change a value,
/// assign a new one. data() is not NUL-terminated: use str() for a C string.
class text {
public:
    using value_type = char;
    using size_type = std::size_t;
    using const_iterator = const char*;
    using iterator = const_iterator;
    /// Values up to this many bytes are kept inside the 16 bytes.
    static constexpr size_type inline_capacity = detail::compact_rep::inline_capacity;

    /// The empty text.
    constexpr text() noexcept = default;
    /// A copy of s's bytes. @throws std::bad_alloc beyond inline_capacity bytes
    text(std::string_view s) : rep_(s.data(), s.size()) {}
    /// A copy of a C string (a string literal: `text t = "abc";`).
    text(const char* s) : text(std::string_view(s)) {}
    /// A copy of anything else that converts to std::string_view (std::string...).
    template <class S>
        requires(std::is_convertible_v<const S&, std::string_view> && !std::is_same_v<S, text> &&
                 !std::is_same_v<S, std::string_view> && !std::is_convertible_v<const S&, const char*>)
    text(const S& s) : text(std::string_view(s)) {}
    text(std::nullptr_t) = delete;  // as std::string_view(nullptr): not a string

    /// The bytes, valid while this text lives unchanged.
    [[nodiscard]] std::string_view view() const noexcept {
        return {reinterpret_cast<const char*>(rep_.data()), rep_.size()};
    }
    operator std::string_view() const noexcept { return view(); }
    /// A std::string copy (explicit: it allocates). std::string(t) works too.
    [[nodiscard]] std::string str() const { return std::string(view()); }

    [[nodiscard]] const char* data() const noexcept { return reinterpret_cast<const char*>(rep_.data()); }
    [[nodiscard]] size_type size() const noexcept { return rep_.size(); }
    [[nodiscard]] size_type length() const noexcept { return rep_.size(); }
    [[nodiscard]] bool empty() const noexcept { return rep_.size() == 0; }
    [[nodiscard]] const_iterator begin() const noexcept { return data(); }
    [[nodiscard]] const_iterator end() const noexcept { return data() + size(); }
    /// The byte at i (unchecked, as std::string_view's).
    [[nodiscard]] char operator[](size_type i) const noexcept { return data()[i]; }
    /// True when the value is kept inline (no heap block).
    [[nodiscard]] bool is_inline() const noexcept { return !rep_.on_heap(); }

    void swap(text& o) noexcept { rep_.swap(o.rep_); }
    friend void swap(text& a, text& b) noexcept { a.swap(b); }

    // Compared as std::string_view compares (bytes as unsigned char), with
    // views, strings and C strings too, without converting them to text.
    friend bool operator==(const text& a, const text& b) noexcept { return a.view() == b.view(); }
    friend std::strong_ordering operator<=>(const text& a, const text& b) noexcept { return a.view() <=> b.view(); }
    friend bool operator==(const text& a, std::string_view b) noexcept { return a.view() == b; }
    friend std::strong_ordering operator<=>(const text& a, std::string_view b) noexcept { return a.view() <=> b; }
    friend bool operator==(const text& a, const std::string& b) noexcept { return a.view() == std::string_view(b); }
    friend std::strong_ordering operator<=>(const text& a, const std::string& b) noexcept {
        return a.view() <=> std::string_view(b);
    }
    friend bool operator==(const text& a, const char* b) noexcept { return a.view() == std::string_view(b); }
    friend std::strong_ordering operator<=>(const text& a, const char* b) noexcept {
        return a.view() <=> std::string_view(b);
    }

    /// Writes the bytes, as for a std::string_view (width and fill apply).
    template <class Traits>
    friend std::basic_ostream<char, Traits>& operator<<(std::basic_ostream<char, Traits>& os, const text& t) {
        return os << t.view();
    }

private:
    detail::compact_rep rep_;
};

static_assert(sizeof(text) == 16);
static_assert(std::is_nothrow_move_constructible_v<text> && std::is_nothrow_move_assignable_v<text>);

}  // namespace relstore

/// Hashes as the std::string_view of the same bytes, so that heterogeneous
/// lookups by a view find the text.
template <>
struct std::hash<relstore::text> {
    std::size_t operator()(const relstore::text& t) const noexcept { return std::hash<std::string_view>{}(t.view()); }
};

// text and std::string_view convert to each other, so the ternary that
// std::common_reference tries is ambiguous; their common reference is the
// view (what both compare as), which std::equality_comparable_with and
// std::three_way_comparable_with (std::optional<text> == a view) ask for.
template <template <class> class TQ, template <class> class UQ>
struct std::basic_common_reference<relstore::text, std::string_view, TQ, UQ> {
    using type = std::string_view;
};
template <template <class> class TQ, template <class> class UQ>
struct std::basic_common_reference<std::string_view, relstore::text, TQ, UQ> {
    using type = std::string_view;
};
template <>
struct std::common_type<relstore::text, std::string_view> {
    using type = std::string_view;
};
template <>
struct std::common_type<std::string_view, relstore::text> {
    using type = std::string_view;
};
