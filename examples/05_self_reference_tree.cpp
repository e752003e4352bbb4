// A self-referencing tree: categories with a parent in the same table, walked
// up (ancestors) and down (descendants), and a change that would close a cycle refused.
#include <relstore/relstore.hpp>

#include <iostream>
#include <optional>

namespace rs = relstore;

struct Category { std::int64_t id{}; std::string name; std::optional<std::int64_t> parent_id{}; };
RELSTORE_FIELDS(Category, id, name, parent_id)
using categories = rs::table<"categories", Category, rs::auto_key<&Category::id>,
    rs::acyclic_references<&Category::parent_id, rs::on_delete::cascade>>;  // parent: relstore::self

constexpr auto parent_of = &Category::parent_id;

int main() {
    rs::store<categories> db;

    auto tx = db.write();
    const Category& all = tx.insert(Category{.name = "All"});
    const Category& books = tx.insert(Category{.name = "Books", .parent_id = all.id});
    tx.insert(Category{.name = "Music", .parent_id = all.id});
    const Category& fiction = tx.insert(Category{.name = "Fiction", .parent_id = books.id});
    tx.insert(Category{.name = "Poetry", .parent_id = books.id});
    const Category& scifi = tx.insert(Category{.name = "Sci-fi", .parent_id = fiction.id});

    std::cout << scifi.name << " is in:";
    for (const Category& c : tx.ancestors<parent_of>(scifi)) std::cout << ' ' << c.name;
    std::cout << "\nOne level under " << all.name << ':';
    for (const Category& c : tx.descendants<parent_of>(all, 1)) std::cout << ' ' << c.name;
    std::cout << "\nEverything under " << books.name << ':';
    for (const Category& c : tx.descendants<parent_of>(books)) std::cout << ' ' << c.name;
    std::cout << '\n';

    try {  // Books under its own grandchild would make a loop.
        tx.update(books, [&](Category& c) { c.parent_id = scifi.id; });
    } catch (const rs::constraint_error& e) {
        std::cout << "Refused: " << e.what() << '\n';
    }
    std::cout << books.name << " is still under " << tx.parent<parent_of>(books)->name << '\n';
    tx.commit();
}
