#pragma once
/// @file rows.hpp
/// The ranges queries return: views over stored rows, never copies (and, for
/// the graph walks, a list of the rows they reached). Every one has take(n),
/// drop(n) and reverse(), which return relstore ranges again, so a query
/// composes the same way on every compiler relstore supports: clang 14 cannot
/// compile libstdc++ 12's std::views at all.

#include <relstore/error.hpp>
#include <relstore/fwd.hpp>

#include <algorithm>
#include <compare>
#include <concepts>
#include <cstddef>
#include <iterator>
#include <limits>
#include <optional>
#include <ranges>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace relstore {
namespace detail {

/// What std::ranges::view_interface gives (empty(), operator bool, front()),
/// without its constraints: clang 14 checks those while the derived range is
/// still incomplete and rejects every range built on it.
template <class Derived>
class range_facade {
public:
    [[nodiscard]] bool empty() const { return self().begin() == self().end(); }
    explicit operator bool() const { return !empty(); }
    [[nodiscard]] decltype(auto) front() const { return *self().begin(); }

private:
    const Derived& self() const { return static_cast<const Derived&>(*this); }
};

/// The base of the ranges that only delimit stored rows: views (cheap to copy).
template <class Derived>
class range_base : public std::ranges::view_base, public range_facade<Derived> {};

/// No limit: what a range that take() never cut holds.
inline constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

[[noreturn]] inline void throw_negative_count(const char* verb, long long n) {
    throw usage_error(std::string("relstore: ") + verb + "(n) needs n >= 0, and was given " + std::to_string(n));
}

/// The n given to take(n) or drop(n). A negative n is a usage_error, not a
/// huge unsigned count (std::views::take(-1) is undefined behaviour).
template <class N>
std::size_t row_count(N n, const char* verb) {
    static_assert(std::is_integral_v<N> && !std::is_same_v<N, bool>,
                  "relstore: take(n) and drop(n) count rows: give an integer (an int >= 0 or a std::size_t)");
    if constexpr (std::is_integral_v<N> && !std::is_same_v<N, bool>) {
        if constexpr (std::is_signed_v<N>)
            if (n < 0) throw_negative_count(verb, static_cast<long long>(n));
        return static_cast<std::size_t>(n);
    } else {
        return 0;  // refused above
    }
}

/// it advanced by k, or to last if that comes first: O(k) on index iterators.
template <class It, class Sentinel>
It advance_up_to(It it, std::size_t k, const Sentinel& last) {
    for (; k != 0 && it != last; --k) ++it;
    return it;
}

/// The iterator that walks It backwards; reversing a reversed range gives
/// back the original iterator instead of a reverse_iterator of one.
template <class It>
struct reversed {
    using type = std::reverse_iterator<It>;
    static type make(It it) { return type(std::move(it)); }
};
template <class It>
struct reversed<std::reverse_iterator<It>> {
    using type = It;
    static It make(const std::reverse_iterator<It>& it) { return it.base(); }
};

template <class It>
inline constexpr bool in_order = std::bidirectional_iterator<It>;

/// The sentence of reverse() on rows that no index orders.
#define RELSTORE_REVERSE_NEEDS_ORDER                                                                           \
    "relstore: reverse() needs rows in index order, and these come from a hashed index (a hashed key, "       \
    "unique<>, index<> or hashed_references<>), which has no order; read them through an ordered one "         \
    "(ordered<>, ordered_unique<>, references<>, auto_key<>) with order_by<>(), range<>(), where<>() or "      \
    "children_by<>()"

}  // namespace detail

/// A range of stored rows (const Row&) between two iterators of an index,
/// with the shortcuts of SQLAlchemy's Query: first(), count(), empty(), and
/// take(n), drop(n), reverse() for limit, offset and descending order.
/// Read it inside the scope that made it (a range read from a temporary
/// scope holds that scope: scoped_rows). Its iterators check their index:
/// walking on after a write that can move or free a row of that index is a
/// usage_error (see detail/walk.hpp).
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

    /// The first n rows (SQL's LIMIT): walks up to n rows to find where they
    /// end, so the result is again a pair of index iterators, of this type.
    /// @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] rows take(N n) const {
        return rows(first_, detail::advance_up_to(first_, detail::row_count(n, "take"), last_));
    }
    /// The rows after the first n (SQL's OFFSET): walks n rows. @throws
    /// usage_error when n is negative.
    template <class N>
    [[nodiscard]] rows drop(N n) const {
        return rows(detail::advance_up_to(first_, detail::row_count(n, "drop"), last_), last_);
    }
    /// The same rows, last first: O(1), through the index's own iterators
    /// walked backwards. Needs an ordered index (a hashed one has no order).
    [[nodiscard]] auto reverse() const {
        static_assert(detail::in_order<It>, RELSTORE_REVERSE_NEEDS_ORDER);
        if constexpr (detail::in_order<It>) {
            using r = detail::reversed<It>;
            return rows<typename r::type>(r::make(last_), r::make(first_));
        } else {
            return *this;  // refused above
        }
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
/// O(n) scan behind filters on columns without an index. It stops after
/// `left` matches, so a scan cut by take(n) tests no row past the nth match.
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
    filter_iterator(It it, It last, const Pred* pred, std::size_t left)
        : it_(it), last_(last), pred_(pred), left_(left) {
        if (left_ == 0)
            it_ = last_;
        else
            skip();
    }

    reference operator*() const { return *it_; }
    pointer operator->() const { return std::addressof(*it_); }
    filter_iterator& operator++() {
        // no_limit never counts down to 0: no table holds that many rows.
        if (--left_ == 0) {
            it_ = last_;
        } else {
            ++it_;
            skip();
        }
        return *this;
    }
    filter_iterator operator++(int) {
        auto old = *this;
        ++*this;
        return old;
    }
    friend bool operator==(const filter_iterator& a, const filter_iterator& b) { return a.it_ == b.it_; }

    /// The index position: the current match, or the end.
    [[nodiscard]] const It& base() const noexcept { return it_; }

private:
    void skip() {
        while (it_ != last_ && !(*pred_)(*it_)) ++it_;
    }
    It it_{};
    It last_{};
    const Pred* pred_ = nullptr;
    std::size_t left_ = 0;
};

}  // namespace detail

/// The rows of a table that satisfy a predicate, found by scanning: O(n).
/// take(n) is lazy (the scan stops at the nth match); drop(n) scans to the
/// nth match when called; reverse() scans the index backwards, testing each
/// row once (after take(n) it first scans forward to the nth match).
/// Holds the predicate; iterate it while it lives.
template <class It, class Pred>
class filtered_rows : public detail::range_base<filtered_rows<It, Pred>> {
public:
    using iterator = detail::filter_iterator<It, Pred>;
    using value_type = std::iter_value_t<It>;

    filtered_rows(It first, It last, Pred pred, std::size_t limit = detail::no_limit)
        : first_(first), last_(last), pred_(std::move(pred)), limit_(limit) {}
    filtered_rows(const filtered_rows&) = default;
    filtered_rows(filtered_rows&&) = default;
    filtered_rows& operator=(const filtered_rows&) = default;
    filtered_rows& operator=(filtered_rows&&) = default;

    [[nodiscard]] iterator begin() const { return iterator(first_, last_, &pred_.get(), limit_); }
    [[nodiscard]] iterator end() const { return iterator(last_, last_, &pred_.get(), 0); }

    /// The first matching row, or nullptr.
    [[nodiscard]] const value_type* first() const {
        auto it = begin();
        return it == end() ? nullptr : std::addressof(*it);
    }
    /// The number of matching rows (a full scan, or one up to the limit).
    [[nodiscard]] std::size_t count() const { return static_cast<std::size_t>(std::ranges::distance(begin(), end())); }

    /// The first n matches; scans nothing until read, then stops at the nth.
    /// @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] filtered_rows take(N n) const {
        return filtered_rows(first_, last_, pred_.get(), std::min(limit_, detail::row_count(n, "take")));
    }
    /// The matches after the first n: scans up to the nth match now.
    /// @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] filtered_rows drop(N n) const {
        const std::size_t k = std::min(limit_, detail::row_count(n, "drop"));
        iterator it = begin();
        for (std::size_t i = 0; i < k && it != end(); ++i) ++it;
        return filtered_rows(it.base(), last_, pred_.get(), limit_ == detail::no_limit ? limit_ : limit_ - k);
    }
    /// The same matches, last first: the scan runs over the index backwards.
    /// Needs an ordered key (a table with a hashed key has no order to reverse).
    [[nodiscard]] auto reverse() const {
        static_assert(detail::in_order<It>, RELSTORE_REVERSE_NEEDS_ORDER);
        if constexpr (detail::in_order<It>) {
            It stop = last_;
            if (limit_ != detail::no_limit) {
                // Reversed, the limit is where the scan starts: just past the last match it keeps.
                stop = first_;
                std::size_t left = limit_;
                for (It it = first_; left != 0 && it != last_; ++it)
                    if (pred_.get()(*it)) {
                        --left;
                        stop = std::next(it);
                    }
            }
            using r = detail::reversed<It>;
            return filtered_rows<typename r::type, Pred>(r::make(stop), r::make(first_), pred_.get());
        } else {
            return *this;  // refused above
        }
    }

private:
    It first_;
    It last_;
    detail::predicate_box<Pred> pred_;
    std::size_t limit_;
};

namespace detail {

/// What a mapping gives for a row: a reference when every row maps to a
/// stored row, a pointer when some map to none (a link whose key is null).
template <class It, class Fn>
using mapped_t = decltype(std::declval<const Fn&>()(*std::declval<const It&>()));

/// True when Fn maps some rows to nothing (returns a pointer): the range then
/// skips them. Decided by the type, so a mapping that always reaches a row
/// pays nothing for the test.
template <class It, class Fn>
inline constexpr bool maps_to_pointer = std::is_pointer_v<mapped_t<It, Fn>>;

/// Whether row maps to a stored row. A mapping may answer without its lookup
/// (reaches(row): is the key null?); otherwise it is called.
template <class Fn, class Row>
bool reaches(const Fn& fn, const Row& row) {
    if constexpr (requires { { fn.reaches(row) } -> std::convertible_to<bool>; })
        return fn.reaches(row);
    else
        return fn(row) != nullptr;
}

[[noreturn]] inline void throw_maps_to_nothing() {
    throw usage_error(
        "relstore: a mapped range's iterator was read after a write made its row map to no row (a link whose "
        "key was set to null while a walk stood on it); read the range again after writing");
}

/// A forward iterator that maps each row of an index to another stored row
/// (an association row to the row it links to). When the mapping gives a
/// pointer it passes by the rows that map to null, as a join drops a link
/// whose key is null; it then holds the end of the walk as well.
template <class It, class Fn>
class map_iterator {
    static constexpr bool skips = maps_to_pointer<It, Fn>;
    struct no_end {
        friend bool operator==(no_end, no_end) = default;
    };

public:
    using iterator_category = std::forward_iterator_tag;
    using iterator_concept = std::forward_iterator_tag;
    using value_type = std::remove_cvref_t<std::remove_pointer_t<mapped_t<It, Fn>>>;
    using reference = std::conditional_t<skips, const value_type&, mapped_t<It, Fn>>;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;

    map_iterator() = default;
    map_iterator(It it, It last, const Fn* fn) : it_(it), fn_(fn) {
        if constexpr (skips) {
            last_ = last;
            skip();
        }
    }

    reference operator*() const {
        if constexpr (skips) {
            // skip() saw a row here; a write since (set_null on the link's
            // key) can leave none, and the walk's own check does not see a
            // write to a column its index does not cover.
            const auto* p = (*fn_)(*it_);
            if (!p) [[unlikely]] {
                if constexpr (requires { fn_->maps_to_nothing(*it_); })
                    fn_->maps_to_nothing(*it_);
                throw_maps_to_nothing();
            }
            return *p;
        } else {
            return (*fn_)(*it_);
        }
    }
    pointer operator->() const { return std::addressof(**this); }
    map_iterator& operator++() {
        ++it_;
        if constexpr (skips) skip();
        return *this;
    }
    map_iterator operator++(int) {
        auto old = *this;
        ++*this;
        return old;
    }
    friend bool operator==(const map_iterator& a, const map_iterator& b) { return a.it_ == b.it_; }

    /// The index position: the current row, or the end.
    [[nodiscard]] const It& base() const noexcept { return it_; }

private:
    void skip() {
        while (it_ != last_ && !detail::reaches(*fn_, *it_)) ++it_;
    }

    It it_{};
    [[no_unique_address]] std::conditional_t<skips, It, no_end> last_{};
    const Fn* fn_ = nullptr;
};

}  // namespace detail

/// Stored rows reached through other rows (many-to-many: an author's books
/// through the association rows). Our own instead of std::views::transform,
/// which clang 14 cannot compile with libstdc++ 12. One row per row of the
/// index walked, so take(n), drop(n) and reverse() work on that walk and
/// call the mapping for no row they skip. When the mapping returns a pointer
/// (links over an optional key), rows it maps to null are left out: count(),
/// take(n) and drop(n) then test each link they pass (reaches(), a null
/// check for links), still without reading the rows linked. Holds the
/// mapping; iterate it while it lives.
template <class It, class Fn>
class mapped_rows : public detail::range_base<mapped_rows<It, Fn>> {
    static constexpr bool skips = detail::maps_to_pointer<It, Fn>;

public:
    using iterator = detail::map_iterator<It, Fn>;
    using value_type = typename iterator::value_type;

    mapped_rows(It first, It last, Fn fn) : first_(first), last_(last), fn_(std::move(fn)) {}

    [[nodiscard]] iterator begin() const { return iterator(first_, last_, &fn_.get()); }
    [[nodiscard]] iterator end() const { return iterator(last_, last_, &fn_.get()); }

    /// The first row, or nullptr.
    [[nodiscard]] const value_type* first() const {
        auto it = begin();
        return it == end() ? nullptr : std::addressof(*it);
    }
    /// The number of rows; walks the links (no row is copied).
    [[nodiscard]] std::size_t count() const {
        if constexpr (skips)
            return static_cast<std::size_t>(std::ranges::distance(begin(), end()));
        else
            return static_cast<std::size_t>(std::ranges::distance(first_, last_));
    }

    /// The first n rows: walks up to n links. @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] mapped_rows take(N n) const {
        return mapped_rows(first_, past(detail::row_count(n, "take")), fn_.get());
    }
    /// The rows after the first n: walks n links. @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] mapped_rows drop(N n) const {
        return mapped_rows(past(detail::row_count(n, "drop")), last_, fn_.get());
    }
    /// The same rows, last first: O(1). Needs links kept in an ordered index
    /// (references<>, not hashed_references<>).
    [[nodiscard]] auto reverse() const {
        static_assert(detail::in_order<It>, RELSTORE_REVERSE_NEEDS_ORDER);
        if constexpr (detail::in_order<It>) {
            using r = detail::reversed<It>;
            return mapped_rows<typename r::type, Fn>(r::make(last_), r::make(first_), fn_.get());
        } else {
            return *this;  // refused above
        }
    }

private:
    // The walk position just past the first k rows, or last_.
    It past(std::size_t k) const {
        if constexpr (skips) {
            It it = first_;
            for (; k != 0 && it != last_; ++it)
                if (detail::reaches(fn_.get(), *it)) --k;
            return it;
        } else {
            return detail::advance_up_to(first_, k, last_);
        }
    }

    It first_;
    It last_;
    detail::predicate_box<Fn> fn_;
};

/// Stored rows that a graph walk collected (descendants(), reachable(), and
/// ancestors() reversed), in the walk's order: a range of const Row& that
/// owns a vector of pointers to the rows, so it is a container, not a view
/// (copying it copies the vector). Random access. take(n), drop(n) and
/// reverse() cost O(k) for k rows and reuse the vector of a temporary.
/// The rows are the stored ones: valid until they are erased; read them
/// inside the scope that made the list.
template <class Row>
class collected_rows : public detail::range_facade<collected_rows<Row>> {
public:
    using value_type = Row;

    /// Walks the pointers, yielding the rows.
    class iterator {
    public:
        using iterator_concept = std::random_access_iterator_tag;
        using iterator_category = std::random_access_iterator_tag;
        using value_type = Row;
        using difference_type = std::ptrdiff_t;
        using reference = const Row&;
        using pointer = const Row*;

        iterator() = default;
        explicit iterator(const Row* const* p) : p_(p) {}

        reference operator*() const { return **p_; }
        pointer operator->() const { return *p_; }
        reference operator[](difference_type n) const { return *p_[n]; }
        iterator& operator++() {
            ++p_;
            return *this;
        }
        iterator operator++(int) { return iterator(p_++); }
        iterator& operator--() {
            --p_;
            return *this;
        }
        iterator operator--(int) { return iterator(p_--); }
        iterator& operator+=(difference_type n) {
            p_ += n;
            return *this;
        }
        iterator& operator-=(difference_type n) {
            p_ -= n;
            return *this;
        }
        friend iterator operator+(iterator i, difference_type n) { return i += n; }
        friend iterator operator+(difference_type n, iterator i) { return i += n; }
        friend iterator operator-(iterator i, difference_type n) { return i -= n; }
        friend difference_type operator-(const iterator& a, const iterator& b) { return a.p_ - b.p_; }
        friend bool operator==(const iterator& a, const iterator& b) { return a.p_ == b.p_; }
        friend std::strong_ordering operator<=>(const iterator& a, const iterator& b) { return a.p_ <=> b.p_; }

    private:
        const Row* const* p_ = nullptr;
    };

    collected_rows() = default;
    explicit collected_rows(std::vector<const Row*> rows) : rows_(std::move(rows)) {}

    [[nodiscard]] iterator begin() const { return iterator(rows_.data()); }
    [[nodiscard]] iterator end() const { return iterator(rows_.data() + rows_.size()); }

    /// The first row, or nullptr.
    [[nodiscard]] const Row* first() const noexcept { return rows_.empty() ? nullptr : rows_.front(); }
    /// The number of rows: O(1).
    [[nodiscard]] std::size_t count() const noexcept { return rows_.size(); }

    /// The first n rows. @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] collected_rows take(N n) const& {
        return collected_rows(*this).take(n);
    }
    template <class N>
    [[nodiscard]] collected_rows take(N n) && {
        const std::size_t k = detail::row_count(n, "take");
        if (k < rows_.size()) rows_.resize(k);
        return std::move(*this);
    }
    /// The rows after the first n. @throws usage_error when n is negative.
    template <class N>
    [[nodiscard]] collected_rows drop(N n) const& {
        const std::size_t k = std::min(detail::row_count(n, "drop"), rows_.size());
        return collected_rows(std::vector<const Row*>(rows_.begin() + static_cast<std::ptrdiff_t>(k), rows_.end()));
    }
    template <class N>
    [[nodiscard]] collected_rows drop(N n) && {
        const std::size_t k = std::min(detail::row_count(n, "drop"), rows_.size());
        rows_.erase(rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(k));
        return std::move(*this);
    }
    /// The same rows, last first.
    [[nodiscard]] collected_rows reverse() const& { return collected_rows(std::vector<const Row*>(rows_.rbegin(), rows_.rend())); }
    [[nodiscard]] collected_rows reverse() && {
        std::reverse(rows_.begin(), rows_.end());
        return std::move(*this);
    }

private:
    std::vector<const Row*> rows_;
};

namespace detail {

template <class Scope>
struct scope_holder {
    explicit scope_holder(Scope&& scope) noexcept : scope_(std::move(scope)) {}
    Scope scope_;
};

template <class>
inline constexpr bool dependent_false = false;

#define RELSTORE_SCOPED_ROWS_CHAIN(verb)                                                                         \
    "relstore: " verb "() of a range read from a temporary read scope (db.read().all<T>() and the like) would "  \
    "outlive that scope: the range holds the scope, and the one " verb "() makes would not. Keep the scope in "  \
    "a variable: auto q = db.read(); then q.<query>()." verb "(...)"

}  // namespace detail

/// A range read from a temporary read scope, as in
/// `for (const Post& p : db.read().all<posts>())`: it holds that scope for
/// its own life. In C++20 a range-for ends the temporaries of its range
/// expression before the loop runs, so without this the loop walked rows
/// under no scope at all, which a writer could free. Everything of R is
/// here (first(), count(), begin(), ...); it cannot be copied or moved (a
/// walk up ancestors() points at its scope), and take(), drop() and
/// reverse() of a temporary one refuse to compile: what they return would
/// not hold the scope.
template <class R, class Scope>
class scoped_rows : private detail::scope_holder<Scope>, public R {
public:
    /// The scope moved in first, then the range made from it where it lives.
    template <class Make>
    scoped_rows(Scope&& scope, Make&& make)
        : detail::scope_holder<Scope>(std::move(scope)), R(std::forward<Make>(make)(this->scope_)) {}
    scoped_rows(const scoped_rows&) = delete;
    scoped_rows& operator=(const scoped_rows&) = delete;

    /// The first row: valid while this range (and so its scope) lives.
    [[nodiscard]] auto first() const RELSTORE_LIFETIMEBOUND { return R::first(); }

    /// On a range kept in a variable (`auto r = db.read().all<T>();`): valid
    /// while r lives.
    template <class N>
    [[nodiscard]] auto take(N n) const& {
        return R::take(n);
    }
    template <class N>
    void take(N) && {
        static_assert(detail::dependent_false<N>, RELSTORE_SCOPED_ROWS_CHAIN("take"));
    }
    template <class N>
    [[nodiscard]] auto drop(N n) const& {
        return R::drop(n);
    }
    template <class N>
    void drop(N) && {
        static_assert(detail::dependent_false<N>, RELSTORE_SCOPED_ROWS_CHAIN("drop"));
    }
    template <class Self = R>
    [[nodiscard]] auto reverse() const& {
        return Self::reverse();
    }
    template <class Self = R>
    void reverse() && {
        static_assert(detail::dependent_false<Self>, RELSTORE_SCOPED_ROWS_CHAIN("reverse"));
    }
};

}  // namespace relstore

#undef RELSTORE_SCOPED_ROWS_CHAIN
#undef RELSTORE_REVERSE_NEEDS_ORDER
