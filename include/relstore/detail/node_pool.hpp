#pragma once
// The memory of one table's rows: its container's nodes come from slabs of
// many nodes each, not from one malloc per node. A node then costs its own
// size, without the allocator's header and rounding (16 of a post's 128
// bytes); a table's nodes lie together, away from every other table's and
// from the rows' strings; a bulk load or a reserve takes one allocation for
// any number of rows; and a table's memory is given back in a few large
// blocks when the table is destroyed or emptied, instead of as a million
// small ones that glibc would consolidate on the spot (W7, W9): to the
// next table that needs them (slab_cache, within a bound), or the system.
//
// With relstore::use_huge_pages(true), a table past a couple of MiB gets its
// slabs as 2 MiB-aligned mappings that the kernel may back with transparent
// huge pages (MADV_HUGEPAGE):
// one page fault fills 2 MiB instead of 4 KiB (bulk loads spend most of
// their time faulting fresh memory in), the TLB covers 512 times more rows,
// and fork() -- which a save uses to take its copy-on-write view of the
// store -- copies one page-table entry per 2 MiB instead of 512, which is
// what bounds the pause a save imposes on the store (docs/concurrency.md).
// Since Linux 5.8 a write to a huge page shared with a save's child copies
// 4 KiB, not 2 MiB, so writers do not pay for the larger pages.

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#include <relstore/detail/sanitizers.hpp>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace relstore::detail {

/// Whether slabs of 2 MiB and more come from huge-page mappings (see
/// relstore::use_huge_pages); read when a slab is taken.
inline std::atomic<bool> huge_pages_enabled{false};

/// The slabs that destroyed or emptied tables gave back, kept for the next
/// table that needs one. A reload builds the new contents while the old
/// ones live, then destroys the old: without this, every load of a large
/// table took its slabs from fresh pages (a 112 MB slab for a million rows
/// is always an mmap() for glibc), a page fault and a zeroed page per
/// 4 KiB, and whether the heap had a free chunk to reuse instead depended
/// on its history (docs/bench.md, "W9 load: the slabs of destroyed
/// tables kept for the next load"). Bounded: it keeps at most as many bytes as the live
/// tables' slabs hold, so that a reload's memory never exceeds its peak
/// (old and new contents side by side), and a process that destroys its
/// last store keeps nothing. Slabs from operator new only (not huge-page
/// mappings, nor over-aligned rows'). Thread-safe: tables are decoded on
/// several threads; its lock is taken once per slab, never per row.
class slab_cache {
public:
    /// The one cache of the process; never destroyed, so that a store
    /// destroyed during static destruction can still give its slabs back.
    static slab_cache& instance() {
        static slab_cache* c = new slab_cache;
        return *c;
    }

    /// A kept slab of at least `bytes` and at most a quarter more (a reload
    /// of slightly changed contents still finds its slabs), the smallest
    /// such; nullptr when there is none. Counts it as live. *got receives
    /// its size.
    void* take(std::size_t bytes, std::size_t* got) noexcept {
        const std::lock_guard<std::mutex> lock(mutex_);
        std::size_t best = kept_.size();
        for (std::size_t i = 0; i < kept_.size(); ++i)
            if (kept_[i].bytes >= bytes && kept_[i].bytes - bytes <= bytes / 4 &&
                (best == kept_.size() || kept_[i].bytes < kept_[best].bytes))
                best = i;
        if (best == kept_.size()) return nullptr;
        const kept k = kept_[best];
        kept_[best] = kept_.back();
        kept_.pop_back();
        kept_bytes_ -= k.bytes;
        live_bytes_ += k.bytes;
        RELSTORE_DETAIL_UNPOISON(k.p, k.bytes);
        *got = k.bytes;
        return k.p;
    }
    /// A slab of `bytes` from operator new is now live.
    void now_live(std::size_t bytes) noexcept {
        const std::lock_guard<std::mutex> lock(mutex_);
        live_bytes_ += bytes;
    }
    /// A live slab of `bytes` (from take or now_live) is given back: kept
    /// when the bound allows, else deleted. Kept slabs beyond the bound
    /// (live slabs have gone since they were kept) are deleted too.
    void give_back(void* p, std::size_t bytes) noexcept {
        const std::lock_guard<std::mutex> lock(mutex_);
        live_bytes_ -= bytes;
        if (kept_bytes_ + bytes <= live_bytes_ && note(p, bytes))
            RELSTORE_DETAIL_POISON(p, bytes);  // a read through a destroyed table's row is still caught
        else
            ::operator delete(p);
        while (kept_bytes_ > live_bytes_) drop_last();
    }
    /// Deletes every kept slab; returns their bytes.
    std::size_t release() noexcept {
        const std::lock_guard<std::mutex> lock(mutex_);
        const std::size_t bytes = kept_bytes_;
        while (!kept_.empty()) drop_last();
        return bytes;
    }
    /// Bytes of the slabs kept.
    [[nodiscard]] std::size_t kept_bytes() const noexcept {
        const std::lock_guard<std::mutex> lock(mutex_);
        return kept_bytes_;
    }
    /// Bytes of the live slabs the bound counts.
    [[nodiscard]] std::size_t live_bytes() const noexcept {
        const std::lock_guard<std::mutex> lock(mutex_);
        return live_bytes_;
    }

private:
    slab_cache() = default;
    struct kept {
        void* p;
        std::size_t bytes;
    };
    bool note(void* p, std::size_t bytes) noexcept {
        try {
            kept_.push_back({p, bytes});
        } catch (...) {  // no memory to note it in: not kept
            return false;
        }
        kept_bytes_ += bytes;
        return true;
    }
    void drop_last() noexcept {
        const kept k = kept_.back();
        kept_.pop_back();
        kept_bytes_ -= k.bytes;
        RELSTORE_DETAIL_UNPOISON(k.p, k.bytes);
        ::operator delete(k.p);
    }
    mutable std::mutex mutex_;
    std::vector<kept> kept_;
    std::size_t kept_bytes_ = 0;
    std::size_t live_bytes_ = 0;
};

/// Blocks of one size and alignment, carved from slabs. Not thread-safe: a
/// pool belongs to one table, used under that table's store lock (or by the
/// one thread that decodes the table during a load).
class node_pool {
public:
    node_pool(std::size_t block_size, std::size_t block_align) noexcept
        : object_(block_size),
          align_(std::max(block_align, alignof(void*))),
          block_((std::max(block_size, sizeof(void*)) + align_ - 1) / align_ * align_),
          header_((sizeof(slab) + align_ - 1) / align_ * align_) {}
    node_pool(const node_pool&) = delete;
    node_pool& operator=(const node_pool&) = delete;
    ~node_pool() { release_slabs(); }

    /// The size of the objects this pool is for (its blocks may be larger).
    [[nodiscard]] std::size_t object_size() const noexcept { return object_; }
    /// The size of every block this pool hands out.
    [[nodiscard]] std::size_t block_size() const noexcept { return block_; }

    /// One block: within a reserved run, the next of the current slab; else
    /// the most recently freed one, else the next of the current slab.
    /// @throws std::bad_alloc when a new slab cannot be had.
    [[nodiscard]] void* allocate() {
        if (run_ != 0 && next_ != end_) {
            --run_;
            return bump();
        }
        if (free_ != nullptr) {
            void* p = free_;
            free_ = *static_cast<void**>(p);
            --free_count_;
            ++live_;
            return p;
        }
        if (next_ == end_) grow(0);
        return bump();
    }

    /// Takes a block back for reuse by this pool (slabs are freed only all at
    /// once, see release_if_unused and the destructor).
    void deallocate(void* p) noexcept {
        assert(live_ > 0);
        *static_cast<void**>(p) = free_;
        free_ = p;
        ++free_count_;
        --live_;
    }

    /// Makes room for n more blocks with at most one allocation: the next n
    /// blocks handed out are consecutive blocks of one slab (freed blocks
    /// are reused after them), so that a bulk insert of n rows allocates
    /// once and lays its rows out side by side, in the order they come.
    /// @throws std::bad_alloc; the pool is unchanged then.
    void reserve(std::size_t n) {
        if (static_cast<std::size_t>(end_ - next_) / block_ < n) grow(n);
        run_ = n;
    }

    /// Blocks that can be handed out without another slab.
    [[nodiscard]] std::size_t available() const noexcept {
        return free_count_ + static_cast<std::size_t>(end_ - next_) / block_;
    }
    /// Blocks handed out and not given back.
    [[nodiscard]] std::size_t live() const noexcept { return live_; }
    /// Bytes of every slab this pool holds, its headers included.
    [[nodiscard]] std::size_t slab_bytes() const noexcept { return slab_bytes_; }
    /// How many slabs this pool holds.
    [[nodiscard]] std::size_t slab_count() const noexcept { return slab_count_; }
    /// How many of them are huge-page mappings (2 MiB-aligned, MADV_HUGEPAGE).
    [[nodiscard]] std::size_t huge_slab_count() const noexcept { return huge_slab_count_; }
    /// The bytes of those mappings: memory the pool holds that is not from
    /// operator new (heap accounting that hooks operator new must add it).
    [[nodiscard]] std::size_t mapped_bytes() const noexcept { return mapped_bytes_; }

    /// The size and alignment of the slabs a large table takes from mmap.
    static constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;

    /// True when b is a block of one of this pool's slabs (for tests).
    [[nodiscard]] bool owns(const void* b) const noexcept {
        const auto* p = static_cast<const std::byte*>(b);
        for (const slab* s = slabs_; s != nullptr; s = s->next) {
            const auto* begin = reinterpret_cast<const std::byte*>(s) + header_;
            if (p >= begin && p < begin + s->blocks * block_) return (p - begin) % block_ == 0;
        }
        return false;
    }

private:
    void* bump() noexcept {
        void* p = next_;
        next_ += block_;
        ++live_;
        return p;
    }

    struct slab {
        slab* next;
        std::size_t blocks;
        std::size_t bytes;
        bool mapped;  // from map_huge (munmap), else from operator new
    };

    /// Slabs grow with the table, from a few blocks to one huge page each: a
    /// small table stays small, and beyond that a slab's unused tail is at
    /// most 2 MiB.
    static constexpr std::size_t first_slab_bytes = 1024;
    static constexpr std::size_t max_slab_bytes = huge_page_bytes;

    /// bytes (a multiple of huge_page_bytes) of fresh memory aligned on a
    /// huge page and advised to be backed by huge pages; nullptr where there
    /// is no such thing, or when the mapping fails (the caller then takes
    /// the memory from operator new, which reports a real shortage).
    static void* map_huge(std::size_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        // Over-map by one huge page and trim, since mmap aligns on 4 KiB only.
        const std::size_t span = bytes + huge_page_bytes;
        void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (raw == MAP_FAILED) return nullptr;
        const auto start = reinterpret_cast<std::uintptr_t>(raw);
        const std::uintptr_t aligned = (start + huge_page_bytes - 1) & ~(std::uintptr_t{huge_page_bytes} - 1);
        if (aligned > start) ::munmap(raw, aligned - start);
        const std::uintptr_t tail = start + span - (aligned + bytes);
        if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + bytes), tail);
        // Advice only: where the kernel has huge pages off, these stay 4 KiB pages.
        (void)::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
        return reinterpret_cast<void*>(aligned);
#else
        (void)bytes;
        return nullptr;
#endif
    }

    /// Starts a new slab of at least `at_least` blocks (0: the next step of
    /// the geometric growth). The blocks left in the current slab go to the
    /// free list, so that none is lost.
    void grow(std::size_t at_least) {
        std::size_t blocks = std::max<std::size_t>(
            std::min(next_slab_bytes_, max_slab_bytes) / block_, 1);
        blocks = std::max(blocks, at_least);
        // A count no memory can hold (reserve(SIZE_MAX)) must not wrap
        // around to a small slab.
        if (blocks > (std::numeric_limits<std::size_t>::max() - header_ - huge_page_bytes) / block_)
            throw std::bad_alloc();
        std::size_t bytes = header_ + blocks * block_;
        void* mem = nullptr;
        bool mapped = false;
        if (bytes >= huge_page_bytes && align_ <= huge_page_bytes &&
            huge_pages_enabled.load(std::memory_order_relaxed)) {
            // A whole number of huge pages, the rounding filled with blocks.
            bytes = (bytes + huge_page_bytes - 1) / huge_page_bytes * huge_page_bytes;
            mem = map_huge(bytes);
            if (mem != nullptr) {
                mapped = true;
                blocks = (bytes - header_) / block_;
            } else {
                bytes = header_ + blocks * block_;
            }
        }
        if (mem == nullptr && align_ > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
            mem = ::operator new(bytes, std::align_val_t(align_));
        } else if (mem == nullptr) {
            std::size_t got = 0;
            mem = slab_cache::instance().take(bytes, &got);
            if (mem != nullptr) {
                bytes = got;
                blocks = (bytes - header_) / block_;
            } else {
                mem = ::operator new(bytes);
                slab_cache::instance().now_live(bytes);
            }
        }
        auto* s = ::new (mem) slab{slabs_, blocks, bytes, mapped};
        if (mapped) {
            ++huge_slab_count_;
            mapped_bytes_ += bytes;
        }
        while (next_ != end_) {  // the old slab's tail, so that no block is lost
            *reinterpret_cast<void**>(next_) = free_;
            free_ = next_;
            ++free_count_;
            next_ += block_;
        }
        slabs_ = s;
        ++slab_count_;
        slab_bytes_ += bytes;
        next_ = reinterpret_cast<std::byte*>(s) + header_;
        end_ = next_ + blocks * block_;
        if (at_least == 0) next_slab_bytes_ = std::min(2 * next_slab_bytes_, max_slab_bytes);
    }

    void release_slabs() noexcept {
        for (slab* s = slabs_; s != nullptr;) {
            slab* next = s->next;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
            if (s->mapped) {
                ::munmap(static_cast<void*>(s), s->bytes);
                s = next;
                continue;
            }
#endif
            if (align_ > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
                ::operator delete(static_cast<void*>(s), std::align_val_t(align_));
            else
                slab_cache::instance().give_back(static_cast<void*>(s), s->bytes);
            s = next;
        }
        slabs_ = nullptr;
    }

    std::size_t object_;
    std::size_t align_;
    std::size_t block_;
    std::size_t header_;
    std::byte* next_ = nullptr;
    std::byte* end_ = nullptr;
    void* free_ = nullptr;
    std::size_t free_count_ = 0;
    std::size_t run_ = 0;  // blocks still to come from the current slab (reserve)
    std::size_t live_ = 0;
    slab* slabs_ = nullptr;
    std::size_t slab_count_ = 0;
    std::size_t huge_slab_count_ = 0;
    std::size_t mapped_bytes_ = 0;
    std::size_t slab_bytes_ = 0;
    std::size_t next_slab_bytes_ = first_slab_bytes;
};

/// The allocator of a table's container: its nodes (allocations of one
/// object of the pool's block size) from the table's node_pool, anything
/// else (hash bucket arrays) from operator new. It moves and swaps with the
/// container (the nodes must go back to the pool they came from); a copy of
/// a container gets a pool of its own through the copy's allocator.
template <class T>
class pool_allocator {
public:
    using value_type = T;
    using propagate_on_container_copy_assignment = std::false_type;
    using propagate_on_container_move_assignment = std::true_type;
    using propagate_on_container_swap = std::true_type;
    using is_always_equal = std::false_type;

    pool_allocator() noexcept = default;
    explicit pool_allocator(node_pool* pool) noexcept : pool_(pool) {}
    template <class U>
    pool_allocator(const pool_allocator<U>& other) noexcept : pool_(other.pool()) {}

    [[nodiscard]] T* allocate(std::size_t n) {
        if (from_pool(n)) return static_cast<T*>(pool_->allocate());
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept {
        if (from_pool(n))
            pool_->deallocate(p);
        else
            std::allocator<T>().deallocate(p, n);
    }

    [[nodiscard]] node_pool* pool() const noexcept { return pool_; }

    template <class U>
    friend bool operator==(const pool_allocator& a, const pool_allocator<U>& b) noexcept {
        return a.pool() == b.pool();
    }

private:
    // A node is the only single object of the pool's size a container
    // allocates (bucket arrays are arrays of pointers, never one alone).
    [[nodiscard]] bool from_pool(std::size_t n) const noexcept {
        return n == 1 && pool_ != nullptr && sizeof(T) == pool_->object_size();
    }

    node_pool* pool_ = nullptr;
};

}  // namespace relstore::detail
