#pragma once
// The store the fuzzer loads snapshots into: keys (auto, hashed, composite),
// a nullable unique column, foreign keys of each kind and an acyclic
// self-reference, so that mutated rows reach every integrity check.

#include <relstore/relstore.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace fuzz_schema {

namespace rs = relstore;

struct User {
    std::int64_t id{};
    std::string name;
    std::optional<std::string> email;
    double score{};
    bool active{};
};
RELSTORE_FIELDS(User, id, name, email, score, active)

struct Post {
    std::int64_t id{};
    std::int64_t author_id{};
    std::optional<std::int64_t> editor_id;
    std::string title;
};
RELSTORE_FIELDS(Post, id, author_id, editor_id, title)

struct Tag {
    std::int64_t post_id{};
    std::string label;
    std::uint8_t weight{};
};
RELSTORE_FIELDS(Tag, post_id, label, weight)

struct Category {
    std::int64_t id{};
    std::optional<std::int64_t> parent_id;
    std::int16_t rank{};
};
RELSTORE_FIELDS(Category, id, parent_id, rank)

using users = rs::table<"users", User, rs::auto_key<&User::id>, rs::unique<&User::email>>;
using posts = rs::table<"posts", Post, rs::hashed_auto_key<&Post::id>,
                        rs::references<&Post::author_id, users, rs::on_delete::cascade>,
                        rs::hashed_references<&Post::editor_id, users, rs::on_delete::set_null>>;
using tags = rs::table<"tags", Tag, rs::primary_key<&Tag::post_id, &Tag::label>,
                       rs::references<&Tag::post_id, posts, rs::on_delete::cascade>>;
using categories = rs::table<"categories", Category, rs::auto_key<&Category::id>,
                             rs::acyclic_references<&Category::parent_id, rs::on_delete::set_null>>;
using store = rs::store<users, posts, tags, categories>;

/// A small filled store, for the seed corpus.
inline void fill(store& db) {
    auto tx = db.write();
    const auto ada = tx.insert(User{0, "Ada", "ada@example.org", 1.5, true}).id;
    const auto bob = tx.insert(User{0, "Bob", std::nullopt, -0.0, false}).id;
    const auto p1 = tx.insert(Post{0, ada, bob, "Notes"}).id;
    const auto p2 = tx.insert(Post{0, bob, std::nullopt, ""}).id;
    (void)tx.insert(Tag{p1, "math", 3});
    (void)tx.insert(Tag{p1, "history", 1});
    (void)tx.insert(Tag{p2, "misc", 0});
    const auto root = tx.insert(Category{0, std::nullopt, 1}).id;
    const auto child = tx.insert(Category{0, root, 2}).id;
    (void)tx.insert(Category{0, child, 3});
    tx.commit();
}

}  // namespace fuzz_schema
