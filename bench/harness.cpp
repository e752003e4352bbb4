// The harness shared by relstore_bench and relstore_profile: options, the
// checksum ledger, and the heap and resident-set probes.

#include "harness.hpp"

#include <relstore/store.hpp>

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace bench {

options& opts() {
    static options o;
    return o;
}

namespace {

struct ledger_entry {
    std::map<std::string, std::uint64_t> by_peer;
    std::vector<std::string> failures;
};
std::map<std::string, ledger_entry>& ledger() {
    static std::map<std::string, ledger_entry> l;
    return l;
}

}  // namespace

void record(std::string_view workload, std::string_view peer, std::uint64_t checksum) {
    auto& e = ledger()[std::string(workload)];
    auto [it, fresh] = e.by_peer.emplace(std::string(peer), checksum);
    if (!fresh && it->second != checksum)
        e.failures.push_back(std::string(peer) + " gave checksum " + std::to_string(checksum) + " after " +
                             std::to_string(it->second) + " in an earlier repetition");
}

void fail(std::string_view workload, std::string_view peer, const std::string& what) {
    std::fprintf(stderr, "relstore-bench: FAILED %.*s [%.*s]: %s\n", static_cast<int>(workload.size()),
                 workload.data(), static_cast<int>(peer.size()), peer.data(), what.c_str());
    ledger()[std::string(workload)].failures.push_back(std::string(peer) + ": " + what);
}

int verdict() {
    int bad = 0;
    std::fprintf(stderr, "\nrelstore-bench: checksums (scale %g)\n", opts().scale);
    for (auto& [workload, e] : ledger()) {
        bool agree = true;
        for (const auto& [peer, sum] : e.by_peer) agree = agree && sum == e.by_peer.begin()->second;
        std::string peers;
        for (const auto& [peer, sum] : e.by_peer) peers += (peers.empty() ? "" : ", ") + peer + "=" + std::to_string(sum);
        if (!agree) e.failures.push_back("peers disagree: " + peers);
        if (e.failures.empty()) {
            std::fprintf(stderr, "  %-20s ok: %zu peers agree (%s)\n", workload.c_str(), e.by_peer.size(), peers.c_str());
        } else {
            ++bad;
            for (const auto& f : e.failures) std::fprintf(stderr, "  %-20s FAILED: %s\n", workload.c_str(), f.c_str());
        }
    }
    if (ledger().empty()) {
        std::fprintf(stderr, "relstore-bench: no workload ran (check --benchmark_filter)\n");
        return 1;
    }
    std::fprintf(stderr, bad ? "relstore-bench: %d workload(s) FAILED\n" : "relstore-bench: all peers agree\n", bad);
    return bad ? 1 : 0;
}

std::size_t heap_in_use() {
    const struct mallinfo2 mi = ::mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

std::size_t resident_bytes() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return 0;
    unsigned long size = 0, resident = 0;
    const int got = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    return got == 2 ? static_cast<std::size_t>(resident) * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

void release_free_memory() {
    // relstore keeps destroyed tables' slabs for reuse: still in use for
    // malloc, so a store built from them would not show in heap_in_use().
    relstore::release_cached_memory();
    ::malloc_trim(0);
}

}  // namespace bench
