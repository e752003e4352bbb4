// Every value given for a column (lookups, key lookups, erase and update by
// key, children by key, set) must have the column's type or convert to it
// without narrowing. Each misuse below uses a value type of its own, so the
// test can tell from the compiler's "In instantiation of value_check<column,
// type>" lines that every one of them was refused; the `expect:` comment above
// each is the regular expression expect_diagnostics.cmake looks for, and the
// sentence itself must appear too:
// expect: "?relstore: a value given for a column must have the column.s type or convert to it without narrowing
#include "schema.hpp"

enum class colour : std::uint8_t { red, green };
struct Paint {
    std::int64_t id{};
    colour shade{};
    bool glossy{};
    std::uint16_t coats{};
};
RELSTORE_FIELDS(Paint, id, shade, glossy, coats)
using paints = relstore::table<"paints", Paint, relstore::auto_key<&Paint::id>, relstore::index<&Paint::shade>,
                               relstore::index<&Paint::glossy>, relstore::ordered<&Paint::coats>>;
using posts = relstore::table<"posts", Post, relstore::auto_key<&Post::id>,
                              relstore::references<&Post::author_id, users>>;
using store = relstore::store<users, posts, paints>;

void misuse(store& db) {
    auto tx = db.write();
    const User& u = tx.get<users>(1);
    // expect: value_check<&User::id, char ?\[4\]>
    (void)tx.where<&User::id>("abc");         // a pointer would become an integer
    // expect: value_check<&User::id, char ?\[5\]>
    (void)tx.get<users>("abcd");
    // expect: value_check<&User::id, char ?\[6\]>
    tx.erase<users>("abcde");
    // expect: value_check<&User::id, double>
    (void)tx.find<users>(1.5);                // 1.5 would find key 1
    // expect: value_check<&User::id, float>
    tx.update<users>(2.5f, [](User&) {});
    // expect: value_check<&User::age, double>
    (void)tx.where<&User::age>(30.9);         // 30.9 would match 30
    // expect: value_check<&User::age, long( int)?>
    (void)tx.exists<&User::age>(std::int64_t{30});
    // expect: value_check<&User::age, float>
    (void)tx.range<&User::age>(1.5f, 2);
    // expect: value_check<&User::name, int>
    (void)tx.where<&User::name>(42);          // an integer for a string column
    // expect: value_check<&User::name, long( int)?>
    (void)tx.find<&User::name>(42L);
    // expect: children<>\(\) takes a row of the table the foreign key references, or a value of that table.s key type
    (void)tx.children<&Post::author_id>("abc");
    // expect: value_check<&Paint::shade, int>
    (void)tx.where<&Paint::shade>(0);         // enums take only themselves
    // expect: value_check<&Paint::glossy, int>
    (void)tx.where<&Paint::glossy>(1);        // so does bool
    // expect: value_check<&Paint::coats, int>
    (void)tx.where<&Paint::coats>(-1);        // a negative int for an unsigned column
    // expect: value_check<&User::age, long double>
    tx.set<&User::age>(u, 2.5L);
}

int main() {}
