// Saves while other threads write and read. With load_test.cpp (tables
// decoded on several threads) this is the snapshot binary that CI also runs
// under ThreadSanitizer, kept apart from the single-threaded snapshot tests
// so that the TSan build compiles only what has threads in it.

#include "blog.hpp"
#include "temp_dir.hpp"

#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>

namespace rs = relstore;

namespace {

void save_while_writing(const rs::save_options& options) {
    relstore_test::temp_dir dir("relstore-save-threads");
    blog::store db;
    std::atomic<bool> stop{false};
    // Each transaction adds a user and a post that references it, so a
    // snapshot taken mid-transaction would have a post without its author or
    // counts that differ. Bounded, so that the store (and each save) stays
    // small however fast the writer runs.
    std::thread writer([&] {
        for (int i = 0; !stop && i < 3000; ++i) {
            auto tx = db.write();
            const auto id = tx.insert(blog::User{.name = "u" + std::to_string(i)}).id;
            (void)tx.insert(blog::Post{.title = "t" + std::to_string(i), .author_id = id});
            tx.commit();
        }
    });
    std::atomic<int> torn_reads{0};  // Catch2 assertions are not thread-safe: count, check later
    std::thread reader([&] {
        while (!stop) {
            auto r = db.read();
            if (r.count<blog::users>() != r.count<blog::posts>()) ++torn_reads;
        }
    });
    for (int i = 0; i < 20; ++i) {
        const auto p = dir.path / ("c" + std::to_string(i) + ".snap");
        rs::save(db, p, options);
        blog::store copy;
        rs::load(copy, p);  // checks every foreign key
        auto r = copy.read();
        CHECK(r.count<blog::users>() == r.count<blog::posts>());
    }
    stop = true;
    writer.join();
    reader.join();
    CHECK(torn_reads == 0);
}

}  // namespace

TEST_CASE("a save sees whole transactions while writers commit and readers read", "[snapshot][store][concurrency]") {
    SECTION("saved by a forked child") { save_while_writing({.in_child_process = true}); }
    SECTION("saved on the calling thread") { save_while_writing({.in_child_process = false}); }
}
