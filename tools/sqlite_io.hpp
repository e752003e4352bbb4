#pragma once
// `relstore export --sqlite` and `relstore import`: a snapshot as a SQLite
// database and back (tools/sqlite_io.cpp; the mapping is in the README).

#include "cells.hpp"

#include <relstore/snapshot_format.hpp>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace relstore::tool {

/// Writes a new SQLite database at out with r's tables (typed columns, NOT
/// NULL, primary keys, foreign keys with their on-delete actions, unique
/// constraints and indexes) and rows, replacing out only once it is
/// complete: a failure leaves an existing out untouched.
/// @throws usage_failure when out is a directory; data_failure naming the
/// table, column, row and value SQLite cannot hold (a uint64 above
/// INT64_MAX, a NaN), or SQLite's error; snapshot_error for a bad snapshot.
void export_sqlite(const snapshot_reader& r, const std::filesystem::path& out);

/// Reads the SQLite database db into a snapshot image with schema's schema
/// (tables and columns matched by name), rows in key order and next keys
/// from sqlite_sequence, and checks it as `relstore verify` does.
/// @throws data_failure naming the table, column, row and value that does
/// not convert without loss, a table or column one side lacks, a broken
/// constraint, or SQLite's error.
[[nodiscard]] std::vector<std::byte> import_sqlite(const std::filesystem::path& db, const snapshot_reader& schema);

}  // namespace relstore::tool
