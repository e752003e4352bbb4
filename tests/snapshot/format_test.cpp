// The snapshot format layer: round trips, validation order, error messages.

#include "sample_snapshot.hpp"

#include <relstore/snapshot_format.hpp>

#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

namespace format_test {

using namespace relstore;
using relstore::test::sample_image;
using relstore::test::sample_rows;
using relstore::test::sample_schema;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

// Values compare by bits for doubles, so NaN and -0.0 round trip exactly.
bool same(const value& a, const value& b) {
    if (a.index() != b.index()) return false;
    if (const auto* d = std::get_if<double>(&a))
        return std::bit_cast<std::uint64_t>(*d) == std::bit_cast<std::uint64_t>(std::get<double>(b));
    return a == b;
}

// Recomputes the checksum after a deliberate edit, so that the check under test is reached.
void reseal(std::vector<std::byte>& img) {
    const std::uint64_t h = snapshot_checksum(std::span(img).first(img.size() - 8));
    std::memcpy(img.data() + img.size() - 8, &h, 8);
}

template <class T>
void poke(std::vector<std::byte>& img, std::size_t at, T v) {
    std::memcpy(img.data() + at, &v, sizeof v);
}

snapshot_error rejection(std::vector<std::byte> img, const char* name = "x.snap") {
    try {
        snapshot_reader r(std::move(img), name);
        r.check_rows();
    } catch (const snapshot_error& e) {
        return e;
    }
    FAIL("the snapshot was accepted");
    throw;  // unreachable
}

}  // namespace

TEST_CASE("every column type round trips through a snapshot", "[snapshot][format]") {
    const auto img = sample_image();
    snapshot_reader r(img, "sample.snap");
    CHECK(r.format_version() == snapshot_format_version);
    CHECK(r.checksum_ok());
    CHECK(r.size() == img.size());
    REQUIRE(r.schema() == sample_schema());
    r.check_rows();
    for (std::size_t t = 0; t < r.schema().tables.size(); ++t) {
        const auto expected = sample_rows(t);
        REQUIRE(r.table(t).row_count == expected.size());
        auto cur = r.rows(t);
        for (const auto& row : expected)
            for (std::size_t c = 0; c < row.size(); ++c) {
                INFO("table " << t << " column " << r.schema().tables[t].columns[c].name);
                CHECK(same(cur.get_value(r.schema().tables[t].columns[c].type), row[c]));
            }
        cur.finish();
    }
    CHECK(r.table(0).next_auto_key == 4);
    CHECK(r.table(3).row_count == 0);
}

TEST_CASE("writing the same data twice gives the same bytes", "[snapshot][format]") {
    CHECK(sample_image() == sample_image());
}

TEST_CASE("a snapshot of a schema without tables is valid", "[snapshot][format]") {
    snapshot_writer w(schema_info{});
    const auto bytes = w.finish();
    CHECK(bytes.size() == snapshot_header_size + snapshot_checksum_size);
    snapshot_reader r({bytes.begin(), bytes.end()}, "empty.snap");
    CHECK(r.schema().tables.empty());
}

TEST_CASE("skip_value steps over every type", "[snapshot][format]") {
    const auto img = sample_image();
    snapshot_reader r(img, "s");
    auto cur = r.rows(2);
    const auto& cols = r.schema().tables[2].columns;
    for (int row = 0; row < 3; ++row)
        for (std::size_t c = 0; c < cols.size(); ++c) {
            if (c % 2 == 0)
                cur.skip_value(cols[c].type);
            else
                CHECK(same(cur.get_value(cols[c].type), sample_rows(2)[static_cast<std::size_t>(row)][c]));
        }
    cur.finish();
}

TEST_CASE("large strings and many rows round trip", "[snapshot][format]") {
    schema_info s;
    s.tables.push_back({"t", {{"id", {column_kind::int64, false}}, {"s", {column_kind::string, false}}}, {"id"},
                        false, true, {}, {}});
    snapshot_writer w(s);
    w.begin_table(0);
    const std::string big(300000, 'x');
    for (std::int64_t i = 0; i < 20000; ++i) {
        w.put_u64(static_cast<std::uint64_t>(i));
        w.put_string(i == 7 ? std::string_view(big) : std::string_view("abc"));
    }
    w.end_table(20000);
    const auto bytes = w.finish();
    snapshot_reader r({bytes.begin(), bytes.end()}, "big");
    auto cur = r.rows(0);
    for (std::int64_t i = 0; i < 20000; ++i) {
        REQUIRE(cur.get_u64() == static_cast<std::uint64_t>(i));
        REQUIRE(cur.get_string().size() == (i == 7 ? big.size() : 3));
    }
    cur.finish();
}

TEST_CASE("the writer rejects values that do not fit their column", "[snapshot][format]") {
    auto s = sample_schema();
    snapshot_writer w(s);
    w.begin_table(0);
    SECTION("null in a non-nullable column") {
        const std::vector<value> row{std::monostate{}, std::string("a"), std::monostate{}};
        CHECK_THROWS_WITH(w.put_row(row), Contains("column 'users.id' of type int64: null in a column that is "
                                                   "not nullable"));
    }
    SECTION("wrong number of values") {
        const std::vector<value> row{std::int64_t{1}};
        CHECK_THROWS_WITH(w.put_row(row), Contains("table 'users' has 3 columns, the row has 1 values"));
    }
    SECTION("an integer out of range") {
        w.end_table(0);
        w.begin_table(1);
        const std::vector<value> row{std::int64_t{-1}, std::int64_t{1}, std::string("t"), 1.0};
        CHECK_THROWS_AS(w.put_row(row), usage_error);
        CHECK_THROWS_WITH(w.put_row(row), Contains("'posts.id' of type uint32: value is not an integer in range"));
    }
    SECTION("tables out of order") { CHECK_THROWS_AS(w.begin_table(1), usage_error); }
    SECTION("finish before all tables") { CHECK_THROWS_WITH(w.finish(), Contains("0 of 4")); }
}

TEST_CASE("the writer rejects a malformed schema", "[snapshot][format]") {
    auto s = sample_schema();
    SECTION("duplicate table") {
        s.tables.push_back(s.tables[0]);
        CHECK_THROWS_WITH(snapshot_writer(s), Contains("table 'users' appears twice"));
    }
    SECTION("unknown key column") {
        s.tables[0].key = {"nope"};
        CHECK_THROWS_WITH(snapshot_writer(s), Contains("table 'users': the key names unknown column 'nope'"));
    }
    SECTION("unknown parent table") {
        s.tables[1].foreign_keys[0].parent_table = "people";
        CHECK_THROWS_WITH(snapshot_writer(s), Contains("references unknown table 'people'"));
    }
}

TEST_CASE("bad snapshots are rejected with the file, offset and what was expected", "[snapshot][format][errors]") {
    auto img = sample_image();

    SECTION("empty") {
        const auto e = rejection({});
        CHECK(e.code() == make_error_code(errc::bad_snapshot));
        CHECK(e.path() == "x.snap");
        CHECK(e.offset() == 0u);
        CHECK_THAT(e.what(), Contains("snapshot 'x.snap' at byte 0: the file is empty; expected a relstore snapshot"));
    }
    SECTION("not a snapshot") {
        const std::string text = "name,email\nada,ada@example.org\n";
        std::vector<std::byte> bytes(text.size());
        std::memcpy(bytes.data(), text.data(), text.size());
        const auto e = rejection(bytes);
        CHECK(e.code() == make_error_code(errc::bad_snapshot));
        CHECK(e.offset() == 0u);
        CHECK_THAT(e.what(), Contains("not a relstore snapshot: wrong magic bytes"));
    }
    SECTION("unsupported version") {
        poke<std::uint32_t>(img, 8, 7);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.code() == make_error_code(errc::unsupported_version));
        CHECK(e.offset() == 8u);
        CHECK_THAT(e.what(), Contains("snapshot 'x.snap' at byte 8: format version 7 is not supported; this build "
                                      "reads version 1"));
    }
    SECTION("unsupported version is reported even when the checksum is also wrong") {
        poke<std::uint32_t>(img, 8, 2);
        CHECK(rejection(img).code() == make_error_code(errc::unsupported_version));
    }
    SECTION("big-endian writer") {
        poke<std::uint8_t>(img, 12, 2);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.code() == make_error_code(errc::incompatible_platform));
        CHECK(e.offset() == 12u);
        CHECK_THAT(e.what(), Contains("byte order 2 (big-endian); this build reads little-endian snapshots"));
    }
    SECTION("unknown word size") {
        poke<std::uint8_t>(img, 13, 16);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.code() == make_error_code(errc::bad_snapshot));
        CHECK_THAT(e.what(), Contains("word size 16 is not 4 or 8 bytes"));
    }
    SECTION("a 32-bit writer is fine: values are fixed-width") {
        poke<std::uint8_t>(img, 13, 4);
        reseal(img);
        CHECK_NOTHROW(snapshot_reader(img, "x"));
    }
    SECTION("trailing data") {
        img.push_back(std::byte{0});
        const auto e = rejection(img);
        CHECK(e.code() == make_error_code(errc::bad_snapshot));
        CHECK(e.offset() == img.size() - 1);
        CHECK_THAT(e.what(), Contains("(trailing data)"));
    }
    SECTION("corrupt byte") {
        img[100] ^= std::byte{0x10};
        const auto e = rejection(img);
        CHECK(e.code() == make_error_code(errc::checksum_mismatch));
        CHECK(e.offset() == img.size() - 8);
        CHECK_THAT(e.what(), Contains("checksum mismatch: stored 0x"));
        CHECK_THAT(e.what(), Contains("the file is corrupt"));
    }
    SECTION("absurd schema size") {
        poke<std::uint32_t>(img, 28, 0xFFFFFFF0u);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.offset() == 28u);
        CHECK_THAT(e.what(), Contains("the schema size 4294967280 exceeds the"));
    }
    SECTION("absurd table count") {
        poke<std::uint32_t>(img, 24, 0x7FFFFFFFu);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.offset() == 24u);
        CHECK_THAT(e.what(), Contains("the table count 2147483647 needs"));
    }
    SECTION("absurd column count") {
        // users: name length (8) + "users" (5) + flags (1), then the column count.
        poke<std::uint32_t>(img, 32 + 8 + 5 + 1, 0x40000000u);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.offset() == 46u);
        CHECK_THAT(e.what(), Contains("the number of columns of table 'users' is 1073741824 but only"));
    }
    SECTION("absurd row count") {
        snapshot_reader r(img, "x");
        const std::size_t dir = r.table(0).rows_offset - r.schema().tables.size() * 32;
        poke<std::uint64_t>(img, dir, std::uint64_t{1} << 62);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.offset() == dir);
        CHECK_THAT(e.what(), Contains("table 'users': 4611686018427387904 rows cannot fit in"));
    }
    SECTION("absurd string length inside a row") {
        snapshot_reader r(img, "x");
        // users row 1: id (8), then the name's length.
        const std::size_t at = r.table(0).rows_offset + 8;
        poke<std::uint64_t>(img, at, ~std::uint64_t{0} - 3);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.code() == make_error_code(errc::bad_snapshot));
        CHECK(e.offset() == at);
        CHECK_THAT(e.what(), Contains("table 'users': string length 18446744073709551612 exceeds the"));
    }
    SECTION("bad bool") {
        snapshot_reader r(img, "x");
        const std::size_t at = r.table(2).rows_offset + 8;  // k, then b
        poke<std::uint8_t>(img, at, 9);
        reseal(img);
        const auto e = rejection(img);
        CHECK(e.offset() == at);
        CHECK_THAT(e.what(), Contains("table 'cells': expected a bool (0 or 1), found 9"));
    }
}

TEST_CASE("a snapshot truncated at any byte is rejected as truncated", "[snapshot][format][truncation]") {
    const auto img = sample_image();
    for (std::size_t len = 0; len < img.size(); ++len) {
        INFO("length " << len);
        const auto e = rejection({img.begin(), img.begin() + static_cast<std::ptrdiff_t>(len)});
        REQUIRE(e.code() == make_error_code(errc::bad_snapshot));
        REQUIRE(e.offset() == len);
        if (len > 0) REQUIRE_THAT(e.what(), Contains("truncated"));
    }
}

TEST_CASE("random bit flips and byte overwrites are all rejected", "[snapshot][format][corruption]") {
    const auto img = sample_image();
    std::mt19937_64 rng(20261125);
    std::size_t checksum_rejections = 0;
    constexpr int rounds = 20000;
    for (int i = 0; i < 2 * rounds; ++i) {
        auto bad = img;
        const std::size_t at = rng() % bad.size();
        if (i < rounds) {
            bad[at] ^= static_cast<std::byte>(1u << (rng() % 8));
        } else {
            std::byte b;
            do b = static_cast<std::byte>(rng());
            while (b == bad[at]);
            bad[at] = b;
        }
        INFO("round " << i << " offset " << at);
        try {
            snapshot_reader r(bad, "x");
            FAIL("accepted a corrupt snapshot");
        } catch (const snapshot_error& e) {
            if (e.code() == make_error_code(errc::checksum_mismatch)) ++checksum_rejections;
        }
        // Decoding the corrupt bytes anyway (as `relstore info` does) must fail cleanly or succeed, never crash.
        try {
            snapshot_reader r(std::move(bad), "x", checksum_policy::report);
            r.check_rows();
        } catch (const snapshot_error&) {
        }
    }
    // Only the 32 header bytes are checked before the checksum.
    CHECK(checksum_rejections > 2 * rounds * 8 / 10);
}

TEST_CASE("snapshots go through streams", "[snapshot][format][stream]") {
    const auto img = sample_image();
    std::stringstream ss;
    write_snapshot_stream(ss, img);
    auto r = snapshot_reader::from_stream(ss);
    CHECK(std::vector<std::byte>(r.bytes().begin(), r.bytes().end()) == img);

    std::stringstream cut(ss.str().substr(0, 50));
    try {
        (void)snapshot_reader::from_stream(cut);
        FAIL("accepted");
    } catch (const snapshot_error& e) {
        CHECK(e.path() == "<stream>");
        CHECK_THAT(e.what(), Contains("snapshot '<stream>' at byte 50: truncated"));
    }
}

TEST_CASE("the checksum covers every byte before it", "[snapshot][format]") {
    const auto img = sample_image();
    std::uint64_t stored;
    std::memcpy(&stored, img.data() + img.size() - 8, 8);
    CHECK(stored == snapshot_checksum(std::span(img).first(img.size() - 8)));
}

}  // namespace format_test
