// set() of a column no index covers, what any way of logging its old value
// must keep: a value that is the row's own column is read before the row
// changes, an allocation that fails at any point changes nothing, and many
// sets of the same rows in one transaction roll back to the first value.
// Written for an attempt to reuse the undo log's memory across transactions
// (docs/bench.md, "W8 retitling"), which was reverted; the cases hold for the
// plain log too. Here for the replaced global operator new of
// tests/support/alloc_counter.cpp, which can fail an allocation.
#include "alloc_counter.hpp"
#include "blog.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace set_value_test {

using namespace blog;

namespace {

/// Texts long enough to live on the heap (past the small-string buffer).
std::string text(int round, std::int64_t id) {
    return "round " + std::to_string(round) + ", post " + std::to_string(id) + ": a text long enough for the heap";
}

struct blog_of_posts {
    static constexpr std::int64_t n = 200;
    store db;
    blog_of_posts() {
        auto tx = db.write();
        const auto& u = tx.insert(User{0, "ann", "ann@x.org"});
        for (std::int64_t i = 1; i <= n; ++i) tx.insert(Post{0, "t" + std::to_string(i), text(0, i), u.id});
        tx.commit();
    }
    /// Sets every post's content to values[id - 1] in one transaction.
    void set_all(const std::vector<std::string>& values) {
        auto tx = db.write();
        for (std::int64_t i = 1; i <= n; ++i) tx.set<&Post::content>(tx.get<posts>(i), values[i - 1]);
        tx.commit();
    }
    static std::vector<std::string> texts(int round) {
        std::vector<std::string> v;
        for (std::int64_t i = 1; i <= n; ++i) v.push_back(text(round, i));
        return v;
    }
    std::vector<std::string> contents() {
        auto q = db.read();
        std::vector<std::string> v;
        for (std::int64_t i = 1; i <= n; ++i) v.push_back(q.get<posts>(i).content);
        return v;
    }
};

}  // namespace

TEST_CASE_METHOD(blog_of_posts, "set() reads a value that is the row's own column before it changes the row",
                 "[relationships][memory][set]") {
    set_all(texts(1));
    auto tx = db.write();
    const Post& p = tx.get<posts>(7);
    const Post& q = tx.get<posts>(8);
    tx.set<&Post::content>(p, p.content);  // the row's own value, by reference
    CHECK(p.content == text(1, 7));
    tx.set<&Post::content>(p, q.content);  // another row's
    tx.set<&Post::content>(q, p.content);
    CHECK(p.content == text(1, 8));
    CHECK(q.content == text(1, 8));
    tx.set<&Post::content>(p, "a literal, converted as a std::string would be");
    CHECK(p.content == "a literal, converted as a std::string would be");
    tx.rollback();
    CHECK(contents() == texts(1));
}

TEST_CASE_METHOD(blog_of_posts, "a set whose value cannot be allocated changes nothing", "[relationships][memory][set]") {
    const auto values = texts(1);
    const std::string longer(500, 'x');  // on the heap: its copy allocates
    auto tx = db.write();
    tx.set<&Post::content>(tx.get<posts>(1), values[0]);
    const Post& p = tx.get<posts>(2);
    bool failed = false;
    for (std::size_t n = 0; n < 64; ++n) {  // each allocation of the set failing in turn, until one succeeds
        relstore_test::fail_allocation_after(n);
        try {
            tx.set<&Post::content>(p, longer);
        } catch (const std::bad_alloc&) {
            relstore_test::disarm_allocation_failure();
            failed = true;
            CHECK(p.content == text(0, 2));
            continue;
        }
        relstore_test::disarm_allocation_failure();
        CHECK(p.content == longer);
        break;
    }
    CHECK(failed);
    tx.set<&Post::content>(tx.get<posts>(3), values[2]);
    tx.rollback();  // every entry logged undoes exactly once
    CHECK(contents() == texts(0));
}

TEST_CASE_METHOD(blog_of_posts, "many sets of the same rows in one transaction roll back to the first values",
                 "[relationships][memory][set]") {
    // 40 sets of each of 200 rows: 8,000 entries of one column's log.
    std::vector<std::string> last;
    {
        auto tx = db.write();
        for (int round = 1; round <= 40; ++round)
            for (std::int64_t i = 1; i <= n; ++i) tx.set<&Post::content>(tx.get<posts>(i), text(round, i));
        tx.commit();
    }
    CHECK(contents() == texts(40));
    auto tx = db.write();
    for (std::int64_t i = 1; i <= n; ++i) tx.set<&Post::content>(tx.get<posts>(i), text(41, i));
    tx.rollback();
    CHECK(contents() == texts(40));
}

}  // namespace set_value_test
