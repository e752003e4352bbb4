// relstore_profile: one workload of one peer, the same code as relstore_bench,
// run a few times with nothing else around it, for profilers and for phase
// timings that Google Benchmark does not give.
//
//   relstore_profile [--scale=F] [--reps=N] [--dir=PATH] [--huge-pages] [--trim] [--perf-ctl=FIFO] WORKLOAD PEER
//   --huge-pages: relstore::use_huge_pages(true) first (the opt-in)
//   --trim: W9l gives free memory back to the system (malloc_trim) before
//   each load, as in a process that loads at startup; without it a load
//   reuses what the previous repetition freed, where the allocator kept it
//   WORKLOAD: W1 W7 W7a (W7 after W8) W8t W8r W9s W9l W9r (W9 load's read and checksum) W10
//   PEER:     raw sqlite relstore relstore_text relstore_nw
//   relstore_profile [--scale=F] W10text: bytes per row of relstore's
//   containers with std::string and with a compact text type (text_projection.hpp)
//
// Only the timed region of each repetition is instrumented under callgrind
// (valgrind --tool=callgrind --instr-atstart=no relstore_profile ...), so
// that the data set and the untimed set-up are not counted. Each repetition
// prints its wall and thread CPU time, minor page faults and heap growth.
// Under perf, --perf-ctl=FIFO does the same for sampling:
//   mkfifo /tmp/ctl; perf record -D -1 --control=fifo:/tmp/ctl relstore_profile --perf-ctl=/tmp/ctl ...

#include "harness.hpp"
#include "peer_raw.hpp"
#include "peer_relstore.hpp"
#include "peer_sqlite.hpp"
#include "text_projection.hpp"
#include "workloads.hpp"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace bench {
namespace {

double thread_cpu_ms() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

long minor_faults() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/// perf's control FIFO (perf record --control=fifo:PATH), when given: the
/// timed regions are the only ones sampled.
std::ofstream& perf_ctl() {
    static std::ofstream f;
    return f;
}
bool& trim_before_load() {
    static bool trim = false;
    return trim;
}

void perf_say(const char* what) {
    if (perf_ctl().is_open()) perf_ctl() << what << '\n' << std::flush;
}

/// Runs setup() untimed, then body() timed and instrumented; prints one line.
void measure(int rep, const std::function<void()>& setup, const std::function<void()>& body) {
    setup();
    const std::size_t heap0 = heap_in_use(), rss0 = resident_bytes();
    const long faults0 = minor_faults();
    const auto wall0 = std::chrono::steady_clock::now();
    const double cpu0 = thread_cpu_ms();
    CALLGRIND_START_INSTRUMENTATION;
    perf_say("enable");
    body();
    perf_say("disable");
    CALLGRIND_STOP_INSTRUMENTATION;
    const double cpu = thread_cpu_ms() - cpu0;
    const double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall0).count();
    const auto heap1 = static_cast<long long>(heap_in_use()), rss1 = static_cast<long long>(resident_bytes());
    std::printf("rep %d: wall %.1f ms, thread cpu %.1f ms, minor faults %ld, heap %+.1f MB, rss %+.1f MB\n", rep,
                wall, cpu, minor_faults() - faults0, static_cast<double>(heap1 - static_cast<long long>(heap0)) / 1e6,
                static_cast<double>(rss1 - static_cast<long long>(rss0)) / 1e6);
    std::fflush(stdout);
}

/// W10 of relstore's containers holding Text (see text_projection.hpp).
template <class Text>
void project(const char* what) {
    const dataset& d = data();
    const double rows = static_cast<double>(d.full.total());
    for (int rep = 0; rep < opts().reps; ++rep) {
        release_free_memory();
        const std::size_t heap0 = heap_in_use(), rss0 = resident_bytes();
        auto s = std::make_unique<projection::schema<Text>>(d);
        const double heap = static_cast<double>(heap_in_use() - heap0) / rows;
        const double rss = static_cast<double>(resident_bytes() - rss0) / rows;
        std::printf("%s: heap %.1f bytes/row, rss %.1f bytes/row (payload %.1f)\n", what, heap, rss,
                    static_cast<double>(d.payload_bytes) / rows);
        std::fflush(stdout);
    }
}

template <class Peer>
int run(std::string_view workload) {
    const dataset& d = data();
    const int reps = opts().reps;
    std::unique_ptr<Peer> p;
    auto fresh = [&] {
        p.reset();
        p = std::make_unique<Peer>();
    };
    auto loaded = [&] {
        fresh();
        p->load(d);
    };
    auto erase_users = [&] {
        p->write([&](auto& w) {
            for (std::int64_t id : d.delete_users) w.erase_user(id);
        });
    };
    auto check = [&](const counts& n, std::uint64_t sum) {
        const state s = p->full_state();
        if (s.n != n || s.sum != sum) {
            std::fprintf(stderr, "relstore_profile: %s ended in a wrong state\n", Peer::name);
            std::exit(1);
        }
    };
    const auto file = opts().dir / (std::string("profile-") + Peer::name + ".snapshot");
    for (int rep = 0; rep < reps; ++rep) {
        if (workload == "W1") {
            measure(rep, fresh, [&] { p->load(d); });
            check(d.full, d.full_checksum);
        } else if (workload == "W7") {
            measure(rep, loaded, erase_users);
            check(d.after_delete, d.after_delete_checksum);
        } else if (workload == "W7a") {
            measure(rep, [&] { loaded(), w8_churn(*p); }, erase_users);
            check(d.after_delete, d.after_delete_checksum);
        } else if (workload == "W8t" || workload == "W8r") {
            const bool reparent = workload == "W8r";
            measure(rep, [&] { if (!p) loaded(); }, [&] {
                const auto& ch = d.changes;
                for (std::size_t base = 0; base + batch <= ch.size(); base += batch)
                    p->write([&](auto& w) {
                        for (int forward = 1; forward >= 0; --forward)
                            for (std::size_t i = base; i < base + batch; ++i)
                                reparent ? w8_change<true>(w, ch[i], forward != 0)
                                         : w8_change<false>(w, ch[i], forward != 0);
                    });
            });
            check(d.full, d.full_checksum);
        } else if (workload == "W9s") {
            measure(rep, [&] { if (!p) loaded(); }, [&] { p->save(file); });
        } else if (workload == "W9l") {
            measure(rep, [&] {
                if (!std::filesystem::exists(file)) loaded(), p->save(file);
                fresh();
                if (trim_before_load()) release_free_memory();
            }, [&] { p->load_file(file); });
            check(d.full, d.full_checksum);
        } else if (workload == "W9r") {
#if RELSTORE_BENCH_HAVE_SNAPSHOT
            // The part of W9 load that reads the file for its checksum
            // (relstore::load's pass before the rows are decoded).
            measure(rep, [&] { if (!std::filesystem::exists(file)) loaded(), p->save(file); },
                    [&] { (void)relstore::snapshot_reader::open_streamed(file); });
#endif
        } else if (workload == "W10") {
            measure(rep, [&] { p.reset(), release_free_memory(), p = std::make_unique<Peer>(); },
                    [&] { p->load(d); });
            check(d.full, d.full_checksum);
        } else {
            std::fprintf(stderr, "relstore_profile: unknown workload %.*s\n", static_cast<int>(workload.size()),
                         workload.data());
            return 2;
        }
    }
    std::error_code ec;
    std::filesystem::remove(file, ec);
    return 0;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
    std::string_view workload, peer;
    bench::opts().reps = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a.starts_with("--scale="))
            bench::opts().scale = std::atof(argv[i] + 8);
        else if (a.starts_with("--reps="))
            bench::opts().reps = std::atoi(argv[i] + 7);
        else if (a.starts_with("--dir="))
            bench::opts().dir = argv[i] + 6;
        else if (a.starts_with("--perf-ctl=")) {
            bench::perf_ctl().open(argv[i] + 11);
            if (!bench::perf_ctl()) {
                std::fprintf(stderr, "relstore_profile: cannot open perf's control FIFO %s\n", argv[i] + 11);
                return 2;
            }
        } else if (a == "--trim")
            bench::trim_before_load() = true;
        else if (a == "--huge-pages")
            relstore::use_huge_pages(true);  // the opt-in, to measure what it changes
        else if (workload.empty())
            workload = a;
        else
            peer = a;
    }
    if (workload == "W10text") {
        bench::set_scale(bench::opts().scale);
        bench::project<std::string>("relstore's containers, std::string");
        bench::project<bench::projection::text>("relstore's containers, 16-byte text + arena");
        return 0;
    }
    if (peer.empty() || !(bench::opts().scale > 0) || bench::opts().reps < 1) {
        std::fprintf(stderr, "usage: relstore_profile [--scale=F] [--reps=N] [--dir=PATH] [--huge-pages] [--trim] [--perf-ctl=FIFO] WORKLOAD "
                             "PEER\n");
        return 2;
    }
    if (bench::opts().dir.empty()) bench::opts().dir = std::filesystem::temp_directory_path();
    bench::set_scale(bench::opts().scale);
    (void)bench::data();
    if (peer == "raw") return bench::run<bench::raw_peer>(workload);
    if (peer == "sqlite") return bench::run<bench::sqlite_peer>(workload);
    if (peer == "relstore") return bench::run<bench::relstore_peer>(workload);
    if (peer == "relstore_text") return bench::run<bench::relstore_text_peer>(workload);
    if (peer == "relstore_nw") return bench::run<bench::relstore_never_wait_peer>(workload);
    std::fprintf(stderr, "relstore_profile: unknown peer %.*s\n", static_cast<int>(peer.size()), peer.data());
    return 2;
}
