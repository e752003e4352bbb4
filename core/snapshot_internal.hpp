#pragma once
// Helpers shared by core/snapshot_*.cpp; not installed.

#include <relstore/error.hpp>
#include <relstore/snapshot_format.hpp>
#include <relstore/schema_info.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relstore::detail {

/// Throws snapshot_error with a message "KIND 'NAME' at byte N: MSG".
[[noreturn]] void file_fail(std::string_view kind, errc code, const std::string& name,
                            std::optional<std::uint64_t> offset, const std::string& msg);
/// Throws snapshot_error with a message "snapshot 'NAME' at byte N: MSG".
[[noreturn]] void snapshot_fail(errc code, const std::string& name, std::optional<std::uint64_t> offset,
                                const std::string& msg);

/// Throws snapshot_error (io) for a failed operating-system call, with errno's text.
[[noreturn]] void snapshot_io_fail(const std::string& name, const std::string& what, int err);

/// Describes the first way a schema is not well formed, if any (duplicate or
/// empty names, references to unknown columns or tables).
[[nodiscard]] std::optional<std::string> schema_problem(const schema_info& schema);

/// "0x" and 16 hex digits.
[[nodiscard]] std::string hex64(std::uint64_t v);

}  // namespace relstore::detail
