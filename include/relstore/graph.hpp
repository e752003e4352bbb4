#pragma once
/// @file graph.hpp
/// The ranges of the walks over self-references, which are members of every
/// read scope and transaction: a one-to-many within one table (a tree:
/// category to parent, employee to manager) and a many-to-many within one
/// table (members following members).
///
///  - q.ancestors<&Category::parent_id>(row): parent, grandparent, ... (an
///    ancestor_range: lazy, no allocation);
///  - q.descendants<&Category::parent_id>(row, depth): children, grandchildren,
///    ... breadth first (collected_rows: one vector);
///  - q.reachable<&Follow::follower_id, &Follow::followee_id>(row, depth) and
///    q.is_reachable<...>(from, to): the rows a many-to-many leads to (one
///    vector and a visited set).
///
/// Each is a range of const Row& with first(), count(), empty(), take(n),
/// drop(n) and reverse(). None of them loops forever: a self-reference not
/// declared acyclic may hold cycles (an employee managing their own manager),
/// and each walk visits a row at most once. A walk never yields the row it
/// starts from.

#include <relstore/detail/relationship_traits.hpp>
#include <relstore/fwd.hpp>
#include <relstore/rows.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <limits>
#include <ranges>
#include <vector>

namespace relstore {

/// No depth limit, for descendants() and reachable().
inline constexpr std::size_t all_depths = std::numeric_limits<std::size_t>::max();

/// The ancestors of a row along a self-reference, nearest first: its parent,
/// the parent's parent, up to a root. Made by q.ancestors<Fk...>(row); a
/// forward range of const Row& over stored rows, valid while the read scope
/// lives and the rows do not change.
///
/// For a key declared acyclic_references the walk just follows parents:
/// O(depth · log n), no allocation. For any other self-reference the range
/// first measures the chain with Brent's cycle detection (O(depth) lookups,
/// no allocation), so that on a cycle each ancestor comes once and the walk
/// stops before repeating; cyclic() tells whether it met one. (With a
/// non-optional self-reference a root names itself: the walk stops at the
/// root and cyclic() is true.)
template <class Store, auto... Fk>
class ancestor_range : public detail::range_base<ancestor_range<Store, Fk...>> {
    using info = detail::self_reference<Store, Fk...>;
    static constexpr std::size_t unmeasured = std::numeric_limits<std::size_t>::max();

public:
    using row_type = typename info::row;
    using value_type = row_type;

    /// Walks up from one stored row.
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using iterator_concept = std::forward_iterator_tag;
        using value_type = row_type;
        using difference_type = std::ptrdiff_t;
        using reference = const row_type&;
        using pointer = const row_type*;

        iterator() = default;
        reference operator*() const { return *row_; }
        pointer operator->() const { return row_; }
        iterator& operator++() {
            row_ = --left_ == 0 ? nullptr : up(*q_, *row_);
            return *this;
        }
        iterator operator++(int) {
            auto old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const iterator& a, const iterator& b) { return a.row_ == b.row_; }

    private:
        friend class ancestor_range;
        iterator(const reader<Store>* q, const row_type* row, std::size_t left) : q_(q), row_(row), left_(left) {}
        const reader<Store>* q_ = nullptr;
        const row_type* row_ = nullptr;
        std::size_t left_ = 0;
    };

    /// Use q.ancestors<Fk...>(row).
    ancestor_range(const reader<Store>& q, const row_type& row) : q_(&q), first_(up(q, row)) {
        if constexpr (info::acyclic) {
            length_ = unmeasured;  // the store refuses cycles: the walk ends at a root
        } else {
            measure(row);
            if (length_ == 0) first_ = nullptr;
        }
    }

    [[nodiscard]] iterator begin() const { return first_ ? iterator(q_, first_, length_) : iterator(); }
    [[nodiscard]] iterator end() const { return iterator(); }

    /// The parent (the nearest ancestor), or nullptr for a root.
    [[nodiscard]] const row_type* first() const { return first_; }
    /// The number of ancestors (the depth of the row); walks them.
    [[nodiscard]] std::size_t count() const { return static_cast<std::size_t>(std::ranges::distance(begin(), end())); }
    /// True when the chain of parents runs into a cycle instead of a root.
    [[nodiscard]] bool cyclic() const noexcept { return cyclic_; }

    /// The nearest n ancestors: O(1), the walk stops after n.
    /// @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] ancestor_range take(N n) const {
        ancestor_range r = *this;
        r.length_ = std::min(length_, detail::row_count(n, "take"));
        if (r.length_ == 0) r.first_ = nullptr;
        return r;
    }
    /// The ancestors above the nearest n: walks up n parents (n lookups).
    /// @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] ancestor_range drop(N n) const {
        ancestor_range r = *this;
        for (std::size_t k = detail::row_count(n, "drop"); k != 0 && r.first_; --k)
            r.first_ = --r.length_ == 0 ? nullptr : up(*q_, *r.first_);
        return r;
    }
    /// The ancestors root first (a breadcrumb: all > books > fiction). A row
    /// names only its parent, so the chain can be walked upwards only: this
    /// walks it once and collects it, O(d log n) and one vector of d pointers.
    [[nodiscard]] collected_rows<row_type> reverse() const {
        std::vector<const row_type*> chain;
        for (const row_type& r : *this) chain.push_back(&r);
        std::reverse(chain.begin(), chain.end());
        return collected_rows<row_type>(std::move(chain));
    }

private:
    static const row_type* up(const reader<Store>& q, const row_type& r) {
        return detail::to_pointer(q.template parent<Fk...>(r));
    }

    // Brent's algorithm over x0 = row, x1 = parent(x0), ...: either a null
    // ends the chain, or it becomes periodic with tail mu and period lambda,
    // and then x1 .. x(mu + lambda - 1) are exactly the distinct ancestors.
    void measure(const row_type& row) {
        const row_type* x0 = &row;
        const row_type* tortoise = x0;
        const row_type* hare = first_;
        std::size_t steps = 1;  // hare is x(steps)
        std::size_t power = 1;
        std::size_t lambda = 1;
        while (hare != tortoise) {
            if (!hare) {
                length_ = steps - 1;
                return;
            }
            if (power == lambda) {
                tortoise = hare;
                power *= 2;
                lambda = 0;
            }
            hare = up(*q_, *hare);
            ++steps;
            ++lambda;
        }
        tortoise = hare = x0;
        for (std::size_t i = 0; i < lambda; ++i) hare = up(*q_, *hare);
        std::size_t mu = 0;
        while (tortoise != hare) {
            tortoise = up(*q_, *tortoise);
            hare = up(*q_, *hare);
            ++mu;
        }
        length_ = mu + lambda - 1;
        cyclic_ = true;
    }

    const reader<Store>* q_;
    const row_type* first_;
    std::size_t length_ = 0;
    bool cyclic_ = false;
};

}  // namespace relstore
