#include <relstore/error.hpp>

namespace relstore::detail {

// Out of line so that the hot inline paths that check for misuse stay small.
[[noreturn]] void throw_usage(const char* what) { throw usage_error(what); }

}  // namespace relstore::detail
