// Control: the correct use of everything the other cases get wrong compiles,
// so their failures come from the mistake and not from the setup.
#include "schema.hpp"
#include "text_schema.hpp"

#include <chrono>
#include <cstddef>
#include <span>
#include <vector>

using posts = relstore::table<"posts", Post, relstore::auto_key<&Post::id>, relstore::index<&Post::title>,
                              relstore::references<&Post::author_id, users>,
                              relstore::references<&Post::editor_id, users, relstore::on_delete::set_null>>;
using store = relstore::store<users, posts>;

// The control of column_types.cpp: the same Event table, with values that fit.
enum class color : std::uint8_t { red, green };
RELSTORE_ENUM(color, red, green)
struct Money {
    std::int64_t cents{};
    friend auto operator<=>(const Money&, const Money&) = default;
};
template <>
struct relstore::column_traits<Money> {
    using stored_type = std::int64_t;
    static stored_type to_stored(const Money& m) { return m.cents; }
    static Money from_stored(stored_type c) { return {c}; }
};
struct Event {
    std::chrono::sys_time<std::chrono::milliseconds> at;
    std::chrono::seconds took{};
    std::vector<std::byte> digest;
    color shade{};
    Money price;
};
RELSTORE_FIELDS(Event, at, took, digest, shade, price)
using events = relstore::table<"events", Event, relstore::primary_key<&Event::at>, relstore::ordered<&Event::took>,
                               relstore::unique<&Event::digest>, relstore::index<&Event::shade>,
                               relstore::unique<&Event::price>>;

void fitting(relstore::store<events>& db) {
    auto q = db.read();
    (void)q.find<events>(std::chrono::sys_time<std::chrono::milliseconds>{});
    (void)q.find<events>(std::chrono::sys_seconds{});  // coarser: converts exactly
    (void)q.where<&Event::took>(std::chrono::seconds{5});
    (void)q.range<&Event::took>(std::chrono::minutes{1}, std::chrono::hours{2});
    const std::byte raw[2]{};
    (void)q.find<&Event::digest>(std::vector<std::byte>{});
    (void)q.find<&Event::digest>(std::span<const std::byte>(raw));
    (void)q.find<&Event::digest>(raw);
    (void)q.where<&Event::shade>(color::green);
    (void)q.find<&Event::price>(Money{5});
}

// The control of dangling_rows.cpp: rows of a temporary scope used within
// their statement, copied out of it, or read from a named scope.
std::size_t kept(store& db, const Post& post) {
    const User copy = db.read().get<users>(1);
    const bool there = db.read().find<users>(2) != nullptr;
    const std::size_t length = db.read().find<&User::name>("ann")->name.size();
    const std::string author = db.read().parent<&Post::author_id>(post).name;
    const auto q = db.read();
    const User& named = q.get<users>(1);
    const Post* first_post = q.all<posts>().first();
    return copy.name.size() + there + length + author.size() + named.name.size() + first_post->title.size();
}

int main() {
    store db;
    auto tx = db.write();
    const User& u = tx.insert(User{0, "ann", 30});
    const Post& p = tx.insert(Post{0, u.id, u.id, "hello"});
    (void)tx.children<&Post::author_id>(u);
    (void)tx.parent<&Post::author_id>(p);
    (void)tx.find<&User::name>("ann");
    (void)tx.where<&Post::title>("hello");
    (void)tx.range<&User::age>(1, 99);
    (void)tx.order_by<&User::age>();
    // take, drop and reverse: reverse through ordered indexes, integer counts.
    (void)tx.order_by<&User::age>().reverse().drop(1).take(std::size_t{2});
    (void)tx.where<&User::name>("ann").take(1).drop(0);
    (void)tx.scan<users>([](const User&) { return true; }).take(2).reverse();
    (void)tx.children<&Post::author_id>(u).reverse();
    tx.set<&User::age>(u, 31);
    const relstore::reader<store>& as_reader = tx;  // a transaction is read through as a reader
    (void)as_reader.count<users>();
    relstore::reader<store> moved_scope(db.read());  // read scopes move
    (void)moved_scope;
    // Values of the column's type, or that convert to it without narrowing.
    (void)tx.get<users>(1);                       // int to std::int64_t
    (void)tx.find<users>(std::int64_t{1});
    (void)tx.where<&User::age>(std::int16_t{30});  // widening
    (void)tx.where<&User::name>(std::string_view("ann"));
    (void)tx.where<&User::name>(std::string("ann"));
    (void)tx.where<&Post::editor_id>(std::nullopt);
    (void)tx.where<&Post::editor_id>(std::optional<std::int64_t>(1));
    (void)tx.where<&Post::editor_id>(1);
    (void)tx.exists<&User::age>(30);
    (void)tx.children<&Post::author_id>(u.id);
    tx.update<users>(1, [](User&) {});
    tx.erase<users>(2);
    tx.set<&Post::title>(p, "hello again");
    tx.erase(u);
    tx.commit();
    // Ranges of a temporary read scope hold it; chained on one kept in a variable.
    for (const User& each : db.read().all<users>()) (void)each;
    (void)db.read().where<&User::name>("ann").first();
    auto held = db.read().order_by<&User::age>();
    (void)held.reverse().drop(1).take(2);
}

// The control of text_misuse.cpp: text and bytes columns given values that fit.

void text_uses(relstore::store<notes>& db, relstore::text& t) {
    auto q = db.read();
    (void)q.where<&Note::title>("abc");
    (void)q.where<&Note::title>(std::string_view("abc"));
    (void)q.where<&Note::digest>(std::as_bytes(std::span<const char>("abc", 3)));
    relstore::text empty = "";
    t = empty;
}
