#pragma once
// The schema of data/v1_every_kind.snap: every column kind of format version 1
// (a plain enum among them), nullable ones, an auto key, a hashed key, a
// unique and an ordered index and a foreign key. The file was written by
// relstore at commit 0986d78, before the chrono, blob, described-enum and
// user column types existed; tests load it to show that files of that time
// still load, and that saving them again gives the same bytes.

#include <relstore/relstore.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace v1 {

enum class tint : std::int16_t { low = -2, mid = 0, high = 7 };

struct Item {
    std::int64_t id{};
    bool flag{};
    std::int8_t i8{};
    std::int16_t i16{};
    std::int32_t i32{};
    std::uint8_t u8{};
    std::uint16_t u16{};
    std::uint32_t u32{};
    std::uint64_t u64{};
    float f32{};
    double f64{};
    std::string s;
    tint shade{};
    std::optional<std::int64_t> oi;
    std::optional<std::string> os;
    std::optional<double> of;
    std::optional<bool> ob;
    std::optional<tint> oshade;
};
RELSTORE_FIELDS(Item, id, flag, i8, i16, i32, u8, u16, u32, u64, f32, f64, s, shade, oi, os, of, ob, oshade)

struct Tag {
    std::string name;
    std::int64_t item_id{};
};
RELSTORE_FIELDS(Tag, name, item_id)

using items = relstore::table<"items", Item, relstore::auto_key<&Item::id>, relstore::unique<&Item::s>,
                              relstore::ordered<&Item::i32>>;
using tags = relstore::table<"tags", Tag, relstore::hashed_primary_key<&Tag::name>,
                             relstore::references<&Tag::item_id, items, relstore::on_delete::cascade>>;
using store = relstore::store<items, tags>;

}  // namespace v1
