// The common API used once each, so that the warning check (headers.cmake)
// sees the template bodies users instantiate and not only the declarations:
// every kind of key and relationship, reads, writes, set, erase, savepoints,
// snapshots, navigation and graph walks, and take/drop/reverse on every kind
// of range (clang 14 cannot compile std::views over libstdc++ 12, so this is
// where CI proves relstore's own compile with clang++). It is compiled with
// -fsyntax-only, never run.
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace api {

namespace rs = relstore;

enum class role : std::uint8_t { reader, editor };

struct User {
    std::int64_t id{};
    std::string name;
    std::optional<std::string> nickname;
    role kind{};
    bool active{};
    double score{};
};
RELSTORE_FIELDS(User, id, name, nickname, kind, active, score)

struct Profile {
    std::int64_t id{};
    std::int64_t user_id{};
    std::string bio;
};
RELSTORE_FIELDS(Profile, id, user_id, bio)

struct Post {
    std::int64_t id{};
    std::int64_t author_id{};
    std::optional<std::int64_t> editor_id;
    std::string title;
    std::int32_t rank{};
};
RELSTORE_FIELDS(Post, id, author_id, editor_id, title, rank)

struct Tag {
    std::string label;
    std::int64_t post_id{};
};
RELSTORE_FIELDS(Tag, label, post_id)

struct Category {
    std::int64_t id{};
    std::optional<std::int64_t> parent_id;
    std::string name;
};
RELSTORE_FIELDS(Category, id, parent_id, name)

struct Follow {
    std::int64_t follower_id{};
    std::int64_t followed_id{};
};
RELSTORE_FIELDS(Follow, follower_id, followed_id)

using users = rs::table<"users", User, rs::auto_key<&User::id>, rs::unique<&User::name>,
                        rs::unique<&User::nickname>, rs::ordered<&User::score>, rs::index<&User::kind>>;
using profiles = rs::table<"profiles", Profile, rs::hashed_auto_key<&Profile::id>,
                           rs::unique_references<&Profile::user_id, users, rs::on_delete::cascade>>;
using posts = rs::table<"posts", Post, rs::auto_key<&Post::id>,
                        rs::references<&Post::author_id, users, rs::on_delete::cascade>,
                        rs::hashed_references<&Post::editor_id, users, rs::on_delete::set_null>,
                        rs::ordered<&Post::author_id, &Post::rank>, rs::ordered_unique<&Post::title>>;
using tags = rs::table<"tags", Tag, rs::primary_key<&Tag::label, &Tag::post_id>,
                       rs::references<&Tag::post_id, posts, rs::on_delete::restrict>>;
using categories = rs::table<"categories", Category, rs::auto_key<&Category::id>,
                             rs::acyclic_references<&Category::parent_id, rs::on_delete::cascade>>;
using follows = rs::table<"follows", Follow, rs::hashed_primary_key<&Follow::follower_id, &Follow::followed_id>,
                          rs::references<&Follow::follower_id, users, rs::on_delete::cascade>,
                          rs::references<&Follow::followed_id, users, rs::on_delete::cascade>>;
using store = rs::store<users, profiles, posts, tags, categories, follows>;

std::size_t use_everything(store& db, const std::string& path) {
    std::size_t n = 0;
    {
        auto tx = db.write();
        const User& ann = tx.insert(User{.name = "ann", .kind = role::editor, .active = true, .score = 1.5});
        const User& bob = tx.insert<users>(User{.name = "bob", .nickname = "b"});
        tx.insert(Profile{.user_id = ann.id, .bio = "hi"});
        const Post& post = tx.insert(Post{.author_id = ann.id, .editor_id = bob.id, .title = "first"});
        n += tx.insert_many(std::vector<Post>{Post{.author_id = bob.id, .title = "second", .rank = 2}});
        tx.insert(Tag{.label = "news", .post_id = post.id});
        tx.update(post, [](Post& p) { p.rank = 3; });
        tx.update<users>(bob.id, [](User& u) { u.active = true; });
        tx.set<&Post::title>(post, "first, again");
        tx.set<&User::score>(ann, 2.5);
        tx.set<&Post::editor_id>(post, std::nullopt);

        const Category& root = tx.insert(Category{.name = "all"});
        const Category& leaf = tx.insert(Category{.parent_id = root.id, .name = "books"});
        for (const Category& c : tx.ancestors<&Category::parent_id>(leaf)) n += c.name.size();
        for (const Category& c : tx.ancestors<&Category::parent_id>(leaf).drop(1).take(2).reverse()) n += c.id;
        n += tx.descendants<&Category::parent_id>(root).count();
        for (const Category& c : tx.descendants<&Category::parent_id>(root, 2).reverse().drop(1).take(3))
            n += c.name.size();

        rs::link<&Follow::follower_id, &Follow::followed_id>(tx, ann, bob);
        rs::set_links<&Follow::follower_id, &Follow::followed_id>(tx, bob, {&ann});
        n += tx.is_linked<&Follow::follower_id, &Follow::followed_id>(ann, bob) ? 1 : 0;
        if (const Follow* f = tx.find_link<&Follow::follower_id, &Follow::followed_id>(ann, bob)) n += f->followed_id;
        n += tx.count_links<&Follow::follower_id, &Follow::followed_id>(ann);
        n += tx.reachable<&Follow::follower_id, &Follow::followed_id>(ann).count();
        for (const User& u : tx.reachable<&Follow::follower_id, &Follow::followed_id>(ann, 3).reverse().take(1))
            n += u.name.size();
        n += tx.is_reachable<&Follow::follower_id, &Follow::followed_id>(ann, ann) ? 1 : 0;
        n += rs::unlink<&Follow::follower_id, &Follow::followed_id>(tx, bob, ann);
        n += rs::unlink_all<&Follow::follower_id, &Follow::followed_id>(tx, ann);

        {
            auto sp = tx.savepoint();
            tx.erase(post);
            sp.rollback();
        }
        {
            auto sp = tx.savepoint();
            n += tx.erase<categories>(leaf.id);
            sp.release();
        }
        tx.nested([&] { tx.insert(Category{.name = "music"}); });
        const auto plan = tx.plan_erase(bob);
        n += plan.allowed() ? plan.erased_count() + plan.nulled_count() : 0;
        try {
            tx.erase(ann);  // a tag restricts erasing its post
        } catch (const rs::constraint_error& e) {
            n += e.table().size() + e.columns().size();
        }
        tx.commit();
    }
    {
        auto q = db.read();
        const User& ann = q.get<users>(std::int64_t{1});
        if (const User* u = q.find<users>(std::int64_t{2})) n += u->name.size();
        if (const User* u = q.find<&User::name>("ann")) n += u->name.size();
        for (const User& u : q.where<&User::kind>(role::editor)) n += u.name.size();
        for (const User& u : q.range<&User::score>(0.0, 10.0)) n += u.name.size();
        for (const User& u : q.range<&User::score>(0.0, 10.0).take(5).reverse()) n += u.name.size();
        for (const User& u : q.order_by<&User::score>()) n += u.name.size();
        for (const User& u : q.order_by<&User::score>().reverse().drop(1).take(10)) n += u.name.size();
        for (const User& u : q.where<&User::kind>(role::editor).drop(1).take(1)) n += u.name.size();  // hashed
        for (const Post& p : q.scan<posts>([](const Post& p) { return p.rank > 0; })) n += p.title.size();
        for (const Post& p : q.scan<posts>([](const Post& p) { return p.rank > 0; }).take(2).reverse().drop(1))
            n += p.title.size();
        for (const Post& p : q.children<&Post::author_id>(ann)) n += q.parent<&Post::author_id>(p).name.size();
        for (const Post& p : q.children<&Post::author_id>(ann).reverse().take(1)) n += p.title.size();
        for (const Profile& p : q.children<&Profile::user_id>(ann).take(1)) n += p.bio.size();  // hashed
        for (const User& u : q.linked<&Follow::follower_id, &Follow::followed_id>(ann)) n += u.name.size();
        for (const User& u : q.linked<&Follow::follower_id, &Follow::followed_id>(ann).reverse().drop(1).take(2))
            n += u.name.size();
        for (const User& u : q.all<users>()) n += u.name.size();
        n += q.count<posts>() + q.count_children<&Post::author_id>(ann) + (q.exists<&User::name>("bob") ? 1 : 0);
        n += q.children<&Profile::user_id>(ann).count();
        if (const Post* p = q.where<&Post::title>("first, again").first()) n += p->title.size();
        for (const Post& p : q.children_by<&Post::author_id, &Post::rank>(ann).reverse().take(3)) n += p.title.size();
        for (const User& u : q.with_children<&Post::author_id>().reverse()) n += u.name.size();
        for (const User& u : q.with_children<&Post::author_id>([](const Post& p) { return p.rank > 1; }).take(1))
            n += u.name.size();
        for (const User& u : q.without_children<&Post::author_id>().drop(1)) n += u.name.size();
        for (const Post& p : q.with_parent<&Post::author_id>([](const User& u) { return u.active; }).take(2))
            n += p.title.size();
        try {
            (void)q.get<users>(std::int64_t{99});
        } catch (const rs::not_found_error& e) {
            n += e.table().size();
        }
    }
    rs::save(db, path);
    std::stringstream stream;
    rs::save(db, stream);
    store copy;
    rs::load(copy, path);
    rs::load(copy, stream, rs::load_options{.drop_unknown_columns = true});
    return n;
}

}  // namespace api

int main(int argc, char** argv) {
    api::store db;
    return static_cast<int>(api::use_everything(db, argc > 1 ? argv[1] : "api.snap") % 2);
}
