// Where rows live: each table's nodes come from a pool of its own, which
// takes erased rows' nodes back, puts rolled-back rows where they were,
// travels with the rows when stores swap contents, gives an emptied table's
// memory back, and can be sized ahead (reserve, insert_many); slabs of
// destroyed tables are kept for reuse, within a bound.
#include "checks.hpp"
#include "shop.hpp"
#include "vm_flags.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <list>
#include <sstream>
#include <string>
#include <vector>

namespace memory_test {

using namespace shop;
using relstore_test::capture;
using relstore_test::capture_store;
using relstore_test::check_consistent;
using relstore_test::diff;

namespace {

struct filled {
    shop::store db;
    filled() { shop::fill(db); }
};

template <class T, class Store>
const relstore::detail::node_pool& pool_of(const Store& db) {
    return db.template state<T>().pool();
}

/// True when every row of T lives in T's pool, which holds nothing else
/// (besides the container's own header node).
template <class T, class Scope>
bool rows_in_own_pool(const Scope& q) {
    const auto& pool = pool_of<T>(q.store_ref());
    std::size_t n = 0;
    for (const auto& row : q.template all<T>()) {
        if (!pool.owns(&row)) return false;
        ++n;
    }
    return pool.live() == n + 1;
}

/// The bucket counts of T's hashed indexes, in spec order.
template <class T, class Store>
std::vector<std::size_t> bucket_counts(const Store& db) {
    std::vector<std::size_t> out;
    relstore::detail::for_each_spec<T>([&]<class S>(S*) {
        if constexpr (S::is_hashed) out.push_back(db.template state<T>().rows.template get<S>().bucket_count());
    });
    return out;
}

Tag tag(int i) { return Tag{0, "tag " + std::to_string(i)}; }

using relstore_test::vm_flags_of;

bool linux_with_huge_pages() { return std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled"); }

}  // namespace

TEST_CASE_METHOD(filled, "every row lives in its table's own pool", "[core][memory][pool]") {
    auto q = db.read();
    CHECK(rows_in_own_pool<customers>(q));
    CHECK(rows_in_own_pool<products>(q));
    CHECK(rows_in_own_pool<lines>(q));
    CHECK(rows_in_own_pool<tags>(q));
    CHECK_FALSE(pool_of<tags>(db).owns(&q.get<customers>(1)));
}

TEST_CASE_METHOD(filled, "an erased row's node goes back to the pool at commit and the next insert reuses it",
                 "[core][memory][pool]") {
    const Tag* old = nullptr;  // compared as an address only, after the row is gone
    {
        const auto q = db.read();
        old = q.find<tags>(2);
    }
    const std::size_t slabs = pool_of<tags>(db).slab_count();
    {
        auto tx = db.write();
        tx.erase<tags>(2);
        CHECK(pool_of<tags>(db).live() == 3);  // kept by the undo log until commit
        tx.commit();
    }
    CHECK(pool_of<tags>(db).live() == 2);
    auto tx = db.write();
    CHECK(&tx.insert(Tag{0, "reused"}) == old);
    CHECK(pool_of<tags>(db).slab_count() == slabs);
}

TEST_CASE_METHOD(filled, "rollback puts erased rows back where they were and gives inserted rows' nodes back",
                 "[core][memory][pool][rollback]") {
    const auto before = capture_store(db);
    const std::size_t live = pool_of<customers>(db).live();
    {
        auto tx = db.write();
        tx.erase<lines>(100, 1);
        for (int i = 0; i < 500; ++i) tx.insert(Customer{0, std::to_string(i) + "@x", "F", std::to_string(i), std::nullopt, i, "c", ""});
        tx.erase<customers>(2);
        tx.set<&Customer::age>(tx.get<customers>(3), 99);
        CHECK(pool_of<customers>(db).live() == live + 500);  // 501 rows in, one kept by the log
    }
    CHECK(diff(before, capture_store(db)) == "");  // addresses included
    CHECK(pool_of<customers>(db).live() == live);
    auto q = db.read();
    CHECK(rows_in_own_pool<customers>(q));
    CHECK(rows_in_own_pool<lines>(q));
    CHECK(check_consistent(capture(q)) == "");
}

TEST_CASE("a table emptied by a commit gives its memory back", "[core][memory][pool]") {
    shop::store db;
    {
        auto tx = db.write();
        for (int i = 0; i < 20000; ++i) tx.insert(tag(i));
        tx.commit();
    }
    const auto& full = pool_of<tags>(db);
    CHECK(full.slab_bytes() > (std::size_t{1} << 20));
    SECTION("by clear") {
        auto tx = db.write();
        CHECK(tx.clear<tags>() == 20000);
        tx.commit();
    }
    SECTION("by erasing every row") {
        auto tx = db.write();
        for (int i = 1; i <= 20000; ++i) tx.erase<tags>(std::int64_t{i});
        tx.commit();
    }
    const auto& emptied = pool_of<tags>(db);
    CHECK(emptied.slab_bytes() <= 4096);
    CHECK(emptied.live() == 1);
    CHECK(bucket_counts<tags>(db) == bucket_counts<tags>(shop::store{}));
    auto tx = db.write();
    CHECK(tx.insert(Tag{0, "after"}).id == 20001);  // keys are not reused
    CHECK(rows_in_own_pool<tags>(tx));
    tx.commit();
}

TEST_CASE("a table emptied and refilled in one transaction keeps its memory", "[core][memory][pool]") {
    shop::store db;
    {
        auto tx = db.write();
        for (int i = 0; i < 5000; ++i) tx.insert(tag(i));
        tx.commit();
    }
    const std::size_t bytes = pool_of<tags>(db).slab_bytes();
    auto tx = db.write();
    tx.clear<tags>();
    tx.insert(tag(0));
    tx.commit();
    CHECK(pool_of<tags>(db).slab_bytes() == bytes);
    CHECK(db.read().count<tags>() == 1);
}

TEST_CASE("reserving more rows than memory can address throws bad_alloc and leaves the store usable",
          "[core][memory][reserve]") {
    // n times the node's size wrapped around to a small slab (and under
    // AddressSanitizer, asked operator new for 2^64 bytes: an abort).
    shop::store db;
    auto tx = db.write();
    tx.insert(tag(0));
    const std::size_t slabs = pool_of<tags>(tx.store_ref()).slab_bytes();
    for (const std::size_t n : {std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max() / 2,
                                std::size_t{1} << 62}) {
        INFO("reserve<tags>(" << n << ")");
        CHECK_THROWS_AS(tx.reserve<tags>(n), std::bad_alloc);
        CHECK(pool_of<tags>(tx.store_ref()).slab_bytes() == slabs);
    }
    for (int i = 1; i < 100; ++i) tx.insert(tag(i));
    tx.commit();
    CHECK(db.read().count<tags>() == 100);
}

TEST_CASE_METHOD(filled, "reserve sizes the nodes, every hashed index and the log for the rows to come",
                 "[core][memory][reserve]") {
    constexpr int n = 30000;
    auto tx = db.write();
    tx.reserve<tags>(n);
    const auto buckets = bucket_counts<tags>(db);
    const std::size_t slabs = pool_of<tags>(db).slab_count();
    CHECK(pool_of<tags>(db).available() >= std::size_t{n});
    for (const std::size_t b : buckets) CHECK(b >= std::size_t{n});
    SECTION("inserting them takes no slab and no rehash") {
        for (int i = 0; i < n; ++i) tx.insert(tag(i));
        CHECK(pool_of<tags>(db).slab_count() == slabs);
        CHECK(bucket_counts<tags>(db) == buckets);
        tx.commit();
        CHECK(db.read().count<tags>() == n + 2);
    }
    SECTION("a reserve changes no row: rollback leaves the store as it was") {
        const auto before = capture(tx);
        tx.rollback();
        CHECK(diff(before, capture_store(db)) == "");
    }
}

TEST_CASE_METHOD(filled, "insert_many of a sized range reserves for it", "[core][memory][reserve]") {
    std::vector<Tag> batch;
    for (int i = 0; i < 20000; ++i) batch.push_back(tag(i));
    auto tx = db.write();
    const std::size_t slabs = pool_of<tags>(db).slab_count();
    CHECK(tx.insert_many(batch) == batch.size());
    CHECK(pool_of<tags>(db).slab_count() == slabs + 1);
    SECTION("an unsized range inserts as it comes") {
        std::list<Customer> more;
        for (int i = 0; i < 100; ++i) more.push_back(Customer{0, std::to_string(i) + "@y", "G", std::to_string(i), std::nullopt, i, "c", ""});
        CHECK(tx.insert_many(more) == 100);
    }
    CHECK(rows_in_own_pool<tags>(tx));
    tx.commit();
}

namespace {
std::vector<Tag> tags_batch(int n) {
    std::vector<Tag> out;
    for (int i = 0; i < n; ++i) out.push_back(tag(i));
    return out;
}
void fill_tags(shop::store& db, const std::vector<Tag>& batch) {
    auto tx = db.write();
    tx.insert_many(batch);  // one slab for all of them (it reserves)
    tx.commit();
}
std::size_t live_slab_bytes() { return relstore::detail::slab_cache::instance().live_bytes(); }
}  // namespace

TEST_CASE("a destroyed table's slabs are kept for the next table of that size, up to the live tables' bytes",
          "[core][memory][pool][cache]") {
    relstore::release_cached_memory();
    const auto batch = tags_batch(20000);
    shop::store alive;  // what the bound lets the cache keep
    fill_tags(alive, batch);
    std::uintptr_t old_first = 0;  // an address only, never read through
    std::size_t old_bytes = 0;
    {
        shop::store old;
        fill_tags(old, batch);
        old_first = reinterpret_cast<std::uintptr_t>(&*old.read().all<tags>().begin());
        old_bytes = pool_of<tags>(old).slab_bytes();
        REQUIRE(old_bytes > (std::size_t{1} << 20));
    }
    CHECK(relstore::cached_memory_bytes() >= old_bytes);
    CHECK(relstore::cached_memory_bytes() <= live_slab_bytes());
    const std::size_t cached = relstore::cached_memory_bytes();
    shop::store fresh;
    fill_tags(fresh, batch);
    // The new rows went where the old ones were, and the cache gave that up.
    CHECK(relstore::cached_memory_bytes() <= cached - old_bytes);
    CHECK(pool_of<tags>(fresh).owns(reinterpret_cast<const void*>(old_first)));
    auto q = fresh.read();
    CHECK(q.count<tags>() == 20000);
    CHECK(rows_in_own_pool<tags>(q));
    CHECK(check_consistent(capture(q)) == "");
}

TEST_CASE("the slab cache keeps no more than the live tables' slabs: the last store destroyed leaves it as empty "
          "as before", "[core][memory][pool][cache]") {
    relstore::release_cached_memory();
    const std::size_t live_before = live_slab_bytes();
    {
        shop::store a;
        fill_tags(a, tags_batch(20000));
        shop::store b;
        fill_tags(b, tags_batch(5000));
        CHECK(relstore::cached_memory_bytes() == 0);
    }
    // Both gone: only what the live tables of other stores (none, or a few
    // small ones of this test binary) hold could be kept.
    CHECK(relstore::cached_memory_bytes() <= live_before);
    CHECK(live_slab_bytes() == live_before);
}

TEST_CASE("release_cached_memory gives the kept slabs back and says how many bytes", "[core][memory][pool][cache]") {
    relstore::release_cached_memory();
    CHECK(relstore::release_cached_memory() == 0);
    shop::store alive;
    fill_tags(alive, tags_batch(20000));
    { shop::store gone; fill_tags(gone, tags_batch(20000)); }
    const std::size_t kept = relstore::cached_memory_bytes();
    CHECK(kept > (std::size_t{1} << 20));
    CHECK(relstore::release_cached_memory() == kept);
    CHECK(relstore::cached_memory_bytes() == 0);
    // The store that lives is untouched.
    CHECK(alive.read().count<tags>() == 20000);
    CHECK(rows_in_own_pool<tags>(alive.read()));
}

TEST_CASE_METHOD(filled, "swap_contents exchanges the pools with the rows", "[core][memory][pool]") {
    shop::store other;
    const auto* pool = &pool_of<customers>(db);
    const Customer* ada = nullptr;  // compared as an address only
    {
        const auto q = db.read();
        ada = q.find<customers>(1);
    }
    const auto before = capture_store(db);
    db.swap_contents(other);
    CHECK(&pool_of<customers>(other) == pool);
    CHECK(other.read().find<customers>(1) == ada);
    CHECK(diff(before, capture_store(other)) == "");
    CHECK(db.read().count<customers>() == 0);
    {
        auto q = other.read();
        CHECK(rows_in_own_pool<customers>(q));
        CHECK(rows_in_own_pool<lines>(q));
    }
    {
        auto tx = other.write();  // erased into the pool that moved with them
        tx.erase<lines>(100, 1);
        tx.erase<lines>(100, 2);
        tx.erase<customers>(2);
        tx.commit();
    }
    {
        auto tx = db.write();  // and the emptied store has a working pool of its own
        for (int i = 0; i < 100; ++i) tx.insert(tag(i));
        tx.commit();
    }
    CHECK(rows_in_own_pool<customers>(other.read()));
    CHECK(rows_in_own_pool<tags>(db.read()));
    db.swap_contents(other);  // and back; every pool is freed once, with its store (ASan)
    CHECK(db.read().count<customers>() == 3);
    CHECK(other.read().count<tags>() == 100);
}

/// Turns huge-page slabs on for one test case (they are off by default).
struct huge_pages_on {
    huge_pages_on() {
        REQUIRE_FALSE(relstore::huge_pages_in_use());
        relstore::use_huge_pages(true);
    }
    ~huge_pages_on() { relstore::use_huge_pages(false); }
};

TEST_CASE_METHOD(huge_pages_on, "with huge pages on, a large table's rows lie in huge-page slabs; a small table's do not",
                 "[core][memory][pool][huge]") {
    using pool = relstore::detail::node_pool;
    shop::store db;
    {
        auto tx = db.write();
        tx.insert(Customer{0, "a@x", "A", "a", std::nullopt, 1, "c", ""});
        for (int i = 0; i < 60000; ++i) tx.insert(tag(i));
        tx.commit();
    }
    const auto& tags_pool = pool_of<tags>(db);
    REQUIRE(tags_pool.slab_bytes() > 2 * pool::huge_page_bytes);
    CHECK(pool_of<customers>(db).huge_slab_count() == 0);
    if (!linux_with_huge_pages()) {
        CHECK(tags_pool.huge_slab_count() == 0);
        return;
    }
    CHECK(tags_pool.huge_slab_count() >= 1);
    auto q = db.read();
    // The last rows came from the newest slab, a whole huge page from mmap.
    const Tag& last = q.get<tags>(60000);
    CHECK(tags_pool.owns(&last));
    CHECK_THAT(vm_flags_of(&last), Catch::Matchers::Contains(" hg"));
    CHECK_THAT(vm_flags_of(&q.get<customers>(1)), !Catch::Matchers::Contains(" hg"));
}

TEST_CASE_METHOD(huge_pages_on, "with huge pages on, a large reserve takes one huge-page slab, and clear gives it back",
                 "[core][memory][pool][huge]") {
    shop::store db;
    auto tx = db.write();
    tx.reserve<tags>(100000);
    const auto& p = pool_of<tags>(db);
    CHECK(p.available() >= 100000);
    CHECK(p.huge_slab_count() == (linux_with_huge_pages() ? 1 : 0));
    const std::size_t slabs = p.slab_count();
    for (int i = 0; i < 100000; ++i) tx.insert(tag(i));
    CHECK(pool_of<tags>(db).slab_count() == slabs);
    tx.commit();
    CHECK(db.read().count<tags>() == 100000);
    auto tx2 = db.write();
    tx2.clear<tags>();
    tx2.commit();
    CHECK(pool_of<tags>(db).huge_slab_count() == 0);
    CHECK(pool_of<tags>(db).slab_bytes() <= 4096);
}

TEST_CASE("by default, a large table's slabs all come from operator new", "[core][memory][pool][huge]") {
    REQUIRE_FALSE(relstore::huge_pages_in_use());
    shop::store db;
    auto tx = db.write();
    tx.reserve<tags>(100000);
    for (int i = 0; i < 60000; ++i) tx.insert(tag(i));
    tx.commit();
    CHECK(pool_of<tags>(db).slab_bytes() > 2 * relstore::detail::node_pool::huge_page_bytes);
    CHECK(pool_of<tags>(db).huge_slab_count() == 0);
    CHECK(pool_of<tags>(db).mapped_bytes() == 0);
    CHECK_THAT(vm_flags_of(&db.read().get<tags>(60000)), !Catch::Matchers::Contains(" hg"));
}

}  // namespace memory_test
