// An association object: a credit links an author to a book and carries the
// author's role and position, read as plain many-to-many links and as rows.
#include <relstore/relstore.hpp>

#include <iostream>

namespace rs = relstore;

struct Author { std::int64_t id{}; std::string name; };
struct Book { std::int64_t id{}; std::string title; };
struct Credit { std::int64_t book_id{}, author_id{}; std::string role; int position{}; };
RELSTORE_FIELDS(Author, id, name)
RELSTORE_FIELDS(Book, id, title)
RELSTORE_FIELDS(Credit, book_id, author_id, role, position)
using authors = rs::table<"authors", Author, rs::auto_key<&Author::id>>;
using books = rs::table<"books", Book, rs::auto_key<&Book::id>>;
using credits = rs::table<"credits", Credit, rs::primary_key<&Credit::book_id, &Credit::author_id>,
    rs::references<&Credit::book_id, books, rs::on_delete::cascade>,
    rs::references<&Credit::author_id, authors, rs::on_delete::cascade>,
    rs::ordered<&Credit::book_id, &Credit::position>>;  // a book's credits in position order

constexpr auto book_of = &Credit::book_id;
constexpr auto author_of = &Credit::author_id;

int main() {
    rs::store<authors, books, credits> db;

    auto tx = db.write();
    const Author& naruto = tx.insert(Author{.name = "Naruto Uzumaki"});
    const Author& sasuke = tx.insert(Author{.name = "Sasuke Uchiha"});
    const Book& scroll = tx.insert(Book{.title = "Secret Scroll of Hidden leaf"});
    const Book& eyes = tx.insert(Book{.title = "Sharingan: The power within eyes"});
    rs::link<book_of, author_of>(tx, scroll, sasuke, {.role = "illustrator", .position = 2});
    rs::link<book_of, author_of>(tx, scroll, naruto, {.role = "writer", .position = 1});
    rs::link<book_of, author_of>(tx, eyes, sasuke, {.role = "writer", .position = 1});
    tx.commit();

    auto q = db.read();
    // As rows of their own: each book's credits, in position order.
    for (const Book& book : q.all<books>()) {
        std::cout << "Book: " << book.title << '\n';
        for (const Credit& c : q.children_by<book_of, &Credit::position>(book))
            std::cout << "  " << c.position << ". " << q.parent<author_of>(c).name << " (" << c.role << ")\n";
    }
    // As a plain many-to-many: an author's books, through the same rows.
    std::cout << sasuke.name << " worked on " << q.count_links<author_of, book_of>(sasuke) << " books:\n";
    for (const Book& book : q.linked<author_of, book_of>(sasuke)) std::cout << " - " << book.title << '\n';
    // One link, found by its pair.
    if (const Credit* c = q.find_link<author_of, book_of>(naruto, scroll))
        std::cout << naruto.name << " is the " << c->role << " of " << scroll.title << '\n';
}
