#pragma once
/// @file peer_relstore.hpp
/// relstore itself, through its public API only: one read() scope per query
/// batch, one write() transaction per write batch, rs::save / rs::load for W9.

#include "data.hpp"

#include <relstore/relstore.hpp>
#if __has_include(<relstore/snapshot.hpp>)
#include <relstore/snapshot.hpp>
#define RELSTORE_BENCH_HAVE_SNAPSHOT 1
#else
#define RELSTORE_BENCH_HAVE_SNAPSHOT 0
#endif

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace bench::rsx {

namespace rs = relstore;

using str = std::string;
#include "peer_relstore_tables.inc"

/// The schema as one type, so that the workloads below are written once for
/// the std::string schema and for the relstore::text one.
struct string_schema {
    using User = rsx::User;
    using Post = rsx::Post;
    using Author = rsx::Author;
    using Book = rsx::Book;
    using AuthorBook = rsx::AuthorBook;
    using users = rsx::users;
    using posts = rsx::posts;
    using authors = rsx::authors;
    using books = rsx::books;
    using authors_books = rsx::authors_books;
    using db_t = rsx::db_t;
};

/// The same tables with relstore::text for every string column (issue 12's
/// compact columns): 16 bytes in the row instead of 32, the bytes of a long
/// string in a block of exactly their size.
namespace compact {
using str = rs::text;
#include "peer_relstore_tables.inc"
}  // namespace compact

struct text_schema {
    using User = compact::User;
    using Post = compact::Post;
    using Author = compact::Author;
    using Book = compact::Book;
    using AuthorBook = compact::AuthorBook;
    using users = compact::users;
    using posts = compact::posts;
    using authors = compact::authors;
    using books = compact::books;
    using authors_books = compact::authors_books;
    using db_t = compact::db_t;
};

/// make(e) for each e of src, as a sized range of values: what
/// `src | std::views::transform(make)` is, which clang 14 cannot compile
/// with libstdc++ 12. insert_many moves the values in.
template <class Src, class Make>
class made_rows {
public:
    made_rows(const Src& src, Make make) : src_(&src), make_(make) {}
    class iterator {
    public:
        using value_type = std::invoke_result_t<const Make&, const typename Src::value_type&>;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        iterator(const made_rows* m, typename Src::const_iterator it) : m_(m), it_(it) {}
        value_type operator*() const { return m_->make_(*it_); }
        iterator& operator++() {
            ++it_;
            return *this;
        }
        void operator++(int) { ++it_; }
        bool operator==(const iterator& o) const { return it_ == o.it_; }

    private:
        const made_rows* m_ = nullptr;
        typename Src::const_iterator it_{};
    };
    iterator begin() const { return {this, src_->begin()}; }
    iterator end() const { return {this, src_->end()}; }
    std::size_t size() const { return src_->size(); }

private:
    const Src* src_;
    Make make_;
};

/// W1: every row of the data set in one transaction (the relstore peer's
/// load, and the latency bench's, which needs stores of other options),
/// each table by insert_many, the bulk insert an application would use.
template <class S = string_schema>
void load_dataset(typename S::db_t& db, const dataset& d) {
    using User = typename S::User;
    using Post = typename S::Post;
    using Author = typename S::Author;
    using Book = typename S::Book;
    using AuthorBook = typename S::AuthorBook;
    auto tx = db.write();
    // The sizes are known, as the raw peer knows them for its reserve().
    tx.template reserve<typename S::users>(d.users.size());
    tx.template reserve<typename S::posts>(d.posts.size());
    tx.template reserve<typename S::authors>(d.authors.size());
    tx.template reserve<typename S::books>(d.books.size());
    tx.template reserve<typename S::authors_books>(d.links.size());
    tx.insert_many(made_rows(d.users, [](const auto& u) { return User{u.id, u.name, u.email}; }));
    tx.insert_many(made_rows(d.posts, [](const auto& p) { return Post{p.id, p.author_id, p.title, p.content}; }));
    tx.insert_many(made_rows(d.authors, [](const auto& a) { return Author{a.id, a.name}; }));
    tx.insert_many(made_rows(d.books, [](const auto& b) { return Book{b.id, b.title}; }));
    tx.insert_many(made_rows(d.links, [](const auto& l) { return AuthorBook{l.author_id, l.book_id}; }));
    tx.commit();
}

/// The read operations of the workloads over a read scope or a transaction.
template <class Q, class S = string_schema>
struct reads {
    using User = typename S::User;
    using Post = typename S::Post;
    using Author = typename S::Author;
    using Book = typename S::Book;
    using AuthorBook = typename S::AuthorBook;
    using users = typename S::users;
    using posts = typename S::posts;

    Q& q;

    std::uint64_t user_name(std::int64_t id) const {
        const User* u = q.template find<users>(id);
        return u ? sig(u->name) : 0;
    }
    // The workloads start from a key (as raw does), so navigation goes by the
    // parent's key: no lookup of the parent row first.
    std::uint64_t user_posts(std::int64_t id) const {
        std::uint64_t len = 0, n = 0;
        for (const Post& p : q.template children<&Post::author_id>(id)) len += p.title.size(), ++n;
        return len + (n << 32);
    }
    std::uint64_t post_author(std::int64_t id) const {
        const Post* p = q.template find<posts>(id);
        return p ? sig(q.template parent<&Post::author_id>(*p).name) : 0;
    }
    std::uint64_t user_by_name(std::string_view name) const {
        const User* u = q.template find<&User::name>(name);
        return u ? static_cast<std::uint64_t>(u->id) : 0;
    }
    std::uint64_t author_books(std::int64_t id) const {
        std::uint64_t s = 0;
        for (const Book& b : q.template linked<&AuthorBook::author_id, &AuthorBook::book_id>(id))
            s += book_sum(b.id, b.title);
        return s;
    }
    std::uint64_t book_authors(std::int64_t id) const {
        std::uint64_t s = 0;
        for (const Author& a : q.template linked<&AuthorBook::book_id, &AuthorBook::author_id>(id))
            s += author_sum(a.id, a.name);
        return s;
    }
    std::uint64_t post_sig(std::int64_t id) const {
        const Post* p = q.template find<posts>(id);
        return p ? post_sum(p->id, p->author_id, p->title, p->content) : 0;
    }
};

/// The write operations of the workloads over a transaction.
template <class Tx, class S = string_schema>
struct writes : reads<Tx, S> {
    using Post = typename S::Post;
    void set_title(std::int64_t post_id, const std::string& title) {
        this->q.template set<&Post::title>(this->q.template get<typename S::posts>(post_id), title);
    }
    void set_author(std::int64_t post_id, std::int64_t author) {
        this->q.template set<&Post::author_id>(this->q.template get<typename S::posts>(post_id), author);
    }
    void erase_user(std::int64_t id) {
        if (this->q.template erase<typename S::users>(id) == 0)
            throw std::runtime_error("relstore: no user " + std::to_string(id));
    }
};

}  // namespace bench::rsx

namespace bench {

/// relstore through its public API, over schema S (std::string or
/// relstore::text string columns).
template <class S>
class basic_relstore_peer {
public:
    static constexpr bool has_snapshot = RELSTORE_BENCH_HAVE_SNAPSHOT;

    basic_relstore_peer() = default;
    explicit basic_relstore_peer(const relstore::store_options& options) : db_(options) {}

    void load(const dataset& d) { rsx::load_dataset<S>(db_, d); }

    template <class F>
    decltype(auto) read(F&& f) const {
        auto q = db_.read();
        rsx::reads<decltype(q), S> r{q};
        return f(r);
    }
    template <class F>
    decltype(auto) write(F&& f) {
        auto tx = db_.write();
        rsx::writes<decltype(tx), S> w{{tx}};
        if constexpr (std::is_void_v<decltype(f(w))>) {
            f(w);
            tx.commit();
        } else {
            decltype(auto) r = f(w);
            tx.commit();
            return r;
        }
    }

    state full_state() const {
        using User = typename S::User;
        using Post = typename S::Post;
        using Author = typename S::Author;
        using Book = typename S::Book;
        using AuthorBook = typename S::AuthorBook;
        using users = typename S::users;
        using posts = typename S::posts;
        using authors = typename S::authors;
        using books = typename S::books;
        using authors_books = typename S::authors_books;
        auto q = db_.read();
        state s{{q.template count<users>(), q.template count<posts>(), q.template count<authors>(), q.template count<books>(), q.template count<authors_books>()},
                0};
        for (const User& u : q.template all<users>()) s.sum += user_sum(u.id, u.name, u.email);
        for (const Post& p : q.template all<posts>()) s.sum += post_sum(p.id, p.author_id, p.title, p.content);
        for (const Author& a : q.template all<authors>()) s.sum += author_sum(a.id, a.name);
        for (const Book& b : q.template all<books>()) s.sum += book_sum(b.id, b.title);
        for (const AuthorBook& l : q.template all<authors_books>()) s.sum += link_sum(l.author_id, l.book_id);
        return s;
    }

    void save([[maybe_unused]] const std::filesystem::path& path) const {
#if RELSTORE_BENCH_HAVE_SNAPSHOT
        relstore::save(db_, path);
#else
        throw std::runtime_error("relstore: <relstore/snapshot.hpp> is not available in this build");
#endif
    }
    void load_file([[maybe_unused]] const std::filesystem::path& path) {
#if RELSTORE_BENCH_HAVE_SNAPSHOT
        relstore::load(db_, path);
#else
        throw std::runtime_error("relstore: <relstore/snapshot.hpp> is not available in this build");
#endif
    }

protected:
    typename S::db_t db_;
};

/// relstore with std::string columns.
class relstore_peer : public basic_relstore_peer<rsx::string_schema> {
public:
    static constexpr const char* name = "relstore";
};

/// relstore whose read scopes never wait (store_options::readers_never_wait,
/// two copies of every table; issue 14: W2-W8 within 10% of the default
/// mode). Reported beside relstore, not against the peers.
///
/// A commit's replay onto the second copy runs when the next transaction
/// begins; so that each workload pays for its own commits' replays (and not
/// for the load's), load() and write() end with an empty transaction, which
/// does that replay.
class relstore_never_wait_peer : public basic_relstore_peer<rsx::string_schema> {
    using base = basic_relstore_peer<rsx::string_schema>;

public:
    static constexpr const char* name = "relstore_nw";
    relstore_never_wait_peer() : base(relstore::store_options{.readers_never_wait = true}) {}

    void load(const dataset& d) {
        base::load(d);
        (void)db_.write();
    }
    template <class F>
    decltype(auto) write(F&& f) {
        struct replay {
            rsx::db_t& db;
            ~replay() { (void)db.write(); }
        } after{db_};
        return base::write(std::forward<F>(f));
    }
};

/// relstore with relstore::text columns (issue 12's compact column type):
/// W10 reports it as its own row.
class relstore_text_peer : public basic_relstore_peer<rsx::text_schema> {
public:
    static constexpr const char* name = "relstore_text";
};

/// relstore with one store-wide subscriber that looks at every change of
/// every commit (the cost an application that listens pays): issue 10's
/// "at most 1.3x" for W1, W7 and W8. Its checksum of the changes is checked
/// against the rows the workload changed, so the callback cannot be skipped.
class relstore_subscribed_peer : public relstore_peer {
public:
    static constexpr const char* name = "relstore_sub";

    relstore_subscribed_peer()
        : sub_(db_.subscribe([this](const relstore::changes<rsx::db_t>& c) {
              ++commits_;
              rows_ += c.size();
          })) {}
    relstore_subscribed_peer(const relstore_subscribed_peer&) = delete;
    relstore_subscribed_peer& operator=(const relstore_subscribed_peer&) = delete;

    /// Rows inserted, updated or erased in the commits seen so far.
    [[nodiscard]] std::uint64_t rows_seen() const noexcept { return rows_; }

private:
    std::uint64_t commits_ = 0;
    std::uint64_t rows_ = 0;
    relstore::subscription sub_;
};

}  // namespace bench
