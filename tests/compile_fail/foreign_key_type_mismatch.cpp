// A foreign key column must have the type of the parent's key (int64 here).
#include "schema.hpp"

struct Comment {
    std::int64_t id{};
    std::int32_t user_id{};
};
RELSTORE_FIELDS(Comment, id, user_id)

using comments = relstore::table<"comments", Comment, relstore::auto_key<&Comment::id>,
                                 relstore::references<&Comment::user_id, users>>;

int main() { relstore::store<users, comments> db; }
