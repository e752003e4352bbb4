#pragma once
/// @file graph.hpp
/// Traversals over self-references: a one-to-many within one table (a tree:
/// category to parent, employee to manager) and a many-to-many within one
/// table (members following members).
///
///  - ancestors<&Category::parent_id>(q, row): parent, grandparent, ... (a lazy
///    range; no allocation);
///  - descendants<&Category::parent_id>(q, row, depth): children, grandchildren,
///    ... breadth first (one vector);
///  - reachable<&Follow::follower_id, &Follow::followee_id>(q, row, depth) and
///    is_reachable(q, from, to): the rows a many-to-many leads to (one vector and
///    a visited set).
///
/// None of them loops forever: a self-reference not declared acyclic may hold
/// cycles (an employee managing their own manager), and each traversal visits
/// a row at most once. A traversal never yields the row it starts from.

#include <relstore/relationships.hpp>

#include <cstddef>
#include <iterator>
#include <limits>
#include <ranges>
#include <type_traits>
#include <unordered_set>
#include <vector>

namespace relstore {

/// No depth limit, for descendants() and reachable().
inline constexpr std::size_t all_depths = std::numeric_limits<std::size_t>::max();

namespace detail {

/// A foreign key (Fk... on one table) that references its own table.
template <class Store, auto... Fk>
struct self_reference {
    using table = table_of_member<Store, first_of<Fk...>>;
    using spec = typename fk_spec<table, column_list<Fk...>>::type;
    static_assert(!std::is_void_v<spec>,
                  "relstore: no foreign key is declared on these columns; declare "
                  "relstore::references<&Row::parent_column, relstore::self> in the table");
    using parent = parent_of<std::conditional_t<std::is_void_v<spec>, foreign_key<self, fk_options{}, Fk...>, spec>,
                             table>;
    static_assert(std::is_same_v<parent, table>,
                  "relstore: ancestors<>() and descendants<>() walk a self-reference; this foreign key references "
                  "another table (use parent<>() and children<>())");
    static constexpr bool acyclic = [] {
        if constexpr (std::is_void_v<spec>)
            return false;
        else
            return spec::is_acyclic;
    }();
    using row = typename table::row_type;
};

template <class P>
const P* to_pointer(const P& p) {
    return &p;
}
template <class P>
const P* to_pointer(const P* p) {
    return p;
}

}  // namespace detail

/// The ancestors of a row along a self-reference, nearest first: its parent,
/// the parent's parent, up to a root. Made by ancestors(); a forward range of
/// const Row& over stored rows, valid while the read scope lives and the rows
/// do not change.
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

    /// Use relstore::ancestors<Fk...>(q, row).
    ancestor_range(const reader<Store>& q, const row_type& row) : q_(&q), first_(up(q, row)) {
        if constexpr (info::acyclic) {
            length_ = std::numeric_limits<std::size_t>::max();  // the store refuses cycles
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

/// The ancestors of `row` along the self-reference Fk, nearest first (see
/// ancestor_range): ancestors<&Employee::manager_id>(q, emp) is emp's manager,
/// their manager, and so on.
template <auto... Fk, class Store>
[[nodiscard]] ancestor_range<Store, Fk...> ancestors(const reader<Store>& q,
                                                     const typename detail::self_reference<Store, Fk...>::row& row) {
    return ancestor_range<Store, Fk...>(q, row);
}

/// The descendants of `row` along the self-reference Fk, breadth first: its
/// children (depth 1), then theirs, down to max_depth levels (all_depths: all).
/// Each level is in the foreign key's index order. Each row has one parent,
/// so no row is reached twice unless a cycle leads back to `row`, which is
/// then skipped: no visited set is needed. O(k log n) for k descendants; one
/// vector of k pointers.
template <auto... Fk, class Store>
[[nodiscard]] std::vector<const typename detail::self_reference<Store, Fk...>::row*> descendants(
    const reader<Store>& q, const typename detail::self_reference<Store, Fk...>::row& row,
    std::size_t max_depth = all_depths) {
    std::vector<const typename detail::self_reference<Store, Fk...>::row*> out;
    auto expand = [&](const auto& parent) {
        for (const auto& c : q.template children<Fk...>(parent))
            if (&c != &row) out.push_back(&c);
    };
    std::size_t level_begin = 0;
    for (std::size_t depth = 1; depth <= max_depth; ++depth) {
        const std::size_t level_end = out.size();
        if (depth == 1) {
            expand(row);
        } else {
            if (level_begin == level_end) break;
            for (std::size_t i = level_begin; i < level_end; ++i) expand(*out[i]);
        }
        level_begin = level_end;
        if (out.size() == level_end) break;
    }
    return out;
}

namespace detail {

template <class Store, auto FromFk, auto ToFk>
struct self_association : association<Store, FromFk, ToFk> {
    static_assert(std::is_same_v<typename association<Store, FromFk, ToFk>::from_row,
                                 typename association<Store, FromFk, ToFk>::to_row>,
                  "relstore: reachable<>() follows a many-to-many within one table; both foreign keys of the "
                  "association table must reference that table");
    using row = typename association<Store, FromFk, ToFk>::from_row;
};

}  // namespace detail

/// The rows reachable from `start` along a self many-to-many, breadth first:
/// reachable<&Follow::follower_id, &Follow::followee_id>(q, m) is whom m
/// follows, whom they follow, ... down to max_depth links. Swap the members to
/// walk the other way (followers of followers). Each row comes once; `start`
/// never does. O((k + links) log n); a vector and a visited set of k pointers.
template <auto FromFk, auto ToFk, class Store>
[[nodiscard]] std::vector<const typename detail::self_association<Store, FromFk, ToFk>::row*> reachable(
    const reader<Store>& q, const typename detail::self_association<Store, FromFk, ToFk>::row& start,
    std::size_t max_depth = all_depths) {
    using row_t = typename detail::self_association<Store, FromFk, ToFk>::row;
    std::vector<const row_t*> out;
    std::unordered_set<const row_t*> visited{&start};
    auto expand = [&](const row_t& from) {
        for (const row_t& to : q.template linked<FromFk, ToFk>(from))
            if (visited.insert(&to).second) out.push_back(&to);
    };
    std::size_t level_begin = 0;
    for (std::size_t depth = 1; depth <= max_depth; ++depth) {
        const std::size_t level_end = out.size();
        if (depth == 1) {
            expand(start);
        } else {
            for (std::size_t i = level_begin; i < level_end; ++i) expand(*out[i]);
        }
        level_begin = level_end;
        if (out.size() == level_end) break;
    }
    return out;
}

/// True when a path of one or more links leads from `from` to `to` along a
/// self many-to-many (is_reachable(q, m, m) is true when m is on a cycle).
/// Breadth first, stops at the first path found; never loops.
template <auto FromFk, auto ToFk, class Store>
[[nodiscard]] bool is_reachable(const reader<Store>& q,
                                const typename detail::self_association<Store, FromFk, ToFk>::row& from,
                                const typename detail::self_association<Store, FromFk, ToFk>::row& to,
                                std::size_t max_depth = all_depths) {
    using row_t = typename detail::self_association<Store, FromFk, ToFk>::row;
    std::vector<const row_t*> frontier{&from};
    std::vector<const row_t*> next;
    std::unordered_set<const row_t*> visited{&from};
    for (std::size_t depth = 1; depth <= max_depth && !frontier.empty(); ++depth) {
        next.clear();
        for (const row_t* r : frontier)
            for (const row_t& n : q.template linked<FromFk, ToFk>(*r)) {
                if (&n == &to) return true;
                if (visited.insert(&n).second) next.push_back(&n);
            }
        frontier.swap(next);
    }
    return false;
}

}  // namespace relstore
