// Replaces the global (unaligned) operator new/delete family of the test
// binary with counting versions over malloc/free, which can also fail on
// request. Every form is replaced, so no block is allocated by one allocator
// and freed by another.
#include "alloc_counter.hpp"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <utility>

namespace {

std::atomic<std::size_t> count{0};
std::atomic<std::size_t> in_use{0};  // bytes, as malloc_usable_size counts them
std::atomic<std::size_t> peak{0};
std::atomic<std::size_t> largest{0};

constexpr std::size_t not_armed = static_cast<std::size_t>(-1);
thread_local std::size_t until_failure = not_armed;
thread_local bool failed = false;

void* allocate(std::size_t n) noexcept {
    count.fetch_add(1, std::memory_order_relaxed);
    std::size_t big = largest.load(std::memory_order_relaxed);
    while (n > big && !largest.compare_exchange_weak(big, n, std::memory_order_relaxed)) {
    }
    if (until_failure != not_armed) {
        if (until_failure == 0) {
            until_failure = not_armed;
            failed = true;
            return nullptr;
        }
        --until_failure;
    }
    void* p = std::malloc(n ? n : 1);
    if (p != nullptr) {
        const std::size_t size = ::malloc_usable_size(p);
        const std::size_t now = in_use.fetch_add(size, std::memory_order_relaxed) + size;
        std::size_t seen = peak.load(std::memory_order_relaxed);
        while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
        }
    }
    return p;
}

void release(void* p) noexcept {
    if (p == nullptr) return;
    in_use.fetch_sub(::malloc_usable_size(p), std::memory_order_relaxed);
    std::free(p);
}

}  // namespace

std::size_t relstore_test::allocations() noexcept { return count.load(std::memory_order_relaxed); }

std::size_t relstore_test::bytes_in_use() noexcept { return in_use.load(); }

std::size_t relstore_test::peak_bytes() noexcept { return peak.load(); }

std::size_t relstore_test::reset_peak() noexcept {
    const std::size_t now = in_use.load();
    peak.store(now);
    return now;
}

std::size_t relstore_test::largest_allocation() noexcept { return largest.load(); }

void relstore_test::reset_largest() noexcept { largest.store(0); }

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
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }
