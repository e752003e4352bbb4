// Large loads: a child table's rows are inserted grouped by their parent
// (its nodes then lie together), tables are decoded in parallel, and
// foreign keys are checked from the values collected while decoding. None
// of it may change what a load gives or what it refuses: the same store,
// and the error of the first offending row in file order, of the first
// table in the program's order.

#include "temp_dir.hpp"
#include "checks.hpp"
#include "store_image.hpp"
#include "thread_starts.hpp"

#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <variant>
#include <vector>

namespace load_test {

namespace rs = relstore;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using relstore_test::capture_store;
using relstore_test::check_consistent;
using relstore_test::diff;

namespace big {

struct User {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(User, id, name)

struct Post {
    std::int64_t id{};
    std::int64_t author_id{};
    std::string title;
};
RELSTORE_FIELDS(Post, id, author_id, title)

struct Task {  // a nullable one-to-many key, and an ordered one behind it
    std::int64_t id{};
    std::optional<std::int64_t> owner_id;
    std::int64_t post_id{};
    std::string note;
};
RELSTORE_FIELDS(Task, id, owner_id, post_id, note)

using users = rs::table<"users", User, rs::hashed_auto_key<&User::id>, rs::unique<&User::name>>;
using posts = rs::table<"posts", Post, rs::hashed_auto_key<&Post::id>,
                        rs::hashed_references<&Post::author_id, users, rs::on_delete::cascade>>;
using tasks = rs::table<"tasks", Task, rs::auto_key<&Task::id>,
                        rs::hashed_references<&Task::owner_id, users, rs::on_delete::set_null>,
                        rs::references<&Task::post_id, posts, rs::on_delete::cascade>>;
using store = rs::store<users, posts, tasks>;

// The same posts with one more column, as an older program saved them.
struct OldPost {
    std::int64_t id{};
    std::int64_t author_id{};
    std::string title;
    std::string draft;
};
RELSTORE_FIELDS(OldPost, id, author_id, title, draft)
using old_posts = rs::table<"posts", OldPost, rs::hashed_auto_key<&OldPost::id>,
                            rs::hashed_references<&OldPost::author_id, users, rs::on_delete::cascade>>;
using old_store = rs::store<users, old_posts>;

constexpr int n_users = 500;  // for the crafted files

std::string title(std::uint64_t i) { return "a post title of some length, number " + std::to_string(i); }

/// Users, then posts and tasks whose parents are drawn at random: in key
/// order (file order) the children of one parent are scattered.
void fill(store& db, int n_posts, int users, std::uint64_t seed = 1) {
    std::mt19937_64 rng(seed);
    auto tx = db.write();
    for (int u = 0; u < users; ++u) tx.insert(User{0, "user " + std::to_string(u)});
    for (int p = 0; p < n_posts; ++p)
        tx.insert(Post{0, static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(users)), title(rng())});
    for (int t = 0; t < n_posts / 4; ++t) {
        std::optional<std::int64_t> owner;  // a few null: a store image lists each null's equals
        if (rng() % 32 != 0) owner = static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(users));
        tx.insert(Task{0, owner, static_cast<std::int64_t>(1 + rng() % n_posts),
                       "a note long enough for the rows to be grouped, " + std::to_string(t)});
    }
    tx.erase<posts>(std::int64_t{7});  // next keys run ahead of the largest key
    tx.commit();
}

struct temp_dir : relstore_test::temp_dir {
    temp_dir() : relstore_test::temp_dir("relstore-load") {}
};

/// True when the children of every parent lie next to each other in the
/// child table's pool (consecutive blocks), as a grouped load lays them out.
template <auto Fk, class Child, class Store, class Parents>
bool children_side_by_side(const Store& db, const Parents& parent_keys) {
    auto q = db.read();
    const std::size_t block = db.template state<Child>().pool().block_size();
    for (const auto key : parent_keys) {
        std::vector<const char*> at;
        for (const auto& c : q.template children<Fk>(key)) at.push_back(reinterpret_cast<const char*>(&c));
        std::sort(at.begin(), at.end());
        for (std::size_t i = 1; i < at.size(); ++i)
            if (static_cast<std::size_t>(at[i] - at[i - 1]) != block) return false;
    }
    return true;
}

using V = std::vector<rs::value>;
using rows = std::vector<V>;

/// A snapshot of `store` with the given rows per table (next auto key 1,000,000).
void write_rows(const fs::path& p, const rows& u, const rows& po, const rows& t = {}) {
    rs::snapshot_writer w(rs::describe<store>());
    const rows* all[] = {&u, &po, &t};
    for (std::size_t i = 0; i < 3; ++i) {
        w.begin_table(i);
        for (const auto& r : *all[i]) w.put_row(r);
        w.end_table(all[i]->size(), 1000000);
    }
    rs::write_snapshot_file(p, w.finish());
}

rows some_users(int n) {
    rows out;
    for (int u = 1; u <= n; ++u) out.push_back(V{std::int64_t{u}, "user " + std::to_string(u)});
    return out;
}

/// Posts 1..n, each with author `author(i)`.
template <class F>
rows some_posts(int n, F&& author) {
    rows out;
    for (int i = 1; i <= n; ++i) out.push_back(V{std::int64_t{i}, std::int64_t{author(i)}, title(static_cast<std::uint64_t>(i))});
    return out;
}

/// True when b holds exactly a's rows (by key, every column), for stores too
/// large for a store image.
bool same_rows(const store& a, const store& b) {
    auto qa = a.read();
    auto qb = b.read();
    if (qa.count<users>() != qb.count<users>() || qa.count<posts>() != qb.count<posts>() ||
        qa.count<tasks>() != qb.count<tasks>())
        return false;
    for (const User& u : qa.all<users>()) {
        const User* v = qb.find<users>(u.id);
        if (!v || v->name != u.name) return false;
    }
    for (const Post& p : qa.all<posts>()) {
        const Post* q = qb.find<posts>(p.id);
        if (!q || q->author_id != p.author_id || q->title != p.title) return false;
    }
    for (const Task& t : qa.all<tasks>()) {
        const Task* u = qb.find<tasks>(t.id);
        if (!u || u->owner_id != t.owner_id || u->post_id != t.post_id || u->note != t.note) return false;
    }
    return true;
}

std::string load_error(store& db, const fs::path& p) {
    try {
        rs::load(db, p);
    } catch (const rs::snapshot_error& e) {
        return e.what();
    }
    return "loaded";
}

}  // namespace big

using namespace big;

/// A store of 20,000 posts and 4,000 users, saved to p.
struct saved_big {
    temp_dir dir;
    store a;
    fs::path p = dir.path / "a.snap";
    saved_big() {
        fill(a, 20000, 4000);
        rs::save(a, p);
    }
};

TEST_CASE_METHOD(saved_big, "a large load groups children by their parent and gives the very store that was saved",
                 "[snapshot][load][grouped]") {
    store b;
    rs::load(b, p);
    CHECK(diff(capture_store(a), capture_store(b), false) == "");
    CHECK(check_consistent(capture_store(b)) == "");
    // Grouped: each user's posts are consecutive blocks of the posts' pool
    // (in key order, as the source inserted them, they are not).
    std::vector<std::int64_t> some{1, 2, 250, 4000};
    CHECK_FALSE(children_side_by_side<&Post::author_id, posts>(a, some));
    CHECK(children_side_by_side<&Post::author_id, posts>(b, some));
    // Tasks group by their nullable owner; the null ones go first.
    CHECK(children_side_by_side<&Task::owner_id, tasks>(b, some));
    // And the loaded store saves to the same bytes and keeps working.
    rs::save(b, dir.path / "b.snap");
    CHECK(rs::read_snapshot_file(dir.path / "a.snap") == rs::read_snapshot_file(dir.path / "b.snap"));
    auto tx = b.write();
    CHECK(tx.insert(Post{0, 3, "new"}).id == 20001);
    CHECK(tx.erase<users>(std::int64_t{3}) > 1);
    tx.commit();
}

TEST_CASE_METHOD(saved_big, "a reload into a live store reuses the slabs of the contents it replaces, and gives the same store",
                 "[snapshot][load][memory]") {
    rs::release_cached_memory();
    store b;
    rs::load(b, p);
    const auto first_post = [](const store& db) {  // compared as an address only
        return reinterpret_cast<std::uintptr_t>(&*db.read().all<posts>().begin());
    };
    const std::uintptr_t old_first = first_post(b);
    CHECK(rs::cached_memory_bytes() < (std::size_t{1} << 16));  // the empty tables' first slabs only
    // The reload: new contents built beside the old, then the old destroyed.
    rs::load(b, p);
    const std::size_t kept = rs::cached_memory_bytes();
    CHECK(kept > (std::size_t{1} << 20));
    const std::uintptr_t second_first = first_post(b);
    CHECK(second_first != old_first);
    // The next reload takes those slabs: its posts lie where the first
    // load's did, and the cache gave them up for the ones just replaced.
    rs::load(b, p);
    CHECK(first_post(b) == old_first);
    CHECK(diff(capture_store(a), capture_store(b), false) == "");
    CHECK(check_consistent(capture_store(b)) == "");
    CHECK(rs::release_cached_memory() > 0);
}

namespace {

/// Table ti's rows as the file holds them, front to back.
rows rows_in_file(const fs::path& p, std::size_t ti) {
    const auto r = rs::snapshot_reader::open(p);
    const auto& cols = r.schema().tables[ti].columns;
    rows out;
    auto cur = r.rows(ti);
    for (std::uint64_t i = 0; i < r.table(ti).row_count; ++i) {
        V row;
        for (const auto& c : cols) row.push_back(cur.get_value(c.type));
        out.push_back(std::move(row));
    }
    cur.finish();
    return out;
}

/// True when rows are ordered as a grouped load inserts them: nulls in
/// column fk first, then by fk ascending, by key (column 0) within each.
bool grouped_by(const rows& rs_, std::size_t fk) {
    const auto rank = [&](const V& r) {
        const bool null = std::holds_alternative<std::monostate>(r[fk]);
        return std::tuple(!null, null ? 0 : std::get<std::int64_t>(r[fk]), std::get<std::int64_t>(r[0]));
    };
    for (std::size_t i = 1; i < rs_.size(); ++i)
        if (!(rank(rs_[i - 1]) < rank(rs_[i]))) return false;
    return true;
}

bool in_key_order(const rows& rs_) {
    for (std::size_t i = 1; i < rs_.size(); ++i)
        if (!(std::get<std::int64_t>(rs_[i - 1][0]) < std::get<std::int64_t>(rs_[i][0]))) return false;
    return true;
}

}  // namespace

// A save writes a table a load inserts grouped by a foreign key in that very
// order, so that the load reads the file front to back; the order depends on
// the rows alone, so equal stores still give equal files.
TEST_CASE("a large save writes children grouped by their parent, as a load inserts them",
          "[snapshot][load][grouped]") {
    temp_dir dir;
    store a;
    fill(a, 20000, 4000);
    const auto p = dir.path / "a.snap";
    rs::save(a, p);
    const auto file_posts = rows_in_file(p, 1), file_tasks = rows_in_file(p, 2);
    REQUIRE(file_posts.size() == 19999);
    CHECK(grouped_by(file_posts, 1));
    CHECK_FALSE(in_key_order(file_posts));
    // Tasks by their nullable owner: the rows without one first.
    REQUIRE(file_tasks.size() == 5000);
    CHECK(std::holds_alternative<std::monostate>(file_tasks.front()[1]));
    CHECK(grouped_by(file_tasks, 1));
    // Users have no foreign key: key order.
    CHECK(in_key_order(rows_in_file(p, 0)));

    SECTION("the same bytes from a store built in another order, from the stream save, and after a load") {
        store b;
        {
            // The same rows inserted newest first: other nodes, other buckets.
            auto q = a.read();
            auto tx = b.write();
            std::vector<User> us(q.all<users>().begin(), q.all<users>().end());
            std::vector<Post> ps(q.all<posts>().begin(), q.all<posts>().end());
            std::vector<Task> ts(q.all<tasks>().begin(), q.all<tasks>().end());
            for (auto it = us.rbegin(); it != us.rend(); ++it) tx.insert(*it);
            for (auto it = ps.rbegin(); it != ps.rend(); ++it) tx.insert(*it);
            for (auto it = ts.rbegin(); it != ts.rend(); ++it) tx.insert(*it);
            tx.commit();
        }
        rs::save(b, dir.path / "b.snap", {.in_child_process = false});
        CHECK(rs::read_snapshot_file(p) == rs::read_snapshot_file(dir.path / "b.snap"));
        std::ostringstream stream;
        rs::save(a, stream);
        const auto bytes = rs::read_snapshot_file(p);
        CHECK(stream.str() == std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
        store c;
        rs::load(c, p);
        CHECK(same_rows(a, c));
        rs::save(c, dir.path / "c.snap");
        CHECK(rs::read_snapshot_file(p) == rs::read_snapshot_file(dir.path / "c.snap"));
    }
    SECTION("a table below the load's grouping size stays in key order") {
        store small;
        fill(small, 4000, 400);  // 3,999 posts: fewer than a grouped load takes
        rs::save(small, dir.path / "small.snap");
        CHECK(in_key_order(rows_in_file(dir.path / "small.snap", 1)));
    }
    SECTION("parent keys too sparse for the load's counting sort stay in key order") {
        store sparse;
        {
            auto tx = sparse.write();
            tx.insert(User{1, "first"});
            tx.insert(User{1000000, "far"});
            for (int i = 0; i < 5000; ++i)
                tx.insert(Post{0, i % 2 == 0 ? 1 : 1000000, title(static_cast<std::uint64_t>(i))});
            tx.commit();
        }
        rs::save(sparse, dir.path / "sparse.snap");
        const auto file = rows_in_file(dir.path / "sparse.snap", 1);
        CHECK(in_key_order(file));
        CHECK_FALSE(grouped_by(file, 1));
        store back;
        rs::load(back, dir.path / "sparse.snap");
        CHECK(same_rows(sparse, back));
    }
}

// The grouping of a hashed table takes each row's parent key while it
// collects the row's key; a nullable one is the case the stores above lack.
namespace notes {
struct Note {
    std::int64_t id{};
    std::optional<std::int64_t> owner_id;
    std::string text;
};
RELSTORE_FIELDS(Note, id, owner_id, text)
using table = rs::table<"notes", Note, rs::hashed_auto_key<&Note::id>,
                        rs::hashed_references<&Note::owner_id, users, rs::on_delete::set_null>>;
using store = rs::store<users, table>;
}  // namespace notes

TEST_CASE("a large save writes a hashed table's children grouped by a nullable parent, the nulls first",
          "[snapshot][load][grouped]") {
    temp_dir dir;
    notes::store a;
    std::mt19937_64 rng(9);
    {
        auto tx = a.write();
        for (int u = 0; u < 300; ++u) tx.insert(User{0, "user " + std::to_string(u)});
        for (int i = 0; i < 6000; ++i) {
            std::optional<std::int64_t> owner;
            if (rng() % 8 != 0) owner = static_cast<std::int64_t>(1 + rng() % 300);
            tx.insert(notes::Note{0, owner, title(rng())});
        }
        tx.commit();
    }
    const auto p = dir.path / "notes.snap";
    rs::save(a, p);
    const auto file = rows_in_file(p, 1);
    REQUIRE(file.size() == 6000);
    CHECK(std::holds_alternative<std::monostate>(file.front()[1]));
    CHECK_FALSE(std::holds_alternative<std::monostate>(file.back()[1]));
    CHECK(grouped_by(file, 1));
    notes::store b;
    rs::load(b, p);
    rs::save(b, dir.path / "again.snap");
    CHECK(rs::read_snapshot_file(p) == rs::read_snapshot_file(dir.path / "again.snap"));
    auto qa = a.read();
    auto qb = b.read();
    REQUIRE(qb.count<notes::table>() == 6000);
    for (const notes::Note& n : qa.all<notes::table>()) {
        const notes::Note* m = qb.find<notes::table>(n.id);
        REQUIRE(m != nullptr);
        CHECK((m->owner_id == n.owner_id && m->text == n.text));
    }
}

// A grouped load prefetches each row's bucket in the indexes it is not
// grouped by, at an address learned from Boost.MultiIndex's structure
// (relstore/detail/bucket_prefetch.hpp). A prefetch of a wrong address is
// harmless but slow, so this checks the address: the bucket it names must
// hold its bucket's first node, as the real bucket does.
template <class T, class S>
void check_bucket_slots(const rs::detail::table_state<T>& st, const rs::detail::bucket_prefetch<T>& pf,
                        std::size_t k) {
    const auto& idx = st.rows.template get<S>();
    std::size_t checked = 0;
    for (auto it = idx.begin(); it != idx.end() && checked < 500; ++it, ++checked) {
        const std::size_t n = idx.bucket(idx.key_extractor()(*it));
        const void* slot = pf.slot(k, n);
        REQUIRE(slot != nullptr);
        const void* first = &*idx.begin(n).get_node()->impl();
        CHECK(*static_cast<const void* const*>(slot) == first);
        // ...and from that node, the row a file-order load prefetches.
        CHECK(pf.head_row(k, n) == static_cast<const void*>(&*idx.begin(n)));
    }
    CHECK(checked == std::min<std::size_t>(500, idx.size()));
    std::size_t empty = 0;
    while (empty < idx.bucket_count() && idx.bucket_size(empty) != 0) ++empty;
    REQUIRE(empty < idx.bucket_count());
    CHECK(pf.head_row(k, empty) == nullptr);
}

TEST_CASE("a load learns where each hashed index keeps its buckets", "[snapshot][load][grouped]") {
    using key_spec = rs::hashed_auto_key<&Post::id>;
    using fk_spec = rs::hashed_references<&Post::author_id, users, rs::on_delete::cascade>;
    store db;
    rs::detail::bucket_prefetch<posts> pf;
    pf.learn(db.state<posts>());
    CHECK(pf.slot(0, 0) == nullptr);  // an empty table has nothing to learn from
    CHECK(pf.slot(1, 0) == nullptr);
    CHECK(pf.head_row(0, 0) == nullptr);
    fill(db, 3000, 200);
    auto& st = db.state<posts>();
    pf.learn(st);
    check_bucket_slots<posts, key_spec>(st, pf, 0);
    check_bucket_slots<posts, fk_spec>(st, pf, 1);
    // A rehash moves the buckets; the next learn follows them.
    const void* before = pf.slot(0, 0);
    st.rows.get<key_spec>().rehash(4 * st.rows.get<key_spec>().bucket_count());
    pf.learn(st);
    CHECK(pf.slot(0, 0) != before);
    check_bucket_slots<posts, key_spec>(st, pf, 0);
    check_bucket_slots<posts, fk_spec>(st, pf, 1);
}

TEST_CASE("a large load of an older schema groups its rows too", "[snapshot][load][grouped][evolution]") {
    temp_dir dir;
    {
        old_store src;
        auto tx = src.write();
        for (int u = 0; u < n_users; ++u) tx.insert(User{0, "user " + std::to_string(u)});
        for (int p = 0; p < 6000; ++p)
            tx.insert(OldPost{0, 1 + (p * 7919) % n_users, title(static_cast<std::uint64_t>(p)), "draft"});
        tx.commit();
        rs::save(src, dir.path / "old.snap");
    }
    store db;
    const auto report = rs::load(db, dir.path / "old.snap", {.drop_unknown_columns = true, .empty_missing_tables = true});
    CHECK(report.columns_dropped == std::vector<std::string>{"posts.draft"});
    auto q = db.read();
    CHECK(q.count<posts>() == 6000);
    CHECK(q.get<posts>(std::int64_t{6000}).title == title(5999));
    CHECK(q.count_children<&Post::author_id>(std::int64_t{1}) == 12);
    CHECK(children_side_by_side<&Post::author_id, posts>(db, std::vector<std::int64_t>{1, 77, 500}));
    CHECK(check_consistent(capture_store(db)) == "");
}

// users: 40 rows, the one at clash_at a clash with the first, the one at
// cut_at with a name whose length runs past the table. A load in file order
// decodes rows 8 ahead of their insert: the earlier of the two is the error.
void write_clash_and_cut(const fs::path& p, int clash_at, int cut_at) {
    rs::snapshot_writer w(rs::describe<store>());
    w.begin_table(0);
    for (int u = 1; u <= 40; ++u) {
        w.put_u64(static_cast<std::uint64_t>(u));
        if (u == cut_at)
            w.put_u64(std::uint64_t{1} << 40);
        else
            w.put_string(u == clash_at ? "user 1" : "user " + std::to_string(u));
    }
    w.end_table(40, 41);
    for (std::size_t t = 1; t < 3; ++t) {
        w.begin_table(t);
        w.end_table(0, 1);
    }
    rs::write_snapshot_file(p, w.finish());
}

TEST_CASE("a load refuses a bad file with the error of its first bad row in file order",
          "[snapshot][load][grouped][errors]") {
    temp_dir dir;
    const auto p = dir.path / "bad.snap";
    store db;
    fill(db, 100, n_users);
    const auto before = capture_store(db);
    std::string expected;
    // Rows of posts are inserted grouped by author: the row 6000 of author 1
    // goes in before row 10 of author 250, so a grouped load meets the clash
    // at row 10; the file-order error names row 6000.
    SECTION("a duplicate key") {
        auto po = some_posts(8000, [](int i) { return i == 6000 ? 1 : 1 + i % 250 + (i == 10 ? 249 : 0); });
        po[5999][0] = std::int64_t{10};
        write_rows(p, some_users(n_users), po);
        const auto r = rs::snapshot_reader::open(p);
        auto cur = r.rows(1);
        for (int i = 0; i < 5999; ++i) (void)cur.get_u64(), (void)cur.get_u64(), (void)cur.get_string();
        expected = "at byte " + std::to_string(cur.offset()) + ": table 'posts': duplicate key id = 10";
    }
    SECTION("a dangling foreign key") {
        // Authors 600 (row 4000) and 501 (row 5000) do not exist; 501 would come first grouped.
        write_rows(p, some_users(n_users), some_posts(8000, [](int i) { return i == 4000 ? 600 : i == 5000 ? 501 : 1 + i % n_users; }));
        expected = "table 'posts': author_id = 600 references no row in users";
    }
    SECTION("a dangling nullable foreign key of a table grouped by it") {
        rows t;
        for (int i = 1; i <= 6000; ++i)
            t.push_back(V{std::int64_t{i}, i % 3 == 0 ? rs::value{} : rs::value{std::int64_t{i == 3001 ? 9999 : 1 + i % n_users}},
                          std::int64_t{1 + i % 100}, std::string("a note long enough for the rows to be grouped")});
        write_rows(p, some_users(n_users), some_posts(100, [](int i) { return i; }), t);
        expected = "table 'tasks': owner_id = 9999 references no row in users";
    }
    SECTION("a dangling key that no grouping covers") {
        rows t;
        for (int i = 1; i <= 6000; ++i)
            t.push_back(V{std::int64_t{i}, rs::value{}, std::int64_t{i == 5555 ? 101 : 1 + i % 100},
                          std::string("a note long enough for the rows to be grouped")});
        write_rows(p, some_users(n_users), some_posts(100, [](int i) { return i; }), t);
        expected = "table 'tasks': post_id = 101 references no row in posts";
    }
    SECTION("a hashed auto key's next key below a stored key") {
        rs::snapshot_writer w(rs::describe<store>());
        for (std::size_t i = 0; i < 3; ++i) {
            w.begin_table(i);
            const rows r = i == 0 ? some_users(n_users) : i == 1 ? some_posts(5000, [](int k) { return 1 + k % 7; }) : rows{};
            for (const auto& row : r) w.put_row(row);
            w.end_table(r.size(), i == 1 ? 5000 : 1000);
        }
        rs::write_snapshot_file(p, w.finish());
        expected = "table 'posts': next key 5000 is not above the largest stored key 5000";
    }
    SECTION("in file order, a clash 4 rows before a row that cannot be decoded") {
        write_clash_and_cut(p, 20, 24);
        expected = "table 'users': duplicate name = \"user 1\" in a unique index";
    }
    SECTION("in file order, a row that cannot be decoded 4 rows before a clash") {
        write_clash_and_cut(p, 24, 20);
        expected = "table 'users': string length 1099511627776 exceeds";
    }
    CHECK_THAT(load_error(db, p), Contains(expected));
    CHECK(diff(before, capture_store(db)) == "");
}

TEST_CASE("tables decoded in parallel report the error of the first table in the program's order",
          "[snapshot][load][parallel][errors]") {
    temp_dir dir;
    const auto p = dir.path / "two-bad-tables.snap";
    // Over 4 MiB, so that the tables are decoded on several threads, posts
    // (the largest) first; both tables are bad.
    auto us = some_users(n_users);
    us.push_back(V{std::int64_t{n_users + 1}, std::string("user 1")});  // duplicate name
    auto po = some_posts(70000, [](int i) { return 1 + i % n_users; });
    po.back()[0] = std::int64_t{1};  // duplicate key
    write_rows(p, us, po);
    REQUIRE(fs::file_size(p) > (std::size_t{4} << 20));
    store db;
    for (int i = 0; i < 3; ++i) CHECK_THAT(load_error(db, p), Contains("table 'users': duplicate name = \"user 1\""));
    CHECK(db.read().count<posts>() == 0);
}

TEST_CASE("a large load in parallel gives the store that was saved", "[snapshot][load][parallel]") {
    temp_dir dir;
    store a;
    fill(a, 60000, 6000, 3);
    rs::save(a, dir.path / "a.snap");
    REQUIRE(fs::file_size(dir.path / "a.snap") > (std::size_t{4} << 20));
    store b;
    fill(b, 10, 10, 4);  // replaced whole
    rs::load(b, dir.path / "a.snap");
    CHECK(same_rows(a, b));
    CHECK(children_side_by_side<&Post::author_id, posts>(b, std::vector<std::int64_t>{1, 5999}));
    CHECK(b.read().count_children<&Post::author_id>(std::int64_t{17}) ==
          a.read().count_children<&Post::author_id>(std::int64_t{17}));
    rs::save(b, dir.path / "b.snap");
    CHECK(rs::read_snapshot_file(dir.path / "a.snap") == rs::read_snapshot_file(dir.path / "b.snap"));
}

TEST_CASE("a large save puts its tables in order on several threads, and writes the bytes one thread writes",
          "[snapshot][save][parallel]") {
    // 81,000 rows in three tables: a save puts them in order (key order, then
    // grouped by parent) on as many threads as there are tables and cores,
    // and writes beside its encoder on another, in a child process too. The
    // stream save does it all on one thread.
    temp_dir dir;
    store a;
    fill(a, 60000, 6000, 5);
    std::ostringstream stream;
    rs::save(a, stream);
    const std::string one_thread = stream.str();
    const auto p = dir.path / "a.snap";
    const auto saved = [&](const rs::save_options& o) {
        rs::save(a, p, o);
        const auto bytes = rs::read_snapshot_file(p);
        return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    };
    const bool cores = std::thread::hardware_concurrency() > 1;
    SECTION("on the calling thread") {
        relstore_test::counted_thread_starts counted;
        CHECK(saved({.in_child_process = false}) == one_thread);
        CHECK(counted.starts() >= (cores ? 2 : 1));  // the writer, and a helper where there are cores
    }
    SECTION("in a child process, which starts threads of its own except under a sanitizer") {
        relstore_test::counted_thread_starts counted;
        CHECK(saved({}) == one_thread);
        if (rs::detail::child_may_start_threads)
            CHECK(counted.starts() >= (cores ? 2 : 1));
        else
            CHECK(counted.starts() == 0);
    }
    SECTION("with no thread to be had: the same file, here and in a child, and it loads") {
        relstore_test::no_threads none;
        CHECK(saved({.in_child_process = false}) == one_thread);
        CHECK(saved({}) == one_thread);
        store b;
        rs::load(b, p);  // its decoding helpers cannot start either
        CHECK(same_rows(a, b));
    }
}

TEST_CASE("a large save on the calling thread, its tables put in order on several threads, beside a writer",
          "[snapshot][save][parallel][concurrency]") {
    // The helpers read the saver's read scope while a writer commits: in the
    // default mode the writer waits for the scope, in the second mode it
    // writes the other copy. Either way the file holds one moment: each
    // transaction adds a user and a post of theirs, so the difference of
    // the two counts never changes. Run under ThreadSanitizer too.
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait " << never_wait);
    temp_dir dir;
    store a(rs::store_options{.readers_never_wait = never_wait});
    fill(a, 60000, 6000, 7);
    const auto difference = [](const store& db) {
        auto q = db.read();
        return static_cast<long>(q.count<posts>()) - static_cast<long>(q.count<users>());
    };
    const long before = difference(a);
    std::atomic<bool> stop{false};
    std::atomic<int> commits{0};
    std::thread writer([&] {
        for (int i = 0; !stop; ++i) {
            auto tx = a.write();
            const auto id = tx.insert(User{0, "writer's user " + std::to_string(i)}).id;
            tx.insert(Post{0, id, title(static_cast<std::uint64_t>(i))});
            tx.commit();
            ++commits;
        }
    });
    while (commits < 10) std::this_thread::yield();
    const auto p = dir.path / "a.snap";
    rs::save(a, p, {.in_child_process = false});
    stop = true;
    writer.join();
    store b;
    rs::load(b, p);
    CHECK(difference(b) == before);
    CHECK(b.read().count<users>() >= 6010);  // the load refuses a post whose author is missing
}

// A large table's inserts go to a spare core, behind its decode
// (detail::insert_behind). None of it may change what a load gives or
// refuses; spare_cores_for_tests makes a core spare (or none) at once,
// whatever the machine and the other tables' threads leave.
namespace {

struct spare_cores {
    explicit spare_cores(std::ptrdiff_t n) { rs::detail::spare_cores_for_tests = n; }
    ~spare_cores() { rs::detail::spare_cores_for_tests = -1; }
    spare_cores(const spare_cores&) = delete;
    spare_cores& operator=(const spare_cores&) = delete;
};

constexpr int grouped_posts = 20000;  // above insert_behind's threshold

/// users, then posts 1..grouped_posts grouped by author as a save writes
/// them (author 1 + (i - 1) / 200); at row clash_at the key 10 again, at
/// row cut_at a title whose length runs past the table, at row
/// out_of_order the author 1 (before every later author: not grouped).
void write_grouped_posts(const fs::path& p, int clash_at = 0, int cut_at = 0, int out_of_order = 0) {
    rs::snapshot_writer w(rs::describe<store>());
    w.begin_table(0);
    for (const auto& u : some_users(n_users)) w.put_row(u);
    w.end_table(n_users, n_users + 1);
    w.begin_table(1);
    for (int i = 1; i <= grouped_posts; ++i) {
        w.put_u64(static_cast<std::uint64_t>(i == clash_at ? 10 : i));
        w.put_u64(static_cast<std::uint64_t>(i == out_of_order ? 1 : 1 + (i - 1) / 200));
        if (i == cut_at)
            w.put_u64(std::uint64_t{1} << 40);
        else
            w.put_string(title(static_cast<std::uint64_t>(i)));
    }
    w.end_table(grouped_posts, grouped_posts + 1);
    w.begin_table(2);
    w.end_table(0, 1);
    rs::write_snapshot_file(p, w.finish());
}

}  // namespace

TEST_CASE("a large load inserts a table's rows on a spare core and gives the store one thread gives",
          "[snapshot][load][parallel][grouped]") {
    temp_dir dir;
    store a;
    fill(a, grouped_posts, 6000, 5);
    rs::save(a, dir.path / "a.snap");
    store serial, shared;
    int starts_serial = 0, starts_shared = 0;
    {
        const spare_cores none(0);
        const relstore_test::counted_thread_starts starts;
        rs::load(serial, dir.path / "a.snap");
        starts_serial = starts.starts();
    }
    {
        const spare_cores one(1);
        const relstore_test::counted_thread_starts starts;
        rs::load(shared, dir.path / "a.snap");
        starts_shared = starts.starts();
    }
    CHECK(starts_shared == starts_serial + 1);  // posts' inserts; tasks are too few to share
    CHECK(same_rows(a, serial));
    CHECK(same_rows(a, shared));
    CHECK(children_side_by_side<&Post::author_id, posts>(shared, std::vector<std::int64_t>{1, 17, 5999}));
    rs::save(shared, dir.path / "b.snap");
    CHECK(rs::read_snapshot_file(dir.path / "a.snap") == rs::read_snapshot_file(dir.path / "b.snap"));
    SECTION("with no thread to be had, the rows go in on the loading thread") {
        const spare_cores one(1);
        const relstore_test::no_threads none;
        store c;
        rs::load(c, dir.path / "a.snap");
        CHECK(same_rows(a, c));
    }
}

TEST_CASE("a large load with its inserts on a spare core refuses what one thread refuses, with the same error",
          "[snapshot][load][parallel][grouped][errors]") {
    temp_dir dir;
    const auto p = dir.path / "posts.snap";
    std::string expected;
    SECTION("a row that cannot be decoded, late in the table") {
        write_grouped_posts(p, 0, 17500);
        expected = "table 'posts': string length 1099511627776 exceeds";
    }
    SECTION("a duplicate key, late in the table (the insert fails on the other thread)") {
        write_grouped_posts(p, 17500);
        expected = "table 'posts': duplicate key id = 10";
    }
    SECTION("an insert that fails before a row that cannot be decoded") {
        write_grouped_posts(p, 15000, 17500);
        expected = "table 'posts': duplicate key id = 10";
    }
    SECTION("a row that cannot be decoded before an insert that would fail") {
        write_grouped_posts(p, 17500, 15000);
        expected = "table 'posts': string length 1099511627776 exceeds";
    }
    store db;
    fill(db, 100, n_users);
    const auto before = capture_store(db);
    std::string serial, shared;
    {
        const spare_cores none(0);
        serial = load_error(db, p);
    }
    {
        const spare_cores one(1);
        shared = load_error(db, p);
    }
    CHECK_THAT(serial, Contains(expected));
    CHECK(shared == serial);
    CHECK(diff(before, capture_store(db)) == "");
}

TEST_CASE("a large table in file order, its inserts on a spare core, loads and refuses as on one thread",
          "[snapshot][load][parallel][errors]") {
    // users are decoded in file order (no foreign key to group by):
    // 20,000 of them, the one at clash_at a clash with the first, the one
    // at cut_at with a name whose length runs past the table.
    constexpr int n = 20000;
    const auto write_users = [](const fs::path& p, int clash_at, int cut_at) {
        rs::snapshot_writer w(rs::describe<store>());
        w.begin_table(0);
        for (int u = 1; u <= n; ++u) {
            w.put_u64(static_cast<std::uint64_t>(u));
            if (u == cut_at)
                w.put_u64(std::uint64_t{1} << 40);
            else
                w.put_string(u == clash_at ? "user 1" : "user " + std::to_string(u));
        }
        w.end_table(n, n + 1);
        for (std::size_t t = 1; t < 3; ++t) {
            w.begin_table(t);
            w.end_table(0, 1);
        }
        rs::write_snapshot_file(p, w.finish());
    };
    temp_dir dir;
    const auto p = dir.path / "users.snap";
    std::string expected;
    SECTION("every row good") { write_users(p, 0, 0); }
    SECTION("a clash late in the table (the insert fails on the other thread)") {
        write_users(p, 17500, 0);
        expected = "table 'users': duplicate name = \"user 1\" in a unique index";
    }
    // Next to each other, so that the row after the clash is decoded
    // before the clash is inserted on the other thread.
    SECTION("a clash right before a row that cannot be decoded") {
        write_users(p, 17499, 17500);
        expected = "table 'users': duplicate name = \"user 1\" in a unique index";
    }
    SECTION("a row that cannot be decoded right before a clash") {
        write_users(p, 17500, 17499);
        expected = "table 'users': string length 1099511627776 exceeds";
    }
    // Among the rows decoded before the inserts move to the other thread.
    SECTION("a clash among the first rows, right before a row that cannot be decoded") {
        write_users(p, 4, 5);
        expected = "table 'users': duplicate name = \"user 1\" in a unique index";
    }
    SECTION("a row among the first that cannot be decoded, right before a clash") {
        write_users(p, 5, 4);
        expected = "table 'users': string length 1099511627776 exceeds";
    }
    std::string serial, shared;
    int starts_serial = 0, starts_shared = 0;
    store a, b;
    {
        const spare_cores none(0);
        const relstore_test::counted_thread_starts starts;
        serial = load_error(a, p);
        starts_serial = starts.starts();
    }
    {
        const spare_cores one(1);
        const relstore_test::counted_thread_starts starts;
        shared = load_error(b, p);
        starts_shared = starts.starts();
    }
    CHECK(starts_shared == starts_serial + 1);
    CHECK(shared == serial);
    if (expected.empty()) {
        CHECK(serial == "loaded");
        CHECK(same_rows(a, b));
        auto q = b.read();
        CHECK(q.count<users>() == n);
        CHECK(q.get<users>(std::int64_t{n}).name == "user " + std::to_string(n));
        CHECK(q.find<&User::name>("user 17500") != nullptr);
    } else {
        CHECK_THAT(serial, Contains(expected));
        CHECK(b.read().count<users>() == 0);
    }
}

TEST_CASE("a large table saved grouped loads front to back; one that is not is put in order first",
          "[snapshot][load][parallel][grouped]") {
    temp_dir dir;
    const auto p = dir.path / "posts.snap";
    // Row 17,500 goes back to author 1: the decode in file order stops
    // there, drops the rows it put in, and orders the table first.
    const int out_of_order = GENERATE(0, 17500);
    write_grouped_posts(p, 0, 0, out_of_order);
    for (const std::ptrdiff_t spare : {0, 1}) {
        const spare_cores cores(spare);
        store db;
        rs::load(db, p);
        auto q = db.read();
        CHECK(q.count<posts>() == grouped_posts);
        CHECK(q.count_children<&Post::author_id>(std::int64_t{1}) == (out_of_order != 0 ? 201 : 200));
        CHECK(q.get<posts>(std::int64_t{17500}).author_id == (out_of_order != 0 ? 1 : 88));
        CHECK(q.get<posts>(std::int64_t{17501}).title == title(17501));
        CHECK(children_side_by_side<&Post::author_id, posts>(db, std::vector<std::int64_t>{1, 2, 88, 100}));
    }
}

TEST_CASE("insert_behind hands over every row in order, and stops on a failed insert",
          "[snapshot][load][parallel]") {
    using rs::detail::insert_behind;
    constexpr std::size_t n = 100000;  // many times round its ring
    std::vector<std::size_t> got;
    std::size_t wrong_later = 0;
    SECTION("every row") {
        insert_behind<std::size_t> inserts(n, [&](std::size_t i, std::size_t& row, const std::size_t* later) {
            if (row != i || (later != nullptr && *later != i + insert_behind<std::size_t>::lead)) ++wrong_later;
            got.push_back(row);
        });
        REQUIRE(inserts.running());
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t* slot = inserts.slot();
            REQUIRE(slot != nullptr);
            *slot = i;
            inserts.give();
        }
        inserts.finish();
        CHECK(got.size() == n);
        CHECK(wrong_later == 0);
        CHECK(std::is_sorted(got.begin(), got.end()));
    }
    SECTION("rows of 8 KiB, 64 in its ring") {
        using big_row = std::array<std::size_t, 1024>;
        insert_behind<big_row> inserts(10000, [&](std::size_t i, big_row& row, const big_row*) {
            if (row.front() != i || row.back() != i) ++wrong_later;
            got.push_back(row.front());
        });
        for (std::size_t i = 0; i < 10000; ++i) {
            big_row* slot = inserts.slot();
            REQUIRE(slot != nullptr);
            slot->fill(i);
            inserts.give();
        }
        inserts.finish();
        CHECK(got.size() == 10000);
        CHECK(wrong_later == 0);
    }
    SECTION("an insert that throws") {
        insert_behind<std::size_t> inserts(n, [&](std::size_t i, std::size_t&, const std::size_t*) {
            if (i == 5000) throw std::runtime_error("insert 5000 failed");
            got.push_back(i);
        });
        REQUIRE(inserts.running());
        std::size_t given = 0;
        for (; given < n; ++given) {
            std::size_t* slot = inserts.slot();
            if (slot == nullptr) break;
            *slot = given;
            inserts.give();
        }
        CHECK(given < n);  // the caller learns of it while it gives rows
        CHECK_THROWS_WITH(inserts.finish(), "insert 5000 failed");
        CHECK(got.size() == 5000);
    }
    SECTION("destroyed while its thread waits for rows, or without a finish") {
        {
            insert_behind<std::size_t> inserts(
                n, [&](std::size_t, std::size_t& row, const std::size_t*) { got.push_back(row); });
            for (std::size_t i = 0; i < 100; ++i) {
                *inserts.slot() = i;
                inserts.give();
            }
        }  // must not hang: the thread inserts the rows given, then stops
        CHECK(got.size() == 100);
        CHECK(std::is_sorted(got.begin(), got.end()));
    }
}

}  // namespace load_test
