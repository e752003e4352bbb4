// Many-to-many through an association table (the tutorial's authors_books)
// and through an association object with columns of its own (credits).
#include <catch2/catch.hpp>

#include "expect.hpp"
#include "schemas.hpp"

#include <functional>
#include <ranges>
#include <string>
#include <vector>

namespace many_to_many_test {

using namespace rel;
namespace rs = relstore;

namespace {

constexpr auto author_of = &AuthorBook::author_id;
constexpr auto book_of = &AuthorBook::book_id;

template <class Range>
std::vector<std::string> names(const Range& r) {
    std::vector<std::string> out;
    for (const auto& row : r) {
        if constexpr (requires { row.title; })
            out.push_back(row.title);
        else
            out.push_back(row.name);
    }
    return out;
}

struct shelf {
    library db;
    std::int64_t a1 = 0, a2 = 0, a3 = 0, b1 = 0, b2 = 0;
    shelf() {
        auto tx = db.write();
        a1 = tx.insert(Author{.name = "Naruto Uzumaki"}).id;
        a2 = tx.insert(Author{.name = "Sasuke Uchiha"}).id;
        a3 = tx.insert(Author{.name = "Sakura Haruno"}).id;
        b1 = tx.insert(Book{.title = "Secret Scroll"}).id;
        b2 = tx.insert(Book{.title = "Sharingan"}).id;
        tx.commit();
    }
};

}  // namespace

TEST_CASE("a link navigates both ways, counted each way", "[relationship][many-to-many]") {
    shelf s;
    auto tx = s.db.write();
    const Author& a1 = tx.get<authors>(s.a1);
    const Author& a2 = tx.get<authors>(s.a2);
    const Book& b1 = tx.get<books>(s.b1);
    const Book& b2 = tx.get<books>(s.b2);

    const AuthorBook& l = rs::link<author_of, book_of>(tx, a1, b1);
    CHECK(l.author_id == s.a1);
    CHECK(l.book_id == s.b1);
    rs::link<author_of, book_of>(tx, a2, b1);
    rs::link<book_of, author_of>(tx, b2, a2);  // either side may come first

    CHECK(names(tx.linked<author_of, book_of>(a2)) == std::vector<std::string>{"Secret Scroll", "Sharingan"});
    CHECK(names(tx.linked<book_of, author_of>(b1)) == std::vector<std::string>{"Naruto Uzumaki", "Sasuke Uchiha"});
    CHECK(&*tx.linked<book_of, author_of>(b2).begin() == &a2);  // the stored row itself

    CHECK(tx.count_links<author_of, book_of>(a1) == 1);
    CHECK(tx.count_links<author_of, book_of>(a2) == 2);
    CHECK(tx.count_links<book_of, author_of>(b1) == 2);
    CHECK(tx.count_links<book_of, author_of>(b2) == 1);

    CHECK(tx.is_linked<author_of, book_of>(a1, b1));
    CHECK(tx.is_linked<book_of, author_of>(b1, a1));
    CHECK_FALSE(tx.is_linked<author_of, book_of>(a1, b2));
    CHECK(tx.find_link<author_of, book_of>(a2, b2) == tx.find<authors_books>(s.a2, s.b2));
    tx.commit();

    auto q = s.db.read();
    CHECK(q.count_links<book_of, author_of>(q.get<books>(s.b1)) == 2);
}

TEST_CASE("unlinking removes the link from both directions at once", "[relationship][many-to-many]") {
    shelf s;
    auto tx = s.db.write();
    const Author& a1 = tx.get<authors>(s.a1);
    const Book& b1 = tx.get<books>(s.b1);
    const Book& b2 = tx.get<books>(s.b2);
    rs::link<author_of, book_of>(tx, a1, b1);
    rs::link<author_of, book_of>(tx, a1, b2);

    CHECK(rs::unlink<author_of, book_of>(tx, a1, b1) == 1);
    CHECK_FALSE(tx.is_linked<author_of, book_of>(a1, b1));
    CHECK(names(tx.linked<author_of, book_of>(a1)) == std::vector<std::string>{"Sharingan"});
    CHECK(tx.linked<book_of, author_of>(b1).empty());
    CHECK(tx.count<books>() == 2);  // only the link goes

    CHECK(rs::unlink<author_of, book_of>(tx, a1, b1) == 0);  // not linked: nothing to do

    CHECK(rs::unlink_all<author_of, book_of>(tx, a1) == 1);
    CHECK(tx.count_links<author_of, book_of>(a1) == 0);
    CHECK(tx.count<authors_books>() == 0);
}

TEST_CASE("a duplicate link is refused by the association table's key", "[relationship][many-to-many]") {
    shelf s;
    auto tx = s.db.write();
    const Author& a1 = tx.get<authors>(s.a1);
    const Book& b1 = tx.get<books>(s.b1);
    rs::link<author_of, book_of>(tx, a1, b1);

    SECTION("through link()") {
        auto e = constraint_error_from([&] { rs::link<author_of, book_of>(tx, a1, b1); });
        CHECK(e.code() == rs::make_error_code(rs::errc::duplicate_key));
        CHECK(e.table() == "authors_books");
        CHECK(e.columns() == "(author_id, book_id)");
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("authors_books.(author_id, book_id) = (1, 1) already exists"));
    }
    SECTION("through insert()") {
        auto e = constraint_error_from([&] { tx.insert(AuthorBook{s.a1, s.b1}); });
        CHECK(e.code() == rs::make_error_code(rs::errc::duplicate_key));
    }
    CHECK(tx.count_links<author_of, book_of>(a1) == 1);
}

TEST_CASE("linking a row this store does not hold is a usage error, and nothing is linked",
          "[relationship][many-to-many][integrity][usage]") {
    shelf s;
    auto tx = s.db.write();
    const Author& a1 = tx.get<authors>(s.a1);
    const Book ghost{.id = 99, .title = "never inserted"};
    const Book copy = tx.get<books>(s.b1);  // a copy of a stored row

    auto usage_message = [&](auto call) {
        try {
            call();
        } catch (const rs::usage_error& e) {
            return std::string(e.what());
        }
        return std::string("no usage_error");
    };
    CHECK_THAT(usage_message([&] { rs::link<author_of, book_of>(tx, a1, ghost); }),
               Catch::Matchers::Contains("a row of books (books.id = 99) that this store does not hold"));
    CHECK_THAT(usage_message([&] { rs::link<author_of, book_of>(tx, a1, copy); }),
               Catch::Matchers::Contains("another object with the key of the stored row books.id = " +
                                         std::to_string(s.b1)));
    CHECK_THAT(usage_message([&] { rs::unlink<author_of, book_of>(tx, a1, copy); }),
               Catch::Matchers::StartsWith("relstore: unlink() takes the row stored in this store"));
    CHECK(tx.count<authors_books>() == 0);
    CHECK_FALSE(tx.is_linked<author_of, book_of>(a1, ghost));

    // The association row itself still has its foreign keys checked.
    auto e = constraint_error_from([&] { tx.insert(AuthorBook{s.a1, 99}); });
    CHECK(e.code() == rs::make_error_code(rs::errc::foreign_key_violation));
    CHECK(e.table() == "authors_books");
    CHECK(e.columns() == "book_id");
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith("authors_books.book_id = 99 references no row in books"));
}

TEST_CASE("set_links replaces a row's whole set of links in one step", "[relationship][many-to-many][set_links]") {
    shelf s;
    auto tx = s.db.write();
    const Author& a1 = tx.get<authors>(s.a1);
    const Author& a2 = tx.get<authors>(s.a2);
    const Author& a3 = tx.get<authors>(s.a3);
    const Book& b1 = tx.get<books>(s.b1);

    // book1.authors = [author1, author2]
    CHECK(rs::set_links<book_of, author_of>(tx, b1, {&a1, &a2}) == rs::link_changes{2, 0});
    CHECK(names(tx.linked<book_of, author_of>(b1)) == std::vector<std::string>{"Naruto Uzumaki", "Sasuke Uchiha"});
    CHECK(names(tx.linked<author_of, book_of>(a2)) == std::vector<std::string>{"Secret Scroll"});

    SECTION("to an overlapping set: the kept link stays, the others change") {
        const AuthorBook* kept = tx.find_link<book_of, author_of>(b1, a2);
        CHECK(rs::set_links<book_of, author_of>(tx, b1, {&a2, &a3}) == rs::link_changes{1, 1});
        CHECK(names(tx.linked<book_of, author_of>(b1)) == std::vector<std::string>{"Sasuke Uchiha", "Sakura Haruno"});
        CHECK(tx.find_link<book_of, author_of>(b1, a2) == kept);
        CHECK(tx.linked<author_of, book_of>(a1).empty());
    }
    SECTION("to the same set: nothing changes") {
        CHECK(rs::set_links<book_of, author_of>(tx, b1, {&a2, &a1}) == rs::link_changes{0, 0});
        CHECK(tx.count_links<book_of, author_of>(b1) == 2);
    }
    SECTION("a target listed twice is linked once") {
        CHECK(rs::set_links<book_of, author_of>(tx, b1, {&a3, &a3}) == rs::link_changes{1, 2});
        CHECK(names(tx.linked<book_of, author_of>(b1)) == std::vector<std::string>{"Sakura Haruno"});
    }
    SECTION("to the empty set") {
        CHECK(rs::set_links<book_of, author_of>(tx, b1, {}) == rs::link_changes{0, 2});
        CHECK(tx.linked<book_of, author_of>(b1).empty());
    }
    SECTION("from any range of rows or pointers") {
        std::vector<std::reference_wrapper<const Author>> refs{a3};
        CHECK(rs::set_links<book_of, author_of>(tx, b1, refs) == rs::link_changes{1, 2});
        std::vector<const Author*> ptrs{&a1};
        CHECK(rs::set_links<book_of, author_of>(tx, b1, ptrs) == rs::link_changes{1, 1});
        CHECK(rs::set_links<book_of, author_of>(tx, b1, tx.all<authors>()) == rs::link_changes{2, 0});
    }
    SECTION("a target that is not stored is refused and nothing is replaced") {
        const Author ghost{.id = 77, .name = "ghost"};
        CHECK_THROWS_AS((rs::set_links<book_of, author_of>(tx, b1, {&a3, &ghost})), rs::usage_error);
        CHECK(names(tx.linked<book_of, author_of>(b1)) == std::vector<std::string>{"Naruto Uzumaki", "Sasuke Uchiha"});
        CHECK(tx.linked<author_of, book_of>(a3).empty());
    }
}

TEST_CASE("erasing a row removes its association links, never the rows on the other side",
          "[relationship][many-to-many][delete]") {
    shelf s;
    auto tx = s.db.write();
    const Book& b1 = tx.get<books>(s.b1);
    const Author& a1 = tx.get<authors>(s.a1);
    const Author& a2 = tx.get<authors>(s.a2);
    rs::set_links<book_of, author_of>(tx, b1, {&a1, &a2});
    rs::link<author_of, book_of>(tx, a2, tx.get<books>(s.b2));

    auto plan = tx.plan_erase(a2);
    CHECK(plan.erased<authors_books>().size() == 2);
    CHECK(tx.erase(a2) == 3);  // the author and its two links
    CHECK(names(tx.linked<book_of, author_of>(b1)) == std::vector<std::string>{"Naruto Uzumaki"});
    CHECK(tx.count<books>() == 2);
    CHECK(tx.count<authors_books>() == 1);

    tx.rollback();
    auto q = s.db.read();
    CHECK(q.count<authors_books>() == 0);  // the links were part of the rolled-back transaction
}

TEST_CASE("a row with 100,000 links is ordinary", "[relationship][many-to-many][scale]") {
    library db;
    constexpr std::int64_t n = 100'000;
    {
        auto tx = db.write();
        const Author& prolific = tx.insert(Author{.name = "prolific"});
        for (std::int64_t i = 0; i < n; ++i) rs::link<author_of, book_of>(tx, prolific, tx.insert(Book{.title = "b"}));
        tx.commit();
    }
    auto tx = db.write();
    const Author& prolific = tx.get<authors>(std::int64_t{1});
    const Book& last = tx.get<books>(n);
    CHECK(tx.count_links<author_of, book_of>(prolific) == n);
    CHECK(tx.count_links<book_of, author_of>(last) == 1);
    CHECK(tx.is_linked<author_of, book_of>(prolific, last));
    CHECK(&*tx.linked<book_of, author_of>(last).begin() == &prolific);

    std::int64_t sum = 0;
    for (const Book& b : tx.linked<author_of, book_of>(prolific)) sum += b.id;
    CHECK(sum == n * (n + 1) / 2);

    CHECK(rs::unlink<author_of, book_of>(tx, prolific, last) == 1);
    CHECK(tx.count_links<author_of, book_of>(prolific) == n - 1);
    CHECK(tx.erase(prolific) == static_cast<std::size_t>(n));  // the author and n - 1 links
    CHECK(tx.count<authors_books>() == 0);
    CHECK(tx.count<books>() == static_cast<std::size_t>(n));
}

TEST_CASE("an association object is a many-to-many and rows of its own", "[relationship][association-object]") {
    shelf s;
    auto tx = s.db.write();
    const Author& a1 = tx.get<authors>(s.a1);
    const Author& a2 = tx.get<authors>(s.a2);
    const Author& a3 = tx.get<authors>(s.a3);
    const Book& b1 = tx.get<books>(s.b1);
    constexpr auto credit_author = &Credit::author_id;
    constexpr auto credit_book = &Credit::book_id;

    const Credit& lead = rs::link<credit_author, credit_book>(tx, a2, b1, Credit{.role = "writer", .position = 1});
    CHECK(lead.author_id == s.a2);
    CHECK(lead.book_id == s.b1);
    CHECK(lead.role == "writer");
    rs::link<credit_author, credit_book>(tx, a1, b1, Credit{.role = "illustrator", .position = 3});
    rs::link<credit_author, credit_book>(tx, a3, b1, Credit{.role = "editor", .position = 2});

    SECTION("as a plain many-to-many") {
        CHECK(names(tx.linked<credit_book, credit_author>(b1)) ==
              std::vector<std::string>{"Sasuke Uchiha", "Naruto Uzumaki", "Sakura Haruno"});  // in credit-key order
        CHECK(names(tx.linked<credit_author, credit_book>(a3)) == std::vector<std::string>{"Secret Scroll"});
        CHECK(tx.count_links<credit_book, credit_author>(b1) == 3);
        CHECK(tx.is_linked<credit_author, credit_book>(a1, b1));
    }
    SECTION("as rows, with their own columns, in position order") {
        std::vector<std::string> roles;
        for (const Credit& c : tx.children_by<credit_book, &Credit::position>(b1)) roles.push_back(c.role);
        CHECK(roles == std::vector<std::string>{"writer", "editor", "illustrator"});
        CHECK(tx.find_link<credit_author, credit_book>(a1, b1)->role == "illustrator");
        CHECK(&tx.parent<credit_author>(lead) == &a2);
    }
    SECTION("one table, so a change shows in both views at once") {
        const Credit& ill = *tx.find_link<credit_author, credit_book>(a1, b1);
        tx.update(ill, [](Credit& c) { c.position = 0; });
        CHECK(tx.children_by<credit_book, &Credit::position>(b1).first()->role == "illustrator");
        tx.update(ill, [&](Credit& c) { c.author_id = s.a3; });  // a3 now both edits and illustrates
        CHECK(tx.count_links<credit_author, credit_book>(a3) == 2);
        CHECK(tx.linked<credit_author, credit_book>(a1).empty());
    }
    SECTION("the same pair may hold several roles, each role once") {
        rs::link<credit_author, credit_book>(tx, a2, b1, Credit{.role = "editor", .position = 4});
        CHECK(tx.count_links<credit_author, credit_book>(a2) == 2);
        auto e = constraint_error_from(
            [&] { rs::link<credit_author, credit_book>(tx, a2, b1, Credit{.role = "writer"}); });
        CHECK(e.code() == rs::make_error_code(rs::errc::unique_violation));
        CHECK(e.table() == "credits");
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("credits.(author_id, book_id, role) = (2, 1, \"writer\") already exists"));
        CHECK(rs::unlink<credit_author, credit_book>(tx, a2, b1) == 2);  // every role of the pair
        CHECK_FALSE(tx.is_linked<credit_author, credit_book>(a2, b1));
    }
    SECTION("set_links keeps the links that stay, with their columns") {
        CHECK(rs::set_links<credit_book, credit_author>(tx, b1, {&a2}) == rs::link_changes{0, 2});
        REQUIRE(tx.count_links<credit_book, credit_author>(b1) == 1);
        CHECK(tx.children<credit_book>(b1).first()->role == "writer");
    }
    SECTION("erasing the book erases its credits") {
        CHECK(tx.erase(b1) == 4);
        CHECK(tx.count<credits>() == 0);
        CHECK(tx.count<authors>() == 3);
    }
}

TEST_CASE("unlinking while walking linked<>() is a usage_error at the walk's next step; collected first, it works",
          "[relationship][many-to-many][misuse]") {
    shelf s;
    auto tx = s.db.write();
    const Author& a1 = tx.get<authors>(s.a1);
    rs::link<author_of, book_of>(tx, a1, tx.get<books>(s.b1));
    rs::link<author_of, book_of>(tx, a1, tx.get<books>(s.b2));
    int visited = 0;
    try {
        for (const Book& b : tx.linked<author_of, book_of>(a1)) {
            ++visited;
            REQUIRE(visited < 10);  // unchecked, the walk follows an unlinked node
            rs::unlink<author_of, book_of>(tx, a1, b);
        }
        FAIL("the walk went on after its index changed");
    } catch (const rs::usage_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("authors_books.author_id"));
    }
    CHECK(visited == 1);
    CHECK(tx.count_links<author_of, book_of>(a1) == 1);
    // Collected first: every link goes.
    std::vector<const Book*> linked;
    for (const Book& b : tx.linked<author_of, book_of>(a1)) linked.push_back(&b);
    for (const Book* b : linked) rs::unlink<author_of, book_of>(tx, a1, *b);
    CHECK(tx.count_links<author_of, book_of>(a1) == 0);
}

TEST_CASE("a link whose key was set to null links to nothing: linked() and count_links() skip it, as a join would",
          "[relationship][many-to-many][null]") {
    shelf s;
    auto tx = s.db.write();
    constexpr auto praiser = &Blurb::author_id;
    constexpr auto praised = &Blurb::book_id;
    const Author& a1 = tx.get<authors>(s.a1);
    const Author& a3 = tx.get<authors>(s.a3);
    const Book& b2 = tx.get<books>(s.b2);
    const Book& b3 = tx.insert(Book{.title = "Rasengan"});
    // a1's links in key order: to b1, b2, b1, b3; the b1 ones will point nowhere,
    // so the walk meets a null first, between rows and (reversed) last.
    rs::link<praiser, praised>(tx, a1, tx.get<books>(s.b1));
    rs::link<praiser, praised>(tx, a1, b2);
    rs::link<praiser, praised>(tx, a1, tx.get<books>(s.b1));
    rs::link<praiser, praised>(tx, a1, b3);
    rs::link<praiser, praised>(tx, a3, tx.get<books>(s.b1));
    rs::link<praiser, praised>(tx, a3, b2);
    REQUIRE(tx.erase(tx.get<books>(s.b1)) == 1);  // three blurbs now praise no book
    REQUIRE(tx.where<praised>(std::nullopt).count() == 3);

    SECTION("the \"to\" key null: the link is skipped every way the range is read") {
        const auto r = tx.linked<praiser, praised>(a1);
        CHECK(names(r) == std::vector<std::string>{"Sharingan", "Rasengan"});
        CHECK(r.count() == 2);
        CHECK(tx.count_links<praiser, praised>(a1) == 2);
        CHECK(std::ranges::distance(r) == 2);
        CHECK(r.first() == &b2);
        CHECK(&r.front() == &b2);
        CHECK_FALSE(r.empty());
        CHECK(names(r.reverse()) == std::vector<std::string>{"Rasengan", "Sharingan"});
        CHECK(names(r.take(1)) == std::vector<std::string>{"Sharingan"});
        CHECK(r.take(1).count() == 1);
        CHECK(names(r.drop(1)) == std::vector<std::string>{"Rasengan"});
        CHECK(r.drop(2).empty());
        CHECK(r.drop(2).first() == nullptr);
        CHECK(names(r.take(1).reverse()) == std::vector<std::string>{"Sharingan"});
        CHECK(names(r.reverse().take(1)) == std::vector<std::string>{"Rasengan"});
        CHECK(names(r.reverse().drop(1)) == std::vector<std::string>{"Sharingan"});
        CHECK(names(r.reverse().reverse()) == std::vector<std::string>{"Sharingan", "Rasengan"});

        const auto only_nulls = tx.linked<praiser, praised>(tx.get<authors>(s.a2));
        CHECK(only_nulls.empty());
        CHECK(tx.count_links<praiser, praised>(s.a2) == 0);

        CHECK(names(tx.linked<praiser, praised>(a3)) == std::vector<std::string>{"Sharingan"});
        CHECK(tx.count_links<praiser, praised>(a3) == 1);

        // Reading changed nothing: the links to nothing are still stored.
        CHECK(tx.count<blurbs>() == 6);
        CHECK(tx.where<praised>(std::nullopt).count() == 3);
    }
    SECTION("a link with nothing but a null \"to\" key is an empty range, not a crash") {
        const Author& a2 = tx.get<authors>(s.a2);
        rs::link<praiser, praised>(tx, a2, b3);
        tx.erase(b3);
        const auto r = tx.linked<praiser, praised>(a2);
        CHECK(r.empty());
        CHECK_FALSE(r);
        CHECK(r.first() == nullptr);
        CHECK(r.count() == 0);
        CHECK(r.reverse().empty());
        CHECK(r.take(1).empty());
        CHECK(tx.count_links<praiser, praised>(a2) == 0);
    }
    SECTION("the \"from\" key null: the link is in no row's walk, and the other side skips it") {
        tx.erase(a3);  // its blurbs now have no author: one praises b2, one nothing at all
        CHECK(names(tx.linked<praised, praiser>(b2)) == std::vector<std::string>{"Naruto Uzumaki"});
        CHECK(tx.count_links<praised, praiser>(b2) == 1);
        CHECK(names(tx.linked<praised, praiser>(b2).reverse()) == std::vector<std::string>{"Naruto Uzumaki"});
        CHECK(tx.count_links<praised, praiser>(b3) == 1);
        CHECK(tx.count<blurbs>() == 6);
    }
    SECTION("the other verbs pass the null links by") {
        CHECK(tx.is_linked<praiser, praised>(a1, b2));
        CHECK(rs::unlink<praiser, praised>(tx, a1, b2) == 1);
        CHECK(names(tx.linked<praiser, praised>(a1)) == std::vector<std::string>{"Rasengan"});
        CHECK(rs::set_links<praiser, praised>(tx, a1, {&b2}) == rs::link_changes{1, 1});
        CHECK(names(tx.linked<praiser, praised>(a1)) == std::vector<std::string>{"Sharingan"});
        CHECK(tx.where<praised>(std::nullopt).count() == 3);  // set_links leaves links to nothing alone
        CHECK(rs::unlink_all<praiser, praised>(tx, a1) == 3);  // every blurb of a1's, the two to nothing too
        CHECK(tx.linked<praiser, praised>(a1).empty());
    }
}

TEST_CASE("a walk standing on a link whose target is then erased is a usage_error, not a read of nothing",
          "[relationship][many-to-many][null][misuse]") {
    shelf s;
    auto tx = s.db.write();
    const Author& a1 = tx.get<authors>(s.a1);
    rs::link<&Blurb::author_id, &Blurb::book_id>(tx, a1, tx.get<books>(s.b1));
    rs::link<&Blurb::author_id, &Blurb::book_id>(tx, a1, tx.get<books>(s.b2));
    const auto r = tx.linked<&Blurb::author_id, &Blurb::book_id>(a1);
    auto it = r.begin();
    REQUIRE(it->title == "Secret Scroll");
    // set_null writes only book_id: the walk over author_id has not moved, but
    // the link it stands on leads nowhere now.
    tx.erase(tx.get<books>(s.b1));
    try {
        (void)*it;
        FAIL("read a link that leads nowhere");
    } catch (const rs::usage_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("blurbs.book_id"));
    }
    ++it;
    REQUIRE(it != r.end());
    CHECK(it->title == "Sharingan");
    CHECK(++it == r.end());
}

}  // namespace many_to_many_test
