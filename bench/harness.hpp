#pragma once
/// @file harness.hpp
/// What the workloads share: run options, the checksum ledger that makes the
/// binary fail when peers disagree, heap measurement, and the shared loaded
/// instance of each peer that the read-only workloads query.

#include "data.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bench {

/// Options parsed from the command line before benchmark::Initialize.
struct options {
    double scale = 1.0;
    int reps = 5;          ///< repetitions of timed workloads (medians are reported)
    double min_time = 0.2;  ///< seconds per repetition of the lookup workloads
    std::filesystem::path dir;  ///< where W9 writes its files
    bool own_dir = false;       ///< dir was made for this run (removed at the end)
};
options& opts();

/// Records the checksum one peer computed for one workload; peers are
/// compared after the run. Recording twice for one (workload, peer) with a
/// different value is itself a failure (the peer is not deterministic).
void record(std::string_view workload, std::string_view peer, std::uint64_t checksum);
/// Records a failure that is not a disagreement (a wrong count, an exception).
void fail(std::string_view workload, std::string_view peer, const std::string& what);
/// Prints the verdict; returns the process exit code (0 when every workload
/// ran and every peer agreed).
int verdict();

/// Checks a peer's whole state against what the data set says it must be.
inline void expect_state(std::string_view workload, std::string_view peer, const state& got, const counts& want_n,
                         std::uint64_t want_sum) {
    if (got.n != want_n)
        fail(workload, peer,
             "row counts users/posts/authors/books/links = " + std::to_string(got.n.users) + "/" +
                 std::to_string(got.n.posts) + "/" + std::to_string(got.n.authors) + "/" + std::to_string(got.n.books) +
                 "/" + std::to_string(got.n.links) + ", expected " + std::to_string(want_n.users) + "/" +
                 std::to_string(want_n.posts) + "/" + std::to_string(want_n.authors) + "/" +
                 std::to_string(want_n.books) + "/" + std::to_string(want_n.links));
    else if (got.sum != want_sum)
        fail(workload, peer, "state checksum " + std::to_string(got.sum) + ", expected " + std::to_string(want_sum));
    record(workload, peer, got.sum ^ (got.n.total() << 40));
}

/// Bytes the allocator has handed out and not taken back (main arena + mmap).
std::size_t heap_in_use();
/// The process's resident set in bytes (/proc/self/statm).
std::size_t resident_bytes();
/// Gives the allocator's free memory back to the system (malloc_trim),
/// relstore's kept slabs first (relstore::release_cached_memory).
void release_free_memory();

/// The loaded instance of Peer that read workloads and W8 share (W8 restores
/// what it changes). Built, checked, on first use.
template <class Peer>
Peer& shared_peer() {
    static std::unique_ptr<Peer> p;
    if (!p) {
        auto fresh = std::make_unique<Peer>();
        fresh->load(data());
        expect_state("load", Peer::name, fresh->full_state(), data().full, data().full_checksum);
        p = std::move(fresh);
    }
    return *p;
}

/// Runs body(); an exception becomes a recorded failure and a skipped
/// benchmark instead of a crash, so the verdict names it.
template <class Body>
void guarded(benchmark::State& st, std::string_view workload, std::string_view peer, Body&& body) {
    try {
        body();
    } catch (const std::exception& e) {
        fail(workload, peer, std::string("exception: ") + e.what());
        st.SkipWithError(e.what());
    }
}

}  // namespace bench
