// Replaces the global (unaligned) operator new/delete family of the test
// binary with counting versions over malloc/free, which can also fail on
// request. Every form is replaced, so no block is allocated by one allocator
// and freed by another.
#include "alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>
#include <utility>

namespace {

std::atomic<std::size_t> count{0};

constexpr std::size_t not_armed = static_cast<std::size_t>(-1);
thread_local std::size_t until_failure = not_armed;
thread_local bool failed = false;

void* allocate(std::size_t n) noexcept {
    count.fetch_add(1, std::memory_order_relaxed);
    if (until_failure != not_armed) {
        if (until_failure == 0) {
            until_failure = not_armed;
            failed = true;
            return nullptr;
        }
        --until_failure;
    }
    return std::malloc(n ? n : 1);
}

}  // namespace

std::size_t relstore_test::allocations() noexcept { return count.load(std::memory_order_relaxed); }

void relstore_test::fail_allocation_after(std::size_t n) noexcept {
    until_failure = n;
    failed = false;
}

bool relstore_test::disarm_allocation_failure() noexcept {
    until_failure = not_armed;
    return std::exchange(failed, false);
}

void* operator new(std::size_t n) {
    if (void* p = allocate(n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    if (void* p = allocate(n)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
