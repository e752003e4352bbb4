#pragma once
// The tutorial's schema in one store: users and posts (examples/01 and 02) and
// authors and books linked through an association table (examples/03). The
// README's picture, docs/tutorial-schema.svg, is drawn from these types, and
// the schema_dot tests check the same types, so the picture cannot show a
// schema the tests never saw.

#include <relstore/relstore.hpp>

#include <cstdint>
#include <string>

namespace tutorial {

struct User { std::int64_t id{}; std::string name; };
struct Post { std::int64_t id{}; std::string title, content; std::int64_t author_id{}; };
struct Author { std::int64_t id{}; std::string name; };
struct Book { std::int64_t id{}; std::string title; };
struct AuthorBook { std::int64_t author_id{}, book_id{}; };
RELSTORE_FIELDS(User, id, name)
RELSTORE_FIELDS(Post, id, title, content, author_id)
RELSTORE_FIELDS(Author, id, name)
RELSTORE_FIELDS(Book, id, title)
RELSTORE_FIELDS(AuthorBook, author_id, book_id)

using users = relstore::table<"users", User, relstore::auto_key<&User::id>, relstore::unique<&User::name>>;
using posts = relstore::table<"posts", Post, relstore::auto_key<&Post::id>,
                              relstore::references<&Post::author_id, users>>;
using authors = relstore::table<"authors", Author, relstore::auto_key<&Author::id>>;
using books = relstore::table<"books", Book, relstore::auto_key<&Book::id>>;
using authors_books =
    relstore::table<"authors_books", AuthorBook, relstore::primary_key<&AuthorBook::author_id, &AuthorBook::book_id>,
                    relstore::references<&AuthorBook::author_id, authors, relstore::on_delete::cascade>,
                    relstore::references<&AuthorBook::book_id, books, relstore::on_delete::cascade>>;

using store = relstore::store<users, posts, authors, books, authors_books>;

}  // namespace tutorial
