// The `relstore` tool's conveniences for sqlite3 users: tables, dump's
// --limit/--columns/--where/--out, "-" for standard input, --version, exit
// statuses; and each one's bad input, with a message naming what was wrong.

#include "cli_run.hpp"
#include "sample_snapshot.hpp"

#include <relstore/snapshot_format.hpp>
#include <relstore/version.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>

namespace cli_dataio_test {

using namespace relstore;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

struct sample_dir {
    fs::path dir;
    fs::path snap;
    sample_dir() {
        std::string templ = (fs::temp_directory_path() / "relstore-dataio-XXXXXX").string();
        REQUIRE(::mkdtemp(templ.data()) != nullptr);
        dir = templ;
        snap = dir / "sample.snap";
        write_snapshot_file(snap, test::sample_image());
    }
    ~sample_dir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string s() const { return snap.string(); }
};

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_text(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
}

using test::run_cli;

}  // namespace

TEST_CASE("relstore tables lists every table with its row count", "[snapshot][cli][dataio]") {
    sample_dir f;
    SECTION("a file") {
        const auto r = run_cli("tables " + f.s());
        CHECK(r.status == 0);
        CHECK(r.out == "users  3 rows\nposts  3 rows\ncells  3 rows\nempty  0 rows\n");
    }
    SECTION("standard input") {
        const auto r = run_cli("tables - < " + f.s());
        CHECK(r.status == 0);
        CHECK(r.out == "users  3 rows\nposts  3 rows\ncells  3 rows\nempty  0 rows\n");
    }
    SECTION("a missing file") {
        const auto r = run_cli("tables " + (f.dir / "nope.snap").string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("nope.snap"));
        CHECK_THAT(r.out, Contains("No such file or directory"));
    }
    SECTION("standard input that is not a snapshot") {
        const auto r = run_cli("tables - < /dev/null");
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("<stream>"));
    }
}

TEST_CASE("every snapshot command reads standard input for -", "[snapshot][cli][dataio]") {
    sample_dir f;
    for (const std::string cmd : {"dump", "info", "verify", "schema"}) {
        INFO(cmd);
        const auto from_file = run_cli(cmd + " " + f.s());
        const auto from_stdin = run_cli(cmd + " - < " + f.s());
        CHECK(from_stdin.status == 0);
        if (cmd == "dump" || cmd == "schema") CHECK(from_stdin.out == from_file.out);
    }
}

TEST_CASE("relstore --version, --help and unknown commands", "[snapshot][cli][dataio]") {
    const auto v = run_cli("--version");
    CHECK(v.status == 0);
    CHECK(v.out == std::string(RELSTORE_VERSION_STRING) + "\n");

    const auto help = run_cli("--help");
    CHECK(help.status == 0);
    CHECK_THAT(help.out, Contains("Exit status: 0 success"));
    CHECK_THAT(help.out, Contains("1 the file is not a sound snapshot"));
    CHECK_THAT(help.out, Contains("2 a bad command line"));
    CHECK_THAT(help.out, Contains("A snapshot FILE argument of - reads the snapshot from standard input"));

    const auto unknown = run_cli("frobnicate x.snap");
    CHECK(unknown.status == 2);
    CHECK_THAT(unknown.out, StartsWith("relstore: unknown command 'frobnicate'; the commands are: info, verify, "
                                       "tables, dump"));
    const auto nested = run_cli("journal frobnicate x.journal");
    CHECK(nested.status == 2);
    CHECK(nested.out == "relstore: unknown command 'journal frobnicate'; the commands are: info, verify, dump "
                        "(relstore journal --help)\n");
    CHECK(run_cli("dump").status == 2);
    CHECK(run_cli("dump x.snap --limit many").status == 2);
}

TEST_CASE("relstore dump --limit and --columns choose rows and columns", "[snapshot][cli][dataio]") {
    sample_dir f;
    SECTION("CSV") {
        const auto r = run_cli("dump " + f.s() + " --table users --columns email,id --limit 2");
        CHECK(r.status == 0);
        CHECK(r.out == "email,id\r\nada@example.org,1\r\n,2\r\n");
    }
    SECTION("JSON") {
        const auto r = run_cli("dump " + f.s() + " -t posts -f json -c title -n 1");
        CHECK(r.status == 0);
        CHECK(r.out == "[\n  {\"title\": \"Hello, world\"}\n]\n");
    }
    SECTION("a limit per table, and 0") {
        const auto r = run_cli("dump " + f.s() + " --limit 0 --columns id");
        CHECK(r.status == 2);  // cells has no column id
        CHECK_THAT(r.out, Contains("table 'cells' has no column 'id'; its columns are: k, b, i8"));
        const auto one = run_cli("dump " + f.s() + " --limit 1");
        CHECK(one.status == 0);
        CHECK_THAT(one.out, Contains("# table users\r\nid,name,email\r\n1,Ada,ada@example.org\r\n\r\n# table posts"));
    }
    SECTION("a column the table lacks") {
        const auto r = run_cli("dump " + f.s() + " --table users --columns id,mail");
        CHECK(r.status == 2);
        CHECK(r.out == "relstore: table 'users' has no column 'mail'; its columns are: id, name, email\n");
    }
}

TEST_CASE("relstore dump --where keeps the rows whose column equals a value", "[snapshot][cli][dataio]") {
    sample_dir f;
    const auto dump = [&](const std::string& table, const std::string& args) {
        return run_cli("dump " + f.s() + " --table " + table + " " + args);
    };
    SECTION("an integer, a string, a number") {
        CHECK(dump("users", "--where id=3 -c id").out == "id\r\n3\r\n");
        CHECK(dump("users", "--where name=Ada -c id").out == "id\r\n1\r\n");
        CHECK(dump("posts", "--where author_id=1 -c id").out == "id\r\n10\r\n11\r\n");
        CHECK(dump("posts", "--where score=4.5 -c id").out == "id\r\n10\r\n");
        CHECK(dump("posts", "--where score=0 -c id").out == "id\r\n12\r\n");  // -0 equals 0
        CHECK(dump("cells", "--where u64=18446744073709551615 -c k").out == "k\r\n2\r\n");
        CHECK(dump("cells", "--where f32=-Infinity -c k").out == "k\r\n1\r\n");
        CHECK(dump("cells", "--where b=true -c k").out == "k\r\n1\r\n3\r\n");
    }
    SECTION("an empty string matches the empty string, never null") {
        CHECK(dump("users", "--where name= -c id").out == "id\r\n2\r\n");
        CHECK(dump("users", "--where email= -c id").out == "id\r\n");
    }
    SECTION("--where with --limit counts matching rows") {
        CHECK(dump("cells", "--where b=true -c k -n 1").out == "k\r\n1\r\n");
    }
    SECTION("a column the table lacks") {
        const auto r = dump("users", "--where mail=x");
        CHECK(r.status == 2);
        CHECK(r.out == "relstore: table 'users' has no column 'mail'; its columns are: id, name, email\n");
    }
    SECTION("a value the column's type cannot hold") {
        const auto r = dump("users", "--where id=abc");
        CHECK(r.status == 2);
        CHECK(r.out == "relstore: --where users.id: 'abc' is not a value of type int64\n");
        CHECK(dump("cells", "--where i8=128").out == "relstore: --where cells.i8: '128' is not a value of type int8\n");
        CHECK(dump("cells", "--where u8=-1").out == "relstore: --where cells.u8: '-1' is not a value of type uint8\n");
        CHECK(dump("cells", "--where b=yes").out == "relstore: --where cells.b: 'yes' is not a value of type bool\n");
        CHECK(dump("cells", "--where f64=1.5x").status == 2);
    }
    SECTION("not COLUMN=VALUE") {
        const auto r = dump("users", "--where id");
        CHECK(r.status == 2);
        CHECK(r.out == "relstore: --where takes COLUMN=VALUE, not 'id'\n");
    }
}

TEST_CASE("relstore dump --out writes one RFC 4180 file per table", "[snapshot][cli][dataio]") {
    sample_dir f;
    const auto out = f.dir / "csv";
    SECTION("every table, into a new directory") {
        const auto r = run_cli("dump " + f.s() + " --out " + out.string());
        CHECK(r.status == 0);
        CHECK(r.out.empty());
        CHECK(read_text(out / "users.csv") ==
              "id,name,email\r\n1,Ada,ada@example.org\r\n2,\"\",\r\n"
              "3,\"Zo\xc3\xab \xe2\x9c\x93 \xf0\x9f\x98\x80, \"\"quoted\"\"\nline\",zoe@example.org\r\n");
        CHECK(read_text(out / "posts.csv") ==
              "id,author_id,title,score\r\n10,1,\"Hello, world\",4.5\r\n11,1,\"\",\r\n12,3,tab\there,-0\r\n");
        CHECK(read_text(out / "empty.csv") == "id\r\n");
        CHECK(fs::exists(out / "cells.csv"));
        std::size_t files = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(out)) ++files;
        CHECK(files == 4);  // no temporary file is left
    }
    SECTION("one table, with the other options, replacing a file") {
        fs::create_directory(out);
        write_text(out / "users.csv", "old");
        write_text(out / "posts.csv", "untouched");
        const auto r = run_cli("dump " + f.s() + " -t users -c name -w id=1 --out " + out.string());
        CHECK(r.status == 0);
        CHECK(read_text(out / "users.csv") == "name\r\nAda\r\n");
        CHECK(read_text(out / "posts.csv") == "untouched");
    }
    SECTION("refused: a path that is not a directory, and existing files stay") {
        write_text(out, "a file");
        const auto r = run_cli("dump " + f.s() + " --out " + out.string());
        CHECK(r.status == 2);
        CHECK(r.out == "relstore: --out " + out.string() + " exists and is not a directory\n");
        CHECK(read_text(out) == "a file");
    }
    SECTION("refused: a bad --where or a corrupt file writes no file") {
        fs::create_directory(out);
        write_text(out / "users.csv", "old");
        auto r = run_cli("dump " + f.s() + " --where id=x --out " + out.string());
        CHECK(r.status == 2);
        auto img = test::sample_image();
        img[img.size() - 20] ^= std::byte{1};
        const auto bad = f.dir / "bad.snap";
        std::ofstream(bad, std::ios::binary).write(reinterpret_cast<const char*>(img.data()),
                                                   static_cast<std::streamsize>(img.size()));
        r = run_cli("dump " + bad.string() + " --out " + out.string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("checksum mismatch"));
        CHECK(read_text(out / "users.csv") == "old");
        CHECK(!fs::exists(out / "posts.csv"));
    }
    SECTION("refused: a FIFO in a table's file's place, named as the CSV file it was to be") {
        fs::create_directory(out);
        REQUIRE(::mkfifo((out / "users.csv").c_str(), 0600) == 0);
        const auto r = run_cli("dump " + f.s() + " -t users --out " + out.string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("CSV file '" + (out / "users.csv").string() + "': cannot save: the path names"));
        CHECK_THAT(r.out, !Contains("snapshot '"));
        CHECK(fs::is_fifo(out / "users.csv"));
    }
    SECTION("refused: a directory that cannot be made") {
        write_text(f.dir / "file", "a file");
        const auto r = run_cli("dump " + f.s() + " --out " + (f.dir / "file" / "csv").string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, StartsWith("relstore: cannot create the directory " + (f.dir / "file" / "csv").string() +
                                     ": Not a directory"));
    }
    SECTION("refused: a table name that is no file name") {
        schema_info s;
        s.tables.push_back({"a/b", {test::col("id", column_kind::int64)}, {"id"}, false, false, {}, {}});
        snapshot_writer w(s);
        w.begin_table(0);
        w.end_table(0);
        const auto odd = f.dir / "odd.snap";
        write_snapshot_file(odd, w.finish());
        const auto r = run_cli("dump " + odd.string() + " --out " + out.string());
        CHECK(r.status == 1);
        CHECK(r.out == "relstore: table 'a/b' cannot be a file name in the --out directory\n");
        CHECK(!fs::exists(out));
    }
    SECTION("refused: JSON") {
        const auto r = run_cli("dump " + f.s() + " --format json --out " + out.string());
        CHECK(r.status == 2);
        CHECK_THAT(r.out, Contains("--out writes CSV files: it needs --format csv"));
        CHECK(!fs::exists(out));
    }
}

}  // namespace cli_dataio_test
