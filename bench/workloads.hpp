#pragma once
/// @file workloads.hpp
/// W1-W10 of WORKLOADS.md, each written once as a template over a peer.
///
/// A peer is a class with:
///   static constexpr const char* name;
///   void load(const dataset&);                 // W1: every row, one transaction
///   R read(F f);    // f(reader&) inside one read scope; returns what f returns
///   R write(F f);   // f(writer&) inside one write transaction, committed
///   state full_state();                         // counts + checksum of every row
///   void save(path); void load_file(path);      // W9
/// a reader has user_name, user_posts, post_author, user_by_name, author_books,
/// book_authors and post_sig; a writer has set_title, set_author, erase_user.
///
/// Lookup workloads run batches of `batch` queries per iteration, walking a
/// query stream as long as the table (so the working set is the whole table,
/// not a cache-resident subset). The checksum of every batch is computed once
/// untimed and then compared in every timed iteration, so the timed work is
/// the verified work; the whole-stream checksum is compared across peers.

#include "data.hpp"
#include "harness.hpp"
#include "io.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bench {

using benchmark::Counter;

inline Counter rate(double n) { return Counter(n, Counter::kIsRate); }

/// Runs `per` operations per query over a stream of n queries; op(reader, i)
/// answers query i and returns its checksum contribution.
template <class Peer, class Op>
void lookups(benchmark::State& st, const char* workload, const char* unit, std::size_t n, double per, Op op) {
    guarded(st, workload, Peer::name, [&] {
        Peer& p = shared_peer<Peer>();
        const std::size_t windows = n / batch;
        auto run_window = [&](std::size_t w) {
            return p.read([&](auto& r) {
                std::uint64_t s = 0;
                for (std::size_t i = w * batch, e = i + batch; i < e; ++i) s += op(r, i);
                return s;
            });
        };
        static std::vector<std::uint64_t> expect;  // one per instantiation: per workload and peer
        if (expect.empty()) {
            std::uint64_t total = 0;
            for (std::size_t w = 0; w < windows; ++w) {
                expect.push_back(run_window(w));
                total = total * 1000003u + expect.back();
            }
            record(workload, Peer::name, total);
        }
        std::size_t w = 0, bad = 0;
        for (auto _ : st) {
            bad += run_window(w) != expect[w];
            if (++w == windows) w = 0;
        }
        if (bad) fail(workload, Peer::name, std::to_string(bad) + " timed batches returned another checksum");
        st.counters[unit] = rate(static_cast<double>(st.iterations()) * batch * per);
    });
}

/// For a peer with a subscriber (relstore_sub): fails the workload unless the
/// subscriber saw at least `at_least` row changes since `before`.
template <class Peer>
void expect_seen(const char* workload, const Peer& p, std::uint64_t before, std::uint64_t at_least) {
    if constexpr (requires { p.rows_seen(); }) {
        if (p.rows_seen() - before < at_least)
            fail(workload, Peer::name,
                 "the subscriber saw " + std::to_string(p.rows_seen() - before) + " row changes, not " +
                     std::to_string(at_least));
    }
}
template <class Peer>
std::uint64_t seen(const Peer& p) {
    if constexpr (requires { p.rows_seen(); })
        return p.rows_seen();
    else
        return 0;
}

// --- W1 ----------------------------------------------------------------------

template <class Peer>
void w1_bulk_load(benchmark::State& st) {
    const dataset& d = data();
    guarded(st, "W1_bulk_load", Peer::name, [&] {
        for (auto _ : st) {
            st.PauseTiming();
            auto p = std::make_unique<Peer>();
            st.ResumeTiming();
            p->load(d);
            st.PauseTiming();
            expect_state("W1_bulk_load", Peer::name, p->full_state(), d.full, d.full_checksum);
            expect_seen("W1_bulk_load", *p, 0, d.full.total());
            p.reset();
            st.ResumeTiming();
        }
        st.counters["rows/s"] = rate(static_cast<double>(d.full.total() * st.iterations()));
    });
}

// --- W2-W6 -------------------------------------------------------------------

template <class Peer>
void w2_pk_lookup(benchmark::State& st) {
    const dataset& d = data();
    lookups<Peer>(st, "W2_pk_lookup", "lookups/s", d.user_keys.size(), 1,
                  [&](auto& r, std::size_t i) { return r.user_name(d.user_keys[i]); });
}

template <class Peer>
void w3_one_to_many(benchmark::State& st) {
    const dataset& d = data();
    lookups<Peer>(st, "W3_one_to_many", "navigations/s", d.user_keys.size(), 1,
                  [&](auto& r, std::size_t i) { return r.user_posts(d.user_keys[i]); });
}

template <class Peer>
void w4_many_to_one(benchmark::State& st) {
    const dataset& d = data();
    lookups<Peer>(st, "W4_many_to_one", "navigations/s", d.post_keys.size(), 1,
                  [&](auto& r, std::size_t i) { return r.post_author(d.post_keys[i]); });
}

template <class Peer>
void w5_unique_text(benchmark::State& st) {
    const dataset& d = data();
    lookups<Peer>(st, "W5_unique_text", "lookups/s", d.name_keys.size(), 1,
                  [&](auto& r, std::size_t i) { return r.user_by_name(d.name_keys[i]); });
}

template <class Peer>
void w6_many_to_many(benchmark::State& st) {
    const dataset& d = data();
    lookups<Peer>(st, "W6_many_to_many", "navigations/s", std::min(d.author_keys.size(), d.book_keys.size()), 2,
                  [&](auto& r, std::size_t i) {
                      return r.author_books(d.author_keys[i]) * 3u + r.book_authors(d.book_keys[i]);
                  });
}

// --- W7 ----------------------------------------------------------------------

template <class Peer>
void w7_cascade_delete(benchmark::State& st) {
    const dataset& d = data();
    guarded(st, "W7_cascade_delete", Peer::name, [&] {
        for (auto _ : st) {
            st.PauseTiming();
            auto p = std::make_unique<Peer>();
            p->load(d);
            const std::uint64_t seen_before = seen(*p);
            st.ResumeTiming();
            p->write([&](auto& w) {
                for (std::int64_t id : d.delete_users) w.erase_user(id);
            });
            st.PauseTiming();
            expect_state("W7_cascade_delete", Peer::name, p->full_state(), d.after_delete, d.after_delete_checksum);
            expect_seen("W7_cascade_delete", *p, seen_before,
                        (d.full.users + d.full.posts) - (d.after_delete.users + d.after_delete.posts));
            p.reset();
            st.ResumeTiming();
        }
        const auto erased = (d.full.users + d.full.posts) - (d.after_delete.users + d.after_delete.posts);
        st.counters["rows/s"] = rate(static_cast<double>(erased * st.iterations()));
        st.counters["rows_erased"] = static_cast<double>(erased);
    });
}

// --- W8 ----------------------------------------------------------------------

/// One W8 change of post c: to its new title or author (forward), or back.
template <bool Reparent, class Writer>
void w8_change(Writer& w, const post_change& c, bool forward) {
    if constexpr (Reparent)
        w.set_author(c.post_id, forward ? c.new_author : c.old_author);
    else
        w.set_title(c.post_id, forward ? c.new_title : c.old_title);
}

/// W8: each iteration changes a batch of posts (a new title, or a new author)
/// and changes them back, in one write transaction: 2 x batch real updates,
/// and the shared instance ends as it began. The changed state is read back
/// once, untimed, and checked against the data set and across peers.
template <class Peer, bool Reparent>
void w8_update(benchmark::State& st) {
    const dataset& d = data();
    const char* workload = Reparent ? "W8_reparent" : "W8_update_title";
    guarded(st, workload, Peer::name, [&] {
        Peer& p = shared_peer<Peer>();
        const auto& ch = d.changes;
        const std::size_t windows = ch.size() / batch;
        auto change = [&](auto& w, std::size_t i, bool forward) { w8_change<Reparent>(w, ch[i], forward); };
        auto read_back = [&](std::size_t n) {
            return p.read([&](auto& r) {
                std::uint64_t s = 0;
                for (std::size_t i = 0; i < n; ++i) s += r.post_sig(ch[i].post_id);
                return s;
            });
        };
        auto expected = [&](std::size_t n, bool changed) {
            std::uint64_t s = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const post_change& c = ch[i];
                const post_row& row = d.posts[static_cast<std::size_t>(c.post_id - 1)];
                const bool moved = changed && Reparent, retitled = changed && !Reparent;
                s += post_sum(c.post_id, moved ? c.new_author : c.old_author, retitled ? c.new_title : c.old_title,
                              row.content);
            }
            return s;
        };
        const std::size_t all = windows * batch;
        static bool verified = false;
        if (!verified) {
            verified = true;
            p.write([&](auto& w) {
                for (std::size_t i = 0; i < all; ++i) change(w, i, true);
            });
            const std::uint64_t changed = read_back(all);
            p.write([&](auto& w) {
                for (std::size_t i = 0; i < all; ++i) change(w, i, false);
            });
            if (changed != expected(all, true)) fail(workload, Peer::name, "the changed posts read back wrong");
            record(workload, Peer::name, changed);
        }
        std::size_t win = 0;
        for (auto _ : st) {
            const std::size_t base = win * batch;
            p.write([&](auto& w) {
                for (std::size_t i = base; i < base + batch; ++i) change(w, i, true);
                for (std::size_t i = base; i < base + batch; ++i) change(w, i, false);
            });
            if (++win == windows) win = 0;
        }
        const auto touched = std::min<std::size_t>(static_cast<std::size_t>(st.iterations()), windows) * batch;
        if (read_back(touched) != expected(touched, false))
            fail(workload, Peer::name, "the posts were not restored by the timed iterations");
        st.counters["updates/s"] = rate(static_cast<double>(st.iterations()) * 2 * batch);
    });
}

/// What the W8 benchmarks do to a store, once over their whole change
/// stream: each batch retitled and restored, then moved and moved back, a
/// transaction per batch and kind. The rows end as they began; the heap
/// does not (new titles allocated and freed, undo logs grown and kept).
template <class Peer>
void w8_churn(Peer& p) {
    const auto& ch = data().changes;
    const std::size_t windows = ch.size() / batch;
    for (std::size_t win = 0; win < windows; ++win) {
        const std::size_t base = win * batch;
        p.write([&](auto& w) {
            for (std::size_t i = base; i < base + batch; ++i) w8_change<false>(w, ch[i], true);
            for (std::size_t i = base; i < base + batch; ++i) w8_change<false>(w, ch[i], false);
        });
        p.write([&](auto& w) {
            for (std::size_t i = base; i < base + batch; ++i) w8_change<true>(w, ch[i], true);
            for (std::size_t i = base; i < base + batch; ++i) w8_change<true>(w, ch[i], false);
        });
    }
}

/// W7 right after W8 in the same process: the cascading delete of W7 on a
/// store that has just been through W8's updates (w8_churn), the heap state
/// an application that updates and then deletes has, rather than a fresh load's.
template <class Peer>
void w7_after_w8(benchmark::State& st) {
    const dataset& d = data();
    guarded(st, "W7_after_W8", Peer::name, [&] {
        for (auto _ : st) {
            st.PauseTiming();
            auto p = std::make_unique<Peer>();
            p->load(d);
            w8_churn(*p);
            st.ResumeTiming();
            p->write([&](auto& w) {
                for (std::int64_t id : d.delete_users) w.erase_user(id);
            });
            st.PauseTiming();
            expect_state("W7_after_W8", Peer::name, p->full_state(), d.after_delete, d.after_delete_checksum);
            p.reset();
            st.ResumeTiming();
        }
        const auto erased = (d.full.users + d.full.posts) - (d.after_delete.users + d.after_delete.posts);
        st.counters["rows/s"] = rate(static_cast<double>(erased * st.iterations()));
        st.counters["rows_erased"] = static_cast<double>(erased);
    });
}

// --- W9 ----------------------------------------------------------------------

inline std::map<std::string, std::uintmax_t>& snapshot_sizes() {
    static std::map<std::string, std::uintmax_t> m;
    return m;
}

template <class Peer>
std::filesystem::path snapshot_path() {
    return opts().dir / (std::string("w9-") + Peer::name + ".snapshot");
}

template <class Peer>
void report_bytes(benchmark::State& st, std::uintmax_t bytes) {
    st.SetBytesProcessed(static_cast<std::int64_t>(bytes * static_cast<std::uintmax_t>(st.iterations())));
    st.counters["MB/s"] = rate(static_cast<double>(bytes) * static_cast<double>(st.iterations()) / 1e6);
    st.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
}

/// W9 save: the shared W1 data set into a file.
template <class Peer>
void w9_save(benchmark::State& st) {
    guarded(st, "W9_save", Peer::name, [&] {
        Peer& p = shared_peer<Peer>();
        const auto path = snapshot_path<Peer>();
        for (auto _ : st) p.save(path);
        const auto bytes = std::filesystem::file_size(path);
        snapshot_sizes()[Peer::name] = bytes;
        report_bytes<Peer>(st, bytes);
    });
}

/// W9 load: the file into an empty store, checked row by row afterwards.
template <class Peer>
void w9_load(benchmark::State& st) {
    const dataset& d = data();
    guarded(st, "W9_load", Peer::name, [&] {
        const auto path = snapshot_path<Peer>();
        if (!std::filesystem::exists(path)) shared_peer<Peer>().save(path);
        for (auto _ : st) {
            st.PauseTiming();
            auto p = std::make_unique<Peer>();
            st.ResumeTiming();
            p->load_file(path);
            st.PauseTiming();
            expect_state("W9_load", Peer::name, p->full_state(), d.full, d.full_checksum);
            p.reset();
            st.ResumeTiming();
        }
        report_bytes<Peer>(st, std::filesystem::file_size(path));
    });
}

template <class Peer>
std::uintmax_t snapshot_size() {
    auto& sizes = snapshot_sizes();
    if (!sizes.count(Peer::name)) {
        shared_peer<Peer>().save(snapshot_path<Peer>());
        sizes[Peer::name] = std::filesystem::file_size(snapshot_path<Peer>());
    }
    return sizes[Peer::name];
}

/// The floor for W9 save: write()+fsync() of as many bytes as Peer's snapshot.
template <class Peer>
void w9_floor_write(benchmark::State& st) {
    guarded(st, "W9_floor_write", Peer::name, [&] {
        const auto bytes = snapshot_size<Peer>();
        const auto path = opts().dir / (std::string("w9-floor-") + Peer::name + ".bin");
        for (auto _ : st) floor_write(path, bytes);
        report_bytes<Peer>(st, bytes);
    });
}

/// The floor for W9 load: read() of the file the floor wrote.
template <class Peer>
void w9_floor_read(benchmark::State& st) {
    guarded(st, "W9_floor_read", Peer::name, [&] {
        const auto bytes = snapshot_size<Peer>();
        const auto path = opts().dir / (std::string("w9-floor-") + Peer::name + ".bin");
        if (!std::filesystem::exists(path) || std::filesystem::file_size(path) != bytes) floor_write(path, bytes);
        std::uint64_t sum = 0;
        for (auto _ : st) sum += floor_read(path);
        benchmark::DoNotOptimize(sum);
        report_bytes<Peer>(st, bytes);
    });
}

// --- W10 ---------------------------------------------------------------------

/// W10: the memory a peer holds after W1, per row, measured two ways: heap in
/// use (mallinfo2: what the allocator handed out and not taken back, its own
/// headers and rounding included) and the growth of the resident set. Free
/// memory is first given back to the system (malloc_trim), so that pages
/// freed by earlier workloads and reused here count as the new pages they are
/// for a process that loads once.
template <class Peer>
void w10_memory(benchmark::State& st) {
    const dataset& d = data();
    guarded(st, "W10_memory", Peer::name, [&] {
        std::size_t bytes = 0, resident = 0;
        std::int64_t self_reported = 0;
        for (auto _ : st) {
            release_free_memory();
            const std::size_t before = heap_in_use(), rss_before = resident_bytes();
            std::int64_t self_before = 0;
            if constexpr (requires { Peer::memory_used(); }) self_before = Peer::memory_used();
            auto p = std::make_unique<Peer>();
            p->load(d);
            bytes = heap_in_use() - before;
            resident = resident_bytes() - rss_before;
            if constexpr (requires { Peer::memory_used(); }) self_reported = Peer::memory_used() - self_before;
            st.PauseTiming();
            expect_state("W10_memory", Peer::name, p->full_state(), d.full, d.full_checksum);
            p.reset();
            st.ResumeTiming();
        }
        const double rows = static_cast<double>(d.full.total());
        st.counters["bytes/row"] = static_cast<double>(bytes) / rows;
        st.counters["rss_bytes/row"] = static_cast<double>(resident) / rows;
        st.counters["payload_bytes/row"] = static_cast<double>(d.payload_bytes) / rows;
        if (self_reported) st.counters["self_reported_bytes/row"] = static_cast<double>(self_reported) / rows;
    });
}

}  // namespace bench
