#pragma once
// A store with a column of every type added after format version 1's kinds:
// time points and durations at several precisions and counts, blobs, an enum
// described by RELSTORE_ENUM beside one that is not, and column_traits types
// stored as an int64 (Money) and as a 16-byte blob (Uuid), each nullable too.

#include <relstore/relstore.hpp>

#include "column_values.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace coltypes {

using namespace relstore_test::values;  // ms_time, bytes, Color, Mood, Money, Uuid, uuid(), blob(), ...

struct Event {
    ms_time at;
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

struct Ticket {
    Uuid id;
    ms_time event_at;
    bytes seat;
};
RELSTORE_FIELDS(Ticket, id, event_at, seat)

namespace rs = relstore;
using events = rs::table<"events", Event, rs::primary_key<&Event::at>, rs::unique<&Event::ref>,
                         rs::ordered<&Event::took>, rs::index<&Event::color>, rs::ordered_unique<&Event::payload>>;
using tickets = rs::table<"tickets", Ticket, rs::hashed_primary_key<&Ticket::id>,
                          rs::references<&Ticket::event_at, events, rs::on_delete::cascade>, rs::unique<&Ticket::seat>>;
using store = rs::store<events, tickets>;

// 2024-03-05T12:34:56.789Z
inline const ms_time noon = std::chrono::sys_days{std::chrono::year{2024} / 3 / 5} + std::chrono::hours{12} +
                            std::chrono::minutes{34} + std::chrono::seconds{56} + std::chrono::milliseconds{789};

/// Three events and two tickets, with edge values: a time before 1970, an
/// empty blob, an enum value that has no name, a negative duration, nulls.
inline void fill(store& db) {
    using namespace std::chrono;
    auto tx = db.write();
    tx.insert(Event{noon, floor<seconds>(noon), floor<days>(noon), nanoseconds{1500}, int32_minutes{90},
                    blob({0x00, 0xff, 0x10}), Color::green, Mood::sad, Money{1250}, uuid(1),
                    sys_time<microseconds>(noon) + microseconds{7}, milliseconds{250}, blob({}), Color::violet,
                    Money{-5}});
    tx.insert(Event{ms_time{milliseconds{-1}}, sys_seconds{}, sys_days{year{1969} / 7 / 20}, nanoseconds{-3},
                    int32_minutes{}, blob({}), Color::red, Mood::glad, Money{}, uuid(2), std::nullopt, std::nullopt,
                    std::nullopt, std::nullopt, std::nullopt});
    tx.insert(Event{noon + hours{1}, floor<seconds>(noon) + hours{1}, floor<days>(noon), nanoseconds{2},
                    int32_minutes{-1}, blob({0x01}), Color::blue, Mood::calm, Money{99}, uuid(3), std::nullopt,
                    milliseconds{0}, blob({0xca, 0xfe}), Color::red, std::nullopt});
    tx.insert(Ticket{uuid(9), noon, blob({0x0a})});
    tx.insert(Ticket{uuid(8), noon + hours{1}, blob({0x0b})});
    tx.commit();
}

}  // namespace coltypes
