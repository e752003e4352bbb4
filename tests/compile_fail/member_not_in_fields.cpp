// A column used by a table must be listed in its row type's RELSTORE_FIELDS.
#include "schema.hpp"

struct Item {
    std::int64_t id{};
    std::string label;
    std::string hidden;  // not listed below
};
RELSTORE_FIELDS(Item, id, label)

using items = relstore::table<"items", Item, relstore::auto_key<&Item::id>, relstore::unique<&Item::hidden>>;

int main() { relstore::store<items> db; }
