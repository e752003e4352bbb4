#pragma once
// Counts calls of the global operator new in this test binary, so tests can
// assert that navigating a relationship allocates nothing.

#include <cstddef>

namespace rel {

/// The number of global operator new calls so far.
std::size_t allocations() noexcept;

}  // namespace rel
