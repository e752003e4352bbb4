#pragma once
/// @file peer_raw.hpp
/// The floor: the same schema in hand-written Boost.MultiIndex containers,
/// no library in between. It does the same relational work as the other peers
/// (foreign keys checked on insert and re-parent, cascades on delete, unique
/// keys enforced by the containers) so that ratios compare like with like;
/// everything else is as lean as a careful hand-writer would make it: hashed
/// indexes with identity hashing on integers, heterogeneous string lookup,
/// non-key columns `mutable` so that updating them needs no re-indexing, and
/// the buckets of every hashed index reserved up front (a hand-writer knows
/// the sizes it loads; `reserve` on the container reaches only its first index).

#include "data.hpp"
#include "io.hpp"

#include <boost/multi_index/hashed_index.hpp>
#include <boost/multi_index/member.hpp>
#include <boost/multi_index_container.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace bench {
namespace raw {

namespace mi = boost::multi_index;

struct user {
    std::int64_t id;
    std::string name;
    mutable std::string email;
};
struct post {
    std::int64_t id;
    std::int64_t author_id;
    mutable std::string title;
    mutable std::string content;
};
struct author {
    std::int64_t id;
    mutable std::string name;
};
struct book {
    std::int64_t id;
    mutable std::string title;
};
struct link {
    std::int64_t author_id;
    std::int64_t book_id;
};

/// Hashes std::string and std::string_view alike, so lookups by name need no
/// temporary std::string.
struct text_hash {
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct text_eq {
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};
struct pair_key {
    using result_type = std::pair<std::int64_t, std::int64_t>;
    result_type operator()(const link& l) const noexcept { return {l.author_id, l.book_id}; }
};
struct pair_hash {
    std::size_t operator()(const std::pair<std::int64_t, std::int64_t>& p) const noexcept {
        return static_cast<std::size_t>(static_cast<std::uint64_t>(p.first) * 0x9E3779B97F4A7C15ull ^
                                        static_cast<std::uint64_t>(p.second));
    }
};

using users_t = mi::multi_index_container<
    user, mi::indexed_by<mi::hashed_unique<mi::member<user, std::int64_t, &user::id>>,
                         mi::hashed_unique<mi::member<user, std::string, &user::name>, text_hash, text_eq>>>;
using posts_t = mi::multi_index_container<
    post, mi::indexed_by<mi::hashed_unique<mi::member<post, std::int64_t, &post::id>>,
                         mi::hashed_non_unique<mi::member<post, std::int64_t, &post::author_id>>>>;
using authors_t =
    mi::multi_index_container<author, mi::indexed_by<mi::hashed_unique<mi::member<author, std::int64_t, &author::id>>>>;
using books_t =
    mi::multi_index_container<book, mi::indexed_by<mi::hashed_unique<mi::member<book, std::int64_t, &book::id>>>>;
using links_t = mi::multi_index_container<
    link, mi::indexed_by<mi::hashed_unique<pair_key, pair_hash>,
                         mi::hashed_non_unique<mi::member<link, std::int64_t, &link::author_id>>,
                         mi::hashed_non_unique<mi::member<link, std::int64_t, &link::book_id>>>>;

}  // namespace raw

class raw_peer {
public:
    static constexpr const char* name = "raw";

    /// W1: every row of the data set; foreign keys checked as rows go in.
    void load(const dataset& d) {
        reserve(d.users.size(), d.posts.size(), d.authors.size(), d.books.size(), d.links.size());
        for (const auto& u : d.users) insert_user(u.id, u.name, u.email);
        for (const auto& p : d.posts) insert_post(p.id, p.author_id, p.title, p.content);
        for (const auto& a : d.authors) insert_author(a.id, a.name);
        for (const auto& b : d.books) insert_book(b.id, b.title);
        for (const auto& l : d.links) insert_link(l.author_id, l.book_id);
    }

    // No locks and no transactions: the reader and the writer are the containers.
    template <class F>
    decltype(auto) read(F&& f) const {
        return f(*this);
    }
    template <class F>
    decltype(auto) write(F&& f) {
        return f(*this);
    }

    // --- reader ---
    std::uint64_t user_name(std::int64_t id) const {  // W2
        auto it = users_.find(id);
        return it == users_.end() ? 0 : sig(it->name);
    }
    std::uint64_t user_posts(std::int64_t id) const {  // W3
        std::uint64_t len = 0, n = 0;
        for (auto [b, e] = posts_.get<1>().equal_range(id); b != e; ++b) len += b->title.size(), ++n;
        return len + (n << 32);
    }
    std::uint64_t post_author(std::int64_t id) const {  // W4
        auto p = posts_.find(id);
        if (p == posts_.end()) return 0;
        auto u = users_.find(p->author_id);
        return u == users_.end() ? 0 : sig(u->name);
    }
    std::uint64_t user_by_name(std::string_view name) const {  // W5
        const auto& idx = users_.get<1>();
        auto it = idx.find(name);
        return it == idx.end() ? 0 : static_cast<std::uint64_t>(it->id);
    }
    std::uint64_t author_books(std::int64_t a) const {  // W6, one way
        std::uint64_t s = 0;
        for (auto [b, e] = links_.get<1>().equal_range(a); b != e; ++b) {
            auto bk = books_.find(b->book_id);
            s += book_sum(bk->id, bk->title);
        }
        return s;
    }
    std::uint64_t book_authors(std::int64_t bid) const {  // W6, the other way
        std::uint64_t s = 0;
        for (auto [b, e] = links_.get<2>().equal_range(bid); b != e; ++b) {
            auto a = authors_.find(b->author_id);
            s += author_sum(a->id, a->name);
        }
        return s;
    }
    std::uint64_t post_sig(std::int64_t id) const {  // W8 check
        auto p = posts_.find(id);
        return p == posts_.end() ? 0 : post_sum(p->id, p->author_id, p->title, p->content);
    }

    // --- writer ---
    void set_title(std::int64_t post_id, const std::string& title) {
        auto p = posts_.find(post_id);
        if (p == posts_.end()) throw std::runtime_error("raw: no post " + std::to_string(post_id));
        p->title = title;  // mutable non-key column: no index touched
    }
    void set_author(std::int64_t post_id, std::int64_t author) {
        auto p = posts_.find(post_id);
        if (p == posts_.end()) throw std::runtime_error("raw: no post " + std::to_string(post_id));
        if (users_.find(author) == users_.end()) throw std::runtime_error("raw: no user " + std::to_string(author));
        auto& by_author = posts_.get<1>();
        by_author.modify_key(posts_.project<1>(p), [&](std::int64_t& a) { a = author; });
    }
    void erase_user(std::int64_t id) {
        auto u = users_.find(id);
        if (u == users_.end()) throw std::runtime_error("raw: no user " + std::to_string(id));
        auto& by_author = posts_.get<1>();
        auto [b, e] = by_author.equal_range(id);
        by_author.erase(b, e);
        users_.erase(u);
    }

    /// Row counts and the order-independent checksum of every row.
    state full_state() const {
        state s{{users_.size(), posts_.size(), authors_.size(), books_.size(), links_.size()}, 0};
        for (const auto& u : users_) s.sum += user_sum(u.id, u.name, u.email);
        for (const auto& p : posts_) s.sum += post_sum(p.id, p.author_id, p.title, p.content);
        for (const auto& a : authors_) s.sum += author_sum(a.id, a.name);
        for (const auto& b : books_) s.sum += book_sum(b.id, b.title);
        for (const auto& l : links_) s.sum += link_sum(l.author_id, l.book_id);
        return s;
    }

    /// W9: a hand-written binary dump (counts, then rows; strings length-prefixed),
    /// written through one buffer and fsync'ed; loading parses it and rebuilds.
    void save(const std::filesystem::path& path) const {
        file_writer w(path);
        w.u64(users_.size()), w.u64(posts_.size()), w.u64(authors_.size()), w.u64(books_.size()), w.u64(links_.size());
        for (const auto& u : users_) w.i64(u.id), w.str(u.name), w.str(u.email);
        for (const auto& p : posts_) w.i64(p.id), w.i64(p.author_id), w.str(p.title), w.str(p.content);
        for (const auto& a : authors_) w.i64(a.id), w.str(a.name);
        for (const auto& b : books_) w.i64(b.id), w.str(b.title);
        for (const auto& l : links_) w.i64(l.author_id), w.i64(l.book_id);
        w.finish();
    }
    void load_file(const std::filesystem::path& path) {
        file_reader r(path);
        const std::uint64_t nu = r.u64(), np = r.u64(), na = r.u64(), nb = r.u64(), nl = r.u64();
        reserve(nu, np, na, nb, nl);
        for (std::uint64_t i = 0; i < nu; ++i) {
            const auto id = r.i64();
            auto n = r.str();
            insert_user(id, std::string(n), std::string(r.str()));
        }
        for (std::uint64_t i = 0; i < np; ++i) {
            const auto id = r.i64(), a = r.i64();
            auto t = r.str();
            insert_post(id, a, std::string(t), std::string(r.str()));
        }
        for (std::uint64_t i = 0; i < na; ++i) {
            const auto id = r.i64();
            insert_author(id, std::string(r.str()));
        }
        for (std::uint64_t i = 0; i < nb; ++i) {
            const auto id = r.i64();
            insert_book(id, std::string(r.str()));
        }
        for (std::uint64_t i = 0; i < nl; ++i) {
            const auto a = r.i64();
            insert_link(a, r.i64());
        }
    }

private:
    /// Buckets for every hashed index, so that none rehashes while loading.
    void reserve(std::size_t users, std::size_t posts, std::size_t authors, std::size_t books, std::size_t links) {
        users_.reserve(users);
        users_.get<1>().reserve(users);
        posts_.reserve(posts);
        posts_.get<1>().reserve(posts);
        authors_.reserve(authors);
        books_.reserve(books);
        links_.reserve(links);
        links_.get<1>().reserve(links);
        links_.get<2>().reserve(links);
    }

    void insert_user(std::int64_t id, std::string name, std::string email) {
        if (!users_.insert(raw::user{id, std::move(name), std::move(email)}).second)
            throw std::runtime_error("raw: duplicate user " + std::to_string(id));
    }
    void insert_post(std::int64_t id, std::int64_t author, std::string title, std::string content) {
        if (users_.find(author) == users_.end()) throw std::runtime_error("raw: post with unknown author");
        if (!posts_.insert(raw::post{id, author, std::move(title), std::move(content)}).second)
            throw std::runtime_error("raw: duplicate post " + std::to_string(id));
    }
    void insert_author(std::int64_t id, std::string name) {
        if (!authors_.insert(raw::author{id, std::move(name)}).second) throw std::runtime_error("raw: duplicate author");
    }
    void insert_book(std::int64_t id, std::string title) {
        if (!books_.insert(raw::book{id, std::move(title)}).second) throw std::runtime_error("raw: duplicate book");
    }
    void insert_link(std::int64_t a, std::int64_t b) {
        if (authors_.find(a) == authors_.end() || books_.find(b) == books_.end())
            throw std::runtime_error("raw: link to unknown author or book");
        if (!links_.insert(raw::link{a, b}).second) throw std::runtime_error("raw: duplicate link");
    }

    raw::users_t users_;
    raw::posts_t posts_;
    raw::authors_t authors_;
    raw::books_t books_;
    raw::links_t links_;
};

}  // namespace bench
