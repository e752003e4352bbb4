// The `relstore` tool on generated snapshot files: output and exit statuses.

#include "sample_snapshot.hpp"

#include <relstore/snapshot_format.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#ifndef RELSTORE_CLI
#error "RELSTORE_CLI must name the relstore tool's path"
#endif

using namespace relstore;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

struct result {
    int status;
    std::string out;  // stdout and stderr together
};

// Paths here are ones the test made (no spaces or quotes), so plain quoting suffices.
result run(const std::string& args) {
    const std::string cmd = std::string("'") + RELSTORE_CLI + "' " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = ::pclose(p);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

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
