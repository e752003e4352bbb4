// Rows kept past the statement of the temporary read scope they were read
// from: clang warns (-Wdangling, an error here) for each verb marked
// RELSTORE_LIFETIMEBOUND. Built only with clang (other compilers ignore the
// mark); control.cpp, built with the same flag, holds the correct patterns
// (copies, comparisons in the statement, rows of a named scope).
// expect: local reference 'by_key' will be destroyed at the end of the full-expression
// expect: local variable 'maybe' will be destroyed at the end of the full-expression
// expect: local variable 'by_name' will be destroyed at the end of the full-expression
// expect: local reference 'author' will be destroyed at the end of the full-expression
// expect: local variable 'first_post' will be destroyed at the end of the full-expression
#include "schema.hpp"

using posts = relstore::table<"posts", Post, relstore::auto_key<&Post::id>,
                              relstore::references<&Post::author_id, users>>;
using store = relstore::store<users, posts>;

std::size_t dangling(store& db, const Post& post) {
    const User& by_key = db.read().get<users>(1);
    const User* maybe = db.read().find<users>(2);
    const User* by_name = db.read().find<&User::name>("ann");
    const User& author = db.read().parent<&Post::author_id>(post);
    const Post* first_post = db.read().all<posts>().first();
    return by_key.name.size() + maybe->name.size() + by_name->name.size() + author.name.size() +
           first_post->title.size();
}
