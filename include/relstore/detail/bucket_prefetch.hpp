#pragma once
// Prefetching a hashed index's bucket for a row that is about to be inserted.
//
// A load inserts a table's rows in an order that suits one index (key order,
// or grouped by a foreign key), and each other hashed index then finds the
// row's bucket anywhere in an array of one pointer per row: 8 MB for a
// million rows, a cache and TLB miss per insert. Grouped by author, a
// million posts spent 37% of the load's critical path on that one load of
// the key index's bucket. Decoding a few rows ahead and prefetching their
// buckets overlaps those misses.
//
// Boost.MultiIndex does not say where a bucket lives. It can be learned from
// its structure (boost/multi_index/detail/hash_index_node.hpp, unchanged
// since Boost 1.56): the first node of a bucket is preceded by the bucket
// itself, so `first->prior()->next()` is the bucket's slot in the array,
// and `slot->prior()` is that first node again. The array's address is
// learned from one bucket, checked against that invariant, and relearned
// whenever the index rehashes. A prefetch never faults and changes nothing
// the program can observe, so a wrong address could only cost time.

#include <relstore/detail/spec_traits.hpp>
#include <relstore/detail/table_state.hpp>

#include <boost/version.hpp>

#include <array>
#include <cstddef>
#include <cstring>

namespace relstore::detail {

template <class T>
class bucket_prefetch {
public:
    /// Learns (again) where each hashed index's buckets are, if it rehashed
    /// since; cheap when none did.
    void learn(const table_state<T>& st) noexcept {
        std::size_t k = 0;
        for_each_spec<T>([&]<class S>(S*) {
            if constexpr (S::is_hashed) learn_index(st.rows.template get<S>(), slots_[k++]);
        });
    }

    /// Prefetches the bucket of row in every hashed index whose buckets are known.
    void prefetch(const table_state<T>& st, const typename T::row_type& row) const noexcept {
        for_each_known_bucket(st, row, [](const slots& s, std::size_t n) {
#if defined(__GNUC__)
            __builtin_prefetch(s.base + n * s.stride, 1);
#else
            (void)s, (void)n;
#endif
        });
    }

    /// Prefetches, in every hashed index whose buckets are known, the first
    /// node of row's bucket, which an insert compares row with first (in a
    /// non-unique index, the head of a group it may join). Its address is
    /// read from the bucket, so this pays once prefetch() brought the bucket
    /// in, a few rows earlier: a load of a link table, whose second foreign
    /// key comes in random order, took 43-75 ms instead of 64-109 for
    /// 300,000 rows (docs/bench.md).
    void prefetch_heads(const table_state<T>& st, const typename T::row_type& row) const noexcept {
        for_each_known_bucket(st, row, [](const slots& s, std::size_t n) {
            if (const char* link = head_link(s, n)) {
#if defined(__GNUC__)
                __builtin_prefetch(link, 1);
                __builtin_prefetch(link - s.link_offset);
#endif
            }
        });
    }

    /// Where the k-th hashed index (in spec order) keeps bucket n, as last
    /// learned; nullptr when not known. For tests of the learning.
    [[nodiscard]] const void* slot(std::size_t k, std::size_t n) const noexcept {
        const slots& s = slots_.at(k);
        return s.base == nullptr ? nullptr : s.base + n * s.stride;
    }

    /// The row that prefetch_heads() takes the k-th hashed index's bucket n
    /// to start with; nullptr when not known or the bucket is empty. For
    /// tests of the learning.
    [[nodiscard]] const void* head_row(std::size_t k, std::size_t n) const noexcept {
        const slots& s = slots_.at(k);
        if (s.base == nullptr) return nullptr;
        const char* link = head_link(s, n);
        return link == nullptr ? nullptr : link - s.link_offset;
    }

private:
    struct slots {
        const char* base = nullptr;
        std::size_t count = 0;  // the bucket count base was learned at
        std::size_t stride = 0;
        std::ptrdiff_t link_offset = 0;  // from a node's row to its link in this index
    };

    // Calls f(slots, bucket of row) for each hashed index whose buckets are known.
    template <class F>
    void for_each_known_bucket(const table_state<T>& st, const typename T::row_type& row, F&& f) const noexcept {
        std::size_t k = 0;
        for_each_spec<T>([&]<class S>(S*) {
            if constexpr (S::is_hashed) {
                const auto& idx = st.rows.template get<S>();
                const slots& s = slots_[k++];
                if (s.base != nullptr && s.count == idx.bucket_count()) f(s, idx.bucket(idx.key_extractor()(row)));
            }
        });
    }

    // A bucket holds one pointer: its first node's link (nullptr when empty).
    static const char* head_link(const slots& s, std::size_t n) noexcept {
        const char* link;
        std::memcpy(&link, s.base + n * s.stride, sizeof link);
        return link;
    }

    template <class Index>
    static void learn_index(const Index& idx, slots& s) noexcept {
#if BOOST_VERSION >= 105600
        if (idx.bucket_count() == s.count || idx.empty()) return;
        s = slots{};
        const std::size_t n = idx.bucket(idx.key_extractor()(*idx.begin()));
        const auto first = idx.begin(n);
        if (first == idx.end(n)) return;
        const auto node = first.get_node()->impl();
        const auto slot = node->prior()->next();
        if (slot->prior() != node) return;  // not the structure described above
        s.stride = sizeof(*slot);
        static_assert(sizeof(*slot) == sizeof(const char*), "a bucket holds one plain pointer");
        s.link_offset = reinterpret_cast<const char*>(&*node) - reinterpret_cast<const char*>(&*first);
        s.base = reinterpret_cast<const char*>(&*slot) - n * s.stride;
        s.count = idx.bucket_count();
#else
        (void)idx, (void)s;
#endif
    }

    std::array<slots, hashed_index_count<T>> slots_{};
};

}  // namespace relstore::detail
