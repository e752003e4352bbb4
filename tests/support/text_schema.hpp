#pragma once
// One table twice: with std::string and std::vector<std::byte> columns, and
// with relstore::text and relstore::bytes in their place (same table and
// column names), for the tests that files written with one load into the
// other. rows_of() reads either store as plain values, to compare them.

#include <relstore/relstore.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace textschema {

namespace rs = relstore;
using blob = std::vector<std::byte>;

struct PlainNote {
    std::int64_t id{};
    std::string title;
    std::optional<std::string> body;
    blob digest;
    std::optional<blob> thumb;
};
RELSTORE_FIELDS(PlainNote, id, title, body, digest, thumb)

struct TextNote {
    std::int64_t id{};
    rs::text title;
    std::optional<rs::text> body;
    rs::bytes digest;
    std::optional<rs::bytes> thumb;
};
RELSTORE_FIELDS(TextNote, id, title, body, digest, thumb)

using plain_notes = rs::table<"notes", PlainNote, rs::auto_key<&PlainNote::id>, rs::unique<&PlainNote::title>,
                              rs::ordered<&PlainNote::body>, rs::ordered_unique<&PlainNote::digest>>;
using text_notes = rs::table<"notes", TextNote, rs::auto_key<&TextNote::id>, rs::unique<&TextNote::title>,
                             rs::ordered<&TextNote::body>, rs::ordered_unique<&TextNote::digest>>;
using plain_store = rs::store<plain_notes>;
using text_store = rs::store<text_notes>;

inline blob bytes_of(const std::string& s) {
    blob b;
    for (const char c : s) b.push_back(static_cast<std::byte>(c));
    return b;
}

/// Values on both sides of the inline capacity (15 bytes), empty ones, a
/// NUL inside, quotes, commas, newlines and non-ASCII text for JSON and CSV.
template <class Store>
void fill(Store& db) {
    using row = typename std::tuple_element_t<0, typename Store::tables>::row_type;
    auto tx = db.write();
    const std::string fifteen(15, 'f'), sixteen(16, 's');
    tx.insert(row{0, "", std::nullopt, blob{}, std::nullopt});
    tx.insert(row{0, fifteen, fifteen, bytes_of(fifteen), bytes_of(fifteen)});
    tx.insert(row{0, sixteen, sixteen, bytes_of(sixteen), bytes_of(sixteen)});
    tx.insert(row{0, std::string("nul\0inside", 10), std::string("a,\"b\"\nc", 7), bytes_of(std::string("\0\xff", 2)),
                  blob{}});
    tx.insert(row{0, "Gr\xC3\xBC\xC3\x9F" "e, a longer title of 40 bytes.....", std::string(200, 'x'),
                  bytes_of(std::string(100, '\x80')), std::nullopt});
    tx.commit();
}

using plain_row = std::tuple<std::int64_t, std::string, std::optional<std::string>, blob, std::optional<blob>>;

/// Every row of either store as plain values, in key order.
template <class Store>
std::vector<plain_row> rows_of(const Store& db) {
    using table = std::tuple_element_t<0, typename Store::tables>;
    std::vector<plain_row> out;
    auto q = db.read();
    for (const auto& r : q.template all<table>()) {
        plain_row p{r.id, std::string(std::string_view(r.title)), std::nullopt,
                    blob(r.digest.begin(), r.digest.end()), std::nullopt};
        if (r.body) std::get<2>(p) = std::string(std::string_view(*r.body));
        if (r.thumb) std::get<4>(p) = blob(r.thumb->begin(), r.thumb->end());
        out.push_back(std::move(p));
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace textschema
