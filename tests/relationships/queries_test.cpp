// Queries along relationships: a parent's children (filter_by(author=user)),
// any/has filters, counting, ordered children with a limit, multi-hop, and
// take/drop/reverse on every navigation's range.
#include <catch2/catch.hpp>

#include "alloc_counter.hpp"
#include "expect.hpp"
#include "schemas.hpp"

#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

namespace queries_test {

using namespace rel;
using relstore_test::allocations;
namespace rs = relstore;

namespace {

using strings = std::vector<std::string>;

template <class Range>
strings names(Range&& r) {
    strings out;
    for (const auto& x : r) {
        if constexpr (requires { x.title; })
            out.push_back(x.title);
        else
            out.push_back(x.name);
    }
    return out;
}

// kakashi: 3 posts created at 30, 10, 20; naruto: 1 post; sakura: none.
struct posts_fixture {
    blog db;
    std::int64_t kakashi = 0, naruto = 0, sakura = 0;
    posts_fixture() {
        auto tx = db.write();
        kakashi = tx.insert(User{.name = "Kakashi Hatake"}).id;
        naruto = tx.insert(User{.name = "Naruto Uzumaki"}).id;
        sakura = tx.insert(User{.name = "Sakura Haruno"}).id;
        tx.insert(Post{.title = "Shinobi", .author_id = kakashi, .created = 30});
        tx.insert(Post{.title = "Jonin", .author_id = kakashi, .created = 10});
        tx.insert(Post{.title = "Rasengan", .author_id = naruto, .created = 15});
        tx.insert(Post{.title = "Chidori", .author_id = kakashi, .created = 20});
        tx.commit();
    }
};

}  // namespace

TEST_CASE("filter_by(author=user) is the user's children, through the foreign key's index",
          "[relationship][query]") {
    posts_fixture f;
    auto q = f.db.read();
    const User& kakashi = q.get<users>(f.kakashi);
    CHECK(names(q.children<&Post::author_id>(kakashi)) == strings{"Shinobi", "Jonin", "Chidori"});
    CHECK(names(q.where<&Post::author_id>(kakashi.id)) == strings{"Shinobi", "Jonin", "Chidori"});
    for (const Post& p : q.children<&Post::author_id>(kakashi)) CHECK(&q.parent<&Post::author_id>(p) == &kakashi);
    CHECK(q.children<&Post::author_id>(q.get<users>(f.sakura)).empty());
}

TEST_CASE("counting children walks the index without copying rows", "[relationship][query]") {
    posts_fixture f;
    auto q = f.db.read();
    CHECK(q.count_children<&Post::author_id>(q.get<users>(f.kakashi)) == 3);
    CHECK(q.count_children<&Post::author_id>(q.get<users>(f.naruto)) == 1);
    CHECK(q.count_children<&Post::author_id>(q.get<users>(f.sakura)) == 0);
}

TEST_CASE("any/has filters: parents with or without children, children by their parent",
          "[relationship][query][any]") {
    posts_fixture f;
    auto q = f.db.read();

    SECTION("users with at least one post") {
        auto with = q.with_children<&Post::author_id>();
        CHECK(names(with) == strings{"Kakashi Hatake", "Naruto Uzumaki"});
        CHECK(with.count() == 2);
        CHECK(with.first()->name == "Kakashi Hatake");
    }
    SECTION("users without posts") {
        CHECK(names(q.without_children<&Post::author_id>()) == strings{"Sakura Haruno"});
        CHECK(q.without_children<&Post::editor_id>().count() == 3);
    }
    SECTION("users with a post matching a criterion (any(criterion))") {
        auto early = q.with_children<&Post::author_id>([](const Post& p) { return p.created < 16; });
        CHECK(names(early) == strings{"Kakashi Hatake", "Naruto Uzumaki"});
        auto late = q.with_children<&Post::author_id>([](const Post& p) { return p.created > 25; });
        CHECK(names(late) == strings{"Kakashi Hatake"});
    }
    SECTION("posts whose author matches a criterion (has(criterion))") {
        auto by_naruto = q.with_parent<&Post::author_id>([](const User& u) { return u.name == "Naruto Uzumaki"; });
        CHECK(names(by_naruto) == strings{"Rasengan"});
    }
    SECTION("an optional key with no parent never matches has()") {
        CHECK(q.with_parent<&Post::editor_id>([](const User&) { return true; }).empty());
    }
}

TEST_CASE("books with no authors, and with some", "[relationship][query][any][many-to-many]") {
    library db;
    auto tx = db.write();
    const Author& a = tx.insert(Author{.name = "a"});
    const Book& written = tx.insert(Book{.title = "written"});
    tx.insert(Book{.title = "orphan"});
    rs::link<&AuthorBook::author_id, &AuthorBook::book_id>(tx, a, written);

    CHECK(names(tx.without_children<&AuthorBook::book_id>()) == strings{"orphan"});
    CHECK(names(tx.with_children<&AuthorBook::book_id>()) == strings{"written"});
    CHECK(tx.without_children<&AuthorBook::author_id>().empty());
}

TEST_CASE("a user's posts in a declared order, with a limit", "[relationship][query][order]") {
    posts_fixture f;
    auto q = f.db.read();
    const User& kakashi = q.get<users>(f.kakashi);
    // ordered<&Post::author_id, &Post::created> in the schema.
    auto by_date = q.children_by<&Post::author_id, &Post::created>(kakashi);
    CHECK(names(by_date) == strings{"Jonin", "Chidori", "Shinobi"});
    CHECK(names(by_date.take(2)) == strings{"Jonin", "Chidori"});
    CHECK(names(by_date.reverse().take(1)) == strings{"Shinobi"});  // newest
    CHECK(names(by_date.reverse().drop(1)) == strings{"Chidori", "Jonin"});
    CHECK(by_date.count() == 3);
    CHECK(q.children_by<&Post::author_id, &Post::created>(q.get<users>(f.sakura)).empty());

    // where<&Post::author_id>() walks the foreign key's own index: key order.
    CHECK(names(q.where<&Post::author_id>(kakashi.id).take(2)) == strings{"Shinobi", "Jonin"});

    // By the parent's key, as children<>() takes it.
    CHECK(names(q.children_by<&Post::author_id, &Post::created>(f.kakashi).take(1)) == strings{"Jonin"});
}

TEST_CASE("every navigation's range takes, drops and reverses, in any order", "[relationship][query][ranges]") {
    posts_fixture f;
    {
        auto tx = f.db.write();
        tx.insert(Profile{.user_id = f.naruto, .bio = "hokage"});
        tx.commit();
    }
    auto q = f.db.read();
    const User& kakashi = q.get<users>(f.kakashi);

    SECTION("children along an ordered foreign key: in child-key order") {
        auto posts_of = q.children<&Post::author_id>(kakashi);  // Shinobi, Jonin, Chidori
        static_assert(std::is_same_v<decltype(posts_of.take(1)), decltype(posts_of)>);
        CHECK(names(posts_of.reverse()) == strings{"Chidori", "Jonin", "Shinobi"});
        CHECK(names(posts_of.drop(1).take(1)) == strings{"Jonin"});
        CHECK(names(posts_of.take(2).reverse()) == strings{"Jonin", "Shinobi"});
        CHECK(posts_of.reverse().first()->title == "Chidori");
        CHECK(posts_of.drop(3).empty());
        CHECK(q.children<&Post::author_id>(f.kakashi).reverse().count() == 3);  // by key
    }
    SECTION("users with posts (a scan of the parents)") {
        auto with = q.with_children<&Post::author_id>();  // Kakashi, Naruto
        CHECK(names(with.reverse()) == strings{"Naruto Uzumaki", "Kakashi Hatake"});
        CHECK(names(with.drop(1)) == strings{"Naruto Uzumaki"});
        CHECK(names(with.take(1)) == strings{"Kakashi Hatake"});
        CHECK(names(q.without_children<&Post::author_id>().reverse().take(1)) == strings{"Sakura Haruno"});
        CHECK(names(q.with_parent<&Post::author_id>([](const User& u) { return u.name[0] == 'K'; }).reverse().drop(1)) ==
              strings{"Jonin", "Shinobi"});
    }
    SECTION("many-to-many: an author's books") {
        library lib;
        auto tx = lib.write();
        const Author& a = tx.insert(Author{.name = "a"});
        for (const char* t : {"x", "y", "z"}) rs::link<&AuthorBook::author_id, &AuthorBook::book_id>(tx, a, tx.insert(Book{.title = t}));
        auto books_of = tx.linked<&AuthorBook::author_id, &AuthorBook::book_id>(a);
        static_assert(std::is_same_v<decltype(books_of.drop(1)), decltype(books_of)>);
        static_assert(std::is_same_v<std::ranges::range_reference_t<decltype(books_of.reverse())>, const Book&>);
        CHECK(names(books_of.reverse()) == strings{"z", "y", "x"});
        CHECK(names(books_of.drop(1).take(1)) == strings{"y"});
        CHECK(names(books_of.take(2).reverse()) == strings{"y", "x"});
        CHECK(books_of.reverse().drop(2).first()->title == "x");
        CHECK(books_of.take(2).count() == 2);
    }
    SECTION("a hashed foreign key's children come in no order: take and drop only") {
        CHECK(q.children<&Profile::user_id>(f.naruto).take(1).first()->bio == "hokage");
        CHECK(q.children<&Profile::user_id>(f.naruto).drop(1).empty());
        CHECK(q.children<&Profile::user_id>(f.naruto).take(0).empty());
    }
}

TEST_CASE("the declared order follows updates at once", "[relationship][query][order]") {
    posts_fixture f;
    auto tx = f.db.write();
    const User& kakashi = tx.get<users>(f.kakashi);
    const Post& jonin = *tx.children_by<&Post::author_id, &Post::created>(kakashi).first();
    tx.update(jonin, [](Post& p) { p.created = 99; });
    CHECK(names(tx.children_by<&Post::author_id, &Post::created>(kakashi)) ==
          strings{"Chidori", "Shinobi", "Jonin"});
    tx.update(jonin, [&](Post& p) { p.author_id = f.naruto; });
    CHECK(names(tx.children_by<&Post::author_id, &Post::created>(tx.get<users>(f.naruto))) ==
          strings{"Rasengan", "Jonin"});
}

TEST_CASE("multi-hop navigation reaches the stored rows without copying them", "[relationship][query][multi-hop]") {
    library db;
    auto tx = db.write();
    constexpr auto author_of = &AuthorBook::author_id;
    constexpr auto book_of = &AuthorBook::book_id;
    const Author& naruto = tx.insert(Author{.name = "Naruto"});
    const Author& sasuke = tx.insert(Author{.name = "Sasuke"});
    const Author& sakura = tx.insert(Author{.name = "Sakura"});
    const Book& scroll = tx.insert(Book{.title = "Scroll"});
    const Book& eyes = tx.insert(Book{.title = "Eyes"});
    rs::set_links<book_of, author_of>(tx, scroll, {&naruto, &sasuke});
    rs::set_links<book_of, author_of>(tx, eyes, {&sasuke, &sakura});

    // author -> books -> each book's authors (co-authors of Sasuke, with Sasuke himself).
    std::vector<const Author*> reached;
    for (const Book& b : tx.linked<author_of, book_of>(sasuke))
        for (const Author& a : tx.linked<book_of, author_of>(b)) reached.push_back(&a);
    CHECK(reached == std::vector<const Author*>{&naruto, &sasuke, &sasuke, &sakura});

#if !defined(__clang__) || __clang_major__ >= 15  // clang 14 cannot compile libstdc++ 12's std::views
    // The same hop as one range.
    auto co_authors = tx.linked<author_of, book_of>(sasuke) |
                      std::views::transform([&](const Book& b) { return tx.linked<book_of, author_of>(b); }) |
                      std::views::join;
    std::vector<const Author*> joined;
    for (const Author& a : co_authors) joined.push_back(&a);
    CHECK(joined == reached);
#endif

    // A change to the links shows in the next walk, with no refresh.
    rs::unlink<author_of, book_of>(tx, sakura, eyes);
    std::size_t hops = 0;
    for (const Book& b : tx.linked<author_of, book_of>(sasuke)) hops += tx.count_links<book_of, author_of>(b);
    CHECK(hops == 3);
}

TEST_CASE("navigating relationships allocates nothing and copies no row", "[relationship][query][allocation]") {
    posts_fixture f;
    library lib;
    {
        auto tx = lib.write();
        const Author& a = tx.insert(Author{.name = "a"});
        const Author& b = tx.insert(Author{.name = "b"});
        const Book& x = tx.insert(Book{.title = "x"});
        rs::set_links<&AuthorBook::book_id, &AuthorBook::author_id>(tx, x, {&a, &b});
        rs::link<&Credit::author_id, &Credit::book_id>(tx, a, x, Credit{.role = "writer", .position = 1});
        tx.commit();
    }
    auto q = f.db.read();
    auto lq = lib.read();
    const User& kakashi = q.get<users>(f.kakashi);
    const Author& a = lq.get<authors>(std::int64_t{1});
    const Book& x = lq.get<books>(std::int64_t{1});

    std::size_t sum = 0;
    const std::size_t before = allocations();
    for (const Post& p : q.children<&Post::author_id>(kakashi)) sum += q.parent<&Post::author_id>(p).id;
    for (const Post& p : q.where<&Post::author_id>(kakashi.id)) sum += p.created;
    sum += q.count_children<&Post::author_id>(kakashi);
    for (const Post& p : q.children_by<&Post::author_id, &Post::created>(kakashi).take(2))
        sum += p.created;
    sum += q.with_children<&Post::author_id>().count();
    sum += q.without_children<&Post::author_id>().count();
    sum += q.with_parent<&Post::author_id>([](const User& u) { return u.id > 1; }).count();
    for (const Book& b : lq.linked<&AuthorBook::author_id, &AuthorBook::book_id>(a))
        for (const Author& other : lq.linked<&AuthorBook::book_id, &AuthorBook::author_id>(b)) sum += other.id;
    sum += lq.count_links<&AuthorBook::book_id, &AuthorBook::author_id>(x);
    sum += lq.is_linked<&AuthorBook::author_id, &AuthorBook::book_id>(a, x) ? 1 : 0;
    sum += lq.is_linked<&Credit::book_id, &Credit::author_id>(x, a) ? 1 : 0;  // walks x's credits
    sum += static_cast<std::size_t>(lq.find_link<&Credit::author_id, &Credit::book_id>(a, x)->position);
    const std::size_t after = allocations();

    CHECK(after == before);
    // parents, created, count, first two by date, with, without, has, co-authors, links, linked x2, position
    CHECK(sum == 3 + (30 + 10 + 20) + 3 + (10 + 20) + 2 + 1 + 1 + (1 + 2) + 2 + 1 + 1 + 1);
}

namespace {

template <class F>
rs::not_found_error not_found_from(F&& f) {
    try {
        f();
    } catch (const rs::not_found_error& e) {
        return e;
    }
    FAIL("expected a relstore::not_found_error");
    throw std::logic_error("unreachable");
}

}  // namespace

// Reads take any row and use its values: a copy or a row built by hand may
// hold a foreign key the store never saw, where a stored row's always resolves.
TEST_CASE("a row the store does not hold, whose foreign key names no row, has no parent: not_found_error",
          "[relationship][query][misuse]") {
    posts_fixture f;
    auto q = f.db.read();
    const Post stray{.id = 77, .title = "stray", .author_id = 999, .editor_id = 998};

    SECTION("parent along a key that cannot be null") {
        const auto e = not_found_from([&] { (void)q.parent<&Post::author_id>(stray); });
        CHECK(std::string(e.what()) == "posts.author_id = 999 references no row in users");
        CHECK(e.table() == "users");
        CHECK(e.code() == rs::errc::not_found);
    }
    SECTION("parent along an optional key: null is no parent, a key naming nothing is an error") {
        const auto e = not_found_from([&] { (void)q.parent<&Post::editor_id>(stray); });
        CHECK(std::string(e.what()) == "posts.editor_id = 998 references no row in users");
        Post unedited = stray;
        unedited.editor_id = std::nullopt;
        CHECK(q.parent<&Post::editor_id>(unedited) == nullptr);
    }
    SECTION("a copy whose key resolves reaches the stored parent") {
        const Post copy = *q.where<&Post::title>(std::string("Rasengan")).first();
        CHECK(&q.parent<&Post::author_id>(copy) == &q.get<users>(f.naruto));
    }
    CHECK(q.count<users>() == 3);
    CHECK(q.count<posts>() == 4);
    CHECK(q.find<posts>(std::int64_t{77}) == nullptr);
}

TEST_CASE("the walks over a self-reference take a copy of a row as the row itself",
          "[relationship][query][self][misuse]") {
    constexpr auto manager_of = &Employee::manager_id;
    social db;
    auto tx = db.write();
    const Employee& boss = tx.insert(Employee{.name = "boss"});
    const Employee& mid = tx.insert(Employee{.name = "mid", .manager_id = boss.id});
    const Employee& dev = tx.insert(Employee{.name = "dev", .manager_id = mid.id});
    tx.update(boss, [&](Employee& e) { e.manager_id = dev.id; });  // boss -> dev -> mid -> boss

    SECTION("ancestors of a row whose key names no row") {
        const Employee stray{.id = 50, .name = "stray", .manager_id = 999};
        const auto e = not_found_from([&] { (void)tx.ancestors<manager_of>(stray); });
        CHECK(std::string(e.what()) == "employees.manager_id = 999 references no row in employees");
    }
    SECTION("ancestors of a copy on a cycle: the stored row is the start, not an ancestor") {
        const Employee copy = dev;
        CHECK(names(tx.ancestors<manager_of>(copy)) == strings{"mid", "boss"});
        CHECK(tx.ancestors<manager_of>(copy).cyclic());
    }
    SECTION("descendants of a copy on a cycle end") {
        const Employee copy = boss;
        // Bounded first: a walk that takes the stored boss for another row never ends.
        REQUIRE(names(tx.descendants<manager_of>(copy, 10)) == strings{"mid", "dev"});
        CHECK(names(tx.descendants<manager_of>(copy)) == strings{"mid", "dev"});
    }
    SECTION("descendants of a row the store has never seen") {
        const Employee stray{.id = 50, .name = "stray"};
        CHECK(tx.descendants<manager_of>(stray).empty());
    }
    CHECK(tx.count<employees>() == 3);
    CHECK(boss.manager_id == dev.id);
}

TEST_CASE("reachability from and to copies of rows uses their keys", "[relationship][query][self][misuse]") {
    constexpr auto follower = &Follow::follower_id;
    constexpr auto followee = &Follow::followee_id;
    social db;
    auto tx = db.write();
    const Member& a = tx.insert(Member{.name = "a"});
    const Member& b = tx.insert(Member{.name = "b"});
    const Member& c = tx.insert(Member{.name = "c"});
    rs::link<follower, followee>(tx, a, b);
    rs::link<follower, followee>(tx, b, a);  // a cycle a -> b -> a
    rs::link<follower, followee>(tx, b, c);
    const Member copy_a = a;
    const Member copy_c = c;
    const Member stranger{.id = 99, .name = "stranger"};

    CHECK(names(tx.reachable<follower, followee>(copy_a)) == strings{"b", "c"});
    CHECK(tx.is_reachable<follower, followee>(copy_a, copy_c));
    CHECK(tx.is_reachable<follower, followee>(copy_a, copy_a));  // on a cycle
    CHECK(tx.is_reachable<follower, followee>(a, copy_a));
    CHECK_FALSE(tx.is_reachable<follower, followee>(copy_c, copy_a));
    CHECK(tx.reachable<follower, followee>(stranger).empty());
    CHECK_FALSE(tx.is_reachable<follower, followee>(copy_a, stranger));
    CHECK_FALSE(tx.is_reachable<follower, followee>(stranger, copy_a));
    CHECK(tx.count<follows>() == 3);
}

}  // namespace queries_test
