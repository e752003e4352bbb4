// Declaring a schema: keys (auto, caller-supplied, composite, hashed), unique
// constraints, secondary indexes and nullable columns.
#include "blog.hpp"
#include "checks.hpp"
#include "shop.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace schema_test {

using namespace shop;
using relstore::errc;
using relstore_test::refused_with;

TEST_CASE("an auto key is assigned when the row leaves it 0", "[core][schema][key]") {
    blog::store db;
    auto tx = db.write();
    const blog::User& a = tx.insert(blog::User{.name = "a"});
    const blog::User& b = tx.insert(blog::User{.name = "b"});
    CHECK(a.id == 1);
    CHECK(b.id == 2);

    SECTION("an explicit key is kept, and later auto keys continue after it") {
        const blog::User& c = tx.insert(blog::User{.id = 10, .name = "c"});
        CHECK(c.id == 10);
        CHECK(tx.insert(blog::User{.name = "d"}).id == 11);
        SECTION("an explicit key below the largest does not move the counter back") {
            CHECK(tx.insert(blog::User{.id = 5, .name = "e"}).id == 5);
            CHECK(tx.insert(blog::User{.name = "f"}).id == 12);
        }
    }
    SECTION("each table counts its own keys") {
        CHECK(tx.insert(blog::Post{.title = "t", .author_id = a.id}).id == 1);
    }
    tx.commit();
    auto q = db.read();
    CHECK(q.get<blog::users>(1).name == "a");
    CHECK(q.get<blog::users>(2).name == "b");
}

TEST_CASE("auto keys of erased rows are never reused", "[core][schema][key]") {
    shop::store db;
    {
        auto tx = db.write();
        for (int i = 0; i < 3; ++i) tx.insert(Tag{0, "t" + std::to_string(i)});
        tx.insert(Customer{0, "a@x", "A", "A", std::nullopt, 1, "c", ""});
        tx.insert(Customer{0, "b@x", "B", "B", std::nullopt, 1, "c", ""});
        tx.commit();
    }
    SECTION("after erasing the newest row, in the same transaction") {
        auto tx = db.write();
        CHECK(tx.erase<customers>(2) == 1);
        CHECK(tx.insert(Customer{0, "c@x", "C", "C", std::nullopt, 1, "c", ""}).id == 3);
        CHECK(tx.erase<tags>(3) == 1);  // a hashed auto key counts the same way
        CHECK(tx.insert(Tag{0, "t3"}).id == 4);
        tx.commit();
    }
    SECTION("after a committed erase, in a later transaction") {
        {
            auto tx = db.write();
            tx.erase<customers>(2);
            tx.commit();
        }
        auto tx = db.write();
        CHECK(tx.insert(Customer{0, "c@x", "C", "C", std::nullopt, 1, "c", ""}).id == 3);
    }
    SECTION("after clearing the table") {
        auto tx = db.write();
        CHECK(tx.clear<customers>() == 2);
        CHECK(tx.clear<tags>() == 3);
        CHECK(tx.insert(Customer{0, "c@x", "C", "C", std::nullopt, 1, "c", ""}).id == 3);
        CHECK(tx.insert(Tag{0, "x"}).id == 4);
    }
    SECTION("a rolled-back insert leaves the counter where it was") {
        {
            auto tx = db.write();
            CHECK(tx.insert(Tag{0, "gone"}).id == 4);
        }
        auto tx = db.write();
        CHECK(tx.insert(Tag{0, "kept"}).id == 4);
    }
}

TEST_CASE("a caller-supplied primary key is stored as given and finds its row", "[core][schema][key]") {
    shop::store db;
    shop::fill(db);
    auto q = db.read();
    CHECK(q.get<products>("P-2").name == "Pen");
    CHECK(q.get<products>(std::string("B-2")).name == "Atlas");
    CHECK(q.find<products>("nope") == nullptr);
    // An ordered key: all() walks the table in key order.
    std::vector<std::string> skus;
    for (const Product& p : q.all<products>()) skus.push_back(p.sku);
    CHECK(skus == std::vector<std::string>{"B-1", "B-2", "P-1", "P-2", "T-1"});
}

TEST_CASE("a composite primary key identifies a row by all its columns", "[core][schema][key]") {
    shop::store db;
    shop::fill(db);
    auto tx = db.write();
    CHECK(tx.get<lines>(100, 2).sku == "P-1");
    CHECK(tx.find<lines>(100, 3) == nullptr);
    CHECK(tx.find<lines>(103, 1) == nullptr);

    SECTION("rows sharing one key column are distinct") {
        tx.insert(Line{101, 2, 2, "B-1", 5});
        tx.insert(Line{103, 2, 2, "B-1", 5});
        CHECK(tx.count<lines>() == 6);
        std::vector<std::pair<std::int64_t, std::int32_t>> keys;
        for (const Line& l : tx.all<lines>()) keys.emplace_back(l.order_no, l.line_no);
        CHECK(keys == std::vector<std::pair<std::int64_t, std::int32_t>>{
                          {100, 1}, {100, 2}, {101, 1}, {101, 2}, {102, 1}, {103, 2}});
    }
    SECTION("the same pair again is refused") {
        refused_with(tx, errc::duplicate_key, "lines", "(order_no, line_no)",
                     "lines.(order_no, line_no) = (100, 2) already exists",
                     [&] { tx.insert(Line{100, 2, 2, "B-2", 1}); });
    }
}

TEST_CASE("a unique constraint on several columns refuses only the same combination", "[core][schema][unique]") {
    shop::store db;
    shop::fill(db);
    auto tx = db.write();
    SECTION("the same first name with another last name is accepted") {
        const Customer& c = tx.insert(Customer{0, "ada2@x.org", "Ada", "Byron", std::nullopt, 1, "London", ""});
        CHECK(tx.find<&Customer::first, &Customer::last>("Ada", "Byron") == &c);
    }
    SECTION("the same last name with another first name is accepted") {
        tx.insert(Customer{0, "ann@x.org", "Ann", "Lovelace", std::nullopt, 1, "London", ""});
        CHECK(tx.count<customers>() == 5);
    }
    SECTION("the same pair is refused") {
        refused_with(tx, errc::unique_violation, "customers", "(first, last)",
                     R"(customers.(first, last) = ("Ada", "Lovelace") already exists)", [&] {
                         tx.insert(Customer{0, "ada2@x.org", "Ada", "Lovelace", std::nullopt, 1, "London", ""});
                     });
    }
}

TEST_CASE("null values never clash in a unique constraint on a nullable column", "[core][schema][nullable]") {
    shop::store db;
    shop::fill(db);
    auto tx = db.write();
    SECTION("hashed unique: many customers without a nickname") {
        for (int i = 0; i < 5; ++i)
            tx.insert(Customer{0, std::to_string(i) + "@x", "N", std::to_string(i), std::nullopt, 1, "c", ""});
        CHECK(tx.where<&Customer::nickname>(std::optional<std::string>{}).count() == 7);
        CHECK(tx.where<&Customer::nickname>(std::nullopt).count() == 7);
        CHECK(tx.exists<&Customer::nickname>(std::nullopt));
        SECTION("but a nickname already taken is refused") {
            refused_with(tx, errc::unique_violation, "customers", "nickname",
                         R"(customers.nickname = "ewd" already exists)",
                         [&] { tx.insert(Customer{0, "z@x", "Z", "Z", "ewd", 1, "c", ""}); });
        }
    }
    SECTION("ordered unique: many products without a barcode") {
        tx.insert(Product{"N-1", "Nail", "tools", 5, std::nullopt});
        tx.insert(Product{"N-2", "Nut", "tools", 5, std::nullopt});
        CHECK(tx.where<&Product::barcode>(std::optional<std::int64_t>{}).count() == 4);
        CHECK(tx.where<&Product::barcode>(std::nullopt).count() == 4);
        SECTION("but a barcode already taken is refused") {
            refused_with(tx, errc::unique_violation, "products", "barcode", "products.barcode = 2001 already exists",
                         [&] { tx.insert(Product{"N-3", "Nib", "tools", 5, 2001}); });
        }
    }
    SECTION("an update may set a nullable unique column to null, and another row may take the freed value") {
        const Customer& ada = tx.get<customers>(1);
        tx.update(ada, [](Customer& c) { c.nickname.reset(); });
        CHECK_FALSE(ada.nickname.has_value());
        CHECK(tx.find<&Customer::nickname>("countess") == nullptr);
        const Customer& alan = tx.update<customers>(2, [](Customer& c) { c.nickname = "countess"; });
        CHECK(tx.find<&Customer::nickname>("countess") == &alan);
    }
}

TEST_CASE("nullable columns keep null and values", "[core][schema][nullable]") {
    shop::store db;
    shop::fill(db);
    auto q = db.read();
    CHECK(q.get<customers>(1).nickname == std::optional<std::string>("countess"));
    CHECK_FALSE(q.get<customers>(2).nickname.has_value());
    CHECK(q.get<products>("B-1").barcode == std::optional<std::int64_t>(1001));
    CHECK_FALSE(q.get<products>("B-2").barcode.has_value());
    // In an ordered index, null sorts before every value.
    std::vector<std::optional<std::int64_t>> codes;
    for (const Product& p : q.order_by<&Product::barcode>()) codes.push_back(p.barcode);
    CHECK(codes == std::vector<std::optional<std::int64_t>>{std::nullopt, std::nullopt, 1001, 2001, 3001});
}

TEST_CASE("hashed and ordered secondary indexes accept duplicate values", "[core][schema][index]") {
    shop::store db;
    shop::fill(db);
    auto tx = db.write();
    tx.insert(Customer{0, "e@x", "E", "E", std::nullopt, 36, "London", ""});
    tx.insert(Customer{0, "f@x", "F", "F", std::nullopt, 36, "London", ""});
    CHECK(tx.where<&Customer::city>("London").count() == 3);  // hashed
    CHECK(tx.where<&Customer::age>(36).count() == 3);          // ordered
    tx.insert(Product{"X-1", "Xylophone", "music", 450, std::nullopt});
    CHECK(tx.where<&Product::price>(450).count() == 2);
}

TEST_CASE("a hashed key finds rows by key without an order", "[core][schema][key]") {
    shop::store db;
    shop::fill(db);
    auto q = db.read();
    CHECK(q.get<tags>(1).label == "sale");
    CHECK(q.get<tags>(2).label == "new");
    CHECK(q.find<tags>(3) == nullptr);
    std::vector<std::string> labels;
    for (const Tag& t : q.all<tags>()) labels.push_back(t.label);
    std::sort(labels.begin(), labels.end());
    CHECK(labels == std::vector<std::string>{"new", "sale"});
}

TEST_CASE("the schema is described at run time as declared", "[core][schema]") {
    const relstore::schema_info info = relstore::describe<shop::store>();
    REQUIRE(info.tables.size() == 4);
    const auto& c = info.tables[0];
    CHECK(c.name == "customers");
    CHECK(c.key == std::vector<std::string>{"id"});
    CHECK(c.auto_key);
    CHECK_FALSE(c.hashed_key);
    REQUIRE(c.columns.size() == 8);
    CHECK(c.columns[4].name == "nickname");
    CHECK(c.columns[4].type == relstore::column_type{relstore::column_kind::string, true});
    CHECK(c.columns[5].type == relstore::column_type{relstore::column_kind::int32, false});
    REQUIRE(c.indexes.size() == 5);
    CHECK(c.indexes[0].kind == relstore::index_kind::hashed_unique);
    CHECK(c.indexes[1].columns == std::vector<std::string>{"first", "last"});
    CHECK(c.indexes[3].kind == relstore::index_kind::ordered);
    CHECK(c.indexes[4].kind == relstore::index_kind::hashed);

    const auto& l = info.tables[2];
    CHECK(l.key == std::vector<std::string>{"order_no", "line_no"});
    CHECK_FALSE(l.auto_key);
    REQUIRE(l.foreign_keys.size() == 2);
    CHECK(l.foreign_keys[1].parent_table == "products");
    CHECK(l.foreign_keys[1].action == relstore::on_delete::restrict);
    CHECK(info.tables[3].hashed_key);
}

TEST_CASE("the auto key counter stops at the largest key instead of overflowing, and never hands it out",
          "[core][schema][key]") {
    shop::store db;
    auto tx = db.write();
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    const std::string exhausted =
        "tags.id: the auto key is exhausted: the next would be 9223372036854775807, the largest value of its type, "
        "which an auto key never takes (it would come back once that row is erased); give new rows explicit keys";
    SECTION("a row given the largest key") {
        CHECK(tx.insert(Tag{max, "last"}).id == max);
        refused_with(tx, errc::duplicate_key, "tags", "id", exhausted, [&] { tx.insert(Tag{0, "one more"}); });
        CHECK(tx.insert(Tag{5, "explicit keys still work"}).id == 5);
        SECTION("and erased: its key does not come back") {
            // The counter used to hand out the largest key once its row was gone.
            tx.erase<tags>(max);
            REQUIRE(tx.find<tags>(max) == nullptr);
            refused_with(tx, errc::duplicate_key, "tags", "id", exhausted, [&] { tx.insert(Tag{0, "one more"}); });
            tx.commit();
            auto again = db.write();
            refused_with(again, errc::duplicate_key, "tags", "id", exhausted,
                         [&] { again.insert(Tag{0, "one more"}); });
        }
    }
    SECTION("auto keys counted up to the largest") {
        CHECK(tx.insert(Tag{max - 1, "next to last"}).id == max - 1);
        refused_with(tx, errc::duplicate_key, "tags", "id", exhausted, [&] { tx.insert(Tag{0, "one more"}); });
    }
}

}  // namespace schema_test
