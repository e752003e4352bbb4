// A table's first spec must be its key.
#include "schema.hpp"

using bad = relstore::table<"bad", User, relstore::unique<&User::name>, relstore::auto_key<&User::id>>;

int main() { return static_cast<int>(bad::name.size()); }
