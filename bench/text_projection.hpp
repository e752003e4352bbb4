#pragma once
/// @file text_projection.hpp
/// What W10 would be with a compact text column type: relstore's own
/// containers for the bench schema (the same Boost.MultiIndex indexes that
/// relstore builds for it, nodes from relstore's node_pool), holding either
/// std::string or a prototype 16-byte text handle whose bytes live in the
/// table's arena (12 bytes or fewer inline). relstore_profile's `W10text`
/// loads both and prints bytes per row; the std::string variant must come
/// out at relstore's own W10 figure, which shows the projection is faithful.
/// Not a peer: nothing here is timed or compared in relstore_bench.

#include "data.hpp"

#include <relstore/detail/node_pool.hpp>

#include <boost/multi_index/composite_key.hpp>
#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index_container.hpp>
#include <boost/mpl/size.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bench::projection {

namespace mi = boost::multi_index;

/// Bytes of one table's text, bump-allocated in 1 MiB chunks: no header
/// per string, freed with the table.
class arena {
public:
    const char* copy(std::string_view s) {
        if (s.size() > static_cast<std::size_t>(end_ - next_)) {
            const std::size_t n = std::max<std::size_t>(s.size(), std::size_t{1} << 20);
            chunks_.push_back(std::make_unique<char[]>(n));
            next_ = chunks_.back().get();
            end_ = next_ + n;
        }
        char* at = next_;
        std::memcpy(at, s.data(), s.size());
        next_ += s.size();
        return at;
    }

private:
    std::vector<std::unique_ptr<char[]>> chunks_;
    char* next_ = nullptr;
    char* end_ = nullptr;
};

/// The prototype: 16 bytes, the length and up to 12 bytes inline, or the
/// length, the first 4 bytes (so that most unequal strings compare without
/// a pointer chase) and a pointer into the arena.
class text {
public:
    text() noexcept = default;
    text(std::string_view s, arena& a) : size_(static_cast<std::uint32_t>(s.size())) {
        if (s.size() <= inline_max) {
            std::memcpy(bytes_, s.data(), s.size());
        } else {
            std::memcpy(bytes_, s.data(), 4);
            const char* at = a.copy(s);
            std::memcpy(bytes_ + 4, &at, sizeof at);
        }
    }
    [[nodiscard]] std::string_view view() const noexcept {
        if (size_ <= inline_max) return {bytes_, size_};
        const char* at = nullptr;
        std::memcpy(&at, bytes_ + 4, sizeof at);
        return {at, size_};
    }
    friend bool operator==(const text& a, const text& b) noexcept { return a.view() == b.view(); }

private:
    static constexpr std::size_t inline_max = 12;
    std::uint32_t size_ = 0;
    char bytes_[12] = {};  // the string, or its first 4 bytes and a pointer to all of it
};
static_assert(sizeof(text) == 16);

struct text_hash {
    std::size_t operator()(const text& t) const noexcept { return std::hash<std::string_view>{}(t.view()); }
    std::size_t operator()(const std::string& t) const noexcept { return std::hash<std::string_view>{}(t); }
};
struct int_hash {  // relstore's transparent_hash on integers: std::hash, the identity
    std::size_t operator()(std::int64_t v) const noexcept { return std::hash<std::int64_t>{}(v); }
};

/// relstore's containers for the bench schema with Text as the text column type.
template <class Text>
struct schema {
    struct User {
        std::int64_t id;
        Text name, email;
    };
    struct Post {
        std::int64_t id, author_id;
        Text title, content;
    };
    struct Author {
        std::int64_t id;
        Text name;
    };
    struct Book {
        std::int64_t id;
        Text title;
    };
    struct Link {
        std::int64_t author_id, book_id;
    };
    template <class Row>
    using alloc = relstore::detail::pool_allocator<Row>;
    using users_t = mi::multi_index_container<
        User,
        mi::indexed_by<mi::hashed_unique<mi::member<User, std::int64_t, &User::id>, int_hash>,
                       mi::hashed_unique<mi::member<User, Text, &User::name>, text_hash>>,
        alloc<User>>;
    using posts_t = mi::multi_index_container<
        Post,
        mi::indexed_by<mi::hashed_unique<mi::member<Post, std::int64_t, &Post::id>, int_hash>,
                       mi::hashed_non_unique<mi::member<Post, std::int64_t, &Post::author_id>, int_hash>>,
        alloc<Post>>;
    using authors_t = mi::multi_index_container<
        Author, mi::indexed_by<mi::hashed_unique<mi::member<Author, std::int64_t, &Author::id>, int_hash>>,
        alloc<Author>>;
    using books_t = mi::multi_index_container<
        Book, mi::indexed_by<mi::hashed_unique<mi::member<Book, std::int64_t, &Book::id>, int_hash>>, alloc<Book>>;
    using links_t = mi::multi_index_container<
        Link,
        mi::indexed_by<
            mi::hashed_unique<mi::composite_key<Link, mi::member<Link, std::int64_t, &Link::author_id>,
                                                mi::member<Link, std::int64_t, &Link::book_id>>,
                              mi::composite_key_hash<int_hash, int_hash>>,
            mi::hashed_non_unique<mi::member<Link, std::int64_t, &Link::author_id>, int_hash>,
            mi::hashed_non_unique<mi::member<Link, std::int64_t, &Link::book_id>, int_hash>>,
        alloc<Link>>;

    /// A container with its node pool and text arena, reserved for n rows as
    /// relstore's reserve<T>(n) does (one slab, every hashed index).
    template <class C>
    struct table {
        std::unique_ptr<relstore::detail::node_pool> pool;
        arena text_bytes;
        C rows;
        explicit table(std::size_t n)
            : pool(std::make_unique<relstore::detail::node_pool>(sizeof(typename C::final_node_type),
                                                                 alignof(typename C::final_node_type))),
              rows(typename C::ctor_args_list(), typename C::allocator_type(pool.get())) {
            pool->reserve(n);
            reserve_all(n, std::make_index_sequence<boost::mpl::size<typename C::index_type_list>::value>{});
        }
        template <std::size_t... I>
        void reserve_all(std::size_t n, std::index_sequence<I...>) {
            (rows.template get<I>().reserve(n), ...);
        }
        Text make(const std::string& s) {
            if constexpr (std::is_same_v<Text, std::string>)
                return s;
            else
                return Text(s, text_bytes);
        }
    };

    table<users_t> users;
    table<posts_t> posts;
    table<authors_t> authors;
    table<books_t> books;
    table<links_t> links;

    explicit schema(const dataset& d)
        : users(d.users.size()),
          posts(d.posts.size()),
          authors(d.authors.size()),
          books(d.books.size()),
          links(d.links.size()) {
        for (const auto& u : d.users) users.rows.insert(User{u.id, users.make(u.name), users.make(u.email)});
        for (const auto& p : d.posts)
            posts.rows.insert(Post{p.id, p.author_id, posts.make(p.title), posts.make(p.content)});
        for (const auto& a : d.authors) authors.rows.insert(Author{a.id, authors.make(a.name)});
        for (const auto& b : d.books) books.rows.insert(Book{b.id, books.make(b.title)});
        for (const auto& l : d.links) links.rows.insert(Link{l.author_id, l.book_id});
    }
};

}  // namespace bench::projection
