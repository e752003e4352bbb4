// The column types beyond numbers and strings: std::chrono time points
// (sys_time) and durations, std::vector<std::byte> blobs, enums described by
// RELSTORE_ENUM, and types of one's own through relstore::column_traits. Each
// is a key, a unique and an ordered index, a foreign key and a lookup value,
// and error messages show it readably: timestamps in ISO 8601 UTC, durations
// with their unit, blobs in hex (capped as strings are), enums by name.
#include "checks.hpp"
#include "column_values.hpp"

#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace column_types_test {

using relstore::errc;
using relstore::detail::display;
using relstore_test::refused;
using relstore_test::refused_with;
using namespace std::chrono_literals;

namespace coltypes {

using relstore_test::values::blob;
using relstore_test::values::bytes;
using relstore_test::values::Color;
using relstore_test::values::Money;
using relstore_test::values::ms_time;
using relstore_test::values::Uuid;
using relstore_test::values::uuid;

enum class Plain : std::int16_t { a = -1, b = 1 };  // not described: an int16 column, as before

enum class Status : std::uint8_t { open, closed };  // stored by name, through column_traits

}  // namespace coltypes

}  // namespace column_types_test

template <>
struct relstore::column_traits<column_types_test::coltypes::Status> {
    using Status = column_types_test::coltypes::Status;
    using stored_type = std::string;
    static stored_type to_stored(Status s) { return s == Status::open ? "open" : "closed"; }
    static Status from_stored(const stored_type& s) {
        if (s != "open" && s != "closed") throw std::invalid_argument("not a status: " + s);
        return s == "open" ? Status::open : Status::closed;
    }
};

namespace column_types_test {

namespace coltypes {

struct Event {
    ms_time at;
    std::chrono::seconds took{};
    Color color{};
    Money price;
    std::optional<ms_time> ended;
};
RELSTORE_FIELDS(Event, at, took, color, price, ended)

struct Person {
    Uuid id;
    std::string name;
    Color favourite{};
    std::chrono::minutes commute{};
    Plain plain{};
};
RELSTORE_FIELDS(Person, id, name, favourite, commute, plain)

struct Attendance {
    std::int64_t id{};
    ms_time event_at;
    std::optional<Uuid> person;
};
RELSTORE_FIELDS(Attendance, id, event_at, person)

struct File {
    bytes digest;
    std::string name;
    Uuid owner;
    std::optional<bytes> thumbnail;
};
RELSTORE_FIELDS(File, digest, name, owner, thumbnail)

struct Chunk {
    bytes file;
    std::int32_t seq{};
    Status status{};
};
RELSTORE_FIELDS(Chunk, file, seq, status)

namespace rs = relstore;
using events = rs::table<"events", Event, rs::primary_key<&Event::at>, rs::ordered<&Event::took>,
                         rs::index<&Event::color>, rs::unique<&Event::price>>;
using people = rs::table<"people", Person, rs::primary_key<&Person::id>, rs::ordered_unique<&Person::commute>,
                         rs::unique<&Person::favourite, &Person::name>>;
using attendances = rs::table<"attendances", Attendance, rs::auto_key<&Attendance::id>,
                              rs::references<&Attendance::event_at, events, rs::on_delete::cascade>,
                              rs::hashed_references<&Attendance::person, people, rs::on_delete::set_null>>;
using files = rs::table<"files", File, rs::hashed_primary_key<&File::digest>, rs::ordered<&File::thumbnail>,
                        rs::references<&File::owner, people>>;
using chunks = rs::table<"chunks", Chunk, rs::primary_key<&Chunk::file, &Chunk::seq>,
                         rs::hashed_references<&Chunk::file, files, rs::on_delete::cascade>, rs::index<&Chunk::status>>;
using store = rs::store<events, people, attendances, files, chunks>;

// 2024-03-05T12:34:56.789Z
const ms_time noon = std::chrono::sys_days{std::chrono::year{2024} / 3 / 5} + 12h + 34min + 56s + 789ms;

struct filled {
    store db;
    filled() {
        auto tx = db.write();
        tx.insert(Event{noon, 90s, Color::red, Money{1250}, std::nullopt});
        tx.insert(Event{noon + 1s, 30s, Color::green, Money{99}, noon + 2h});
        tx.insert(Event{noon + 1h, 2h, Color::red, Money{-5}, std::nullopt});
        tx.insert(Person{uuid(1), "Ada", Color::blue, 25min, Plain::a});
        tx.insert(Person{uuid(2), "Brian", Color::green, 40min, Plain::b});
        tx.insert(Attendance{0, noon, uuid(1)});
        tx.insert(Attendance{0, noon, uuid(2)});
        tx.insert(Attendance{0, noon + 1h, std::nullopt});
        tx.insert(File{blob({0xde, 0xad}), "a.txt", uuid(1), std::nullopt});
        tx.insert(File{blob({0xbe, 0xef}), "b.txt", uuid(2), blob({0x01})});
        tx.insert(Chunk{blob({0xde, 0xad}), 0, Status::closed});
        tx.insert(Chunk{blob({0xde, 0xad}), 1, Status::open});
        tx.commit();
    }
};

}  // namespace coltypes

using namespace coltypes;

TEST_CASE("display shows timestamps in ISO 8601 UTC at their precision", "[core][coltypes][display]") {
    using namespace std::chrono;
    CHECK(display(noon) == "2024-03-05T12:34:56.789Z");
    CHECK(display(floor<seconds>(noon)) == "2024-03-05T12:34:56Z");
    CHECK(display(sys_time<microseconds>(noon) + 7us) == "2024-03-05T12:34:56.789007Z");
    CHECK(display(sys_time<nanoseconds>(noon) + 1ns) == "2024-03-05T12:34:56.789000001Z");
    CHECK(display(floor<days>(noon)) == "2024-03-05T00:00:00Z");
    CHECK(display(sys_seconds{}) == "1970-01-01T00:00:00Z");
    SECTION("before 1970, the fraction counts forward from the second before") {
        CHECK(display(sys_time<milliseconds>{-1ms}) == "1969-12-31T23:59:59.999Z");
        CHECK(display(sys_days{year{1} / 1 / 1}) == "0001-01-01T00:00:00Z");
        CHECK(display(sys_days{year{-44} / 3 / 15}) == "-0044-03-15T00:00:00Z");
    }
    SECTION("years past 9999 get a sign, as ISO 8601's expanded years") {
        CHECK(display(sys_days{year{12024} / 1 / 2}) == "+12024-01-02T00:00:00Z");
    }
    SECTION("a time the calendar cannot hold is shown as a duration since the epoch") {
        CHECK(display(sys_seconds::max()) == "1970-01-01T00:00:00Z + 9223372036854775807s");
        CHECK(display(sys_time<duration<std::int32_t, std::ratio<1, 60>>>{duration<std::int32_t, std::ratio<1, 60>>{90}}) ==
              "1970-01-01T00:00:00Z + 90[1/60]s");
    }
    SECTION("an optional shows NULL when empty") {
        CHECK(display(std::optional<ms_time>()) == "NULL");
        CHECK(display(std::optional<ms_time>(noon)) == "2024-03-05T12:34:56.789Z");
    }
}

TEST_CASE("display shows durations with their unit, as C++20's chrono does", "[core][coltypes][display]") {
    using namespace std::chrono;
    CHECK(display(1500ms) == "1500ms");
    CHECK(display(-3s) == "-3s");
    CHECK(display(5min) == "5min");
    CHECK(display(2h) == "2h");
    CHECK(display(days{7}) == "7d");
    CHECK(display(42ns) == "42ns");
    CHECK(display(42us) == "42\u00b5s");
    CHECK(display(duration<std::int64_t, std::ratio<1, 60>>{90}) == "90[1/60]s");
    CHECK(display(duration<std::int64_t, std::ratio<7 * 86400>>{2}) == "2[604800]s");
    CHECK(display(duration<std::uint8_t, std::kilo>{3}) == "3ks");
}

TEST_CASE("display shows blobs in hex, cut after 32 bytes with their length", "[core][coltypes][display]") {
    CHECK(display(blob({})) == "x''");
    CHECK(display(blob({0x00, 0x0f, 0xa0, 0xff})) == "x'000fa0ff'");
    bytes big(100, std::byte{0x5a});
    std::string shown(64, 'a');
    for (std::size_t i = 0; i < shown.size(); i += 2) shown.replace(i, 2, "5a");
    CHECK(display(big) == "x'" + shown + "'\u2026 (100 bytes)");
    std::string whole;
    for (int i = 0; i < 100; ++i) whole += "5a";
    CHECK(display(big, relstore::detail::display_whole) == "x'" + whole + "'");
    SECTION("lookup values that are byte spans and arrays show the same way") {
        const std::array<std::byte, 2> a{std::byte{1}, std::byte{2}};
        CHECK(display(a) == "x'0102'");
        CHECK(display(std::span<const std::byte>(a)) == "x'0102'");
    }
    CHECK(display(std::optional<bytes>()) == "NULL");
}

TEST_CASE("display shows a described enum by name, and other values by number", "[core][coltypes][display]") {
    CHECK(display(Color::green) == "green");
    CHECK(display(Color::violet) == "3");  // not in its RELSTORE_ENUM
    CHECK(display(Plain::a) == "-1");      // not described at all
    CHECK(display(std::optional<Color>(Color::blue)) == "blue");
    CHECK(display(std::make_tuple(Color::red, std::string("x"))) == "(red, \"x\")");
}

TEST_CASE("display shows a column_traits type as its stored value", "[core][coltypes][display]") {
    CHECK(display(Money{-1250}) == "-1250");
    CHECK(display(uuid(7)) == "x'ab000000000000000000000000000007'");
}

TEST_CASE("an enum with column_traits is stored, shown and found as they say", "[core][coltypes][traits]") {
    CHECK(relstore::column_type_of<Status> == relstore::column_type{relstore::column_kind::string, false});
    CHECK(display(Status::closed) == "\"closed\"");
    filled f;
    auto q = f.db.read();
    CHECK(q.where<&Chunk::status>(Status::open).first()->seq == 1);
    CHECK(q.where<&Chunk::status>(Status::closed).count() == 1);
}

TEST_CASE("the schema records each new type's kind, precision and names", "[core][coltypes][schema]") {
    using relstore::column_kind;
    const auto s = relstore::describe<store>();
    const auto& ev = s.tables[0].columns;
    CHECK(ev[0].type.kind == column_kind::timestamp);
    CHECK(ev[0].type.rep == column_kind::int64);
    CHECK(ev[0].type.num == 1);
    CHECK(ev[0].type.den == 1000);
    CHECK(ev[1].type.kind == column_kind::duration);
    CHECK(ev[1].type.den == 1);
    CHECK(ev[2].type.kind == column_kind::enumeration);
    CHECK(ev[2].type.rep == column_kind::uint8);
    REQUIRE(ev[2].type.labels != nullptr);
    CHECK(ev[2].type.labels->name == "Color");
    REQUIRE(ev[2].type.labels->values.size() == 3);
    CHECK(ev[2].type.labels->values[2].name == "blue");
    CHECK(ev[2].type.labels->values[2].value == 2);
    CHECK(ev[3].type == relstore::column_type{column_kind::int64, false});  // Money: its stored type
    CHECK(ev[4].type.kind == column_kind::timestamp);
    CHECK(ev[4].type.nullable);
    const auto& pe = s.tables[1].columns;
    CHECK(pe[0].type == relstore::column_type{column_kind::blob, false});  // Uuid: a blob
    CHECK(pe[3].type.num == 60);
    CHECK(pe[4].type == relstore::column_type{column_kind::int16, false});  // an enum without RELSTORE_ENUM
    CHECK(to_string(ev[0].type) == "timestamp[ms]");
    CHECK(to_string(ev[1].type) == "duration[s]");
    CHECK(to_string(ev[2].type) == "enum Color : uint8");
    CHECK(to_string(ev[4].type) == "timestamp[ms]?");
    CHECK(to_string(pe[0].type) == "blob");
    CHECK(to_string(pe[3].type) == "duration[min]");
    CHECK(to_string(relstore::column_type_of<std::chrono::duration<std::int32_t, std::ratio<1, 60>>>) ==
          "duration[1/60 s, int32]");
}

TEST_CASE_METHOD(filled, "a timestamp is a key, an ordered range, a foreign key and a lookup value",
                 "[core][coltypes][chrono]") {
    auto q = db.read();
    CHECK(q.get<events>(noon).price == Money{1250});
    SECTION("a coarser time point converts without loss and finds the row") {
        const auto second = std::chrono::floor<std::chrono::seconds>(noon) + 1s;  // 12:34:57
        CHECK(q.find<events>(second) == nullptr);
        CHECK(q.find<events>(std::chrono::floor<std::chrono::seconds>(noon + 1h + 211ms)) == nullptr);
        CHECK(q.find<events>(std::chrono::sys_time<std::chrono::milliseconds>(noon + 1s)) != nullptr);
    }
    SECTION("range over timestamps, in time order") {
        std::vector<std::int64_t> cents;
        for (const Event& e : q.range<&Event::at>(noon, noon + 1h)) cents.push_back(e.price.cents);
        CHECK(cents == std::vector<std::int64_t>{1250, 99});
        CHECK(q.range<&Event::at>(noon + 1h, noon).count() == 0);
    }
    SECTION("children along a timestamp foreign key") {
        CHECK(q.children<&Attendance::event_at>(q.get<events>(noon)).count() == 2);
        CHECK(q.children<&Attendance::event_at>(noon + 1h).count() == 1);
        CHECK(q.parent<&Attendance::event_at>(q.get<attendances>(std::int64_t{3})).took == 2h);
    }
    SECTION("a nullable timestamp column is found by a value and by null") {
        CHECK(q.where<&Event::ended>(noon + 2h).count() == 1);
        CHECK(q.where<&Event::ended>(std::nullopt).count() == 2);
    }
    SECTION("not found names the key as a time") {
        try {
            (void)q.get<events>(std::chrono::floor<std::chrono::seconds>(noon));
            FAIL("no exception");
        } catch (const relstore::not_found_error& e) {
            CHECK(std::string(e.what()) == "events.at = 2024-03-05T12:34:56Z not found");
        }
    }
}

TEST_CASE_METHOD(filled, "timestamp constraint errors show the time in ISO 8601", "[core][coltypes][chrono]") {
    auto tx = db.write();
    refused_with(tx, errc::duplicate_key, "events", "at", "events.at = 2024-03-05T12:34:56.789Z already exists",
                 [&] { tx.insert(Event{noon, 1s, Color::blue, Money{1}, std::nullopt}); });
    refused_with(tx, errc::foreign_key_violation, "attendances", "event_at",
                 "attendances.event_at = 2024-03-05T12:34:56.790Z references no row in events",
                 [&] { tx.insert(Attendance{0, noon + 1ms, std::nullopt}); });
    SECTION("erasing an event cascades along the timestamp foreign key") {
        CHECK(tx.erase<events>(noon) == 3);
        CHECK(tx.count<attendances>() == 1);
    }
}

TEST_CASE_METHOD(filled, "a duration is an ordered index and a unique key, shown with its unit",
                 "[core][coltypes][chrono]") {
    auto tx = db.write();
    std::vector<std::chrono::seconds> took;
    for (const Event& e : tx.order_by<&Event::took>()) took.push_back(e.took);
    CHECK(took == std::vector<std::chrono::seconds>{30s, 90s, 2h});
    CHECK(tx.range<&Event::took>(1min, 1h).count() == 1);
    CHECK(tx.range<&Event::took>(1min, std::chrono::seconds{1h}).first()->took == 90s);
    CHECK(tx.find<&Person::commute>(25min)->name == "Ada");
    CHECK(tx.find<&Person::commute>(std::chrono::hours{1}) == nullptr);  // hours convert to minutes exactly
    refused_with(tx, errc::unique_violation, "people", "commute", "people.commute = 40min already exists",
                 [&] { tx.insert(Person{uuid(3), "Cleo", Color::red, 40min, Plain::a}); });
}

TEST_CASE_METHOD(filled, "a blob is a hashed key, an ordered index and a foreign key, looked up by any byte span",
                 "[core][coltypes][blob]") {
    auto tx = db.write();
    const std::array<std::byte, 2> dead{std::byte{0xde}, std::byte{0xad}};
    CHECK(tx.get<files>(blob({0xde, 0xad})).name == "a.txt");
    CHECK(tx.get<files>(dead).name == "a.txt");
    CHECK(tx.get<files>(std::span<const std::byte>(dead)).name == "a.txt");
    CHECK(tx.find<files>(std::span<const std::byte>(dead).first(1)) == nullptr);
    CHECK(tx.children<&Chunk::file>(tx.get<files>(dead)).count() == 2);
    CHECK(tx.find<chunks>(dead, 1) != nullptr);
    CHECK(tx.where<&File::thumbnail>(blob({0x01})).count() == 1);
    CHECK(tx.where<&File::thumbnail>(std::nullopt).count() == 1);
    CHECK(tx.range<&File::thumbnail>(bytes{}, blob({0xff})).count() == 1);
    refused_with(tx, errc::duplicate_key, "files", "digest", "files.digest = x'dead' already exists",
                 [&] { tx.insert(File{blob({0xde, 0xad}), "c.txt", uuid(1), std::nullopt}); });
    refused_with(tx, errc::foreign_key_violation, "chunks", "file", "chunks.file = x'00' references no row in files",
                 [&] { tx.insert(Chunk{blob({0x00}), 0, Status::open}); });
    SECTION("a long blob in a message is cut as a string is") {
        const bytes long_digest(40, std::byte{0x11});
        tx.insert(File{long_digest, "long", uuid(1), std::nullopt});
        const auto e = refused(tx, [&] { tx.insert(File{long_digest, "again", uuid(1), std::nullopt}); });
        REQUIRE(e);
        CHECK(std::string(e->what()) ==
              "files.digest = x'" + std::string(64, '1') + "'\u2026 (40 bytes) already exists");
    }
    SECTION("erasing a file cascades to its chunks along the blob foreign key") {
        CHECK(tx.erase<files>(dead) == 3);
    }
}

TEST_CASE_METHOD(filled, "a described enum is an index and part of a unique key, shown by name",
                 "[core][coltypes][enum]") {
    auto tx = db.write();
    CHECK(tx.where<&Event::color>(Color::red).count() == 2);
    CHECK(tx.where<&Event::color>(Color::violet).count() == 0);
    CHECK(tx.find<&Person::favourite, &Person::name>(Color::blue, "Ada") != nullptr);
    refused_with(tx, errc::unique_violation, "people", "(favourite, name)",
                 R"(people.(favourite, name) = (green, "Brian") already exists)",
                 [&] { tx.insert(Person{uuid(3), "Brian", Color::green, 1min, Plain::a}); });
    tx.insert(Person{uuid(4), "Dora", Color::violet, 2min, Plain::a});
    refused_with(tx, errc::unique_violation, "people", "(favourite, name)",
                 R"(people.(favourite, name) = (3, "Dora") already exists)",
                 [&] { tx.insert(Person{uuid(5), "Dora", Color::violet, 3min, Plain::a}); });
}

TEST_CASE_METHOD(filled, "a column_traits type is a key, a unique index and a foreign key, looked up as itself",
                 "[core][coltypes][traits]") {
    auto tx = db.write();
    CHECK(tx.get<people>(uuid(2)).name == "Brian");
    CHECK(tx.find<people>(uuid(9)) == nullptr);
    CHECK(tx.find<&Event::price>(Money{99})->took == 30s);
    CHECK(tx.children<&File::owner>(uuid(1)).count() == 1);
    CHECK(tx.children<&Attendance::person>(tx.get<people>(uuid(2))).count() == 1);
    CHECK(tx.where<&Attendance::person>(uuid(1)).count() == 1);
    refused_with(tx, errc::unique_violation, "events", "price", "events.price = 99 already exists",
                 [&] { tx.insert(Event{noon + 5s, 1s, Color::blue, Money{99}, std::nullopt}); });
    refused_with(tx, errc::foreign_key_violation, "files", "owner",
                 "files.owner = x'ab000000000000000000000000000009' references no row in people",
                 [&] { tx.insert(File{blob({0x07}), "c.txt", uuid(9), std::nullopt}); });
    SECTION("erasing a person sets the nullable foreign key to null") {
        tx.erase(tx.get<files>(blob({0xbe, 0xef})));
        CHECK(tx.erase<people>(uuid(2)) == 1);
        CHECK(tx.where<&Attendance::person>(std::nullopt).count() == 2);
    }
    SECTION("set changes a column of each new type") {
        const Event& e = tx.get<events>(noon);
        tx.set<&Event::price>(e, Money{7});
        tx.set<&Event::took>(e, 1min);
        tx.set<&Event::color>(e, Color::blue);
        tx.set<&Event::ended>(e, noon + 1s);
        CHECK(tx.find<&Event::price>(Money{7}) == &e);
        CHECK(tx.where<&Event::color>(Color::blue).first() == &e);
        CHECK(tx.range<&Event::took>(1min, 61s).first() == &e);
        tx.set<&File::thumbnail>(tx.get<files>(blob({0xde, 0xad})), blob({0x02}));
        CHECK(tx.where<&File::thumbnail>(blob({0x02})).count() == 1);
    }
}

TEST_CASE_METHOD(filled, "changes to new-type columns roll back", "[core][coltypes][transaction]") {
    const auto before = relstore_test::capture(db.read());
    {
        auto tx = db.write();
        tx.update<events>(noon, [](Event& e) {
            e.price = Money{1};
            e.color = Color::blue;
        });
        tx.set<&Event::took>(tx.get<events>(noon + 1s), 3h);
        tx.erase<events>(noon + 1h);
        tx.erase<chunks>(blob({0xde, 0xad}), 0);
        tx.insert(Person{uuid(8), "Eve", Color::red, 3h, Plain::b});
    }
    CHECK(relstore_test::diff(before, relstore_test::capture(db.read())) == "");
    SECTION("a hashed blob key too") {
        // store_image lists the lookups of a hashed-key table in its bucket
        // order, which a rollback may change; compare what the indexes find.
        {
            auto tx = db.write();
            CHECK(tx.erase<files>(blob({0xde, 0xad})) == 3);
        }
        auto q = db.read();
        CHECK(q.get<files>(blob({0xde, 0xad})).owner == uuid(1));
        CHECK(q.children<&Chunk::file>(q.get<files>(blob({0xde, 0xad}))).count() == 2);
        CHECK(q.where<&File::thumbnail>(std::nullopt).first()->name == "a.txt");
        CHECK(q.count<files>() == 2);
    }
}

// A column type whose stored form refuses some values: its to_stored() runs
// inside a hashed index's hash, so a set() can throw while the container
// re-indexes the row. Boost.MultiIndex erases such a row unless a
// rollback restores it; the row must come out of a failed set() unchanged.
namespace coltypes {
struct Code {
    std::int64_t v{};
    friend auto operator<=>(const Code&, const Code&) = default;
};
}  // namespace coltypes

}  // namespace column_types_test

template <>
struct relstore::column_traits<column_types_test::coltypes::Code> {
    using Code = column_types_test::coltypes::Code;
    using stored_type = std::int64_t;
    static stored_type to_stored(const Code& c) {
        if (c.v < 0) throw std::invalid_argument("negative code");
        return c.v;
    }
    static Code from_stored(stored_type s) { return Code{s}; }
};

namespace column_types_test {

namespace coltypes {
struct Item {
    std::int64_t id{};
    Code code;
    std::string label;
};
RELSTORE_FIELDS(Item, id, code, label)
using hashed_items = relstore::table<"items", Item, relstore::auto_key<&Item::id>, relstore::index<&Item::code>>;
using unique_items = relstore::table<"items", Item, relstore::auto_key<&Item::id>, relstore::unique<&Item::code>>;
}  // namespace coltypes

TEMPLATE_TEST_CASE("a set() whose column type throws while the row is re-indexed leaves the row as it was",
                   "[core][coltypes][transaction]", coltypes::hashed_items, coltypes::unique_items) {
    using coltypes::Code;
    using coltypes::Item;
    relstore::store<TestType> db;
    {
        auto tx = db.write();
        for (std::int64_t i = 1; i <= 3; ++i) tx.insert(Item{0, Code{i}, "l" + std::to_string(i)});
        tx.commit();
    }
    const auto check_intact = [](const auto& q) {
        CHECK(q.template count<TestType>() == 3);
        const Item* two = q.template find<TestType>(std::int64_t{2});
        REQUIRE(two != nullptr);
        CHECK(two->code == Code{2});
        CHECK(q.template where<&Item::code>(Code{2}).count() == 1);
        CHECK(q.template where<&Item::code>(Code{2}).first() == two);
    };
    auto tx = db.write();
    CHECK_THROWS_WITH(tx.template set<&Item::code>(tx.template get<TestType>(std::int64_t{2}), Code{-1}),
                      "negative code");
    check_intact(tx);
    SECTION("kept by commit") { tx.commit(); }
    SECTION("and by rollback") { tx.rollback(); }
    SECTION("and the transaction goes on") {
        tx.template set<&Item::code>(tx.template get<TestType>(std::int64_t{2}), Code{7});
        CHECK(tx.template where<&Item::code>(Code{7}).count() == 1);
        tx.rollback();
    }
    check_intact(db.read());
}

}  // namespace column_types_test
