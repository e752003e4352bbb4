#pragma once
/// @file error.hpp
/// The one exception hierarchy of relstore. Every error is a std::system_error
/// whose code belongs to relstore's error category, so callers can catch by type
/// or compare codes, and every message names what was wrong (table, column and
/// value, or file and byte offset).

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

namespace relstore {

/// Error conditions raised by relstore.
enum class errc {
    duplicate_key = 1,      ///< a row with that primary key already exists
    unique_violation,       ///< a unique constraint on other columns is violated
    foreign_key_violation,  ///< a foreign key matches no parent row
    restrict_violation,     ///< an erase is blocked by rows that reference the row
    cycle,                  ///< a change would close a cycle in an acyclic relationship
    not_found,              ///< no row has that key
    key_changed,            ///< an update tried to change a primary key
    usage,                  ///< the API was used in a way it does not allow (e.g. lock misuse)
    io,                     ///< an operating-system call on a file failed
    bad_snapshot,           ///< a snapshot file is malformed (magic, size, offsets, values)
    checksum_mismatch,      ///< a snapshot's checksum does not match its bytes
    unsupported_version,    ///< a snapshot was written by an unknown format version
    incompatible_platform,  ///< a snapshot was written with another endianness or word size
    schema_mismatch,        ///< a snapshot's schema cannot be loaded into this store
    invalid_value,          ///< a value its column cannot hold (NaN in an indexed floating-point column)
    check_violation,        ///< a check (validator) declared on the table refused a row
    bad_input,              ///< JSON, CSV or an archive is malformed or does not fit the store's schema
};

}  // namespace relstore

// Lets an errc compare with error codes: e.code() == relstore::errc::not_found.
template <>
struct std::is_error_code_enum<relstore::errc> : std::true_type {};

namespace relstore {

/// The error category of relstore's error codes; its name is "relstore".
[[nodiscard]] const std::error_category& error_category() noexcept;

/// Makes an error_code of relstore's category.
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// Base of every exception relstore throws.
class error : public std::system_error {
public:
    error(errc code, const std::string& what) : error(make_error_code(code), what) {}
    error(std::error_code code, const std::string& what) : std::system_error(code, what), message_(what) {}

    /// The message alone, e.g. `users.name = "Naruto Uzumaki" already exists`
    /// (std::system_error would append the category's text; code() has it).
    [[nodiscard]] const char* what() const noexcept override { return message_.what(); }

private:
    std::runtime_error message_;  // a copy that cannot throw, unlike std::string
};

/// A constraint rejected a write; the store is unchanged.
class constraint_error : public error {
public:
    constraint_error(errc code, std::string table, std::string columns, const std::string& what)
        : error(code, what), table_(std::move(table)), columns_(std::move(columns)) {}

    /// The table whose constraint was violated, e.g. "users".
    [[nodiscard]] const std::string& table() const noexcept { return table_; }
    /// The column or columns involved, e.g. "name" or "(author_id, book_id)".
    [[nodiscard]] const std::string& columns() const noexcept { return columns_; }

private:
    std::string table_;
    std::string columns_;
};

/// A checked lookup (get) found no row.
class not_found_error : public error {
public:
    not_found_error(std::string table, const std::string& what)
        : error(errc::not_found, what), table_(std::move(table)) {}
    /// The table that was searched.
    [[nodiscard]] const std::string& table() const noexcept { return table_; }

private:
    std::string table_;
};

/// The API was misused at run time (e.g. opening a read scope on a thread that
/// holds the store's write transaction, which would deadlock).
class usage_error : public error {
public:
    explicit usage_error(const std::string& what) : error(errc::usage, what) {}
};

/// JSON or CSV input (json.hpp, csv.hpp) or a Boost archive (archive.hpp)
/// could not be read into the store, or a value could not be written in the
/// format; names the table, the column and the row where they apply.
class input_error : public error {
public:
    input_error(errc code, std::string table, std::string column, std::string row, const std::string& what)
        : error(code, what), table_(std::move(table)), column_(std::move(column)), row_(std::move(row)) {}

    /// The table involved, or empty.
    [[nodiscard]] const std::string& table() const noexcept { return table_; }
    /// The column involved, or empty.
    [[nodiscard]] const std::string& column() const noexcept { return column_; }
    /// Where the row is: "row 3" (JSON, archives: 0-based within its table) or "line 4" (CSV), or empty.
    [[nodiscard]] const std::string& row() const noexcept { return row_; }

private:
    std::string table_;
    std::string column_;
    std::string row_;
};

/// A snapshot could not be written or read; names the file and, where it
/// applies, the byte offset at which the problem was found.
class snapshot_error : public error {
public:
    snapshot_error(std::error_code code, std::string path, std::optional<std::uint64_t> offset,
                   const std::string& what)
        : error(code, what), path_(std::move(path)), offset_(offset) {}
    snapshot_error(errc code, std::string path, std::optional<std::uint64_t> offset, const std::string& what)
        : snapshot_error(make_error_code(code), std::move(path), offset, what) {}

    /// The file involved ("<stream>" for streams).
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// The byte offset of the problem, when it has one.
    [[nodiscard]] std::optional<std::uint64_t> offset() const noexcept { return offset_; }

private:
    std::string path_;
    std::optional<std::uint64_t> offset_;
};

}  // namespace relstore
