// The journal's speed targets (docs/journal.md), side by side in one run:
// - every_commit, one row per transaction, against SQLite in WAL mode with
//   synchronous=FULL, both on the same disk (RELSTORE_BENCH_DIR, else the
//   system's temporary directory); and relstore without preallocation (the
//   file grows with each record, each sync an fsync), to show what it saves;
// - W1 (inserts) and W8 (title updates of random posts, and of posts in key
//   order) in transactions of 1,000 rows, with sync::interval and
//   sync::none, against the same store in memory;
// - recovery of a journal of N row changes against loading a snapshot of the
//   same rows (N = RELSTORE_JOURNAL_BENCH_ROWS, default 1,000,000).
// Rates are counters (rows/s, commits/s); report them as ratios of the pairs.
// Every benchmark checks its result (rows stored, replayed, loaded, the last
// title set); a wrong one fails the run (exit status 1). --smoke runs each
// for 3 iterations over small stores, for CI, which never looks at times.

#include <relstore/journal.hpp>
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace rs = relstore;
namespace fs = std::filesystem;

struct Post {
    std::int64_t id{};
    std::int64_t author_id{};
    std::string title;
    std::string content;
};
RELSTORE_FIELDS(Post, id, author_id, title, content)
using posts = rs::table<"posts", Post, rs::auto_key<&Post::id>, rs::index<&Post::author_id>>;
using store = rs::store<posts>;

const std::string content(64, 'c');

fs::path bench_dir() {
    const char* d = std::getenv("RELSTORE_BENCH_DIR");
    fs::path base = d ? fs::path(d) : fs::temp_directory_path();
    std::string t = (base / "relstore-journal-bench-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + base.string());
    return t;
}

/// --smoke: 3 iterations of each benchmark over small stores (CI).
bool smoke = false;

std::uint64_t env_rows() {
    const char* v = std::getenv("RELSTORE_JOURNAL_BENCH_ROWS");
    return v ? std::strtoull(v, nullptr, 10) : (smoke ? 3'000 : 1'000'000);
}

/// Set by check() when a benchmark's result is wrong: main's exit status.
bool failed = false;

/// Fails the benchmark (and the run) when its result is not what it must be.
void check(benchmark::State& state, bool ok, const char* what) {
    if (ok) return;
    failed = true;
    state.SkipWithError(what);
}

rs::durable_options options(rs::sync s) {
    rs::durable_options o;
    o.sync = s;
    o.checkpoint_bytes = 0;  // the journal's write rate alone, no checkpoint in the middle
    return o;
}

/// The store, durable or not, in a fresh directory.
struct subject {
    fs::path dir;
    store db;
    std::optional<rs::durable<store>> d;
    explicit subject(std::optional<rs::sync> s, std::optional<std::uint64_t> preallocate = std::nullopt) {
        if (!s) return;
        dir = bench_dir();
        auto o = options(*s);
        if (preallocate) o.preallocate = *preallocate;
        d.emplace(db, dir / "b.snap", dir / "b.journal", o);
    }
    ~subject() {
        d.reset();
        if (!dir.empty()) fs::remove_all(dir);
    }
};

std::optional<rs::sync> policy_of(int arg) {
    switch (arg) {
    case 1: return rs::sync::interval;
    case 2: return rs::sync::none;
    case 3: return rs::sync::every_commit;
    default: return std::nullopt;
    }
}
const char* policy_name(int arg) {
    switch (arg) {
    case 1: return "interval";
    case 2: return "none";
    case 3: return "every_commit";
    default: return "memory";
    }
}

/// Arg: the preallocation step (-1: the default).
void one_row_commits_relstore(benchmark::State& state) {
    const auto step = state.range(0);
    subject s(rs::sync::every_commit,
              step < 0 ? std::nullopt : std::optional<std::uint64_t>(static_cast<std::uint64_t>(step)));
    std::int64_t i = 0;
    for (auto _ : state) {
        auto tx = s.db.write();
        tx.insert(Post{0, ++i % 1000, "title " + std::to_string(i), content});
        tx.commit();
    }
    check(state, s.db.read().count<posts>() == static_cast<std::size_t>(state.iterations()), "a commit's row is missing");
    state.counters["commits/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void one_row_commits_sqlite(benchmark::State& state) {
    const auto dir = bench_dir();
    sqlite3* db = nullptr;
    if (sqlite3_open((dir / "b.sqlite").c_str(), &db) != SQLITE_OK) throw std::runtime_error("sqlite3_open");
    const auto exec = [&](const char* sql) {
        if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error(sqlite3_errmsg(db));
    };
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER, title TEXT, content TEXT)");
    exec("CREATE INDEX posts_author ON posts(author_id)");
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO posts (author_id, title, content) VALUES (?, ?, ?)", -1, &ins, nullptr);
    std::int64_t i = 0;
    for (auto _ : state) {
        exec("BEGIN");
        const std::string title = "title " + std::to_string(++i);
        sqlite3_bind_int64(ins, 1, i % 1000);
        sqlite3_bind_text(ins, 2, title.c_str(), static_cast<int>(title.size()), SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, content.c_str(), static_cast<int>(content.size()), SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
        sqlite3_reset(ins);
        exec("COMMIT");
    }
    sqlite3_stmt* count = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM posts", -1, &count, nullptr);
    check(state, sqlite3_step(count) == SQLITE_ROW && sqlite3_column_int64(count, 0) == state.iterations(),
          "a commit's row is missing");
    sqlite3_finalize(count);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    fs::remove_all(dir);
    state.counters["commits/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

/// W1: inserts, 1,000 rows per transaction.
void w1_insert(benchmark::State& state) {
    subject s(policy_of(static_cast<int>(state.range(0))));
    state.SetLabel(policy_name(static_cast<int>(state.range(0))));
    std::int64_t i = 0;
    for (auto _ : state) {
        auto tx = s.db.write();
        for (int r = 0; r < 1000; ++r) {
            ++i;
            tx.insert(Post{0, i % 10000, "title " + std::to_string(i), content});
        }
        tx.commit();
    }
    check(state, s.db.read().count<posts>() == static_cast<std::size_t>(state.iterations()) * 1000, "an inserted row is missing");
    state.counters["rows/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * 1000), benchmark::Counter::kIsRate);
}

/// W8: a new title for 1,000 posts per transaction, over 100,000 rows.
/// Arg 1: random posts (WORKLOADS.md), drawn before the loop, the same for
/// every peer; or posts in key order (Arg 1 = 0), the journal's harder case:
/// cache-friendly lookups leave its share of the time largest.
void w8_update(benchmark::State& state) {
    const bool random_posts = state.range(1) != 0;
    subject s(policy_of(static_cast<int>(state.range(0))));
    state.SetLabel(policy_name(static_cast<int>(state.range(0))));
    const std::int64_t rows = smoke ? 2'000 : 100'000;
    {
        auto tx = s.db.write();
        for (std::int64_t i = 1; i <= rows; ++i) tx.insert(Post{0, i % 10000, "title " + std::to_string(i), content});
        tx.commit();
    }
    std::vector<std::int64_t> keys(1 << 20);
    std::mt19937_64 rng(8);
    for (std::size_t i = 0; i < keys.size(); ++i)
        keys[i] = random_posts ? static_cast<std::int64_t>(rng() % rows) + 1
                               : static_cast<std::int64_t>(i % static_cast<std::size_t>(rows)) + 1;
    std::size_t next = 0;
    std::int64_t round = 0;
    for (auto _ : state) {
        ++round;
        auto tx = s.db.write();
        for (int r = 0; r < 1000; ++r) {
            tx.set<&Post::title>(tx.get<posts>(keys[next]), "retitled " + std::to_string(round));
            next = (next + 1) % keys.size();
        }
        tx.commit();
    }
    const std::int64_t last = keys[(next + keys.size() - 1) % keys.size()];
    check(state, round == 0 || s.db.read().get<posts>(last).title == "retitled " + std::to_string(round),
          "the last title set is not the stored one");
    state.counters["rows/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * 1000), benchmark::Counter::kIsRate);
}

/// The same N rows as a journal (1,000 per record, sync::none) and as a snapshot.
struct recovery_files {
    fs::path dir = bench_dir();
    std::uint64_t rows = env_rows();
    recovery_files() {
        store db;
        {
            rs::durable<store> d(db, dir / "j.snap", dir / "j.journal", options(rs::sync::none));
            for (std::uint64_t done = 0; done < rows;) {
                auto tx = db.write();
                for (int r = 0; r < 1000 && done < rows; ++r, ++done)
                    tx.insert(Post{0, static_cast<std::int64_t>(done % 10000), "title " + std::to_string(done), content});
                tx.commit();
            }
        }
        rs::save(db, dir / "s.snap");
    }
    ~recovery_files() { fs::remove_all(dir); }
};
recovery_files& files() {
    static recovery_files f;
    return f;
}

void recover_journal(benchmark::State& state) {
    auto& f = files();
    for (auto _ : state) {
        store db;
        rs::durable<store> d(db, f.dir / "j.snap", f.dir / "j.journal", options(rs::sync::none));
        benchmark::DoNotOptimize(d.recovery().rows_replayed);
        check(state, d.recovery().rows_replayed == f.rows && db.read().count<posts>() == f.rows,
              "the journal did not replay every row");
    }
    state.counters["rows/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * f.rows), benchmark::Counter::kIsRate);
}

void load_snapshot(benchmark::State& state) {
    auto& f = files();
    for (auto _ : state) {
        store db;
        rs::load(db, f.dir / "s.snap");
        check(state, db.read().count<posts>() == f.rows, "the snapshot did not load every row");
    }
    state.counters["rows/s"] =
        benchmark::Counter(static_cast<double>(state.iterations() * f.rows), benchmark::Counter::kIsRate);
}

/// Registered here, not with BENCHMARK(), so that --smoke can replace each
/// one's running time (a MinTime set in code wins over the command line).
void register_benchmarks() {
    using benchmark::RegisterBenchmark;
    const auto timed = [](benchmark::internal::Benchmark* b, double seconds) {
        b->UseRealTime();
        if (smoke)
            b->Iterations(3);
        else
            b->MinTime(seconds);
    };
    timed(RegisterBenchmark("every_commit_1row/relstore", one_row_commits_relstore)->Arg(-1), 2.0);
    timed(RegisterBenchmark("every_commit_1row/relstore_no_prealloc", one_row_commits_relstore)->Arg(0), 2.0);
    timed(RegisterBenchmark("every_commit_1row/sqlite_wal_full", one_row_commits_sqlite), 2.0);
    // A fixed count: each run loads the same 500,000 rows into a store that
    // grows the same way. Timed runs (the faster peer did more transactions
    // and grew a bigger store, in another heap state) swung 0.55-0.89x.
    RegisterBenchmark("W1_insert_1000", w1_insert)->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Iterations(smoke ? 3 : 500);
    timed(RegisterBenchmark("W8_update_title_1000", w8_update)->ArgsProduct({{0, 1, 2}, {1}}), 1.0);
    timed(RegisterBenchmark("W8_update_title_1000_in_key_order", w8_update)->ArgsProduct({{0, 1, 2}, {0}}), 1.0);
    timed(RegisterBenchmark("recover/journal", recover_journal)->Unit(benchmark::kMillisecond), 2.0);
    timed(RegisterBenchmark("recover/snapshot_load", load_snapshot)->Unit(benchmark::kMillisecond), 2.0);
}

}  // namespace

int main(int argc, char** argv) {
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--smoke") == 0)
            smoke = true;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    register_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (failed) std::fprintf(stderr, "relstore_journal_bench: a benchmark's result was wrong (see its error above)\n");
    return failed ? 1 : 0;
}
