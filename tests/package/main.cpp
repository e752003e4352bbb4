// A consumer of the installed package: declares a table, writes and reads it,
// and exits non-zero when what it reads back is wrong.
#include <relstore/relstore.hpp>

#include <iostream>

struct Item {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Item, id, name)
using items = relstore::table<"items", Item, relstore::auto_key<&Item::id>, relstore::unique<&Item::name>>;

int main() {
    relstore::store<items> db;
    {
        auto tx = db.write();
        tx.insert(Item{.name = "kunai"});
        tx.commit();
    }
    const Item* found = db.read().find<&Item::name>("kunai");
    if (!found || found->id != 1) {
        std::cerr << "consumer: the stored row was not found\n";
        return 1;
    }
    std::cout << "consumer: ok\n";
    return 0;
}
