#pragma once
// The iterator every query range walks an index with. It notices when the
// index changed under it: a transaction that writes a table while walking a
// range of it (erase each row of where<>(), set the column an order_by<>()
// walks, a savepoint rolled back under the walk) gets a usage_error at its
// next step instead of a skipped or repeated row, or a freed node.

#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace relstore::detail {

/// One per index of a table: counts the changes that can move a row within
/// that index or free it (an insert, an erase, a write to one of its
/// columns, a rollback). A walk remembers the count it started at.
struct walk_stamp {
    std::uint64_t changes = 0;
    std::string index;  // "posts.author_id", for the message
};

/// Out of line: the check is inlined into every step of every walk.
[[noreturn]] void throw_walk_changed(const walk_stamp& stamp);

/// It (an index iterator) that checks its index's stamp before each step and
/// each read of a row. Equality compares positions only, so comparing with
/// end() costs nothing more; the check is one load and one compare of a
/// counter that sits next to the table's container.
template <class It>
class walk_iterator {
    static constexpr bool bidirectional = std::bidirectional_iterator<It>;

public:
    using iterator_concept = std::conditional_t<bidirectional, std::bidirectional_iterator_tag, std::forward_iterator_tag>;
    using iterator_category = iterator_concept;
    using value_type = std::iter_value_t<It>;
    using difference_type = std::iter_difference_t<It>;
    using reference = std::iter_reference_t<It>;
    using pointer = const value_type*;

    walk_iterator() = default;
    walk_iterator(It it, const walk_stamp& stamp) : it_(std::move(it)), stamp_(&stamp), seen_(stamp.changes) {}

    reference operator*() const {
        check();
        return *it_;
    }
    pointer operator->() const { return std::addressof(**this); }
    walk_iterator& operator++() {
        check();
        ++it_;
        return *this;
    }
    walk_iterator operator++(int) {
        auto old = *this;
        ++*this;
        return old;
    }
    walk_iterator& operator--()
        requires bidirectional
    {
        check();
        --it_;
        return *this;
    }
    walk_iterator operator--(int)
        requires bidirectional
    {
        auto old = *this;
        --*this;
        return old;
    }
    friend bool operator==(const walk_iterator& a, const walk_iterator& b) { return a.it_ == b.it_; }

private:
    void check() const {
        if (stamp_->changes != seen_) [[unlikely]]
            throw_walk_changed(*stamp_);
    }

    It it_{};
    const walk_stamp* stamp_ = nullptr;
    std::uint64_t seen_ = 0;
};

}  // namespace relstore::detail
