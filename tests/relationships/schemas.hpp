#pragma once
// The schemas the relationship tests share: one store per kind of graph, so
// each test file instantiates few store types (compile time is budgeted).

#include <relstore/relstore.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace rel {

namespace rs = relstore;

// --- blog: one-to-many, one-to-one, on-delete actions -----------------------

struct User {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(User, id, name)

struct Post {
    std::int64_t id{};
    std::string title;
    std::int64_t author_id{};
    std::int64_t created{};              // a timestamp, for ordered children
    std::optional<std::int64_t> editor_id{};  // optional, set to null when the editor goes
};
RELSTORE_FIELDS(Post, id, title, author_id, created, editor_id)

struct Comment {
    std::int64_t id{};
    std::int64_t post_id{};
    std::string text;
};
RELSTORE_FIELDS(Comment, id, post_id, text)

struct Profile {  // one-to-one with its user
    std::int64_t id{};
    std::int64_t user_id{};
    std::string bio;
};
RELSTORE_FIELDS(Profile, id, user_id, bio)

struct Invoice {  // restricts the erase of its user
    std::int64_t id{};
    std::int64_t user_id{};
    std::int64_t cents{};
};
RELSTORE_FIELDS(Invoice, id, user_id, cents)

using users = rs::table<"users", User, rs::auto_key<&User::id>, rs::unique<&User::name>>;
using posts = rs::table<"posts", Post, rs::auto_key<&Post::id>,
                        rs::references<&Post::author_id, users, rs::on_delete::cascade>,
                        rs::references<&Post::editor_id, users, rs::on_delete::set_null>,
                        rs::ordered<&Post::author_id, &Post::created>>;
using comments = rs::table<"comments", Comment, rs::auto_key<&Comment::id>,
                           rs::references<&Comment::post_id, posts, rs::on_delete::cascade>>;
using profiles = rs::table<"profiles", Profile, rs::auto_key<&Profile::id>,
                           rs::unique_references<&Profile::user_id, users, rs::on_delete::cascade>>;
using invoices = rs::table<"invoices", Invoice, rs::auto_key<&Invoice::id>,
                           rs::references<&Invoice::user_id, users>>;  // restrict, the default
using blog = rs::store<users, posts, comments, profiles, invoices>;

// --- warehouse: a composite primary key referenced by a composite foreign key

struct Shelf {
    std::int32_t aisle{};
    std::int32_t number{};
    std::string label;
};
RELSTORE_FIELDS(Shelf, aisle, number, label)

struct Item {
    std::int64_t id{};
    std::string name;
    std::int32_t aisle{};
    std::int32_t shelf{};
};
RELSTORE_FIELDS(Item, id, name, aisle, shelf)

using shelves = rs::table<"shelves", Shelf, rs::primary_key<&Shelf::aisle, &Shelf::number>>;
using items = rs::table<"items", Item, rs::auto_key<&Item::id>,
                        rs::foreign_key<shelves, rs::fk_options{rs::on_delete::cascade}, &Item::aisle, &Item::shelf>>;
using warehouse = rs::store<shelves, items>;

// --- library: many-to-many, plain and through an association object ---------

struct Author {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Author, id, name)

struct Book {
    std::int64_t id{};
    std::string title;
};
RELSTORE_FIELDS(Book, id, title)

struct AuthorBook {  // the tutorial's authors_books: nothing but the pair
    std::int64_t author_id{};
    std::int64_t book_id{};
};
RELSTORE_FIELDS(AuthorBook, author_id, book_id)

struct Credit {  // an association object: who did what on a book, in which position
    std::int64_t id{};
    std::int64_t author_id{};
    std::int64_t book_id{};
    std::string role;
    std::int32_t position{};
};
RELSTORE_FIELDS(Credit, id, author_id, book_id, role, position)

struct Blurb {  // an author praising a book: the praise stays when either side goes
    std::int64_t id{};
    std::optional<std::int64_t> author_id{};
    std::optional<std::int64_t> book_id{};
};
RELSTORE_FIELDS(Blurb, id, author_id, book_id)

using authors = rs::table<"authors", Author, rs::auto_key<&Author::id>, rs::unique<&Author::name>>;
using books = rs::table<"books", Book, rs::auto_key<&Book::id>>;
using authors_books = rs::table<"authors_books", AuthorBook, rs::primary_key<&AuthorBook::author_id, &AuthorBook::book_id>,
                                rs::references<&AuthorBook::author_id, authors, rs::on_delete::cascade>,
                                rs::references<&AuthorBook::book_id, books, rs::on_delete::cascade>>;
using credits = rs::table<"credits", Credit, rs::auto_key<&Credit::id>,
                          rs::references<&Credit::author_id, authors, rs::on_delete::cascade>,
                          rs::references<&Credit::book_id, books, rs::on_delete::cascade>,
                          rs::unique<&Credit::author_id, &Credit::book_id, &Credit::role>,
                          rs::ordered<&Credit::book_id, &Credit::position>>;
using blurbs = rs::table<"blurbs", Blurb, rs::auto_key<&Blurb::id>,
                         rs::references<&Blurb::author_id, authors, rs::on_delete::set_null>,
                         rs::references<&Blurb::book_id, books, rs::on_delete::set_null>>;
using library = rs::store<authors, books, authors_books, credits, blurbs>;

// --- social: self-references, one-to-many (trees) and many-to-many ----------

struct Category {  // a tree that refuses cycles
    std::int64_t id{};
    std::string name;
    std::optional<std::int64_t> parent_id{};
};
RELSTORE_FIELDS(Category, id, name, parent_id)

struct Employee {  // a plain self-reference: cycles are possible, traversal must survive them
    std::int64_t id{};
    std::string name;
    std::optional<std::int64_t> manager_id{};
};
RELSTORE_FIELDS(Employee, id, name, manager_id)

struct Member {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Member, id, name)

struct Follow {  // members following members
    std::int64_t follower_id{};
    std::int64_t followee_id{};
};
RELSTORE_FIELDS(Follow, follower_id, followee_id)

struct Referral {  // members inviting members: the invitation stays when a member goes
    std::int64_t id{};
    std::optional<std::int64_t> referrer_id{};
    std::optional<std::int64_t> referee_id{};
};
RELSTORE_FIELDS(Referral, id, referrer_id, referee_id)

using categories = rs::table<"categories", Category, rs::auto_key<&Category::id>,
                             rs::acyclic_references<&Category::parent_id, rs::on_delete::cascade>>;
using employees = rs::table<"employees", Employee, rs::auto_key<&Employee::id>,
                            rs::references<&Employee::manager_id, rs::self, rs::on_delete::set_null>>;
using members = rs::table<"members", Member, rs::auto_key<&Member::id>, rs::unique<&Member::name>>;
using follows = rs::table<"follows", Follow, rs::primary_key<&Follow::follower_id, &Follow::followee_id>,
                          rs::references<&Follow::follower_id, members, rs::on_delete::cascade>,
                          rs::references<&Follow::followee_id, members, rs::on_delete::cascade>>;
using referrals = rs::table<"referrals", Referral, rs::auto_key<&Referral::id>,
                            rs::references<&Referral::referrer_id, members, rs::on_delete::set_null>,
                            rs::references<&Referral::referee_id, members, rs::on_delete::set_null>>;
using social = rs::store<categories, employees, members, follows, referrals>;

}  // namespace rel
