#pragma once
#include <algorithm>
#include <cstddef>
#include <string_view>

namespace relstore::detail {

/// A string usable as a template argument, so a table's name is part of its type.
template <std::size_t N>
struct fixed_string {
    char data[N]{};
    constexpr fixed_string(const char (&s)[N]) noexcept { std::copy_n(s, N, data); }  // NOLINT: implicit by design
    [[nodiscard]] constexpr std::string_view view() const noexcept { return {data, N - 1}; }
};

}  // namespace relstore::detail
