// children<>() and parent<>() walk a declared foreign key; author_id has none here.
#include "schema.hpp"

using posts = relstore::table<"posts", Post, relstore::auto_key<&Post::id>, relstore::index<&Post::author_id>>;
using store = relstore::store<users, posts>;

int main() {
    store db;
    auto q = db.read();
    const User* u = q.find<users>(1);
    return static_cast<int>(q.children<&Post::author_id>(*u).count());
}
