// Misuse of the API is an error, never undefined behaviour: write verbs given
// something other than this store's stored row, stale erase plans, scopes
// that would wait for their own thread, NaN in an indexed column.
#include "checks.hpp"
#include "shop.hpp"
#include "watchdog.hpp"

#include <relstore/snapshot.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <optional>
#include <limits>
#include <string>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

namespace misuse_test {

using namespace shop;
using relstore::errc;
using relstore_test::refused;
using relstore_test::refused_with;

namespace {

struct filled {
    shop::store db;
    filled() { shop::fill(db); }
};

/// The message of the usage_error call throws, checking that the store seen
/// through scope is unchanged by it.
template <class Scope, class Call>
std::string usage_message(const Scope& scope, Call&& call) {
    auto e = refused<relstore::usage_error>(scope, std::forward<Call>(call));
    return e ? std::string(e->what()) : std::string("(no usage_error)");
}

/// A single-pass range of n rows, make(i) each, that runs verb when it
/// reaches row `at`: in the yield of that row, or (in_step) in the step past it.
template <class Row>
struct verb_source {
    verb_source(std::function<Row(int)> make_row, int rows, int verb_at)
        : make(std::move(make_row)), n(rows), at(verb_at) {}
    std::function<Row(int)> make;
    int n, at;
    std::function<void()> verb;
    bool in_step = false;
    int i = 0;
    struct iterator {
        verb_source* s;
        using value_type = Row;
        using difference_type = std::ptrdiff_t;
        Row operator*() const {
            if (s->i == s->at && !s->in_step) s->verb();
            return s->make(s->i);
        }
        iterator& operator++() {
            if (s->i == s->at && s->in_step) s->verb();
            ++s->i;
            return *this;
        }
        void operator++(int) { ++*this; }
        bool operator==(std::default_sentinel_t) const { return s->i == s->n; }
    };
    iterator begin() { return {this}; }
    std::default_sentinel_t end() { return {}; }
};

}  // namespace

TEST_CASE_METHOD(filled, "a write verb given a copy of a stored row is a usage error and changes nothing",
                 "[core][misuse][identity]") {
    auto tx = db.write();
    const Customer copy = tx.get<customers>(1);  // what `auto c = tx.get<...>(1)` makes
    const std::string names_row = "another object with the key of the stored row customers.id = 1";

    SECTION("update") {
        const auto what = usage_message(tx, [&] { tx.update(copy, [](Customer& c) { c.note = "lost"; }); });
        CHECK_THAT(what, Catch::StartsWith("relstore: update() takes the row stored in this store"));
        CHECK_THAT(what, Catch::Contains(names_row));
    }
    SECTION("update of an indexed column (would corrupt the index)") {
        CHECK_THAT(usage_message(tx, [&] { tx.update(copy, [](Customer& c) { c.age = 99; }); }),
                   Catch::Contains(names_row));
        CHECK(tx.where<&Customer::age>(99).empty());
    }
    SECTION("set of a column no index covers, and of an indexed one") {
        CHECK_THAT(usage_message(tx, [&] { tx.set<&Customer::note>(copy, "lost"); }),
                   Catch::StartsWith("relstore: set() takes the row stored in this store"));
        CHECK_THAT(usage_message(tx, [&] { tx.set<&Customer::city>(copy, "Paris"); }), Catch::Contains(names_row));
    }
    SECTION("erase and plan_erase") {
        CHECK_THAT(usage_message(tx, [&] { tx.erase(copy); }),
                   Catch::StartsWith("relstore: erase() takes the row stored in this store"));
        CHECK_THAT(usage_message(tx, [&] { (void)tx.plan_erase(copy); }),
                   Catch::StartsWith("relstore: plan_erase() takes the row stored in this store"));
    }
    SECTION("the copy of a row erased since") {
        const Customer gone = tx.get<customers>(2);
        tx.erase<customers>(2);
        CHECK_THAT(usage_message(tx, [&] { tx.update(gone, [](Customer& c) { c.note = "x"; }); }),
                   Catch::Contains("a row of customers (customers.id = 2) that this store does not hold"));
    }
    SECTION("the row a lookup returned, erased since through the same reference") {
        // The transaction keeps an erased row's node until it ends, so the
        // reference still reads; the row is no longer stored all the same.
        const Customer& looked_up = tx.get<customers>(2);
        tx.erase(looked_up);
        CHECK_THAT(usage_message(tx, [&] { tx.set<&Customer::note>(looked_up, "x"); }),
                   Catch::Contains("a row of customers (customers.id = 2) that this store does not hold"));
        CHECK_THAT(usage_message(tx, [&] { tx.erase(looked_up); }), Catch::Contains("does not hold"));
    }
    SECTION("the stored row itself is accepted") {
        const Customer& stored = tx.get<customers>(1);
        CHECK(tx.holds(stored));
        CHECK_FALSE(tx.holds(copy));
        tx.set<&Customer::age>(stored, 37);
        CHECK(tx.where<&Customer::age>(37).first() == &stored);
    }
}

TEST_CASE_METHOD(filled, "a write verb given a row of another store is a usage error and changes neither store",
                 "[core][misuse][identity]") {
    shop::store other;
    shop::fill(other);
    auto theirs_tx = other.write();
    const Customer& theirs = theirs_tx.get<customers>(2);
    {
        auto tx = db.write();
        CHECK_THAT(usage_message(tx, [&] { tx.erase(theirs); }),
                   Catch::Contains("another object with the key of the stored row customers.id = 2"));
        CHECK_THAT(usage_message(tx, [&] { tx.update(theirs, [](Customer& c) { c.age = 1; }); }),
                   Catch::Contains("customers.id = 2"));
    }
    CHECK(db.read().find<customers>(2) != nullptr);
    CHECK(theirs_tx.holds(theirs));
    CHECK(theirs.age == 41);
}

TEST_CASE_METHOD(filled, "an erase plan is applied only to the store and the state it was made on",
                 "[core][misuse][plan]") {
    auto tx = db.write();
    const Tag& sale = tx.get<tags>(1);
    SECTION("a plan made before another change is stale") {
        auto plan = tx.plan_erase(sale);
        tx.insert(Tag{0, "fresh"});
        CHECK_THAT(usage_message(tx, [&] { tx.apply(plan); }), Catch::Contains("stale erase plan"));
    }
    SECTION("a plan made before a rolled-back savepoint is stale") {
        auto plan = tx.plan_erase(sale);
        {
            auto sp = tx.savepoint();
            tx.insert(Tag{0, "fresh"});
        }
        CHECK_THAT(usage_message(tx, [&] { tx.apply(plan); }), Catch::Contains("stale erase plan"));
    }
    SECTION("a plan made on another store is refused") {
        shop::store other;
        shop::fill(other);
        auto plan = other.read().plan_erase(other.read().get<tags>(1));
        CHECK_THAT(usage_message(tx, [&] { tx.apply(plan); }), Catch::Contains("erase plan made on another store"));
    }
    SECTION("a fresh plan applies") {
        auto plan = tx.plan_erase(sale);
        CHECK(tx.apply(plan) == 1);
        CHECK(tx.find<tags>(1) == nullptr);
    }
}

TEST_CASE("an erase plan made before the store's contents were replaced (load, swap_contents) is stale",
          "[core][misuse][plan]") {
    // The plan points at rows of the contents replaced, destroyed with them:
    // applied, it unlinked freed nodes (AddressSanitizer: heap-use-after-free).
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait = " << never_wait);
    const relstore::store_options options{.readers_never_wait = never_wait};
    shop::store db(options);
    shop::fill(db);
    const auto file = std::filesystem::temp_directory_path() / ("relstore-plan-" + std::to_string(::getpid()));
    relstore::save(db, file);
    const bool by_load = GENERATE(false, true);
    INFO((by_load ? "load" : "swap_contents"));
    std::optional<relstore::erase_plan<shop::store>> plan;
    {
        auto q = db.read();
        plan.emplace(q.plan_erase(q.get<tags>(1)));
    }
    {
        shop::store other(options);
        shop::fill(other);
        if (by_load)
            (void)relstore::load(db, file);
        else
            db.swap_contents(other);
    }  // the contents the plan was made on are destroyed here
    {
        auto tx = db.write();
        // "stale", or with readers_never_wait "made on another store" when
        // the read scope's copy is not the one the transaction writes.
        CHECK_THAT(usage_message(tx, [&] { tx.apply(*plan); }), Catch::Contains("erase plan"));
        CHECK(tx.find<tags>(1) != nullptr);
    }
    // The other store's plan too: its contents went the other way.
    if (!by_load) {
        shop::store other(options);
        shop::fill(other);
        auto plan2 = db.read().plan_erase(db.read().get<tags>(2));
        other.swap_contents(db);
        auto tx = other.write();
        CHECK_THAT(usage_message(tx, [&] { tx.apply(plan2); }), Catch::Contains("erase plan made on another store"));
    }
    std::filesystem::remove(file);
}

TEST_CASE("an erase plan of a destroyed store is refused by a new store at the same address and change count",
          "[core][misuse][plan]") {
    // The plan points at the old store's rows: the store's address and its
    // count of changes alone could not tell a new store in the same place.
    std::optional<shop::store> db;
    db.emplace();
    shop::fill(*db);
    auto plan = [&] {
        auto q = db->read();
        return q.plan_erase(q.get<tags>(1));
    }();
    db.reset();
    db.emplace();
    shop::fill(*db);
    auto tx = db->write();
    CHECK_THAT(usage_message(tx, [&] { tx.apply(plan); }), Catch::Contains("erase plan made on another store"));
    CHECK(tx.find<tags>(1) != nullptr);
}

TEST_CASE("a plan made in a read scope applies in the next transaction when nothing committed in between",
          "[core][misuse][plan]") {
    shop::store db;
    shop::fill(db);
    auto plan = [&] {
        auto q = db.read();
        return q.plan_erase(q.get<tags>(2));
    }();
    auto tx = db.write();
    CHECK(tx.apply(plan) == 1);
}

namespace {

/// Runs op on a thread of its own, which first opens the scope `held`; the
/// test fails (and the process ends, since the thread cannot be joined) if
/// op neither returns nor throws within 10 s. Returns "ok", "usage_error"
/// or another error's text.
std::string on_one_thread(shop::store& db, shop::store& other, const std::string& held, const std::string& op,
                          const std::filesystem::path& file) {
    const std::string what = "holding a " + held + " scope, " + op;
    return relstore_test::returns_within(std::chrono::seconds(10), what.c_str(), [&]() -> std::string {
        std::optional<relstore::reader<shop::store>> read_scope;
        std::optional<relstore::transaction<shop::store>> write_scope;
        if (held == "read")
            read_scope.emplace(db.read());
        else
            write_scope.emplace(db.write());
        try {
            if (op == "read")
                (void)db.read();
            else if (op == "write")
                (void)db.write();
            else if (op == "load")
                (void)relstore::load(db, file);
            else if (op == "save")
                relstore::save(db, file);
            else if (op == "swap_contents")
                db.swap_contents(other);
            else if (op == "swap_contents of the other store")
                other.swap_contents(db);
            return "ok";
        } catch (const relstore::usage_error&) {
            return "usage_error";
        } catch (const std::exception& e) {
            return e.what();
        }
    });
}

}  // namespace

TEST_CASE("every operation on a thread that holds a scope returns or throws usage_error, never waits for itself",
          "[core][misuse][scopes]") {
    // With readers_never_wait a read scope takes no lock, but a writer
    // still waits for the scopes on the copy it catches up: the same thread
    // beginning a write would wait for itself once a commit is to replay.
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait = " << never_wait);
    const relstore::store_options options{.readers_never_wait = never_wait};
    shop::store db(options);
    shop::store other(options);
    shop::fill(db);
    const auto file = std::filesystem::temp_directory_path() / ("relstore-scopes-" + std::to_string(::getpid()));
    relstore::save(db, file);

    struct expectation {
        const char* held;
        const char* op;
        const char* outcome;
    };
    // A thread holding a read scope may read again (and so save); anything
    // that needs the exclusive lock would wait for the thread itself.
    const expectation table[] = {
        {"read", "read", "ok"},
        {"read", "write", "usage_error"},
        {"read", "load", "usage_error"},
        {"read", "save", "ok"},
        {"read", "swap_contents", "usage_error"},
        {"read", "swap_contents of the other store", "usage_error"},
        {"write", "read", "usage_error"},
        {"write", "write", "usage_error"},
        {"write", "load", "usage_error"},
        {"write", "save", "usage_error"},
        {"write", "swap_contents", "usage_error"},
        {"write", "swap_contents of the other store", "usage_error"},
    };
    for (const auto& e : table) {
        INFO("holding a " << e.held << " scope, " << e.op);
        CHECK(on_one_thread(db, other, e.held, e.op, file) == e.outcome);
    }
    CHECK(db.read().count<customers>() == 4);  // nothing was swapped or loaded
    CHECK(other.read().count<customers>() == 0);
    std::filesystem::remove(file);
}

namespace {

/// What db.write() does on this thread: "ok" (committed a tag) or the
/// usage_error's message; the process ends if it waits for itself.
std::string write_here_within_10s(shop::store& db) {
    return relstore_test::returns_within(std::chrono::seconds(10), "write()", [&]() -> std::string {
        try {
            auto tx = db.write();
            static std::atomic<int> n{0};
            tx.insert(Tag{0, "written " + std::to_string(++n)});
            tx.commit();
            return "ok";
        } catch (const relstore::usage_error& e) {
            return e.what();
        }
    });
}

}  // namespace

TEST_CASE("a read scope ended on another thread no longer counts as its opening thread's",
          "[core][misuse][scopes]") {
    // Before, its entry stayed in the opening thread's list, and that
    // thread's next write() was refused as if it still read the store.
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait = " << never_wait);
    shop::store db(relstore::store_options{.readers_never_wait = never_wait});
    shop::fill(db);
    const std::size_t tags_before = db.read().count<tags>();

    std::optional<relstore::reader<shop::store>> scope(db.read());
    CHECK(write_here_within_10s(db) != "ok");  // still held here: refused
    std::thread([&] {
        CHECK(scope->count<customers>() == 4);  // read there
        scope.reset();                          // and ended there
    }).join();
    CHECK(write_here_within_10s(db) == "ok");
    CHECK(db.read().count<tags>() == tags_before + 1);

    SECTION("another scope this thread still holds counts") {
        auto kept = db.read();
        std::optional<relstore::reader<shop::store>> handed(db.read());
        std::thread([&] { handed.reset(); }).join();
        CHECK_THAT(write_here_within_10s(db), Catch::StartsWith("relstore: this thread holds a read scope"));
        CHECK(kept.count<tags>() == tags_before + 1);
    }
    SECTION("a scope whose opening thread has exited ends safely, and a later thread's own scope still counts") {
        std::optional<relstore::reader<shop::store>> orphan;
        std::thread([&] { orphan.emplace(db.read()); }).join();
        std::string later_thread;
        std::thread([&] {
            auto mine = db.read();
            orphan.reset();  // reported to the exited thread, not to this one
            later_thread = write_here_within_10s(db);
        }).join();
        CHECK_THAT(later_thread, Catch::StartsWith("relstore: this thread holds a read scope"));
        CHECK(write_here_within_10s(db) == "ok");
        CHECK(db.read().count<tags>() == tags_before + 2);
    }
}

namespace {

struct Reading {
    std::int64_t id{};
    double value{};
    std::optional<double> calibrated;
    double unindexed{};
};
RELSTORE_FIELDS(Reading, id, value, calibrated, unindexed)

using readings = relstore::table<"readings", Reading, relstore::auto_key<&Reading::id>,
                                 relstore::ordered<&Reading::value>, relstore::index<&Reading::calibrated>>;
using reading_store = relstore::store<readings>;

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

}  // namespace

TEST_CASE("NaN cannot be stored in an indexed floating-point column, and a NaN lookup finds nothing",
          "[core][misuse][nan]") {
    reading_store db;
    auto tx = db.write();
    for (int i = 0; i < 23; ++i) tx.insert(Reading{0, i + 0.5, i * 2.0, 0});
    const Reading& first = tx.get<readings>(1);
    const std::string why = ": an indexed column cannot hold NaN (it equals nothing and orders against nothing, so "
                            "the index would find wrong rows)";

    SECTION("insert") {
        refused_with(tx, errc::invalid_value, "readings", "value", "readings.value = NaN" + why,
                     [&] { tx.insert(Reading{0, not_a_number, 1.0, 0}); });
        refused_with(tx, errc::invalid_value, "readings", "calibrated", "readings.calibrated = NaN" + why,
                     [&] { tx.insert(Reading{0, 1.0, not_a_number, 0}); });
    }
    SECTION("update and set") {
        refused_with(tx, errc::invalid_value, "readings", "value", "readings.value = NaN" + why,
                     [&] { tx.update(first, [](Reading& r) { r.value = not_a_number; }); });
        refused_with(tx, errc::invalid_value, "readings", "value", "readings.value = NaN" + why,
                     [&] { tx.set<&Reading::value>(first, not_a_number); });
        refused_with(tx, errc::invalid_value, "readings", "calibrated", "readings.calibrated = NaN" + why,
                     [&] { tx.set<&Reading::calibrated>(first, std::optional<double>(not_a_number)); });
    }
    SECTION("a column no index covers may hold NaN") {
        tx.set<&Reading::unindexed>(first, not_a_number);
        CHECK(std::isnan(first.unindexed));
        tx.insert(Reading{0, 100.0, std::nullopt, not_a_number});
    }
    SECTION("lookups") {
        CHECK(tx.range<&Reading::value>(0.0, 100.0).count() == 23);
        CHECK(tx.where<&Reading::value>(not_a_number).empty());
        CHECK_FALSE(tx.exists<&Reading::value>(not_a_number));
        CHECK(tx.where<&Reading::calibrated>(not_a_number).empty());
        CHECK(tx.range<&Reading::value>(not_a_number, 100.0).empty());
        CHECK(tx.range<&Reading::value>(0.0, not_a_number).empty());
        CHECK(tx.where<&Reading::value>(3.5).count() == 1);
    }
    CHECK(tx.range<&Reading::value>(0.0, 100.0).count() >= 23);
}

// The user's code that runs inside one of a transaction's verbs -- update()'s
// function, the before_commit hooks and subscribers of its commit,
// insert_many's range -- may read through the transaction, but a write,
// commit, rollback, savepoint or move there would pull the row or the state
// out from under the verb: each is a usage_error naming where it ran.
TEST_CASE_METHOD(filled, "inside update()'s function the transaction can be read but not written or ended",
                 "[core][misuse][reentrant]") {
    auto tx = db.write();
    const Customer& ada = tx.get<customers>(1);
    const auto inside_update = [&](auto&& verb) {
        return usage_message(tx, [&] {
            tx.update(ada, [&](Customer& c) {
                c.note = "changed";
                verb();
            });
        });
    };
    std::string what;
    SECTION("erase the row being updated") { what = inside_update([&] { tx.erase(ada); }); }
    SECTION("insert") {
        what = inside_update([&] { tx.insert(Tag{0, "inside"}); });
        CHECK(tx.where<&Tag::label>("inside").empty());
    }
    SECTION("set another row") { what = inside_update([&] { tx.set<&Customer::note>(tx.get<customers>(2), "x"); }); }
    SECTION("commit") { what = inside_update([&] { tx.commit(); }); }
    SECTION("rollback") { what = inside_update([&] { tx.rollback(); }); }
    SECTION("take a savepoint") { what = inside_update([&] { (void)tx.savepoint(); }); }
    SECTION("roll back a savepoint taken before") {
        auto sp = tx.savepoint();
        tx.set<&Customer::note>(ada, "before");
        what = usage_message(tx, [&] { tx.update(ada, [&](Customer&) { sp.rollback(); }); });
        CHECK(sp.active());
        CHECK(ada.note == "before");
        sp.rollback();
    }
    SECTION("move the transaction") {
        what = inside_update([&] { auto moved = std::move(tx); });
    }
    CHECK_THAT(what, Catch::StartsWith("relstore: inside update()'s function (table 'customers'), the transaction"));
    // Reads are allowed there, and the transaction goes on afterwards.
    tx.update(ada, [&](Customer& c) { c.note = tx.get<customers>(2).city; });
    CHECK(ada.note == "Wilmslow");
    tx.commit();
    CHECK(db.read().get<customers>(1).note == "Wilmslow");
}

TEST_CASE_METHOD(filled, "a before_commit hook and a subscriber cannot write, commit, roll back or move the "
                         "transaction they run for",
                 "[core][misuse][reentrant]") {
    const std::size_t tags_before = db.read().count<tags>();
    std::optional<relstore::transaction<shop::store>> tx_slot;
    tx_slot.emplace(db.write());
    auto& tx = *tx_slot;
    std::string what;
    std::function<void()> verb;
    const auto attempt = [&] {
        try {
            verb();
        } catch (const relstore::usage_error& e) {
            what = e.what();
            throw;
        }
    };
    SECTION("in a subscriber: the commit stays, the write is refused") {
        auto sub = db.subscribe([&](const relstore::changes<shop::store>&) { attempt(); });
        SECTION("insert") { verb = [&] { tx.insert(Tag{0, "late"}); }; }
        SECTION("commit") { verb = [&] { tx.commit(); }; }
        SECTION("rollback") { verb = [&] { tx.rollback(); }; }
        SECTION("savepoint") { verb = [&] { (void)tx.savepoint(); }; }
        SECTION("move") { verb = [&] { auto moved = std::move(tx); }; }
        tx.insert(Tag{0, "committed"});
        CHECK_THROWS_AS(tx.commit(), relstore::usage_error);
        CHECK_THAT(what, Catch::StartsWith("relstore: inside a subscriber (the transaction has committed)"));
        auto q = db.read();
        CHECK(q.count<tags>() == tags_before + 1);
        CHECK(q.where<&Tag::label>("committed").count() == 1);
        CHECK(q.where<&Tag::label>("late").empty());
    }
    SECTION("in a before_commit hook: the hook's error rolls the transaction back") {
        auto hook = db.before_commit([&](const relstore::changes<shop::store>&) { attempt(); });
        SECTION("insert") { verb = [&] { tx.insert(Tag{0, "late"}); }; }
        SECTION("commit") { verb = [&] { tx.commit(); }; }
        SECTION("rollback") { verb = [&] { tx.rollback(); }; }
        SECTION("move") { verb = [&] { auto moved = std::move(tx); }; }
        tx.insert(Tag{0, "vetoed"});
        CHECK_THROWS_AS(tx.commit(), relstore::usage_error);
        CHECK_THAT(what, Catch::StartsWith("relstore: inside a before_commit hook, the transaction"));
        CHECK(db.read().count<tags>() == tags_before);
    }
    tx_slot.reset();
    auto tx2 = db.write();  // the store was let go of
    tx2.rollback();
}

TEST_CASE_METHOD(filled, "insert_many's range cannot write or end the transaction that reads it",
                 "[core][misuse][reentrant]") {
    const auto before = relstore_test::capture(db.read());
    auto tx = db.write();
    auto outer = tx.savepoint();
    std::string what;
    // A verb run at the 20th row, past the 16 rows insert_many reads ahead.
    verb_source<Tag> src([](int i) { return Tag{0, "row " + std::to_string(i)}; }, 40, 20);
    SECTION("insert") { src.verb = [&] { tx.insert(Tag{0, "inside"}); }; }
    SECTION("commit") { src.verb = [&] { tx.commit(); }; }
    SECTION("roll back an enclosing savepoint") { src.verb = [&] { outer.rollback(); }; }
    SECTION("a read is fine") {
        src.verb = [&] { CHECK(tx.where<&Tag::label>("row 0").count() == 1); };
        CHECK(tx.insert_many(src) == 40);
        return;
    }
    try {
        tx.insert_many(src);
        FAIL("insert_many took a range that wrote its transaction");
    } catch (const relstore::usage_error& e) {
        what = e.what();
    }
    CHECK_THAT(what, Catch::StartsWith("relstore: inside insert_many's range, the transaction"));
    CHECK(outer.active());
    CHECK(tx.count<tags>() == 2);  // all or nothing
    outer.release();
    tx.commit();
    CHECK(relstore_test::diff(before, relstore_test::capture(db.read())) == "");
}

namespace memo_schema {

// Room for a large inline value: a row of more than 512 bytes.
struct Pad {
    std::array<char, 600> bytes{};
    friend auto operator<=>(const Pad&, const Pad&) = default;
};

}  // namespace memo_schema

}  // namespace misuse_test

template <>
struct relstore::column_traits<misuse_test::memo_schema::Pad> {
    using stored_type = std::string;
    static stored_type to_stored(const misuse_test::memo_schema::Pad& p) { return {p.bytes.begin(), p.bytes.end()}; }
    static misuse_test::memo_schema::Pad from_stored(const stored_type& s) {
        misuse_test::memo_schema::Pad p;
        std::copy_n(s.begin(), std::min(s.size(), p.bytes.size()), p.bytes.begin());
        return p;
    }
};

namespace misuse_test {

namespace {

// A row insert_many does not read ahead (its ring of 16 rows would take more
// than 8 KiB of stack): its rows go in one by one as the range yields them,
// a path of its own.
struct Memo {
    std::int64_t id;
    std::string text;
    memo_schema::Pad pad;
};
RELSTORE_FIELDS(Memo, id, text, pad)
using memos = relstore::table<"memos", Memo, relstore::auto_key<&Memo::id>, relstore::unique<&Memo::text>>;
using memo_store = relstore::store<memos>;
static_assert(!relstore::detail::insert_many_reads_ahead<Memo>);

}  // namespace

TEST_CASE("insert_many's range of rows it cannot read ahead cannot write or end the transaction either",
          "[core][misuse][reentrant]") {
    memo_store db;
    {
        auto tx = db.write();
        tx.insert(Memo{0, "kept", {}});
        tx.commit();
    }
    auto tx = db.write();
    // At its 5th row, the range runs a verb: in the yield of a row, or in
    // the step to the next one.
    verb_source<Memo> src([](int i) { return Memo{0, "memo " + std::to_string(i), {}}; }, 10, 5);
    src.in_step = GENERATE(false, true);
    SECTION("insert") { src.verb = [&] { tx.insert(Memo{0, "inside", {}}); }; }
    SECTION("commit") { src.verb = [&] { tx.commit(); }; }
    SECTION("a read is fine") {
        src.verb = [&] { CHECK(tx.where<&Memo::text>("memo 0").count() == 1); };
        CHECK(tx.insert_many(src) == 10);
        CHECK(tx.count<memos>() == 11);
        return;
    }
    INFO((src.in_step ? "in the range's step" : "in the range's yield"));
    std::string what = "(no usage_error)";
    try {
        tx.insert_many(src);
    } catch (const relstore::usage_error& e) {
        what = e.what();
    }
    CHECK_THAT(what, Catch::StartsWith("relstore: inside insert_many's range, the transaction"));
    CHECK(tx.count<memos>() == 1);  // all or nothing, and nothing from inside
    CHECK(tx.find<&Memo::text>("inside") == nullptr);
    tx.commit();
    CHECK(db.read().count<memos>() == 1);
}

namespace {

/// Runs fn in a child process with its standard error in a file; returns
/// the signal that ended the child (0 if it exited) and what it printed.
template <class Fn>
std::pair<int, std::string> dies_with(Fn&& fn) {
    const std::filesystem::path err =
        std::filesystem::temp_directory_path() / ("relstore-misuse-" + std::to_string(::getpid()) + ".err");
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // Nothing here may reach Catch: the child ends by _exit or a signal,
        // and Catch's handler for the signal (inherited) would report the
        // abort, expected here, as a failure on the shared standard output.
        std::signal(SIGABRT, SIG_DFL);
        if (std::freopen("/dev/null", "w", stdout) == nullptr) ::_exit(2);
        if (std::freopen(err.c_str(), "w", stderr) == nullptr) ::_exit(2);
        try {
            fn();
        } catch (...) {
        }
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    std::ifstream in(err);
    std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(err);
    return {WIFSIGNALED(status) ? WTERMSIG(status) : 0, said};
}

}  // namespace

TEST_CASE("a transaction, savepoint or store destroyed while in use stops the program with a message instead of "
          "going on with a destroyed object",
          "[core][misuse][reentrant]") {
    std::pair<int, std::string> end;
    std::string expected;
    SECTION("the transaction, by its own subscriber") {
        end = dies_with([] {
            shop::store db;
            shop::fill(db);
            std::optional<relstore::transaction<shop::store>> tx;
            tx.emplace(db.write());
            auto sub = db.subscribe([&](const relstore::changes<shop::store>&) { tx.reset(); });
            tx->insert(Tag{0, "last"});
            tx->commit();
        });
        expected = "relstore: inside a subscriber (the transaction has committed)";
    }
    SECTION("an enclosing savepoint, inside update()'s function") {
        // Its rollback would free the row update() goes on to re-index.
        end = dies_with([] {
            shop::store db;
            shop::fill(db);
            auto tx = db.write();
            std::optional<relstore::savepoint<shop::store>> sp(tx.savepoint());
            tx.insert(Tag{0, "undone by the savepoint"});
            tx.update(tx.get<customers>(1), [&](Customer& c) {
                c.note = "changed";
                sp.reset();
            });
        });
        expected = "relstore: inside update()'s function (table 'customers'), the transaction that runs it";
    }
    SECTION("the store, by a subscriber of its commit") {
        end = dies_with([] {
            std::optional<shop::store> db;
            db.emplace();
            shop::fill(*db);
            auto sub = db->subscribe([&](const relstore::changes<shop::store>&) { db.reset(); });
            auto tx = db->write();
            tx.insert(Tag{0, "last"});
            tx.commit();
        });
        expected = "relstore: a store was destroyed while a write transaction or a read scope still used it";
    }
    SECTION("the store, under an open read scope") {
        end = dies_with([] {
            std::optional<shop::store> db;
            db.emplace();
            auto q = db->read();
            db.reset();
        });
        expected = "relstore: a store was destroyed while a write transaction or a read scope still used it";
    }
    SECTION("the store, under an open read scope that never waits") {
        end = dies_with([] {
            std::optional<shop::store> db;
            db.emplace(relstore::store_options{.readers_never_wait = true});
            auto q = db->read();
            db.reset();
        });
        expected = "relstore: a store was destroyed while a write transaction or a read scope still used it";
    }
    CHECK(end.first == SIGABRT);
    CHECK_THAT(end.second, Catch::Contains(expected));
}

}  // namespace misuse_test
