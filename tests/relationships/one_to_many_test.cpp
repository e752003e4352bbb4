// One-to-many and many-to-one from one foreign-key declaration, single and
// composite, and the checks on the foreign key itself.
#include <catch2/catch.hpp>

#include "alloc_counter.hpp"
#include "expect.hpp"
#include "schemas.hpp"
#include "store_image.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace one_to_many_test {

using namespace rel;
using relstore_test::allocations;

namespace {

template <class Range>
std::vector<std::string> titles(const Range& r) {
    std::vector<std::string> out;
    for (const Post& p : r) out.push_back(p.title);
    return out;
}

}  // namespace

TEST_CASE("a user's posts and a post's author come from the one foreign key", "[relationship][one-to-many]") {
    blog db;
    auto tx = db.write();
    const User& naruto = tx.insert(User{.name = "Naruto"});
    const User& sasuke = tx.insert(User{.name = "Sasuke"});
    const Post& p1 = tx.insert(Post{.title = "Post 1", .author_id = naruto.id});
    tx.insert(Post{.title = "Other", .author_id = sasuke.id});
    const Post& p2 = tx.insert(Post{.title = "Post 2", .author_id = naruto.id});

    CHECK(titles(tx.children<&Post::author_id>(naruto)) == std::vector<std::string>{"Post 1", "Post 2"});
    CHECK(&*tx.children<&Post::author_id>(naruto).begin() == &p1);  // the stored row, not a copy
    CHECK(&tx.parent<&Post::author_id>(p2) == &naruto);
    CHECK(tx.count_children<&Post::author_id>(naruto) == 2);
    CHECK(tx.count_children<&Post::author_id>(sasuke) == 1);
    tx.commit();

    auto q = db.read();
    const User& n = q.get<users>(naruto.id);
    CHECK(titles(q.children<&Post::author_id>(n)) == std::vector<std::string>{"Post 1", "Post 2"});
    for (const Post& p : q.children<&Post::author_id>(n)) CHECK(&q.parent<&Post::author_id>(p) == &n);
}

TEST_CASE("changing a post's author_id moves it between users' posts at once", "[relationship][one-to-many]") {
    blog db;
    auto tx = db.write();
    const User& a = tx.insert(User{.name = "a"});
    const User& b = tx.insert(User{.name = "b"});
    const Post& post = tx.insert(Post{.title = "moving", .author_id = a.id});
    tx.insert(Post{.title = "staying", .author_id = a.id});

    tx.update(post, [&](Post& p) { p.author_id = b.id; });

    // No flush: both directions read the one stored fact, inside the transaction.
    CHECK(titles(tx.children<&Post::author_id>(a)) == std::vector<std::string>{"staying"});
    CHECK(titles(tx.children<&Post::author_id>(b)) == std::vector<std::string>{"moving"});
    CHECK(tx.parent<&Post::author_id>(post).name == "b");
    CHECK(titles(tx.where<&Post::author_id>(b.id)) == std::vector<std::string>{"moving"});

    SECTION("and a rollback moves it back") {
        tx.rollback();
        auto q = db.read();
        CHECK(q.count<posts>() == 0);
    }
    SECTION("and the move is what commits") {
        tx.commit();
        auto q = db.read();
        const User& qb = q.get<users>(std::int64_t{2});
        CHECK(titles(q.children<&Post::author_id>(qb)) == std::vector<std::string>{"moving"});
    }
}

TEST_CASE("set re-parents a child in place: no copy of the row, and rollback moves it back",
          "[relationship][one-to-many][set]") {
    blog db;
    {
        auto tx = db.write();
        const User& a = tx.insert(User{.name = "a"});
        tx.insert(User{.name = "b"});
        for (int i = 0; i < 10; ++i)
            tx.insert(Post{.title = "a title long enough to live on the heap " + std::to_string(i), .author_id = a.id,
                           .created = i});
        tx.commit();
    }
    auto tx = db.write();
    const User& a = tx.get<users>(std::int64_t{1});
    const User& b = tx.get<users>(std::int64_t{2});
    const Post& first = tx.get<posts>(std::int64_t{1});
    {
        auto warm = tx.savepoint();  // grows the undo log; rolling back keeps its capacity
        for (std::int64_t id = 1; id <= 10; ++id) tx.set<&Post::author_id>(tx.get<posts>(id), b.id);
    }
    CHECK(tx.count_children<&Post::author_id>(a) == 10);
    const std::size_t before = allocations();
    for (std::int64_t id = 1; id <= 10; ++id) tx.set<&Post::author_id>(tx.get<posts>(id), b.id);
    CHECK(allocations() == before);  // a copy of a post would copy its title
    CHECK(tx.count_children<&Post::author_id>(a) == 0);
    CHECK(titles(tx.children<&Post::author_id>(b)).size() == 10);
    CHECK(&tx.parent<&Post::author_id>(first) == &b);
    // The ordered (author_id, created) index moved them too.
    CHECK(tx.children_by<&Post::author_id, &Post::created>(b).first() == &first);
    SECTION("rollback moves them back, in every index") {
        tx.rollback();
        auto q = db.read();
        CHECK(q.count_children<&Post::author_id>(q.get<users>(std::int64_t{1})) == 10);
        CHECK(q.count_children<&Post::author_id>(q.get<users>(std::int64_t{2})) == 0);
        CHECK(q.children_by<&Post::author_id, &Post::created>(q.get<users>(std::int64_t{1})).first() ==
              &q.get<posts>(std::int64_t{1}));
    }
    SECTION("a parent that does not exist is refused before anything moves") {
        auto e = constraint_error_from([&] { tx.set<&Post::author_id>(first, std::int64_t{99}); });
        CHECK(e.code() == relstore::make_error_code(relstore::errc::foreign_key_violation));
        CHECK(std::string(e.what()) == "posts.author_id = 99 references no row in users");
        CHECK(&tx.parent<&Post::author_id>(first) == &b);
    }
}

namespace hashed {

// Every index hashed: set() on the foreign key takes the node out of the
// container and links it back instead of Boost's modify(), which would walk
// the new writer's whole group of notes first.
struct Writer {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Writer, id, name)
struct Note {
    std::int64_t id{};
    std::string slug;
    std::int64_t writer_id{};
    std::optional<std::int64_t> editor_id;
};
RELSTORE_FIELDS(Note, id, slug, writer_id, editor_id)
using writers = rs::table<"writers", Writer, rs::hashed_auto_key<&Writer::id>, rs::unique<&Writer::name>>;
using notes = rs::table<"notes", Note, rs::hashed_auto_key<&Note::id>, rs::unique<&Note::slug>,
                        rs::hashed_references<&Note::writer_id, writers>,
                        rs::hashed_references<&Note::editor_id, writers, rs::on_delete::set_null>>;
using desk = rs::store<writers, notes>;

std::vector<std::int64_t> note_ids(const auto& range) {
    std::vector<std::int64_t> out;
    for (const Note& n : range) out.push_back(n.id);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace hashed

TEST_CASE("set re-parents a child in a table of hashed indexes: same row, every index right, rollback moves it back",
          "[relationship][one-to-many][set]") {
    using namespace hashed;
    using relstore_test::capture;
    using relstore_test::check_consistent;
    using relstore_test::diff;
    desk db;
    {
        auto tx = db.write();
        for (const char* name : {"a", "b", "c"}) tx.insert(Writer{.name = name});
        // Groups of 1, 2 and many rows, so that every shape of Boost's
        // groups of equal keys is left and joined.
        for (int i = 0; i < 40; ++i)
            tx.insert(Note{.slug = "a note slug long enough to live on the heap " + std::to_string(i),
                           .writer_id = i < 30 ? 1 : (i < 32 ? 2 : 3)});
        tx.commit();
    }
    const auto before = relstore_test::capture_store(db);
    auto tx = db.write();
    const Writer& a = tx.get<writers>(std::int64_t{1});
    const Writer& b = tx.get<writers>(std::int64_t{2});
    const Writer& c = tx.get<writers>(std::int64_t{3});
    {
        auto warm = tx.savepoint();  // grows the undo log; rolling back keeps its capacity
        for (std::int64_t id = 1; id <= 40; ++id) {
            tx.set<&Note::writer_id>(tx.get<notes>(id), b.id);
            tx.set<&Note::editor_id>(tx.get<notes>(id), std::optional<std::int64_t>(a.id));
        }
    }
    CHECK(tx.count_children<&Note::writer_id>(a) == 30);
    const Note& moved = tx.get<notes>(std::int64_t{5});
    const std::size_t allocs = allocations();
    CHECK(&tx.set<&Note::writer_id>(moved, b.id) == &moved);  // the stored row itself, not a copy
    tx.set<&Note::writer_id>(tx.get<notes>(std::int64_t{31}), c.id);  // b's group of 2 loses one
    tx.set<&Note::writer_id>(tx.get<notes>(std::int64_t{33}), a.id);
    tx.set<&Note::editor_id>(tx.get<notes>(std::int64_t{6}), std::optional<std::int64_t>(c.id));
    CHECK(allocations() == allocs);  // a copy of a note would copy its slug
    CHECK(moved.writer_id == b.id);
    CHECK(&tx.parent<&Note::writer_id>(moved) == &b);
    CHECK(note_ids(tx.children<&Note::writer_id>(b)) == std::vector<std::int64_t>{5, 32});
    CHECK(tx.count_children<&Note::writer_id>(a) == 30);  // lost 5, gained 33
    CHECK(tx.count_children<&Note::writer_id>(c) == 8);   // gained 31, lost 33
    CHECK(&tx.get<notes>(std::int64_t{5}) == &moved);  // still found by its key
    CHECK(tx.find<&Note::slug>(moved.slug) == &moved);  // and by its unique slug
    CHECK(tx.count<notes>() == 40);
    CHECK(tx.where<&Note::editor_id>(std::optional<std::int64_t>(c.id)).first() == &tx.get<notes>(std::int64_t{6}));
    CHECK(check_consistent(capture(tx)) == "");
    SECTION("a parent that does not exist is refused and nothing moves") {
        auto e = constraint_error_from([&] { tx.set<&Note::writer_id>(moved, std::int64_t{99}); });
        CHECK(std::string(e.what()) == "notes.writer_id = 99 references no row in writers");
        CHECK(&tx.parent<&Note::writer_id>(moved) == &b);
        CHECK(tx.count<notes>() == 40);
    }
    SECTION("rollback moves every row back, in every index") {
        tx.rollback();
        CHECK(diff(before, relstore_test::capture_store(db)) == "");
        auto q = db.read();
        CHECK(q.count_children<&Note::writer_id>(q.get<writers>(std::int64_t{1})) == 30);
        CHECK(note_ids(q.children<&Note::writer_id>(q.get<writers>(std::int64_t{2}))) ==
              std::vector<std::int64_t>{31, 32});
        CHECK(q.get<notes>(std::int64_t{6}).editor_id == std::nullopt);
    }
    SECTION("commit keeps the moves") {
        tx.commit();
        auto q = db.read();
        CHECK(note_ids(q.children<&Note::writer_id>(q.get<writers>(std::int64_t{2}))) ==
              std::vector<std::int64_t>{5, 32});
        CHECK(q.get<notes>(std::int64_t{33}).writer_id == 1);
        CHECK(check_consistent(relstore_test::capture_store(db)) == "");
    }
}

TEST_CASE("set on one column of a composite foreign key checks the key as a whole",
          "[relationship][one-to-many][composite][set]") {
    warehouse db;
    auto tx = db.write();
    const Shelf& a1 = tx.insert(Shelf{1, 1, "A1"});
    tx.insert(Shelf{1, 2, "A2"});
    tx.insert(Shelf{2, 1, "B1"});
    const Item& bolt = tx.insert(Item{.name = "bolt", .aisle = 1, .shelf = 2});
    tx.set<&Item::shelf>(bolt, std::int32_t{1});
    CHECK(tx.children<&Item::aisle, &Item::shelf>(a1).first() == &bolt);
    auto e = constraint_error_from([&] { tx.set<&Item::aisle>(bolt, std::int32_t{3}); });
    CHECK(e.code() == relstore::make_error_code(relstore::errc::foreign_key_violation));
    CHECK(std::string(e.what()) == "items.(aisle, shelf) = (3, 1) references no row in shelves");
    tx.set<&Item::aisle>(bolt, std::int32_t{2});
    CHECK(tx.parent<&Item::aisle, &Item::shelf>(bolt).label == "B1");
}

TEST_CASE("erasing a post removes it from its author's posts at once", "[relationship][one-to-many][delete]") {
    blog db;
    auto tx = db.write();
    const User& a = tx.insert(User{.name = "a"});
    const Post& gone = tx.insert(Post{.title = "gone", .author_id = a.id});
    tx.insert(Post{.title = "kept", .author_id = a.id});

    CHECK(tx.erase(gone) == 1);
    CHECK(titles(tx.children<&Post::author_id>(a)) == std::vector<std::string>{"kept"});
    CHECK(tx.count_children<&Post::author_id>(a) == 1);
    CHECK(tx.erase<posts>(std::int64_t{1}) == 0);  // already gone: nothing to erase
}

TEST_CASE("a post whose author matches no user is refused, naming the column and value",
          "[relationship][integrity]") {
    blog db;
    auto tx = db.write();
    const User& a = tx.insert(User{.name = "a"});
    const Post& post = tx.insert(Post{.title = "t", .author_id = a.id});

    SECTION("on insert") {
        auto e = constraint_error_from([&] { tx.insert(Post{.title = "dangling", .author_id = 99}); });
        CHECK(e.code() == relstore::make_error_code(relstore::errc::foreign_key_violation));
        CHECK(e.table() == "posts");
        CHECK(e.columns() == "author_id");
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("posts.author_id = 99 references no row in users"));
        CHECK(tx.count<posts>() == 1);
    }
    SECTION("on update, leaving the row as it was") {
        auto e = constraint_error_from([&] { tx.update(post, [](Post& p) { p.author_id = 42; }); });
        CHECK(e.code() == relstore::make_error_code(relstore::errc::foreign_key_violation));
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("posts.author_id = 42 references no row in users"));
        CHECK(post.author_id == a.id);
        CHECK(tx.count_children<&Post::author_id>(a) == 1);
    }
    // The transaction stays usable after a refused write.
    tx.insert(Post{.title = "after", .author_id = a.id});
    CHECK(tx.count_children<&Post::author_id>(a) == 2);
}

TEST_CASE("an optional foreign key may be null, and then has no parent", "[relationship][integrity]") {
    blog db;
    auto tx = db.write();
    const User& a = tx.insert(User{.name = "a"});
    const User& ed = tx.insert(User{.name = "editor"});
    const Post& post = tx.insert(Post{.title = "t", .author_id = a.id});  // editor_id null

    CHECK(tx.parent<&Post::editor_id>(post) == nullptr);
    CHECK(tx.count_children<&Post::editor_id>(ed) == 0);

    tx.update(post, [&](Post& p) { p.editor_id = ed.id; });
    CHECK(tx.parent<&Post::editor_id>(post) == &ed);
    CHECK(tx.children<&Post::editor_id>(ed).first() == &post);

    auto e = constraint_error_from([&] { tx.update(post, [](Post& p) { p.editor_id = 7; }); });
    CHECK(e.code() == relstore::make_error_code(relstore::errc::foreign_key_violation));
    CHECK_THAT(e.what(), Catch::Matchers::StartsWith("posts.editor_id = 7 references no row in users"));
    CHECK(tx.parent<&Post::editor_id>(post) == &ed);

    tx.update(post, [](Post& p) { p.editor_id.reset(); });
    CHECK(tx.parent<&Post::editor_id>(post) == nullptr);
    CHECK(tx.children<&Post::editor_id>(ed).empty());
}

TEST_CASE("a composite foreign key navigates both ways and is checked as a whole",
          "[relationship][one-to-many][composite]") {
    warehouse db;
    auto tx = db.write();
    const Shelf& a1 = tx.insert(Shelf{1, 1, "A1"});
    const Shelf& a2 = tx.insert(Shelf{1, 2, "A2"});
    const Shelf& b1 = tx.insert(Shelf{2, 1, "B1"});
    const Item& bolt = tx.insert(Item{.name = "bolt", .aisle = 1, .shelf = 2});
    tx.insert(Item{.name = "nut", .aisle = 1, .shelf = 2});
    tx.insert(Item{.name = "gear", .aisle = 2, .shelf = 1});

    SECTION("navigation") {
        CHECK(tx.count_children<&Item::aisle, &Item::shelf>(a1) == 0);
        CHECK(tx.count_children<&Item::aisle, &Item::shelf>(a2) == 2);
        CHECK(tx.children<&Item::aisle, &Item::shelf>(b1).first()->name == "gear");
        CHECK(&tx.parent<&Item::aisle, &Item::shelf>(bolt) == &a2);
    }
    SECTION("moving an item to another shelf") {
        tx.update(bolt, [](Item& i) { i.shelf = 1; });
        CHECK(tx.count_children<&Item::aisle, &Item::shelf>(a2) == 1);
        CHECK(tx.children<&Item::aisle, &Item::shelf>(a1).first() == &bolt);
        CHECK(tx.parent<&Item::aisle, &Item::shelf>(bolt).label == "A1");
    }
    SECTION("a key whose columns each exist but not together is refused") {
        // Aisle 2 exists and shelf number 2 exists, but there is no shelf (2, 2).
        auto e = constraint_error_from([&] { tx.insert(Item{.name = "x", .aisle = 2, .shelf = 2}); });
        CHECK(e.code() == relstore::make_error_code(relstore::errc::foreign_key_violation));
        CHECK(e.table() == "items");
        CHECK(e.columns() == "(aisle, shelf)");
        CHECK_THAT(e.what(), Catch::Matchers::StartsWith("items.(aisle, shelf) = (2, 2) references no row in shelves"));
        CHECK(tx.count<items>() == 3);
    }
    SECTION("erasing a shelf cascades to its items only") {
        CHECK(tx.erase(a2) == 3);
        CHECK(tx.count<items>() == 1);
        CHECK(tx.count<shelves>() == 2);
        CHECK(tx.all<items>().first()->name == "gear");
    }
}

}  // namespace one_to_many_test
