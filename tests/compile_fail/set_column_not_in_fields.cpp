// set<&Row::column> names its column in messages and the undo log: the column
// must be listed in RELSTORE_FIELDS.
#include "schema.hpp"

struct Item {
    std::int64_t id{};
    std::string label;
    std::string hidden;  // not listed below
};
RELSTORE_FIELDS(Item, id, label)

using items = relstore::table<"items", Item, relstore::auto_key<&Item::id>>;

int main() {
    relstore::store<items> db;
    auto tx = db.write();
    const Item& i = tx.insert(Item{0, "a", "b"});
    tx.set<&Item::hidden>(i, "c");
}
