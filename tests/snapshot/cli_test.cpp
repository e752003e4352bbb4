// The `relstore` tool on generated snapshot files: output and exit statuses.

#include "cli_run.hpp"
#include "sample_snapshot.hpp"

#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>
#include <relstore/snapshot_format.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cli_test {

using namespace relstore;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

using result = test::cli_result;

result run(const std::string& args) { return test::run_cli(args); }

struct files {
    fs::path dir;
    fs::path good;
    files() {
        std::string templ = (fs::temp_directory_path() / "relstore-cli-XXXXXX").string();
        REQUIRE(::mkdtemp(templ.data()) != nullptr);
        dir = templ;
        good = dir / "sample.snap";
        write_snapshot_file(good, test::sample_image());
    }
    ~files() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path corrupt(std::size_t at, std::size_t keep = 0) const {
        auto img = test::sample_image();
        if (keep > 0) img.resize(keep);
        else img[at] ^= std::byte{0x40};
        const auto p = dir / ("bad-" + std::to_string(at) + "-" + std::to_string(keep) + ".snap");
        std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(img.data()),
                                                 static_cast<std::streamsize>(img.size()));
        return p;
    }
};

}  // namespace

TEST_CASE("relstore info shows version, size, checksum, schema and row counts", "[snapshot][cli]") {
    files f;
    const auto r = run("info " + f.good.string());
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Contains("format version: 1\n"));
    CHECK_THAT(r.out, Contains("size:           " + std::to_string(fs::file_size(f.good)) + " bytes\n"));
    CHECK_THAT(r.out, Contains("checksum:       ok (xxh3-64 0x"));
    CHECK_THAT(r.out, Contains("tables:         4\nrows:           9\n"));
    CHECK_THAT(r.out, Contains("table users: 3 rows, next key 4\n  id     int64\n  name   string\n  email  string?\n"
                               "  key (id), hashed, assigned by the store\n  unique hashed index (email)\n"));
    CHECK_THAT(r.out, Contains("  foreign key (author_id) -> users, on delete cascade\n"));
    CHECK_THAT(r.out, Contains("table empty: 0 rows\n"));
}

TEST_CASE("relstore info reports a checksum mismatch and still shows the schema", "[snapshot][cli]") {
    files f;
    const auto img = test::sample_image();
    snapshot_reader sr(img, "x");
    // A byte inside the first row of users: the header and schema stay readable.
    const auto bad = f.corrupt(sr.table(0).rows_offset);
    const auto r = run("info " + bad.string());
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Contains("checksum:       MISMATCH (stored 0x"));
    CHECK_THAT(r.out, Contains("table users: 3 rows"));
}

TEST_CASE("relstore verify exits 0 only for a sound file", "[snapshot][cli]") {
    files f;
    SECTION("sound") {
        const auto r = run("verify " + f.good.string());
        CHECK(r.status == 0);
        CHECK_THAT(r.out, StartsWith("ok: " + f.good.string() + ": format 1, 4 tables, 9 rows, "));
    }
    SECTION("corrupt byte") {
        const auto r = run("verify " + f.corrupt(700).string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("is not a sound snapshot\n  reason: snapshot '"));
        CHECK_THAT(r.out, Contains("checksum mismatch"));
        CHECK_THAT(r.out, Contains("  offset: " + std::to_string(test::sample_image().size() - 8)));
    }
    SECTION("truncated") {
        const auto r = run("verify " + f.corrupt(0, 100).string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("truncated"));
        CHECK_THAT(r.out, Contains("  offset: 100\n"));
    }
    SECTION("missing") {
        const auto r = run("verify " + (f.dir / "nope.snap").string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("cannot open for reading: No such file or directory"));
    }
    SECTION("not a snapshot") {
        const auto r = run("verify " + f.dir.string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("is a directory"));
    }
}

TEST_CASE("relstore dump prints rows as RFC 4180 CSV", "[snapshot][cli]") {
    files f;
    SECTION("one table") {
        const auto r = run("dump " + f.good.string() + " --table users");
        CHECK(r.status == 0);
        CHECK(r.out == "id,name,email\r\n1,Ada,ada@example.org\r\n2,\"\",\r\n"
                       "3,\"Zo\xc3\xab \xe2\x9c\x93 \xf0\x9f\x98\x80, \"\"quoted\"\"\nline\",zoe@example.org\r\n");
    }
    SECTION("every type") {
        const auto r = run("dump " + f.good.string() + " --table cells --format csv");
        CHECK(r.status == 0);
        CHECK_THAT(r.out, Contains("1,true,-128,-32768,-2147483648,-9223372036854775808,0,0,0,0,-Infinity,NaN,\"\","
                                   ",,,\r\n"));
        CHECK_THAT(r.out, Contains(",18446744073709551615,1.5,Infinity,"));
    }
    SECTION("all tables") {
        const auto r = run("dump " + f.good.string());
        CHECK(r.status == 0);
        CHECK_THAT(r.out, StartsWith("# table users\r\nid,name,email\r\n"));
        CHECK_THAT(r.out, Contains("\r\n\r\n# table empty\r\nid\r\n"));
    }
    SECTION("unknown table") {
        const auto r = run("dump " + f.good.string() + " --table nope");
        CHECK(r.status == 2);
        CHECK_THAT(r.out, Contains("has no table 'nope'; its tables are: users, posts, cells, empty"));
    }
    SECTION("corrupt file prints no rows") {
        const auto r = run("dump " + f.corrupt(700).string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, StartsWith("relstore: "));
    }
}

TEST_CASE("relstore dump prints rows as JSON", "[snapshot][cli]") {
    files f;
    SECTION("one table") {
        const auto r = run("dump " + f.good.string() + " --table posts --format json");
        CHECK(r.status == 0);
        CHECK(r.out == "[\n  {\"id\": 10, \"author_id\": 1, \"title\": \"Hello, world\", \"score\": 4.5},\n"
                       "  {\"id\": 11, \"author_id\": 1, \"title\": \"\", \"score\": null},\n"
                       "  {\"id\": 12, \"author_id\": 3, \"title\": \"tab\\there\", \"score\": -0}\n]\n");
    }
    SECTION("all tables") {
        const auto r = run("dump " + f.good.string() + " --format json");
        CHECK(r.status == 0);
        CHECK_THAT(r.out, StartsWith("{\n  \"users\": [\n    {\"id\": 1, "));
        CHECK_THAT(r.out, Contains("\"name\": \"Zo\xc3\xab \xe2\x9c\x93 \xf0\x9f\x98\x80, \\\"quoted\\\"\\nline\""));
        CHECK_THAT(r.out, Contains("\"f32\": \"-Infinity\", \"f64\": \"NaN\""));
        CHECK_THAT(r.out, Contains("\"s\": \"nul\\u0000byte\""));
        CHECK_THAT(r.out, Contains("\"empty\": []\n}\n"));
    }
}

TEST_CASE("relstore dump --format json replaces invalid UTF-8", "[snapshot][cli]") {
    files f;
    schema_info s;
    s.tables.push_back({"t", {{"s", {column_kind::string, false}}}, {"s"}, false, true, {}, {}});
    snapshot_writer w(s);
    w.begin_table(0);
    w.put_string("a\xff" "b\xc3");
    w.put_string("\xed\xa0\x80");  // an encoded surrogate
    w.end_table(2);
    write_snapshot_file(f.dir / "utf.snap", w.finish());
    const auto r = run("dump " + (f.dir / "utf.snap").string() + " --format json --table t");
    CHECK(r.status == 0);
    CHECK(r.out == "[\n  {\"s\": \"a\\ufffdb\\ufffd\"},\n  {\"s\": \"\\ufffd\\ufffd\\ufffd\"}\n]\n");
}

TEST_CASE("relstore schema --dot prints a Graphviz graph with foreign-key edges", "[snapshot][cli]") {
    files f;
    const auto r = run("schema " + f.good.string() + " --dot");
    CHECK(r.status == 0);
    CHECK_THAT(r.out, StartsWith("digraph relstore {\n"));
    CHECK_THAT(r.out, Contains("\"users\" [label=<<table"));
    CHECK_THAT(r.out, Contains("<tr><td port=\"c0\" align=\"left\"><u>id</u> : int64</td></tr>"));
    CHECK_THAT(r.out, Contains("<tr><td port=\"c2\" align=\"left\">email : string?</td></tr>"));
    CHECK_THAT(r.out, Contains("\"posts\":c1 -> \"users\":c0 [label=\"author_id (on delete cascade)\"];"));
    CHECK_THAT(r.out, Contains("}\n"));

    const auto text = run("schema " + f.good.string());
    CHECK(text.status == 0);
    CHECK_THAT(text.out, StartsWith("table users: 3 rows, next key 4\n"));
}

TEST_CASE("relstore rejects bad command lines", "[snapshot][cli]") {
    files f;
    CHECK(run("").status != 0);
    CHECK(run("frobnicate x").status != 0);
    CHECK(run("dump " + f.good.string() + " --format xml").status != 0);
    CHECK(run("--help").status == 0);
}

// verify against load: files whose checksum is right but whose rows break
// the schema's constraints, built with snapshot_writer.
namespace same {

namespace rs = relstore;

struct Person {
    std::int64_t id{};
    std::string email;
    std::optional<std::string> nick;
    std::string first;
    std::string last;
    double height{};
};
RELSTORE_FIELDS(Person, id, email, nick, first, last, height)

struct Passport {
    std::int64_t id{};
    std::optional<std::int64_t> person_id;
};
RELSTORE_FIELDS(Passport, id, person_id)

struct Visit {
    std::int64_t person_id{};
    std::int32_t day{};
    std::string place;
};
RELSTORE_FIELDS(Visit, person_id, day, place)

struct Node {
    std::int64_t id{};
    std::optional<std::int64_t> parent;
};
RELSTORE_FIELDS(Node, id, parent)

struct Counter {
    std::int32_t id{};
};
RELSTORE_FIELDS(Counter, id)

using people = rs::table<"people", Person, rs::auto_key<&Person::id>, rs::unique<&Person::email>,
                         rs::unique<&Person::nick>, rs::unique<&Person::first, &Person::last>,
                         rs::ordered<&Person::height>>;
using passports = rs::table<"passports", Passport, rs::hashed_primary_key<&Passport::id>,
                            rs::unique_references<&Passport::person_id, people>>;
using visits = rs::table<"visits", Visit, rs::primary_key<&Visit::person_id, &Visit::day>,
                         rs::references<&Visit::person_id, people>>;
using nodes = rs::table<"nodes", Node, rs::auto_key<&Node::id>, rs::acyclic_references<&Node::parent>>;
using counters = rs::table<"counters", Counter, rs::auto_key<&Counter::id>>;
using store = rs::store<people, passports, visits, nodes, counters>;

using V = std::vector<value>;
using rows = std::vector<V>;

/// A person whose first name is its email unless given, so that (first, last) stays unique.
V person(std::int64_t id, const std::string& email, value nick = std::monostate{}, const std::string& first = "",
         double height = 1.0) {
    return V{id, email, std::move(nick), first.empty() ? email : first, std::string("L"), height};
}

/// A snapshot of store's schema with these rows (tables not named are empty)
/// and these next keys (100 for an auto-keyed table not named).
fs::path write(const fs::path& dir, const std::string& name, const std::map<std::string, rows>& content,
               const std::map<std::string, std::uint64_t>& next = {}) {
    snapshot_writer w(describe<store>());
    const auto schema = w.schema();
    for (std::size_t t = 0; t < schema.tables.size(); ++t) {
        const auto& table = schema.tables[t];
        w.begin_table(t);
        const auto it = content.find(table.name);
        const rows none;
        const rows& rs = it == content.end() ? none : it->second;
        for (const auto& r : rs) w.put_row(r);
        const auto n = next.find(table.name);
        w.end_table(rs.size(), table.auto_key ? (n == next.end() ? 100 : n->second) : 0);
    }
    const auto p = dir / (name + ".snap");
    write_snapshot_file(p, w.finish());
    return p;
}

/// load's message for p, or "" when it loads.
std::string load_message(const fs::path& p) {
    store db;
    try {
        rs::load(db, p);
    } catch (const snapshot_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace same

TEST_CASE("relstore verify refuses what load refuses, with load's message", "[snapshot][cli][integrity]") {
    files f;
    using namespace same;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    fs::path p;
    std::string expected;  // a part of the message, to know the right problem was found
    SECTION("duplicate key") {
        p = write(f.dir, "dup-key", {{"people", {person(1, "a"), person(2, "b"), person(2, "c")}}});
        expected = "table 'people': duplicate key id = 2";
    }
    SECTION("duplicate composite key") {
        p = write(f.dir, "dup-composite-key",
                  {{"people", {person(1, "a")}},
                   {"visits", {V{std::int64_t{1}, std::int64_t{5}, std::string("x")},
                               V{std::int64_t{1}, std::int64_t{6}, std::string("y")},
                               V{std::int64_t{1}, std::int64_t{5}, std::string("z")}}}});
        expected = "table 'visits': duplicate key (person_id, day) = (1, 5)";
    }
    SECTION("duplicate in a unique index") {
        p = write(f.dir, "dup-unique", {{"people", {person(1, "a@x"), person(2, "a@x")}}});
        expected = "table 'people': duplicate email = \"a@x\" in a unique index";
    }
    SECTION("duplicate in a composite unique index") {
        p = write(f.dir, "dup-unique-composite", {{"people", {person(1, "a", std::monostate{}, "Ada"),
                                                              person(2, "b", std::monostate{}, "Bo"),
                                                              person(3, "c", std::monostate{}, "Ada")}}});
        expected = "table 'people': duplicate (first, last) = (\"Ada\", \"L\") in a unique index";
    }
    SECTION("duplicate in a nullable unique index, after two nulls that do not clash") {
        p = write(f.dir, "dup-nullable", {{"people", {person(1, "a"), person(2, "b"), person(3, "c", std::string("x")),
                                                      person(4, "d", std::string("x"))}}});
        expected = "table 'people': duplicate nick = \"x\" in a unique index";
    }
    SECTION("two children of one parent through a one-to-one foreign key") {
        p = write(f.dir, "dup-one-to-one",
                  {{"people", {person(1, "a")}},
                   {"passports", {V{std::int64_t{7}, std::int64_t{1}}, V{std::int64_t{8}, std::monostate{}},
                                  V{std::int64_t{9}, std::int64_t{1}}}}});
        expected = "table 'passports': duplicate person_id = 1 in a unique index";
    }
    SECTION("dangling foreign keys: the first in the file is named, in a hashed table too") {
        p = write(f.dir, "dangling",
                  {{"people", {person(1, "a")}},
                   {"passports", {V{std::int64_t{30}, std::int64_t{1}}, V{std::int64_t{10}, std::int64_t{44}},
                                  V{std::int64_t{20}, std::int64_t{33}}, V{std::int64_t{5}, std::int64_t{22}}}}});
        expected = "table 'passports': person_id = 44 references no row in people";
    }
    SECTION("a dangling foreign key in a composite-keyed table") {
        p = write(f.dir, "dangling-visit", {{"people", {person(1, "a")}},
                                            {"visits", {V{std::int64_t{2}, std::int64_t{5}, std::string("x")}}}});
        expected = "table 'visits': person_id = 2 references no row in people";
    }
    SECTION("a cycle through an acyclic self-reference") {
        p = write(f.dir, "cycle",
                  {{"nodes", {V{std::int64_t{1}, std::monostate{}}, V{std::int64_t{2}, std::int64_t{4}},
                              V{std::int64_t{3}, std::int64_t{2}}, V{std::int64_t{4}, std::int64_t{3}}}}});
        expected = "table 'nodes': parent forms a cycle through key 2";
    }
    SECTION("a next key not above the largest key") {
        p = write(f.dir, "next-low", {{"people", {person(1, "a"), person(9, "b"), person(3, "c")}}},
                  {{"people", 9}});
        expected = "table 'people': next key 9 is not above the largest stored key 9";
    }
    SECTION("a next key of 0") {
        p = write(f.dir, "next-zero", {}, {{"nodes", 0}});
        expected = "table 'nodes': next key 0 is below the first key 1";
    }
    SECTION("a next key beyond the key's type") {
        p = write(f.dir, "next-wide", {}, {{"counters", (std::uint64_t{1} << 32) + 5}});
        expected = "table 'counters': next key 4294967301 does not fit the key's type int32";
    }
    SECTION("NaN in an indexed column") {
        p = write(f.dir, "nan", {{"people", {person(1, "a"), person(2, "b", std::monostate{}, "", nan)}}});
        expected = "table 'people': height = NaN, but a key, index or foreign key covers that column";
    }
    const std::string message = load_message(p);
    INFO("load: " << message);
    CHECK_THAT(message, Contains(expected));
    const auto r = run("verify " + p.string());
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Contains("is not a sound snapshot\n  reason: " + message + "\n"));
}

TEST_CASE("relstore verify and load accept a row with its key type's largest value, the auto key then exhausted",
          "[snapshot][cli][integrity]") {
    // The counter stays at the largest value once a row holds it; such a
    // snapshot was refused ("next key ... is not above the largest stored
    // key"): a store saved what it could not load.
    files f;
    using namespace same;
    constexpr auto max64 = std::numeric_limits<std::int64_t>::max();
    constexpr auto max32 = std::numeric_limits<std::int32_t>::max();
    const auto p = write(f.dir, "exhausted",
                         {{"people", {person(max64, "z")}}, {"counters", {V{std::int64_t{max32}}}}},
                         {{"people", static_cast<std::uint64_t>(max64)}, {"counters", std::uint64_t{max32}}});
    CHECK(load_message(p) == "");
    const auto r = run("verify " + p.string());
    CHECK(r.status == 0);
    CHECK_THAT(r.out, StartsWith("ok: "));
    same::store db;
    rs::load(db, p);
    auto tx = db.write();
    CHECK_THROWS_WITH(tx.insert(Counter{0}), Contains("counters.id: the auto key is exhausted"));
    CHECK_THROWS_WITH(tx.insert(Person{0, "new", std::nullopt, "n", "L", 1.0}),
                      Contains("people.id: the auto key is exhausted"));
    CHECK(tx.insert(Counter{7}).id == 7);  // explicit keys still go in
}

TEST_CASE("relstore verify and load accept a sound file with nulls in unique columns", "[snapshot][cli][integrity]") {
    files f;
    using namespace same;
    const auto p = write(f.dir, "sound",
                         {{"people", {person(1, "a"), person(2, "b"), person(3, "c", std::string("x"), "Cy", -0.0)}},
                          {"passports", {V{std::int64_t{7}, std::monostate{}}, V{std::int64_t{8}, std::monostate{}},
                                         V{std::int64_t{9}, std::int64_t{2}}}},
                          {"visits", {V{std::int64_t{1}, std::int64_t{5}, std::string("x")},
                                      V{std::int64_t{1}, std::int64_t{6}, std::string("x")}}},
                          {"nodes", {V{std::int64_t{1}, std::monostate{}}, V{std::int64_t{2}, std::int64_t{1}},
                                     V{std::int64_t{3}, std::int64_t{2}}}}},
                         {{"people", 4}, {"nodes", 4}, {"counters", 1}});
    CHECK(load_message(p) == "");
    const auto r = run("verify " + p.string());
    CHECK(r.status == 0);
    CHECK_THAT(r.out, StartsWith("ok: "));
}

}  // namespace cli_test
