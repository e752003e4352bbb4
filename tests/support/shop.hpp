#pragma once
// A schema that uses every kind of key and index the core offers, shared by
// the core tests: an auto key, a hashed auto key, a caller-supplied string
// key, a composite key; unique constraints on one column, on two columns and
// on a nullable column; hashed and ordered secondary indexes (one composite);
// a column with no index; foreign keys that restrict erasing their parent.

#include <relstore/relstore.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace shop {

struct Customer {
    std::int64_t id{};
    std::string email;
    std::string first;
    std::string last;
    std::optional<std::string> nickname;
    std::int32_t age{};
    std::string city;
    std::string note;  // no index: filters on it scan
};
RELSTORE_FIELDS(Customer, id, email, first, last, nickname, age, city, note)

struct Product {
    std::string sku;
    std::string name;
    std::string category;
    std::int64_t price{};
    std::optional<std::int64_t> barcode;
};
RELSTORE_FIELDS(Product, sku, name, category, price, barcode)

struct Line {
    std::int64_t order_no{};
    std::int32_t line_no{};
    std::int64_t customer_id{};
    std::string sku;
    std::int32_t qty{};
};
RELSTORE_FIELDS(Line, order_no, line_no, customer_id, sku, qty)

struct Tag {
    std::int64_t id{};
    std::string label;
};
RELSTORE_FIELDS(Tag, id, label)

namespace rs = relstore;

using customers = rs::table<"customers", Customer, rs::auto_key<&Customer::id>, rs::unique<&Customer::email>,
                            rs::unique<&Customer::first, &Customer::last>, rs::unique<&Customer::nickname>,
                            rs::ordered<&Customer::age>, rs::index<&Customer::city>>;
using products = rs::table<"products", Product, rs::primary_key<&Product::sku>, rs::ordered_unique<&Product::name>,
                           rs::ordered<&Product::category, &Product::price>, rs::ordered<&Product::price>,
                           rs::ordered_unique<&Product::barcode>>;
using lines = rs::table<"lines", Line, rs::primary_key<&Line::order_no, &Line::line_no>,
                        rs::references<&Line::customer_id, customers>, rs::references<&Line::sku, products>,
                        rs::ordered<&Line::qty>>;
using tags = rs::table<"tags", Tag, rs::hashed_auto_key<&Tag::id>, rs::unique<&Tag::label>>;

using store = rs::store<customers, products, lines, tags>;

/// Fills a store with a small catalogue: 4 customers (ids 1-4), 5 products,
/// 4 order lines, 2 tags.
inline void fill(store& db) {
    auto tx = db.write();
    tx.insert(Customer{0, "ada@x.org", "Ada", "Lovelace", "countess", 36, "London", "math"});
    tx.insert(Customer{0, "alan@x.org", "Alan", "Turing", std::nullopt, 41, "Wilmslow", ""});
    tx.insert(Customer{0, "grace@x.org", "Grace", "Hopper", std::nullopt, 85, "Arlington", "navy"});
    tx.insert(Customer{0, "edsger@x.org", "Edsger", "Dijkstra", "ewd", 72, "Nuenen", "math"});
    tx.insert(Product{"B-1", "Notebook", "books", 450, 1001});
    tx.insert(Product{"B-2", "Atlas", "books", 2500, std::nullopt});
    tx.insert(Product{"P-1", "Pencil", "office", 120, 2001});
    tx.insert(Product{"P-2", "Pen", "office", 300, std::nullopt});
    tx.insert(Product{"T-1", "Teapot", "kitchen", 1800, 3001});
    tx.insert(Line{100, 1, 1, "B-1", 2});
    tx.insert(Line{100, 2, 1, "P-1", 10});
    tx.insert(Line{101, 1, 3, "T-1", 1});
    tx.insert(Line{102, 1, 4, "B-2", 1});
    tx.insert(Tag{0, "sale"});
    tx.insert(Tag{0, "new"});
    tx.commit();
}

}  // namespace shop
