#pragma once
// A load's rows inserted on a thread of their own while the loading thread
// decodes the next ones. Of a large table's load, the decode (cells checked,
// strings allocated and copied) took 57% and the inserts 43%, one after the
// other; here the two overlap. The decode stays on the loading thread so
// that the rows' strings come from its heap: a store decoded on another
// thread put them in that thread's malloc arena, which gives its memory back
// to the system when the store is destroyed, and the next load then took
// twice as long (docs/bench.md, 2026-12-06, afternoon).

#include <relstore/detail/threads.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <thread>

namespace relstore::detail {

/// For tests: when 0 or more, a load has this many spare cores (below),
/// whatever its threads leave free or free as they run out of tables; as
/// thread_start_hook, set only while no load runs.
inline std::ptrdiff_t spare_cores_for_tests = -1;

/// The cores a load's threads leave free. A load decodes its tables on as
/// many threads as it has cores, each thread taking the largest table left;
/// a thread that finds none left frees its core, and a large table still
/// being decoded may then take it for an insert_behind.
class spare_cores {
public:
    explicit spare_cores(std::ptrdiff_t n) noexcept : n_(n) {}
    /// Takes a free core; false when there is none.
    bool take() noexcept {
        for (auto n = n_.load(std::memory_order_relaxed); n > 0;)
            if (n_.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) return true;
        return false;
    }
    /// A thread is done with its core.
    void give_back() noexcept { n_.fetch_add(1, std::memory_order_relaxed); }
    /// True while a core is free (a relaxed read: cheap enough to ask often).
    [[nodiscard]] bool any() const noexcept { return n_.load(std::memory_order_relaxed) > 0; }

private:
    std::atomic<std::ptrdiff_t> n_;
};

/// Takes rows 0..n-1 from the caller, in that order, and runs
/// insert(i, row, later) for each on a second thread (later: the row a few
/// after it, when already given, else nullptr; to prefetch what its insert
/// will touch). Rows pass through a ring of 64 to 4,096 rows, about
/// 256 KiB (memory: that, whatever n). An insert that throws stops the
/// thread; finish() rethrows that exception. Where no thread can be had,
/// running() is false and the caller inserts the rows itself. Worth it only
/// where a core is free (spare_cores): on a busy one the two threads would
/// take turns.
template <class Row>
class insert_behind {
public:
    /// From this many rows a table's inserts pay for a thread: they take
    /// milliseconds (about 0.2 us a row with its decode), a thread's start
    /// tens of microseconds.
    static constexpr std::size_t from_rows = 16384;
    /// How far ahead `later` is.
    static constexpr std::uint32_t lead = 8;

    /// Starts the thread. insert must stay callable, and what it touches
    /// valid, until finish() returns or this object is destroyed.
    template <class Insert>
    insert_behind(std::size_t n, Insert insert) : slots_(new Row[capacity]) {
        if (n >= closed) return;
        thread_ = start_optional_thread([this, insert = std::move(insert)]() mutable { consume(insert); });
    }
    insert_behind(const insert_behind&) = delete;
    insert_behind& operator=(const insert_behind&) = delete;
    /// Joins the thread once it has inserted the rows given so far (at most
    /// a ring's worth) or failed; a failure is then dropped.
    ~insert_behind() {
        if (!thread_.joinable()) return;
        publish_given(given_ | closed);
        thread_.join();
    }

    /// False when no thread could be started: the caller inserts the rows.
    [[nodiscard]] bool running() const noexcept { return thread_.joinable(); }

    /// The slot for the next row, holding a moved-from or default row;
    /// nullptr when the thread stopped on a failed insert (finish() then
    /// rethrows it). Waits while the ring is full.
    Row* slot() {
        if (given_ % batch == 0 && (taken_.load(std::memory_order_relaxed) & closed) != 0) return nullptr;
        while (given_ - seen_taken_ >= capacity) {
            const std::uint32_t t = taken_.load(std::memory_order_acquire);
            if ((t & closed) != 0) return nullptr;
            seen_taken_ = t;
            if (given_ - seen_taken_ < capacity) break;
            publish_given(given_);  // the thread may wait for a row
            taken_.wait(t, std::memory_order_acquire);
        }
        return &slots_[given_ & mask];
    }
    /// Hands over the row in the slot slot() returned last.
    void give() {
        ++given_;
        if (given_ % batch == 0) publish_given(given_);
    }
    /// Waits until every row given is inserted, or an insert failed.
    /// @throws whatever the failed insert threw.
    void finish() {
        if (!thread_.joinable()) return;
        publish_given(given_ | closed);
        thread_.join();
        if (failure_) std::rethrow_exception(failure_);
    }

private:
    // Rows in flight: a power of two, about 256 KiB of them. Up to this many
    // rows behind the decode, the rows are still in a core's cache when
    // inserted. At least two batches, whatever a row's size.
    static constexpr std::size_t capacity =
        std::bit_ceil(std::clamp<std::size_t>((std::size_t{256} << 10) / sizeof(Row), 64, 4096));
    static constexpr std::size_t mask = capacity - 1;
    // Each side tells the other where it is once per batch of rows (and
    // before it waits), not per row: the counters' cache line then moves
    // between the cores once per batch.
    static constexpr std::uint32_t batch = 32;
    // Set in given_ when the caller gives no more rows, and in taken_ when
    // the thread takes no more.
    static constexpr std::uint32_t closed = std::uint32_t{1} << 31;

    void publish_given(std::uint32_t v) {
        given_published_.store(v, std::memory_order_release);
        given_published_.notify_one();
    }
    void publish_taken(std::uint32_t v) {
        taken_.store(v, std::memory_order_release);
        taken_.notify_one();
    }

    template <class Insert>
    void consume(Insert& insert) {
        std::uint32_t seen = 0;  // rows given, as last read
        bool last = false;       // no more will come
        for (std::uint32_t i = 0;; ++i) {
            if (i % batch == 0) publish_taken(i);
            while (i >= seen) {
                if (last) {
                    publish_taken(i | closed);
                    return;
                }
                const std::uint32_t g = given_published_.load(std::memory_order_acquire);
                seen = g & ~closed;
                last = (g & closed) != 0;
                if (i < seen || last) continue;
                publish_taken(i);  // the caller may wait for a slot
                given_published_.wait(g, std::memory_order_acquire);
            }
            const Row* later = i + lead < seen ? &slots_[(i + lead) & mask] : nullptr;
            try {
                insert(static_cast<std::size_t>(i), slots_[i & mask], later);
            } catch (...) {
                failure_ = std::current_exception();
                publish_taken(i | closed);
                return;
            }
        }
    }

    std::unique_ptr<Row[]> slots_;
    // Written by the thread before it closes taken_, read by the caller after.
    std::exception_ptr failure_;
    alignas(64) std::atomic<std::uint32_t> given_published_{0};
    alignas(64) std::atomic<std::uint32_t> taken_{0};
    // The caller's own: rows given, and taken_ as it last read it.
    alignas(64) std::uint32_t given_ = 0;
    std::uint32_t seen_taken_ = 0;
    std::thread thread_;
};

/// A table's inserts: on the loading thread until spare has a core for
/// them, then behind its decode on a thread of their own (insert_behind).
/// The core goes back to spare once that thread is done.
template <class Row>
class inserts_on_spare_core {
public:
    /// Cores are asked for every this many rows.
    static constexpr std::size_t ask_every = 4096;

    /// n rows; none of them leave this thread when spare is nullptr or n
    /// is below insert_behind::from_rows.
    inserts_on_spare_core(spare_cores* spare, std::size_t n) noexcept
        : spare_(n >= insert_behind<Row>::from_rows ? spare : nullptr), n_(n) {}
    inserts_on_spare_core(const inserts_on_spare_core&) = delete;
    inserts_on_spare_core& operator=(const inserts_on_spare_core&) = delete;
    ~inserts_on_spare_core() {
        behind_.reset();  // joins the thread before its core is given back
        if (taken_) spare_->give_back();
    }

    /// True when, before row i's insert, asking for a core is worth it (a
    /// cheap test, for every row).
    [[nodiscard]] bool may_move(std::size_t i) const noexcept {
        return i % ask_every == 0 && spare_ != nullptr && !taken_ && spare_->any();
    }
    /// Takes a core and starts insert_behind(n - i, insert) on it: true
    /// when rows i to n - 1 go to that thread from now on (give them
    /// with give_rest), false when there was no core or thread.
    template <class Insert>
    bool move(std::size_t i, Insert insert) {
        if (!spare_->take()) return false;
        behind_.emplace(n_ - i, std::move(insert));
        if (behind_->running()) {
            taken_ = true;
            return true;
        }
        behind_.reset();
        spare_->give_back();
        spare_ = nullptr;  // no thread to be had: do not ask again
        return false;
    }
    /// True once the rows went to the other thread.
    explicit operator bool() const noexcept { return behind_.has_value(); }
    /// After move(i, ...): gives rows i to n - 1, each filled by fill(j, row),
    /// then waits for their inserts. A fill that throws fails the load only
    /// once every row before it went in: an earlier insert's failure is
    /// rethrown first, as on one thread.
    /// @throws what an insert or a fill threw.
    template <class Fill>
    void give_rest(std::size_t i, Fill&& fill) {
        for (std::size_t j = i; j < n_; ++j) {
            Row* row = behind_->slot();
            if (row == nullptr) break;  // an insert failed: finish() rethrows it
            try {
                fill(j, *row);
            } catch (...) {
                behind_->finish();
                throw;
            }
            behind_->give();
        }
        behind_->finish();
    }

private:
    spare_cores* spare_;
    std::size_t n_;
    bool taken_ = false;
    std::optional<insert_behind<Row>> behind_;
};

}  // namespace relstore::detail
