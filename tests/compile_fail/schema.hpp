#pragma once
// A small valid schema that the compile-fail cases misuse, one mistake each.
#include <relstore/relstore.hpp>

#include <cstdint>
#include <optional>
#include <string>

struct User {
    std::int64_t id{};
    std::string name;
    std::int32_t age{};
};
RELSTORE_FIELDS(User, id, name, age)

struct Post {
    std::int64_t id{};
    std::int64_t author_id{};
    std::optional<std::int64_t> editor_id;
    std::string title;
};
RELSTORE_FIELDS(Post, id, author_id, editor_id, title)

using users = relstore::table<"users", User, relstore::auto_key<&User::id>, relstore::unique<&User::name>,
                              relstore::ordered<&User::age>>;
