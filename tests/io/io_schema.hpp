#pragma once
// A store with a column of every type relstore has, each edge value a text
// format can get wrong (NaN, infinities, quotes, commas, newlines, UTF-8,
// empty strings and blobs, nulls, extreme integers, times before 1970, an
// enum value without a name), and the two orders a reader must cope with:
// a child table declared before its parent, and a row whose self-referenced
// parent has a larger key.

#include <relstore/relstore.hpp>

#include "column_values.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace io {

using namespace relstore_test::values;  // ms_time, bytes, Color, Mood, Money, Uuid, uuid(), blob(), ...

struct Kind {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Kind, id, name)

struct Item {
    std::int64_t id{};
    std::int8_t i8{};
    std::int16_t i16{};
    std::int32_t i32{};
    std::uint8_t u8{};
    std::uint16_t u16{};
    std::uint32_t u32{};
    std::uint64_t u64{};
    float f{};
    double d{};
    bool flag{};
    std::string text;
    std::optional<std::string> note;
    std::optional<std::int32_t> maybe;
    ms_time at;
    std::chrono::sys_seconds logged;
    std::chrono::nanoseconds took{};
    int32_minutes every{};
    std::optional<std::chrono::milliseconds> timeout;
    bytes payload;
    std::optional<bytes> extra;
    Color color{};
    std::optional<Color> tint;
    Mood mood{};
    Money price;
    std::optional<Money> discount;
    Uuid ref;
    std::int64_t kind_id{};
    std::optional<std::int64_t> parent_id;
};
RELSTORE_FIELDS(Item, id, i8, i16, i32, u8, u16, u32, u64, f, d, flag, text, note, maybe, at, logged, took, every,
                timeout, payload, extra, color, tint, mood, price, discount, ref, kind_id, parent_id)

namespace rs = relstore;
inline constexpr auto allowed = [](const std::string& name) { return name != "forbidden"; };
using kinds = rs::table<"kinds", Kind, rs::auto_key<&Kind::id>, rs::unique<&Kind::name>,
                        rs::check<&Kind::name, allowed, "allowed">>;
using items = rs::table<"items", Item, rs::auto_key<&Item::id>, rs::unique<&Item::ref>,
                        rs::references<&Item::kind_id, kinds>,
                        rs::references<&Item::parent_id, rs::self, rs::on_delete::set_null>>;
// items first: a reader must still insert kinds before the items that reference them.
using store = rs::store<items, kinds>;

/// Another schema: what an archive of io::store must not load into.
struct Other {
    std::int64_t id{};
    std::string name;
    std::int32_t extra{};
};
RELSTORE_FIELDS(Other, id, name, extra)
using others = rs::table<"kinds", Other, rs::auto_key<&Other::id>>;
using other_store = rs::store<others>;

// 1969-07-20T20:17:40.123Z: before the epoch, so its count is negative.
inline const ms_time moon = std::chrono::sys_days{std::chrono::year{1969} / 7 / 20} + std::chrono::hours{20} +
                            std::chrono::minutes{17} + std::chrono::seconds{40} + std::chrono::milliseconds{123};

inline void fill(store& db) {
    using namespace std::chrono;
    auto tx = db.write();
    const auto& tools = tx.insert(Kind{.name = "tools"});
    const auto& toys = tx.insert(Kind{.name = "toys, \"fun\"\nones"});
    Item a{};
    a.i8 = std::numeric_limits<std::int8_t>::min();
    a.i16 = std::numeric_limits<std::int16_t>::min();
    a.i32 = std::numeric_limits<std::int32_t>::min();
    a.u8 = std::numeric_limits<std::uint8_t>::max();
    a.u16 = std::numeric_limits<std::uint16_t>::max();
    a.u32 = std::numeric_limits<std::uint32_t>::max();
    a.u64 = std::numeric_limits<std::uint64_t>::max();
    a.f = std::numeric_limits<float>::infinity();
    a.d = std::numeric_limits<double>::quiet_NaN();
    a.flag = true;
    a.text = "quote \" comma , newline \n crlf \r\n tab \t backslash \\ h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80";
    a.note = "";
    a.at = moon;
    a.logged = floor<seconds>(moon);
    a.took = nanoseconds{-1500};
    a.every = int32_minutes{std::numeric_limits<std::int32_t>::max()};
    a.timeout = milliseconds{0};
    a.payload = {};
    a.extra = blob({0x00, 0xff, 0x10, 0x0a, 0x22, 0x2c});
    a.color = Color::violet;
    a.tint = Color::blue;
    a.mood = Mood::sad;
    a.price = Money{-1250};
    a.discount = Money{std::numeric_limits<std::int64_t>::min()};
    a.ref = uuid(1);
    a.kind_id = toys.id;
    const std::int64_t a_id = tx.insert(a).id;

    Item b{};
    b.i8 = std::numeric_limits<std::int8_t>::max();
    b.i16 = std::numeric_limits<std::int16_t>::max();
    b.i32 = std::numeric_limits<std::int32_t>::max();
    b.f = -0.1f;
    b.d = 1e-300;
    b.text = "";
    b.maybe = -7;
    b.at = ms_time{milliseconds{1'709'642'096'789}};
    b.took = nanoseconds{std::numeric_limits<std::int64_t>::max()};
    b.payload = blob({0xde, 0xad});
    b.color = Color::green;
    b.mood = Mood::glad;
    b.price = Money{0};
    b.ref = uuid(2);
    b.kind_id = tools.id;
    const std::int64_t b_id = tx.insert(b).id;

    Item c{};
    c.f = -0.0f;  // JSON reads -0 as the integer 0
    c.d = -std::numeric_limits<double>::infinity();
    c.text = "plain";
    c.note = "NULL";
    c.payload = blob({0x01});
    c.extra = bytes{};
    c.ref = uuid(3);
    c.kind_id = tools.id;
    c.parent_id = b_id;
    const std::int64_t c_id = tx.insert(c).id;

    // a now references c, a row with a larger key: written after it.
    tx.set<&Item::parent_id>(tx.get<items>(a_id), std::optional<std::int64_t>(c_id));
    tx.commit();
}

}  // namespace io
