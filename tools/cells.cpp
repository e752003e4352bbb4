#include "cells.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

namespace relstore::tool {

namespace {

// Bits of an integer kind: int8 and uint8 are 8, ..., int64 and uint64 are 64.
unsigned bits_of(column_kind k) noexcept {
    const auto base = is_signed_kind(k) ? column_kind::int8 : column_kind::uint8;
    return 8u << (static_cast<unsigned>(k) - static_cast<unsigned>(base));
}

// Timestamps can be 64-bit counts of attoseconds or of days; ticks over
// seconds are computed exactly in 128 bits so no rounding decides a match.
__extension__ typedef __int128 wide;

template <class N>
bool parse_whole(std::string_view s, N& out) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
}

std::optional<value> parse_integer(column_kind rep, std::string_view s) {
    if (is_signed_kind(rep)) {
        std::int64_t n = 0;
        return parse_whole(s, n) ? integer_cell(rep, n) : std::nullopt;
    }
    std::uint64_t n = 0;
    return parse_whole(s, n) ? integer_cell(rep, n) : std::nullopt;
}

// "YYYY-MM-DD[THH:MM:SS[.fraction]][Z]" as ticks of num/den seconds; nullopt
// when the text is not one or the instant falls between two ticks.
std::optional<wide> parse_iso(std::string_view s, std::uint64_t num, std::uint64_t den) {
    const auto field = [&](std::size_t at, std::size_t len, int& out) {
        return at + len <= s.size() && parse_whole(s.substr(at, len), out) && s[at] != '+' && s[at] != '-';
    };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    if (!field(0, 4, y) || s.size() < 10 || s[4] != '-' || !field(5, 2, mo) || s[7] != '-' || !field(8, 2, d))
        return std::nullopt;
    const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                          std::chrono::day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    std::size_t at = 10;
    wide fraction = 0, scale = 1;
    if (at < s.size() && (s[at] == 'T' || s[at] == ' ')) {
        if (!field(at + 1, 2, h) || s.size() < at + 9 || s[at + 3] != ':' || !field(at + 4, 2, mi) ||
            s[at + 6] != ':' || !field(at + 7, 2, sec) || h > 23 || mi > 59 || sec > 59)
            return std::nullopt;
        at += 9;
        if (at < s.size() && s[at] == '.') {
            ++at;
            const std::size_t first = at;
            for (; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at) {
                if (at - first >= 18) return std::nullopt;
                fraction = fraction * 10 + (s[at] - '0');
                scale *= 10;
            }
            if (at == first) return std::nullopt;
        }
    }
    if (at < s.size() && s[at] == 'Z') ++at;
    if (at != s.size()) return std::nullopt;
    const wide seconds = wide{std::chrono::sys_days(ymd).time_since_epoch().count()} * 86400 + h * 3600 + mi * 60 + sec;
    const wide scaled = (seconds * scale + fraction) * static_cast<wide>(den);
    const wide per_tick = static_cast<wide>(num) * scale;
    if (scaled % per_tick != 0) return std::nullopt;
    return scaled / per_tick;
}

std::optional<value> wide_cell(column_kind rep, wide n) {
    if (n < 0) {
        if (n < std::numeric_limits<std::int64_t>::min()) return std::nullopt;
        return integer_cell(rep, static_cast<std::int64_t>(n));
    }
    if (n > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
    return integer_cell(rep, static_cast<std::uint64_t>(n));
}

std::optional<value> parse_known(const column_type& t, std::string_view s) {
    switch (t.kind) {
    case column_kind::boolean:
        if (s == "true" || s == "1") return value{true};
        if (s == "false" || s == "0") return value{false};
        return std::nullopt;
    case column_kind::float32:
    case column_kind::float64: {
        double d = 0;
        const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) {
            // dump prints infinities as Infinity, which from_chars does not take.
            if (s == "Infinity") d = std::numeric_limits<double>::infinity();
            else if (s == "-Infinity") d = -std::numeric_limits<double>::infinity();
            else return std::nullopt;
        }
        if (t.kind == column_kind::float32 && !std::isinf(d) && std::fabs(d) > std::numeric_limits<float>::max())
            return std::nullopt;  // beyond float's range: the conversion would be undefined
        return value{t.kind == column_kind::float32 ? static_cast<double>(static_cast<float>(d)) : d};
    }
    case column_kind::string: return value{std::string(s)};
    case column_kind::blob: {
        if (s.size() % 2 != 0) return std::nullopt;
        blob_value b;
        for (std::size_t i = 0; i < s.size(); i += 2) {
            unsigned byte = 0;
            const auto [p, ec] = std::from_chars(s.data() + i, s.data() + i + 2, byte, 16);
            if (ec != std::errc{} || p != s.data() + i + 2) return std::nullopt;
            b.push_back(static_cast<std::byte>(byte));
        }
        return value{std::move(b)};
    }
    case column_kind::timestamp:
        if (auto n = parse_integer(t.rep, s)) return n;
        if (const auto ticks = parse_iso(s, t.num, t.den)) return wide_cell(t.rep, *ticks);
        return std::nullopt;
    case column_kind::duration: {
        const auto suffix = detail::period_suffix(t.num, t.den);
        if (!suffix.empty() && s.size() > suffix.size() && s.ends_with(suffix)) s.remove_suffix(suffix.size());
        return parse_integer(t.rep, s);
    }
    case column_kind::enumeration:
        if (t.labels != nullptr)
            for (const auto& v : t.labels->values)
                if (v.name == s)
                    return is_signed_kind(t.rep) ? value{static_cast<std::int64_t>(v.value)} : value{v.value};
        return parse_integer(t.rep, s);
    default: return parse_integer(t.kind, s);
    }
}

}  // namespace

std::optional<column_kind> integer_rep(const column_type& t) noexcept {
    if (is_integer_kind(t.kind)) return t.kind;
    if (t.kind == column_kind::timestamp || t.kind == column_kind::duration || t.kind == column_kind::enumeration)
        return t.rep;
    return std::nullopt;
}

std::optional<value> integer_cell(column_kind rep, std::int64_t n) noexcept {
    const unsigned bits = bits_of(rep);
    if (is_signed_kind(rep)) {
        if (bits < 64 && (n < -(std::int64_t{1} << (bits - 1)) || n >= (std::int64_t{1} << (bits - 1))))
            return std::nullopt;
        return value{n};
    }
    if (n < 0) return std::nullopt;
    return integer_cell(rep, static_cast<std::uint64_t>(n));
}

std::optional<value> integer_cell(column_kind rep, std::uint64_t n) noexcept {
    const unsigned bits = bits_of(rep);
    if (is_signed_kind(rep)) {
        if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
        return integer_cell(rep, static_cast<std::int64_t>(n));
    }
    if (bits < 64 && n >= (std::uint64_t{1} << bits)) return std::nullopt;
    return value{n};
}

value parse_cell(const column_type& t, std::string_view text) {
    if (auto v = parse_known(t, text)) return std::move(*v);
    column_type bare = t;
    bare.nullable = false;
    throw usage_failure("'" + std::string(text) + "' is not a value of type " + to_string(bare));
}

}  // namespace relstore::tool
