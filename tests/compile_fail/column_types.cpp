// Column types relstore cannot store, and values that do not fit the new
// column types, each with the sentence that names the fix; the `expect:`
// comment above each is the regular expression expect_diagnostics.cmake looks
// for. control.cpp and fields_complete.cpp use the same types correctly.
#include "schema.hpp"

#include <chrono>
#include <cstddef>
#include <vector>

namespace bad {

struct Point {  // no column_traits
    int x, y;
    friend auto operator<=>(const Point&, const Point&) = default;
};
struct Shape {
    std::int64_t id{};
    Point at;
};
// expect: a type of your own, specialize relstore::column_traits<T>
RELSTORE_FIELDS(Shape, id, at)

struct Lap {
    std::int64_t id{};
    std::chrono::steady_clock::time_point start;
};
// expect: a time_point column must be a std::chrono::sys_time
RELSTORE_FIELDS(Lap, id, start)

struct Timer {
    std::int64_t id{};
    std::chrono::duration<double> left{};
};
// expect: a duration or time_point column needs an integer count
RELSTORE_FIELDS(Timer, id, left)

struct Half {  // column_traits without from_stored
    std::int64_t v{};
    friend auto operator<=>(const Half&, const Half&) = default;
};
struct Unordered {  // column_traits, but no ==
    std::int64_t v{};
};
struct Nested {  // column_traits whose stored type is not a built-in column type
    std::int64_t v{};
    friend auto operator<=>(const Nested&, const Nested&) = default;
};

}  // namespace bad

template <>
struct relstore::column_traits<bad::Half> {
    using stored_type = std::int64_t;
    static stored_type to_stored(const bad::Half& h) { return h.v; }
};
template <>
struct relstore::column_traits<bad::Unordered> {
    using stored_type = std::int64_t;
    static stored_type to_stored(const bad::Unordered& h) { return h.v; }
    static bad::Unordered from_stored(stored_type v) { return {v}; }
};
template <>
struct relstore::column_traits<bad::Nested> {
    using stored_type = bad::Half;
    static stored_type to_stored(const bad::Nested& h) { return {h.v}; }
    static bad::Nested from_stored(stored_type v) { return {v.v}; }
};

namespace bad {
struct Halves {
    std::int64_t id{};
    Half h;
};
// expect: relstore::column_traits<T> of a column type must declare stored_type
RELSTORE_FIELDS(Halves, id, h)

struct Unordereds {
    std::int64_t id{};
    Unordered u;
};
// expect: a column_traits type must be equality comparable and ordered
RELSTORE_FIELDS(Unordereds, id, u)

struct Nesteds {
    std::int64_t id{};
    Nested n;
};
// expect: field_type_check<bad::Nesteds, bad::Nested>
RELSTORE_FIELDS(Nesteds, id, n)

// expect: RELSTORE_ENUM: Shape is not an enum
RELSTORE_ENUM(Shape, id)
}  // namespace bad

// Values given for the new column types.
enum class color : std::uint8_t { red, green };
RELSTORE_ENUM(color, red, green)
struct Money {
    std::int64_t cents{};
    friend auto operator<=>(const Money&, const Money&) = default;
};
template <>
struct relstore::column_traits<Money> {
    using stored_type = std::int64_t;
    static stored_type to_stored(const Money& m) { return m.cents; }
    static Money from_stored(stored_type c) { return {c}; }
};
struct Event {
    std::chrono::sys_time<std::chrono::milliseconds> at;
    std::chrono::seconds took{};
    std::vector<std::byte> digest;
    color shade{};
    Money price;
};
RELSTORE_FIELDS(Event, at, took, digest, shade, price)
using events = relstore::table<"events", Event, relstore::primary_key<&Event::at>, relstore::ordered<&Event::took>,
                               relstore::unique<&Event::digest>, relstore::index<&Event::shade>,
                               relstore::unique<&Event::price>>;
using store = relstore::store<events>;

void misuse(store& db) {
    auto q = db.read();
    // expect: value_check<&Event::at, std::chrono::time_point<[^>]*, std::chrono::duration<long( int)?, std::ratio<1, 1000000000>
    (void)q.find<events>(std::chrono::sys_time<std::chrono::nanoseconds>{});  // would lose precision
    // expect: value_check<&Event::at, std::chrono::duration<long( int)?>
    (void)q.where<&Event::at>(std::chrono::seconds{5});                       // a duration is not a time
    // expect: value_check<&Event::took, int>
    (void)q.where<&Event::took>(5);                                           // a count without a unit
    // expect: value_check<&Event::took, std::chrono::duration<double
    (void)q.range<&Event::took>(std::chrono::duration<double>{1.5}, std::chrono::seconds{2});
    // expect: value_check<&Event::digest, std::(__cxx11::)?basic_string<char
    (void)q.find<&Event::digest>(std::string("ab"));                          // text is not bytes
    // expect: value_check<&Event::digest, std::vector<unsigned char
    (void)q.find<&Event::digest>(std::vector<unsigned char>{1, 2});
    // expect: value_check<&Event::shade, unsigned int>
    (void)q.where<&Event::shade>(0u);
    // expect: value_check<&Event::price, long( int)?>
    (void)q.find<&Event::price>(std::int64_t{5});                             // the stored type is not the type
}

int main() {}
