// relstore export --sqlite and relstore import: the database is checked with
// SQLite itself (schema through PRAGMAs, values through queries), a round
// trip gives the snapshot's bytes back, and every refusal names what was
// wrong and leaves the existing output as it was.

#include "cli_run.hpp"
#include "sample_snapshot.hpp"

#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>
#include <relstore/snapshot_format.hpp>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <vector>

namespace cli_sqlite_test {

using namespace relstore;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

using test::run_cli;
using V = std::vector<value>;

/// The sample schema plus people (an acyclic self-reference that sets null)
/// and passports (one-to-one, restrict), with values SQLite holds exactly:
/// the sample's rows without NaN, -0 and a uint64 above INT64_MAX.
std::vector<std::byte> exportable_image(value f64_of_row_1 = 0.25, value u64_of_row_2 = std::uint64_t{
                                           std::numeric_limits<std::int64_t>::max()}) {
    auto schema = test::sample_schema();
    schema.tables.push_back({"people",
                             {test::col("id", column_kind::int32), test::col("name", column_kind::string),
                              test::col("boss", column_kind::int32, true)},
                             {"id"},
                             true,
                             false,
                             {},
                             {{{"boss"}, "people", on_delete::set_null, false, true}}});
    schema.tables.push_back({"passports",
                             {test::col("country", column_kind::string), test::col("no", column_kind::uint16),
                              test::col("holder", column_kind::int32)},
                             {"country", "no"},
                             false,
                             true,
                             {},
                             {{{"holder"}, "people", on_delete::restrict, true, false}}});
    snapshot_writer w(schema);
    for (std::size_t t = 0; t < schema.tables.size(); ++t) {
        w.begin_table(t);
        std::vector<V> rows;
        if (t < 4) rows = test::sample_rows(t);
        if (t == 1) rows[2][3] = 0.5;  // -0 in the sample
        if (t == 2) {
            rows[0][11] = f64_of_row_1;  // NaN in the sample
            rows[1][9] = u64_of_row_2;   // UINT64_MAX in the sample
        }
        if (t == 4)
            rows = {V{std::int64_t{1}, std::string("Ann"), std::monostate{}},
                    V{std::int64_t{2}, std::string("Bob"), std::int64_t{1}}};
        if (t == 5)
            rows = {V{std::string("DE"), std::uint64_t{7}, std::int64_t{2}},
                    V{std::string("FR"), std::uint64_t{65535}, std::int64_t{1}}};
        for (const auto& r : rows) w.put_row(r);
        w.end_table(rows.size(), schema.tables[t].auto_key ? rows.size() + 5 : 0);
    }
    const auto b = w.finish();
    return {b.begin(), b.end()};
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct sqlite_dir {
    fs::path dir;
    fs::path snap;
    fs::path db;
    sqlite_dir() {
        std::string templ = (fs::temp_directory_path() / "relstore-sqlite-XXXXXX").string();
        REQUIRE(::mkdtemp(templ.data()) != nullptr);
        dir = templ;
        snap = dir / "app.snap";
        db = dir / "app.db";
        write_snapshot_file(snap, exportable_image());
    }
    ~sqlite_dir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    test::cli_result export_db() const {
        return run_cli("export " + snap.string() + " --sqlite " + db.string());
    }
    test::cli_result import_db(const fs::path& out) const {
        return run_cli("import " + db.string() + " --schema " + snap.string() + " --out " + out.string());
    }
};

/// A connection to a database the test reads or changes with SQL.
class connection {
public:
    explicit connection(const fs::path& p) { REQUIRE(sqlite3_open(p.c_str(), &db_) == SQLITE_OK); }
    ~connection() { sqlite3_close(db_); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    void exec(const std::string& sql) {
        char* err = nullptr;
        const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
        INFO(sql << ": " << (err != nullptr ? err : ""));
        sqlite3_free(err);
        REQUIRE(rc == SQLITE_OK);
    }
    /// Every row of a query, each cell as text ("NULL" for null, "<type>:" before blobs and typed checks).
    std::vector<std::vector<std::string>> rows(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        INFO(sql);
        REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
        std::vector<std::vector<std::string>> out;
        while (sqlite3_step(s) == SQLITE_ROW) {
            std::vector<std::string> row;
            for (int i = 0; i < sqlite3_column_count(s); ++i) {
                if (sqlite3_column_type(s, i) == SQLITE_NULL) {
                    row.emplace_back("NULL");
                    continue;
                }
                const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
                row.emplace_back(p == nullptr ? "" : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))));
            }
            out.push_back(std::move(row));
        }
        sqlite3_finalize(s);
        return out;
    }

private:
    sqlite3* db_ = nullptr;
};

using result_rows = std::vector<std::vector<std::string>>;

}  // namespace

TEST_CASE("relstore export --sqlite writes the schema SQLite reads back", "[snapshot][cli][sqlite]") {
    sqlite_dir f;
    const auto r = f.export_db();
    REQUIRE(r.out == "");
    REQUIRE(r.status == 0);
    connection c(f.db);
    SECTION("typed columns, NOT NULL and primary keys") {
        // cid, name, type, notnull, default, pk
        CHECK(c.rows("PRAGMA table_info(users)") == result_rows{{"0", "id", "INTEGER", "1", "NULL", "1"},
                                                          {"1", "name", "TEXT", "1", "NULL", "0"},
                                                          {"2", "email", "TEXT", "0", "NULL", "0"}});
        CHECK(c.rows("SELECT name, type, pk FROM pragma_table_info('passports')") ==
              result_rows{{"country", "TEXT", "1"}, {"no", "INTEGER", "2"}, {"holder", "INTEGER", "0"}});
        CHECK(c.rows("SELECT name, type FROM pragma_table_info('cells') WHERE name IN ('b', 'f32', 's')") ==
              result_rows{{"b", "INTEGER"}, {"f32", "REAL"}, {"s", "TEXT"}});
        const auto sql = c.rows("SELECT sql FROM sqlite_master WHERE name = 'users'");
        REQUIRE(sql.size() == 1);
        CHECK_THAT(sql[0][0], Contains("\"id\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL /* int64 */"));
    }
    SECTION("foreign keys with their on-delete actions") {
        // id, seq, table, from, to, on_update, on_delete, match
        CHECK(c.rows("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('posts')") ==
              result_rows{{"users", "author_id", "id", "CASCADE"}});
        CHECK(c.rows("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('people')") ==
              result_rows{{"people", "boss", "id", "SET NULL"}});
        CHECK(c.rows("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('passports')") ==
              result_rows{{"people", "holder", "id", "RESTRICT"}});
        c.exec("PRAGMA foreign_keys = ON");
        c.exec("DELETE FROM users WHERE id = 1");
        CHECK(c.rows("SELECT id FROM posts ORDER BY id") == result_rows{{"12"}});
    }
    SECTION("unique constraints and indexes") {
        // name, unique (origin "c": made by CREATE INDEX; "pk" for the primary key)
        CHECK(c.rows("SELECT name, \"unique\", origin FROM pragma_index_list('users')") ==
              result_rows{{"users_email", "1", "c"}});
        CHECK(c.rows("SELECT name, \"unique\" FROM pragma_index_list('posts')") ==
              result_rows{{"posts_author_id_title", "0"}});
        CHECK(c.rows("SELECT name FROM pragma_index_info('posts_author_id_title')") == result_rows{{"author_id"}, {"title"}});
        // A one-to-one foreign key is a unique index, a self-reference's an index.
        CHECK(c.rows("SELECT name, \"unique\" FROM pragma_index_list('passports') WHERE origin = 'c'") ==
              result_rows{{"passports_holder", "1"}});
        CHECK(c.rows("SELECT name, \"unique\" FROM pragma_index_list('people')") == result_rows{{"people_boss", "0"}});
        CHECK(c.rows("PRAGMA integrity_check") == result_rows{{"ok"}});
    }
    SECTION("values, nulls, empty strings and blobs, next keys") {
        CHECK(c.rows("SELECT id, name, email FROM users ORDER BY id") ==
              result_rows{{"1", "Ada", "ada@example.org"},
                    {"2", "", "NULL"},
                    {"3", "Zo\xc3\xab \xe2\x9c\x93 \xf0\x9f\x98\x80, \"quoted\"\nline", "zoe@example.org"}});
        CHECK(c.rows("SELECT typeof(name) FROM users WHERE id = 2") == result_rows{{"text"}});
        CHECK(c.rows("SELECT score, typeof(score) FROM posts ORDER BY id") ==
              result_rows{{"4.5", "real"}, {"NULL", "null"}, {"0.5", "real"}});
        CHECK(c.rows("SELECT length(CAST(s AS BLOB)), u64, f64, b FROM cells WHERE k = 2") ==
              result_rows{{"8", "9223372036854775807", "Inf", "0"}});
        CHECK(c.rows("SELECT i64 FROM cells WHERE k = 1") == result_rows{{"-9223372036854775808"}});
        CHECK(c.rows("SELECT name, seq FROM sqlite_sequence ORDER BY name") ==
              result_rows{{"cells", "7"}, {"people", "6"}, {"users", "7"}});
    }
}

namespace grouped {

// A table large enough for a program's save to write it grouped by its
// nullable foreign key (docs/snapshot-format.md), with negative keys among
// the parents', so that the order of signed values shows.
struct Owner {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Owner, id, name)
struct Item {
    std::int64_t id{};
    std::optional<std::int64_t> owner_id;
    std::string note;
};
RELSTORE_FIELDS(Item, id, owner_id, note)
using owners = table<"owners", Owner, auto_key<&Owner::id>>;
using items = table<"items", Item, auto_key<&Item::id>, references<&Item::owner_id, owners, on_delete::set_null>>;
using store = relstore::store<owners, items>;

}  // namespace grouped

TEST_CASE("a program's snapshot with a table saved grouped by its parent, exported and imported again, has the "
          "same bytes",
          "[snapshot][cli][sqlite]") {
    sqlite_dir f;
    grouped::store db;
    {
        std::mt19937_64 rng(7);
        auto tx = db.write();
        for (std::int64_t o = -150; o < 150; ++o)
            if (o != 0) tx.insert(grouped::Owner{o, "owner " + std::to_string(o)});
        for (int i = 0; i < 6000; ++i) {
            std::optional<std::int64_t> owner;
            if (rng() % 20 != 0) owner = static_cast<std::int64_t>(rng() % 299) - 149;
            if (owner == 0) owner = 149;  // no owner 0
            tx.insert(grouped::Item{0, owner, "an item's note, number " + std::to_string(i)});
        }
        tx.commit();
    }
    const auto snap = f.dir / "grouped.snap";
    save(db, snap);
    // Grouped, not in key order: the first row has no owner, the last the largest.
    {
        const auto r = snapshot_reader::open(snap);
        auto cur = r.rows(1);
        (void)cur.get_value(r.schema().tables[1].columns[0].type);
        CHECK(cur.get_value(r.schema().tables[1].columns[1].type) == value(std::monostate{}));
    }
    const auto sqlite = f.dir / "grouped.db";
    REQUIRE(run_cli("export " + snap.string() + " --sqlite " + sqlite.string()).status == 0);
    const auto back = f.dir / "grouped-back.snap";
    const auto r = run_cli("import " + sqlite.string() + " --schema " + snap.string() + " --out " + back.string());
    CHECK(r.out == "");
    REQUIRE(r.status == 0);
    CHECK(read_file(back) == read_file(snap));
}

TEST_CASE("a snapshot exported to SQLite and imported again has the same bytes", "[snapshot][cli][sqlite]") {
    sqlite_dir f;
    REQUIRE(f.export_db().status == 0);
    const auto back = f.dir / "back.snap";
    const auto r = f.import_db(back);
    CHECK(r.out == "");
    REQUIRE(r.status == 0);
    CHECK(read_file(back) == read_file(f.snap));

    SECTION("through standard input: the snapshot to export, the schema to import into") {
        const auto db2 = f.dir / "stdin.db";
        REQUIRE(run_cli("export - --sqlite " + db2.string() + " < " + f.snap.string()).status == 0);
        const auto via_stdin = f.dir / "stdin.snap";
        const auto r2 = run_cli("import " + db2.string() + " --schema - --out " + via_stdin.string() + " < " +
                                f.snap.string());
        CHECK(r2.out == "");
        CHECK(read_file(via_stdin) == read_file(f.snap));
    }

    SECTION("rows in another order, text where a number belongs, a table without AUTOINCREMENT") {
        connection c(f.db);
        c.exec("CREATE TABLE u2 AS SELECT * FROM users ORDER BY id DESC");
        c.exec("DROP TABLE users");
        c.exec("ALTER TABLE u2 RENAME TO users");
        c.exec("UPDATE cells SET b = 'true' WHERE k = 1");
        c.exec("DELETE FROM sqlite_sequence WHERE name = 'users'");
        c.exec("INSERT INTO sqlite_sequence VALUES ('users', 7)");
        const auto again = f.dir / "again.snap";
        CHECK(f.import_db(again).status == 0);
        CHECK(read_file(again) == read_file(f.snap));
    }
}

TEST_CASE("relstore export refuses what SQLite cannot hold, and leaves the output", "[snapshot][cli][sqlite]") {
    sqlite_dir f;
    std::ofstream(f.db) << "old";
    SECTION("a uint64 above INT64_MAX") {
        write_snapshot_file(f.snap, exportable_image(0.25, std::numeric_limits<std::uint64_t>::max()));
        const auto r = f.export_db();
        CHECK(r.status == 1);
        CHECK(r.out == "relstore: export to " + f.db.string() +
                           " failed, nothing written: table 'cells', column 'u64', row 2 (k = 2): "
                           "18446744073709551615 does not fit SQLite's INTEGER (signed 64-bit)\n");
    }
    SECTION("a NaN") {
        write_snapshot_file(f.snap, exportable_image(std::numeric_limits<double>::quiet_NaN()));
        const auto r = f.export_db();
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("failed, nothing written: table 'cells', column 'f64', row 1 (k = 1): NaN cannot "
                                   "be stored: SQLite stores NaN as NULL\n"));
    }
    SECTION("a negative zero") {
        write_snapshot_file(f.snap, test::sample_image());
        const auto r = f.export_db();
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("failed, nothing written: table 'posts', column 'score', row 3 (id = 12): -0 cannot "
                                   "be stored: SQLite stores -0 as 0\n"));
    }
    SECTION("a missing or corrupt snapshot") {
        auto r = run_cli("export " + (f.dir / "nope.snap").string() + " --sqlite " + f.db.string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("No such file or directory"));
        r = run_cli("export " + f.db.string() + " --sqlite " + (f.dir / "x.db").string());
        CHECK(r.status == 1);
        CHECK(!fs::exists(f.dir / "x.db"));
    }
    SECTION("a directory as the output") {
        const auto r = run_cli("export " + f.snap.string() + " --sqlite " + f.dir.string());
        CHECK(r.status == 2);
        CHECK(r.out == "relstore: --sqlite " + f.dir.string() + " is a directory\n");
    }
    SECTION("a FIFO as the output: refused, and named as the database it was to be") {
        write_snapshot_file(f.snap, exportable_image(0.25));
        const auto fifo = f.dir / "pipe.db";
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        const auto r = run_cli("export " + f.snap.string() + " --sqlite " + fifo.string());
        fs::remove(fifo);
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("SQLite database '" + fifo.string() + "': cannot save: the path names a FIFO"));
        CHECK_THAT(r.out, !Contains("snapshot '"));
    }
    SECTION("the snapshot itself as the output (it was replaced by the database)") {
        const std::string before = read_file(f.snap);
        const auto r = run_cli("export " + f.snap.string() + " --sqlite " + (f.dir / "." / f.snap.filename()).string());
        CHECK(r.status == 2);
        CHECK_THAT(r.out, Contains("is the snapshot being exported"));
        CHECK((read_file(f.snap) == before));
    }
    CHECK(read_file(f.db) == "old");
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(f.dir)) ++files;
    CHECK(files == 2);  // the snapshot and the old output: no temporary file is left
}

TEST_CASE("relstore import refuses a value, table or column that does not fit, naming it", "[snapshot][cli][sqlite]") {
    sqlite_dir f;
    REQUIRE(f.export_db().status == 0);
    const auto out = f.dir / "new.snap";
    std::ofstream(out) << "old";
    std::string expected;
    {
        connection c(f.db);
        SECTION("text in an integer column") {
            c.exec("UPDATE posts SET author_id = 'abc' WHERE id = 11");
            expected = "table 'posts', column 'author_id', rowid 11: \"abc\" (TEXT) does not convert without loss "
                       "to int64";
        }
        SECTION("an integer beyond the column's type") {
            c.exec("UPDATE cells SET i8 = 200 WHERE k = 3");
            expected = "table 'cells', column 'i8', rowid 3: 200 (INTEGER) does not convert without loss to int8";
        }
        SECTION("a float32 that would round") {
            c.exec("UPDATE cells SET f32 = 0.1 WHERE k = 1");
            expected = "table 'cells', column 'f32', rowid 1: 0.1 (REAL) does not convert without loss to float32";
        }
        SECTION("a float beyond float32") {
            c.exec("UPDATE cells SET f32 = 1e300 WHERE k = 1");
            expected = "table 'cells', column 'f32', rowid 1: 1e+300 (REAL) does not convert without loss to float32";
        }
        SECTION("a real in an integer column") {
            c.exec("UPDATE cells SET i32 = 2.5 WHERE k = 1");
            expected = "table 'cells', column 'i32', rowid 1: 2.5 (REAL) does not convert without loss to int32";
        }
        SECTION("a blob in a string column") {
            c.exec("UPDATE users SET name = x'00' WHERE id = 1");
            expected = "table 'users', column 'name', rowid 1: x'00' (BLOB) does not convert without loss to string";
        }
        SECTION("null in a column that is not nullable") {
            c.exec("CREATE TABLE u2 AS SELECT * FROM users");
            c.exec("DROP TABLE users");
            c.exec("ALTER TABLE u2 RENAME TO users");
            c.exec("UPDATE users SET name = NULL WHERE id = 3");
            expected = "table 'users', column 'name', rowid 3: NULL (NULL) does not convert without loss to string, "
                       "which is not nullable";
        }
        SECTION("a missing table") {
            c.exec("DROP TABLE empty");
            expected = f.db.string() + " has no table 'empty', which the schema of " + f.snap.string() + " has";
        }
        SECTION("a table the schema lacks") {
            c.exec("CREATE TABLE extra (a)");
            expected = "has a table 'extra' that the schema of " + f.snap.string() + " lacks";
        }
        SECTION("a missing column") {
            c.exec("ALTER TABLE posts DROP COLUMN score");
            expected = "table 'posts' has no column 'score', which the schema of " + f.snap.string() + " has";
        }
        SECTION("a column the schema lacks") {
            c.exec("ALTER TABLE posts ADD COLUMN extra");
            expected = "table 'posts' has a column 'extra' that the schema of " + f.snap.string() +
                       " lacks; its columns are: id, author_id, title, score";
        }
        SECTION("a dangling foreign key") {
            c.exec("UPDATE posts SET author_id = 99 WHERE id = 12");
            expected = "breaks a constraint of the schema of " + f.snap.string() +
                       ": table 'posts': author_id = 99 references no row in users";
        }
        SECTION("a duplicate in a unique index") {
            c.exec("DROP INDEX users_email");
            c.exec("UPDATE users SET email = 'ada@example.org' WHERE id = 3");
            expected = "table 'users': duplicate email = \"ada@example.org\" in a unique index";
        }
        SECTION("a cycle through an acyclic self-reference") {
            c.exec("UPDATE people SET boss = 2 WHERE id = 1");
            expected = "table 'people': boss forms a cycle through key ";
        }
        SECTION("a next key below a key") {
            c.exec("UPDATE sqlite_sequence SET seq = 1 WHERE name = 'users'");
            expected = "table 'users': next key 2 is not above the largest stored key 3";
        }
    }
    const auto r = f.import_db(out);
    INFO(r.out);
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Contains("relstore: import into " + out.string() + " failed, nothing written: "));
    CHECK_THAT(r.out, Contains(expected));
    CHECK(read_file(out) == "old");
}

TEST_CASE("relstore import refuses files that are not what it needs", "[snapshot][cli][sqlite]") {
    sqlite_dir f;
    REQUIRE(f.export_db().status == 0);
    const auto out = f.dir / "new.snap";
    SECTION("a missing database") {
        const auto r = run_cli("import " + (f.dir / "nope.db").string() + " --schema " + f.snap.string() +
                               " --out " + out.string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains((f.dir / "nope.db").string() + ": no such file"));
    }
    SECTION("a file that is not a database") {
        const auto r = run_cli("import " + f.snap.string() + " --schema " + f.snap.string() + " --out " + out.string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("file is not a database"));
    }
    SECTION("a missing schema snapshot") {
        const auto r = run_cli("import " + f.db.string() + " --schema " + (f.dir / "nope.snap").string() +
                               " --out " + out.string());
        CHECK(r.status == 1);
        CHECK_THAT(r.out, Contains("No such file or directory"));
    }
    SECTION("a directory as the output") {
        const auto r = run_cli("import " + f.db.string() + " --schema " + f.snap.string() + " --out " + f.dir.string());
        CHECK(r.status == 2);
        CHECK(r.out == "relstore: --out " + f.dir.string() + " is a directory\n");
    }
    SECTION("the database itself as the output") {
        const std::string before = read_file(f.db);
        const auto r = run_cli("import " + f.db.string() + " --schema " + f.snap.string() + " --out " + f.db.string());
        CHECK(r.status == 2);
        CHECK_THAT(r.out, Contains("is the SQLite database being imported"));
        CHECK((read_file(f.db) == before));
    }
    SECTION("options missing") {
        CHECK(run_cli("import " + f.db.string() + " --out " + out.string()).status == 2);
        CHECK(run_cli("export " + f.snap.string()).status == 2);
    }
    CHECK(!fs::exists(out));
}

}  // namespace cli_sqlite_test
