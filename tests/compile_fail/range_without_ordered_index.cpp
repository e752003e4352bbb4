// range<>() and order_by<>() walk an ordered index; name has only a hashed one.
#include "schema.hpp"

int main() {
    relstore::store<users> db;
    auto q = db.read();
    return static_cast<int>(q.range<&User::name>("a", "m").count());
}
