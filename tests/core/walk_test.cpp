// Writing a table while walking a range of it: the walk's next step is a
// usage_error naming the index, never a skipped or repeated row or a freed
// node; writes that cannot move a row in the walked index are allowed.
#include "checks.hpp"
#include "shop.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace walk_test {

using namespace shop;

namespace {

struct filled {
    shop::store db;
    filled() { shop::fill(db); }
};

/// The message of the usage_error that walking r to its end throws, or
/// "(walked to the end)" after visiting `visited` rows. Stops after 100
/// rows: unchecked, a walk that inserts ahead of itself never ends.
template <class Range>
std::string walk_error(const Range& r, const std::function<void(const typename Range::value_type&)>& each,
                       int& visited) {
    visited = 0;
    try {
        for (const auto& row : r) {
            if (++visited > 100) return "(the walk did not end)";
            each(row);
        }
    } catch (const relstore::usage_error& e) {
        return e.what();
    }
    return "(walked to the end)";
}

}  // namespace

TEST_CASE_METHOD(filled, "erasing rows while walking a range of their table is a usage_error at the next step",
                 "[misuse][walk]") {
    auto tx = db.write();
    int visited = 0;
    const auto msg = walk_error(tx.all<tags>(), [&](const Tag& t) { tx.erase(t); }, visited);
    CHECK(visited == 1);
    CHECK_THAT(msg, Catch::Contains("tags.id") && Catch::Contains("collect the rows first"));
    // The erase that came before the step took effect; the transaction is usable.
    CHECK(tx.count<tags>() == 1);
    tx.insert(Tag{0, "again"});
    CHECK(tx.count<tags>() == 2);
    tx.rollback();
    CHECK(db.read().count<tags>() == 2);
}

TEST_CASE_METHOD(filled, "setting the column an order_by walks, during the walk, is a usage_error",
                 "[misuse][walk]") {
    auto tx = db.write();
    int visited = 0;
    SECTION("forwards") {
        const auto msg = walk_error(
            tx.order_by<&Product::price>(), [&](const Product& p) { tx.set<&Product::price>(p, p.price + 10000); },
            visited);
        CHECK(visited == 1);  // without the check: 1 of 5, the row moved behind the walk's end
        CHECK_THAT(msg, Catch::Contains("products.price"));
    }
    SECTION("backwards") {
        const auto msg = walk_error(
            tx.order_by<&Product::price>().reverse(),
            [&](const Product& p) { tx.set<&Product::price>(p, p.price - 10000); }, visited);
        CHECK(visited == 1);
        CHECK_THAT(msg, Catch::Contains("products.price"));
    }
    SECTION("by update()") {
        const auto msg = walk_error(
            tx.range<&Product::price>(0, 1000),
            [&](const Product& p) { tx.update(p, [](Product& x) { x.price += 5000; }); }, visited);
        CHECK(visited == 1);
        CHECK_THAT(msg, Catch::Contains("products.price"));
    }
}

TEST_CASE_METHOD(filled, "inserting into a table while walking a hashed range of it is a usage_error",
                 "[misuse][walk]") {
    auto tx = db.write();
    int visited = 0;
    int n = 0;
    const auto msg =
        walk_error(tx.all<tags>(), [&](const Tag&) { tx.insert(Tag{0, "t" + std::to_string(n++)}); }, visited);
    CHECK(visited == 1);
    CHECK_THAT(msg, Catch::Contains("tags.id"));
    CHECK(tx.count<tags>() == 3);
}

TEST_CASE_METHOD(filled, "a refused insert also ends a walk: a hashed index may have grown for it",
                 "[misuse][walk]") {
    auto tx = db.write();
    auto r = tx.where<&Tag::label>("sale");
    CHECK_THROWS_AS(tx.insert(Tag{0, "sale"}), relstore::constraint_error);
    CHECK_THROWS_WITH(r.count(), Catch::Contains("tags.label"));
}

TEST_CASE_METHOD(filled, "a savepoint rolled back under a walk ends it: the row the walk stands on is freed",
                 "[misuse][walk]") {
    auto tx = db.write();
    std::optional<decltype(tx.order_by<&Product::price>())> walk;
    decltype(walk->begin()) at;
    {
        auto sp = tx.savepoint();
        tx.insert(Product{"Z-1", "Zither", "music", 99999, std::nullopt});
        walk = tx.order_by<&Product::price>();
        at = walk->begin();
        for (int i = 0; i < 5; ++i) ++at;  // the sixth by price
        CHECK(at->sku == "Z-1");
        sp.rollback();  // frees Zither's node
    }
    // Without the check, reading *at reads freed memory (AddressSanitizer).
    CHECK_THROWS_WITH(at->sku, Catch::Contains("products.price") && Catch::Contains("savepoint rolled back"));
    CHECK_THROWS_AS(++at, relstore::usage_error);
    CHECK(tx.order_by<&Product::price>().count() == 5);
}

TEST_CASE_METHOD(filled, "a range made before a write to its index and walked after it is refused at its first row",
                 "[misuse][walk]") {
    auto tx = db.write();
    auto books = tx.where<&Product::category>("books");  // the ordered (category, price) index
    auto lines_of_ada = tx.children<&Line::customer_id>(1);
    tx.insert(Product{"B-3", "Dictionary", "books", 3900, std::nullopt});
    CHECK_THROWS_WITH(books.first(), Catch::Contains("products.(category, price)"));
    CHECK_THROWS_AS(books.count(), relstore::usage_error);
    // A range of another table is untouched by it.
    CHECK(lines_of_ada.count() == 2);
    // A fresh range sees the new row.
    CHECK(tx.where<&Product::category>("books").count() == 3);
}

TEST_CASE_METHOD(filled, "writes that cannot move a row in the walked index leave the walk going",
                 "[misuse][walk]") {
    auto tx = db.write();
    int visited = 0;
    SECTION("a column outside the index, by set and by update") {
        CHECK(walk_error(
                  tx.children<&Line::customer_id>(1),
                  [&](const Line& l) {
                      tx.set<&Line::qty>(l, l.qty + 1);  // indexed by ordered<qty>, not by the walked key
                      tx.update(l, [](Line& x) { x.line_no = x.line_no; });
                  },
                  visited) == "(walked to the end)");
        CHECK(visited == 2);
        CHECK(tx.get<lines>(100, 1).qty == 3);
        CHECK(tx.get<lines>(100, 2).qty == 11);
    }
    SECTION("an unindexed column during a scan") {
        CHECK(walk_error(tx.where<&Customer::note>("math"),
                         [&](const Customer& c) {
                             tx.set<&Customer::note>(c, "logic");
                             tx.set<&Customer::age>(c, c.age + 1);  // ordered<age>: not the scanned key index
                         },
                         visited) == "(walked to the end)");
        CHECK(visited == 2);
        CHECK(tx.where<&Customer::note>("logic").count() == 2);
    }
    SECTION("another table") {
        CHECK(walk_error(
                  tx.order_by<&Product::price>(), [&](const Product& p) { tx.insert(Tag{0, p.sku}); }, visited) ==
              "(walked to the end)");
        CHECK(visited == 5);
        CHECK(tx.count<tags>() == 7);
    }
    SECTION("a write to the walked column that keeps its value") {
        CHECK(walk_error(
                  tx.order_by<&Product::price>(), [&](const Product& p) { tx.set<&Product::price>(p, p.price); },
                  visited) == "(walked to the end)");
        CHECK(visited == 5);
    }
}

TEST_CASE_METHOD(filled, "collecting first, then writing, is the way: every row is reached once", "[walk]") {
    auto tx = db.write();
    std::vector<const Product*> cheap;
    for (const Product& p : tx.order_by<&Product::price>()) cheap.push_back(&p);
    for (const Product* p : cheap) tx.set<&Product::price>(*p, p->price * 2);
    std::vector<std::int64_t> prices;
    for (const Product& p : tx.order_by<&Product::price>()) prices.push_back(p.price);
    CHECK(prices == std::vector<std::int64_t>{240, 600, 900, 3600, 5000});
    // Erasing by collected keys, as the README says.
    std::vector<std::int64_t> ids;
    for (const Tag& t : tx.all<tags>()) ids.push_back(t.id);
    for (auto id : ids) CHECK(tx.erase<tags>(id) == 1);
    CHECK(tx.count<tags>() == 0);
}

TEST_CASE_METHOD(filled, "a read scope's ranges are unaffected: nothing writes what it reads", "[walk]") {
    auto q = db.read();
    int n = 0;
    for (const Product& p : q.order_by<&Product::price>().reverse()) n += p.price > 0;
    CHECK(n == 5);
    CHECK(q.where<&Customer::note>("math").count() == 2);
}

}  // namespace walk_test
