// find<>() answers "the one row with this value": only unique columns qualify.
#include "schema.hpp"

int main() {
    relstore::store<users> db;
    auto q = db.read();
    return q.find<&User::age>(30) != nullptr;
}
