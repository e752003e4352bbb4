// Snapshots of the column types beyond version 1's kinds (coltypes_schema.hpp):
// they round trip, the file's schema records each column's precision and
// enum names, a change of precision or count type is a schema mismatch naming
// the column, an enum may gain or lose its RELSTORE_ENUM, and malformed type
// descriptions and stored values a column_traits type refuses are errors
// naming the file and byte offset.

#include "coltypes_schema.hpp"
#include "store_image.hpp"

#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <cstring>
#include <sstream>
#include <string>

namespace column_types_test {

namespace rs = relstore;
using Catch::Matchers::Contains;
using namespace coltypes;

namespace {

std::string saved(const store& db) {
    std::ostringstream out;
    rs::save(db, out);
    return out.str();
}

std::vector<std::byte> image(const std::string& s) {
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

// The differences between two stores' rows and index orders. Not
// relstore_test::diff: it lists a hashed-key table's index lookups in the
// key's bucket order, which differs between two stores of the same rows.
std::string content_diff(const relstore_test::store_image& a, const relstore_test::store_image& b) {
    std::string out;
    for (std::size_t t = 0; t < a.tables.size(); ++t) {
        const auto& x = a.tables[t];
        const auto& y = b.tables[t];
        if (x.rows != y.rows) out += x.name + ": rows differ\n";
        if (x.next_key != y.next_key) out += x.name + ": next keys differ\n";
        for (std::size_t i = 0; i < x.indexes.size(); ++i)
            if (x.indexes[i].iteration != y.indexes[i].iteration) out += x.indexes[i].name + ": order differs\n";
    }
    return out;
}

// A Uuid's stored form, as the dynamic API writes it.
rs::blob_value uuid_blob(unsigned char last) {
    const Uuid u = uuid(last);
    return {u.bytes.begin(), u.bytes.end()};
}

// Recomputes the checksum after a deliberate edit, so that the check under test is reached.
void reseal(std::vector<std::byte>& img) {
    const std::uint64_t h = rs::snapshot_checksum(std::span(img).first(img.size() - 8));
    std::memcpy(img.data() + img.size() - 8, &h, 8);
}

// The offset of the type byte of the first column named name in an image's schema.
std::size_t type_byte_of(const std::vector<std::byte>& img, const std::string& name) {
    std::string needle(8, '\0');
    needle[0] = static_cast<char>(name.size());
    needle += name;
    const std::string_view text(reinterpret_cast<const char*>(img.data()), img.size());
    const auto at = text.find(needle, rs::snapshot_header_size);
    REQUIRE(at != std::string_view::npos);
    return at + needle.size();
}

template <class Store>
rs::snapshot_error load_error(Store& db, const std::vector<std::byte>& img, const rs::load_options& options = {}) {
    std::istringstream in(std::string(reinterpret_cast<const char*>(img.data()), img.size()));
    try {
        rs::load(db, in, options);
    } catch (const rs::snapshot_error& e) {
        return e;
    }
    FAIL("the snapshot was loaded");
    throw;  // unreachable
}

rs::snapshot_error reader_error(std::vector<std::byte> img) {
    try {
        rs::snapshot_reader r(std::move(img), "x.snap");
        r.check_rows();
    } catch (const rs::snapshot_error& e) {
        return e;
    }
    FAIL("the snapshot was accepted");
    throw;  // unreachable
}

}  // namespace

// The same tables with one column's type changed each, to load the file into.
namespace coltypes_seconds {
using namespace coltypes;
struct Event {
    std::chrono::sys_seconds at;  // was milliseconds
    std::chrono::sys_seconds logged;
    std::chrono::sys_days day;
    std::chrono::nanoseconds took{};
    int32_minutes every{};
    bytes payload;
    Color color{};
    Mood mood{};
    Money price;
    Uuid ref;
    std::optional<std::chrono::sys_time<std::chrono::microseconds>> done;
    std::optional<std::chrono::milliseconds> timeout;
    std::optional<bytes> extra;
    std::optional<Color> tint;
    std::optional<Money> discount;
};
RELSTORE_FIELDS(Event, at, logged, day, took, every, payload, color, mood, price, ref, done, timeout, extra, tint,
                discount)
using events = rs::table<"events", Event, rs::primary_key<&Event::at>>;
using store = rs::store<events>;
}  // namespace coltypes_seconds

namespace coltypes_changed {
using namespace coltypes;
// every's count is an int64 now, the plain enum Mood described
// (with other names), Color plain, and tint's enum renamed with fewer names.
enum class Feeling : std::int16_t { down = -1, fine = 0 };
RELSTORE_ENUM(Feeling, down, fine)
enum class Hue : std::uint8_t { rot, gruen };
RELSTORE_ENUM(Hue, rot, gruen)
enum class PlainColor : std::uint8_t {};
struct Event {
    ms_time at;
    std::chrono::sys_seconds logged;
    std::chrono::sys_days day;
    std::chrono::nanoseconds took{};
    std::chrono::minutes every{};
    bytes payload;
    PlainColor color{};
    Feeling mood{};
    Money price;
    Uuid ref;
    std::optional<std::chrono::sys_time<std::chrono::microseconds>> done;
    std::optional<std::chrono::milliseconds> timeout;
    std::optional<bytes> extra;
    std::optional<Hue> tint;
    std::optional<Money> discount;
};
RELSTORE_FIELDS(Event, at, logged, day, took, every, payload, color, mood, price, ref, done, timeout, extra, tint,
                discount)
using events = rs::table<"events", Event, rs::primary_key<&Event::at>>;
using store = rs::store<events>;
}  // namespace coltypes_changed

TEST_CASE("every new column type round trips through a snapshot and saves to the same bytes",
          "[snapshot][coltypes]") {
    store db;
    fill(db);
    const std::string first = saved(db);
    store back;
    std::istringstream in(first);
    CHECK(rs::load(back, in).empty());
    CHECK(content_diff(relstore_test::capture(db.read()), relstore_test::capture(back.read())) == "");
    CHECK(relstore_test::check_consistent(relstore_test::capture(back.read())) == "");
    CHECK(saved(back) == first);
    auto q = back.read();
    const Event& e = q.get<events>(noon);
    CHECK(e.color == Color::green);
    CHECK(e.tint == Color::violet);
    CHECK(e.ref == uuid(1));
    CHECK(e.discount == Money{-5});
    CHECK(e.every == int32_minutes{90});
    CHECK(e.extra == bytes{});
    CHECK(q.get<events>(ms_time{std::chrono::milliseconds{-1}}).mood == Mood::glad);
    CHECK(q.children<&Ticket::event_at>(e).count() == 1);
    CHECK(q.find<&Event::ref>(uuid(3))->price == Money{99});
}

TEST_CASE("a snapshot's schema records each column's precision, count type and enum names",
          "[snapshot][coltypes]") {
    store db;
    fill(db);
    const rs::snapshot_reader r(image(saved(db)), "x.snap");
    CHECK(r.schema() == rs::describe<store>());
    const auto& cols = r.schema().tables[0].columns;
    CHECK(to_string(cols[0].type) == "timestamp[ms]");
    CHECK(to_string(cols[1].type) == "timestamp[s]");
    CHECK(to_string(cols[2].type) == "timestamp[d]");
    CHECK(to_string(cols[3].type) == "duration[ns]");
    CHECK(to_string(cols[4].type) == "duration[min, int32]");
    CHECK(to_string(cols[5].type) == "blob");
    CHECK(to_string(cols[6].type) == "enum Color : uint8");
    CHECK(to_string(cols[7].type) == "int16");
    CHECK(to_string(cols[8].type) == "int64");
    CHECK(to_string(cols[9].type) == "blob");
    CHECK(to_string(cols[10].type) == "timestamp[\u00b5s]?");
    CHECK(to_string(cols[13].type) == "enum Color : uint8?");
    REQUIRE(cols[6].type.labels != nullptr);
    CHECK(cols[6].type.labels->values.size() == 3);
    CHECK(cols[6].type.labels->values[1].name == "green");
    SECTION("the schema outlives the reader it came from") {
        rs::schema_info copy;
        {
            const rs::snapshot_reader r2(image(saved(db)), "y.snap");
            copy = r2.schema();
        }
        CHECK(copy == rs::describe<store>());
        CHECK(copy.tables[0].columns[6].type.labels->values[2].name == "blue");
    }
}

TEST_CASE("a timestamp or duration loaded at another precision or count type is a schema mismatch",
          "[snapshot][coltypes][evolution]") {
    store db;
    fill(db);
    const auto img = image(saved(db));
    SECTION("milliseconds into seconds") {
        coltypes_seconds::store other;
        const auto e = load_error(other, img, {.drop_unknown_tables = true});
        CHECK(e.code() == rs::make_error_code(rs::errc::schema_mismatch));
        CHECK(std::string(e.what()) == "snapshot '<stream>': column 'events.at' changed type: timestamp[ms] in the "
                                       "snapshot, timestamp[s] in the program");
    }
    SECTION("an int32 count of minutes into an int64 one") {
        coltypes_changed::store other;
        const auto e = load_error(other, img, {.drop_unknown_tables = true});
        CHECK(e.code() == rs::make_error_code(rs::errc::schema_mismatch));
        CHECK(std::string(e.what()) == "snapshot '<stream>': column 'events.every' changed type: duration[min, int32] "
                                       "in the snapshot, duration[min] in the program");
    }
}

namespace coltypes_changed_ok {
using namespace coltypes_changed;
struct Event {
    ms_time at;
    std::chrono::sys_seconds logged;
    std::chrono::sys_days day;
    std::chrono::nanoseconds took{};
    int32_minutes every{};
    bytes payload;
    PlainColor color{};
    Feeling mood{};
    Money price;
    Uuid ref;
    std::optional<std::chrono::sys_time<std::chrono::microseconds>> done;
    std::optional<std::chrono::milliseconds> timeout;
    std::optional<bytes> extra;
    std::optional<Hue> tint;
    std::optional<Money> discount;
};
RELSTORE_FIELDS(Event, at, logged, day, took, every, payload, color, mood, price, ref, done, timeout, extra, tint,
                discount)
using events = rs::table<"events", Event, rs::primary_key<&Event::at>>;
using store = rs::store<events>;
}  // namespace coltypes_changed_ok

TEST_CASE("an enum that gained or lost its RELSTORE_ENUM, or whose names changed, still loads",
          "[snapshot][coltypes][evolution]") {
    store db;
    fill(db);
    coltypes_changed_ok::store other;
    std::istringstream in(saved(db));
    CHECK(rs::load(other, in, {.drop_unknown_tables = true}).tables_dropped == std::vector<std::string>{"tickets"});
    auto q = other.read();
    const auto& e = q.get<coltypes_changed_ok::events>(noon);
    CHECK(e.color == static_cast<coltypes_changed::PlainColor>(1));
    CHECK(e.mood == coltypes_changed::Feeling::down);
    CHECK(e.tint == static_cast<coltypes_changed::Hue>(3));
    SECTION("and back") {
        std::ostringstream out;
        rs::save(other, out);
        store again;
        std::istringstream in2(out.str());
        CHECK(rs::load(again, in2, {.empty_missing_tables = true}).tables_filled_empty ==
              std::vector<std::string>{"tickets"});
        CHECK(again.read().get<events>(noon).color == Color::green);
    }
}

TEST_CASE("a stored value that a column_traits type refuses fails the load, naming the offset and column",
          "[snapshot][coltypes][errors]") {
    // A file whose Uuid column holds 3 bytes, written through the dynamic writer.
    rs::snapshot_writer w(rs::describe<store>());
    w.begin_table(0);
    const auto& cols = w.schema().tables[0].columns;
    std::vector<rs::value> row(cols.size());
    row[0] = std::int64_t{0};
    row[1] = std::int64_t{0};
    row[2] = std::int64_t{0};
    row[3] = std::int64_t{0};
    row[4] = std::int64_t{0};
    row[5] = bytes{};
    row[6] = std::uint64_t{0};
    row[7] = std::int64_t{0};
    row[8] = std::int64_t{0};
    row[9] = blob({1, 2, 3});
    w.put_row(row);
    w.end_table(1);
    w.begin_table(1);
    w.end_table(0);
    const auto span = w.finish();
    const std::vector<std::byte> img(span.begin(), span.end());
    const rs::snapshot_reader r(img, "x");
    const auto at = r.table(0).rows_offset;

    store db;
    fill(db);
    const auto before = relstore_test::capture(db.read());
    const auto e = load_error(db, img);
    CHECK(e.code() == rs::make_error_code(rs::errc::bad_snapshot));
    CHECK(e.offset() == at + 8 * 4 + 4 + 8 + 1 + 2 + 8);  // the cell of ref
    CHECK(std::string(e.what()) == "snapshot '<stream>' at byte " + std::to_string(*e.offset()) +
                                       ": table 'events': column ref = x'010203' is refused by its column_traits: "
                                       "a UUID has 16 bytes, not 3");
    CHECK(relstore_test::diff(before, relstore_test::capture(db.read())) == "");
}

TEST_CASE("the dynamic reader and writer handle the new kinds", "[snapshot][coltypes][format]") {
    store db;
    fill(db);
    const rs::snapshot_reader r(image(saved(db)), "x");
    const auto& cols = r.schema().tables[0].columns;
    auto cur = r.rows(0);
    // Rows come in key order: the event before 1970 first.
    std::vector<rs::value> row;
    for (const auto& c : cols) row.push_back(cur.get_value(c.type));
    CHECK(row[0] == rs::value(std::int64_t{-1}));
    CHECK(row[2] == rs::value(std::int64_t{-165}));  // 1969-07-20 in days
    CHECK(row[5] == rs::value(bytes{}));
    CHECK(row[6] == rs::value(std::uint64_t{0}));  // red
    CHECK(row[9] == rs::value(uuid_blob(2)));
    CHECK(rs::detail::display_cell(row[0], cols[0].type) == "1969-12-31T23:59:59.999Z");
    CHECK(rs::detail::display_cell(row[2], cols[2].type) == "1969-07-20T00:00:00Z");
    CHECK(rs::detail::display_cell(row[3], cols[3].type) == "-3ns");
    CHECK(rs::detail::display_cell(row[6], cols[6].type) == "red");
    CHECK(rs::detail::display_cell(rs::value(std::uint64_t{3}), cols[6].type) == "3");
    CHECK(rs::detail::display_cell(row[9], cols[9].type) == "x'ab000000000000000000000000000002'");
    CHECK(rs::detail::display_cell(row[10], cols[10].type) == "NULL");

    SECTION("the writer refuses values that do not fit the new kinds") {
        rs::snapshot_writer w(r.schema());
        w.begin_table(0);
        CHECK_THROWS_WITH(w.put_value(cols[5].type, std::string("ab")),
                          "snapshot_writer: a column of type blob: value is not a blob (std::vector<std::byte>)");
        CHECK_THROWS_WITH(w.put_value(cols[6].type, std::int64_t{256}),
                          "snapshot_writer: a column of type enum Color : uint8: value is not an integer in range");
        CHECK_THROWS_WITH(w.put_value(cols[4].type, std::int64_t{1} << 40),
                          "snapshot_writer: a column of type duration[min, int32]: value is not an integer in range");
        CHECK_NOTHROW(w.put_value(cols[4].type, std::int64_t{-7}));
    }
}

TEST_CASE("malformed descriptions of the new kinds are refused at their byte", "[snapshot][coltypes][errors]") {
    store db;
    fill(db);
    auto img = image(saved(db));
    const auto at = type_byte_of(img, "at");         // timestamp: kind, nullable, clock, count type, num, den
    const auto every = type_byte_of(img, "every");   // duration: kind, nullable, count type, num, den
    const auto color = type_byte_of(img, "color");   // enumeration: kind, nullable, count type, name, names
    REQUIRE(img[at] == std::byte{13});
    REQUIRE(img[every] == std::byte{14});
    REQUIRE(img[color] == std::byte{16});
    std::size_t offset = 0;
    std::string expected;
    SECTION("an unknown column kind") {
        img[at] = std::byte{17};
        offset = at;
        expected = "expected a column type of table 'events' (1 to 16), found 17";
    }
    SECTION("an unknown clock") {
        img[at + 2] = std::byte{2};
        offset = at + 2;
        expected = "expected a timestamp's clock of table 'events' (1 to 1), found 2";
    }
    SECTION("a count type that is not an integer") {
        img[at + 3] = std::byte{11};  // float64
        offset = at + 3;
        expected = "column 'at' of table 'events': the count of a timestamp must be an integer kind (int8 to uint64), "
                   "not float64";
    }
    SECTION("a zero denominator") {
        std::memset(&img[every + 11], 0, 8);
        offset = every + 3;
        expected = "column 'every' of table 'events': the tick period 60/0 s is not a positive fraction in lowest terms";
    }
    SECTION("a period not in lowest terms") {
        img[every + 3] = std::byte{120};
        img[every + 11] = std::byte{2};
        offset = every + 3;
        expected = "column 'every' of table 'events': the tick period 120/2 s is not a positive fraction in lowest terms";
    }
    SECTION("an enum value that does not fit the count type") {
        // Color's names follow its rep byte and its name ("Color"): red's value is first.
        const auto first_value = color + 3 + 8 + 5 + 4;
        img[first_value + 1] = std::byte{1};  // 256
        offset = first_value;
        expected = "column 'color' of table 'events': the enum value 256 (red) does not fit uint8";
    }
    reseal(img);
    const auto e = reader_error(img);
    CHECK(e.code() == rs::make_error_code(rs::errc::bad_snapshot));
    CHECK(e.offset() == offset);
    CHECK_THAT(e.what(), Contains(expected));
}

TEST_CASE("an enum whose file names one value twice is refused at the second name", "[snapshot][coltypes][errors]") {
    static constexpr rs::enum_value_name names[] = {{0, "ab"}, {1, "cd"}};
    static constexpr rs::enum_labels labels{"E", names};
    rs::schema_info s;
    rs::column_type e{rs::column_kind::enumeration, false, rs::column_kind::int8};
    e.labels = &labels;
    s.tables.push_back({"t", {{"id", {rs::column_kind::int64, false}}, {"e", e}}, {"id"}, false, false, {}, {}});
    rs::snapshot_writer w(s);
    w.begin_table(0);
    w.end_table(0);
    const auto span = w.finish();
    std::vector<std::byte> img(span.begin(), span.end());
    const std::string_view text(reinterpret_cast<const char*>(img.data()), img.size());
    const auto cd = text.find("cd");
    REQUIRE(cd != std::string_view::npos);
    std::memcpy(&img[cd], "ab", 2);
    reseal(img);
    const auto err = reader_error(img);
    CHECK(err.offset() == cd - 8);
    CHECK_THAT(err.what(), Contains("column 'e' of table 't': the enum value name ab appears twice"));
}

TEST_CASE("a schema with a malformed description of a new kind cannot be written", "[snapshot][coltypes][errors]") {
    auto s = rs::describe<store>();
    auto& cols = s.tables[0].columns;
    SECTION("two enum values of one name") {
        static constexpr rs::enum_value_name twice[] = {{0, "red"}, {1, "red"}};
        static constexpr rs::enum_labels labels{"Color", twice};
        cols[6].type.labels = &labels;
        CHECK_THROWS_WITH(rs::snapshot_writer(s), Contains("column 'color' of table 'events': the enum value name "
                                                           "red appears twice"));
    }
    SECTION("an enumeration without names") {
        cols[6].type.labels = nullptr;
        CHECK_THROWS_WITH(rs::snapshot_writer(s), Contains("column 'color' of table 'events': an enumeration "
                                                           "needs its value names"));
    }
    SECTION("precision on a kind without one") {
        cols[8].type.num = 1;
        CHECK_THROWS_WITH(rs::snapshot_writer(s), Contains("column 'price' of table 'events': a column of kind int64 "
                                                           "has no count type, tick period or value names"));
    }
}

TEST_CASE("integrity errors over new types read the same in load and in verify", "[snapshot][coltypes][integrity]") {
    // Two events at the same millisecond, written through the dynamic writer.
    rs::snapshot_writer w(rs::describe<store>());
    const auto& cols = w.schema().tables[0].columns;
    auto event = [&](std::int64_t at, unsigned char ref) {
        std::vector<rs::value> row(cols.size());
        for (std::size_t i = 0; i < 5; ++i) row[i] = std::int64_t{0};
        row[0] = at;
        row[5] = blob({ref});
        row[6] = std::uint64_t{1};
        row[7] = std::int64_t{0};
        row[8] = std::int64_t{0};
        row[9] = uuid_blob(ref);
        return row;
    };
    std::string expected;
    SECTION("a duplicate timestamp key") {
        w.begin_table(0);
        w.put_row(event(noon.time_since_epoch().count(), 1));
        w.put_row(event(noon.time_since_epoch().count(), 2));
        w.end_table(2);
        w.begin_table(1);
        w.end_table(0);
        expected = "table 'events': duplicate key at = 2024-03-05T12:34:56.789Z";
    }
    SECTION("a duplicate blob in a unique index") {
        w.begin_table(0);
        w.put_row(event(1, 1));
        w.put_row(event(2, 1));
        w.end_table(2);
        w.begin_table(1);
        w.end_table(0);
        expected = "table 'events': duplicate ref = x'ab000000000000000000000000000001' in a unique index";
    }
    SECTION("a timestamp foreign key that references no row") {
        w.begin_table(0);
        w.put_row(event(1, 1));
        w.end_table(1);
        w.begin_table(1);
        w.put_row(std::vector<rs::value>{rs::blob_value(16, std::byte{1}), std::int64_t{2}, bytes{}});
        w.end_table(1);
        expected = "table 'tickets': event_at = 1970-01-01T00:00:00.002Z references no row in events";
    }
    const auto span = w.finish();
    const std::vector<std::byte> img(span.begin(), span.end());
    store db;
    const auto e = load_error(db, img);
    CHECK_THAT(e.what(), Contains(expected));
    std::string verify;
    try {
        rs::snapshot_reader(img, "<stream>").check_integrity();
    } catch (const rs::snapshot_error& v) {
        verify = v.what();
    }
    CHECK(verify == e.what());
}

namespace coltypes_status {
enum class Status : std::uint8_t { open, closed };
}  // namespace coltypes_status

}  // namespace column_types_test

template <>
struct relstore::column_traits<column_types_test::coltypes_status::Status> {
    using Status = column_types_test::coltypes_status::Status;
    using stored_type = std::string;
    static stored_type to_stored(Status s) {
        return s == Status::open ? "open" : "closed";
    }
    static Status from_stored(const stored_type& s) {
        if (s != "open" && s != "closed") throw std::invalid_argument("not a status: " + s);
        return s == "open" ? Status::open : Status::closed;
    }
};

namespace column_types_test {

namespace coltypes_status {
struct Job {
    std::int64_t id{};
    Status status{};
    std::optional<Status> was;
};
RELSTORE_FIELDS(Job, id, status, was)
using jobs = rs::table<"jobs", Job, rs::auto_key<&Job::id>, rs::index<&Job::status>>;
using store = rs::store<jobs>;
}  // namespace coltypes_status

TEST_CASE("an enum stored by name through column_traits is a string column of the file",
          "[snapshot][coltypes][traits]") {
    namespace cs = coltypes_status;
    cs::store db;
    {
        auto tx = db.write();
        tx.insert(cs::Job{0, cs::Status::closed, cs::Status::open});
        tx.insert(cs::Job{0, cs::Status::open, std::nullopt});
        tx.commit();
    }
    std::ostringstream out;
    rs::save(db, out);
    const auto img = image(out.str());
    const rs::snapshot_reader r(img, "x");
    CHECK(r.schema().tables[0].columns[1].type == rs::column_type{rs::column_kind::string, false});
    CHECK(r.schema().tables[0].columns[2].type == rs::column_type{rs::column_kind::string, true});
    auto cur = r.rows(0);
    (void)cur.get_value(r.schema().tables[0].columns[0].type);
    CHECK(cur.get_value(r.schema().tables[0].columns[1].type) == rs::value(std::string("closed")));
    cs::store back;
    std::istringstream in(out.str());
    rs::load(back, in);
    CHECK(back.read().where<&cs::Job::status>(cs::Status::open).first()->id == 2);
    CHECK(back.read().get<cs::jobs>(std::int64_t{1}).was == cs::Status::open);

    SECTION("a name the enum does not have fails the load") {
        rs::snapshot_writer w(rs::describe<cs::store>());
        w.begin_table(0);
        w.put_row(std::vector<rs::value>{std::int64_t{1}, std::string("paused"), std::monostate{}});
        w.end_table(1, 2);
        const auto span = w.finish();
        const auto e = load_error(back, std::vector<std::byte>(span.begin(), span.end()));
        CHECK_THAT(e.what(), Contains("table 'jobs': column status = \"paused\" is refused by its column_traits: "
                                      "not a status: paused"));
        CHECK(back.read().count<cs::jobs>() == 2);
    }
}

}  // namespace column_types_test
