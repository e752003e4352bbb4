// One-to-many: a user and the posts that reference it, navigated from the
// user (the tutorial's first scenario, SQLAlchemy's relationship/back_populates).
#include <relstore/relstore.hpp>

#include <iostream>

namespace rs = relstore;

struct User { std::int64_t id{}; std::string name; };
struct Post { std::int64_t id{}; std::string title, content; std::int64_t author_id{}; };
RELSTORE_FIELDS(User, id, name)
RELSTORE_FIELDS(Post, id, title, content, author_id)
using users = rs::table<"users", User, rs::auto_key<&User::id>, rs::unique<&User::name>>;
using posts = rs::table<"posts", Post, rs::auto_key<&Post::id>, rs::references<&Post::author_id, users>>;

int main() {
    rs::store<users, posts> db;

    auto tx = db.write();  // the session: all or nothing
    const User& entry = tx.insert(User{.name = "Naruto Uzumaki"});
    tx.insert(Post{.title = "Post 1", .content = "9 Tails Fox Sealer", .author_id = entry.id});
    tx.insert(Post{.title = "Post 2", .content = "Hokage of Hidden Leaf Village", .author_id = entry.id});
    tx.commit();

    auto q = db.read();
    const User* user = q.where<&User::name>("Naruto Uzumaki").first();
    std::cout << "User: " << user->name << '\n';
    for (const Post& post : q.children<&Post::author_id>(*user))
        std::cout << "Post: " << post.title << " - " << post.content << '\n';
}
