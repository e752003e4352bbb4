// Change notifications: subscriptions keep values derived from the store in
// sync — each user's post count and a "last changed" list — through inserts,
// updates, a cascade and a rollback; a check refuses a bad value, and a
// before_commit hook vetoes a whole commit.
#include <relstore/relstore.hpp>

#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace rs = relstore;

struct User { std::int64_t id{}; std::string name; };
struct Post { std::int64_t id{}; std::string title; std::int64_t author_id{}; };
RELSTORE_FIELDS(User, id, name)
RELSTORE_FIELDS(Post, id, title, author_id)
using users = rs::table<"users", User, rs::auto_key<&User::id>, rs::unique<&User::name>,
    rs::check<&User::name, [](const std::string& n) { return !n.empty(); }, "named">>;   // @validates
using posts = rs::table<"posts", Post, rs::auto_key<&Post::id>,
    rs::references<&Post::author_id, users, rs::on_delete::cascade>>;
using blog = rs::store<users, posts>;

int main() {
    blog db;
    std::map<std::int64_t, int> post_count;  // derived: user id -> number of posts
    std::vector<std::string> last_changed;   // derived: what each commit touched

    // after_commit for the whole store: one call per commit, the net changes.
    auto counts = db.subscribe([&](const rs::changes<blog>& c) {
        for (const Post& p : c.inserted<posts>()) ++post_count[p.author_id];
        for (const Post& p : c.erased<posts>()) --post_count[p.author_id];
        for (const auto& u : c.updated<posts>())
            if (u.changed<&Post::author_id>()) --post_count[u.old().author_id], ++post_count[u.row().author_id];
        for (const User& u : c.erased<users>()) post_count.erase(u.id);
        last_changed.clear();
        for (const User& u : c.inserted<users>()) last_changed.push_back("+" + u.name);
        for (const Post& p : c.inserted<posts>()) last_changed.push_back("+" + p.title);
        for (const auto& u : c.updated<posts>()) last_changed.push_back("~" + u.row().title);
        for (const Post& p : c.erased<posts>()) last_changed.push_back("-" + p.title);
        for (const User& u : c.erased<users>()) last_changed.push_back("-" + u.name);
    });
    auto print = [&](const char* what) {
        std::cout << what << ": counts";
        for (const auto& [user, n] : post_count) std::cout << ' ' << user << '=' << n;
        std::cout << "; last changed";
        for (const auto& s : last_changed) std::cout << ' ' << s;
        std::cout << '\n';
    };

    {
        auto tx = db.write();
        const User& naruto = tx.insert(User{.name = "Naruto"});
        const User& sasuke = tx.insert(User{.name = "Sasuke"});
        tx.insert(Post{.title = "Post 1", .author_id = naruto.id});
        tx.insert(Post{.title = "Post 2", .author_id = naruto.id});
        tx.insert(Post{.title = "Post 3", .author_id = sasuke.id});
        tx.commit();
    }
    print("after the inserts");

    // One row: called when Naruto's row changes or goes.
    auto naruto_row = db.subscribe(db.read().get<users>(1), [](const rs::row_change<User>& ch) {
        if (ch.erased()) std::cout << "  " << ch.old()->name << "'s row was erased\n";
    });
    // One relationship: called when Naruto's set of posts changes.
    auto naruto_posts = db.subscribe_children<&Post::author_id>(std::int64_t{1}, [](const rs::children_change<Post>& ch) {
        for (const Post& p : ch.removed()) std::cout << "  Naruto lost " << p.title << '\n';
        for (const Post& p : ch.added()) std::cout << "  Naruto gained " << p.title << '\n';
    });
    {
        auto tx = db.write();
        tx.set<&Post::author_id>(tx.get<posts>(3), std::int64_t{1});  // Post 3 moves to Naruto
        tx.set<&Post::title>(tx.get<posts>(1), "Post 1 (edited)");
        tx.commit();
    }
    print("after a re-parent and an edit");

    {
        auto tx = db.write();
        tx.insert(Post{.title = "Draft", .author_id = 2});
        tx.rollback();  // nothing was committed: nobody is called
    }
    print("after a rollback");

    {
        auto tx = db.write();
        try {
            tx.insert(User{.name = ""});
        } catch (const rs::constraint_error& e) {
            std::cout << "refused: " << e.what() << '\n';
        }
        tx.commit();  // nothing changed: nobody is called
    }

    auto no_empty_titles = db.before_commit([](const rs::changes<blog>& c) {
        for (const Post& p : c.inserted<posts>())
            if (p.title.empty()) throw std::invalid_argument("a post needs a title");
    });
    try {
        auto tx = db.write();
        tx.insert(Post{.title = "", .author_id = 2});
        tx.commit();
    } catch (const std::invalid_argument& e) {
        std::cout << "vetoed: " << e.what() << '\n';
    }

    {
        auto tx = db.write();
        tx.erase(tx.get<users>(1));  // cascades to Naruto's three posts
        tx.commit();
    }
    print("after erasing Naruto");
}
