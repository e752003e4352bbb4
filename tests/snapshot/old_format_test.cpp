// Snapshots written before the chrono, blob, described-enum and user column
// types existed (data/v1_every_kind.snap, see v1_schema.hpp) load unchanged,
// and saving the loaded store gives the file's bytes again.

#include "v1_schema.hpp"

#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <string>

#ifndef RELSTORE_TEST_DATA
#error "RELSTORE_TEST_DATA must name tests/snapshot/data"
#endif

namespace old_format_test {

namespace fs = std::filesystem;

namespace {

const fs::path v1_file = fs::path(RELSTORE_TEST_DATA) / "v1_every_kind.snap";

std::string saved(const v1::store& db) {
    std::ostringstream out;
    relstore::save(db, out);
    return out.str();
}

std::string file_text(const fs::path& p) {
    const auto bytes = relstore::read_snapshot_file(p);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

TEST_CASE("a version-1 snapshot of every old column kind loads, and saves to the same bytes",
          "[snapshot][compat]") {
    v1::store db;
    const auto report = relstore::load(db, v1_file);
    CHECK(report.empty());
    auto q = db.read();
    REQUIRE(q.count<v1::items>() == 3);
    REQUIRE(q.count<v1::tags>() == 3);

    const v1::Item& a = q.get<v1::items>(std::int64_t{1});
    CHECK(a.flag);
    CHECK(a.i8 == std::numeric_limits<std::int8_t>::min());
    CHECK(a.i16 == std::numeric_limits<std::int16_t>::max());
    CHECK(a.i32 == -123456);
    CHECK(a.u8 == 255);
    CHECK(a.u16 == 65535);
    CHECK(a.u32 == 4000000000u);
    CHECK(a.u64 == std::numeric_limits<std::uint64_t>::max());
    CHECK(std::signbit(a.f32));
    CHECK(a.f64 == 1e300);
    CHECK(a.s == "caf\xC3\xA9");
    CHECK(a.shade == v1::tint::low);
    CHECK(a.oi == -1);
    CHECK(a.os == std::string());
    CHECK(a.of == 2.5);
    CHECK(a.ob == false);
    CHECK(a.oshade == v1::tint::high);

    const v1::Item& b = q.get<v1::items>(std::int64_t{2});
    CHECK(std::isinf(b.f32));
    CHECK(std::isnan(b.f64));
    CHECK(b.shade == v1::tint::mid);
    CHECK(!b.oi);
    CHECK(!b.os);
    CHECK(!b.of);
    CHECK(!b.ob);
    CHECK(!b.oshade);

    const v1::Item& c = q.get<v1::items>(std::int64_t{10});
    CHECK(c.shade == static_cast<v1::tint>(3));  // a value the enum does not name
    CHECK(q.get<v1::tags>("blue").item_id == 10);
    CHECK(q.children<&v1::Tag::item_id>(a).count() == 2);

    CHECK(saved(db) == file_text(v1_file));
}

}  // namespace old_format_test
