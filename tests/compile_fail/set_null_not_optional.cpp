// on_delete::set_null needs a column that can hold null.
#include "schema.hpp"

using posts = relstore::table<"posts", Post, relstore::auto_key<&Post::id>,
                              relstore::references<&Post::author_id, users, relstore::on_delete::set_null>>;

int main() { relstore::store<users, posts> db; }
