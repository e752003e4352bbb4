#pragma once
// The consumer's own header-only library: a table, installed and exported with
// the consumer's targets so that its export names relstore::relstore.

#include <relstore/relstore.hpp>

#include <cstdint>
#include <string>

namespace consumer {

struct Item {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Item, id, name)
using items = relstore::table<"items", Item, relstore::auto_key<&Item::id>, relstore::unique<&Item::name>>;
using store = relstore::store<items>;

}  // namespace consumer
