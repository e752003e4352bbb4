#include <catch2/catch.hpp>

#include "blog.hpp"

using namespace blog;

TEST_CASE("an auto key is assigned when the row leaves it 0", "[core][insert]") {
    store db;
    auto tx = db.write();
    const User& a = tx.insert(User{.name = "a"});
    const User& b = tx.insert(User{.name = "b"});
    CHECK(a.id == 1);
    CHECK(b.id == 2);
    const User& c = tx.insert(User{.id = 10, .name = "c"});
    CHECK(c.id == 10);
    CHECK(tx.insert(User{.name = "d"}).id == 11);
    tx.commit();
    CHECK(db.read().count<users>() == 4);
}
