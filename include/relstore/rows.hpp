#pragma once
/// @file rows.hpp
/// The ranges queries return: views over stored rows, never copies.

#include <cstddef>
#include <iterator>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>

namespace relstore {
namespace detail {

/// What std::ranges::view_interface gives (empty(), operator bool, front()),
/// without its constraints: clang 14 checks those while the derived range is
/// still incomplete and rejects every range built on it.
template <class Derived>
class range_base : public std::ranges::view_base {
public:
    [[nodiscard]] bool empty() const { return self().begin() == self().end(); }
    explicit operator bool() const { return !empty(); }
    [[nodiscard]] decltype(auto) front() const { return *self().begin(); }

private:
    const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace detail

/// A range of stored rows (const Row&) between two iterators of an index,
/// with the shortcuts of SQLAlchemy's Query: first(), count(), empty().
/// Valid until the rows it spans change; read it inside the scope that made it.
template <std::forward_iterator It, std::sentinel_for<It> Sentinel = It>
class rows : public detail::range_base<rows<It, Sentinel>> {
public:
    using value_type = std::iter_value_t<It>;

    rows() = default;
    rows(It first, Sentinel last) : first_(std::move(first)), last_(std::move(last)) {}

    [[nodiscard]] It begin() const { return first_; }
    [[nodiscard]] Sentinel end() const { return last_; }

    /// The first row, or nullptr when there is none.
    [[nodiscard]] const value_type* first() const {
        return first_ == last_ ? nullptr : std::addressof(*first_);
    }
    /// The number of rows; walks them (no row is copied).
    [[nodiscard]] std::size_t count() const {
        return static_cast<std::size_t>(std::ranges::distance(first_, last_));
    }

private:
    It first_{};
    Sentinel last_{};
};

}  // namespace relstore

/// A rows range only delimits rows that the store owns, so its iterators stay
/// valid after the range object is gone: std::ranges algorithms given a
/// temporary (`std::ranges::find_if(q.where<...>(v), ...)`) return usable
/// iterators, not std::ranges::dangling.
namespace std::ranges {
template <class It, class Sentinel>
inline constexpr bool enable_borrowed_range<relstore::rows<It, Sentinel>> = true;
}  // namespace std::ranges

namespace relstore {
namespace detail {

/// Holds a predicate and makes it assignable (lambdas with captures are not),
/// so that filtered_rows is a std::ranges::view and composes with views::
/// adaptors, as std::ranges' own copyable-box does.
template <class F>
class predicate_box {
public:
    explicit predicate_box(F f) : f_(std::move(f)) {}
    predicate_box(const predicate_box&) = default;
    predicate_box(predicate_box&&) noexcept(std::is_nothrow_move_constructible_v<F>) = default;
    predicate_box& operator=(const predicate_box& o) {
        if (this != &o) f_.emplace(*o.f_);
        return *this;
    }
    predicate_box& operator=(predicate_box&& o) noexcept(std::is_nothrow_move_constructible_v<F>) {
        if (this != &o) f_.emplace(std::move(*o.f_));
        return *this;
    }
    const F& get() const noexcept { return *f_; }

private:
    std::optional<F> f_;  // always engaged; optional only for emplace()
};

/// A forward iterator over the rows of an index that satisfy a predicate: the
/// O(n) scan behind filters on columns without an index.
template <class It, class Pred>
class filter_iterator {
public:
    using iterator_category = std::forward_iterator_tag;
    using iterator_concept = std::forward_iterator_tag;
    using value_type = std::iter_value_t<It>;
    using difference_type = std::ptrdiff_t;
    using reference = const value_type&;
    using pointer = const value_type*;

    filter_iterator() = default;
    filter_iterator(It it, It last, const Pred* pred) : it_(it), last_(last), pred_(pred) { skip(); }

    reference operator*() const { return *it_; }
    pointer operator->() const { return std::addressof(*it_); }
    filter_iterator& operator++() {
        ++it_;
        skip();
        return *this;
    }
    filter_iterator operator++(int) {
        auto old = *this;
        ++*this;
        return old;
    }
    friend bool operator==(const filter_iterator& a, const filter_iterator& b) { return a.it_ == b.it_; }

private:
    void skip() {
        while (it_ != last_ && !(*pred_)(*it_)) ++it_;
    }
    It it_{};
    It last_{};
    const Pred* pred_ = nullptr;
};

}  // namespace detail

/// The rows of a table that satisfy a predicate, found by scanning: O(n).
/// Holds the predicate; iterate it while it lives.
template <class It, class Pred>
class filtered_rows : public detail::range_base<filtered_rows<It, Pred>> {
public:
    using iterator = detail::filter_iterator<It, Pred>;
    using value_type = std::iter_value_t<It>;

    filtered_rows(It first, It last, Pred pred) : first_(first), last_(last), pred_(std::move(pred)) {}
    filtered_rows(const filtered_rows&) = default;
    filtered_rows(filtered_rows&&) = default;
    filtered_rows& operator=(const filtered_rows&) = default;
    filtered_rows& operator=(filtered_rows&&) = default;

    [[nodiscard]] iterator begin() const { return iterator(first_, last_, &pred_.get()); }
    [[nodiscard]] iterator end() const { return iterator(last_, last_, &pred_.get()); }

    /// The first matching row, or nullptr.
    [[nodiscard]] const value_type* first() const {
        auto it = begin();
        return it == end() ? nullptr : std::addressof(*it);
    }
    /// The number of matching rows (a full scan).
    [[nodiscard]] std::size_t count() const { return static_cast<std::size_t>(std::ranges::distance(begin(), end())); }

private:
    It first_;
    It last_;
    detail::predicate_box<Pred> pred_;
};

namespace detail {

/// A forward iterator that maps each row of an index to another stored row
/// (an association row to the row it links to).
template <class It, class Fn>
class map_iterator {
public:
    using iterator_category = std::forward_iterator_tag;
    using iterator_concept = std::forward_iterator_tag;
    using reference = decltype(std::declval<const Fn&>()(*std::declval<const It&>()));
    using value_type = std::remove_cvref_t<reference>;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;

    map_iterator() = default;
    map_iterator(It it, const Fn* fn) : it_(it), fn_(fn) {}

    reference operator*() const { return (*fn_)(*it_); }
    pointer operator->() const { return std::addressof(**this); }
    map_iterator& operator++() {
        ++it_;
        return *this;
    }
    map_iterator operator++(int) {
        auto old = *this;
        ++it_;
        return old;
    }
    friend bool operator==(const map_iterator& a, const map_iterator& b) { return a.it_ == b.it_; }

private:
    It it_{};
    const Fn* fn_ = nullptr;
};

}  // namespace detail

/// Stored rows reached through other rows (many-to-many: an author's books
/// through the association rows). Our own instead of std::views::transform,
/// which clang 14 cannot compile with libstdc++ 12. Holds the mapping; iterate
/// it while it lives.
template <class It, class Fn>
class mapped_rows : public detail::range_base<mapped_rows<It, Fn>> {
public:
    using iterator = detail::map_iterator<It, Fn>;
    using value_type = typename iterator::value_type;

    mapped_rows(It first, It last, Fn fn) : first_(first), last_(last), fn_(std::move(fn)) {}

    [[nodiscard]] iterator begin() const { return iterator(first_, &fn_.get()); }
    [[nodiscard]] iterator end() const { return iterator(last_, &fn_.get()); }

    /// The first row, or nullptr.
    [[nodiscard]] const value_type* first() const {
        return first_ == last_ ? nullptr : std::addressof(*begin());
    }
    /// The number of rows; walks the links (no row is copied).
    [[nodiscard]] std::size_t count() const { return static_cast<std::size_t>(std::ranges::distance(first_, last_)); }

private:
    It first_;
    It last_;
    detail::predicate_box<Fn> fn_;
};

}  // namespace relstore
