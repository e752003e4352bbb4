// relstore's benchmark suite: W1-W10 of WORKLOADS.md against three peers
// (raw Boost.MultiIndex, SQLite in memory, relstore) in one process and run.
//
// Own flags, taken out before Google Benchmark sees the command line:
//   --scale=F     data-set size factor (default 1.0; env RELSTORE_BENCH_SCALE)
//   --reps=N      repetitions of every timed workload (default 5)
//   --min-time=S  seconds per repetition of the lookup workloads (default 0.2)
//   --dir=PATH    where W9 writes its files (default: the system temp dir)
// Repetitions are randomly interleaved across benchmarks by default
// (--benchmark_enable_random_interleaving=false turns it off).
// Exit status: 0 when every workload ran and all peers agreed, 1 otherwise.

#include "harness.hpp"
#include "peer_raw.hpp"
#include "peer_relstore.hpp"
#include "peer_sqlite.hpp"
#include "workloads.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

namespace {

/// Registers one workload for every peer, in the order raw, sqlite, relstore.
template <template <class> class W>
void for_each_peer(const char* name, void (*configure)(benchmark::internal::Benchmark*)) {
    configure(benchmark::RegisterBenchmark((std::string(name) + "/raw").c_str(), W<raw_peer>::fn));
    configure(benchmark::RegisterBenchmark((std::string(name) + "/sqlite").c_str(), W<sqlite_peer>::fn));
    configure(benchmark::RegisterBenchmark((std::string(name) + "/relstore").c_str(), W<relstore_peer>::fn));
}

#define BENCH_WORKLOAD(alias, ...)                                      \
    template <class Peer>                                               \
    struct alias {                                                      \
        static void fn(benchmark::State& st) { __VA_ARGS__<Peer>(st); } \
    };
BENCH_WORKLOAD(W1, w1_bulk_load)
BENCH_WORKLOAD(W2, w2_pk_lookup)
BENCH_WORKLOAD(W3, w3_one_to_many)
BENCH_WORKLOAD(W4, w4_many_to_one)
BENCH_WORKLOAD(W5, w5_unique_text)
BENCH_WORKLOAD(W6, w6_many_to_many)
BENCH_WORKLOAD(W7, w7_cascade_delete)
template <class Peer>
struct W8t {
    static void fn(benchmark::State& st) { w8_update<Peer, false>(st); }
};
template <class Peer>
struct W8r {
    static void fn(benchmark::State& st) { w8_update<Peer, true>(st); }
};
BENCH_WORKLOAD(W9s, w9_save)
BENCH_WORKLOAD(W9l, w9_load)
BENCH_WORKLOAD(W9fw, w9_floor_write)
BENCH_WORKLOAD(W9fr, w9_floor_read)
BENCH_WORKLOAD(W10, w10_memory)
#undef BENCH_WORKLOAD

// In-memory workloads are timed in CPU time: they run on one thread that never
// waits, and on a shared 2-core machine the wall clock also counts the time
// other tenants hold the core (real time was 1.5-2x CPU time in trial runs).
// W9 waits for the disk (fsync), so it is timed by the wall clock.
void timed(benchmark::internal::Benchmark* b) {
    b->MinTime(opts().min_time)->Repetitions(opts().reps)->DisplayAggregatesOnly(true);
}
void once_per_rep(benchmark::internal::Benchmark* b) {
    b->Iterations(1)->Repetitions(opts().reps)->DisplayAggregatesOnly(true)->Unit(benchmark::kMillisecond);
}
void io_once_per_rep(benchmark::internal::Benchmark* b) { once_per_rep(b->UseRealTime()); }
void once(benchmark::internal::Benchmark* b) { b->Iterations(1)->Repetitions(1)->Unit(benchmark::kMillisecond); }

void register_all() {
    for_each_peer<W1>("W1_bulk_load", once_per_rep);
    for_each_peer<W2>("W2_pk_lookup", timed);
    for_each_peer<W3>("W3_one_to_many", timed);
    for_each_peer<W4>("W4_many_to_one", timed);
    for_each_peer<W5>("W5_unique_text", timed);
    for_each_peer<W6>("W6_many_to_many", timed);
    for_each_peer<W7>("W7_cascade_delete", once_per_rep);
    for_each_peer<W8t>("W8_update_title", timed);
    for_each_peer<W8r>("W8_reparent", timed);
    for_each_peer<W9s>("W9_save", io_once_per_rep);
    for_each_peer<W9l>("W9_load", io_once_per_rep);
    for_each_peer<W9fw>("W9_floor_write", io_once_per_rep);
    for_each_peer<W9fr>("W9_floor_read", io_once_per_rep);
    for_each_peer<W10>("W10_memory", once);
}

/// Takes our own flags out of argv; returns false on a malformed one.
bool parse_own_flags(int& argc, char** argv) {
    if (const char* env = std::getenv("RELSTORE_BENCH_SCALE"); env && *env) opts().scale = std::atof(env);
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::string_view flag) -> const char* {
            return a.substr(0, flag.size()) == flag ? argv[i] + flag.size() : nullptr;
        };
        if (const char* v = value("--scale=")) {
            opts().scale = std::atof(v);
        } else if (const char* v2 = value("--reps=")) {
            opts().reps = std::atoi(v2);
        } else if (const char* v3 = value("--min-time=")) {
            opts().min_time = std::atof(v3);
        } else if (const char* v4 = value("--dir=")) {
            opts().dir = v4;
        } else {
            argv[out++] = argv[i];
            continue;
        }
    }
    argc = out;
    if (!(opts().scale > 0) || opts().reps < 1 || !(opts().min_time > 0)) {
        std::fprintf(stderr, "relstore-bench: --scale and --min-time must be > 0 and --reps >= 1\n");
        return false;
    }
    if (opts().dir.empty()) {
        opts().own_dir = true;
        opts().dir = std::filesystem::temp_directory_path() / ("relstore-bench-" + std::to_string(::getpid()));
    }
    std::filesystem::create_directories(opts().dir);
    return true;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
    if (!bench::parse_own_flags(argc, argv)) return 2;
    // Repetitions of all benchmarks run in a random interleaved order unless
    // the command line says otherwise: on a shared machine a noisy minute
    // then hits every peer alike instead of one peer's whole series.
    std::vector<char*> args(argv, argv + argc);
    static char interleave[] = "--benchmark_enable_random_interleaving=true";
    if (std::none_of(args.begin(), args.end(), [](const char* a) {
            return std::string_view(a).starts_with("--benchmark_enable_random_interleaving");
        }))
        args.insert(args.begin() + 1, interleave);
    args.push_back(nullptr);
    argc = static_cast<int>(args.size()) - 1;
    argv = args.data();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

    bench::set_scale(bench::opts().scale);
    const bench::dataset& d = bench::data();  // built before the clock starts anywhere
    benchmark::AddCustomContext("relstore_bench_scale", std::to_string(d.scale));
    benchmark::AddCustomContext("relstore_bench_rows", std::to_string(d.full.total()));
    benchmark::AddCustomContext("relstore_bench_batch", std::to_string(bench::batch));
    benchmark::AddCustomContext("relstore_bench_reps", std::to_string(bench::opts().reps));
    benchmark::AddCustomContext("sqlite_version", sqlite3_libversion());
    bench::register_all();

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    const int rc = bench::verdict();
    // W9's files, and the directory when it is our own.
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(bench::opts().dir, ec))
        if (f.path().filename().string().rfind("w9-", 0) == 0) std::filesystem::remove(f.path(), ec);
    if (bench::opts().own_dir) std::filesystem::remove(bench::opts().dir, ec);
    return rc;
}
