#pragma once
// A small snapshot with every column type, shared by the snapshot tests.

#include <relstore/snapshot_format.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace relstore::test {

inline column_info col(std::string name, column_kind k, bool nullable = false) {
    return {std::move(name), {k, nullable}};
}

/// users(id, name, email?), posts(id, author_id -> users cascade, title, score?),
/// cells(one column of every type, and nullable variants), empty(id).
inline schema_info sample_schema() {
    schema_info s;
    table_info users{"users",
                     {col("id", column_kind::int64), col("name", column_kind::string),
                      col("email", column_kind::string, true)},
                     {"id"},
                     true,
                     true,
                     {{index_kind::hashed_unique, {"email"}}},
                     {}};
    table_info posts{"posts",
                     {col("id", column_kind::uint32), col("author_id", column_kind::int64),
                      col("title", column_kind::string), col("score", column_kind::float64, true)},
                     {"id"},
                     false,
                     false,
                     {{index_kind::ordered, {"author_id", "title"}}},
                     {{{"author_id"}, "users", on_delete::cascade, false, false}}};
    table_info cells{"cells", {}, {"k"}, true, false, {}, {}};
    cells.columns = {col("k", column_kind::uint64),   col("b", column_kind::boolean),
                     col("i8", column_kind::int8),    col("i16", column_kind::int16),
                     col("i32", column_kind::int32),  col("i64", column_kind::int64),
                     col("u8", column_kind::uint8),   col("u16", column_kind::uint16),
                     col("u32", column_kind::uint32), col("u64", column_kind::uint64),
                     col("f32", column_kind::float32), col("f64", column_kind::float64),
                     col("s", column_kind::string),   col("ob", column_kind::boolean, true),
                     col("oi", column_kind::int32, true), col("of", column_kind::float64, true),
                     col("os", column_kind::string, true)};
    table_info empty{"empty", {col("id", column_kind::int64)}, {"id"}, false, true, {}, {}};
    s.tables = {users, posts, cells, empty};
    return s;
}

inline std::vector<std::vector<value>> sample_rows(std::size_t table) {
    using v = std::vector<value>;
    constexpr double inf = std::numeric_limits<double>::infinity();
    switch (table) {
    case 0:
        return {v{std::int64_t{1}, std::string("Ada"), std::string("ada@example.org")},
                v{std::int64_t{2}, std::string(""), std::monostate{}},
                v{std::int64_t{3}, std::string("Zo\xc3\xab \xe2\x9c\x93 \xf0\x9f\x98\x80, \"quoted\"\nline"),
                  std::string("zoe@example.org")}};
    case 1:
        return {v{std::uint64_t{10}, std::int64_t{1}, std::string("Hello, world"), 4.5},
                v{std::uint64_t{11}, std::int64_t{1}, std::string(""), std::monostate{}},
                v{std::uint64_t{12}, std::int64_t{3}, std::string("tab\there"), -0.0}};
    case 2:
        return {v{std::uint64_t{1}, true, std::int64_t{-128}, std::int64_t{-32768},
                  std::int64_t{std::numeric_limits<std::int32_t>::min()},
                  std::int64_t{std::numeric_limits<std::int64_t>::min()}, std::uint64_t{0}, std::uint64_t{0},
                  std::uint64_t{0}, std::uint64_t{0}, -inf, std::nan(""), std::string(), std::monostate{},
                  std::monostate{}, std::monostate{}, std::monostate{}},
                v{std::uint64_t{2}, false, std::int64_t{127}, std::int64_t{32767},
                  std::int64_t{std::numeric_limits<std::int32_t>::max()},
                  std::int64_t{std::numeric_limits<std::int64_t>::max()}, std::uint64_t{255}, std::uint64_t{65535},
                  std::uint64_t{std::numeric_limits<std::uint32_t>::max()},
                  std::uint64_t{std::numeric_limits<std::uint64_t>::max()}, 1.5, inf,
                  std::string("nul\0byte", 8), false, std::int64_t{0}, std::numeric_limits<double>::denorm_min(),
                  std::string()},
                v{std::uint64_t{3}, true, std::int64_t{0}, std::int64_t{0}, std::int64_t{0}, std::int64_t{0},
                  std::uint64_t{1}, std::uint64_t{1}, std::uint64_t{1}, std::uint64_t{1}, 0.0, -inf,
                  std::string("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), true, std::int64_t{-7}, -1e308,
                  std::string("x")}};
    default: return {};
    }
}

/// The sample snapshot's bytes.
inline std::vector<std::byte> sample_image() {
    const auto schema = sample_schema();
    snapshot_writer w(schema);
    for (std::size_t t = 0; t < schema.tables.size(); ++t) {
        w.begin_table(t);
        const auto rows = sample_rows(t);
        for (const auto& r : rows) w.put_row(r);
        w.end_table(rows.size(), schema.tables[t].auto_key ? rows.size() + 1 : 0);
    }
    const auto bytes = w.finish();
    return {bytes.begin(), bytes.end()};
}

}  // namespace relstore::test
