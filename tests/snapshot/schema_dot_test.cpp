// relstore::schema_dot: the tutorial's schema as a Graphviz graph, and the
// `relstore schema --dot` tool printing the same graph for a saved store.
// (In the CLI test binary because the last case runs the tool.)

#include "tutorial_schema.hpp"

#include <relstore/schema_dot.hpp>
#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#ifndef RELSTORE_CLI
#error "RELSTORE_CLI must name the relstore tool's path"
#endif
#ifndef RELSTORE_TUTORIAL_SVG
#error "RELSTORE_TUTORIAL_SVG must name docs/tutorial-schema.svg"
#endif

namespace schema_dot_test {

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
    return n;
}

// The tool's standard output alone, so that it can be compared byte for byte.
std::string run_cli(const std::string& args, int& status) {
    const std::string cmd = std::string("'") + RELSTORE_CLI + "' " + args;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = ::pclose(p);
    status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

std::string column(int port, const std::string& text) {
    return "<tr><td port=\"c" + std::to_string(port) + "\" align=\"left\">" + text + "</td></tr>\n";
}

}  // namespace

TEST_CASE("schema_dot names every table, column and foreign key of the tutorial's schema", "[schema][dot]") {
    const std::string dot = relstore::schema_dot<tutorial::store>();
    CHECK_THAT(dot, StartsWith("digraph relstore {\n"));
    CHECK_THAT(dot, EndsWith("}\n"));

    SECTION("one node per table, its name in the header") {
        for (const char* t : {"users", "posts", "authors", "books", "authors_books"}) {
            CHECK_THAT(dot, Contains("  \"" + std::string(t) + "\" [label=<<table"));
            CHECK_THAT(dot, Contains("<b>" + std::string(t) + "</b>"));
        }
        CHECK(count(dot, "[label=<<table") == 5);
    }
    SECTION("every column with its type, key columns underlined, in field order") {
        CHECK_THAT(dot, Contains("<b>users</b></td></tr>\n    " + column(0, "<u>id</u> : int64") + "    " +
                                 column(1, "name : string")));
        CHECK_THAT(dot, Contains("<b>posts</b></td></tr>\n    " + column(0, "<u>id</u> : int64") + "    " +
                                 column(1, "title : string") + "    " + column(2, "content : string") + "    " +
                                 column(3, "author_id : int64")));
        CHECK_THAT(dot, Contains("<b>authors</b></td></tr>\n    " + column(0, "<u>id</u> : int64") + "    " +
                                 column(1, "name : string")));
        CHECK_THAT(dot, Contains("<b>books</b></td></tr>\n    " + column(0, "<u>id</u> : int64") + "    " +
                                 column(1, "title : string")));
        CHECK_THAT(dot, Contains("<b>authors_books</b></td></tr>\n    " + column(0, "<u>author_id</u> : int64") +
                                 "    " + column(1, "<u>book_id</u> : int64")));
    }
    SECTION("unique constraints and indexes under the columns") {
        CHECK_THAT(dot, Contains(column(1, "name : string") +
                                 "    <tr><td align=\"left\"><i>unique hashed index (name)</i></td></tr>\n"));
    }
    SECTION("one edge per foreign key, from the child's column to the parent's key, with its on-delete action") {
        CHECK_THAT(dot, Contains("  \"posts\":c3 -> \"users\":c0 [label=\"author_id (on delete restrict)\"];\n"));
        CHECK_THAT(dot,
                   Contains("  \"authors_books\":c0 -> \"authors\":c0 [label=\"author_id (on delete cascade)\"];\n"));
        CHECK_THAT(dot, Contains("  \"authors_books\":c1 -> \"books\":c0 [label=\"book_id (on delete cascade)\"];\n"));
        CHECK(count(dot, " -> ") == 3);
    }
}

TEST_CASE("schema_dot marks one-to-one and acyclic foreign keys and escapes names", "[schema][dot]") {
    using namespace relstore;
    const column_type i64{column_kind::int64, false};
    const column_type opt{column_kind::int64, true};
    schema_info s;
    s.tables.push_back({"a<&>\"b", {{"id", i64}, {"x & y", {column_kind::string, false}}}, {"id"}, true, true, {}, {}});
    s.tables.push_back({"nodes",
                        {{"id", i64}, {"parent", opt}, {"owner", opt}},
                        {"id"},
                        true,
                        false,
                        {{index_kind::ordered, {"parent", "owner"}}},
                        {{{"parent"}, "nodes", on_delete::set_null, false, true},
                         {{"owner"}, "a<&>\"b", on_delete::cascade, true, false}}});
    const std::string dot = schema_dot(s);

    CHECK_THAT(dot, Contains("  \"a<&>\\\"b\" [label=<<table"));
    CHECK_THAT(dot, Contains("<b>a&lt;&amp;&gt;&quot;b</b>"));
    CHECK_THAT(dot, Contains(column(1, "x &amp; y : string")));
    CHECK_THAT(dot, Contains(column(1, "parent : int64?")));
    CHECK_THAT(dot, Contains("<i>ordered index (parent, owner)</i>"));
    CHECK_THAT(dot, Contains("  \"nodes\":c1 -> \"nodes\":c0 [label=\"parent (on delete set null, acyclic)\"];\n"));
    CHECK_THAT(dot,
               Contains("  \"nodes\":c2 -> \"a<&>\\\"b\":c0 [label=\"owner (on delete cascade, one-to-one)\"];\n"));
}

TEST_CASE("relstore schema --dot prints what schema_dot<Store>() returns for a saved store", "[snapshot][cli][dot]") {
    const fs::path dir = fs::temp_directory_path() / ("relstore-dot-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path file = dir / "tutorial.snap";
    {
        tutorial::store db;
        auto tx = db.write();
        const auto& naruto = tx.insert(tutorial::User{.name = "Naruto Uzumaki"});
        tx.insert(tutorial::Post{.title = "Post 1", .content = "9 Tails Fox Sealer", .author_id = naruto.id});
        const auto& author = tx.insert(tutorial::Author{.name = "Sasuke Uchiha"});
        const auto& book = tx.insert(tutorial::Book{.title = "Sharingan: The power within eyes"});
        tx.insert(tutorial::AuthorBook{.author_id = author.id, .book_id = book.id});
        tx.commit();
        relstore::save(db, file);
    }
    int status = -1;
    const std::string out = run_cli("schema '" + file.string() + "' --dot", status);
    std::error_code ec;
    fs::remove_all(dir, ec);
    CHECK(status == 0);
    CHECK(out == relstore::schema_dot<tutorial::store>());
}

// Graphviz is not needed to check the committed picture: dot titles each node
// with the table's name and each edge with its ports.
TEST_CASE("docs/tutorial-schema.svg draws the tutorial's current schema", "[schema][dot][docs]") {
    std::ifstream in(RELSTORE_TUTORIAL_SVG);
    REQUIRE(in);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string svg = buf.str();
    const auto schema = relstore::describe<tutorial::store>();
    std::size_t edges = 0;
    for (const auto& t : schema.tables) {
        CHECK_THAT(svg, Contains("<title>" + t.name + "</title>"));
        for (const auto& c : t.columns) CHECK_THAT(svg, Contains(">" + c.name));
        edges += t.foreign_keys.size();
    }
    CHECK_THAT(svg, Contains("<title>posts:c3&#45;&gt;users:c0</title>"));
    CHECK_THAT(svg, Contains("<title>authors_books:c0&#45;&gt;authors:c0</title>"));
    CHECK_THAT(svg, Contains("<title>authors_books:c1&#45;&gt;books:c0</title>"));
    CHECK(count(svg, "class=\"node\"") == schema.tables.size());
    CHECK(count(svg, "class=\"edge\"") == edges);
    CHECK_THAT(svg, Contains("author_id (on delete restrict)"));
    CHECK_THAT(svg, Contains("book_id (on delete cascade)"));
}

}  // namespace schema_dot_test
