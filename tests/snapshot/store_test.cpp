// Saving and loading whole stores: random round trips over every column type
// and relationship kind, byte-identical re-saves, atomic failed loads,
// integrity checks and schema evolution by column name.

#include "temp_dir.hpp"
#include "blog.hpp"
#include "checks.hpp"
#include "store_image.hpp"

#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

namespace store_test {

namespace rs = relstore;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using relstore_test::capture_store;
using relstore_test::diff;

namespace snap {

enum class mood : std::int16_t { sad = -1, calm = 0, glad = 1 };

struct Author {
    std::int64_t id{};
    std::string name;
    std::optional<std::string> email;
    bool active{};
    mood feeling{};
    float rating{};
    double balance{};
    std::int8_t i8{};
    std::int16_t i16{};
    std::int32_t i32{};
    std::uint8_t u8{};
    std::uint16_t u16{};
    std::uint32_t u32{};
    std::uint64_t u64{};
    std::optional<std::int64_t> maybe_int;
    std::optional<double> maybe_real;
    std::optional<bool> maybe_flag;
};
RELSTORE_FIELDS(Author, id, name, email, active, feeling, rating, balance, i8, i16, i32, u8, u16, u32, u64, maybe_int,
                maybe_real, maybe_flag)

struct Book {
    std::string isbn;
    std::string title;
    std::int64_t author_id{};
    std::optional<std::int64_t> editor_id;
};
RELSTORE_FIELDS(Book, isbn, title, author_id, editor_id)

struct AuthorBook {
    std::int64_t author_id{};
    std::string isbn;
    std::int32_t role{};
};
RELSTORE_FIELDS(AuthorBook, author_id, isbn, role)

struct Profile {
    std::int64_t id{};
    std::int64_t author_id{};
    std::string bio;
};
RELSTORE_FIELDS(Profile, id, author_id, bio)

struct Category {
    std::int64_t id{};
    std::optional<std::int64_t> parent_id;
    std::string name;
};
RELSTORE_FIELDS(Category, id, parent_id, name)

using authors = rs::table<"authors", Author, rs::auto_key<&Author::id>, rs::unique<&Author::email>,
                          rs::ordered<&Author::rating>>;
using books = rs::table<"books", Book, rs::primary_key<&Book::isbn>,
                        rs::references<&Book::author_id, authors, rs::on_delete::cascade>,
                        rs::hashed_references<&Book::editor_id, authors, rs::on_delete::set_null>>;
using author_books = rs::table<"author_books", AuthorBook, rs::primary_key<&AuthorBook::author_id, &AuthorBook::isbn>,
                               rs::references<&AuthorBook::author_id, authors, rs::on_delete::cascade>,
                               rs::references<&AuthorBook::isbn, books, rs::on_delete::cascade>>;
using profiles = rs::table<"profiles", Profile, rs::hashed_auto_key<&Profile::id>,
                           rs::unique_references<&Profile::author_id, authors, rs::on_delete::cascade>>;
using categories = rs::table<"categories", Category, rs::auto_key<&Category::id>,
                             rs::acyclic_references<&Category::parent_id, rs::on_delete::set_null>>;
using store = rs::store<authors, books, author_books, profiles, categories>;

std::string random_text(std::mt19937_64& rng) {
    static constexpr std::string_view pieces[] = {
        "", "a", "Zo\xc3\xab", "\xe2\x9c\x93", "\xf0\x9f\x98\x80", ",", "\"", "\n", {"\0", 1}, "long text ", "\t"};
    std::string s;
    const auto n = rng() % 6;
    for (std::size_t i = 0; i < n; ++i) s += pieces[rng() % std::size(pieces)];
    if (rng() % 50 == 0) s += std::string(1000 + rng() % 5000, 'x');
    return s;
}

template <class T>
T extreme(std::mt19937_64& rng) {
    switch (rng() % 4) {
    case 0: return std::numeric_limits<T>::min();
    case 1: return std::numeric_limits<T>::max();
    case 2: return T{};
    default: return static_cast<T>(rng());
    }
}

double random_real(std::mt19937_64& rng) {
    switch (rng() % 6) {
    case 0: return std::numeric_limits<double>::infinity();
    case 1: return -std::numeric_limits<double>::infinity();
    case 2: return std::numeric_limits<double>::denorm_min();
    case 3: return -0.0;
    default: return std::ldexp(static_cast<double>(static_cast<std::int64_t>(rng())), static_cast<int>(rng() % 200) - 100);
    }
}

/// Fills a store with random rows of every kind; small sizes, including empty tables.
void fill_random(store& db, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto tx = db.write();
    const auto n_authors = rng() % 40;
    std::vector<std::int64_t> author_ids;
    for (std::size_t i = 0; i < n_authors; ++i) {
        Author a;
        a.name = random_text(rng);
        if (rng() % 3 != 0) a.email = "user" + std::to_string(i) + "@example.org";
        a.active = rng() % 2 == 0;
        a.feeling = static_cast<mood>(static_cast<int>(rng() % 3) - 1);
        a.rating = static_cast<float>(random_real(rng));
        a.balance = random_real(rng);
        a.i8 = extreme<std::int8_t>(rng);
        a.i16 = extreme<std::int16_t>(rng);
        a.i32 = extreme<std::int32_t>(rng);
        a.u8 = extreme<std::uint8_t>(rng);
        a.u16 = extreme<std::uint16_t>(rng);
        a.u32 = extreme<std::uint32_t>(rng);
        a.u64 = extreme<std::uint64_t>(rng);
        if (rng() % 2) a.maybe_int = extreme<std::int64_t>(rng);
        if (rng() % 2) a.maybe_real = rng() % 5 == 0 ? std::nan("") : random_real(rng);
        if (rng() % 2) a.maybe_flag = rng() % 2 == 0;
        author_ids.push_back(tx.insert(std::move(a)).id);
    }
    // Erase some, so next keys run ahead of the largest key.
    for (std::size_t i = 0; i < author_ids.size() / 5; ++i) {
        const auto victim = author_ids.back();
        author_ids.pop_back();
        tx.erase<authors>(victim);
    }
    std::vector<std::string> isbns;
    if (!author_ids.empty()) {
        const auto n_books = rng() % 40;
        for (std::size_t i = 0; i < n_books; ++i) {
            Book b{"isbn-" + std::to_string(seed) + "-" + std::to_string(i), random_text(rng),
                   author_ids[rng() % author_ids.size()], std::nullopt};
            if (rng() % 2) b.editor_id = author_ids[rng() % author_ids.size()];
            isbns.push_back(tx.insert(std::move(b)).isbn);
        }
        for (std::size_t i = 0; i < isbns.size(); ++i)
            if (rng() % 2)
                (void)tx.insert(AuthorBook{author_ids[rng() % author_ids.size()], isbns[i],
                                           static_cast<std::int32_t>(rng() % 3)});
        for (const auto id : author_ids)
            if (rng() % 2) (void)tx.insert(Profile{0, id, random_text(rng)});
    }
    std::vector<std::int64_t> cats;
    const auto n_cats = rng() % 30;
    for (std::size_t i = 0; i < n_cats; ++i) {
        Category c{0, std::nullopt, random_text(rng)};
        if (!cats.empty() && rng() % 4 != 0) c.parent_id = cats[rng() % cats.size()];
        cats.push_back(tx.insert(std::move(c)).id);
    }
    tx.commit();
}

struct temp_dir : relstore_test::temp_dir {
    temp_dir() : relstore_test::temp_dir("relstore-store") {}
};

std::vector<std::byte> file_bytes(const fs::path& p) {
    auto r = rs::read_snapshot_file(p);
    return r;
}

// Plain writes: these files are inputs, and fsync would only slow the tests down.
void write_bytes(const fs::path& p, std::span<const std::byte> b) {
    std::ofstream(p, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

}  // namespace snap

using namespace snap;

TEST_CASE("random stores round trip through a snapshot file", "[snapshot][store]") {
    temp_dir dir;
    for (std::uint64_t seed = 1; seed <= 25; ++seed) {
        INFO("seed " << seed);
        store a;
        fill_random(a, seed);
        rs::save(a, dir.path / "a.snap");
        // The file, written front to back as it is encoded, is the image the
        // in-memory encoder (the stream save's) makes.
        {
            auto image = rs::detail::encode_store(a);
            const auto bytes = image.finish();
            REQUIRE(file_bytes(dir.path / "a.snap") == std::vector<std::byte>(bytes.begin(), bytes.end()));
        }

        store b;
        rs::load(b, dir.path / "a.snap");
        REQUIRE(diff(capture_store(a), capture_store(b), false) == "");
        REQUIRE(relstore_test::check_consistent(capture_store(b)) == "");

        // Saving a loaded store gives the very same bytes.
        rs::save(b, dir.path / "b.snap");
        REQUIRE(file_bytes(dir.path / "a.snap") == file_bytes(dir.path / "b.snap"));
    }
}

namespace hashed {

struct Item {
    std::int64_t id{};
    std::string label;
};
RELSTORE_FIELDS(Item, id, label)

struct Pair {
    std::int32_t a{};
    std::int32_t b{};
};
RELSTORE_FIELDS(Pair, a, b)

using items = rs::table<"items", Item, rs::hashed_primary_key<&Item::id>>;
struct FarPair {
    std::int32_t a{};
    std::int32_t b{};
};
RELSTORE_FIELDS(FarPair, a, b)

using pairs = rs::table<"pairs", Pair, rs::hashed_primary_key<&Pair::a, &Pair::b>>;
// First columns far apart: sorted by comparison, not counted.
using far_pairs = rs::table<"far_pairs", FarPair, rs::hashed_primary_key<&FarPair::a, &FarPair::b>>;
using store = rs::store<items, pairs, far_pairs>;

/// The keys of the items table in the order the snapshot holds them.
std::vector<std::int64_t> saved_keys(const fs::path& p) {
    auto r = rs::snapshot_reader::open(p);
    auto cur = r.rows(0);
    std::vector<std::int64_t> keys;
    for (std::uint64_t i = 0; i < r.table(0).row_count; ++i) {
        keys.push_back(static_cast<std::int64_t>(cur.get_u64()));
        (void)cur.get_string();
    }
    return keys;
}

/// The keys of the pairs table in the order the snapshot holds them.
std::vector<std::pair<std::int32_t, std::int32_t>> saved_pairs(const fs::path& p, std::size_t table) {
    auto r = rs::snapshot_reader::open(p);
    auto cur = r.rows(table);
    std::vector<std::pair<std::int32_t, std::int32_t>> keys;
    for (std::uint64_t i = 0; i < r.table(table).row_count; ++i) {
        const auto a = static_cast<std::int32_t>(cur.get_u32());
        keys.emplace_back(a, static_cast<std::int32_t>(cur.get_u32()));
    }
    return keys;
}

}  // namespace hashed

TEST_CASE("hashed tables are saved in key order, whatever the order their rows came in",
          "[snapshot][store][determinism]") {
    temp_dir dir;
    std::mt19937_64 rng(7);
    std::vector<std::int64_t> keys;
    SECTION("dense keys, as auto keys are") {
        for (std::int64_t k = 1; k <= 3000; ++k)
            if (rng() % 10 != 0) keys.push_back(k);
    }
    SECTION("dense negative keys around zero") {
        for (std::int64_t k = -1500; k <= 1500; ++k) keys.push_back(k);
    }
    SECTION("sparse keys, extremes included") {
        keys = {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), 0, -1, 1};
        for (int i = 0; i < 2000; ++i) keys.push_back(static_cast<std::int64_t>(rng()));
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    }
    hashed::store ascending, shuffled;
    {
        auto tx = ascending.write();
        for (const auto k : keys) tx.insert(hashed::Item{k, "item " + std::to_string(k)});
        for (std::int32_t a = 0; a < 40; ++a)
            for (std::int32_t b = 0; b < 40; ++b)
                if ((a * 7 + b) % 3 != 0) tx.insert(hashed::Pair{a, b});
        for (std::int32_t a = 0; a < 40; ++a)
            for (std::int32_t b = 0; b < 3; ++b) tx.insert(hashed::FarPair{a * 50'000, b - a});
        tx.commit();
    }
    {
        // Another insertion order, and rows that come and go, so that the
        // hash tables' buckets and lists differ from the first store's.
        std::vector<std::int64_t> order = keys;
        std::shuffle(order.begin(), order.end(), rng);
        auto tx = shuffled.write();
        for (std::size_t i = 0; i < order.size(); ++i) {
            tx.insert(hashed::Item{order[i], "item " + std::to_string(order[i])});
            if (i % 3 == 0 && !std::binary_search(keys.begin(), keys.end(), order[i] / 2 + 1) &&
                tx.find<hashed::items>(order[i] / 2 + 1) == nullptr) {
                tx.insert(hashed::Item{order[i] / 2 + 1, "passing through"});
                tx.erase<hashed::items>(order[i] / 2 + 1);
            }
        }
        for (std::int32_t a = 39; a >= 0; --a)
            for (std::int32_t b = 39; b >= 0; --b)
                if ((a * 7 + b) % 3 != 0) tx.insert(hashed::Pair{a, b});
        for (std::int32_t a = 39; a >= 0; --a)
            for (std::int32_t b = 2; b >= 0; --b) tx.insert(hashed::FarPair{a * 50'000, b - a});
        tx.commit();
    }
    rs::save(ascending, dir.path / "a.snap");
    rs::save(shuffled, dir.path / "b.snap");
    REQUIRE(file_bytes(dir.path / "a.snap") == file_bytes(dir.path / "b.snap"));
    std::vector<std::int64_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    CHECK(hashed::saved_keys(dir.path / "b.snap") == sorted);
    for (const std::size_t table : {1, 2}) {
        INFO("table " << table);
        const auto pairs = hashed::saved_pairs(dir.path / "b.snap", table);
        CHECK(pairs.size() == (table == 1 ? shuffled.read().count<hashed::pairs>() : 120));
        CHECK(std::is_sorted(pairs.begin(), pairs.end()));
        CHECK(std::adjacent_find(pairs.begin(), pairs.end()) == pairs.end());
    }

    hashed::store loaded;
    rs::load(loaded, dir.path / "b.snap");
    CHECK(diff(capture_store(shuffled), capture_store(loaded), false) == "");
}

TEST_CASE("a loaded store keeps working: next keys, cascades, constraints", "[snapshot][store]") {
    temp_dir dir;
    store a;
    {
        auto tx = a.write();
        const auto id = tx.insert(Author{.name = "Ada", .email = "ada@x.org"}).id;
        (void)tx.insert(Author{.name = "Bob"});
        tx.erase<authors>(tx.insert(Author{.name = "gone"}).id);
        (void)tx.insert(Book{"b1", "Notes", id, std::nullopt});
        tx.commit();
    }
    rs::save(a, dir.path / "a.snap");
    store b;
    rs::load(b, dir.path / "a.snap");
    auto tx = b.write();
    CHECK(tx.insert(Author{.name = "Cy"}).id == 4);  // key 3 was used before the save
    CHECK_THROWS_AS(tx.insert(Author{.name = "Dup", .email = "ada@x.org"}), rs::constraint_error);
    tx.erase<authors>(std::int64_t{1});
    CHECK(tx.count<books>() == 0);  // the cascade index was rebuilt
    tx.commit();
}

TEST_CASE("snapshots go through streams", "[snapshot][store]") {
    store a;
    fill_random(a, 99);
    std::stringstream ss;
    rs::save(a, ss);
    store b;
    rs::load(b, ss);
    CHECK(diff(capture_store(a), capture_store(b), false) == "");
}

TEST_CASE("empty stores round trip", "[snapshot][store]") {
    temp_dir dir;
    store a;
    rs::save(a, dir.path / "e.snap");
    store b;
    fill_random(b, 5);
    rs::load(b, dir.path / "e.snap");
    CHECK(diff(capture_store(a), capture_store(b), false) == "");
}

TEST_CASE("save refuses to run inside this thread's write transaction", "[snapshot][store]") {
    temp_dir dir;
    store a;
    auto tx = a.write();
    CHECK_THROWS_AS(rs::save(a, dir.path / "x.snap"), rs::usage_error);
}

TEST_CASE("a failed load leaves the store exactly as it was", "[snapshot][store][errors]") {
    temp_dir dir;
    store src;
    fill_random(src, 7);
    rs::save(src, dir.path / "good.snap");
    const auto good = file_bytes(dir.path / "good.snap");

    store db;
    fill_random(db, 8);
    const auto before = capture_store(db);

    auto expect_refused = [&](const fs::path& p, rs::errc code, const std::string& text) {
        try {
            rs::load(db, p);
            FAIL("the load succeeded");
        } catch (const rs::snapshot_error& e) {
            CHECK(e.code() == rs::make_error_code(code));
            CHECK_THAT(e.what(), Contains(text));
        }
        CHECK(diff(before, capture_store(db)) == "");
    };

    SECTION("missing file") {
        expect_refused(dir.path / "missing.snap", rs::errc::io, "No such file or directory");
    }
    SECTION("truncated at every 7th byte") {
        for (std::size_t len = 0; len < good.size(); len += 7) {
            write_bytes(dir.path / "cut.snap", std::span(good).first(len));
            expect_refused(dir.path / "cut.snap", rs::errc::bad_snapshot, len == 0 ? "empty" : "truncated");
        }
    }
    SECTION("flipped bits") {
        std::mt19937_64 rng(3);
        for (int i = 0; i < 300; ++i) {
            auto bad = good;
            bad[rng() % bad.size()] ^= static_cast<std::byte>(1u << (rng() % 8));
            write_bytes(dir.path / "flip.snap", bad);
            try {
                rs::load(db, dir.path / "flip.snap");
                FAIL("a corrupt snapshot loaded");
            } catch (const rs::snapshot_error&) {
            }
        }
        CHECK(diff(before, capture_store(db)) == "");
    }
    SECTION("another schema") {
        blog::store other;
        {
            auto tx = other.write();
            (void)tx.insert(blog::User{0, "ann", "ann@x.org"});
            tx.commit();
        }
        rs::save(other, dir.path / "blog.snap");
        expect_refused(dir.path / "blog.snap", rs::errc::schema_mismatch,
                       "the snapshot shares no table with the program");
    }
}

namespace {

// A snapshot of this store's schema with hand-written rows, to break integrity on purpose.
template <class Store, class F>
void write_custom(const fs::path& p, F&& rows_of_table) {
    rs::snapshot_writer w(rs::describe<Store>());
    const auto schema = w.schema();
    for (std::size_t t = 0; t < schema.tables.size(); ++t) {
        w.begin_table(t);
        const std::vector<std::vector<rs::value>> rows = rows_of_table(schema.tables[t].name);
        for (const auto& r : rows) w.put_row(r);
        w.end_table(rows.size(), schema.tables[t].auto_key ? 100 : 0);
    }
    rs::write_snapshot_file(p, w.finish());
}

}  // namespace

TEST_CASE("a snapshot whose rows break the schema's constraints is refused", "[snapshot][store][errors]") {
    temp_dir dir;
    const auto p = dir.path / "bad.snap";
    using V = std::vector<rs::value>;
    using rows = std::vector<V>;
    auto author = [](std::int64_t id, rs::value email) {
        return V{id,          std::string("n"), std::move(email), false,        std::int64_t{0}, 0.0,
                 0.0,         std::int64_t{0},  std::int64_t{0},  std::int64_t{0}, std::uint64_t{0}, std::uint64_t{0},
                 std::uint64_t{0}, std::uint64_t{0}, std::monostate{}, std::monostate{}, std::monostate{}};
    };
    store db;
    fill_random(db, 11);
    const auto before = capture_store(db);
    std::string expected;
    SECTION("duplicate key") {
        write_custom<store>(p, [&](const std::string& t) {
            return t == "authors" ? rows{author(1, std::monostate{}), author(1, std::monostate{})} : rows{};
        });
        expected = "table 'authors': duplicate key id = 1";
    }
    SECTION("duplicate in a unique nullable column") {
        write_custom<store>(p, [&](const std::string& t) {
            return t == "authors" ? rows{author(1, std::string("a@x")), author(2, std::string("a@x")),
                                         author(3, std::monostate{}), author(4, std::monostate{})}
                                  : rows{};
        });
        expected = "table 'authors': duplicate email = \"a@x\" in a unique index";
    }
    SECTION("dangling foreign key") {
        write_custom<store>(p, [&](const std::string& t) {
            if (t == "authors") return rows{author(1, std::monostate{})};
            if (t == "books") return rows{V{std::string("b"), std::string("t"), std::int64_t{2}, std::monostate{}}};
            return rows{};
        });
        expected = "table 'books': author_id = 2 references no row in authors";
    }
    SECTION("a cycle in an acyclic self-reference") {
        write_custom<store>(p, [&](const std::string& t) {
            if (t == "categories")
                return rows{V{std::int64_t{1}, std::int64_t{3}, std::string("a")},
                            V{std::int64_t{2}, std::int64_t{1}, std::string("b")},
                            V{std::int64_t{3}, std::int64_t{2}, std::string("c")}};
            return rows{};
        });
        expected = "table 'categories': parent_id forms a cycle through key";
    }
    SECTION("next key not above the stored keys") {
        rs::snapshot_writer w(rs::describe<store>());
        for (std::size_t t = 0; t < w.schema().tables.size(); ++t) {
            w.begin_table(t);
            if (t == 0) w.put_row(author(5, std::monostate{}));
            w.end_table(t == 0 ? 1 : 0, 5);
        }
        rs::write_snapshot_file(p, w.finish());
        expected = "table 'authors': next key 5 is not above the largest stored key 5";
    }
    try {
        rs::load(db, p);
        FAIL("loaded");
    } catch (const rs::snapshot_error& e) {
        CHECK(e.code() == rs::make_error_code(rs::errc::bad_snapshot));
        CHECK_THAT(e.what(), Contains(expected));
    }
    CHECK(diff(before, capture_store(db)) == "");
}

// Versions of one schema, as a program evolves.
namespace v1 {
struct User {
    std::int64_t id{};
    std::string name;
    std::int32_t age{};
    std::string nickname;
};
RELSTORE_FIELDS(User, id, name, age, nickname)
struct Log {
    std::int64_t id{};
    std::string text;
};
RELSTORE_FIELDS(Log, id, text)
using users = rs::table<"users", User, rs::auto_key<&User::id>>;
using logs = rs::table<"logs", Log, rs::auto_key<&Log::id>>;
using store = rs::store<users, logs>;
}  // namespace v1

namespace v2 {  // nickname dropped, email added, logs dropped, posts added
struct User {
    std::int64_t id{};
    std::string email;
    std::string name;
    std::int32_t age{};
    std::optional<std::int32_t> score;
};
RELSTORE_FIELDS(User, id, email, name, age, score)
struct Post {
    std::int64_t id{};
    std::int64_t user_id{};
};
RELSTORE_FIELDS(Post, id, user_id)
using users = rs::table<"users", User, rs::auto_key<&User::id>>;
using posts = rs::table<"posts", Post, rs::auto_key<&Post::id>, rs::references<&Post::user_id, users>>;
using store = rs::store<users, posts>;
}  // namespace v2

namespace v3 {  // age became int64
struct User {
    std::int64_t id{};
    std::string name;
    std::int64_t age{};
    std::string nickname;
};
RELSTORE_FIELDS(User, id, name, age, nickname)
using users = rs::table<"users", User, rs::auto_key<&User::id>>;
using store = rs::store<users>;
}  // namespace v3

TEST_CASE("snapshots load into an evolved schema by column name", "[snapshot][store][evolution]") {
    temp_dir dir;
    const auto p = dir.path / "v1.snap";
    {
        v1::store db;
        auto tx = db.write();
        (void)tx.insert(v1::User{0, "Ada", 36, "countess"});
        (void)tx.insert(v1::User{0, "Alan", 41, ""});
        (void)tx.insert(v1::Log{0, "started"});
        tx.commit();
        rs::save(db, p);
    }

    SECTION("a dropped column is an error naming it unless allowed") {
        v2::store db;
        try {
            rs::load(db, p, {.drop_unknown_columns = false, .drop_unknown_tables = true, .empty_missing_tables = true});
            FAIL("loaded");
        } catch (const rs::snapshot_error& e) {
            CHECK(e.code() == rs::make_error_code(rs::errc::schema_mismatch));
            CHECK_THAT(e.what(), Contains("column 'users.nickname' is not in the program's schema"));
        }
    }
    SECTION("a dropped table is an error naming it unless allowed") {
        v2::store db;
        try {
            rs::load(db, p, {.drop_unknown_columns = true});
            FAIL("loaded");
        } catch (const rs::snapshot_error& e) {
            CHECK(e.code() == rs::make_error_code(rs::errc::schema_mismatch));
            CHECK_THAT(e.what(), Contains("table 'logs' is not in the program's schema"));
        }
    }
    SECTION("added columns take their defaults, added tables load empty when allowed") {
        v2::store db;
        const auto report =
            rs::load(db, p, {.drop_unknown_columns = true, .drop_unknown_tables = true, .empty_missing_tables = true});
        CHECK(report.tables_filled_empty == std::vector<std::string>{"posts"});
        CHECK(report.tables_dropped == std::vector<std::string>{"logs"});
        CHECK(report.columns_defaulted == std::vector<std::string>{"users.email", "users.score"});
        CHECK(report.columns_dropped == std::vector<std::string>{"users.nickname"});
        CHECK(!report.empty());
        auto r = db.read();
        CHECK(r.count<v2::users>() == 2);
        CHECK(r.count<v2::posts>() == 0);
        const auto& ada = r.get<v2::users>(std::int64_t{1});
        CHECK(ada.name == "Ada");
        CHECK(ada.age == 36);
        CHECK(ada.email.empty());
        CHECK(!ada.score.has_value());
    }
    SECTION("a changed type is an error naming the column") {
        v3::store db;
        try {
            rs::load(db, p, {.drop_unknown_columns = true, .drop_unknown_tables = true});
            FAIL("loaded");
        } catch (const rs::snapshot_error& e) {
            CHECK(e.code() == rs::make_error_code(rs::errc::schema_mismatch));
            CHECK_THAT(e.what(), Contains("column 'users.age' changed type: int32 in the snapshot, int64 in the program"));
        }
    }
}

namespace v4 {  // v1's users, with a caller-supplied key
using users = rs::table<"users", v1::User, rs::primary_key<&v1::User::id>>;
using store = rs::store<users>;
}  // namespace v4

TEST_CASE("a table whose key became an auto key continues after its largest key", "[snapshot][store][evolution]") {
    temp_dir dir;
    const auto p = dir.path / "v4.snap";
    {
        v4::store db;
        auto tx = db.write();
        (void)tx.insert(v1::User{7, "Ada", 36, ""});
        (void)tx.insert(v1::User{3, "Alan", 41, ""});
        tx.commit();
        rs::save(db, p);
    }
    v1::store db;
    CHECK(rs::load(db, p, {.empty_missing_tables = true}).tables_filled_empty == std::vector<std::string>{"logs"});
    auto tx = db.write();
    CHECK(tx.insert(v1::User{0, "Grace", 85, ""}).id == 8);
}

namespace {

/// Loads p into db (from the file, or from a stream of its bytes) and
/// returns the error; the store must be unchanged.
template <class Store>
rs::snapshot_error refused_load(Store& db, const fs::path& p, bool stream, const rs::load_options& opt = {}) {
    const auto before = capture_store(db);
    std::optional<rs::snapshot_error> caught;
    try {
        if (stream) {
            std::ifstream in(p, std::ios::binary);
            rs::load(db, in, opt);
        } else {
            rs::load(db, p, opt);
        }
    } catch (const rs::snapshot_error& e) {
        caught = e;
    }
    REQUIRE(caught.has_value());
    CHECK(diff(before, capture_store(db)) == "");
    return *caught;
}

}  // namespace

TEST_CASE("a snapshot that shares no table with the program is refused", "[snapshot][load][evolution]") {
    temp_dir dir;
    const auto p = dir.path / "other.snap";
    const bool stream = GENERATE(false, true);
    // Even when every difference is allowed: nothing in common is no evolution.
    const auto opt = GENERATE(rs::load_options{},
                              rs::load_options{.drop_unknown_columns = true, .drop_unknown_tables = true,
                                               .empty_missing_tables = true});
    INFO((stream ? "stream" : "file") << ", options allowing " << (opt.empty_missing_tables ? "all" : "nothing"));
    std::string snapshot_tables;
    SECTION("a snapshot without tables") {
        rs::snapshot_writer w(rs::schema_info{});
        rs::write_snapshot_file(p, w.finish());
        snapshot_tables = "none";
    }
    SECTION("another program's snapshot") {
        blog::store other;
        {
            auto tx = other.write();
            (void)tx.insert(blog::User{0, "ann", "ann@x.org"});
            tx.commit();
        }
        rs::save(other, p);
        snapshot_tables = "users, posts";
    }
    store db;
    fill_random(db, 21);
    REQUIRE(db.read().count<authors>() > 0);
    const auto e = refused_load(db, p, stream, opt);
    CHECK(e.code() == rs::make_error_code(rs::errc::schema_mismatch));
    CHECK_THAT(e.what(), Contains("the snapshot shares no table with the program (the snapshot's tables: " +
                                  snapshot_tables +
                                  "; the program's: authors, books, author_books, profiles, categories)"));
}

TEST_CASE("a table missing from the snapshot is loaded empty only when the caller allows it",
          "[snapshot][load][evolution]") {
    temp_dir dir;
    const auto p = dir.path / "v4.snap";
    {
        v4::store old;  // users only
        auto tx = old.write();
        (void)tx.insert(v1::User{1, "Ada", 36, ""});
        tx.commit();
        rs::save(old, p);
    }
    const bool stream = GENERATE(false, true);
    INFO((stream ? "stream" : "file"));
    v1::store db;  // users and logs
    {
        auto tx = db.write();
        (void)tx.insert(v1::Log{0, "kept unless the load succeeds"});
        tx.commit();
    }
    const auto e = refused_load(db, p, stream);
    CHECK(e.code() == rs::make_error_code(rs::errc::schema_mismatch));
    CHECK_THAT(e.what(), Contains("table 'logs' of the program is not in the snapshot; load with "
                                  "load_options{.empty_missing_tables = true} to load it empty"));

    rs::load_report report;
    if (stream) {
        std::ifstream in(p, std::ios::binary);
        report = rs::load(db, in, {.empty_missing_tables = true});
    } else {
        report = rs::load(db, p, {.empty_missing_tables = true});
    }
    CHECK(report == rs::load_report{.tables_filled_empty = {"logs"}});
    auto r = db.read();
    CHECK(r.count<v1::logs>() == 0);
    CHECK(r.get<v1::users>(std::int64_t{1}).name == "Ada");
}

TEST_CASE("load reports the schema evolution it applied, and nothing for an unchanged schema",
          "[snapshot][load][evolution]") {
    temp_dir dir;
    const auto p = dir.path / "v1.snap";
    {
        v1::store db;
        auto tx = db.write();
        (void)tx.insert(v1::User{0, "Ada", 36, "countess"});
        (void)tx.insert(v1::Log{0, "started"});
        tx.commit();
        rs::save(db, p);
    }
    const bool stream = GENERATE(false, true);
    INFO((stream ? "stream" : "file"));
    auto load = [&](auto& db, const rs::load_options& opt) {
        if (!stream) return rs::load(db, p, opt);
        std::ifstream in(p, std::ios::binary);
        return rs::load(db, in, opt);
    };
    SECTION("unchanged") {
        v1::store db;
        const auto report = load(db, {});
        CHECK(report.empty());
        CHECK(report == rs::load_report{});
    }
    SECTION("evolved: every kind of change at once") {
        v2::store db;
        const auto report =
            load(db, {.drop_unknown_columns = true, .drop_unknown_tables = true, .empty_missing_tables = true});
        CHECK(report.tables_filled_empty == std::vector<std::string>{"posts"});
        CHECK(report.tables_dropped == std::vector<std::string>{"logs"});
        CHECK(report.columns_defaulted == std::vector<std::string>{"users.email", "users.score"});
        CHECK(report.columns_dropped == std::vector<std::string>{"users.nickname"});
    }
}

namespace nan_case {
struct Reading {
    std::int64_t id{};
    double value{};       // ordered index: NaN is refused
    double raw{};         // no index: NaN loads
    std::optional<float> level;  // unique: NaN is refused, null is not
};
RELSTORE_FIELDS(Reading, id, value, raw, level)
using readings = rs::table<"readings", Reading, rs::auto_key<&Reading::id>, rs::ordered<&Reading::value>,
                           rs::unique<&Reading::level>>;
using store = rs::store<readings>;
}  // namespace nan_case

TEST_CASE("a snapshot row with NaN in an indexed column is refused, naming table, column and row",
          "[snapshot][load][errors]") {
    temp_dir dir;
    const auto p = dir.path / "nan.snap";
    using V = std::vector<rs::value>;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    auto write = [&](const V& second) {
        rs::snapshot_writer w(rs::describe<nan_case::store>());
        w.begin_table(0);
        w.put_row(V{std::int64_t{1}, 1.5, 2.5, std::monostate{}});
        w.put_row(second);
        w.end_table(2, 3);
        rs::write_snapshot_file(p, w.finish());
    };
    // The second row starts where the first (8 + 8 + 8 + 1 bytes) ends.
    auto second_row_offset = [&] { return rs::snapshot_reader::open(p).table(0).rows_offset + 25; };
    nan_case::store db;
    {
        auto tx = db.write();
        (void)tx.insert(nan_case::Reading{0, 7.0, 7.0, 7.0f});
        tx.commit();
    }
    SECTION("in an ordered index") {
        write(V{std::int64_t{2}, nan, 0.0, std::monostate{}});
        const auto e = refused_load(db, p, false);
        CHECK(e.code() == rs::make_error_code(rs::errc::bad_snapshot));
        CHECK(e.offset() == second_row_offset());
        CHECK_THAT(e.what(), Contains("at byte " + std::to_string(second_row_offset()) +
                                      ": table 'readings': value = NaN, but a key, index or foreign key covers"));
    }
    SECTION("in a nullable unique column") {
        write(V{std::int64_t{2}, 0.0, 0.0, nan});
        const auto e = refused_load(db, p, true);
        CHECK(e.offset() == second_row_offset());
        CHECK_THAT(e.what(), Contains("table 'readings': level = NaN, but"));
    }
    SECTION("in a column no index covers, NaN loads") {
        write(V{std::int64_t{2}, 0.0, nan, std::monostate{}});
        rs::load(db, p);
        CHECK(std::isnan(db.read().get<nan_case::readings>(std::int64_t{2}).raw));
    }
}

namespace one_to_one {
struct Person {
    std::int64_t id{};
};
RELSTORE_FIELDS(Person, id)
struct Passport {
    std::int64_t id{};
    std::optional<std::int64_t> person_id;
};
RELSTORE_FIELDS(Passport, id, person_id)
using people = rs::table<"people", Person, rs::primary_key<&Person::id>>;
using passports = rs::table<"passports", Passport, rs::primary_key<&Passport::id>,
                            rs::unique_references<&Passport::person_id, people>>;
using store = rs::store<people, passports>;
}  // namespace one_to_one

TEST_CASE("a one-to-one foreign key over a nullable column refuses two children of one parent, not two nulls",
          "[snapshot][load][errors]") {
    temp_dir dir;
    const auto p = dir.path / "passports.snap";
    using V = std::vector<rs::value>;
    const bool clash = GENERATE(false, true);
    {
        rs::snapshot_writer w(rs::describe<one_to_one::store>());
        w.begin_table(0);
        w.put_row(V{std::int64_t{1}});
        w.end_table(1);
        w.begin_table(1);
        w.put_row(V{std::int64_t{10}, std::int64_t{1}});
        w.put_row(V{std::int64_t{11}, std::monostate{}});
        w.put_row(V{std::int64_t{12}, std::monostate{}});
        w.put_row(V{std::int64_t{13}, clash ? rs::value(std::int64_t{1}) : rs::value(std::monostate{})});
        w.end_table(4);
        rs::write_snapshot_file(p, w.finish());
    }
    one_to_one::store db;
    if (!clash) {
        rs::load(db, p);
        CHECK(db.read().count<one_to_one::passports>() == 4);
        return;
    }
    const auto e = refused_load(db, p, false);
    CHECK(e.code() == rs::make_error_code(rs::errc::bad_snapshot));
    CHECK_THAT(e.what(), Contains("table 'passports': duplicate person_id = 1 in a unique index"));
    // The fourth row: rows of 17, 9 and 9 bytes before it.
    CHECK(e.offset() == rs::snapshot_reader::open(p).table(1).rows_offset + 35);
}

}  // namespace store_test
