// Change notifications: what a subscriber receives for each kind of write,
// the rules of subscription tokens, exceptions in callbacks, before_commit
// vetoes, and validators (check, row_check) on every write verb.
#include "blog.hpp"
#include "checks.hpp"

#include <relstore/snapshot.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace changes_test {

namespace rs = relstore;
using relstore::errc;
using relstore_test::refused_with;

namespace {

using blog::Post;
using blog::User;
using blog::posts;
using blog::users;

/// Everything a subscriber saw, as text, one line per change.
struct journal {
    std::vector<std::string> lines;
    int calls = 0;
    rs::subscription sub;

    explicit journal(blog::store& db)
        : sub(db.subscribe([this](const rs::changes<blog::store>& c) {
              ++calls;
              for (const User& u : c.inserted<users>()) lines.push_back("+user " + u.name);
              for (const auto& u : c.updated<users>()) {
                  std::string cols;
                  for (auto n : u.columns().names()) cols += std::string(cols.empty() ? "" : ",") + std::string(n);
                  lines.push_back("~user " + u.old().name + "->" + u.row().name + " [" + cols + "]");
              }
              for (const User& u : c.erased<users>()) lines.push_back("-user " + u.name);
              for (const Post& p : c.inserted<posts>()) lines.push_back("+post " + p.title);
              for (const auto& u : c.updated<posts>()) lines.push_back("~post " + u.old().title + "->" + u.row().title);
              for (const Post& p : c.erased<posts>()) lines.push_back("-post " + p.title);
          })) {}
    std::vector<std::string> take() { return std::exchange(lines, {}); }
};

struct seeded {
    blog::store db;
    seeded() {
        auto tx = db.write();
        const User& ann = tx.insert(User{0, "ann", "ann@x"});
        tx.insert(Post{0, "a1", "", ann.id});
        tx.insert(Post{0, "a2", "", ann.id});
        tx.insert(User{0, "bob", "bob@x"});
        tx.commit();
    }
};

using lines = std::vector<std::string>;

}  // namespace

TEST_CASE_METHOD(seeded, "a subscriber receives each commit's inserted, updated and erased rows",
                 "[core][changes]") {
    journal j(db);
    SECTION("inserts") {
        auto tx = db.write();
        tx.insert(User{0, "cid", "c@x"});
        tx.commit();
        CHECK(j.take() == lines{"+user cid"});
    }
    SECTION("an update names the columns it changed") {
        auto tx = db.write();
        tx.update(tx.get<users>(1), [](User& u) { u.name = "anna"; u.email = "anna@x"; });
        tx.commit();
        CHECK(j.take() == lines{"~user ann->anna [name,email]"});
    }
    SECTION("an erase cascades, and the cascade is reported") {
        auto tx = db.write();
        tx.erase(tx.get<users>(1));
        tx.commit();
        CHECK(j.take() == lines{"-user ann", "-post a1", "-post a2"});
    }
    SECTION("one call per commit, none for a commit that changed nothing") {
        { auto tx = db.write(); tx.commit(); }
        {
            auto tx = db.write();
            tx.set<&Post::title>(tx.get<posts>(1), "x");
            tx.set<&Post::title>(tx.get<posts>(1), "a1");  // and back: no change
            tx.commit();
        }
        CHECK(j.calls == 0);
        auto tx = db.write();
        tx.insert(User{0, "d", "d@x"});
        tx.insert(User{0, "e", "e@x"});
        tx.commit();
        CHECK(j.calls == 1);
    }
}

TEST_CASE_METHOD(seeded, "a change set holds the net effect of the transaction", "[core][changes]") {
    journal j(db);
    auto tx = db.write();
    SECTION("a row inserted then erased is nothing") {
        const User& u = tx.insert(User{0, "tmp", "t@x"});
        tx.insert(Post{0, "tp", "", u.id});
        tx.erase(u);
        tx.commit();
        CHECK(j.calls == 0);
    }
    SECTION("a row updated twice is one update from the first old value to the last") {
        tx.set<&User::name>(tx.get<users>(1), "b1");
        tx.update(tx.get<users>(1), [](User& u) { u.name = "b2"; });
        tx.set<&User::email>(tx.get<users>(1), "new@x");
        tx.commit();
        CHECK(j.take() == lines{"~user ann->b2 [name,email]"});
    }
    SECTION("a row erased and inserted again with its key is an update") {
        const User copy = tx.get<users>(2);
        tx.erase(tx.get<users>(2));
        tx.insert(User{copy.id, "bob", "other@x"});
        tx.commit();
        CHECK(j.take() == lines{"~user bob->bob [email]"});
    }
    SECTION("a rolled-back savepoint is not there") {
        tx.insert(User{0, "kept", "k@x"});
        {
            auto sp = tx.savepoint();
            tx.insert(User{0, "dropped", "d@x"});
            tx.erase(tx.get<users>(1));
        }
        tx.commit();
        CHECK(j.take() == lines{"+user kept"});
    }
    SECTION("a rolled-back transaction reports nothing") {
        tx.insert(User{0, "never", "n@x"});
        tx.rollback();
        CHECK(j.calls == 0);
    }
    SECTION("a refused write reports nothing") {
        CHECK_THROWS_AS(tx.insert(User{0, "ann", "dup@x"}), rs::constraint_error);
        tx.commit();
        CHECK(j.calls == 0);
    }
}

namespace {

struct Reading {
    std::int64_t id{};
    std::int32_t value{};
    std::string note;
};
RELSTORE_FIELDS(Reading, id, value, note)
using readings = rs::table<"readings", Reading, rs::primary_key<&Reading::id>>;
using reading_store = rs::store<readings>;

}  // namespace

// Hundreds of entries in random order: the change builder groups them by key
// with a radix sort for integer keys (a comparison sort below 64 entries).
// Signed extremes test its mapping to unsigned order, and a key set twice
// tests that it keeps each key's entries in the order they were made: the
// old value must be the first entry's.
TEST_CASE("a large transaction's updates come once per key, in key order, whatever order they were made in",
          "[core][changes]") {
    constexpr auto lo = std::numeric_limits<std::int64_t>::min();
    constexpr auto hi = std::numeric_limits<std::int64_t>::max();
    std::set<std::int64_t> unique_keys = {lo, lo + 1, -5'000'000'000, -256, -1, 0, 1, 255, 256, 65'536,
                                          5'000'000'000, hi - 1, hi};
    for (std::int64_t i = 0; i < 300; ++i) unique_keys.insert(i * 7919 - 1'000'000);
    const std::vector<std::int64_t> keys(unique_keys.begin(), unique_keys.end());
    reading_store db;
    {
        auto tx = db.write();
        for (auto k : keys) tx.insert(Reading{k, 0, "n"});
        tx.commit();
    }
    struct seen {
        std::int64_t id;
        std::int32_t old_value, value;
        std::string old_note, note;
    };
    std::vector<seen> got;
    auto sub = db.subscribe([&](const rs::changes<reading_store>& c) {
        for (const auto& u : c.updated<readings>())
            got.push_back({u.row().id, u.old().value, u.row().value, u.old().note, u.row().note});
    });
    auto order = keys;
    std::mt19937 rng(3);
    std::shuffle(order.begin(), order.end(), rng);
    const std::set<std::int64_t> twice(order.begin(), order.begin() + 50);
    {
        auto tx = db.write();
        for (auto k : order) tx.set<&Reading::value>(tx.get<readings>(k), 1);
        for (auto k : twice) {
            tx.set<&Reading::value>(tx.get<readings>(k), 2);
            tx.set<&Reading::note>(tx.get<readings>(k), "again");
        }
        tx.commit();
    }
    REQUIRE(got.size() == keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        INFO("update " << i << ", key " << keys[i]);
        CHECK(got[i].id == keys[i]);
        CHECK(got[i].old_value == 0);
        CHECK(got[i].old_note == "n");
        const bool again = twice.count(keys[i]) != 0;
        CHECK(got[i].value == (again ? 2 : 1));
        CHECK(got[i].note == (again ? "again" : "n"));
    }
}

namespace {

struct Node {
    std::int64_t id{};
    std::optional<std::int64_t> owner;
    std::string label;
};
RELSTORE_FIELDS(Node, id, owner, label)
struct Owner {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Owner, id, name)
using owners = rs::table<"owners", Owner, rs::auto_key<&Owner::id>>;
using nodes = rs::table<"nodes", Node, rs::auto_key<&Node::id>,
                        rs::references<&Node::owner, owners, rs::on_delete::set_null>>;
using owned_store = rs::store<owners, nodes>;

}  // namespace

TEST_CASE("a set-null cascade is reported as updates of the foreign key", "[core][changes][cascade]") {
    owned_store db;
    {
        auto tx = db.write();
        const Owner& o = tx.insert(Owner{0, "o"});
        tx.insert(Node{0, o.id, "n1"});
        tx.insert(Node{0, o.id, "n2"});
        tx.commit();
    }
    std::vector<std::string> seen;
    auto sub = db.subscribe([&](const rs::changes<owned_store>& c) {
        for (const Owner& o : c.erased<owners>()) seen.push_back("-owner " + o.name);
        for (const auto& u : c.updated<nodes>()) {
            CHECK(u.changed<&Node::owner>());
            CHECK_FALSE(u.changed<&Node::label>());
            seen.push_back("~node " + u.row().label + (u.row().owner ? " owned" : " null"));
        }
    });
    auto tx = db.write();
    tx.erase(tx.get<owners>(1));
    tx.commit();
    CHECK(seen == std::vector<std::string>{"-owner o", "~node n1 null", "~node n2 null"});
}

TEST_CASE_METHOD(seeded, "narrower subscriptions: one table, one row, one parent's children", "[core][changes]") {
    std::vector<std::string> seen;
    auto on_posts = db.subscribe<posts>([&](const rs::table_changes<posts>& t) {
        seen.push_back("posts " + std::to_string(t.size()));
    });
    auto on_bob = db.subscribe(db.read().get<users>(2), [&](const rs::row_change<User>& ch) {
        seen.push_back(std::string("bob ") + (ch.inserted() ? "inserted" : ch.erased() ? "erased" : "updated"));
    });
    auto on_ann_posts = db.subscribe_children<&Post::author_id>(db.read().get<users>(1),
                                                                [&](const rs::children_change<Post>& ch) {
                                                                    seen.push_back(
                                                                        "ann's posts +" + std::to_string(ch.added().count()) +
                                                                        " -" + std::to_string(ch.removed().count()) + " ~" +
                                                                        std::to_string(ch.changed().size()));
                                                                });
    SECTION("a change to another user touches none of them") {
        auto tx = db.write();
        tx.insert(User{0, "cid", "c@x"});
        tx.commit();
        CHECK(seen.empty());
    }
    SECTION("re-parenting a post from ann to bob") {
        auto tx = db.write();
        tx.set<&Post::author_id>(tx.get<posts>(1), std::int64_t{2});
        tx.commit();
        CHECK(seen == lines{"posts 1", "ann's posts +0 -1 ~0"});
    }
    SECTION("a new post of ann's, a changed one, and bob renamed") {
        auto tx = db.write();
        tx.insert(Post{0, "a3", "", 1});
        tx.set<&Post::content>(tx.get<posts>(2), "edited");
        tx.set<&User::email>(tx.get<users>(2), "robert@x");
        tx.commit();
        CHECK(seen == lines{"posts 2", "bob updated", "ann's posts +1 -0 ~1"});
    }
    SECTION("erasing bob") {
        auto tx = db.write();
        tx.erase(tx.get<users>(2));
        tx.commit();
        CHECK(seen == lines{"bob erased"});
    }
}

TEST_CASE_METHOD(seeded, "subscription tokens: destroying, resetting, and (un)subscribing from a callback",
                 "[core][changes][subscription]") {
    auto commit_user = [&](const std::string& name) {
        auto tx = db.write();
        tx.insert(User{0, name, name + "@x"});
        tx.commit();
    };
    int a = 0, b = 0, late = 0;
    SECTION("a destroyed token is not called") {
        {
            auto sub = db.subscribe([&](const auto&) { ++a; });
            commit_user("c1");
        }
        commit_user("c2");
        CHECK(a == 1);
    }
    SECTION("a moved token keeps the subscription; reset ends it") {
        auto sub = db.subscribe([&](const auto&) { ++a; });
        rs::subscription moved = std::move(sub);
        CHECK_FALSE(sub.active());
        commit_user("c1");
        moved.reset();
        CHECK_FALSE(moved.active());
        commit_user("c2");
        CHECK(a == 1);
    }
    SECTION("a callback that resets itself and another one") {
        rs::subscription first, second;
        first = db.subscribe([&](const auto&) {
            ++a;
            first.reset();
            second.reset();
        });
        second = db.subscribe([&](const auto&) { ++b; });
        commit_user("c1");
        commit_user("c2");
        CHECK(a == 1);
        CHECK(b == 0);  // reset before its turn in the same commit
    }
    SECTION("subscribing from a callback takes effect for the next commit") {
        std::vector<rs::subscription> added;
        auto sub = db.subscribe([&](const rs::changes<blog::store>&) {
            if (added.empty()) added.push_back(db.subscribe([&](const auto&) { ++late; }));
        });
        commit_user("c1");
        CHECK(late == 0);
        commit_user("c2");
        CHECK(late == 1);
    }
    SECTION("a token may outlive its store") {
        rs::subscription sub;
        {
            blog::store other;
            sub = other.subscribe([&](const auto&) { ++a; });
            CHECK(sub.active());
        }
        // Its store is gone, so it will never be called again: it says so.
        CHECK_FALSE(sub.active());
        CHECK_FALSE(static_cast<bool>(sub));
        sub.reset();
        CHECK_FALSE(sub.active());
    }
}

TEST_CASE_METHOD(seeded, "an exception from a subscriber: the commit stays, every subscriber runs, the first "
                         "exception propagates",
                 "[core][changes][errors]") {
    int ran = 0;
    auto s1 = db.subscribe([&](const auto&) { ++ran; throw std::runtime_error("first"); });
    auto s2 = db.subscribe([&](const auto&) { ++ran; throw std::logic_error("second"); });
    auto s3 = db.subscribe([&](const auto&) { ++ran; });
    auto tx = db.write();
    tx.insert(User{0, "cid", "c@x"});
    CHECK_THROWS_WITH(tx.commit(), "first");
    CHECK(ran == 3);
    CHECK(db.read().find<&User::name>("cid") != nullptr);
    CHECK_NOTHROW(db.write());  // the store is free again
}

TEST_CASE_METHOD(seeded, "a before_commit hook sees the change set and can veto the whole commit",
                 "[core][changes][before_commit]") {
    int after = 0;
    auto sub = db.subscribe([&](const auto&) { ++after; });
    auto hook = db.before_commit([](const rs::changes<blog::store>& c) {
        for (const Post& p : c.inserted<posts>())
            if (p.title.empty()) throw std::invalid_argument("a post needs a title");
        // The hook reads the state about to be committed.
        CHECK(c.read().count<posts>() >= 2);
    });
    SECTION("a veto rolls everything back and propagates") {
        auto tx = db.write();
        tx.insert(User{0, "cid", "c@x"});
        tx.insert(Post{0, "", "", 1});
        CHECK_THROWS_AS(tx.commit(), std::invalid_argument);
        CHECK(after == 0);
        auto q = db.read();
        CHECK(q.count<posts>() == 2);
        CHECK(q.find<&User::name>("cid") == nullptr);
    }
    SECTION("a commit the hook accepts goes through") {
        auto tx = db.write();
        tx.insert(Post{0, "fine", "", 1});
        tx.commit();
        CHECK(after == 1);
        CHECK(db.read().count<posts>() == 3);
    }
}

namespace {

struct Booking {
    std::int64_t id{};
    std::string guest;
    std::int32_t from{};
    std::int32_t to{};
    std::int32_t guests{};
};
RELSTORE_FIELDS(Booking, id, guest, from, to, guests)

constexpr bool positive(std::int32_t v) { return v > 0; }

using bookings = rs::table<"bookings", Booking, rs::auto_key<&Booking::id>, rs::index<&Booking::guest>,
                           rs::check<&Booking::guests, &positive, "positive">,
                           rs::check<&Booking::guest, [](const std::string& g) { return !g.empty(); }>,
                           rs::row_check<[](const Booking& b) { return b.from < b.to; }, "from_before_to">>;
using booking_store = rs::store<bookings>;

}  // namespace

TEST_CASE("checks refuse invalid values on every write verb and leave the store unchanged",
          "[core][changes][check]") {
    booking_store db;
    auto tx = db.write();
    const Booking& ok = tx.insert(Booking{0, "ann", 1, 3, 2});
    const std::string named = "bookings.guests = 0 violates the check \"positive\"";
    SECTION("insert") {
        refused_with(tx, errc::check_violation, "bookings", "guests", named,
                     [&] { tx.insert(Booking{0, "bob", 1, 2, 0}); });
        refused_with(tx, errc::check_violation, "bookings", "guest",
                     "bookings.guest = \"\" violates the check on bookings.guest",
                     [&] { tx.insert(Booking{0, "", 1, 2, 1}); });
        refused_with(tx, errc::check_violation, "bookings", "",
                     "the row bookings.id = 2 violates the row check \"from_before_to\"",
                     [&] { tx.insert(Booking{0, "bob", 5, 2, 1}); });
    }
    SECTION("insert_many, all or nothing") {
        std::vector<Booking> batch{{0, "c", 1, 2, 1}, {0, "d", 1, 2, 0}};
        refused_with(tx, errc::check_violation, "bookings", "guests", "bookings.guests = 0 violates the check "
                                                                      "\"positive\"",
                     [&] { tx.insert_many(batch); });
    }
    SECTION("update") {
        refused_with(tx, errc::check_violation, "bookings", "", "the row bookings.id = 1 violates the row check "
                                                                "\"from_before_to\"",
                     [&] { tx.update(ok, [](Booking& b) { b.to = 0; }); });
    }
    SECTION("set, on a checked column and on a column a row check reads") {
        refused_with(tx, errc::check_violation, "bookings", "guests", named,
                     [&] { tx.set<&Booking::guests>(ok, 0); });
        refused_with(tx, errc::check_violation, "bookings", "", "the row bookings.id = 1 violates the row check "
                                                                "\"from_before_to\"",
                     [&] { tx.set<&Booking::from>(ok, 9); });
    }
    SECTION("valid writes pass") {
        tx.set<&Booking::guests>(ok, 4);
        tx.update(ok, [](Booking& b) { b.to = 9; });
        CHECK(ok.guests == 4);
        CHECK(ok.to == 9);
    }
}

namespace {

// The same table without its checks: what an older program may have saved.
using bookings_unchecked = rs::table<"bookings", Booking, rs::auto_key<&Booking::id>, rs::index<&Booking::guest>>;
using unchecked_store = rs::store<bookings_unchecked>;

}  // namespace

TEST_CASE("a snapshot row that fails a check is refused on load, and the store keeps its contents",
          "[core][changes][check][snapshot]") {
    unchecked_store old;
    {
        auto tx = old.write();
        tx.insert(Booking{0, "ann", 1, 3, 2});
        tx.insert(Booking{0, "bob", 4, 2, 1});  // from after to: the newer program's row check refuses it
        tx.commit();
    }
    std::stringstream file;
    rs::save(old, file);
    booking_store db;
    {
        auto tx = db.write();
        tx.insert(Booking{0, "cid", 1, 2, 1});
        tx.commit();
    }
    try {
        (void)rs::load(db, file);
        FAIL("loaded");
    } catch (const rs::snapshot_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("table 'bookings': the row bookings.id = 2 violates the row check "
                                             "\"from_before_to\""));
    }
    CHECK(db.read().count<bookings>() == 1);
}

}  // namespace changes_test
