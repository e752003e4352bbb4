// Many-to-many: authors and books linked through the authors_books
// association table, navigated from each author (the tutorial's third scenario).
#include <relstore/relstore.hpp>

#include <iostream>

namespace rs = relstore;

struct Author { std::int64_t id{}; std::string name; };
struct Book { std::int64_t id{}; std::string title; };
struct AuthorBook { std::int64_t author_id{}, book_id{}; };
RELSTORE_FIELDS(Author, id, name)
RELSTORE_FIELDS(Book, id, title)
RELSTORE_FIELDS(AuthorBook, author_id, book_id)
using authors = rs::table<"authors", Author, rs::auto_key<&Author::id>>;
using books = rs::table<"books", Book, rs::auto_key<&Book::id>>;
using authors_books = rs::table<"authors_books", AuthorBook, rs::primary_key<&AuthorBook::author_id, &AuthorBook::book_id>,
    rs::references<&AuthorBook::author_id, authors, rs::on_delete::cascade>,
    rs::references<&AuthorBook::book_id, books, rs::on_delete::cascade>>;

int main() {
    rs::store<authors, books, authors_books> db;

    auto tx = db.write();
    const Author& author1 = tx.insert(Author{.name = "Naruto Uzumaki"});
    const Author& author2 = tx.insert(Author{.name = "Sasuke Uchiha"});
    const Book& book1 = tx.insert(Book{.title = "Secret Scroll of Hidden leaf"});
    const Book& book2 = tx.insert(Book{.title = "Sharingan: The power within eyes"});
    rs::set_links<&AuthorBook::book_id, &AuthorBook::author_id>(tx, book1, {&author1, &author2});
    rs::set_links<&AuthorBook::book_id, &AuthorBook::author_id>(tx, book2, {&author2});
    tx.commit();

    auto q = db.read();
    for (const Author& author : q.all<authors>()) {
        std::cout << "Author: " << author.name << '\n';
        for (const Book& book : q.linked<&AuthorBook::author_id, &AuthorBook::book_id>(author))
            std::cout << " - Book: " << book.title << '\n';
    }
}
