// Reading: get, find, where (index walk or scan), range, scan, first/count/
// exists, order_by, take/drop/reverse on every result, and std::ranges over results.
#include "checks.hpp"
#include "shop.hpp"

#include <algorithm>
#include <ranges>
#include <vector>

namespace read_test {

using namespace shop;
using relstore::errc;

// clang before 15 cannot compile libstdc++ 12's std::views over any range
// (std::vector included), which is why relstore's ranges have take(), drop()
// and reverse() of their own; where std::views compile, they compose too.
#if !defined(__clang__) || __clang_major__ >= 15
#define RELSTORE_TEST_STD_VIEWS 1
#endif

namespace {

/// The keys of a range of customers, in the order the range gives them.
template <class R>
std::vector<std::int64_t> ids(R&& rows) {
    std::vector<std::int64_t> out;
    for (const Customer& c : rows) out.push_back(c.id);
    return out;
}

template <class R>
std::vector<std::string> skus(R&& rows) {
    std::vector<std::string> out;
    for (const Product& p : rows) out.push_back(p.sku);
    return out;
}

struct filled {
    shop::store db;
    filled() { shop::fill(db); }
};

}  // namespace

TEST_CASE_METHOD(filled, "get returns the row with that key", "[core][read][get]") {
    auto q = db.read();
    const Customer& grace = q.get<customers>(3);
    CHECK(grace.email == "grace@x.org");
    CHECK(&q.get<customers>(3) == &grace);  // the stored row, not a copy
    CHECK(q.get<lines>(101, 1).sku == "T-1");
    CHECK(q.get<products>("T-1").name == "Teapot");
}

TEST_CASE_METHOD(filled, "get of an absent key throws not_found_error naming the table and key", "[core][read][get]") {
    auto q = db.read();
    auto expect = [&](auto call, const std::string& table, const std::string& message) {
        try {
            call();
            FAIL_CHECK("no exception");
        } catch (const relstore::not_found_error& e) {
            CHECK(e.table() == table);
            CHECK(e.code() == relstore::make_error_code(errc::not_found));
            CHECK(std::string(e.what()) == relstore_test::full_message(message, errc::not_found));
        }
    };
    SECTION("an integer key") {
        expect([&] { (void)q.get<customers>(99); }, "customers", "customers.id = 99 not found");
    }
    SECTION("a string key, given as a literal or a std::string") {
        expect([&] { (void)q.get<products>("Z-9"); }, "products", R"(products.sku = "Z-9" not found)");
        expect([&] { (void)q.get<products>(std::string("Z\"9")); }, "products", R"(products.sku = "Z\"9" not found)");
    }
    SECTION("a composite key") {
        expect([&] { (void)q.get<lines>(100, 9); }, "lines", "lines.(order_no, line_no) = (100, 9) not found");
    }
    SECTION("a hashed key") {
        expect([&] { (void)q.get<tags>(7); }, "tags", "tags.id = 7 not found");
    }
    SECTION("not_found_error is a relstore::error and a std::system_error") {
        CHECK_THROWS_AS(q.get<customers>(0), relstore::error);
        CHECK_THROWS_AS(q.get<customers>(0), std::system_error);
    }
}

TEST_CASE_METHOD(filled, "find returns a pointer to the row or null", "[core][read][find]") {
    auto q = db.read();
    SECTION("by primary key") {
        REQUIRE(q.find<customers>(2) != nullptr);
        CHECK(q.find<customers>(2) == &q.get<customers>(2));
        CHECK(q.find<customers>(5) == nullptr);
        CHECK(q.find<lines>(102, 1) == &q.get<lines>(102, 1));
        CHECK(q.find<lines>(102, 2) == nullptr);
        CHECK(q.find<tags>(2) == &q.get<tags>(2));
    }
    SECTION("by a hashed unique column") {
        CHECK(q.find<&Customer::email>("alan@x.org") == &q.get<customers>(2));
        CHECK(q.find<&Customer::email>(std::string("alan@x.org")) == &q.get<customers>(2));
        CHECK(q.find<&Customer::email>("nobody@x.org") == nullptr);
        CHECK(q.find<&Tag::label>("new") == &q.get<tags>(2));
    }
    SECTION("by an ordered unique column") {
        CHECK(q.find<&Product::name>("Pen") == &q.get<products>("P-2"));
        CHECK(q.find<&Product::name>("Quill") == nullptr);
    }
    SECTION("by a unique constraint on two columns") {
        CHECK(q.find<&Customer::first, &Customer::last>("Grace", "Hopper") == &q.get<customers>(3));
        CHECK(q.find<&Customer::first, &Customer::last>("Grace", "Turing") == nullptr);
    }
    SECTION("by a nullable unique column") {
        CHECK(q.find<&Customer::nickname>("ewd") == &q.get<customers>(4));
        CHECK(q.find<&Customer::nickname>("nobody") == nullptr);
        CHECK(q.find<&Product::barcode>(2001) == &q.get<products>("P-1"));
        CHECK(q.find<&Product::barcode>(9999) == nullptr);
    }
}

TEST_CASE_METHOD(filled, "where gives every row equal to a value", "[core][read][where]") {
    {
        auto tx = db.write();
        tx.insert(Customer{0, "e@x", "E", "E", std::nullopt, 41, "London", "math"});
        tx.commit();
    }
    auto q = db.read();
    SECTION("on a hashed index") {
        auto london = ids(q.where<&Customer::city>("London"));
        std::sort(london.begin(), london.end());
        CHECK(london == std::vector<std::int64_t>{1, 5});
        CHECK(q.where<&Customer::city>("Paris").empty());
    }
    SECTION("on an ordered index, equal rows in key order") {
        CHECK(ids(q.where<&Customer::age>(41)) == std::vector<std::int64_t>{2, 5});
        CHECK(q.where<&Customer::age>(40).empty());
    }
    SECTION("on the first column of a composite ordered index, in the order of the next column") {
        CHECK(skus(q.where<&Product::category>("books")) == std::vector<std::string>{"B-1", "B-2"});
        CHECK(skus(q.where<&Product::category>("office")) == std::vector<std::string>{"P-1", "P-2"});
        CHECK(q.where<&Product::category>("garden").empty());
    }
    SECTION("on all the columns of a composite ordered index") {
        CHECK(skus(q.where<&Product::category, &Product::price>("office", 300)) == std::vector<std::string>{"P-2"});
        CHECK(q.where<&Product::category, &Product::price>("office", 301).empty());
    }
    SECTION("on a unique column: zero or one row") {
        CHECK(q.where<&Customer::email>("grace@x.org").count() == 1);
        CHECK(q.where<&Customer::email>("nobody@x.org").count() == 0);
    }
    SECTION("on a column without an index: a scan, same answer") {
        CHECK(ids(q.where<&Customer::note>("math")) == std::vector<std::int64_t>{1, 4, 5});
        CHECK(ids(q.where<&Customer::note>(std::string(""))) == std::vector<std::int64_t>{2});
        CHECK(q.where<&Customer::note>("poetry").empty());
        CHECK(q.where<&Customer::note, &Customer::age>("math", 41).count() == 1);
    }
    SECTION("on a nullable column, null included") {
        auto nulls = ids(q.where<&Customer::nickname>(std::optional<std::string>{}));  // hashed: no order
        std::sort(nulls.begin(), nulls.end());
        CHECK(nulls == std::vector<std::int64_t>{2, 3, 5});
        CHECK(ids(q.where<&Customer::nickname>("countess")) == std::vector<std::int64_t>{1});
    }
    SECTION("on a foreign key") {
        CHECK(q.where<&Line::customer_id>(1).count() == 2);
        CHECK(q.where<&Line::sku>("T-1").count() == 1);
        CHECK(q.where<&Line::customer_id>(2).empty());
    }
}

TEST_CASE_METHOD(filled, "range gives the rows with lo <= value < hi, in order", "[core][read][range]") {
    auto q = db.read();
    SECTION("on a single-column ordered index") {
        CHECK(skus(q.range<&Product::price>(300, 2000)) == std::vector<std::string>{"P-2", "B-1", "T-1"});
        CHECK(skus(q.range<&Product::price>(0, 121)) == std::vector<std::string>{"P-1"});
        CHECK(skus(q.range<&Product::price>(2500, 2501)) == std::vector<std::string>{"B-2"});
        CHECK(ids(q.range<&Customer::age>(40, 80)) == std::vector<std::int64_t>{2, 4});
    }
    SECTION("the upper bound is excluded, the lower included") {
        CHECK(skus(q.range<&Product::price>(450, 1800)) == std::vector<std::string>{"B-1"});
    }
    SECTION("an empty interval gives nothing") {
        CHECK(q.range<&Product::price>(500, 500).empty());
        CHECK(q.range<&Product::price>(3000, 9000).empty());
    }
    SECTION("bounds given in the wrong order give nothing") {
        CHECK(q.range<&Product::price>(2000, 300).empty());
        CHECK(q.range<&Product::price>(2000, 300).count() == 0);
        CHECK(q.range<&Product::category>("office", "books").empty());
    }
    SECTION("on the first column of a composite ordered index") {
        CHECK(skus(q.range<&Product::category>("books", "office")) == std::vector<std::string>{"B-1", "B-2", "T-1"});
    }
    SECTION("on an ordered unique string column") {
        std::vector<std::string> names;
        for (const Product& p : q.range<&Product::name>("B", "P")) names.push_back(p.name);
        CHECK(names == std::vector<std::string>{"Notebook"});
    }
    SECTION("on a nullable column, nulls sort first and are outside any value range") {
        CHECK(skus(q.range<&Product::barcode>(1000, 2500)) == std::vector<std::string>{"B-1", "P-1"});
    }
}

TEST_CASE_METHOD(filled, "scan gives the rows a predicate accepts", "[core][read][scan]") {
    auto q = db.read();
    auto old = q.scan<customers>([](const Customer& c) { return c.age > 50; });
    CHECK(ids(old) == std::vector<std::int64_t>{3, 4});
    CHECK(old.count() == 2);
    REQUIRE(old.first() != nullptr);
    CHECK(old.first() == &q.get<customers>(3));
    auto none = q.scan<customers>([](const Customer& c) { return c.age > 100; });
    CHECK(none.empty());
    CHECK(none.first() == nullptr);
    CHECK(none.count() == 0);
    CHECK(q.scan<lines>([](const Line& l) { return l.qty > 1; }).count() == 2);
}

TEST_CASE_METHOD(filled, "first, count and exists answer without copying", "[core][read]") {
    auto q = db.read();
    CHECK(q.count<customers>() == 4);
    CHECK(q.count<products>() == 5);
    CHECK(q.count<lines>() == 4);
    CHECK(q.count<tags>() == 2);
    CHECK(q.where<&Customer::city>("London").first() == &q.get<customers>(1));
    CHECK(q.where<&Customer::city>("Paris").first() == nullptr);
    CHECK(q.where<&Product::category>("office").first() == &q.get<products>("P-1"));
    CHECK(q.where<&Line::customer_id>(1).count() == 2);
    CHECK(q.exists<&Customer::city>("Nuenen"));
    CHECK_FALSE(q.exists<&Customer::city>("Paris"));
    CHECK(q.exists<&Customer::note>("navy"));  // unindexed
    CHECK_FALSE(q.exists<&Customer::note>("army"));
    CHECK(q.exists<&Product::price>(1800));
    CHECK(q.exists<&Customer::first, &Customer::last>("Alan", "Turing"));
    CHECK_FALSE(q.exists<&Customer::first, &Customer::last>("Alan", "Hopper"));
    shop::store empty;
    CHECK(empty.read().count<customers>() == 0);
    CHECK(empty.read().all<customers>().empty());
}

TEST_CASE("a range read from a temporary read scope holds the scope for its own life", "[core][read][scope]") {
    // In C++20 a range-for ends the temporaries of its range expression
    // before the loop runs: `for (... : db.read().all<T>())` walked rows
    // under no scope, which a writer on another thread could free.
    const bool never_wait = GENERATE(false, true);
    shop::store db(relstore::store_options{.readers_never_wait = never_wait});
    shop::fill(db);
    // A write() on a thread that holds a read scope is refused (it would
    // wait for itself): the sign that the scope is still held.
    SECTION("each query's range in a range-for") {
        std::vector<std::size_t> walked;
        std::size_t refused = 0, rows = 0;
        // The loop must be written out here: a range passed to a function
        // keeps its temporary scope for the whole call.
#define RELSTORE_TEST_WALK(range_expr)                           \
    {                                                            \
        std::size_t n = 0;                                       \
        for (const auto& row : range_expr) {                     \
            (void)row;                                           \
            ++n;                                                 \
            refused += relstore_test::write_refused(db) ? 1 : 0; \
        }                                                        \
        walked.push_back(n);                                     \
        rows += n;                                               \
    }
        RELSTORE_TEST_WALK(db.read().all<customers>())
        RELSTORE_TEST_WALK(db.read().where<&Customer::city>("Nuenen"))
        RELSTORE_TEST_WALK(db.read().range<&Customer::age>(40, 80))
        RELSTORE_TEST_WALK(db.read().order_by<&Customer::age>())
        RELSTORE_TEST_WALK(db.read().scan<customers>([](const Customer& c) { return c.age > 40; }))
        RELSTORE_TEST_WALK(db.read().children<&Line::customer_id>(std::int64_t{1}))
        RELSTORE_TEST_WALK(db.read().with_children<&Line::customer_id>())
        RELSTORE_TEST_WALK(db.read().without_children<&Line::customer_id>())
        RELSTORE_TEST_WALK(db.read().with_parent<&Line::customer_id>([](const Customer& c) { return c.id == 1; }))
#undef RELSTORE_TEST_WALK
        auto q = db.read();
        CHECK(walked == std::vector<std::size_t>{
                            q.count<customers>(), q.where<&Customer::city>("Nuenen").count(),
                            q.range<&Customer::age>(40, 80).count(), q.count<customers>(),
                            q.scan<customers>([](const Customer& c) { return c.age > 40; }).count(),
                            q.children<&Line::customer_id>(std::int64_t{1}).count(),
                            q.with_children<&Line::customer_id>().count(),
                            q.without_children<&Line::customer_id>().count(),
                            q.with_parent<&Line::customer_id>([](const Customer& c) { return c.id == 1; }).count()});
        CHECK(rows > 0);
        CHECK(refused == rows);
    }
    SECTION("kept in a variable, the range holds the scope until it is destroyed") {
        {
            auto older = db.read().order_by<&Customer::age>();
            CHECK(relstore_test::write_refused(db));
            CHECK(older.reverse().first()->age == 85);  // on a named range, take/drop/reverse are plain views
            CHECK(older.drop(1).take(1).first()->age == 41);
        }
        CHECK_FALSE(relstore_test::write_refused(db));
    }
    SECTION("within one expression, as before") {
        CHECK(db.read().where<&Customer::city>("Nuenen").first()->first == "Edsger");
        CHECK(db.read().all<customers>().count() == 4);
        CHECK_FALSE(relstore_test::write_refused(db));
    }
    SECTION("a range of a temporary write transaction is a usage_error; it rolls back and lets go") {
        std::string what = "(no usage_error)";
        try {
            (void)db.write().all<customers>();
        } catch (const relstore::usage_error& e) {
            what = e.what();
        }
        CHECK_THAT(what, Catch::StartsWith("relstore: a range read from a temporary write transaction would outlive"));
        CHECK_FALSE(relstore_test::write_refused(db));
    }
}

TEST_CASE_METHOD(filled, "order_by walks an ordered index, with offset, limit and reverse", "[core][read][order]") {
    auto q = db.read();
    // ages: 1:36, 2:41, 3:85, 4:72
    CHECK(ids(q.order_by<&Customer::age>()) == std::vector<std::int64_t>{1, 2, 4, 3});
    SECTION("offset and limit are drop(n) and take(n)") {
        CHECK(ids(q.order_by<&Customer::age>().drop(1).take(2)) == std::vector<std::int64_t>{2, 4});
        CHECK(ids(q.order_by<&Customer::age>().take(10)) == std::vector<std::int64_t>{1, 2, 4, 3});
        CHECK(ids(q.order_by<&Customer::age>().drop(4)).empty());
        CHECK(ids(q.order_by<&Customer::age>().drop(9)).empty());
        CHECK(q.order_by<&Customer::age>().take(0).empty());
    }
    SECTION("descending is reverse()") {
        CHECK(ids(q.order_by<&Customer::age>().reverse()) == std::vector<std::int64_t>{3, 4, 2, 1});
        CHECK(ids(q.order_by<&Customer::age>().reverse().take(1)) == std::vector<std::int64_t>{3});
        CHECK(ids(q.order_by<&Customer::age>().reverse().reverse()) == std::vector<std::int64_t>{1, 2, 4, 3});
    }
    SECTION("the three chain in any order") {
        // take then reverse: the first n, last first; reverse then take: the last n.
        CHECK(ids(q.order_by<&Customer::age>().take(3).reverse()) == std::vector<std::int64_t>{4, 2, 1});
        CHECK(ids(q.order_by<&Customer::age>().drop(1).reverse().drop(1)) == std::vector<std::int64_t>{4, 2});
        CHECK(ids(q.order_by<&Customer::age>().reverse().drop(1).take(2).reverse()) ==
              std::vector<std::int64_t>{2, 4});
        CHECK(ids(q.order_by<&Customer::age>().take(3).drop(1).take(1)) == std::vector<std::int64_t>{2});
    }
    SECTION("by an ordered unique column and by the first column of a composite index") {
        CHECK(skus(q.order_by<&Product::name>()) == std::vector<std::string>{"B-2", "B-1", "P-2", "P-1", "T-1"});
        CHECK(skus(q.order_by<&Product::category>()) == std::vector<std::string>{"B-1", "B-2", "T-1", "P-1", "P-2"});
        CHECK(skus(q.order_by<&Product::price>().reverse().drop(1).take(2)) == std::vector<std::string>{"T-1", "B-1"});
    }
    SECTION("range results compose the same way") {
        CHECK(skus(q.range<&Product::price>(100, 2000).reverse()) ==
              std::vector<std::string>{"T-1", "B-1", "P-2", "P-1"});
        CHECK(skus(q.range<&Product::price>(100, 2000).drop(1).take(2)) == std::vector<std::string>{"P-2", "B-1"});
    }
}

TEST_CASE_METHOD(filled, "take, drop and reverse keep first, count and empty, and give ranges of the same kind",
                 "[core][read][ranges]") {
    auto q = db.read();
    auto by_age = q.order_by<&Customer::age>();  // 1, 2, 4, 3
    // A page of a result is the same type as the result, so one variable holds either.
    static_assert(std::is_same_v<decltype(by_age.take(2)), decltype(by_age)>);
    static_assert(std::is_same_v<decltype(by_age.drop(2)), decltype(by_age)>);
    static_assert(std::is_same_v<decltype(by_age.reverse().reverse()), decltype(by_age)>);
    using reversed = decltype(by_age.reverse());
    static_assert(std::ranges::view<reversed> && std::ranges::bidirectional_range<reversed> &&
                  std::ranges::borrowed_range<reversed>);
    static_assert(std::is_same_v<std::ranges::range_reference_t<reversed>, const Customer&>);

    CHECK(by_age.reverse().first() == &q.get<customers>(3));
    CHECK(&by_age.reverse().front() == &q.get<customers>(3));
    CHECK(by_age.drop(1).first() == &q.get<customers>(2));
    CHECK(by_age.drop(4).first() == nullptr);
    CHECK(by_age.take(2).count() == 2);
    CHECK(by_age.reverse().drop(3).count() == 1);
    CHECK(by_age.drop(10).empty());
    CHECK_FALSE(by_age.take(1).empty());
    CHECK(ids(by_age) == std::vector<std::int64_t>{1, 2, 4, 3});  // the original is unchanged

    SECTION("where() through an ordered index, and through a hashed one (no order to reverse)") {
        // (category, price) orders the books by price.
        CHECK(skus(q.where<&Product::category>("books").reverse()) == std::vector<std::string>{"B-2", "B-1"});
        CHECK(skus(q.where<&Product::category>("books").drop(1)) == std::vector<std::string>{"B-2"});
        CHECK(q.where<&Customer::city>("London").take(1).first() == &q.get<customers>(1));
        CHECK(q.where<&Customer::city>("London").drop(1).empty());
        CHECK(q.all<tags>().take(1).count() == 1);
        CHECK(q.all<tags>().drop(1).count() == 1);
    }
    SECTION("scans: a filter on an unindexed column, and scan()") {
        auto math = q.where<&Customer::note>("math");  // 1 and 4, in key order
        static_assert(std::is_same_v<decltype(math.take(1)), decltype(math)>);
        static_assert(std::is_same_v<decltype(math.drop(1)), decltype(math)>);
        CHECK(ids(math.take(1)) == std::vector<std::int64_t>{1});
        CHECK(ids(math.drop(1)) == std::vector<std::int64_t>{4});
        CHECK(ids(math.reverse()) == std::vector<std::int64_t>{4, 1});
        CHECK(ids(math.take(1).reverse()) == std::vector<std::int64_t>{1});
        CHECK(ids(math.reverse().take(1)) == std::vector<std::int64_t>{4});
        CHECK(math.drop(2).empty());
        CHECK(math.take(0).first() == nullptr);

        auto older = q.scan<customers>([](const Customer& c) { return c.age > 40; });  // 2, 3, 4
        CHECK(ids(older.drop(1).take(1)) == std::vector<std::int64_t>{3});
        CHECK(ids(older.take(2).reverse()) == std::vector<std::int64_t>{3, 2});
        CHECK(ids(older.drop(1).reverse()) == std::vector<std::int64_t>{4, 3});
        CHECK(ids(older.take(2).drop(1)) == std::vector<std::int64_t>{3});
        CHECK(ids(older.reverse().drop(1).take(5)) == std::vector<std::int64_t>{3, 2});
        CHECK(ids(older.take(2).reverse().reverse()) == std::vector<std::int64_t>{2, 3});
        CHECK(older.take(2).count() == 2);
        CHECK(older.drop(1).take(5).count() == 2);
        CHECK(older.take(2).drop(1).first() == &q.get<customers>(3));
        CHECK(q.scan<tags>([](const Tag&) { return true; }).take(1).count() == 1);
    }
    SECTION("take(n) on a scan stops at the nth match") {
        std::size_t tested = 0;
        auto older = q.scan<customers>([&tested](const Customer& c) {
            ++tested;
            return c.age > 40;
        });
        auto first_two = older.take(2);
        CHECK(tested == 0);  // lazy: nothing is scanned until it is read
        CHECK(ids(first_two) == std::vector<std::int64_t>{2, 3});
        CHECK(tested == 3);  // 1 (no), 2, 3; never 4
    }
    SECTION("a negative count is a usage error") {
        const int minus_one = -1;
        CHECK_THROWS_WITH(by_age.take(minus_one), "relstore: take(n) needs n >= 0, and was given -1");
        CHECK_THROWS_AS(by_age.drop(minus_one), relstore::usage_error);
        CHECK_THROWS_AS(q.where<&Customer::note>("math").take(minus_one), relstore::usage_error);
        CHECK(ids(by_age.take(std::int8_t{2})) == std::vector<std::int64_t>{1, 2});
    }
}

TEST_CASE_METHOD(filled, "rows with equal values in an ordered index come in key order", "[core][read][order]") {
    {
        auto tx = db.write();
        // Inserted out of key order, and one row re-inserted after an erase.
        tx.insert(Customer{9, "i@x", "I", "I", std::nullopt, 41, "c", ""});
        tx.insert(Customer{7, "g@x", "G", "G", std::nullopt, 41, "c", ""});
        tx.insert(Customer{8, "h@x", "H", "H", std::nullopt, 41, "c", ""});
        tx.erase<customers>(2);
        tx.insert(Customer{2, "alan@x.org", "Alan", "Turing", std::nullopt, 41, "Wilmslow", ""});
        tx.commit();
    }
    auto q = db.read();
    CHECK(ids(q.where<&Customer::age>(41)) == std::vector<std::int64_t>{2, 7, 8, 9});
    CHECK(ids(q.order_by<&Customer::age>()) == std::vector<std::int64_t>{1, 2, 7, 8, 9, 4, 3});
    CHECK(ids(q.range<&Customer::age>(41, 42).reverse()) == std::vector<std::int64_t>{9, 8, 7, 2});
}

TEST_CASE_METHOD(filled, "results work with std::ranges algorithms and refer to the stored rows", "[core][read][ranges]") {
    auto q = db.read();
    auto by_age = q.order_by<&Customer::age>();
    static_assert(std::ranges::view<decltype(by_age)>);
    static_assert(std::ranges::bidirectional_range<decltype(by_age)>);
    static_assert(std::is_same_v<std::ranges::range_reference_t<decltype(by_age)>, const Customer&>);
    auto math = q.where<&Customer::note>("math");
    static_assert(std::ranges::forward_range<decltype(math)>);
    static_assert(std::is_same_v<std::ranges::range_reference_t<decltype(math)>, const Customer&>);
    // Both are views: they compose with std::views adaptors, temporaries included.
    static_assert(std::ranges::view<decltype(math)>);
    static_assert(std::ranges::borrowed_range<decltype(by_age)>);

    SECTION("find_if, max_element and min_element return iterators to the stored rows") {
        auto it = std::ranges::find_if(by_age, [](const Customer& c) { return c.city == "Nuenen"; });
        REQUIRE(it != by_age.end());
        CHECK(&*it == &q.get<customers>(4));
        CHECK(&*std::ranges::max_element(q.all<customers>(), {}, &Customer::age) == &q.get<customers>(3));
        CHECK(&*std::ranges::min_element(q.all<products>(), {}, &Product::price) == &q.get<products>("P-1"));
        CHECK(&*std::ranges::find(math, "edsger@x.org", &Customer::email) == &q.get<customers>(4));
    }
    SECTION("count_if, any_of and views compose over the rows") {
        CHECK(std::ranges::count_if(q.all<customers>(), [](const Customer& c) { return c.nickname.has_value(); }) == 2);
        CHECK(std::ranges::any_of(q.where<&Product::category>("books"), [](const Product& p) { return p.price > 1000; }));
        CHECK(std::ranges::count_if(by_age.reverse().take(2), [](const Customer& c) { return c.age > 80; }) == 1);
#if RELSTORE_TEST_STD_VIEWS
        std::vector<const Customer*> seen;
        for (const Customer& c : by_age | std::views::filter([](const Customer& c) { return c.age > 40; }))
            seen.push_back(&c);
        CHECK(seen == std::vector<const Customer*>{&q.get<customers>(2), &q.get<customers>(4), &q.get<customers>(3)});
        auto emails = q.where<&Customer::note>("math") | std::views::transform(&Customer::email);
        CHECK(std::vector<std::string>(emails.begin(), emails.end()) ==
              std::vector<std::string>{"ada@x.org", "edsger@x.org"});
        // Code written against std::views before relstore had take/drop/reverse keeps working.
        CHECK(ids(q.order_by<&Customer::age>() | std::views::reverse | std::views::drop(1) | std::views::take(2)) ==
              std::vector<std::int64_t>{4, 2});
#endif
    }
    SECTION("range-for binds references to the stored rows, scans included") {
        std::vector<const Customer*> addresses;
        for (const Customer& c : q.scan<customers>([](const Customer&) { return true; })) addresses.push_back(&c);
        REQUIRE(addresses.size() == 4);
        for (const Customer* c : addresses) CHECK(c == q.find<customers>(c->id));
    }
    SECTION("a loop of lookups runs inside one read scope") {
        std::int64_t total = 0;
        for (const Line& l : q.all<lines>()) total += q.get<products>(l.sku).price * l.qty;
        CHECK(total == 450 * 2 + 120 * 10 + 1800 + 2500);
    }
}

}  // namespace read_test
