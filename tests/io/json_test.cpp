#include "io_schema.hpp"

#include <relstore/json.hpp>

#include <catch2/catch.hpp>
#include <store_image.hpp>

#include <nlohmann/json.hpp>

#include <sstream>
#include <string>

namespace json_test {

namespace {

using relstore_test::capture_store;
using relstore_test::diff;

std::string json_of(const io::store& db) {
    std::ostringstream os;
    relstore::write_json(db.read(), os);
    return os.str();
}

// Reads text into db in a transaction that is committed only if the read
// succeeds, and requires that a failed read left db exactly as it was.
template <class Read>
void refused(io::store& db, const std::string& text, Read read, relstore::errc code, const std::string& message) {
    const auto before = capture_store(db);
    {
        auto tx = db.write();
        std::istringstream is(text);
        try {
            read(tx, is);
            FAIL("the input was accepted: " << text);
        } catch (const relstore::error& e) {
            CHECK(e.code() == code);
            CHECK(std::string(e.what()) == message);
        }
    }
    CHECK(diff(before, capture_store(db)).empty());
}

const auto whole = [](auto& tx, std::istream& is) { relstore::read_json(tx, is); };
const auto kinds_only = [](auto& tx, std::istream& is) { relstore::read_json<io::kinds>(tx, is); };

}  // namespace

TEST_CASE("a store with every column type reads back from its JSON unchanged", "[io][json]") {
    io::store db;
    io::fill(db);
    const std::string text = json_of(db);

    io::store copy;
    auto tx = copy.write();
    std::istringstream is(text);
    CHECK(relstore::read_json(tx, is) == 5);
    tx.commit();
    CHECK(diff(capture_store(db), capture_store(copy), false).empty());
    CHECK(json_of(copy) == text);
}

TEST_CASE("JSON writes parents first and each value in its documented form", "[io][json]") {
    io::store db;
    io::fill(db);
    const std::string text = json_of(db);
    INFO(text);
    CHECK(text.find("\"kinds\"") < text.find("\"items\""));
    CHECK(text.find("{\"id\": 3, \"i8\"") < text.find("{\"id\": 1, \"i8\""));  // 1 references 3
    const auto j = nlohmann::json::parse(text);
    const auto& a = j["items"][2];
    CHECK(a["id"] == 1);
    CHECK(a["i8"] == -128);
    CHECK(a["u64"] == 18446744073709551615ull);
    CHECK(a["f"] == "Infinity");
    CHECK(a["d"] == "NaN");
    CHECK(a["note"] == "");
    CHECK(a["maybe"].is_null());
    CHECK(a["at"] == -14182939877);  // milliseconds before 1970
    CHECK(a["took"] == -1500);
    CHECK(a["payload"] == "");
    CHECK(a["extra"] == "00ff100a222c");
    CHECK(a["color"] == 3);  // violet has no name
    CHECK(a["tint"] == "blue");
    CHECK(a["mood"] == -1);
    CHECK(a["price"] == -1250);
    CHECK(a["ref"] == "ab000000000000000000000000000001");
    CHECK(text.find("\"f\": -0.0, \"d\": \"-Infinity\"") != std::string::npos);
    CHECK(a["text"].get<std::string>().find("h\xC3\xA9llo \xE2\x9C\x93") != std::string::npos);
}

TEST_CASE("one table is written and read as a JSON array", "[io][json]") {
    io::store db;
    io::fill(db);
    std::ostringstream os;
    relstore::write_json<io::kinds>(db.read(), os);
    CHECK(os.str() == "[\n  {\"id\": 1, \"name\": \"tools\"},\n  {\"id\": 2, \"name\": \"toys, \\\"fun\\\"\\nones\"}\n]\n");

    io::store copy;
    auto tx = copy.write();
    std::istringstream is(os.str());
    CHECK(relstore::read_json<io::kinds>(tx, is) == 2);
    CHECK(tx.get<io::kinds>(2).name == "toys, \"fun\"\nones");
    std::ostringstream uncommitted;  // a transaction is a read scope too: it writes what it sees
    relstore::write_json<io::kinds>(tx, uncommitted);
    CHECK(uncommitted.str() == os.str());
    CHECK(tx.insert(io::Kind{.name = "next"}).id == 3);  // the auto key goes on after the keys read
}

TEST_CASE("JSON input that does not fit the store is refused and the store is unchanged", "[io][json]") {
    io::store db;
    io::fill(db);
    using relstore::errc;
    SECTION("malformed JSON") {
        refused(db, "{\"kinds\": [{\"id\": 7, \"name\": \"x\"}", whole, errc::bad_input,
                "json: [json.exception.parse_error.101] parse error at line 1, column 34: syntax error while "
                "parsing array - unexpected end of input; expected ']'");
    }
    SECTION("a value of the wrong type") {
        refused(db, "{\"kinds\": [{\"id\": 7, \"name\": 5}]}", whole, errc::bad_input,
                "json: table 'kinds', row 0, column 'name': 5 is not a string");
        refused(db, "[{\"id\": \"seven\", \"name\": \"x\"}]", kinds_only, errc::bad_input,
                "json: table 'kinds', row 0, column 'id': \"seven\" is not a value of type int64");
        refused(db, "[{\"id\": 7.5, \"name\": \"x\"}]", kinds_only, errc::bad_input,
                "json: table 'kinds', row 0, column 'id': 7.5 is not a value of type int64");
        refused(db, "[{\"id\": null, \"name\": \"x\"}]", kinds_only, errc::bad_input,
                "json: table 'kinds', row 0, column 'id': null in a column that is not nullable (int64)");
    }
    SECTION("a missing or unknown column") {
        refused(db, "[{\"id\": 7, \"name\": \"x\"}, {\"id\": 8}]", kinds_only, errc::bad_input,
                "json: table 'kinds', row 1, column 'name': the column is missing");
        refused(db, "[{\"id\": 7, \"name\": \"x\", \"colour\": 1}]", kinds_only, errc::bad_input,
                "json: table 'kinds', row 0, column 'colour': no such column in the table");
        refused(db, "[{\"id\": 7, \"name\": \"x\", \"id\": 8}]", kinds_only, errc::bad_input,
                "json: table 'kinds', row 0, column 'id': the column is given twice");
        refused(db, "[{\"id\": [7], \"name\": \"x\"}]", kinds_only, errc::bad_input,
                "json: table 'kinds', row 0, column 'id': an array is not a value of type int64");
    }
    SECTION("an unknown table, or a document of another shape") {
        refused(db, "{\"kinds\": [], \"nope\": []}", whole, errc::bad_input,
                "json: table 'nope': the store has no such table; its tables are: items, kinds");
        refused(db, "[]", whole, errc::bad_input, "json: expected an object with one array of rows per table");
        refused(db, "{\"kinds\": 1}", whole, errc::bad_input, "json: expected an array of rows for each table");
        refused(db, "[1]", kinds_only, errc::bad_input, "json: table 'kinds', row 0: 1 is not an object");
    }
    SECTION("a value its column's check refuses") {
        refused(db, "[{\"id\": 7, \"name\": \"forbidden\"}]", kinds_only, errc::check_violation,
                "json: table 'kinds', row 0: kinds.name = \"forbidden\" violates the check \"allowed\"");
    }
    SECTION("a duplicate key after rows that were inserted") {
        refused(db, "{\"kinds\": [{\"id\": 7, \"name\": \"x\"}, {\"id\": 1, \"name\": \"y\"}]}", whole,
                errc::duplicate_key, "json: table 'kinds', row 1: kinds.id = 1 already exists");
    }
    SECTION("a dangling foreign key, and values out of their column's range") {
        auto j = nlohmann::json::parse(json_of(db));
        j["kinds"] = nlohmann::json::array();
        auto row = j["items"][0];
        j["items"] = nlohmann::json::array({row});
        j["items"][0]["id"] = 10;
        j["items"][0]["ref"] = "ab000000000000000000000000000010";
        j["items"][0]["kind_id"] = 99;
        refused(db, j.dump(), whole, errc::foreign_key_violation,
                "json: table 'items', row 0: items.kind_id = 99 references no row in kinds");
        j["items"][0]["i8"] = 128;
        refused(db, j.dump(), whole, errc::bad_input,
                "json: table 'items', row 0, column 'i8': 128 is not a value of type int8");
        j["items"][0]["i8"] = 0;
        j["items"][0]["ref"] = "abcd";
        refused(db, j.dump(), whole, errc::bad_input,
                "json: table 'items', row 0, column 'ref': \"abcd\" is refused by its column_traits: a UUID has "
                "16 bytes, not 2");
        j["items"][0]["ref"] = "xyz";
        refused(db, j.dump(), whole, errc::bad_input,
                "json: table 'items', row 0, column 'ref': \"xyz\" is not a value of type blob (an even number of "
                "hex digits)");
        j["items"][0]["ref"] = "ab000000000000000000000000000010";
        j["items"][0]["tint"] = "purple";
        refused(db, j.dump(), whole, errc::bad_input,
                "json: table 'items', row 0, column 'tint': \"purple\" is not a value of type enum Color : uint8 "
                "(a name of its values, or an integer)");
    }
}

TEST_CASE("a failed read_json leaves the transaction's earlier changes in place", "[io][json]") {
    io::store db;
    auto tx = db.write();
    tx.insert(io::Kind{.name = "kept"});
    std::istringstream is("{\"kinds\": [{\"id\": 5, \"name\": \"gone\"}, {\"id\": 5, \"name\": \"dup\"}]}");
    CHECK_THROWS_AS(relstore::read_json(tx, is), relstore::constraint_error);
    CHECK(tx.count<io::kinds>() == 1);
    CHECK(tx.find<io::kinds>(5) == nullptr);
}

TEST_CASE("a string that is not UTF-8 is not written as JSON", "[io][json]") {
    io::store db;
    {
        auto tx = db.write();
        tx.insert(io::Kind{.name = "bad \xFF byte"});
        tx.commit();
    }
    std::ostringstream os;
    try {
        relstore::write_json(db.read(), os);
        FAIL("written");
    } catch (const relstore::input_error& e) {
        CHECK(e.table() == "kinds");
        CHECK(e.column() == "name");
        CHECK(std::string(e.what()) == "json: table 'kinds', the row 1, column 'name': a string that is not UTF-8 "
                                       "cannot be written as JSON (a blob column holds bytes)");
    }
}

TEST_CASE("every prefix of a JSON document is read or refused with a relstore error", "[io][json]") {
    io::store db;
    io::fill(db);
    const std::string text = json_of(db);
    std::size_t read = 0;
    for (std::size_t n = 0; n <= text.rfind('}'); ++n) {  // up to the closing brace, not its newline
        io::store copy;
        auto tx = copy.write();
        std::istringstream is(text.substr(0, n));
        try {
            relstore::read_json(tx, is);
            ++read;
        } catch (const relstore::error&) {
            CHECK(tx.count<io::items>() + tx.count<io::kinds>() == 0);  // the savepoint took back every row
        }
    }
    CHECK(read == 0);  // a prefix is never a whole document
}

}  // namespace json_test
