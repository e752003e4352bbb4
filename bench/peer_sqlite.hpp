#pragma once
/// @file peer_sqlite.hpp
/// SQLite in memory through its C API, as a C++ user would embed it: one
/// connection opened without SQLite's own mutex (it is used from one thread),
/// statements prepared once and reused, an index on every column a workload
/// looks up by, PRAGMA foreign_keys=ON with ON DELETE CASCADE, writes inside
/// one transaction, read batches inside one read transaction (the same scope a
/// relstore read() holds), and the backup API for snapshots.

#include "data.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bench {

namespace lite {

[[noreturn]] inline void fail(sqlite3* db, int rc, std::string_view what) {
    throw std::runtime_error("sqlite: " + std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

/// A prepared statement, reset after each use.
class stmt {
public:
    stmt() = default;
    stmt(sqlite3* db, const char* sql) : db_(db) {
        if (int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s_, nullptr); rc != SQLITE_OK)
            fail(db, rc, sql);
    }
    stmt(stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)) {}
    stmt& operator=(stmt&& o) noexcept {
        std::swap(db_, o.db_);
        std::swap(s_, o.s_);
        return *this;
    }
    ~stmt() { sqlite3_finalize(s_); }

    stmt& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    stmt& bind(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    /// Steps once; true while a row is available.
    bool step() {
        const int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) return true;
        if (rc != SQLITE_DONE) fail(db_, rc, sqlite3_sql(s_));
        return false;
    }
    /// Runs a statement that returns no rows, then resets it.
    void exec() {
        step();
        reset();
    }
    void reset() { sqlite3_reset(s_); }
    std::int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
    std::string_view text(int c) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
        return {p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(s_, c))};
    }

private:
    sqlite3* db_ = nullptr;
    sqlite3_stmt* s_ = nullptr;
};

inline void exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    if (int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw std::runtime_error("sqlite: " + std::string(sql) + ": " + msg);
    }
}

inline sqlite3* open(const char* name, int flags) {
    sqlite3* db = nullptr;
    if (int rc = sqlite3_open_v2(name, &db, flags | SQLITE_OPEN_NOMUTEX, nullptr); rc != SQLITE_OK) {
        sqlite3_close(db);
        fail(nullptr, rc, std::string("open ") + name);
    }
    return db;
}

inline constexpr const char* schema = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT NOT NULL);
CREATE TABLE posts(id INTEGER PRIMARY KEY,
                   author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                   title TEXT NOT NULL, content TEXT NOT NULL);
CREATE INDEX posts_author ON posts(author_id);
CREATE TABLE authors(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE books(id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE authors_books(author_id INTEGER NOT NULL REFERENCES authors(id) ON DELETE CASCADE,
                           book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
                           PRIMARY KEY(author_id, book_id)) WITHOUT ROWID;
CREATE INDEX authors_books_book ON authors_books(book_id, author_id);
)sql";

}  // namespace lite

class sqlite_peer {
public:
    static constexpr const char* name = "sqlite";

    sqlite_peer() : db_(lite::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) {
        lite::exec(db_, "PRAGMA foreign_keys=ON");
        lite::exec(db_, lite::schema);
        prepare();
    }
    sqlite_peer(const sqlite_peer&) = delete;
    sqlite_peer& operator=(const sqlite_peer&) = delete;
    ~sqlite_peer() { close(); }

    /// W1: every row in one transaction; the foreign keys are checked per row.
    void load(const dataset& d) {
        begin_.exec();
        for (const auto& u : d.users) ins_user_.bind(1, u.id).bind(2, u.name).bind(3, u.email).exec();
        for (const auto& p : d.posts)
            ins_post_.bind(1, p.id).bind(2, p.author_id).bind(3, p.title).bind(4, p.content).exec();
        for (const auto& a : d.authors) ins_author_.bind(1, a.id).bind(2, a.name).exec();
        for (const auto& b : d.books) ins_book_.bind(1, b.id).bind(2, b.title).exec();
        for (const auto& l : d.links) ins_link_.bind(1, l.author_id).bind(2, l.book_id).exec();
        commit_.exec();
    }

    template <class F>
    decltype(auto) read(F&& f) {
        // One read transaction per batch: the shared lock and the schema
        // check are then paid once per batch, as relstore's read() pays its lock.
        begin_.exec();
        struct commit_on_exit {
            lite::stmt& s;
            ~commit_on_exit() { s.exec(); }
        } guard{commit_};
        return f(*this);
    }
    template <class F>
    decltype(auto) write(F&& f) {
        begin_.exec();
        try {
            if constexpr (std::is_void_v<decltype(f(*this))>) {
                f(*this);
                commit_.exec();
            } else {
                decltype(auto) r = f(*this);
                commit_.exec();
                return r;
            }
        } catch (...) {
            lite::exec(db_, "ROLLBACK");
            throw;
        }
    }

    // --- reader ---
    std::uint64_t user_name(std::int64_t id) {
        std::uint64_t s = 0;
        if (user_name_.bind(1, id).step()) s = sig(user_name_.text(0));
        user_name_.reset();
        return s;
    }
    std::uint64_t user_posts(std::int64_t id) {
        std::uint64_t len = 0, n = 0;
        user_posts_.bind(1, id);
        while (user_posts_.step()) len += user_posts_.text(0).size(), ++n;
        user_posts_.reset();
        return len + (n << 32);
    }
    std::uint64_t post_author(std::int64_t id) {
        std::uint64_t s = 0;
        if (post_author_.bind(1, id).step()) s = sig(post_author_.text(0));
        post_author_.reset();
        return s;
    }
    std::uint64_t user_by_name(std::string_view name) {
        std::uint64_t s = 0;
        if (user_by_name_.bind(1, name).step()) s = static_cast<std::uint64_t>(user_by_name_.i64(0));
        user_by_name_.reset();
        return s;
    }
    std::uint64_t author_books(std::int64_t a) {
        std::uint64_t s = 0;
        author_books_.bind(1, a);
        while (author_books_.step()) s += book_sum(author_books_.i64(0), author_books_.text(1));
        author_books_.reset();
        return s;
    }
    std::uint64_t book_authors(std::int64_t b) {
        std::uint64_t s = 0;
        book_authors_.bind(1, b);
        while (book_authors_.step()) s += author_sum(book_authors_.i64(0), book_authors_.text(1));
        book_authors_.reset();
        return s;
    }
    std::uint64_t post_sig(std::int64_t id) {
        std::uint64_t s = 0;
        if (post_sig_.bind(1, id).step())
            s = post_sum(post_sig_.i64(0), post_sig_.i64(1), post_sig_.text(2), post_sig_.text(3));
        post_sig_.reset();
        return s;
    }

    // --- writer ---
    void set_title(std::int64_t post_id, const std::string& title) {
        set_title_.bind(1, title).bind(2, post_id).exec();
        if (sqlite3_changes(db_) != 1) throw std::runtime_error("sqlite: no post " + std::to_string(post_id));
    }
    void set_author(std::int64_t post_id, std::int64_t author) {
        set_author_.bind(1, author).bind(2, post_id).exec();
        if (sqlite3_changes(db_) != 1) throw std::runtime_error("sqlite: no post " + std::to_string(post_id));
    }
    void erase_user(std::int64_t id) {
        erase_user_.bind(1, id).exec();
        if (sqlite3_changes(db_) != 1) throw std::runtime_error("sqlite: no user " + std::to_string(id));
    }

    state full_state() {
        state s{};
        auto scan = [&](const char* sql, auto row) {
            lite::stmt q(db_, sql);
            while (q.step()) row(q);
        };
        scan("SELECT id, name, email FROM users", [&](lite::stmt& q) {
            ++s.n.users, s.sum += user_sum(q.i64(0), q.text(1), q.text(2));
        });
        scan("SELECT id, author_id, title, content FROM posts", [&](lite::stmt& q) {
            ++s.n.posts, s.sum += post_sum(q.i64(0), q.i64(1), q.text(2), q.text(3));
        });
        scan("SELECT id, name FROM authors", [&](lite::stmt& q) { ++s.n.authors, s.sum += author_sum(q.i64(0), q.text(1)); });
        scan("SELECT id, title FROM books", [&](lite::stmt& q) { ++s.n.books, s.sum += book_sum(q.i64(0), q.text(1)); });
        scan("SELECT author_id, book_id FROM authors_books",
             [&](lite::stmt& q) { ++s.n.links, s.sum += link_sum(q.i64(0), q.i64(1)); });
        return s;
    }

    /// W9 save: the online backup API copies the in-memory pages into a new
    /// file database (committed with SQLite's default synchronous=FULL, i.e. fsync).
    void save(const std::filesystem::path& path) {
        std::filesystem::remove(path);
        sqlite3* file = lite::open(path.c_str(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        copy(db_, file, path);
        sqlite3_close(file);
    }
    /// W9 load: the backup API the other way, from the file into this
    /// (empty) in-memory database.
    void load_file(const std::filesystem::path& path) {
        sqlite3* file = lite::open(path.c_str(), SQLITE_OPEN_READONLY);
        unprepare();
        copy(file, db_, path);
        sqlite3_close(file);
        prepare();
    }

    /// What SQLite's own allocator accounting says it holds (all connections).
    static std::int64_t memory_used() { return sqlite3_memory_used(); }

private:
    static void copy(sqlite3* from, sqlite3* to, const std::filesystem::path& path) {
        sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
        if (!b) lite::fail(to, SQLITE_ERROR, "backup " + path.string());
        const int rc = sqlite3_backup_step(b, -1);
        sqlite3_backup_finish(b);
        if (rc != SQLITE_DONE) lite::fail(to, rc, "backup " + path.string());
    }
    void prepare() {
        begin_ = {db_, "BEGIN"};
        commit_ = {db_, "COMMIT"};
        ins_user_ = {db_, "INSERT INTO users(id, name, email) VALUES(?, ?, ?)"};
        ins_post_ = {db_, "INSERT INTO posts(id, author_id, title, content) VALUES(?, ?, ?, ?)"};
        ins_author_ = {db_, "INSERT INTO authors(id, name) VALUES(?, ?)"};
        ins_book_ = {db_, "INSERT INTO books(id, title) VALUES(?, ?)"};
        ins_link_ = {db_, "INSERT INTO authors_books(author_id, book_id) VALUES(?, ?)"};
        user_name_ = {db_, "SELECT name FROM users WHERE id = ?"};
        user_posts_ = {db_, "SELECT title FROM posts WHERE author_id = ?"};
        post_author_ = {db_, "SELECT u.name FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = ?"};
        user_by_name_ = {db_, "SELECT id FROM users WHERE name = ?"};
        author_books_ = {db_,
                         "SELECT b.id, b.title FROM authors_books ab JOIN books b ON b.id = ab.book_id "
                         "WHERE ab.author_id = ?"};
        book_authors_ = {db_,
                         "SELECT a.id, a.name FROM authors_books ab JOIN authors a ON a.id = ab.author_id "
                         "WHERE ab.book_id = ?"};
        post_sig_ = {db_, "SELECT id, author_id, title, content FROM posts WHERE id = ?"};
        set_title_ = {db_, "UPDATE posts SET title = ? WHERE id = ?"};
        set_author_ = {db_, "UPDATE posts SET author_id = ? WHERE id = ?"};
        erase_user_ = {db_, "DELETE FROM users WHERE id = ?"};
    }
    void unprepare() {
        for (lite::stmt* s : {&begin_, &commit_, &ins_user_, &ins_post_, &ins_author_, &ins_book_, &ins_link_,
                              &user_name_, &user_posts_, &post_author_, &user_by_name_, &author_books_, &book_authors_,
                              &post_sig_, &set_title_, &set_author_, &erase_user_})
            *s = lite::stmt{};
    }
    void close() {
        unprepare();
        sqlite3_close(db_);
    }

    sqlite3* db_;
    lite::stmt begin_, commit_, ins_user_, ins_post_, ins_author_, ins_book_, ins_link_, user_name_, user_posts_,
        post_author_, user_by_name_, author_books_, book_authors_, post_sig_, set_title_, set_author_, erase_user_;
};

}  // namespace bench
