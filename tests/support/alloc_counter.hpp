#pragma once
// Replaces the global operator new of the test binary it is linked into
// (add alloc_counter.cpp to its sources): counts the calls, so tests can
// assert that navigating a relationship allocates nothing, measures bytes in
// use and their peak (a load's memory), and can make the
// n-th allocation of a thread fail, so tests can walk every allocation of an
// operation and check that a std::bad_alloc at each leaves things whole.

#include <cstddef>

namespace relstore_test {

/// The number of global operator new calls so far (all threads).
std::size_t allocations() noexcept;

/// Bytes allocated through operator new and not yet freed (malloc's usable sizes).
std::size_t bytes_in_use() noexcept;
/// The most bytes_in_use() was since the last reset_peak().
std::size_t peak_bytes() noexcept;
/// Resets the peak to what is in use now, and returns that.
std::size_t reset_peak() noexcept;

/// The size of the largest single allocation since the last
/// reset_largest() (all threads).
std::size_t largest_allocation() noexcept;
/// Forgets the largest allocation so far.
void reset_largest() noexcept;

/// From now on, on this thread, the allocation after `n` more succeed
/// throws std::bad_alloc (nothrow forms return null), once.
void fail_allocation_after(std::size_t n) noexcept;

/// Cancels a failure not yet reached; true when the armed failure happened.
bool disarm_allocation_failure() noexcept;

}  // namespace relstore_test
