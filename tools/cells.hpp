#pragma once
// Cells of the `relstore` tool's dynamic rows: what an integer column can
// hold, and a value typed on the command line read as the column's kind.
// Shared by relstore.cpp (dump --where) and sqlite_io.cpp (import).

#include <relstore/snapshot_format.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace relstore::tool {

/// A command line that names something the file does not have, or a value a
/// column cannot hold: exit status 2.
struct usage_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// An operation refused for what the files hold (a value that does not
/// convert, a constraint broken, an output that cannot be written): exit status 1.
struct data_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The integer kind a column's cells are stored as: the kind itself, or the
/// count type of a timestamp, duration or enumeration; nullopt for others.
[[nodiscard]] std::optional<column_kind> integer_rep(const column_type& t) noexcept;

/// The cell of integer kind rep holding n (int64_t for a signed kind,
/// uint64_t for an unsigned one), or nullopt when n is outside rep's range.
[[nodiscard]] std::optional<value> integer_cell(column_kind rep, std::int64_t n) noexcept;
[[nodiscard]] std::optional<value> integer_cell(column_kind rep, std::uint64_t n) noexcept;

/// Text as a cell of type t, the way `relstore dump` prints one: true/false
/// (or 1/0), decimal integers, numbers (nan, inf), strings as they are,
/// timestamps in ISO 8601 UTC ("2024-03-05T12:34:56.789Z", or a date) or as
/// ticks, durations as ticks with or without their unit ("1500ms"), enum
/// values by name or number, blobs in hex. A float32 cell is rounded to float
/// as the column stores it.
/// @throws usage_failure naming the value and the kind when text is not one.
[[nodiscard]] value parse_cell(const column_type& t, std::string_view text);

}  // namespace relstore::tool
