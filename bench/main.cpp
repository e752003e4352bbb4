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
BENCH_WORKLOAD(W7a, w7_after_w8)
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

/// Registers a workload of a relstore variant reported beside relstore
/// (not against the peers): "<workload>/<variant>".
template <class Fn>
void beside(const char* workload, const char* variant, Fn fn, void (*configure)(benchmark::internal::Benchmark*)) {
    configure(benchmark::RegisterBenchmark((std::string(workload) + "/" + variant).c_str(), fn));
}

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
    for_each_peer<W7a>("W7_after_W8", once_per_rep);
    for_each_peer<W9s>("W9_save", io_once_per_rep);
    for_each_peer<W9l>("W9_load", io_once_per_rep);
    for_each_peer<W9fw>("W9_floor_write", io_once_per_rep);
    for_each_peer<W9fr>("W9_floor_read", io_once_per_rep);
    for_each_peer<W10>("W10_memory", once);
    // The cost of listening: one store-wide subscriber (issue 10: at most
    // 1.3x relstore's own time); reported beside relstore, not the peers.
    auto subscribed = [](const char* name, auto fn, auto configure) { beside(name, "relstore_sub", fn, configure); };
    subscribed("W1_bulk_load", W1<relstore_subscribed_peer>::fn, once_per_rep);
    subscribed("W7_cascade_delete", W7<relstore_subscribed_peer>::fn, once_per_rep);
    subscribed("W8_update_title", W8t<relstore_subscribed_peer>::fn, timed);
    subscribed("W8_reparent", W8r<relstore_subscribed_peer>::fn, timed);
    // Read scopes that never wait (issue 14): what the second copy costs
    // the reads and writes of W2-W8 (and the load, W1, for information).
    auto never_wait = [](const char* name, auto fn, auto configure) { beside(name, "relstore_nw", fn, configure); };
    never_wait("W1_bulk_load", W1<relstore_never_wait_peer>::fn, once_per_rep);
    never_wait("W2_pk_lookup", W2<relstore_never_wait_peer>::fn, timed);
    never_wait("W3_one_to_many", W3<relstore_never_wait_peer>::fn, timed);
    never_wait("W4_many_to_one", W4<relstore_never_wait_peer>::fn, timed);
    never_wait("W5_unique_text", W5<relstore_never_wait_peer>::fn, timed);
    never_wait("W6_many_to_many", W6<relstore_never_wait_peer>::fn, timed);
    never_wait("W7_cascade_delete", W7<relstore_never_wait_peer>::fn, once_per_rep);
    never_wait("W8_update_title", W8t<relstore_never_wait_peer>::fn, timed);
    never_wait("W8_reparent", W8r<relstore_never_wait_peer>::fn, timed);
    // relstore::text string columns (issue 12): the memory they save (W10),
    // and what they cost to load (W1) and to look up by a string (W5).
    auto text_columns = [](const char* name, auto fn, auto configure) { beside(name, "relstore_text", fn, configure); };
    text_columns("W1_bulk_load", W1<relstore_text_peer>::fn, once_per_rep);
    text_columns("W5_unique_text", W5<relstore_text_peer>::fn, timed);
    text_columns("W10_memory", W10<relstore_text_peer>::fn, once);
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
