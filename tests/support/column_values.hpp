#pragma once
// Column value types that the column-type tests of every layer (core, io,
// snapshot) use: time points and durations, blobs, an enum described by
// RELSTORE_ENUM (with one value left out of the description) beside one that
// is not, and column_traits types stored as an int64 (Money) and as a 16-byte
// blob (Uuid). Each test's schema takes the names it needs with using
// declarations, so that its own namespace reads as before.

#include <relstore/relstore.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace relstore_test::values {

using ms_time = std::chrono::sys_time<std::chrono::milliseconds>;
using bytes = std::vector<std::byte>;
using int32_minutes = std::chrono::duration<std::int32_t, std::ratio<60>>;

enum class Color : std::uint8_t { red, green, blue, violet };
RELSTORE_ENUM(Color, red, green, blue)  // violet is left out: it is stored and shown as its number, 3

enum class Mood : std::int16_t { sad = -1, calm = 0, glad = 1 };  // not described: an int16 column

/// Cents, stored as an int64.
struct Money {
    std::int64_t cents{};
    friend auto operator<=>(const Money&, const Money&) = default;
};

/// A UUID, stored as a 16-byte blob.
struct Uuid {
    std::array<std::byte, 16> bytes{};
    friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

inline Uuid uuid(unsigned char last) {
    Uuid u;
    u.bytes[0] = std::byte{0xAB};
    u.bytes[15] = std::byte{last};
    return u;
}

inline bytes blob(std::initializer_list<unsigned char> b) {
    bytes out;
    for (const auto c : b) out.push_back(std::byte{c});
    return out;
}

}  // namespace relstore_test::values

template <>
struct relstore::column_traits<relstore_test::values::Money> {
    using stored_type = std::int64_t;
    static stored_type to_stored(const relstore_test::values::Money& m) noexcept { return m.cents; }
    static relstore_test::values::Money from_stored(stored_type cents) noexcept { return {cents}; }
};

template <>
struct relstore::column_traits<relstore_test::values::Uuid> {
    using stored_type = std::vector<std::byte>;
    static stored_type to_stored(const relstore_test::values::Uuid& u) { return {u.bytes.begin(), u.bytes.end()}; }
    static relstore_test::values::Uuid from_stored(const stored_type& b) {
        if (b.size() != 16) throw std::invalid_argument("a UUID has 16 bytes, not " + std::to_string(b.size()));
        relstore_test::values::Uuid u;
        std::copy(b.begin(), b.end(), u.bytes.begin());
        return u;
    }
};
