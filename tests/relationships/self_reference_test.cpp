// Self-references: trees (one-to-many within a table), cycles refused or
// survived, and many-to-many within a table (members following members).
#include <catch2/catch.hpp>

#include "alloc_counter.hpp"
#include "checks.hpp"
#include "expect.hpp"
#include "schemas.hpp"

#include <algorithm>
#include <ranges>
#include <string>
#include <vector>

namespace self_reference_test {

using namespace rel;
using relstore_test::allocations;
namespace rs = relstore;

namespace {

constexpr auto parent_of = &Category::parent_id;
constexpr auto manager_of = &Employee::manager_id;
constexpr auto follower = &Follow::follower_id;
constexpr auto followee = &Follow::followee_id;

template <class Range>
std::vector<std::string> names(const Range& r) {
    std::vector<std::string> out;
    for (const auto& x : r) out.push_back(x.name);
    return out;
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("a category tree navigates up and down", "[relationship][self][tree]") {
    social db;
    auto tx = db.write();
    const Category& all = tx.insert(Category{.name = "all"});
    const Category& books = tx.insert(Category{.name = "books", .parent_id = all.id});
    const Category& music = tx.insert(Category{.name = "music", .parent_id = all.id});
    const Category& fiction = tx.insert(Category{.name = "fiction", .parent_id = books.id});
    const Category& scifi = tx.insert(Category{.name = "scifi", .parent_id = fiction.id});

    CHECK(names(tx.children<parent_of>(all)) == strings{"books", "music"});
    CHECK(tx.parent<parent_of>(scifi) == &fiction);
    CHECK(tx.parent<parent_of>(all) == nullptr);

    SECTION("ancestors, nearest first") {
        auto up = tx.ancestors<parent_of>(scifi);
        CHECK(names(up) == strings{"fiction", "books", "all"});
        CHECK(up.first() == &fiction);
        CHECK(up.count() == 3);
        CHECK_FALSE(up.cyclic());
        CHECK(&up.front() == &fiction);
        CHECK(tx.ancestors<parent_of>(all).empty());
        CHECK(tx.ancestors<parent_of>(all).first() == nullptr);
        CHECK(names(tx.ancestors<parent_of>(music)) == strings{"all"});
    }
    SECTION("descendants, breadth first, to a depth or all") {
        CHECK(names(tx.descendants<parent_of>(all)) == strings{"books", "music", "fiction", "scifi"});
        CHECK(names(tx.descendants<parent_of>(all, 1)) == strings{"books", "music"});
        CHECK(names(tx.descendants<parent_of>(all, 2)) == strings{"books", "music", "fiction"});
        CHECK(tx.descendants<parent_of>(all, 0).empty());
        CHECK(tx.descendants<parent_of>(scifi).empty());
        CHECK(&tx.descendants<parent_of>(books).front() == &fiction);  // the stored rows
    }
    SECTION("walks are ranges of const Row& that take, drop and reverse") {
        using up_range = decltype(tx.ancestors<parent_of>(scifi));
        using down_range = decltype(tx.descendants<parent_of>(all));
        static_assert(std::is_same_v<std::ranges::range_reference_t<up_range>, const Category&>);
        static_assert(std::is_same_v<std::ranges::range_reference_t<down_range>, const Category&>);
        static_assert(std::ranges::random_access_range<down_range>);

        auto up = tx.ancestors<parent_of>(scifi);  // fiction, books, all
        CHECK(names(up.reverse()) == strings{"all", "books", "fiction"});  // root first: a breadcrumb
        CHECK(names(up.take(2)) == strings{"fiction", "books"});
        CHECK(names(up.drop(1)) == strings{"books", "all"});
        CHECK(names(up.drop(1).reverse()) == strings{"all", "books"});
        CHECK(names(up.take(2).reverse()) == strings{"books", "fiction"});
        CHECK(names(up.reverse().drop(1).take(1)) == strings{"books"});
        CHECK(up.drop(1).first() == &books);
        CHECK(up.drop(3).empty());
        CHECK(up.take(0).first() == nullptr);
        CHECK(up.take(2).count() == 2);

        auto down = tx.descendants<parent_of>(all);  // books, music, fiction, scifi
        CHECK(names(down.take(2)) == strings{"books", "music"});
        CHECK(names(down.drop(2)) == strings{"fiction", "scifi"});
        CHECK(names(down.reverse()) == strings{"scifi", "fiction", "music", "books"});
        CHECK(names(down.reverse().drop(1).take(2)) == strings{"fiction", "music"});
        CHECK(names(down.take(3).reverse().take(1)) == strings{"fiction"});
        CHECK(down.drop(1).first() == &music);
        CHECK(down.drop(9).empty());
        CHECK(names(down) == strings{"books", "music", "fiction", "scifi"});  // a named result is left as it was
        CHECK(names(tx.descendants<parent_of>(all).reverse().take(1)) == strings{"scifi"});
        CHECK(std::ranges::find(down, "fiction", &Category::name)->id == fiction.id);
    }
    SECTION("moving a subtree shows at once") {
        tx.update(fiction, [&](Category& c) { c.parent_id = music.id; });
        CHECK(names(tx.ancestors<parent_of>(scifi)) == strings{"fiction", "music", "all"});
        CHECK(tx.descendants<parent_of>(books).empty());
    }
    SECTION("a parent that does not exist is refused") {
        auto e = constraint_error_from([&] { tx.insert(Category{.name = "orphan", .parent_id = 42}); });
        CHECK(e.code() == rs::make_error_code(rs::errc::foreign_key_violation));
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("categories.parent_id = 42 references no row in categories"));
    }
    SECTION("erasing a category cascades to its subtree") {
        CHECK(tx.erase(books) == 3);
        CHECK(names(tx.all<categories>()) == strings{"all", "music"});
    }
}

TEST_CASE("walks read from a temporary read scope hold it while they are walked", "[relationship][self][scope]") {
    // The walk up holds a pointer to its scope: the range keeps that scope
    // in place (C++20 ends db.read() before a range-for's loop runs).
    social db;
    std::int64_t all_id = 0, fiction_id = 0;
    {
        auto tx = db.write();
        const Category& all = tx.insert(Category{.name = "all"});
        const Category& books = tx.insert(Category{.name = "books", .parent_id = all.id});
        all_id = all.id;
        fiction_id = tx.insert(Category{.name = "fiction", .parent_id = books.id}).id;
        tx.commit();
    }
    const Category fiction = db.read().get<categories>(fiction_id);  // a copy: its key is followed
    strings up, down;
    for (const Category& c : db.read().ancestors<parent_of>(fiction)) {
        up.push_back(c.name);
        CHECK(relstore_test::write_refused(db));  // this thread holds the scope: its write() would wait for itself
    }
    const Category root = db.read().get<categories>(all_id);
    for (const Category& c : db.read().descendants<parent_of>(root)) {
        down.push_back(c.name);
        CHECK(relstore_test::write_refused(db));
    }
    CHECK(up == strings{"books", "all"});
    CHECK(down == strings{"books", "fiction"});
    CHECK(db.read().ancestors<parent_of>(fiction).count() == 2);
    CHECK_FALSE(relstore_test::write_refused(db));  // each range let go of its scope
}

TEST_CASE("an acyclic self-reference refuses a change that would close a cycle", "[relationship][self][cycle]") {
    social db;
    auto tx = db.write();
    const Category& all = tx.insert(Category{.name = "all"});
    const Category& books = tx.insert(Category{.name = "books", .parent_id = all.id});
    const Category& fiction = tx.insert(Category{.name = "fiction", .parent_id = books.id});

    SECTION("through a descendant") {
        auto e = constraint_error_from([&] { tx.update(all, [&](Category& c) { c.parent_id = fiction.id; }); });
        CHECK(e.code() == rs::make_error_code(rs::errc::cycle));
        CHECK(e.table() == "categories");
        CHECK(e.columns() == "parent_id");
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("categories.parent_id = 3 would close a cycle through categories.id = 1"));
        CHECK(all.parent_id == std::nullopt);
    }
    SECTION("through itself") {
        auto e = constraint_error_from([&] { tx.update(books, [&](Category& c) { c.parent_id = books.id; }); });
        CHECK(e.code() == rs::make_error_code(rs::errc::cycle));
        CHECK(books.parent_id == all.id);
    }
    SECTION("on insert, a row that is its own parent") {
        auto e = constraint_error_from([&] { tx.insert(Category{.id = 10, .name = "loop", .parent_id = 10}); });
        CHECK(e.code() == rs::make_error_code(rs::errc::cycle));
        CHECK(tx.count<categories>() == 3);
    }
    CHECK(names(tx.ancestors<parent_of>(fiction)) == strings{"books", "all"});
}

TEST_CASE("a deep tree is walked and erased without recursion", "[relationship][self][tree]") {
    social db;
    auto tx = db.write();
    // A chain 10,000 deep: recursion in the cascade or a traversal would risk the stack.
    constexpr std::size_t depth = 10'000;
    const Category* leaf = &tx.insert(Category{.name = "root"});
    const std::int64_t root = leaf->id;
    for (std::size_t i = 0; i < depth; ++i) leaf = &tx.insert(Category{.name = "c", .parent_id = leaf->id});

    CHECK(tx.ancestors<parent_of>(*leaf).count() == depth);
    CHECK(tx.descendants<parent_of>(tx.get<categories>(root)).count() == depth);
    CHECK(tx.erase<categories>(root) == depth + 1);
    CHECK(tx.count<categories>() == 0);
}

TEST_CASE("traversals over a self-reference that holds cycles end, visiting each row once",
          "[relationship][self][cycle]") {
    social db;
    auto tx = db.write();
    const Employee& boss = tx.insert(Employee{.name = "boss"});
    const Employee& mid = tx.insert(Employee{.name = "mid", .manager_id = boss.id});
    const Employee& dev = tx.insert(Employee{.name = "dev", .manager_id = mid.id});

    CHECK(names(tx.ancestors<manager_of>(dev)) == strings{"mid", "boss"});
    CHECK_FALSE(tx.ancestors<manager_of>(dev).cyclic());

    SECTION("a cycle through the start") {
        tx.update(boss, [&](Employee& e) { e.manager_id = dev.id; });  // not declared acyclic: allowed
        auto up = tx.ancestors<manager_of>(dev);
        CHECK(up.cyclic());
        CHECK(names(up) == strings{"mid", "boss"});
        CHECK(names(tx.ancestors<manager_of>(boss)) == strings{"dev", "mid"});
        CHECK(names(tx.descendants<manager_of>(boss)) == strings{"mid", "dev"});
        CHECK(names(tx.descendants<manager_of>(dev)) == strings{"boss", "mid"});
    }
    SECTION("a chain that runs into a cycle above the start") {
        tx.update(boss, [&](Employee& e) { e.manager_id = mid.id; });  // mid <-> boss, dev below
        auto up = tx.ancestors<manager_of>(dev);
        CHECK(up.cyclic());
        CHECK(names(up) == strings{"mid", "boss"});
        CHECK(names(up.take(5)) == strings{"mid", "boss"});
        CHECK(names(up.drop(1)) == strings{"boss"});
        CHECK(up.drop(1).cyclic());
        CHECK(up.drop(2).empty());
        CHECK(names(up.reverse()) == strings{"boss", "mid"});
        CHECK(names(tx.descendants<manager_of>(mid)) == strings{"boss", "dev"});
    }
    SECTION("a row that is its own manager") {
        tx.update(boss, [&](Employee& e) { e.manager_id = boss.id; });
        auto up = tx.ancestors<manager_of>(boss);
        CHECK(up.cyclic());
        CHECK(up.empty());
        CHECK(names(tx.descendants<manager_of>(boss)) == strings{"mid", "dev"});
    }
    SECTION("erasing a manager sets the reports' key to null") {
        CHECK(tx.erase(mid) == 1);
        CHECK(dev.manager_id == std::nullopt);
        CHECK(tx.ancestors<manager_of>(dev).empty());
        CHECK(names(tx.descendants<manager_of>(boss)).empty());
    }
}

TEST_CASE("a long chain with a cycle at its top is measured without allocation or repeats",
          "[relationship][self][cycle]") {
    social db;
    auto tx = db.write();
    const Employee* top = &tx.insert(Employee{.name = "e"});
    const Employee* e = top;
    for (int i = 0; i < 999; ++i) e = &tx.insert(Employee{.name = "e", .manager_id = e->id});
    // Close a cycle of 10 at the top: top's manager is the 10th row down.
    const Employee& tenth = tx.get<employees>(top->id + 9);
    tx.update(*top, [&](Employee& x) { x.manager_id = tenth.id; });

    const std::size_t before = allocations();
    auto up = tx.ancestors<manager_of>(*e);
    const bool cyclic = up.cyclic();
    const std::size_t count = up.count();
    const std::size_t after = allocations();
    CHECK(after == before);
    // The counter does count: descendants() collects its rows.
    CHECK(tx.descendants<manager_of>(*top).count() == 999);
    CHECK(allocations() > after);
    CHECK(cyclic);
    CHECK(count == 999);  // every other row once
    std::vector<const Employee*> seen;
    for (const Employee& a : up) seen.push_back(&a);
    std::sort(seen.begin(), seen.end());
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

TEST_CASE("members following members: reachability both ways, cycles included", "[relationship][self][many-to-many]") {
    social db;
    auto tx = db.write();
    const Member& a = tx.insert(Member{.name = "a"});
    const Member& b = tx.insert(Member{.name = "b"});
    const Member& c = tx.insert(Member{.name = "c"});
    const Member& d = tx.insert(Member{.name = "d"});
    rs::link<follower, followee>(tx, a, b);
    rs::link<follower, followee>(tx, b, c);
    rs::link<follower, followee>(tx, c, a);  // a cycle a -> b -> c -> a
    rs::link<follower, followee>(tx, c, d);

    CHECK(names(tx.linked<follower, followee>(c)) == strings{"a", "d"});  // whom c follows
    CHECK(names(tx.linked<followee, follower>(a)) == strings{"c"});       // who follows a

    SECTION("reachable") {
        CHECK(names(tx.reachable<follower, followee>(a)) == strings{"b", "c", "d"});
        CHECK(names(tx.reachable<follower, followee>(a, 1)) == strings{"b"});
        CHECK(names(tx.reachable<follower, followee>(a, 2)) == strings{"b", "c"});
        CHECK(tx.reachable<follower, followee>(d).empty());
        CHECK(names(tx.reachable<followee, follower>(d)) == strings{"c", "b", "a"});  // followers, transitively
    }
    SECTION("is_reachable") {
        CHECK(tx.is_reachable<follower, followee>(a, d));
        CHECK_FALSE(tx.is_reachable<follower, followee>(d, a));
        CHECK(tx.is_reachable<follower, followee>(a, a));  // a is on a cycle
        CHECK_FALSE(tx.is_reachable<follower, followee>(d, d));
        CHECK_FALSE(tx.is_reachable<follower, followee>(a, d, 2));
        CHECK(tx.is_reachable<follower, followee>(a, d, 3));
    }
    SECTION("reachable takes, drops and reverses") {
        auto from_a = tx.reachable<follower, followee>(a);  // b, c, d
        static_assert(std::is_same_v<std::ranges::range_reference_t<decltype(from_a)>, const Member&>);
        CHECK(names(from_a.reverse()) == strings{"d", "c", "b"});
        CHECK(names(from_a.drop(1).take(1)) == strings{"c"});
        CHECK(names(from_a.take(2).reverse()) == strings{"c", "b"});
        CHECK(&from_a.front() == &b);
        CHECK(from_a.first() == &b);
        CHECK(from_a.count() == 3);
        CHECK(from_a.drop(3).first() == nullptr);
    }
    SECTION("a member may follow themselves") {
        rs::link<follower, followee>(tx, d, d);
        CHECK(tx.is_reachable<follower, followee>(d, d));
        CHECK(tx.reachable<follower, followee>(d).empty());
    }
    SECTION("following twice is refused; unfollowing breaks the path") {
        auto e = constraint_error_from([&] { rs::link<follower, followee>(tx, a, b); });
        CHECK(e.code() == rs::make_error_code(rs::errc::duplicate_key));
        CHECK(rs::unlink<follower, followee>(tx, c, d) == 1);
        CHECK_FALSE(tx.is_reachable<follower, followee>(a, d));
    }
    SECTION("erasing a member removes its follows both ways") {
        CHECK(tx.erase(c) == 4);  // c and its three follows
        CHECK(tx.count<follows>() == 1);
        CHECK(names(tx.reachable<follower, followee>(a)) == strings{"b"});
    }
}

TEST_CASE("walks over a self many-to-many pass by the links whose key was set to null", "[relationship][self][many-to-many][null]") {
    constexpr auto referrer = &Referral::referrer_id;
    constexpr auto referee = &Referral::referee_id;
    social db;
    auto tx = db.write();
    const Member& a = tx.insert(Member{.name = "a"});
    const Member& b = tx.insert(Member{.name = "b"});
    const Member& c = tx.insert(Member{.name = "c"});
    const Member& d = tx.insert(Member{.name = "d"});
    rs::link<referrer, referee>(tx, a, c);
    rs::link<referrer, referee>(tx, a, b);
    rs::link<referrer, referee>(tx, b, c);
    rs::link<referrer, referee>(tx, c, d);
    rs::link<referrer, referee>(tx, d, b);
    tx.erase(c);  // a -> null, b -> null, null -> d: the referrals stay, leading nowhere
    REQUIRE(tx.count<referrals>() == 5);

    CHECK(names(tx.reachable<referrer, referee>(a)) == strings{"b"});
    CHECK(tx.reachable<referrer, referee>(b).empty());
    CHECK(tx.is_reachable<referrer, referee>(a, b));
    CHECK_FALSE(tx.is_reachable<referrer, referee>(a, d));
    CHECK_FALSE(tx.is_reachable<referrer, referee>(b, b));
    CHECK(names(tx.reachable<referee, referrer>(b)) == strings{"a", "d"});  // who referred b, transitively
    CHECK(tx.reachable<referee, referrer>(d).empty());                     // its referrer is gone
    CHECK_FALSE(tx.is_reachable<referee, referrer>(d, a));
    CHECK(tx.count<referrals>() == 5);
}

}  // namespace self_reference_test
