// Many-to-one: posts created pointing at their author, then each post's
// author read back through the same foreign key (the tutorial's second scenario).
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
    {
        auto tx = db.write();
        const User& new_user = tx.insert(User{.name = "Kakashi Hatake"});
        tx.insert(Post{.title = "Shinobi", .content = "Hatake clan", .author_id = new_user.id});
        tx.insert(Post{.title = "Jonin", .content = "Hidden Leaf Village", .author_id = new_user.id});
        tx.commit();
    }
    auto q = db.read();
    if (const User* user = q.find<&User::name>("Kakashi Hatake")) {
        for (const Post& post : q.where<&Post::author_id>(user->id)) {  // filter_by(author=user)
            std::cout << "Post: " << post.title << " - " << post.content << '\n';
            std::cout << "Author: " << q.parent<&Post::author_id>(post).name << '\n';
        }
    } else {
        std::cout << "User 'Kakashi Hatake' not found.\n";
    }
}
