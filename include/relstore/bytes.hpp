#pragma once
/// @file bytes.hpp
/// relstore::bytes, the compact blob column type: relstore::text's 16-byte
/// representation for bytes that are not text (a "blob" column in snapshots,
/// shown in hex where a string is shown quoted). std::vector<std::byte> is 24
/// bytes in the row and always allocates; bytes keeps up to 15 inline.

#include <relstore/detail/compact_rep.hpp>

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstring>
#include <functional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace relstore {

/// An immutable sequence of bytes of 16 bytes: up to inline_capacity (15)
/// bytes inline, longer ones in a heap block of exactly their length. It
/// converts implicitly from and to std::span<const std::byte> (so from a
/// std::vector<std::byte> or a std::array of bytes), and compares and hashes
/// as its bytes, so a blob index is looked up by a span without building a
/// value. Copying a long value allocates; moving never does (the moved-from
/// value is empty).
class bytes {
public:
    using value_type = std::byte;
    using size_type = std::size_t;
    using const_iterator = const std::byte*;
    using iterator = const_iterator;
    /// Values up to this many bytes are kept inside the 16 bytes.
    static constexpr size_type inline_capacity = detail::compact_rep::inline_capacity;

    /// The empty value.
    constexpr bytes() noexcept = default;
    /// A copy of b. @throws std::bad_alloc beyond inline_capacity bytes
    bytes(std::span<const std::byte> b) : rep_(b.data(), b.size()) {}
    /// A copy of anything else that converts to std::span<const std::byte>.
    template <class B>
        requires(std::is_convertible_v<const B&, std::span<const std::byte>> && !std::is_same_v<B, bytes> &&
                 !std::is_same_v<B, std::span<const std::byte>>)
    bytes(const B& b) : bytes(std::span<const std::byte>(b)) {}

    /// The bytes, valid while this value lives unchanged.
    [[nodiscard]] std::span<const std::byte> span() const noexcept { return {data(), size()}; }
    // No conversion operator: std::span's own constructor from a contiguous
    // range takes a bytes implicitly, and a second path would be ambiguous.
    /// A std::vector<std::byte> copy.
    [[nodiscard]] std::vector<std::byte> vec() const { return {begin(), end()}; }

    [[nodiscard]] const std::byte* data() const noexcept { return reinterpret_cast<const std::byte*>(rep_.data()); }
    [[nodiscard]] size_type size() const noexcept { return rep_.size(); }
    [[nodiscard]] bool empty() const noexcept { return rep_.size() == 0; }
    [[nodiscard]] const_iterator begin() const noexcept { return data(); }
    [[nodiscard]] const_iterator end() const noexcept { return data() + size(); }
    /// The byte at i (unchecked).
    [[nodiscard]] std::byte operator[](size_type i) const noexcept { return data()[i]; }
    /// True when the value is kept inline (no heap block).
    [[nodiscard]] bool is_inline() const noexcept { return !rep_.on_heap(); }

    void swap(bytes& o) noexcept { rep_.swap(o.rep_); }
    friend void swap(bytes& a, bytes& b) noexcept { a.swap(b); }

    // Compared byte by byte as unsigned values, shorter first on a common
    // prefix: the order of std::vector<std::byte>, so an index orders a bytes
    // column as it orders a blob column.
    friend bool operator==(const bytes& a, const bytes& b) noexcept { return equal(a.span(), b.span()); }
    friend std::strong_ordering operator<=>(const bytes& a, const bytes& b) noexcept {
        return compare(a.span(), b.span());
    }
    friend bool operator==(const bytes& a, std::span<const std::byte> b) noexcept { return equal(a.span(), b); }
    friend std::strong_ordering operator<=>(const bytes& a, std::span<const std::byte> b) noexcept {
        return compare(a.span(), b);
    }
    friend bool operator==(const bytes& a, const std::vector<std::byte>& b) noexcept { return equal(a.span(), b); }
    friend std::strong_ordering operator<=>(const bytes& a, const std::vector<std::byte>& b) noexcept {
        return compare(a.span(), b);
    }

private:
    static bool equal(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
        return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
    }
    static std::strong_ordering compare(std::span<const std::byte> a, std::span<const std::byte> b) noexcept {
        const std::size_t n = std::min(a.size(), b.size());
        const int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);  // memcmp compares as unsigned char
        if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
        return a.size() <=> b.size();
    }

    detail::compact_rep rep_;
};

static_assert(sizeof(bytes) == 16);
static_assert(std::is_nothrow_move_constructible_v<bytes> && std::is_nothrow_move_assignable_v<bytes>);

}  // namespace relstore

/// Hashes the bytes as a std::string_view of them (as relstore hashes blobs).
template <>
struct std::hash<relstore::bytes> {
    std::size_t operator()(const relstore::bytes& b) const noexcept {
        return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
};

// bytes and std::span<const std::byte> convert to each other; their common
// reference is the span (see text.hpp for why this is spelled out).
template <template <class> class TQ, template <class> class UQ>
struct std::basic_common_reference<relstore::bytes, std::span<const std::byte>, TQ, UQ> {
    using type = std::span<const std::byte>;
};
template <template <class> class TQ, template <class> class UQ>
struct std::basic_common_reference<std::span<const std::byte>, relstore::bytes, TQ, UQ> {
    using type = std::span<const std::byte>;
};
template <>
struct std::common_type<relstore::bytes, std::span<const std::byte>> {
    using type = std::span<const std::byte>;
};
template <>
struct std::common_type<std::span<const std::byte>, relstore::bytes> {
    using type = std::span<const std::byte>;
};
