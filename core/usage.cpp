#include <relstore/detail/scopes.hpp>
#include <relstore/detail/walk.hpp>
#include <relstore/error.hpp>

#include <cstdio>
#include <exception>
#include <unordered_map>

namespace relstore::detail {

// Out of line so that the hot inline paths that check for misuse stay small.
[[noreturn]] void throw_usage(const char* what) { throw usage_error(what); }

[[noreturn]] void terminate_usage(const char* what) noexcept {
    std::fprintf(stderr, "%s\n", what);
    std::fflush(stderr);
    std::terminate();
}

[[noreturn]] void throw_walk_changed(const walk_stamp& stamp) {
    throw usage_error("relstore: a range over " + stamp.index +
                      " was walked on after that index changed under it (a row inserted or erased, a savepoint "
                      "rolled back, or one of the index's columns written), so the walk would skip or repeat rows, "
                      "or reach an erased one; collect the rows first (pointers or keys in a std::vector), then "
                      "write, or use a verb that walks for you (erase with on_delete::cascade, unlink_all, "
                      "plan_erase)");
}

namespace {

struct scope_registry {
    std::mutex mu;
    std::uint64_t next_id = 1;
    std::unordered_map<std::uint64_t, thread_scopes*> live;
};

// Never destroyed: threads may still exit (and unregister) while static
// objects are destroyed at the end of the process.
scope_registry& registry() {
    static auto* r = new scope_registry;
    return *r;
}

}  // namespace

thread_scopes::thread_scopes() {
    auto& r = registry();
    std::lock_guard g(r.mu);
    id_ = r.next_id++;
    try {
        r.live.emplace(id_, this);
    } catch (...) {
        // Out of memory: ends reported from other threads are then lost
        // (see ended_elsewhere); this thread's own checks still work.
    }
}

thread_scopes::~thread_scopes() {
    auto& r = registry();
    std::lock_guard g(r.mu);
    r.live.erase(id_);
}

void thread_scopes::ended_elsewhere(std::uint64_t owner, const void* lock) noexcept {
    auto& r = registry();
    std::lock_guard g(r.mu);  // keeps the owner's record alive while we write to it
    const auto it = r.live.find(owner);
    if (it == r.live.end()) return;
    thread_scopes& t = *it->second;
    std::lock_guard g2(t.reported_mu_);
    try {
        t.reported_ends_.push_back(lock);
    } catch (...) {
        // Out of memory: the entry stays, and the owner's next write() is
        // refused as if it still held the scope (an error, never a hang).
        return;
    }
    t.reported_.store(true, std::memory_order_release);
}

void thread_scopes::take_reported() noexcept {
    std::lock_guard g(reported_mu_);
    for (const void* lock : reported_ends_) forget(lock);
    reported_ends_.clear();
    reported_.store(false, std::memory_order_relaxed);
}

}  // namespace relstore::detail
