// Snapshots of relstore::text and relstore::bytes columns: a text column is a
// string column in the file (and bytes a blob column), with the same cells,
// so a snapshot saved from std::string columns loads into text columns and
// back, byte for byte, and the file's schema does not tell them apart. A
// journal's records of text rows replay into either, too.
//
// Mutation that made these fail: get_cell keeping only the first 15 bytes of
// a text cell (a decoder that trusted the inline capacity): all three cases.
// (Giving text the blob kind in fields.hpp stops the build instead.)

#include "temp_dir.hpp"
#include "text_schema.hpp"

#include <relstore/journal.hpp>
#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>

namespace text_test {

namespace rs = relstore;
using namespace textschema;

namespace {

template <class Store>
std::string saved(const Store& db) {
    std::ostringstream out;
    rs::save(db, out);
    return out.str();
}

template <class Store>
void load_from(Store& db, const std::string& image) {
    std::istringstream in(image);
    rs::load(db, in);
}

struct temp_dir : relstore_test::temp_dir {
    temp_dir() : relstore_test::temp_dir("relstore-text") {}
};

}  // namespace

TEST_CASE("text and bytes columns round trip through a snapshot", "[snapshot][text]") {
    text_store db;
    fill(db);
    text_store copy;
    load_from(copy, saved(db));
    CHECK(rows_of(copy) == rows_of(db));
    auto q = copy.read();
    // The indexes were rebuilt over the loaded values: lookups by a view find them.
    CHECK(q.find<&TextNote::title>(std::string(16, 's')) != nullptr);
    CHECK(q.find<&TextNote::title>(std::string_view("nul\0inside", 10)) != nullptr);
    CHECK(q.where<&TextNote::body>(std::string(200, 'x')).count() == 1);
    CHECK(q.find<&TextNote::digest>(bytes_of(std::string("\0\xff", 2))) != nullptr);
}

TEST_CASE("a snapshot of std::string columns loads into text columns and back, byte for byte",
          "[snapshot][text]") {
    plain_store plain;
    fill(plain);
    const std::string plain_image = saved(plain);

    text_store as_text;
    load_from(as_text, plain_image);
    CHECK(rows_of(as_text) == rows_of(plain));
    // The same rows make the same file: the schema and every cell agree.
    CHECK(saved(as_text) == plain_image);

    plain_store back;
    load_from(back, saved(as_text));
    CHECK(rows_of(back) == rows_of(plain));
    CHECK(saved(back) == plain_image);
}

TEST_CASE("a journal of text rows replays into text columns and into std::string columns", "[snapshot][text][journal]") {
    temp_dir dir;
    const auto snap = dir.path / "db.snap", journal = dir.path / "db.journal";
    rs::durable_options o;
    o.sync = rs::sync::every_commit;
    o.checkpoint_bytes = 0;  // every change stays in the journal
    std::vector<plain_row> expected;
    {
        text_store db;
        rs::durable<text_store> d(db, snap, journal, o);
        fill(db);  // one record of inserts
        auto tx = db.write();
        tx.set<&TextNote::title>(*tx.find<&TextNote::title>(std::string(16, 's')), std::string(30, 'T'));
        tx.set<&TextNote::thumb>(*tx.find<&TextNote::title>(""), relstore::bytes(bytes_of("thumb")));
        tx.erase(*tx.find<&TextNote::title>(std::string(15, 'f')));
        tx.commit();
        expected = rows_of(db);
    }
    {
        text_store db;
        rs::durable<text_store> d(db, snap, journal, o);
        CHECK(d.recovery().transactions_replayed == 2);
        CHECK(rows_of(db) == expected);
        CHECK(db.read().find<&TextNote::title>(std::string(30, 'T')) != nullptr);
    }
    plain_store db;
    rs::durable<plain_store> d(db, snap, journal, o);
    CHECK(rows_of(db) == expected);
}

}  // namespace text_test
