// Transactions: commit; rollback explicit, by scope exit and by exception;
// nested savepoints; misuse reported as usage_error instead of deadlocks.
#include "checks.hpp"
#include "shop.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace transaction_test {

using namespace shop;
using relstore::errc;
using relstore_test::capture;
using relstore_test::capture_store;
using relstore_test::check_consistent;
using relstore_test::diff;

namespace {

struct filled {
    shop::store db;
    filled() { shop::fill(db); }
};

/// Many changes over every table and every kind of index: inserts, updates
/// (including ones that move rows among equals in ordered indexes), erases.
void churn(relstore::transaction<shop::store>& tx) {
    tx.insert(Customer{0, "n1@x", "N1", "X", "n1", 41, "London", ""});
    tx.insert(Customer{0, "n2@x", "N2", "X", std::nullopt, 36, "London", "math"});
    tx.update<customers>(1, [](Customer& c) {
        c.email = "ada@new";
        c.nickname.reset();
        c.age = 41;
        c.city = "Nuenen";
    });
    tx.update<customers>(4, [](Customer& c) { c.nickname = "countess"; });  // taken from Ada above
    tx.erase<lines>(100, 1);
    tx.erase<customers>(2);
    tx.insert(Line{100, 1, 5, "B-1", 7});
    tx.update(tx.get<lines>(100, 2), [](Line& l) { l.qty = 2; });
    tx.set<&Customer::note>(tx.get<customers>(3), "admiral");  // no index: logged column only
    tx.set<&Customer::note>(tx.get<customers>(3), "rear admiral");
    tx.set<&Customer::city>(tx.get<customers>(3), "Washington");  // indexed: through update
    tx.set<&Customer::note>(tx.get<customers>(6), "art");
    tx.erase<customers>(6);  // a row with a logged column, then erased
    tx.erase<products>("P-2");
    tx.insert(Product{"P-2", "Pen", "office", 300, 77});
    tx.update<products>("B-2", [](Product& p) { p.price = 120; });
    tx.insert(Product{"P-3", "Eraser", "office", 120, std::nullopt});
    tx.erase<tags>(1);
    tx.insert(Tag{0, "sale"});
    tx.clear<tags>();
    tx.insert(Tag{0, "fresh"});
}

}  // namespace

TEST_CASE_METHOD(filled, "commit makes every change of the transaction visible at once", "[core][transaction]") {
    {
        auto tx = db.write();
        churn(tx);
        tx.commit();
    }
    auto q = db.read();
    CHECK(q.count<customers>() == 4);
    CHECK(q.find<customers>(2) == nullptr);
    CHECK(q.find<customers>(6) == nullptr);
    CHECK(q.get<customers>(3).note == "rear admiral");
    CHECK(q.get<customers>(3).city == "Washington");
    CHECK(q.get<customers>(1).email == "ada@new");
    CHECK(q.find<&Customer::nickname>("countess") == &q.get<customers>(4));
    CHECK(q.get<lines>(100, 1).customer_id == 5);
    CHECK(q.get<products>("P-2").barcode == 77);
    CHECK(q.count<tags>() == 1);
    CHECK(check_consistent(capture(q)) == "");
}

TEST_CASE_METHOD(filled, "rollback restores every table and every index exactly", "[core][transaction][rollback]") {
    const auto before = capture_store(db);
    SECTION("explicit rollback") {
        auto tx = db.write();
        churn(tx);
        CHECK(diff(before, capture(tx), false) != "");
        tx.rollback();
    }
    SECTION("the transaction leaving scope without commit") {
        auto tx = db.write();
        churn(tx);
    }
    SECTION("an exception unwinding through the transaction") {
        try {
            auto tx = db.write();
            churn(tx);
            throw std::runtime_error("abort");
        } catch (const std::runtime_error&) {
        }
    }
    SECTION("a refused call does not end the transaction; rolling back undoes the rest") {
        auto tx = db.write();
        churn(tx);
        CHECK_THROWS_AS(tx.insert(Tag{0, "fresh"}), relstore::constraint_error);
        tx.rollback();
    }
    // Rows that come back are new objects, so addresses are not compared.
    CHECK(diff(before, capture_store(db), false) == "");
    auto tx = db.write();  // and the lock was released
    CHECK(tx.insert(Customer{0, "z@x", "Z", "Z", std::nullopt, 1, "c", ""}).id == 5);
}

TEST_CASE_METHOD(filled, "rows untouched by a rolled-back transaction keep their address", "[core][transaction][rollback]") {
    const Customer* grace = nullptr;  // compared as an address only
    {
        const auto q = db.read();
        grace = q.find<customers>(3);
    }
    {
        auto tx = db.write();
        churn(tx);
    }
    CHECK(db.read().find<customers>(3) == grace);
}

TEST_CASE_METHOD(filled, "a savepoint rolls back to its own start", "[core][transaction][savepoint]") {
    auto tx = db.write();
    tx.insert(Tag{0, "outer"});
    const auto at_savepoint = capture(tx);
    {
        auto sp = tx.savepoint();
        CHECK(sp.active());
        churn(tx);
        sp.rollback();
        CHECK_FALSE(sp.active());
    }
    CHECK(diff(at_savepoint, capture(tx), false) == "");
    CHECK(tx.find<&Tag::label>("outer") != nullptr);  // the change before the savepoint stays
    tx.commit();
    CHECK(db.read().count<tags>() == 3);
}

TEST_CASE_METHOD(filled, "a savepoint destroyed while active rolls back", "[core][transaction][savepoint]") {
    auto tx = db.write();
    const auto start = capture(tx);
    {
        auto sp = tx.savepoint();
        churn(tx);
    }
    CHECK(diff(start, capture(tx), false) == "");
    SECTION("also when an exception leaves its scope") {
        try {
            auto sp = tx.savepoint();
            tx.insert(Tag{0, "doomed"});
            throw std::runtime_error("abort");
        } catch (const std::runtime_error&) {
        }
        CHECK(tx.find<&Tag::label>("doomed") == nullptr);
        CHECK(diff(start, capture(tx), false) == "");
    }
}

TEST_CASE_METHOD(filled, "a released savepoint's changes commit or roll back with the transaction",
                 "[core][transaction][savepoint]") {
    const auto before = capture_store(db);
    SECTION("commit keeps them") {
        {
            auto tx = db.write();
            auto sp = tx.savepoint();
            tx.insert(Tag{0, "kept"});
            sp.release();
            CHECK_FALSE(sp.active());
            tx.commit();
        }
        CHECK(db.read().find<&Tag::label>("kept") != nullptr);
    }
    SECTION("rolling back the transaction undoes them") {
        {
            auto tx = db.write();
            auto sp = tx.savepoint();
            churn(tx);
            sp.release();
            tx.rollback();
        }
        CHECK(diff(before, capture_store(db), false) == "");
    }
    SECTION("rolling back an enclosing savepoint undoes them") {
        auto tx = db.write();
        const auto start = capture(tx);
        auto outer = tx.savepoint();
        {
            auto inner = tx.savepoint();
            churn(tx);
            inner.release();
        }
        outer.rollback();
        CHECK(diff(start, capture(tx), false) == "");
    }
}

TEST_CASE_METHOD(filled, "nested savepoints each roll back to their own start", "[core][transaction][savepoint]") {
    auto tx = db.write();
    tx.insert(Tag{0, "level0"});
    const auto s0 = capture(tx);
    auto sp1 = tx.savepoint();
    tx.insert(Tag{0, "level1"});
    tx.update<customers>(1, [](Customer& c) { c.age = 1; });
    const auto s1 = capture(tx);
    auto sp2 = tx.savepoint();
    tx.insert(Tag{0, "level2"});
    tx.erase<lines>(100, 1);
    const auto s2 = capture(tx);
    auto sp3 = tx.savepoint();
    churn(tx);

    SECTION("innermost first") {
        sp3.rollback();
        CHECK(diff(s2, capture(tx), false) == "");
        sp2.rollback();
        CHECK(diff(s1, capture(tx), false) == "");
        sp1.rollback();
        CHECK(diff(s0, capture(tx), false) == "");
    }
    SECTION("an outer rollback ends the inner savepoints too") {
        sp2.rollback();
        CHECK(diff(s1, capture(tx), false) == "");
        CHECK_FALSE(sp3.active());
        CHECK(sp1.active());
        sp3.rollback();  // no effect once ended
        CHECK(diff(s1, capture(tx), false) == "");
        tx.insert(Tag{0, "after"});
        sp1.rollback();
        CHECK(diff(s0, capture(tx), false) == "");
    }
    SECTION("releasing the middle one merges it into the outer one") {
        sp3.release();
        sp2.release();
        CHECK_FALSE(sp3.active());
        CHECK(sp1.active());
        sp1.rollback();
        CHECK(diff(s0, capture(tx), false) == "");
    }
    SECTION("a savepoint taken after a rollback works") {
        sp2.rollback();
        auto sp4 = tx.savepoint();
        tx.insert(Tag{0, "level2b"});
        sp4.rollback();
        CHECK(diff(s1, capture(tx), false) == "");
    }
    tx.commit();
    CHECK(db.read().find<&Tag::label>("level0") != nullptr);
    CHECK_FALSE(sp1.active());
}

TEST_CASE_METHOD(filled, "a savepoint ended by an enclosing rollback stays ended when new savepoints take its depth",
                 "[core][transaction][savepoint]") {
    auto tx = db.write();
    auto sp1 = tx.savepoint();
    tx.insert(Tag{0, "one"});
    auto sp2 = tx.savepoint();
    auto sp3 = tx.savepoint();
    sp1.rollback();  // ends sp2 and sp3 too
    auto sp4 = tx.savepoint();
    auto sp5 = tx.savepoint();
    auto sp6 = tx.savepoint();  // at the depth sp3 had
    tx.insert(Tag{0, "six"});
    CHECK_FALSE(sp2.active());
    CHECK_FALSE(sp3.active());
    sp3.rollback();  // must not undo sp6's work
    sp2.release();   // nor merge sp5
    CHECK(tx.find<&Tag::label>("six") != nullptr);
    CHECK(sp6.active());
    sp6.rollback();
    CHECK(tx.find<&Tag::label>("six") == nullptr);
    CHECK(sp4.active());
    CHECK(sp5.active());
}

TEST_CASE_METHOD(filled, "a savepoint follows its transaction when the transaction is moved",
                 "[core][transaction][savepoint]") {
    std::optional<relstore::transaction<shop::store>> first(db.write());
    auto sp = first->savepoint();
    first->insert(Tag{0, "moved"});
    relstore::transaction<shop::store> second = std::move(*first);
    first.reset();
    CHECK(sp.active());
    sp.rollback();  // undoes the insert in the transaction it now belongs to
    CHECK(second.find<&Tag::label>("moved") == nullptr);
    auto sp2 = second.savepoint();
    second.insert(Tag{0, "kept"});
    sp2.release();
    second.commit();
    CHECK(db.read().find<&Tag::label>("kept") != nullptr);
    CHECK(db.read().find<&Tag::label>("moved") == nullptr);
}

TEST_CASE_METHOD(filled, "a savepoint that outlives its transaction is ended, and ending it again does nothing",
                 "[core][transaction][savepoint]") {
    // The savepoint used to keep a pointer to the destroyed transaction
    // (AddressSanitizer: stack-use-after-scope in active()).
    std::optional<relstore::savepoint<shop::store>> committed;
    std::optional<relstore::savepoint<shop::store>> dropped;
    {
        auto tx = db.write();
        committed.emplace(tx.savepoint());
        tx.insert(Tag{0, "committed"});
        tx.commit();
    }
    {
        auto tx = db.write();
        dropped.emplace(tx.savepoint());
        tx.insert(Tag{0, "dropped"});
    }  // rolled back
    CHECK_FALSE(committed->active());
    CHECK_FALSE(dropped->active());
    committed->rollback();
    dropped->release();
    committed.reset();
    dropped.reset();
    CHECK(db.read().find<&Tag::label>("committed") != nullptr);
    CHECK(db.read().find<&Tag::label>("dropped") == nullptr);
    auto tx = db.write();  // the store is free
    tx.rollback();
}

TEST_CASE_METHOD(filled, "nested(fn) releases on return and rolls back on an exception", "[core][transaction][savepoint]") {
    auto tx = db.write();
    SECTION("returns what fn returns and keeps its changes") {
        const std::int64_t id = tx.nested([&] { return tx.insert(Tag{0, "inner"}).id; });
        CHECK(id == 3);
        CHECK(tx.get<tags>(3).label == "inner");
        tx.nested([&] { tx.insert(Tag{0, "void"}); });
        CHECK(tx.count<tags>() == 4);
    }
    SECTION("a constraint error inside rolls back what fn did, then propagates") {
        const auto start = capture(tx);
        CHECK_THROWS_AS(tx.nested([&] {
            tx.insert(Tag{0, "a"});
            tx.update<customers>(1, [](Customer& c) { c.age = 2; });
            tx.insert(Tag{0, "a"});  // refused
        }),
                        relstore::constraint_error);
        CHECK(diff(start, capture(tx), false) == "");
    }
    SECTION("nested within nested") {
        const auto start = capture(tx);
        tx.nested([&] {
            tx.insert(Tag{0, "outer"});
            CHECK_THROWS_AS(tx.nested([&] {
                tx.insert(Tag{0, "inner"});
                throw std::logic_error("inner fails");
            }),
                            std::logic_error);
            CHECK(tx.find<&Tag::label>("inner") == nullptr);
        });
        CHECK(tx.find<&Tag::label>("outer") != nullptr);
        CHECK(tx.count<tags>() == 3);
        (void)start;
    }
    tx.commit();
}

TEST_CASE_METHOD(filled, "a read scope on the thread holding the write transaction throws instead of deadlocking",
                 "[core][transaction][usage]") {
    auto tx = db.write();
    try {
        auto q = db.read();
        FAIL("read() did not throw");
    } catch (const relstore::usage_error& e) {
        CHECK(e.code() == relstore::make_error_code(errc::usage));
        CHECK_THAT(e.what(), Catch::StartsWith("relstore: this thread holds the store's write transaction; read "
                                               "through the transaction instead"));
    }
    SECTION("and so does a second write transaction") {
        try {
            auto tx2 = db.write();
            FAIL("write() did not throw");
        } catch (const relstore::usage_error& e) {
            CHECK_THAT(e.what(), Catch::StartsWith("relstore: this thread already holds the store's write transaction"));
        }
    }
    SECTION("once the transaction ends, reading and writing work again") {
        tx.commit();
        CHECK(db.read().count<customers>() == 4);
        auto tx2 = db.write();
        tx2.rollback();
    }
    SECTION("another thread may open a write transaction after this one ends") {
        tx.rollback();
        std::thread t([&] {
            auto other = db.write();
            other.insert(Tag{0, "from thread"});
            other.commit();
        });
        t.join();
        CHECK(db.read().find<&Tag::label>("from thread") != nullptr);
    }
}

TEST_CASE_METHOD(filled, "a write transaction is used on the thread that began it; elsewhere it is a usage_error",
                 "[core][transaction][usage]") {
    // The store's lock is this thread's: a thread that took the transaction
    // over and then opened a read scope waited forever for itself.
    const std::size_t before = db.read().count<tags>();
    auto tx = db.write();
    tx.insert(Tag{0, "mine"});
    std::vector<std::string> errors;
    std::thread t([&] {
        auto refused = [&](auto&& call) {
            try {
                call();
                errors.emplace_back("(no usage_error)");
            } catch (const relstore::usage_error& e) {
                errors.emplace_back(e.what());
            }
        };
        refused([&] { tx.insert(Tag{0, "theirs"}); });
        refused([&] { (void)tx.savepoint(); });
        refused([&] { tx.commit(); });
        // Reads too: this thread's insert above could rebalance the very
        // index they walk.
        refused([&] { (void)tx.find<&Tag::label>("mine"); });
        refused([&] { (void)tx.count<tags>(); });
        refused([&] { (void)tx.where<&Tag::label>("mine").count(); });
    });
    t.join();
    REQUIRE(errors.size() == 6);
    for (const auto& e : errors)
        CHECK_THAT(e, Catch::StartsWith("relstore: this write transaction was begun on another thread"));
    // Nothing of the other thread's attempts is in it, and it goes on here,
    // reads included.
    CHECK(tx.find<&Tag::label>("theirs") == nullptr);
    CHECK(tx.find<&Tag::label>("mine") != nullptr);
    tx.insert(Tag{0, "mine too"});
    tx.commit();
    CHECK(db.read().count<tags>() == before + 2);

    SECTION("a savepoint's rollback or release on another thread is a usage_error; ending it there is one too, "
            "reported here") {
        // rollback() there wrote the store under this thread's lock, racing
        // with this thread's next write.
        auto again = db.write();
        again.insert(Tag{0, "kept"});
        auto sp = again.savepoint();
        again.insert(Tag{0, "undone by rollback here"});
        std::optional<relstore::savepoint<shop::store>> inner(again.savepoint());
        again.insert(Tag{0, "undone by the end of inner"});
        std::vector<std::string> sp_errors;
        std::thread([&] {
            for (auto call : {+[](relstore::savepoint<shop::store>& s) { s.rollback(); },
                              +[](relstore::savepoint<shop::store>& s) { s.release(); }}) {
                try {
                    call(sp);
                    sp_errors.emplace_back("(no usage_error)");
                } catch (const relstore::usage_error& e) {
                    sp_errors.emplace_back(e.what());
                }
            }
        }).join();
        REQUIRE(sp_errors.size() == 2);
        for (const auto& e : sp_errors)
            CHECK_THAT(e, Catch::StartsWith("relstore: this write transaction was begun on another thread"));
        CHECK(sp.active());
        CHECK(again.find<&Tag::label>("undone by rollback here") != nullptr);
        std::thread([&] { inner.reset(); }).join();
        CHECK(again.find<&Tag::label>("undone by the end of inner") != nullptr);  // until this thread writes
        CHECK_THROWS_WITH(sp.rollback(), Catch::StartsWith("relstore: a savepoint of this write transaction was "
                                                           "ended on another thread"));
        CHECK(again.find<&Tag::label>("undone by the end of inner") == nullptr);
        CHECK(again.find<&Tag::label>("undone by rollback here") != nullptr);
        sp.rollback();  // here, on this thread, it works
        CHECK_FALSE(sp.active());
        CHECK(again.find<&Tag::label>("undone by rollback here") == nullptr);
        again.commit();
        CHECK(db.read().find<&Tag::label>("kept") != nullptr);
    }
    SECTION("ending it on another thread rolls it back and lets go of the store") {
        std::optional<relstore::transaction<shop::store>> moved(db.write());
        moved->insert(Tag{0, "dropped"});
        std::thread([&] { moved.reset(); }).join();
        CHECK(db.read().find<&Tag::label>("dropped") == nullptr);
        auto again = db.write();  // not locked out
        again.rollback();
    }
}

TEST_CASE_METHOD(filled,
                 "a savepoint ended on another thread is rolled back by its transaction's next write, on the "
                 "transaction's thread, which reports the misuse",
                 "[core][transaction][usage]") {
    // Rolled back there, it raced with this thread's writes.
    auto tx = db.write();
    tx.insert(Tag{0, "before"});
    std::optional<relstore::savepoint<shop::store>> outer(tx.savepoint());
    tx.insert(Tag{0, "in outer"});
    std::optional<relstore::savepoint<shop::store>> handed(tx.savepoint());
    const Tag& doomed = tx.insert(Tag{0, "in handed"});
    std::optional<relstore::savepoint<shop::store>> deeper(tx.savepoint());
    tx.insert(Tag{0, "in deeper"});
    auto has = [&](const char* label) { return tx.find<&Tag::label>(label) != nullptr; };
    auto committed = [&] {
        std::vector<std::string> labels;
        for (const Tag& t : db.read().all<tags>())
            if (t.label.find(' ') != std::string::npos || t.label == "before" || t.label == "after")
                labels.push_back(t.label);
        std::sort(labels.begin(), labels.end());
        return labels;
    };
    auto reported = [](auto&& call) {
        try {
            call();
        } catch (const relstore::usage_error& e) {
            return std::string(e.what());
        }
        return std::string("(no usage_error)");
    };
    const auto misuse = Catch::StartsWith(
        "relstore: a savepoint of this write transaction was ended on another thread, which cannot roll it back "
        "while this thread may be writing; it is rolled back now, with everything done since it was taken, and "
        "this call did nothing");
    // What the rollback undoes, and no more.
    auto rolled_back = [&] {
        CHECK_FALSE(has("in handed"));
        CHECK_FALSE(has("in deeper"));
        CHECK(has("in outer"));
        CHECK(has("before"));
        CHECK_FALSE(deeper->active());
        CHECK(outer->active());
    };

    std::thread([&] { handed.reset(); }).join();
    // Reads still see its changes, until this thread writes.
    CHECK(has("in handed"));
    CHECK(deeper->active());

    SECTION("the next write") {
        CHECK_THAT(reported([&] { tx.insert(Tag{0, "after"}); }), misuse);
        rolled_back();
        CHECK_FALSE(has("after"));
        tx.insert(Tag{0, "after"});  // reported once
        tx.commit();
        CHECK(committed() == std::vector<std::string>{"after", "before", "in outer"});
    }
    SECTION("a write given a row that the rollback frees does not touch it") {
        CHECK_THAT(reported([&] { tx.erase(doomed); }), misuse);
        rolled_back();
    }
    SECTION("an update given a row that the rollback frees does not touch it") {
        CHECK_THAT(reported([&] { tx.update(doomed, [](Tag& t) { t.label = "changed"; }); }), misuse);
        rolled_back();
        CHECK_FALSE(has("changed"));
    }
    SECTION("a commit") {
        CHECK_THAT(reported([&] { tx.commit(); }), misuse);
        rolled_back();  // and the transaction goes on
        tx.commit();
        CHECK(committed() == std::vector<std::string>{"before", "in outer"});
    }
    SECTION("taking a savepoint") {
        CHECK_THAT(reported([&] { (void)tx.savepoint(); }), misuse);
        rolled_back();
        auto next = tx.savepoint();
        tx.insert(Tag{0, "in next"});
        next.rollback();
        CHECK_FALSE(has("in next"));
        CHECK(outer->active());
    }
    SECTION("a savepoint's verb") {
        CHECK_THAT(reported([&] { deeper->release(); }), misuse);
        rolled_back();
        outer->rollback();
        CHECK_FALSE(has("in outer"));
        tx.commit();
        CHECK(committed() == std::vector<std::string>{"before"});
    }
    SECTION("an enclosing savepoint's end covers it, without an error") {
        outer.reset();
        CHECK_FALSE(has("in outer"));
        CHECK_FALSE(deeper->active());
        tx.insert(Tag{0, "after"});
        tx.commit();
        CHECK(committed() == std::vector<std::string>{"after", "before"});
    }
    SECTION("a savepoint it encloses, ended here first, leaves it to report") {
        deeper.reset();
        CHECK_FALSE(has("in deeper"));
        CHECK(has("in handed"));
        CHECK_THAT(reported([&] { tx.insert(Tag{0, "after"}); }), misuse);
        CHECK_FALSE(has("in handed"));
        CHECK(has("in outer"));
    }
    SECTION("the transaction's rollback covers it, and the next transaction knows nothing of it") {
        tx.rollback();
        CHECK(committed().empty());
        auto again = db.write();
        again.insert(Tag{0, "after"});
        again.commit();
        CHECK(committed() == std::vector<std::string>{"after"});
    }
}

TEST_CASE_METHOD(filled,
                 "a savepoint ended on another thread while update()'s function runs leaves the update whole, and "
                 "the next write rolls both back",
                 "[core][transaction][usage]") {
    auto tx = db.write();
    std::optional<relstore::savepoint<shop::store>> handed(tx.savepoint());
    tx.insert(Tag{0, "in handed"});
    const std::string note = tx.get<customers>(1).note;
    tx.update(tx.get<customers>(1), [&](Customer& c) {
        std::thread([&] { handed.reset(); }).join();
        c.note = "changed in the savepoint";
    });
    CHECK(tx.get<customers>(1).note == "changed in the savepoint");
    CHECK_THROWS_AS(tx.insert(Tag{0, "after"}), relstore::usage_error);
    // The update came after the savepoint: it goes with it.
    CHECK(tx.find<&Tag::label>("in handed") == nullptr);
    CHECK(tx.get<customers>(1).note == note);
    tx.commit();
    CHECK(db.read().find<&Tag::label>("in handed") == nullptr);
    CHECK(db.read().get<customers>(1).note == note);
}

TEST_CASE_METHOD(filled, "a write transaction on a thread that holds a read scope throws instead of deadlocking",
                 "[core][transaction][usage]") {
    {
        auto q = db.read();
        auto nested = db.read();  // several read scopes on one thread are fine
        try {
            auto tx = db.write();
            FAIL("write() did not throw");
        } catch (const relstore::usage_error& e) {
            CHECK_THAT(e.what(), Catch::StartsWith("relstore: this thread holds a read scope of the store; end it "
                                                   "before beginning a write transaction"));
        }
        CHECK(q.count<customers>() == 4);
    }
    SECTION("once the read scopes end, write works") {
        auto tx = db.write();
        tx.insert(Tag{0, "w"});
        tx.commit();
        CHECK(db.read().count<tags>() == 3);
    }
    SECTION("a moved read scope still counts until it ends") {
        auto q = db.read();
        auto moved = std::move(q);
        CHECK_THROWS_AS(db.write(), relstore::usage_error);
        { auto end = std::move(moved); }
        CHECK_NOTHROW(db.write());
    }
    SECTION("a read scope of another store does not count") {
        shop::store other;
        auto q = other.read();
        CHECK_NOTHROW(db.write());
    }
}

TEST_CASE_METHOD(filled, "using a transaction after it ended throws usage_error", "[core][transaction][usage]") {
    auto tx = db.write();
    tx.insert(Tag{0, "x"});
    SECTION("after commit") {
        tx.commit();
    }
    SECTION("after rollback") {
        tx.rollback();
    }
    SECTION("after being moved from") {
        auto other = std::move(tx);
        other.rollback();
    }
    const std::string ended = "relstore: this transaction has ended (committed, rolled back or moved from)";
    auto usage = [&](auto call, const std::string& prefix) {
        try {
            call();
            FAIL_CHECK("no exception");
        } catch (const relstore::usage_error& e) {
            CHECK_THAT(e.what(), Catch::StartsWith(prefix));
        }
    };
    usage([&] { tx.insert(Tag{0, "y"}); }, ended);
    usage([&] { tx.update<customers>(1, [](Customer& c) { c.age = 2; }); }, ended);
    usage([&] { tx.erase<customers>(1); }, ended);
    usage([&] { tx.commit(); }, ended);
    usage([&] { (void)tx.savepoint(); }, ended);
    usage([&] { (void)tx.count<customers>(); }, "relstore: this scope has ended");
    usage([&] { (void)tx.get<customers>(1); }, "relstore: this scope has ended");
    tx.rollback();  // a no-op, not an error
    CHECK(db.read().count<customers>() == 4);
}

TEST_CASE_METHOD(filled, "a moved transaction carries its changes and its lock", "[core][transaction]") {
    auto tx = db.write();
    tx.insert(Tag{0, "moved"});
    auto other = std::move(tx);
    CHECK(other.find<&Tag::label>("moved") != nullptr);
    CHECK_THROWS_AS(db.read(), relstore::usage_error);  // still held by this thread
    other.commit();
    CHECK(db.read().find<&Tag::label>("moved") != nullptr);
}

TEST_CASE_METHOD(filled, "a read scope sees the state committed before it opened", "[core][transaction]") {
    auto q = db.read();
    auto q2 = db.read();  // any number of read scopes at once
    CHECK(q.count<customers>() == q2.count<customers>());
    std::atomic<bool> written{false};
    std::thread writer([&] {
        auto tx = db.write();  // waits until both read scopes are gone
        tx.insert(Tag{0, "later"});
        tx.commit();
        written = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK_FALSE(written.load());
    CHECK(q.find<&Tag::label>("later") == nullptr);
    {
        auto gone = std::move(q);
        auto gone2 = std::move(q2);
    }
    writer.join();
    CHECK(written.load());
    CHECK(db.read().find<&Tag::label>("later") != nullptr);
}

}  // namespace transaction_test
