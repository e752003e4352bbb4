// Constraints: every refused write throws a typed error that names the table,
// the columns and the value, and leaves the store exactly as it was (every
// row at the same address, every index walking and finding the same rows).
#include "blog.hpp"
#include "checks.hpp"
#include "shop.hpp"

namespace constraint_test {

using relstore::errc;
using relstore_test::capture;
using relstore_test::diff;
using relstore_test::refused;
using relstore_test::refused_with;

namespace {

struct tutorial {
    blog::store db;
    tutorial() {
        auto tx = db.write();
        const blog::User& naruto = tx.insert(blog::User{.name = "Naruto Uzumaki", .email = "naruto@leaf"});
        tx.insert(blog::User{.name = "Kakashi Hatake", .email = "kakashi@leaf"});
        tx.insert(blog::Post{.title = "Post 1", .content = "9 Tails Fox Sealer", .author_id = naruto.id});
        tx.commit();
    }
};

struct filled {
    shop::store db;
    filled() { shop::fill(db); }
};

}  // namespace

TEST_CASE_METHOD(tutorial, "a unique violation names the table, column and value and changes nothing",
                 "[core][constraint]") {
    auto tx = db.write();
    SECTION("on insert") {
        refused_with(tx, errc::unique_violation, "users", "name", R"(users.name = "Naruto Uzumaki" already exists)",
                     [&] { tx.insert(blog::User{.name = "Naruto Uzumaki"}); });
    }
    SECTION("on update") {
        refused_with(tx, errc::unique_violation, "users", "name", R"(users.name = "Naruto Uzumaki" already exists)",
                     [&] { tx.update<blog::users>(2, [](blog::User& u) { u.name = "Naruto Uzumaki"; }); });
        CHECK(tx.get<blog::users>(2).name == "Kakashi Hatake");
    }
    SECTION("quotes and backslashes in the value are escaped") {
        tx.insert(blog::User{.name = R"(say "hi" \o/)"});
        refused_with(tx, errc::unique_violation, "users", "name", R"(users.name = "say \"hi\" \\o/" already exists)",
                     [&] { tx.insert(blog::User{.name = R"(say "hi" \o/)"}); });
    }
    SECTION("the error belongs to relstore's one hierarchy") {
        try {
            tx.insert(blog::User{.name = "Naruto Uzumaki"});
            FAIL("no exception");
        } catch (const relstore::error& e) {
            CHECK(dynamic_cast<const relstore::constraint_error*>(&e) != nullptr);
            CHECK(e.code().category().name() == std::string("relstore"));
            CHECK(e.code().message() == "unique constraint violated");
        }
        CHECK_THROWS_AS(tx.insert(blog::User{.name = "Naruto Uzumaki"}), std::system_error);
    }
    tx.commit();
    CHECK(db.read().count<blog::users>() >= 2);
}

TEST_CASE_METHOD(tutorial, "a duplicate primary key is refused and changes nothing", "[core][constraint]") {
    auto tx = db.write();
    SECTION("an explicit auto key already taken") {
        refused_with(tx, errc::duplicate_key, "users", "id", "users.id = 1 already exists",
                     [&] { tx.insert(blog::User{.id = 1, .name = "Sasuke Uchiha"}); });
        // The auto key counter did not move either.
        CHECK(tx.insert(blog::User{.name = "Sasuke Uchiha"}).id == 3);
    }
    SECTION("a key clash is reported before a unique clash on the same row") {
        refused_with(tx, errc::duplicate_key, "users", "id", "users.id = 2 already exists",
                     [&] { tx.insert(blog::User{.id = 2, .name = "Naruto Uzumaki"}); });
    }
}

TEST_CASE_METHOD(filled, "every kind of key and unique constraint refuses a duplicate with its own message",
                 "[core][constraint]") {
    using namespace shop;
    auto tx = db.write();
    SECTION("a caller-supplied string key") {
        refused_with(tx, errc::duplicate_key, "products", "sku", R"(products.sku = "B-1" already exists)",
                     [&] { tx.insert(Product{"B-1", "Other", "books", 1, std::nullopt}); });
    }
    SECTION("a composite key") {
        refused_with(tx, errc::duplicate_key, "lines", "(order_no, line_no)",
                     "lines.(order_no, line_no) = (101, 1) already exists",
                     [&] { tx.insert(Line{101, 1, 1, "B-1", 1}); });
    }
    SECTION("a hashed auto key") {
        refused_with(tx, errc::duplicate_key, "tags", "id", "tags.id = 2 already exists",
                     [&] { tx.insert(Tag{2, "other"}); });
    }
    SECTION("an ordered unique column") {
        refused_with(tx, errc::unique_violation, "products", "name", R"(products.name = "Pen" already exists)",
                     [&] { tx.insert(Product{"Q-1", "Pen", "office", 1, std::nullopt}); });
    }
    SECTION("a unique constraint on two columns") {
        refused_with(tx, errc::unique_violation, "customers", "(first, last)",
                     R"(customers.(first, last) = ("Grace", "Hopper") already exists)",
                     [&] { tx.insert(Customer{0, "g2@x", "Grace", "Hopper", std::nullopt, 1, "c", ""}); });
    }
    SECTION("a nullable unique column, hashed and ordered") {
        refused_with(tx, errc::unique_violation, "customers", "nickname",
                     R"(customers.nickname = "countess" already exists)",
                     [&] { tx.insert(Customer{0, "c2@x", "C", "C", "countess", 1, "c", ""}); });
        refused_with(tx, errc::unique_violation, "products", "barcode", "products.barcode = 3001 already exists",
                     [&] { tx.insert(Product{"Q-1", "Quill", "office", 1, 3001}); });
    }
    SECTION("the first violated constraint in declaration order is the one reported") {
        // email (declared first) and (first, last) both clash.
        refused_with(tx, errc::unique_violation, "customers", "email", R"(customers.email = "ada@x.org" already exists)",
                     [&] { tx.insert(Customer{0, "ada@x.org", "Ada", "Lovelace", std::nullopt, 1, "c", ""}); });
    }
}

TEST_CASE_METHOD(filled, "an update that makes a unique value clash is refused and leaves the row as it was",
                 "[core][constraint][update]") {
    using namespace shop;
    auto tx = db.write();
    const Customer& alan = tx.get<customers>(2);
    const Customer alan_before = alan;
    SECTION("a hashed unique column") {
        refused_with(tx, errc::unique_violation, "customers", "email",
                     R"(customers.email = "grace@x.org" already exists)",
                     [&] { tx.update(alan, [](Customer& c) { c.email = "grace@x.org"; }); });
    }
    SECTION("one column of a two-column unique constraint") {
        tx.update<customers>(3, [](Customer& c) { c.first = "Alan"; });  // Grace becomes Alan Hopper
        refused_with(tx, errc::unique_violation, "customers", "(first, last)",
                     R"(customers.(first, last) = ("Alan", "Hopper") already exists)",
                     [&] { tx.update(alan, [](Customer& c) { c.last = "Hopper"; }); });
    }
    SECTION("a nullable unique column, checked by the store") {
        refused_with(tx, errc::unique_violation, "customers", "nickname", R"(customers.nickname = "ewd" already exists)",
                     [&] { tx.update(alan, [](Customer& c) { c.nickname = "ewd"; }); });
    }
    SECTION("an ordered unique column") {
        refused_with(tx, errc::unique_violation, "products", "name", R"(products.name = "Atlas" already exists)",
                     [&] { tx.update<products>("B-1", [](Product& p) { p.name = "Atlas"; }); });
    }
    SECTION("a clash together with changes to other indexed columns") {
        refused_with(tx, errc::unique_violation, "customers", "email", R"(customers.email = "ada@x.org" already exists)",
                     [&] {
                         tx.update(alan, [](Customer& c) {
                             c.age = 1;
                             c.city = "Paris";
                             c.nickname = "new";
                             c.email = "ada@x.org";
                         });
                     });
        CHECK(tx.find<&Customer::nickname>("new") == nullptr);
        CHECK(tx.where<&Customer::city>("Paris").empty());
    }
    CHECK(relstore_test::render(alan) == relstore_test::render(alan_before));
    CHECK(&tx.get<customers>(2) == &alan);
}

TEST_CASE_METHOD(filled, "a foreign key that matches no row is refused and changes nothing",
                 "[core][constraint][foreign-key]") {
    using namespace shop;
    auto tx = db.write();
    SECTION("on insert, an integer key") {
        refused_with(tx, errc::foreign_key_violation, "lines", "customer_id",
                     "lines.customer_id = 99 references no row in customers",
                     [&] { tx.insert(Line{300, 1, 99, "B-1", 1}); });
    }
    SECTION("on insert, a string key") {
        refused_with(tx, errc::foreign_key_violation, "lines", "sku",
                     R"(lines.sku = "Z-1" references no row in products)", [&] { tx.insert(Line{300, 1, 1, "Z-1", 1}); });
    }
    SECTION("on update") {
        refused_with(tx, errc::foreign_key_violation, "lines", "customer_id",
                     "lines.customer_id = 7 references no row in customers",
                     [&] { tx.update(tx.get<lines>(100, 1), [](Line& l) { l.customer_id = 7; }); });
    }
    SECTION("to a row erased earlier in the same transaction") {
        tx.erase<customers>(2);
        refused_with(tx, errc::foreign_key_violation, "lines", "customer_id",
                     "lines.customer_id = 2 references no row in customers",
                     [&] { tx.insert(Line{300, 1, 2, "B-1", 1}); });
    }
    SECTION("to a row inserted earlier in the same transaction: accepted") {
        const Customer& c = tx.insert(Customer{0, "n@x", "N", "N", std::nullopt, 1, "c", ""});
        CHECK(tx.insert(Line{300, 1, c.id, "B-1", 1}).customer_id == 5);
    }
}

TEST_CASE("blog: a post whose author does not exist is refused", "[core][constraint][foreign-key]") {
    blog::store db;
    auto tx = db.write();
    refused_with(tx, errc::foreign_key_violation, "posts", "author_id", "posts.author_id = 0 references no row in users",
                 [&] { tx.insert(blog::Post{.title = "orphan"}); });
}

TEST_CASE_METHOD(filled, "after a refused call the transaction goes on and commits the rest",
                 "[core][constraint][transaction]") {
    using namespace shop;
    const auto committed = capture(db.read());
    {
        auto tx = db.write();
        tx.insert(Tag{0, "hot"});
        CHECK_THROWS_AS(tx.insert(Tag{0, "hot"}), relstore::constraint_error);
        CHECK_THROWS_AS(tx.insert(Line{1, 1, 42, "B-1", 1}), relstore::constraint_error);
        CHECK_THROWS_AS(tx.update<customers>(1, [](Customer& c) { c.email = "alan@x.org"; }),
                        relstore::constraint_error);
        CHECK_THROWS_AS(tx.erase<customers>(1), relstore::constraint_error);
        CHECK_THROWS_AS(tx.insert_many(std::vector<Tag>{{0, "a"}, {0, "a"}}), relstore::constraint_error);
        tx.update<customers>(1, [](Customer& c) { c.age = 37; });
        tx.insert(Tag{0, "cold"});
        tx.commit();
    }
    auto q = db.read();
    CHECK(q.get<customers>(1).age == 37);
    CHECK(q.get<customers>(1).email == "ada@x.org");
    CHECK(q.count<tags>() == 4);
    CHECK(q.find<&Tag::label>("a") == nullptr);
    CHECK(q.get<tags>(4).label == "cold");  // refused inserts took no key
    CHECK(q.count<lines>() == 4);
    CHECK(relstore_test::check_consistent(capture(q)) == "");
    CHECK(diff(committed, capture(q), false) != "");
}

TEST_CASE_METHOD(filled, "a refused call changes nothing, rows and every index included, whatever was done before",
                 "[core][constraint]") {
    using namespace shop;
    auto tx = db.write();
    // Changes earlier in the transaction, so the undo log is not empty.
    tx.insert(Customer{0, "new@x", "New", "Person", "newbie", 20, "Oslo", ""});
    tx.update<customers>(4, [](Customer& c) { c.age = 73; });
    tx.erase<lines>(102, 1);
    tx.erase<products>("B-2");
    const auto before = capture(tx);
    CHECK_THROWS_AS(tx.insert(Customer{0, "x@x", "New", "Person", std::nullopt, 1, "c", ""}),
                    relstore::constraint_error);
    CHECK_THROWS_AS(tx.update<customers>(5, [](Customer& c) { c.nickname = "ewd"; }), relstore::constraint_error);
    CHECK_THROWS_AS(tx.update<customers>(5, [](Customer& c) { c.id = 9; }), relstore::constraint_error);
    CHECK_THROWS_AS(tx.insert(Line{100, 3, 1, "B-2", 1}), relstore::constraint_error);
    CHECK_THROWS_AS(tx.erase<products>("P-1"), relstore::constraint_error);
    CHECK_THROWS_AS(tx.clear<customers>(), relstore::constraint_error);
    CHECK_THROWS_AS(tx.insert_many(std::vector<Product>{{"B-2", "Atlas", "books", 1, std::nullopt},
                                                        {"B-3", "Atlas", "books", 1, std::nullopt}}),
                    relstore::constraint_error);
    CHECK(diff(before, capture(tx)) == "");
    tx.rollback();
    CHECK(relstore_test::check_consistent(capture(db.read())) == "");
}

TEST_CASE("a read scope cannot write, and refused reads change nothing", "[core][constraint]") {
    shop::store db;
    shop::fill(db);
    auto q = db.read();
    auto e = refused<relstore::not_found_error>(q, [&] { (void)q.get<shop::customers>(77); });
    CHECK(e.has_value());
    constexpr bool can_insert = []<class R>(R*) { return requires(R& r) { r.insert(shop::Tag{}); }; }(
        static_cast<relstore::reader<shop::store>*>(nullptr));
    static_assert(!can_insert, "a read scope has no insert");
    CHECK(q.count<shop::customers>() == 4);
}

}  // namespace constraint_test
