// Snapshots: the tutorial's users and posts saved to a file, then loaded
// into a fresh store whose relationships work as before.
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <iostream>

namespace rs = relstore;

struct User { std::int64_t id{}; std::string name; };
struct Post { std::int64_t id{}; std::string title, content; std::int64_t author_id{}; };
RELSTORE_FIELDS(User, id, name)
RELSTORE_FIELDS(Post, id, title, content, author_id)
using users = rs::table<"users", User, rs::auto_key<&User::id>, rs::unique<&User::name>>;
using posts = rs::table<"posts", Post, rs::auto_key<&Post::id>, rs::references<&Post::author_id, users>>;
using blog = rs::store<users, posts>;

int main() {
    blog db;
    {
        auto tx = db.write();
        const User& naruto = tx.insert(User{.name = "Naruto Uzumaki"});
        const User& kakashi = tx.insert(User{.name = "Kakashi Hatake"});
        tx.insert(Post{.title = "Post 1", .content = "9 Tails Fox Sealer", .author_id = naruto.id});
        tx.insert(Post{.title = "Post 2", .content = "Hokage of Hidden Leaf Village", .author_id = naruto.id});
        tx.insert(Post{.title = "Shinobi", .content = "Hatake clan", .author_id = kakashi.id});
        tx.insert(Post{.title = "Jonin", .content = "Hidden Leaf Village", .author_id = kakashi.id});
        tx.commit();
    }
    rs::save(db, "tutorial.snap");  // crash-safe: temporary file, fsync, rename
    std::cout << "Saved " << db.read().count<users>() << " users and " << db.read().count<posts>()
              << " posts to tutorial.snap\n";

    blog reloaded;
    rs::load(reloaded, "tutorial.snap");  // all or nothing: checksum and integrity first
    auto q = reloaded.read();
    for (const User& user : q.all<users>()) {
        std::cout << "User: " << user.name << '\n';
        for (const Post& post : q.children<&Post::author_id>(user))
            std::cout << "Post: " << post.title << " - " << post.content << '\n';
    }
}
