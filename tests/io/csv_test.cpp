#include "io_schema.hpp"

#include <relstore/csv.hpp>

#include <catch2/catch.hpp>
#include <store_image.hpp>

#include <sstream>
#include <string>

namespace csv_test {

namespace {

using relstore_test::capture_store;
using relstore_test::diff;

template <class T>
std::string csv_of(const io::store& db) {
    std::ostringstream os;
    relstore::write_csv<T>(db.read(), os);
    return os.str();
}

template <class T>
void refused(io::store& db, const std::string& text, relstore::errc code, const std::string& message) {
    const auto before = capture_store(db);
    {
        auto tx = db.write();
        std::istringstream is(text);
        try {
            relstore::read_csv<T>(tx, is);
            FAIL("the input was accepted: " << text);
        } catch (const relstore::error& e) {
            CHECK(e.code() == code);
            CHECK(std::string(e.what()) == message);
        }
    }
    CHECK(diff(before, capture_store(db)).empty());
}

}  // namespace

TEST_CASE("tables with every column type read back from their CSV unchanged", "[io][csv]") {
    io::store db;
    io::fill(db);
    const std::string kinds = csv_of<io::kinds>(db), items = csv_of<io::items>(db);

    io::store copy;
    auto tx = copy.write();
    std::istringstream k(kinds), i(items);
    CHECK(relstore::read_csv<io::kinds>(tx, k) == 2);
    CHECK(relstore::read_csv<io::items>(tx, i) == 3);
    tx.commit();
    CHECK(diff(capture_store(db), capture_store(copy), false).empty());
    CHECK(csv_of<io::items>(copy) == items);
}

TEST_CASE("CSV quotes what RFC 4180 says, and tells null from empty", "[io][csv]") {
    io::store db;
    io::fill(db);
    CHECK(csv_of<io::kinds>(db) == "id,name\r\n1,tools\r\n2,\"toys, \"\"fun\"\"\nones\"\r\n");
    const std::string items = csv_of<io::items>(db);
    INFO(items);
    CHECK(items.rfind("id,i8,i16,i32,u8,u16,u32,u64,f,d,flag,text,note,maybe,at,logged,took,every,timeout,payload,"
                      "extra,color,tint,mood,price,discount,ref,kind_id,parent_id\r\n",
                      0) == 0);
    // Row 1 comes after row 3, which it references; "" is an empty string or blob, nothing is null.
    CHECK(items.find("\r\n3,0,0,0,0,0,0,0,-0,-Infinity,false,plain,NULL,,0,0,0,0,,01,\"\",red,,0,0,,"
                     "ab000000000000000000000000000003,1,2\r\n1,-128,") != std::string::npos);
    CHECK(items.find(",Infinity,NaN,true,\"quote \"\" comma , newline \n crlf \r\n tab \t backslash \\ "
                     "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80\",\"\",,-14182939877,-14182940,-1500,2147483647,0,"
                     "\"\",00ff100a222c,3,blue,-1,-1250,-9223372036854775808,") != std::string::npos);
}

TEST_CASE("CSV read takes columns in any order, a byte order mark, LF line ends and unquoted empty strings", "[io][csv]") {
    io::store db;
    auto tx = db.write();
    std::istringstream is("\xEF\xBB\xBFname,id\n,4\n\"a\nb\",5\n");
    CHECK(relstore::read_csv<io::kinds>(tx, is) == 2);
    CHECK(tx.get<io::kinds>(4).name.empty());
    CHECK(tx.get<io::kinds>(5).name == "a\nb");
}

TEST_CASE("CSV input that does not fit the table is refused and the store is unchanged", "[io][csv]") {
    io::store db;
    io::fill(db);
    using relstore::errc;
    SECTION("a malformed record") {
        refused<io::kinds>(db, "id,name\r\n7,\"open\r\n", errc::bad_input,
                           "csv: table 'kinds', line 2: a quoted field is not closed (the input ends inside it)");
        refused<io::kinds>(db, "id,name\r\n7,\"x\"y\r\n", errc::bad_input,
                           "csv: table 'kinds', line 2: text after the closing quote of a field");
        refused<io::kinds>(db, "id,name\r\n7,x\r\n8\r\n", errc::bad_input,
                           "csv: table 'kinds', line 3: 1 field(s), but the header names 2");
        refused<io::kinds>(db, "", errc::bad_input, "csv: table 'kinds': the input is empty (a header is needed)");
    }
    SECTION("a header that does not name the columns") {
        refused<io::kinds>(db, "id\r\n7\r\n", errc::bad_input,
                           "csv: table 'kinds', line 1, column 'name': the header lacks the column");
        refused<io::kinds>(db, "id,name,size\r\n", errc::bad_input,
                           "csv: table 'kinds', line 1, column 'size': no such column in the table");
        refused<io::kinds>(db, "id,name,id\r\n", errc::bad_input,
                           "csv: table 'kinds', line 1, column 'id': the header names the column twice");
    }
    SECTION("a value of the wrong type") {
        refused<io::kinds>(db, "id,name\r\n7,a\r\n\"a\nb\",x\r\n", errc::bad_input,
                           "csv: table 'kinds', line 3, column 'id': \"a\\nb\" is not a value of type int64");
        refused<io::kinds>(db, "id,name\r\n,x\r\n", errc::bad_input,
                           "csv: table 'kinds', line 2, column 'id': an empty field (null) in a column that is not "
                           "nullable (int64)");
    }
    SECTION("a value its column's check refuses") {
        refused<io::kinds>(db, "id,name\r\n7,forbidden\r\n", errc::check_violation,
                "csv: table 'kinds', line 2: kinds.name = \"forbidden\" violates the check \"allowed\"");
    }
    SECTION("a duplicate key, a duplicate unique value, a dangling foreign key") {
        refused<io::kinds>(db, "id,name\r\n7,x\r\n2,y\r\n", errc::duplicate_key,
                           "csv: table 'kinds', line 3: kinds.id = 2 already exists");
        refused<io::kinds>(db, "id,name\r\n7,tools\r\n", errc::unique_violation,
                           "csv: table 'kinds', line 2: kinds.name = \"tools\" already exists");
        std::string items = csv_of<io::items>(db);
        items = items.substr(0, items.find("\r\n") + 2) +
                "10,0,0,0,0,0,0,0,0,0,false,x,,,0,0,0,0,,00,,red,,0,0,,ab000000000000000000000000000010,99,\r\n";
        refused<io::items>(db, items, errc::foreign_key_violation,
                           "csv: table 'items', line 2: items.kind_id = 99 references no row in kinds");
    }
}

TEST_CASE("every prefix of a CSV table is read or refused with a relstore error", "[io][csv]") {
    io::store db;
    io::fill(db);
    const std::string kinds = csv_of<io::kinds>(db), items = csv_of<io::items>(db);
    for (std::size_t n = 0; n < items.size(); ++n) {
        io::store copy;
        auto tx = copy.write();
        std::istringstream k(kinds), is(items.substr(0, n));
        relstore::read_csv<io::kinds>(tx, k);
        try {
            relstore::read_csv<io::items>(tx, is);
        } catch (const relstore::error&) {
            CHECK(tx.count<io::items>() == 0);
        }
    }
}

}  // namespace csv_test
