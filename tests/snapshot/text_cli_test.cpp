// The `relstore` tool on a snapshot of relstore::text and relstore::bytes
// columns: they are string and blob columns in the file, so dump, schema and
// info print exactly what they print for the same rows held in std::string
// and std::vector<std::byte> columns.

#include "cli_run.hpp"
#include "text_schema.hpp"

#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace text_cli_test {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

struct two_files {
    fs::path dir, text_file, plain_file;
    two_files() {
        std::string templ = (fs::temp_directory_path() / "relstore-text-XXXXXX").string();
        REQUIRE(::mkdtemp(templ.data()) != nullptr);
        dir = templ;
        text_file = dir / "text.snap";
        plain_file = dir / "plain.snap";
        textschema::text_store t;
        textschema::fill(t);
        relstore::save(t, text_file);
        textschema::plain_store p;
        textschema::fill(p);
        relstore::save(p, plain_file);
    }
    ~two_files() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

}  // namespace

TEST_CASE("relstore dump, schema and info show text and bytes columns as string and blob columns",
          "[snapshot][cli][text]") {
    two_files f;
    for (const std::string command : {"dump", "dump --format json", "schema", "info"}) {
        INFO(command);
        const auto t = relstore::test::run_cli(command + " " + f.text_file.string());
        const auto p = relstore::test::run_cli(command + " " + f.plain_file.string());
        CHECK(t.status == 0);
        if (command == "info") {
            // info names the file; the rest must agree.
            CHECK(t.out.substr(t.out.find('\n')) == p.out.substr(p.out.find('\n')));
        } else {
            CHECK(t.out == p.out);
        }
    }
    const auto dump = relstore::test::run_cli("dump " + f.text_file.string());
    CHECK_THAT(dump.out, Contains("ssssssssssssssss"));          // 16 bytes: a heap text
    CHECK_THAT(dump.out, Contains("\"a,\"\"b\"\"\nc\""));         // quoted as CSV quotes a string
    CHECK_THAT(dump.out, Contains("00ff"));                      // bytes in hex
    const auto schema = relstore::test::run_cli("schema " + f.text_file.string());
    CHECK_THAT(schema.out, Contains("string"));
    CHECK_THAT(schema.out, Contains("blob"));
}

}  // namespace text_cli_test
