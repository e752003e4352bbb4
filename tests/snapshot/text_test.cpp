// Snapshots of relstore::text and relstore::bytes columns: a text column is a
// string column in the file (and bytes a blob column), with the same cells,
// so a snapshot saved from std::string columns loads into text columns and
// back, byte for byte, and the file's schema does not tell them apart.
//
// Mutation that made this fail: writing a text cell with put_blob's kind
// check swapped (column_kind::blob for text in fields.hpp's builtin_form):
// the cross loads are refused as a schema mismatch.

#include "text_schema.hpp"

#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

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
