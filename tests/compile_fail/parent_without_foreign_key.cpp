// parent<>() walks a declared foreign key; author_id has none here.
#include "schema.hpp"

using posts = relstore::table<"posts", Post, relstore::auto_key<&Post::id>, relstore::index<&Post::author_id>>;
using store = relstore::store<users, posts>;

int main() {
    store db;
    auto q = db.read();
    const Post* p = q.find<posts>(1);
    return static_cast<int>(q.parent<&Post::author_id>(*p).age);
}
