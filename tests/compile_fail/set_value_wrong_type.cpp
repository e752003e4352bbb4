// set<&Row::column>(row, value) needs a value the column's type can be made from.
#include "schema.hpp"

using store = relstore::store<users>;

int main() {
    store db;
    auto tx = db.write();
    const User& u = tx.insert(User{0, "ann", 30});
    tx.set<&User::age>(u, std::string("thirty"));
}
