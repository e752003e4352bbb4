#pragma once
/// @file data.hpp
/// The one seeded data set of WORKLOADS.md, shared by every peer, and the
/// query streams the workloads draw from it. Everything here is a plain value:
/// the peers copy rows out of it, so no peer sees another's containers.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

struct user_row {
    std::int64_t id;
    std::string name;   // "user-<id>", unique
    std::string email;  // "user-<id>@example.com"
};
struct post_row {
    std::int64_t id;
    std::int64_t author_id;  // -> users.id
    std::string title;       // 16..48 bytes
    std::string content;     // 56..72 bytes
};
struct author_row {
    std::int64_t id;
    std::string name;
};
struct book_row {
    std::int64_t id;
    std::string title;
};
struct link_row {
    std::int64_t author_id;
    std::int64_t book_id;
};

/// One W8 change: a post, the title it gets and the author it moves to.
struct post_change {
    std::int64_t post_id;
    std::string new_title;
    std::int64_t new_author;
    std::string old_title;   // what the restore step writes back
    std::int64_t old_author;
};

/// Row counts of the five tables.
struct counts {
    std::size_t users = 0, posts = 0, authors = 0, books = 0, links = 0;
    [[nodiscard]] std::size_t total() const noexcept { return users + posts + authors + books + links; }
    friend bool operator==(const counts&, const counts&) = default;
};

struct dataset {
    double scale = 1.0;
    std::vector<user_row> users;
    std::vector<post_row> posts;
    std::vector<author_row> authors;
    std::vector<book_row> books;
    std::vector<link_row> links;

    // Query streams (random, with repeats, fixed seed).
    std::vector<std::int64_t> user_keys;    // W2, W3
    std::vector<std::int64_t> post_keys;    // W4
    std::vector<std::string> name_keys;     // W5
    std::vector<std::int64_t> author_keys;  // W6 author -> books
    std::vector<std::int64_t> book_keys;    // W6 book -> authors
    std::vector<post_change> changes;       // W8, distinct posts

    // W7: 10% of the users, distinct, and what must remain after the cascade.
    std::vector<std::int64_t> delete_users;
    counts after_delete;
    std::uint64_t after_delete_checksum = 0;

    counts full;                     // counts after W1
    std::uint64_t full_checksum = 0;  // state checksum after W1
    std::size_t payload_bytes = 0;   // sum of field sizes (8 per integer, string lengths)
};

/// The data set for the scale given on the command line; built on first use.
const dataset& data();

/// Sets the scale; must be called before the first data().
void set_scale(double scale);

/// Frees the data set's rows (users, posts, authors, books, links, changes),
/// keeping its query streams and counts: a program that has loaded them into
/// its store holds only the store afterwards, as an application would.
/// data() keeps returning the data set, with those vectors empty.
void drop_rows();

/// How many queries one benchmark iteration runs for lookup workloads.
inline constexpr std::size_t batch = 1024;

// --- checksums, computed the same way by every peer --------------------------

/// A cheap signature of a string: its length and its first and last bytes.
[[nodiscard]] inline std::uint64_t sig(std::string_view s) noexcept {
    if (s.empty()) return 0;
    return s.size() * 131u + static_cast<unsigned char>(s.front()) * 7u + static_cast<unsigned char>(s.back());
}

[[nodiscard]] inline std::uint64_t user_sum(std::int64_t id, std::string_view name, std::string_view email) noexcept {
    return static_cast<std::uint64_t>(id) * 3u + sig(name) * 5u + sig(email);
}
[[nodiscard]] inline std::uint64_t post_sum(std::int64_t id, std::int64_t author, std::string_view title,
                                            std::string_view content) noexcept {
    return static_cast<std::uint64_t>(id) * 7u + static_cast<std::uint64_t>(author) * 13u + sig(title) * 11u +
           sig(content);
}
[[nodiscard]] inline std::uint64_t author_sum(std::int64_t id, std::string_view name) noexcept {
    return static_cast<std::uint64_t>(id) * 17u + sig(name);
}
[[nodiscard]] inline std::uint64_t book_sum(std::int64_t id, std::string_view title) noexcept {
    return static_cast<std::uint64_t>(id) * 19u + sig(title) * 3u;
}
[[nodiscard]] inline std::uint64_t link_sum(std::int64_t a, std::int64_t b) noexcept {
    return static_cast<std::uint64_t>(a) * 1000003u + static_cast<std::uint64_t>(b);
}

/// A whole-store checksum: row counts and an order-independent sum of every row.
struct state {
    counts n;
    std::uint64_t sum = 0;
    friend bool operator==(const state&, const state&) = default;
};

}  // namespace bench
