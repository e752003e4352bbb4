#pragma once
// Which sanitizer this translation unit is built with (GCC says so with
// __SANITIZE_*__, clang with __has_feature), for the few places that act on
// it: a save's child (child_process.hpp) and the slabs a node pool keeps
// for reuse, poisoned while no table owns them (node_pool.hpp).

#if defined(__SANITIZE_ADDRESS__)
#define RELSTORE_DETAIL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RELSTORE_DETAIL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RELSTORE_DETAIL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RELSTORE_DETAIL_TSAN 1
#endif
#endif

// Marks memory that must not be touched (a read or write of it is reported
// as use after free) and gives it back; nothing without AddressSanitizer.
#if defined(RELSTORE_DETAIL_ASAN)
#include <sanitizer/asan_interface.h>
#define RELSTORE_DETAIL_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define RELSTORE_DETAIL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define RELSTORE_DETAIL_POISON(p, n) ((void)(p), (void)(n))
#define RELSTORE_DETAIL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
