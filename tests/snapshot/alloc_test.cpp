// Peak heap use of loads, measured through the replaced global operator new
// of tests/support/alloc_counter.cpp (hence a binary of its own): a crafted
// file must not make a load allocate far more than the file, and a normal
// load not far more than the store it builds.

#include "alloc_counter.hpp"
#include "temp_dir.hpp"
#include "blog.hpp"

#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace alloc_test {

using relstore_test::reset_peak;

namespace rs = relstore;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace tiny {
// A one-byte row, the smallest there is: a file may declare one row per byte.
struct Flag {
    std::uint8_t k{};
};
RELSTORE_FIELDS(Flag, k)
// Two hashed indexes, each of which used to be reserved for the declared count.
using flags = rs::table<"flags", Flag, rs::hashed_primary_key<&Flag::k>, rs::index<&Flag::k>>;
using store = rs::store<flags>;
}  // namespace tiny

namespace {

struct temp_dir : relstore_test::temp_dir {
    temp_dir() : relstore_test::temp_dir("relstore-alloc") {}
};

}  // namespace

// Every slab from operator new, where the hooks above count it: huge-page
// slabs are mappings of their own.
const bool no_huge_pages = [] {
    rs::use_huge_pages(false);
    return true;
}();

TEST_CASE("a crafted file declaring millions of tiny rows costs about its size when refused at the second row",
          "[snapshot][load][memory]") {
    temp_dir dir;
    const auto p = dir.path / "tiny.snap";
    constexpr std::size_t rows = std::size_t{4} << 20;  // 4 MiB of one-byte rows, all key 0
    {
        rs::snapshot_writer w(rs::describe<tiny::store>(), rows + 4096);
        w.begin_table(0);
        for (std::size_t i = 0; i < rows; ++i) w.put_u8(0);
        w.end_table(rows);
        rs::write_snapshot_file(p, w.finish());
    }
    const auto file_size = fs::file_size(p);
    tiny::store db;
    const std::size_t before = reset_peak();
    try {
        rs::load(db, p);
        FAIL("loaded");
    } catch (const rs::snapshot_error& e) {
        CHECK_THAT(e.what(), Contains("table 'flags': duplicate key k = 0"));
        CHECK(e.offset() == rs::snapshot_reader::open(p).table(0).rows_offset + 1);
    }
    const std::size_t extra = relstore_test::peak_bytes() - before;
    INFO("file " << file_size << " bytes, load's peak " << extra << " bytes above the start");
    // The file is not held (it is read through small buffers); the decoder
    // may reserve what half of the file's bytes would take in hash buckets
    // (the one reserve of a file with rows of a realistic size), and no more.
    CHECK(extra <= 2 * file_size);
}

TEST_CASE("a load's peak heap is a small multiple of the store it builds", "[snapshot][load][memory]") {
    temp_dir dir;
    const auto p = dir.path / "blog.snap";
    {
        blog::store src;
        auto tx = src.write();
        for (int u = 0; u < 2000; ++u) {
            const auto id = tx.insert(blog::User{0, "user " + std::to_string(u), "u" + std::to_string(u) + "@x.org"}).id;
            for (int k = 0; k < 10; ++k)
                (void)tx.insert(blog::Post{0, "title " + std::to_string(k), "some content of a post", id});
        }
        tx.commit();
        rs::save(src, p);
    }
    blog::store db;
    const std::size_t before = reset_peak();
    rs::load(db, p);
    const std::size_t store_size = relstore_test::bytes_in_use() - before;
    const std::size_t extra = relstore_test::peak_bytes() - before;
    INFO("file " << fs::file_size(p) << " bytes, store " << store_size << " bytes, load's peak " << extra);
    CHECK(db.read().count<blog::posts>() == 20000);
    // The file, the store, and the step of a hashed index's growth.
    CHECK(extra <= 2 * store_size);
}

}  // namespace alloc_test
