// Writing: insert, insert_many, update, erase by row and by key, clear; and
// the promise that references to stored rows stay valid until erased.
#include "checks.hpp"
#include "shop.hpp"

#include <array>
#include <list>
#include <ranges>
#include <vector>

namespace write_test {

using namespace shop;
using relstore::errc;
using relstore_test::capture;
using relstore_test::check_consistent;
using relstore_test::diff;
using relstore_test::refused_with;

namespace {

struct filled {
    shop::store db;
    filled() { shop::fill(db); }
};

Customer person(const std::string& name, std::int32_t age = 30, const std::string& city = "Oslo") {
    return Customer{0, name + "@x.org", name, "Doe", std::nullopt, age, city, ""};
}

}  // namespace

TEST_CASE_METHOD(filled, "insert returns the stored row, with its assigned key", "[core][write][insert]") {
    auto tx = db.write();
    const Customer& c = tx.insert(person("Zoe"));
    CHECK(c.id == 5);
    CHECK(&tx.get<customers>(5) == &c);
    CHECK(tx.find<&Customer::email>("Zoe@x.org") == &c);
    CHECK(tx.where<&Customer::city>("Oslo").first() == &c);
    CHECK(tx.count<customers>() == 5);
    SECTION("the inserted row is visible to readers only after commit") {
        tx.commit();
        CHECK(db.read().get<customers>(5).first == "Zoe");
    }
    SECTION("and gone after rollback") {
        tx.rollback();
        CHECK(db.read().find<customers>(5) == nullptr);
    }
}

TEST_CASE_METHOD(filled, "insert_many inserts every row of a range and returns how many", "[core][write][insert]") {
    auto tx = db.write();
    SECTION("from a vector") {
        std::vector<Customer> batch{person("A"), person("B"), person("C")};
        CHECK(tx.insert_many(batch) == 3);
        CHECK(tx.count<customers>() == 7);
        CHECK(tx.get<customers>(7).first == "C");
        // Rows given by reference are copied, never moved from.
        CHECK(batch[0].email == "A@x.org");
        CHECK(batch[2].first == "C");
    }
    SECTION("from a list and from a view") {
        std::list<Tag> tags_in{{0, "x"}, {0, "y"}};
        CHECK(tx.insert_many(tags_in) == 2);
        const auto gadget = [](int i) {
            return Product{"G-" + std::to_string(i), "Gadget " + std::to_string(i), "gadgets", i * 10, std::nullopt};
        };
#if !defined(__clang__) || __clang_major__ >= 15  // clang 14 cannot compile libstdc++ 12's std::views
        auto generated = std::views::iota(0, 4) | std::views::transform(gadget);
#else
        std::vector<Product> generated;
        for (int i = 0; i < 4; ++i) generated.push_back(gadget(i));
#endif
        CHECK(tx.insert_many(generated) == 4);
        CHECK(tx.where<&Product::category>("gadgets").count() == 4);
    }
    SECTION("an empty range inserts nothing") {
        CHECK(tx.insert_many(std::vector<Customer>{}) == 0);
        CHECK(tx.count<customers>() == 4);
    }
    SECTION("rows may reference rows inserted earlier in the same batch") {
        std::vector<Line> batch{{200, 1, 2, "P-2", 1}, {200, 2, 2, "P-2", 2}};
        CHECK(tx.insert_many(batch) == 2);
        CHECK(tx.where<&Line::customer_id>(2).count() == 2);
    }
    tx.commit();
    CHECK(check_consistent(capture(db.read())) == "");
}

namespace {

// A single-pass range of tags that does not know its size, so that
// insert_many neither reserves nor can go back: "label 0", "label 1", ...,
// with "sale" (a stored tag's label) at position clash_at, if given.
class tag_source {
public:
    explicit tag_source(int n, int clash_at = -1) : n_(n), clash_at_(clash_at) {}
    struct iterator {
        using value_type = Tag;
        using difference_type = std::ptrdiff_t;
        tag_source* src;
        Tag operator*() const {
            ++src->reads;
            return Tag{0, src->i_ == src->clash_at_ ? std::string("sale") : "label " + std::to_string(src->i_)};
        }
        iterator& operator++() {
            ++src->i_;
            return *this;
        }
        void operator++(int) { ++*this; }
        bool operator==(std::default_sentinel_t) const { return src->i_ == src->n_; }
    };
    iterator begin() { return {this}; }
    std::default_sentinel_t end() { return {}; }
    int reads = 0;

private:
    int i_ = 0;
    int n_;
    int clash_at_;
};
static_assert(std::ranges::input_range<tag_source> && !std::ranges::forward_range<tag_source> &&
              !std::ranges::sized_range<tag_source>);

// The read-ahead holds 16 rows on the stack: only rows small enough for it.
struct large_row {
    std::int64_t id{};
    std::array<char, 4096> inline_bytes{};
};
static_assert(relstore::detail::insert_many_reads_ahead<Customer> && relstore::detail::insert_many_reads_ahead<Tag>);
static_assert(!relstore::detail::insert_many_reads_ahead<large_row>);

}  // namespace

// insert_many reads a range a few rows ahead of its inserts (to prefetch
// where each row goes); every row still goes in once, in the range's order.
TEST_CASE_METHOD(filled, "insert_many of a long single-pass range inserts each row once, in order",
                 "[core][write][insert]") {
    auto tx = db.write();
    const std::int64_t first_id = tx.insert(Tag{0, "before"}).id + 1;
    const std::size_t stored = tx.count<tags>();
    SECTION("rows beyond the read-ahead, the indexes growing meanwhile") {
        tag_source src(3000);
        CHECK(tx.insert_many(src) == 3000);
        CHECK(src.reads == 3000);
        for (int i = 0; i < 3000; ++i) {
            const Tag* t = tx.find<&Tag::label>("label " + std::to_string(i));
            REQUIRE(t != nullptr);
            CHECK(t->id == first_id + i);
        }
        CHECK(tx.count<tags>() == stored + 3000);
    }
    SECTION("fewer rows than the read-ahead") {
        tag_source src(3);
        CHECK(tx.insert_many(src) == 3);
        CHECK(tx.get<tags>(first_id + 2).label == "label 2");
        CHECK(tx.count<tags>() == stored + 3);
    }
    SECTION("a clash far into the range refuses all of it") {
        tag_source src(3000, 1500);
        refused_with(tx, errc::unique_violation, "tags", "label", R"(tags.label = "sale" already exists)",
                     [&] { tx.insert_many(src); });
        CHECK(tx.insert(Tag{0, "after"}).id == first_id);
    }
    tx.commit();
    CHECK(check_consistent(capture(db.read())) == "");
}

TEST_CASE_METHOD(filled, "insert_many is all or nothing", "[core][write][insert][constraint]") {
    auto tx = db.write();
    SECTION("a duplicate within the batch refuses the whole batch") {
        std::vector<Customer> batch{person("A"), person("B"), person("A")};
        refused_with(tx, errc::unique_violation, "customers", "email", R"(customers.email = "A@x.org" already exists)",
                     [&] { tx.insert_many(batch); });
    }
    SECTION("a clash with a stored row refuses the whole batch") {
        std::vector<Tag> batch{{0, "a"}, {0, "b"}, {0, "sale"}, {0, "c"}};
        refused_with(tx, errc::unique_violation, "tags", "label", R"(tags.label = "sale" already exists)",
                     [&] { tx.insert_many(batch); });
    }
    SECTION("a broken foreign key refuses the whole batch") {
        std::vector<Line> batch{{200, 1, 2, "P-2", 1}, {200, 2, 9, "P-2", 2}};
        refused_with(tx, errc::foreign_key_violation, "lines", "customer_id",
                     "lines.customer_id = 9 references no row in customers", [&] { tx.insert_many(batch); });
    }
    // The transaction is still usable, and the next auto key is unchanged.
    CHECK(tx.insert(person("Z")).id == 5);
    tx.commit();
    CHECK(db.read().count<customers>() == 5);
}

TEST_CASE_METHOD(filled, "update changes a row through a function and keeps every index right", "[core][write][update]") {
    auto tx = db.write();
    const Customer& ada = tx.get<customers>(1);
    const Customer& result = tx.update(ada, [](Customer& c) {
        c.email = "ada@lovelace.org";  // hashed unique
        c.last = "King";               // part of a two-column unique
        c.nickname = "enchantress";    // nullable unique
        c.age = 90;                    // ordered
        c.city = "Paris";              // hashed
        c.note = "poet";               // no index
    });
    CHECK(&result == &ada);  // updated in place: references stay valid
    CHECK(ada.email == "ada@lovelace.org");
    CHECK(tx.find<&Customer::email>("ada@lovelace.org") == &ada);
    CHECK(tx.find<&Customer::email>("ada@x.org") == nullptr);
    CHECK(tx.find<&Customer::first, &Customer::last>("Ada", "King") == &ada);
    CHECK(tx.find<&Customer::first, &Customer::last>("Ada", "Lovelace") == nullptr);
    CHECK(tx.find<&Customer::nickname>("enchantress") == &ada);
    CHECK(tx.find<&Customer::nickname>("countess") == nullptr);
    CHECK(tx.where<&Customer::age>(36).empty());
    CHECK(tx.where<&Customer::age>(90).first() == &ada);
    CHECK(tx.order_by<&Customer::age>().reverse().begin()->id == 1);
    CHECK(tx.where<&Customer::city>("London").empty());
    CHECK(tx.where<&Customer::city>("Paris").first() == &ada);
    CHECK(tx.where<&Customer::note>("poet").first() == &ada);
    CHECK(check_consistent(capture(tx)) == "");

    SECTION("the freed unique values can be taken by another row") {
        CHECK(tx.insert(Customer{0, "ada@x.org", "Ada", "Lovelace", "countess", 1, "c", ""}).id == 5);
    }
    SECTION("an update that changes nothing is allowed") {
        CHECK(&tx.update(ada, [](Customer&) {}) == &ada);
    }
    SECTION("update by key") {
        const Customer& alan = tx.update<customers>(2, [](Customer& c) { c.age += 1; });
        CHECK(alan.age == 42);
        // A composite key: update the row get() finds.
        CHECK(&tx.update(tx.get<lines>(100, 2), [](Line& l) { l.qty = 3; }) == &tx.get<lines>(100, 2));
        CHECK(tx.get<lines>(100, 2).qty == 3);
        CHECK(tx.update<products>("B-2", [](Product& p) { p.barcode = 42; }).barcode == 42);
        CHECK(tx.find<&Product::barcode>(42) == &tx.get<products>("B-2"));
    }
    SECTION("an update may point a foreign key at another existing row") {
        tx.update(tx.get<lines>(100, 1), [](Line& l) {
            l.customer_id = 2;
            l.sku = "T-1";
        });
        CHECK(tx.where<&Line::customer_id>(2).count() == 1);
        CHECK(tx.where<&Line::sku>("T-1").count() == 2);
    }
    tx.commit();
    CHECK(check_consistent(capture(db.read())) == "");
}

TEST_CASE_METHOD(filled, "update of an absent key throws not_found_error and changes nothing", "[core][write][update]") {
    auto tx = db.write();
    auto e = relstore_test::refused<relstore::not_found_error>(tx, [&] {
        tx.update<customers>(42, [](Customer& c) { c.age = 1; });
    });
    REQUIRE(e);
    CHECK(std::string(e->what()) == relstore_test::full_message("customers.id = 42 not found", errc::not_found));
}

TEST_CASE_METHOD(filled, "update cannot change the primary key", "[core][write][update][constraint]") {
    auto tx = db.write();
    SECTION("an auto key") {
        refused_with(tx, errc::key_changed, "customers", "id",
                     "customers.id = 2 cannot be changed by update (erase and insert instead)",
                     [&] { tx.update<customers>(2, [](Customer& c) { c.id = 20; }); });
    }
    SECTION("a caller-supplied string key") {
        refused_with(tx, errc::key_changed, "products", "sku",
                     R"(products.sku = "P-1" cannot be changed by update (erase and insert instead))",
                     [&] { tx.update<products>("P-1", [](Product& p) { p.sku = "P-9"; }); });
    }
    SECTION("one column of a composite key") {
        refused_with(tx, errc::key_changed, "lines", "(order_no, line_no)",
                     "lines.(order_no, line_no) = (100, 2) cannot be changed by update (erase and insert instead)",
                     [&] { tx.update(tx.get<lines>(100, 2), [](Line& l) { l.line_no = 3; }); });
    }
    SECTION("a hashed key") {
        refused_with(tx, errc::key_changed, "tags", "id",
                     "tags.id = 1 cannot be changed by update (erase and insert instead)",
                     [&] { tx.update<tags>(1, [](Tag& t) { t.id = 3; }); });
    }
}

TEST_CASE_METHOD(filled, "a modifier that throws leaves the row as it was", "[core][write][update]") {
    auto tx = db.write();
    auto e = relstore_test::refused<std::runtime_error>(tx, [&] {
        tx.update<customers>(1, [](Customer& c) {
            c.age = 1;
            c.email = "half@done";
            throw std::runtime_error("changed my mind");
        });
    });
    REQUIRE(e);
    CHECK(std::string(e->what()) == "changed my mind");
    CHECK(tx.get<customers>(1).age == 36);
    tx.commit();
}

TEST_CASE_METHOD(filled, "set changes one column of a stored row in place", "[core][write][set]") {
    const auto before = relstore_test::capture_store(db);
    auto tx = db.write();
    const Customer& grace = tx.get<customers>(3);
    SECTION("a column no index covers") {
        std::string note = "admiral, and a note long enough to live on the heap";
        CHECK(&tx.set<&Customer::note>(grace, note) == &grace);
        CHECK(grace.note == note);
        CHECK(note == "admiral, and a note long enough to live on the heap");  // an lvalue is copied, not moved from
        CHECK(&tx.set<&Customer::note>(grace, std::string("rear admiral")) == &grace);
        CHECK(tx.where<&Customer::note>("rear admiral").first() == &grace);
        CHECK(tx.where<&Customer::note>("navy").empty());
        SECTION("and commits") {
            tx.commit();
            CHECK(db.read().get<customers>(3).note == "rear admiral");
            return;
        }
        SECTION("or rolls back to the value before the first set") {
            tx.rollback();
            CHECK(db.read().get<customers>(3).note == "navy");
            CHECK(diff(before, relstore_test::capture_store(db)) == "");
            return;
        }
        SECTION("a savepoint rolls back only the sets made after it") {
            {
                auto sp = tx.savepoint();
                tx.set<&Customer::note>(grace, "commodore");
                tx.set<&Customer::note>(tx.get<customers>(1), "poet");
            }
            CHECK(grace.note == "rear admiral");
            CHECK(tx.get<customers>(1).note == "math");
        }
    }
    SECTION("an indexed column keeps its index right") {
        tx.set<&Customer::city>(grace, "Washington");
        tx.set<&Customer::age>(grace, 86);
        tx.set<&Customer::email>(grace, "amazing@grace.org");
        CHECK(tx.where<&Customer::city>("Arlington").empty());
        CHECK(tx.where<&Customer::city>("Washington").first() == &grace);
        CHECK(tx.where<&Customer::age>(86).first() == &grace);
        CHECK(tx.find<&Customer::email>("amazing@grace.org") == &grace);
        CHECK(tx.find<&Customer::email>("grace@x.org") == nullptr);
        tx.set<&Line::customer_id>(tx.get<lines>(100, 1), std::int64_t{3});
        CHECK(tx.where<&Line::customer_id>(3).count() == 2);
        tx.rollback();
        CHECK(diff(before, relstore_test::capture_store(db), false) == "");
        return;
    }
    CHECK(check_consistent(capture(tx)) == "");
}

TEST_CASE_METHOD(filled, "set refuses what update refuses and changes nothing", "[core][write][set][constraint]") {
    auto tx = db.write();
    SECTION("a unique value that another row has") {
        refused_with(tx, errc::unique_violation, "customers", "email",
                     R"(customers.email = "alan@x.org" already exists)",
                     [&] { tx.set<&Customer::email>(tx.get<customers>(1), "alan@x.org"); });
    }
    SECTION("a foreign key that matches no row") {
        refused_with(tx, errc::foreign_key_violation, "lines", "customer_id",
                     "lines.customer_id = 99 references no row in customers",
                     [&] { tx.set<&Line::customer_id>(tx.get<lines>(100, 1), std::int64_t{99}); });
    }
    SECTION("the primary key") {
        refused_with(tx, errc::key_changed, "customers", "id",
                     "customers.id = 2 cannot be changed by update (erase and insert instead)",
                     [&] { tx.set<&Customer::id>(tx.get<customers>(2), std::int64_t{20}); });
    }
    SECTION("after a refusal the transaction goes on") {
        CHECK_THROWS_AS(tx.set<&Customer::email>(tx.get<customers>(1), "alan@x.org"), relstore::constraint_error);
        tx.set<&Customer::note>(tx.get<customers>(1), "first programmer");
        tx.commit();
        CHECK(db.read().get<customers>(1).note == "first programmer");
        CHECK(db.read().get<customers>(1).email == "ada@x.org");
    }
}

TEST_CASE_METHOD(filled, "a set refused by a unique index leaves no trace in the transaction",
                 "[core][write][set][rollback]") {
    const auto before = relstore_test::capture_store(db);
    auto tx = db.write();
    const Customer& ada = tx.get<customers>(1);
    SECTION("one column") {
        refused_with(tx, errc::unique_violation, "customers", "email",
                     R"(customers.email = "alan@x.org" already exists)",
                     [&] { tx.set<&Customer::email>(ada, "alan@x.org"); });
    }
    SECTION("one column of a composite unique") {
        tx.set<&Customer::last>(tx.get<customers>(2), "Lovelace");  // (Alan, Lovelace)
        refused_with(tx, errc::unique_violation, "customers", "(first, last)",
                     R"(customers.(first, last) = ("Alan", "Lovelace") already exists)",
                     [&] { tx.set<&Customer::first>(ada, "Alan"); });
    }
    SECTION("a nullable unique") {
        refused_with(tx, errc::unique_violation, "customers", "nickname",
                     R"(customers.nickname = "ewd" already exists)",
                     [&] { tx.set<&Customer::nickname>(ada, std::optional<std::string>("ewd")); });
    }
    tx.set<&Customer::email>(ada, "ada@new.org");
    CHECK(tx.find<&Customer::email>("ada@new.org") == &ada);
    tx.rollback();  // undoes exactly the sets that happened, in every index
    CHECK(diff(before, relstore_test::capture_store(db)) == "");
    CHECK(check_consistent(relstore_test::capture_store(db)) == "");
}

TEST_CASE_METHOD(filled, "a set row that is then erased comes back with its old value on rollback",
                 "[core][write][set][rollback]") {
    const auto before = relstore_test::capture_store(db);
    {
        auto tx = db.write();
        const Customer& c = tx.insert(Customer{0, "new@x", "New", "Row", std::nullopt, 20, "Oslo", "a"});
        tx.set<&Customer::note>(c, "b");
        tx.set<&Customer::note>(tx.get<customers>(2), "enigma");
        tx.erase<customers>(2);
        tx.erase(c);
        CHECK(tx.count<customers>() == 3);
    }
    CHECK(diff(before, relstore_test::capture_store(db), false) == "");
    CHECK(db.read().get<customers>(2).note == "");
}

TEST_CASE_METHOD(filled, "erase removes a row from every index", "[core][write][erase]") {
    auto tx = db.write();
    const Customer& alan = tx.get<customers>(2);
    const Customer& grace = tx.get<customers>(3);
    SECTION("by row") {
        CHECK(tx.erase(alan) == 1);
    }
    SECTION("by key") {
        CHECK(tx.erase<customers>(2) == 1);
    }
    CHECK(tx.find<customers>(2) == nullptr);
    CHECK(tx.find<&Customer::email>("alan@x.org") == nullptr);
    CHECK(tx.find<&Customer::first, &Customer::last>("Alan", "Turing") == nullptr);
    CHECK(tx.where<&Customer::age>(41).empty());
    CHECK(tx.where<&Customer::city>("Wilmslow").empty());
    CHECK(tx.where<&Customer::note>("").empty());
    CHECK(tx.count<customers>() == 3);
    CHECK(grace.first == "Grace");  // other rows are untouched, references still valid
    CHECK(&tx.get<customers>(3) == &grace);
    CHECK(check_consistent(capture(tx)) == "");
    tx.commit();
    CHECK(db.read().count<customers>() == 3);
}

TEST_CASE_METHOD(filled, "erase by key", "[core][write][erase]") {
    auto tx = db.write();
    SECTION("of an absent key erases nothing and returns 0") {
        const auto before = capture(tx);
        CHECK(tx.erase<customers>(99) == 0);
        CHECK(tx.erase<products>("nope") == 0);
        CHECK(tx.erase<lines>(100, 3) == 0);
        CHECK(diff(before, capture(tx)) == "");
    }
    SECTION("with a composite key") {
        CHECK(tx.erase<lines>(100, 2) == 1);
        CHECK(tx.find<lines>(100, 2) == nullptr);
        CHECK(tx.find<lines>(100, 1) != nullptr);
        CHECK(tx.where<&Line::sku>("P-1").empty());
    }
    SECTION("with a string key, once no row references it") {
        CHECK(tx.erase<products>("P-2") == 1);
        CHECK(tx.find<&Product::name>("Pen") == nullptr);
        CHECK(tx.where<&Product::category>("office").count() == 1);
    }
    SECTION("with a hashed key") {
        CHECK(tx.erase<tags>(1) == 1);
        CHECK(tx.find<&Tag::label>("sale") == nullptr);
        CHECK(tx.count<tags>() == 1);
    }
}

TEST_CASE_METHOD(filled, "erasing a row that other rows reference is refused and changes nothing",
                 "[core][write][erase][constraint]") {
    auto tx = db.write();
    SECTION("a customer with order lines") {
        refused_with(tx, errc::restrict_violation, "lines", "(order_no, line_no)",
                     "erase restricted: 2 row(s) of lines reference the rows erased (lines.(order_no, line_no) = "
                     "(100, 1), (100, 2))",
                     [&] { tx.erase<customers>(1); });
    }
    SECTION("a product on an order line") {
        refused_with(tx, errc::restrict_violation, "lines", "(order_no, line_no)",
                     "erase restricted: 1 row(s) of lines reference the rows erased (lines.(order_no, line_no) = "
                     "(101, 1))",
                     [&] { tx.erase(tx.get<products>("T-1")); });
    }
    SECTION("once the referencing rows are gone, the erase goes through") {
        tx.erase<lines>(101, 1);
        CHECK(tx.erase<customers>(3) == 1);
    }
}

TEST_CASE_METHOD(filled, "clear erases every row of a table", "[core][write][clear]") {
    auto tx = db.write();
    CHECK(tx.clear<lines>() == 4);
    CHECK(tx.count<lines>() == 0);
    CHECK(tx.all<lines>().empty());
    CHECK(tx.where<&Line::customer_id>(1).empty());
    CHECK(tx.clear<lines>() == 0);  // clearing an empty table
    CHECK(tx.clear<tags>() == 2);
    CHECK(tx.clear<customers>() == 4);  // nothing references them any more
    CHECK(tx.where<&Customer::city>("London").empty());
    CHECK(tx.count<products>() == 5);   // other tables untouched
    CHECK(check_consistent(capture(tx)) == "");
    tx.commit();
    auto q = db.read();
    CHECK(q.count<customers>() == 0);
    CHECK(q.count<lines>() == 0);
}

TEST_CASE_METHOD(filled, "clearing a table whose rows are referenced is refused and changes nothing",
                 "[core][write][clear][constraint]") {
    auto tx = db.write();
    auto e = relstore_test::refused(tx, [&] { tx.clear<products>(); });
    REQUIRE(e);
    CHECK(e->code() == relstore::make_error_code(errc::restrict_violation));
    CHECK(e->table() == "lines");
    CHECK_THAT(e->what(), Catch::StartsWith("erase restricted: 4 row(s) of lines reference the rows erased"));
}

TEST_CASE("references to stored rows stay valid until that row is erased", "[core][write][stability]") {
    shop::store db;
    shop::fill(db);
    auto tx = db.write();
    const Customer& ada = tx.get<customers>(1);
    const Product& teapot = tx.get<products>("T-1");
    const Tag& sale = tx.get<tags>(1);
    const Line& line = tx.get<lines>(102, 1);
    std::vector<const Customer*> added;
    // Enough inserts to rehash every hashed index several times over.
    for (int i = 0; i < 2000; ++i) {
        added.push_back(&tx.insert(person("p" + std::to_string(i), i % 90, "city" + std::to_string(i % 7))));
        tx.insert(Tag{0, "tag" + std::to_string(i)});
        tx.insert(Product{"X-" + std::to_string(i), "Thing " + std::to_string(i), "things", i, std::nullopt});
    }
    for (int i = 0; i < 2000; i += 2) tx.erase(*added[static_cast<std::size_t>(i)]);
    for (int i = 1; i < 2000; i += 2)
        tx.update(*added[static_cast<std::size_t>(i)], [](Customer& c) { c.city = "moved"; });
    tx.update(ada, [](Customer& c) { c.age = 37; });
    tx.commit();

    auto q = db.read();
    CHECK(&q.get<customers>(1) == &ada);
    CHECK(ada.age == 37);
    CHECK(&q.get<products>("T-1") == &teapot);
    CHECK(teapot.name == "Teapot");
    CHECK(&q.get<tags>(1) == &sale);
    CHECK(sale.label == "sale");
    CHECK(&q.get<lines>(102, 1) == &line);
    for (int i = 1; i < 2000; i += 2) {
        const Customer* c = added[static_cast<std::size_t>(i)];
        REQUIRE(q.find<customers>(c->id) == c);
        CHECK(c->city == "moved");
    }
    CHECK(q.where<&Customer::city>("moved").count() == 1000);
    CHECK(q.count<customers>() == 1004);
}

}  // namespace write_test
