// relstore_latency: how long a read scope and a one-row commit take while
// other threads write and save, in both store modes (see docs/bench.md,
// "Reader and writer latency").
//
// The store is the W1 data set of WORKLOADS.md (1.6 M rows at --scale=1.0).
// A reader thread opens a read scope, finds one post by its primary key and
// closes the scope, in a tight loop, and each scope's wall time from open to
// close goes into a histogram. Scenarios, each for --seconds:
//   a      idle: the reader alone;
//   b      a writer thread commits one-row transactions (a post's title) in a loop;
//   b2     a writer commits transactions of 100,000 title updates (x scale) in a loop;
//   c-fork saves back to back on a saver thread (save_options{.in_child_process = true},
//          the default) while a writer commits one-row transactions;
//   c-thread the same with save_options{.in_child_process = false}.
// Every scenario runs on a store with the default options and on one with
// store_options{.readers_never_wait = true}.
//
// Not Google Benchmark: the measured thread is one of several running at
// once, and what is wanted is the tail of its distribution, not a mean rate.
// Every sample is a steady_clock difference; the histogram keeps 128
// sub-buckets per power of two (values exact below 256 ns, within 0.8%
// above) and the exact maximum.
//
// Flags: --scale=F (default 1.0), --seconds=S per scenario (default 5),
// --json=PATH (every figure, machine-readable), --dir=PATH (where saves
// write; default a fresh directory under the system temp dir, removed at
// exit), --nice=N (runs the writer and saver threads N nice levels lower, so
// that on a machine with fewer cores than busy threads the scheduler favours
// the reader: it separates waits on the store from waits for a core),
// --child-nice=N (save_options::child_nice of c-fork's saves; default the
// library's, 19),
// --mode=default|never_wait and --scenario=ID (one of each, for profiling),
// --huge-pages (relstore::use_huge_pages(true) before the load: the tables'
// nodes on transparent huge pages, one page-table entry per 2 MiB for a
// save's fork to copy, until writes during a save split them; with
// GLIBC_TUNABLES=glibc.malloc.hugetlb=1 malloc's memory too; how much is on
// huge pages after each scenario is printed), --drop-input (frees the
// generated rows once they are in the store, so that the process holds what
// an application's would: the store; needs --mode, since the second mode
// loads them again), --reader-thread
// (the reader runs on a relstore::reader_thread, its histogram on its stack,
// and the store has store_options::reads_never_wait_for_fork: a save's fork
// never makes it wait).
//
// Beside the percentiles, each scenario reports the reader thread's context
// switches (getrusage RUSAGE_THREAD): voluntary ones are times it blocked
// (a lock, or a page fault waiting in the kernel), involuntary ones are
// times it was preempted. A scenario whose reader has no voluntary switch
// had its slow reads waiting for a core, not for the store.
// Exit status: 0 when every scenario ran and every lookup found its row; the
// targets are printed, never asserted (times on a shared machine are not a
// pass/fail matter for CI).

#include "harness.hpp"
#include "peer_relstore.hpp"

#include <relstore/snapshot.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace rs = relstore;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using bench::rsx::db_t;
using bench::rsx::Post;
using bench::rsx::posts;

// --- a log-linear histogram of nanoseconds ---------------------------------

class histogram {
public:
    void add(std::uint64_t ns) noexcept {
        ++counts_[index(ns)];
        ++n_;
        max_ = std::max(max_, ns);
    }
    [[nodiscard]] std::uint64_t count() const noexcept { return n_; }
    [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
    /// The smallest bucket bound at or below which a fraction p of the samples lie.
    [[nodiscard]] std::uint64_t percentile(double p) const noexcept {
        if (n_ == 0) return 0;
        const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(p * static_cast<double>(n_))));
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(upper(i), max_);
        }
        return max_;
    }
    /// Samples above ns.
    [[nodiscard]] std::uint64_t above(std::uint64_t ns) const noexcept {
        std::uint64_t c = 0;
        for (std::size_t i = index(ns) + 1; i < counts_.size(); ++i) c += counts_[i];
        return c;
    }

private:
    static constexpr unsigned sub_bits = 7;
    static constexpr std::uint64_t sub = std::uint64_t{1} << sub_bits;
    // Below 2*sub: one bucket per value. Above: (shift + 1) * sub + (v >> shift),
    // shift = bit width - 1 - sub_bits, so each power of two has `sub` buckets.
    static std::size_t index(std::uint64_t v) noexcept {
        if (v < 2 * sub) return static_cast<std::size_t>(v);
        const unsigned shift = static_cast<unsigned>(std::bit_width(v)) - 1 - sub_bits;
        return static_cast<std::size_t>(shift * sub + (v >> shift));
    }
    static std::uint64_t upper(std::size_t i) noexcept {
        if (i < 2 * sub) return i;
        const std::uint64_t shift = i / sub - 1, top = i - shift * sub;
        return ((top + 1) << shift) - 1;
    }
    // In the object, not on the heap: a reader on a relstore::reader_thread
    // keeps its histogram on its stack, which a save's fork leaves out.
    std::array<std::uint64_t, (64 - sub_bits + 1) * sub> counts_{};
    std::uint64_t n_ = 0, max_ = 0;
};

std::uint64_t ns_between(clock_type::time_point a, clock_type::time_point b) noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

// --- scenarios ----------------------------------------------------------------

enum class writer_kind { none, one_row, bulk };

struct scenario {
    const char* id;
    const char* what;
    writer_kind writer;
    std::optional<bool> save_in_child;  ///< saves back to back, and how; none: no saves
};

constexpr scenario scenarios[] = {
    {"a", "idle", writer_kind::none, std::nullopt},
    {"b", "1-row commits", writer_kind::one_row, std::nullopt},
    {"b2", "bulk commits", writer_kind::bulk, std::nullopt},
    {"c-fork", "saves (child) + 1-row commits", writer_kind::one_row, true},
    {"c-thread", "saves (thread) + 1-row commits", writer_kind::one_row, false},
};

struct result {
    std::string mode, id, what;
    double seconds = 0;
    histogram reads, commits;
    std::uint64_t misses = 0;
    std::size_t rows_per_commit = 0;
    std::vector<double> save_seconds;
    /// The reader thread's context switches during the scenario: voluntary
    /// (it blocked: a lock, a page fault waiting on the kernel) and
    /// involuntary (preempted: another thread or tenant took its core).
    long waits = 0, preempted = 0;
};

rusage thread_usage() {
    rusage u{};
    ::getrusage(RUSAGE_THREAD, &u);
    return u;
}

struct config {
    double scale = 1.0;
    double seconds = 5.0;
    fs::path json, dir;
    bool own_dir = false;
    std::string only_mode, only_scenario;  ///< empty: all
    int nice = 0;  ///< added to the writer's and saver's nice value (and a save's child's)
    int child_nice = rs::save_options{}.child_nice;  ///< save_options::child_nice of c-fork's saves
    bool huge_pages = false;  ///< relstore::use_huge_pages(true) before the load
    bool drop_input = false;  ///< bench::drop_rows() after the load
    bool reader_thread = false;  ///< the reader runs on a relstore::reader_thread
};

/// Lowers this thread's scheduling priority by n (Linux: nice is per thread).
void lower_priority(int n) {
    if (n > 0) ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), n);
}

/// Makes the copy the next transaction writes equal to the one readers read
/// (readers_never_wait replays a commit at the start of the next transaction),
/// so no scenario's first commit pays for the previous scenario's last one.
void settle(db_t& db) {
    auto tx = db.write();  // catches up; rolls back (nothing) when it ends
}

result run(db_t& db, const bench::dataset& d, const scenario& s, const config& cfg, const char* mode) {
    result r;
    r.mode = mode;
    r.id = s.id;
    r.what = s.what;
    const std::size_t P = d.full.posts;
    r.rows_per_commit = s.writer == writer_kind::bulk
                            ? std::clamp<std::size_t>(static_cast<std::size_t>(std::llround(100'000 * cfg.scale)), 1, P)
                            : (s.writer == writer_kind::one_row ? 1 : 0);
    std::atomic<bool> stop{false};
    std::atomic<int> saves_done{0};
    std::exception_ptr failed;
    std::mutex failed_mu;
    auto guard = [&](auto&& body) {
        try {
            body();
        } catch (...) {
            std::lock_guard l(failed_mu);
            if (!failed) failed = std::current_exception();
            stop = true;
        }
    };

    std::thread writer, saver;
    if (s.writer != writer_kind::none)
        writer = std::thread([&] {
            lower_priority(cfg.nice);
            guard([&] {
                // Two titles of typical length (W8's are 16..48 bytes), alternating.
                const std::string titles[2] = {std::string(32, 'x'), std::string(32, 'y')};
                std::size_t next = 0;
                for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                    const auto t0 = clock_type::now();
                    {
                        auto tx = db.write();
                        for (std::size_t k = 0; k < r.rows_per_commit; ++k) {
                            const auto id = static_cast<std::int64_t>(next % P + 1);
                            next += s.writer == writer_kind::bulk ? 1 : 7919;  // a prime stride: spread single rows
                            tx.set<&Post::title>(tx.get<posts>(id), titles[i & 1]);
                        }
                        tx.commit();
                    }
                    r.commits.add(ns_between(t0, clock_type::now()));
                }
            });
        });
    if (s.save_in_child)
        saver = std::thread([&] {
            lower_priority(cfg.nice);
            guard([&] {
                const fs::path path = cfg.dir / "latency.snap";
                while (!stop.load(std::memory_order_relaxed)) {
                    const auto t0 = clock_type::now();
                    rs::save(db, path, rs::save_options{.in_child_process = *s.save_in_child, .child_nice = cfg.child_nice});
                    r.save_seconds.push_back(std::chrono::duration<double>(clock_type::now() - t0).count());
                    saves_done.fetch_add(1, std::memory_order_release);
                }
            });
        });

    // The reader: this thread, or a relstore::reader_thread (--reader-thread),
    // whose every write during the loop lands on its own stack. A scenario
    // with saves reads at least until the first save is done, so that every
    // save scenario measures one.
    const auto& keys = d.post_keys;
    auto read_loop = [&](histogram& reads, std::uint64_t& misses, long& waits, long& preempted) {
        std::size_t k = 0;
        std::uint64_t sink = 0;
        const rusage usage0 = thread_usage();
        const auto start = clock_type::now();
        const auto deadline = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(cfg.seconds));
        for (;;) {
            const auto t0 = clock_type::now();
            {
                auto q = db.read();
                if (const Post* p = q.find<posts>(keys[k]))
                    sink += p->title.size();
                else
                    ++misses;
            }
            const auto t1 = clock_type::now();
            reads.add(ns_between(t0, t1));
            if (++k == keys.size()) k = 0;
            if (t1 >= deadline && (!s.save_in_child || saves_done.load(std::memory_order_acquire) > 0)) break;
            if (stop.load(std::memory_order_relaxed)) break;  // a writer or saver failed
        }
        const rusage usage1 = thread_usage();
        waits = usage1.ru_nvcsw - usage0.ru_nvcsw;
        preempted = usage1.ru_nivcsw - usage0.ru_nivcsw;
        benchmark::DoNotOptimize(sink);
        return std::chrono::duration<double>(clock_type::now() - start).count();
    };
    if (cfg.reader_thread) {
        rs::reader_thread reader([&] {
            histogram reads;  // on this thread's stack
            std::uint64_t misses = 0;
            long waits = 0, preempted = 0;
            const double seconds = read_loop(reads, misses, waits, preempted);
            r.reads = reads;
            r.misses = misses;
            r.waits = waits;
            r.preempted = preempted;
            r.seconds = seconds;
        });
        reader.join();
    } else {
        r.seconds = read_loop(r.reads, r.misses, r.waits, r.preempted);
    }
    stop = true;
    if (writer.joinable()) writer.join();
    if (saver.joinable()) saver.join();
    if (failed) std::rethrow_exception(failed);
    settle(db);
    return r;
}

// --- output ---------------------------------------------------------------------

std::string us(std::uint64_t ns) {
    char b[32];
    std::snprintf(b, sizeof b, ns < 10'000 ? "%.2f" : "%.0f", static_cast<double>(ns) / 1e3);
    return b;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string mb(std::size_t bytes) { return std::to_string((bytes + (1u << 19)) >> 20) + " MB"; }

const result* find(const std::vector<result>& rs, std::string_view mode, std::string_view id) {
    for (const auto& r : rs)
        if (r.mode == mode && r.id == id) return &r;
    return nullptr;
}

void print_table(const std::vector<result>& rs) {
    std::printf("\n| mode | scenario | reads | read p50 us | p99 us | p99.99 us | max us | reads > 1 ms | reader blocked / preempted | commits "
                "| rows/commit | commit p50 us | p99 us | max us | saves | save s (median) |\n");
    std::printf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (const auto& r : rs) {
        const bool w = r.commits.count() > 0;
        std::printf("| %s | %s %s | %llu | %s | %s | %s | %s | %llu | %ld / %ld | %s | %s | %s | %s | %s | %s | %s |\n",
                    r.mode.c_str(), r.id.c_str(), r.what.c_str(), static_cast<unsigned long long>(r.reads.count()),
                    us(r.reads.percentile(0.5)).c_str(), us(r.reads.percentile(0.99)).c_str(),
                    us(r.reads.percentile(0.9999)).c_str(), us(r.reads.max()).c_str(),
                    static_cast<unsigned long long>(r.reads.above(1'000'000)), r.waits, r.preempted,
                    w ? std::to_string(r.commits.count()).c_str() : "-",
                    w ? std::to_string(r.rows_per_commit).c_str() : "-",
                    w ? us(r.commits.percentile(0.5)).c_str() : "-", w ? us(r.commits.percentile(0.99)).c_str() : "-",
                    w ? us(r.commits.max()).c_str() : "-",
                    r.save_seconds.empty() ? "-" : std::to_string(r.save_seconds.size()).c_str(),
                    r.save_seconds.empty() ? "-" : std::to_string(median(r.save_seconds)).substr(0, 5).c_str());
    }
}

void print_targets(const std::vector<result>& rs, const std::vector<std::string>& modes) {
    std::printf("\n| mode | target | measured | met |\n|---|---|---|---|\n");
    for (const auto& m : modes) {
        for (const char* id : {"b", "c-fork", "c-thread"}) {
            const result* r = find(rs, m, id);
            if (!r) continue;
            const std::uint64_t mx = r->reads.max(), p = r->reads.percentile(0.9999);
            std::printf("| %s | %s: reader max <= 1 ms | %s us | %s |\n", m.c_str(), id, us(mx).c_str(),
                        mx <= 1'000'000 ? "yes" : "**no**");
            std::printf("| %s | %s: reader p99.99 <= 50 us | %s us | %s |\n", m.c_str(), id, us(p).c_str(),
                        p <= 50'000 ? "yes" : "**no**");
        }
        const result* idle = find(rs, m, "b");
        for (const char* id : {"c-fork", "c-thread"}) {
            const result* r = find(rs, m, id);
            if (!idle || !r || idle->commits.count() == 0 || r->commits.count() == 0) continue;
            const double p99 = static_cast<double>(r->commits.percentile(0.99)) /
                               static_cast<double>(std::max<std::uint64_t>(1, idle->commits.percentile(0.99)));
            const double p50 = static_cast<double>(r->commits.percentile(0.5)) /
                               static_cast<double>(std::max<std::uint64_t>(1, idle->commits.percentile(0.5)));
            const double mx = static_cast<double>(r->commits.max()) /
                              static_cast<double>(std::max<std::uint64_t>(1, idle->commits.max()));
            // The commits that overlap a save's wait are few among many, so
            // the p99 alone can hide them: both the p99 and the max must hold.
            std::printf("| %s | %s: 1-row commit during saves <= 2x without (b), p99 and max | p99 %.2fx, max %.2fx "
                        "(p50 %.2fx) | %s |\n",
                        m.c_str(), id, p99, mx, p50, p99 <= 2.0 && mx <= 2.0 ? "yes" : "**no**");
        }
    }
}

void write_json(const fs::path& path, const std::vector<result>& rs, const std::vector<std::pair<std::string, std::size_t>>& rss,
                const std::string& context) {
    std::ofstream out(path);
    out << "{\n  \"context\": {" << context << "},\n  \"resident_bytes_after_load\": {";
    for (std::size_t i = 0; i < rss.size(); ++i)
        out << (i ? ", " : "") << '"' << rss[i].first << "\": " << rss[i].second;
    out << "},\n  \"scenarios\": [\n";
    for (std::size_t i = 0; i < rs.size(); ++i) {
        const auto& r = rs[i];
        auto h = [&](const histogram& x) {
            return "{\"count\": " + std::to_string(x.count()) + ", \"p50_ns\": " + std::to_string(x.percentile(0.5)) +
                   ", \"p99_ns\": " + std::to_string(x.percentile(0.99)) +
                   ", \"p9999_ns\": " + std::to_string(x.percentile(0.9999)) + ", \"max_ns\": " + std::to_string(x.max()) +
                   ", \"over_1ms\": " + std::to_string(x.above(1'000'000)) + "}";
        };
        out << "    {\"mode\": \"" << r.mode << "\", \"scenario\": \"" << r.id << "\", \"seconds\": " << r.seconds
            << ", \"rows_per_commit\": " << r.rows_per_commit << ", \"reads\": " << h(r.reads)
            << ", \"commits\": " << h(r.commits) << ", \"saves\": " << r.save_seconds.size()
            << ", \"save_seconds_median\": " << median(r.save_seconds) << ", \"reader_voluntary_cs\": " << r.waits
            << ", \"reader_involuntary_cs\": " << r.preempted << "}" << (i + 1 < rs.size() ? "," : "") << "\n";
    }
    out << "  ]\n}\n";
}

bool parse(int argc, char** argv, config& cfg) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&](std::string_view flag) -> const char* {
            return a.substr(0, flag.size()) == flag ? argv[i] + flag.size() : nullptr;
        };
        if (const char* v = value("--scale="))
            cfg.scale = std::atof(v);
        else if (const char* v2 = value("--seconds="))
            cfg.seconds = std::atof(v2);
        else if (const char* v3 = value("--json="))
            cfg.json = v3;
        else if (const char* v4 = value("--dir="))
            cfg.dir = v4;
        else if (const char* v8 = value("--child-nice="))
            cfg.child_nice = std::atoi(v8);
        else if (const char* v5 = value("--nice="))
            cfg.nice = std::atoi(v5);
        else if (const char* v6 = value("--mode="))
            cfg.only_mode = v6;
        else if (const char* v7 = value("--scenario="))
            cfg.only_scenario = v7;
        else if (a == "--huge-pages")
            cfg.huge_pages = true;
        else if (a == "--drop-input")
            cfg.drop_input = true;
        else if (a == "--reader-thread")
            cfg.reader_thread = true;
        else {
            std::fprintf(stderr, "relstore_latency: unknown flag %s\n(flags: --scale=F --seconds=S --json=PATH --dir=PATH --nice=N --child-nice=N --mode=default|never_wait --scenario=ID --huge-pages --drop-input --reader-thread)\n",
                         argv[i]);
            return false;
        }
    }
    if (!(cfg.scale > 0) || !(cfg.seconds > 0)) {
        std::fprintf(stderr, "relstore_latency: --scale and --seconds must be > 0\n");
        return false;
    }
    if (cfg.drop_input && cfg.only_mode.empty()) {
        std::fprintf(stderr, "relstore_latency: --drop-input needs --mode=default or --mode=never_wait (each mode loads the rows)\n");
        return false;
    }
    if (cfg.dir.empty()) {
        cfg.own_dir = true;
        cfg.dir = fs::temp_directory_path() / ("relstore-latency-" + std::to_string(::getpid()));
    }
    fs::create_directories(cfg.dir);
    return true;
}

/// Bytes of this process's memory on transparent huge pages (AnonHugePages
/// of /proc/self/smaps_rollup): what a save's fork copies as one entry per
/// 2 MiB instead of 512.
std::size_t huge_page_bytes() {
    std::ifstream f("/proc/self/smaps_rollup");
    std::string key;
    std::size_t kb = 0;
    while (f >> key) {
        if (key == "AnonHugePages:" && f >> kb) return kb << 10;
        f.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
}

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
    config cfg;
    if (!parse(argc, argv, cfg)) return 2;
    bench::set_scale(cfg.scale);
    const bench::dataset& d = bench::data();
    if (cfg.huge_pages) rs::use_huge_pages(true);

    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    const unsigned cores = std::thread::hardware_concurrency();
    const std::string load_at_start = load_average();
    std::printf("relstore_latency: %s, %u cores, load average %s, scale %g (%zu rows), %g s per scenario, "
                "writer/saver nice +%d, save child nice +%d%s%s%s\n",
                date, cores, load_at_start.c_str(), cfg.scale, d.full.total(), cfg.seconds, cfg.nice, cfg.child_nice,
                cfg.huge_pages ? ", huge pages" : "", cfg.drop_input ? ", input rows dropped after the load" : "",
                cfg.reader_thread ? ", reader on a relstore::reader_thread" : ", reader on the main thread");
    std::printf("reader: one read scope per lookup of a post by primary key, open to close; writer: one transaction, "
                "write() to commit()\n");
    std::printf("targets: in b, c-fork and c-thread, reader max <= 1 ms and p99.99 <= 50 us; a 1-row commit's p99 and "
                "max during saves (c) <= 2x those without (b)\n");
    std::fflush(stdout);

    std::vector<result> results;
    std::vector<std::pair<std::string, std::size_t>> rss;
    std::vector<std::string> modes;
    int rc = 0;
    for (const bool never_wait : {false, true}) {
        const std::string mode = never_wait ? "never_wait" : "default";
        if (!cfg.only_mode.empty() && cfg.only_mode != mode) continue;
        modes.push_back(mode);
        bench::release_free_memory();
        const std::size_t before = bench::resident_bytes();
        try {
            db_t db(rs::store_options{.readers_never_wait = never_wait, .reads_never_wait_for_fork = cfg.reader_thread});
            bench::rsx::load_dataset(db, d);
            settle(db);  // with readers_never_wait, builds the second copy
            const std::size_t after = bench::resident_bytes();
            rss.emplace_back(mode, after - std::min(after, before));
            std::printf("%s: resident %s after load (%s for the store; before the load %s); %s on huge pages\n",
                        mode.c_str(), mb(after).c_str(), mb(after - std::min(after, before)).c_str(), mb(before).c_str(),
                        mb(huge_page_bytes()).c_str());
            if (cfg.drop_input) {
                bench::drop_rows();
                bench::release_free_memory();
                std::printf("%s: input rows dropped: resident %s, %s on huge pages\n", mode.c_str(),
                            mb(bench::resident_bytes()).c_str(), mb(huge_page_bytes()).c_str());
            }
            std::fflush(stdout);
            for (const auto& s : scenarios) {
                if (!cfg.only_scenario.empty() && cfg.only_scenario != s.id) continue;
                results.push_back(run(db, d, s, cfg, mode.c_str()));
                const auto& r = results.back();
                std::printf("  %-9s reads %9llu  p50 %7s us  p99.99 %9s us  max %9s us  commits %8llu  saves %3zu  blocked %ld preempted %ld\n", s.id,
                            static_cast<unsigned long long>(r.reads.count()), us(r.reads.percentile(0.5)).c_str(),
                            us(r.reads.percentile(0.9999)).c_str(), us(r.reads.max()).c_str(),
                            static_cast<unsigned long long>(r.commits.count()), r.save_seconds.size(), r.waits,
                            r.preempted);
                if (cfg.huge_pages) std::printf("  after: %s on huge pages\n", mb(huge_page_bytes()).c_str());
                std::fflush(stdout);
                if (r.misses != 0) {
                    std::fprintf(stderr, "relstore_latency: %s/%s: %llu lookups found no row\n", mode.c_str(), s.id,
                                 static_cast<unsigned long long>(r.misses));
                    rc = 1;
                }
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "relstore_latency: %s: %s\n", mode.c_str(), e.what());
            rc = 1;
        }
    }

    print_table(results);
    print_targets(results, modes);
    std::printf("\nresident memory of the loaded store (RSS delta, /proc/self/statm):");
    for (const auto& [m, b] : rss) std::printf(" %s %s;", m.c_str(), mb(b).c_str());
    std::printf("\n");
    if (!cfg.json.empty()) {
        const std::string context = "\"date\": \"" + std::string(date) + "\", \"cores\": " + std::to_string(cores) +
                                    ", \"scale\": " + std::to_string(cfg.scale) +
                                    ", \"rows\": " + std::to_string(d.full.total()) +
                                    ", \"seconds_per_scenario\": " + std::to_string(cfg.seconds) +
                                    ", \"nice\": " + std::to_string(cfg.nice) +
                                    ", \"child_nice\": " + std::to_string(cfg.child_nice) +
                                    ", \"huge_pages\": " + (cfg.huge_pages ? "true" : "false") +
                                    ", \"drop_input\": " + (cfg.drop_input ? "true" : "false") +
                                    ", \"reader_thread\": " + (cfg.reader_thread ? "true" : "false") +
 ", \"load_average\": \"" +
                                    load_at_start + "\"";
        write_json(cfg.json, results, rss, context);
    }
    std::error_code ec;
    if (cfg.own_dir) fs::remove_all(cfg.dir, ec);
    return rc;
}
