// On-delete actions: erasing a user cascades to its posts and their comments,
// sets null where it was only the editor, is refused while an invoice
// restricts it, and can be tried first as a dry run.
#include <relstore/relstore.hpp>

#include <iostream>
#include <optional>

namespace rs = relstore;

struct User { std::int64_t id{}; std::string name; };
struct Post { std::int64_t id{}; std::string title; std::int64_t author_id{}; std::optional<std::int64_t> editor_id{}; };
struct Comment { std::int64_t id{}; std::int64_t post_id{}; std::string text; };
struct Invoice { std::int64_t id{}; std::int64_t user_id{}; };
RELSTORE_FIELDS(User, id, name)
RELSTORE_FIELDS(Post, id, title, author_id, editor_id)
RELSTORE_FIELDS(Comment, id, post_id, text)
RELSTORE_FIELDS(Invoice, id, user_id)
using users = rs::table<"users", User, rs::auto_key<&User::id>>;
using posts = rs::table<"posts", Post, rs::auto_key<&Post::id>,
    rs::references<&Post::author_id, users, rs::on_delete::cascade>,
    rs::references<&Post::editor_id, users, rs::on_delete::set_null>>;
using comments = rs::table<"comments", Comment, rs::auto_key<&Comment::id>,
    rs::references<&Comment::post_id, posts, rs::on_delete::cascade>>;
using invoices = rs::table<"invoices", Invoice, rs::auto_key<&Invoice::id>,
    rs::references<&Invoice::user_id, users, rs::on_delete::restrict>>;
using blog = rs::store<users, posts, comments, invoices>;

int main() {
    blog db;
    auto tx = db.write();
    const User& kakashi = tx.insert(User{.name = "Kakashi Hatake"});
    const User& naruto = tx.insert(User{.name = "Naruto Uzumaki"});
    const Post& shinobi = tx.insert(Post{.title = "Shinobi", .author_id = kakashi.id});
    tx.insert(Post{.title = "Jonin", .author_id = kakashi.id});
    const Post& rasengan = tx.insert(Post{.title = "Rasengan", .author_id = naruto.id, .editor_id = kakashi.id});
    tx.insert(Comment{.post_id = shinobi.id, .text = "Nice"});
    tx.insert(Comment{.post_id = shinobi.id, .text = "Agreed"});
    const Invoice& invoice = tx.insert(Invoice{.user_id = kakashi.id});

    // The dry run: what erasing Kakashi would do, with nothing changed.
    auto plan = tx.plan_erase(kakashi);
    std::cout << "Dry run: " << plan.erased<posts>().size() << " posts and " << plan.erased<comments>().size()
              << " comments would go, " << plan.nulled<posts>().size() << " post would lose its editor, "
              << plan.blocking<invoices>().size() << " invoice blocks it\n";

    try {  // restrict: the erase fails, naming the blocking rows, and changes nothing
        tx.erase(kakashi);
    } catch (const rs::constraint_error& e) {
        std::cout << "Refused: " << e.what() << '\n';
    }
    std::cout << "Still there: " << tx.count<users>() << " users, " << tx.count<posts>() << " posts, "
              << tx.count<comments>() << " comments\n";

    tx.erase(invoice);
    std::cout << "Erased " << tx.erase(kakashi) << " rows\n";  // cascade: Kakashi, 2 posts, 2 comments
    std::cout << "Left: " << tx.count<users>() << " user, " << tx.count<posts>() << " post, "
              << tx.count<comments>() << " comments\n";
    std::cout << rasengan.title << " has " << (rasengan.editor_id ? "an" : "no") << " editor\n";  // set null
    tx.commit();
}
