#pragma once
// The tutorial's tables, shared by the test suites.

#include <relstore/relstore.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace blog {

struct User {
    std::int64_t id{};
    std::string name;
    std::string email;
};
RELSTORE_FIELDS(User, id, name, email)

struct Post {
    std::int64_t id{};
    std::string title;
    std::string content;
    std::int64_t author_id{};
};
RELSTORE_FIELDS(Post, id, title, content, author_id)

using users = relstore::table<"users", User, relstore::auto_key<&User::id>, relstore::unique<&User::name>,
                              relstore::index<&User::email>>;
using posts = relstore::table<"posts", Post, relstore::auto_key<&Post::id>,
                              relstore::references<&Post::author_id, users, relstore::on_delete::cascade>,
                              relstore::ordered<&Post::title>>;
using store = relstore::store<users, posts>;

}  // namespace blog
