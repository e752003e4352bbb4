// The `relstore` tool on snapshots of the new column types: dump prints
// timestamps in ISO 8601 UTC, durations with their unit, blobs in hex and
// described enums by name; schema and info give each column's precision and
// enum names. A version-1 file (data/v1_every_kind.snap) prints exactly as the
// tool printed it before these types existed.

#include "cli_run.hpp"
#include "coltypes_schema.hpp"

#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#ifndef RELSTORE_TEST_DATA
#error "RELSTORE_TEST_DATA must name tests/snapshot/data"
#endif

namespace column_types_cli_test {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

using relstore::test::cli_result;

cli_result relstore_cli(const std::string& args) { return relstore::test::run_cli(args); }

struct coltypes_file {
    fs::path dir;
    fs::path file;
    coltypes_file() {
        std::string templ = (fs::temp_directory_path() / "relstore-coltypes-XXXXXX").string();
        REQUIRE(::mkdtemp(templ.data()) != nullptr);
        dir = templ;
        file = dir / "coltypes.snap";
        coltypes::store db;
        coltypes::fill(db);
        relstore::save(db, file);
    }
    ~coltypes_file() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

const std::string v1_file = (fs::path(RELSTORE_TEST_DATA) / "v1_every_kind.snap").string();

}  // namespace

TEST_CASE("relstore dump prints timestamps, durations, blobs and enum names as CSV", "[snapshot][cli][coltypes]") {
    coltypes_file f;
    const auto r = relstore_cli("dump " + f.file.string());
    CHECK(r.status == 0);
    CHECK(r.out ==
          "# table events\r\n"
          "at,logged,day,took,every,payload,color,mood,price,ref,done,timeout,extra,tint,discount\r\n"
          "1969-12-31T23:59:59.999Z,1970-01-01T00:00:00Z,1969-07-20T00:00:00Z,-3ns,0min,\"\",red,1,0,"
          "ab000000000000000000000000000002,,,,,\r\n"
          "2024-03-05T12:34:56.789Z,2024-03-05T12:34:56Z,2024-03-05T00:00:00Z,1500ns,90min,00ff10,green,-1,1250,"
          "ab000000000000000000000000000001,2024-03-05T12:34:56.789007Z,250ms,\"\",3,-5\r\n"
          "2024-03-05T13:34:56.789Z,2024-03-05T13:34:56Z,2024-03-05T00:00:00Z,2ns,-1min,01,blue,0,99,"
          "ab000000000000000000000000000003,,0ms,cafe,red,\r\n"
          "\r\n"
          "# table tickets\r\n"
          "id,event_at,seat\r\n"
          "ab000000000000000000000000000008,2024-03-05T13:34:56.789Z,0b\r\n"
          "ab000000000000000000000000000009,2024-03-05T12:34:56.789Z,0a\r\n");
}

TEST_CASE("relstore dump prints timestamps, durations, blobs and enum names as JSON", "[snapshot][cli][coltypes]") {
    coltypes_file f;
    const auto r = relstore_cli("dump " + f.file.string() + " --format json --table events");
    CHECK(r.status == 0);
    CHECK(r.out ==
          "[\n"
          "  {\"at\": \"1969-12-31T23:59:59.999Z\", \"logged\": \"1970-01-01T00:00:00Z\", \"day\": "
          "\"1969-07-20T00:00:00Z\", \"took\": \"-3ns\", \"every\": \"0min\", \"payload\": \"\", \"color\": \"red\", "
          "\"mood\": 1, \"price\": 0, \"ref\": \"ab000000000000000000000000000002\", \"done\": null, \"timeout\": null, "
          "\"extra\": null, \"tint\": null, \"discount\": null},\n"
          "  {\"at\": \"2024-03-05T12:34:56.789Z\", \"logged\": \"2024-03-05T12:34:56Z\", \"day\": "
          "\"2024-03-05T00:00:00Z\", \"took\": \"1500ns\", \"every\": \"90min\", \"payload\": \"00ff10\", \"color\": "
          "\"green\", \"mood\": -1, \"price\": 1250, \"ref\": \"ab000000000000000000000000000001\", \"done\": "
          "\"2024-03-05T12:34:56.789007Z\", \"timeout\": \"250ms\", \"extra\": \"\", \"tint\": 3, \"discount\": -5},\n"
          "  {\"at\": \"2024-03-05T13:34:56.789Z\", \"logged\": \"2024-03-05T13:34:56Z\", \"day\": "
          "\"2024-03-05T00:00:00Z\", \"took\": \"2ns\", \"every\": \"-1min\", \"payload\": \"01\", \"color\": \"blue\", "
          "\"mood\": 0, \"price\": 99, \"ref\": \"ab000000000000000000000000000003\", \"done\": null, \"timeout\": "
          "\"0ms\", \"extra\": \"cafe\", \"tint\": \"red\", \"discount\": null}\n"
          "]\n");
}

TEST_CASE("relstore schema and info give each column's precision and enum names", "[snapshot][cli][coltypes]") {
    coltypes_file f;
    const std::string schema =
        "table events: 3 rows\n"
        "  at        timestamp[ms]\n"
        "  logged    timestamp[s]\n"
        "  day       timestamp[d]\n"
        "  took      duration[ns]\n"
        "  every     duration[min, int32]\n"
        "  payload   blob\n"
        "  color     enum Color : uint8 {red = 0, green = 1, blue = 2}\n"
        "  mood      int16\n"
        "  price     int64\n"
        "  ref       blob\n"
        "  done      timestamp[\u00b5s]?\n"
        "  timeout   duration[ms]?\n"
        "  extra     blob?\n"
        "  tint      enum Color : uint8? {red = 0, green = 1, blue = 2}\n"
        "  discount  int64?\n"
        "  key (at), ordered\n"
        "  unique hashed index (ref)\n"
        "  ordered index (took)\n"
        "  hashed index (color)\n"
        "  unique ordered index (payload)\n"
        "table tickets: 2 rows\n"
        "  id        blob\n"
        "  event_at  timestamp[ms]\n"
        "  seat      blob\n"
        "  key (id), hashed\n"
        "  unique hashed index (seat)\n"
        "  foreign key (event_at) -> events, on delete cascade\n";
    const auto s = relstore_cli("schema " + f.file.string());
    CHECK(s.status == 0);
    CHECK(s.out == schema);
    const auto i = relstore_cli("info " + f.file.string());
    CHECK(i.status == 0);
    CHECK_THAT(i.out, Contains("rows:           5\n\n" + schema));
    const auto v = relstore_cli("verify " + f.file.string());
    CHECK(v.status == 0);
}

TEST_CASE("relstore prints a version-1 file as it did before the new column types", "[snapshot][cli][compat]") {
    const auto csv = relstore_cli("dump " + v1_file);
    CHECK(csv.status == 0);
    CHECK(csv.out == "# table items\r\n"
                     "id,flag,i8,i16,i32,u8,u16,u32,u64,f32,f64,s,shade,oi,os,of,ob,oshade\r\n"
                     "1,true,-128,32767,-123456,255,65535,4000000000,18446744073709551615,-0,1e+300,caf\xc3\xa9,-2,"
                     "-1,\"\",2.5,false,7\r\n"
                     "2,false,0,0,7,0,0,0,0,Infinity,NaN,\"\",0,,,,,\r\n"
                     "10,false,1,-1,-7,1,1,1,1,1.5,-2.25,ten,3,0,x,-0,true,\r\n"
                     "\r\n"
                     "# table tags\r\n"
                     "name,item_id\r\n"
                     "blue,10\r\n"
                     "green,1\r\n"
                     "red,1\r\n");
    const auto json = relstore_cli("dump --format json " + v1_file);
    CHECK(json.status == 0);
    CHECK(json.out ==
          "{\n  \"items\": [\n"
          "    {\"id\": 1, \"flag\": true, \"i8\": -128, \"i16\": 32767, \"i32\": -123456, \"u8\": 255, \"u16\": 65535, "
          "\"u32\": 4000000000, \"u64\": 18446744073709551615, \"f32\": -0, \"f64\": 1e+300, \"s\": \"caf\xc3\xa9\", "
          "\"shade\": -2, \"oi\": -1, \"os\": \"\", \"of\": 2.5, \"ob\": false, \"oshade\": 7},\n"
          "    {\"id\": 2, \"flag\": false, \"i8\": 0, \"i16\": 0, \"i32\": 7, \"u8\": 0, \"u16\": 0, \"u32\": 0, "
          "\"u64\": 0, \"f32\": \"Infinity\", \"f64\": \"NaN\", \"s\": \"\", \"shade\": 0, \"oi\": null, \"os\": null, "
          "\"of\": null, \"ob\": null, \"oshade\": null},\n"
          "    {\"id\": 10, \"flag\": false, \"i8\": 1, \"i16\": -1, \"i32\": -7, \"u8\": 1, \"u16\": 1, \"u32\": 1, "
          "\"u64\": 1, \"f32\": 1.5, \"f64\": -2.25, \"s\": \"ten\", \"shade\": 3, \"oi\": 0, \"os\": \"x\", "
          "\"of\": -0, \"ob\": true, \"oshade\": null}\n"
          "  ],\n  \"tags\": [\n"
          "    {\"name\": \"blue\", \"item_id\": 10},\n"
          "    {\"name\": \"green\", \"item_id\": 1},\n"
          "    {\"name\": \"red\", \"item_id\": 1}\n"
          "  ]\n}\n");
    const auto schema = relstore_cli("schema " + v1_file);
    CHECK(schema.status == 0);
    CHECK_THAT(schema.out, Contains("  shade   int16\n  oi      int64?\n"));
}

TEST_CASE("relstore dump --where reads a value as dump prints the column's type", "[snapshot][cli][coltypes][dataio]") {
    coltypes_file f;
    const auto ats = [&](const std::string& where) {
        return relstore_cli("dump " + f.file.string() + " -t events -c at --where " + where);
    };
    const std::string second = "at\r\n2024-03-05T12:34:56.789Z\r\n";
    SECTION("timestamps in ISO 8601, at their precision or as ticks") {
        CHECK(ats("at=2024-03-05T12:34:56.789Z").out == second);
        CHECK(ats("at=2024-03-05T12:34:56.789000").out == second);
        CHECK(ats("logged=2024-03-05T12:34:56Z").out == second);
        CHECK(ats("at=1709642096789").out == second);
        CHECK(ats("day=1969-07-20").out == "at\r\n1969-12-31T23:59:59.999Z\r\n");
        CHECK(ats("done=2024-03-05T12:34:56.789007Z").out == second);
        // Between two ticks: no cell of the column can hold it.
        CHECK(ats("at=2024-03-05T12:34:56.7891Z").out ==
              "relstore: --where events.at: '2024-03-05T12:34:56.7891Z' is not a value of type timestamp[ms]\n");
    }
    SECTION("durations with or without their unit") {
        CHECK(ats("took=1500ns").out == second);
        CHECK(ats("took=1500").out == second);
        CHECK(ats("every=90min").out == second);
        CHECK(ats("timeout=250ms").out == second);
    }
    SECTION("enum values by name or number, blobs in hex") {
        CHECK(ats("color=green").out == second);
        CHECK(ats("color=1").out == second);
        CHECK(ats("tint=3").out == second);
        CHECK(ats("payload=00FF10").out == second);
        CHECK(ats("ref=ab000000000000000000000000000001").out == second);
    }
    SECTION("values the type cannot hold") {
        auto r = ats("at=2024-02-30T00:00:00Z");
        CHECK(r.status == 2);
        CHECK(r.out == "relstore: --where events.at: '2024-02-30T00:00:00Z' is not a value of type timestamp[ms]\n");
        r = ats("took=3s");
        CHECK(r.out == "relstore: --where events.took: '3s' is not a value of type duration[ns]\n");
        r = ats("color=purple");
        CHECK(r.out == "relstore: --where events.color: 'purple' is not a value of type enum Color : uint8\n");
        r = ats("payload=0g");
        CHECK(r.out == "relstore: --where events.payload: '0g' is not a value of type blob\n");
        CHECK(ats("every=99999999999min").status == 2);  // beyond int32
    }
}

TEST_CASE("timestamps, durations, blobs and enums go to SQLite and back to the same bytes",
          "[snapshot][cli][coltypes][sqlite]") {
    coltypes_file f;
    const auto db = f.dir / "coltypes.db";
    const auto back = f.dir / "back.snap";
    const auto e = relstore_cli("export " + f.file.string() + " --sqlite " + db.string());
    CHECK(e.out == "");
    REQUIRE(e.status == 0);
    const auto i = relstore_cli("import " + db.string() + " --schema " + f.file.string() + " --out " + back.string());
    CHECK(i.out == "");
    REQUIRE(i.status == 0);
    const auto bytes = [](const fs::path& p) {
        std::ifstream in(p, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    CHECK(bytes(back) == bytes(f.file));

    // What a person types into sqlite3 converts too: a timestamp in ISO 8601, an enum value by name.
    const auto sql = [&](const std::string& statement) {
        REQUIRE(std::system(("sqlite3 " + db.string() + " \"" + statement + "\"").c_str()) == 0);
    };
    if (std::system("command -v sqlite3 > /dev/null") == 0) {
        sql("UPDATE events SET logged = '2024-03-05T12:34:56Z', color = 'green' WHERE color = 1");
        const auto again = f.dir / "again.snap";
        CHECK(relstore_cli("import " + db.string() + " --schema " + f.file.string() + " --out " + again.string())
                  .status == 0);
        CHECK(bytes(again) == bytes(f.file));
    }
}

}  // namespace column_types_cli_test
