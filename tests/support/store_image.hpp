#pragma once
// A full picture of a store, to prove that a failed call or a rollback left it
// exactly as it was: every row of every table (with its address), the next
// auto key, and for every index its iteration order and, for every row, what
// a lookup of that row's own value through the index returns.
//
// Ordered indexes are compared as sequences. Hashed indexes promise no order,
// so their iteration and lookup results are compared as sorted lists.

#include <relstore/relstore.hpp>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace relstore_test {

// Values in full: messages cut long strings, but two images must differ
// whenever two values do.
inline constexpr std::size_t whole = relstore::detail::display_whole;

/// A row as text: {id=1, name="Ada", nickname=NULL}.
template <class Row>
std::string render(const Row& row) {
    std::string out = "{";
    bool first = true;
    relstore::for_each_field<Row>([&](const auto& f) {
        out += first ? "" : ", ";
        first = false;
        out += std::string(f.name) + "=" + relstore::detail::display(row.*(f.member), whole);
    });
    return out + "}";
}

struct index_image {
    std::string name;
    std::vector<std::string> iteration;
    std::vector<std::string> lookups;
    friend bool operator==(const index_image&, const index_image&) = default;
};

struct table_image {
    std::string name;
    std::size_t size = 0;
    std::vector<std::string> rows;  // in key-index order (sorted for a hashed key)
    std::vector<const void*> addresses;  // parallel to rows
    std::string next_key;
    std::vector<index_image> indexes;
};

struct store_image {
    std::vector<table_image> tables;
};

namespace detail {

template <class T, class S, class State>
index_image capture_index(const State& st, std::size_t ordinal) {
    index_image img;
    img.name = std::string(T::name) + " index #" + std::to_string(ordinal) + (S::is_hashed ? " (hashed)" : " (ordered)");
    const auto& idx = st.rows.template get<S>();
    for (const auto& r : idx) img.iteration.push_back(render(r));
    if (S::is_hashed) std::sort(img.iteration.begin(), img.iteration.end());
    // Look every row up by its own value through this index; the answer must
    // contain it, and be the same before and after.
    for (const auto& r : st.key_index()) {
        auto [first, last] = idx.equal_range(idx.key_extractor()(r));
        std::vector<std::string> hit;
        bool found_self = false;
        for (; first != last; ++first) {
            hit.push_back(relstore::detail::display(State::key_of(*first), whole));
            found_self = found_self || &*first == &r;
        }
        if (S::is_hashed) std::sort(hit.begin(), hit.end());
        std::string line = relstore::detail::display(State::key_of(r), whole) + " -> [";
        for (std::size_t i = 0; i < hit.size(); ++i) line += (i ? ", " : "") + hit[i];
        line += found_self ? "]" : "] (row missing from its own lookup)";
        img.lookups.push_back(std::move(line));
    }
    if (S::is_hashed) std::sort(img.lookups.begin(), img.lookups.end());
    return img;
}

}  // namespace detail

/// Captures the store a read scope or transaction sees.
template <class Scope>
store_image capture(const Scope& scope) {
    const auto& db = scope.store_ref();
    using Store = std::decay_t<decltype(db)>;
    store_image out;
    Store::for_each_table([&]<class T>(T*) {
        using State = relstore::detail::table_state<T>;
        const State& st = scope.template state<T>();
        table_image t;
        t.name = std::string(T::name);
        t.size = st.rows.size();
        std::vector<std::pair<std::string, const void*>> rows;
        for (const auto& r : st.key_index()) rows.emplace_back(render(r), &r);
        if (T::key::is_hashed) std::sort(rows.begin(), rows.end());
        for (auto& [text, addr] : rows) {
            t.rows.push_back(text);
            t.addresses.push_back(addr);
        }
        t.next_key = relstore::detail::display(st.next_key, whole);
        std::size_t ordinal = 0;
        relstore::detail::for_each_spec<T>([&]<class S>(S*) {
            t.indexes.push_back(detail::capture_index<T, S>(st, ordinal++));
        });
        out.tables.push_back(std::move(t));
    });
    return out;
}

/// Captures the committed state of a store through a fresh read scope.
template <class Store>
store_image capture_store(const Store& db) {
    return capture(db.read());
}

namespace detail {

inline void diff_lists(std::ostringstream& os, const std::string& what, const std::vector<std::string>& a,
                       const std::vector<std::string>& b) {
    if (a == b) return;
    os << what << " differs (" << a.size() << " vs " << b.size() << " entries)";
    for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        const std::string x = i < a.size() ? a[i] : "<none>";
        const std::string y = i < b.size() ? b[i] : "<none>";
        if (x != y) {
            os << "; first at " << i << ": " << x << " / " << y;
            break;
        }
    }
    os << '\n';
}

}  // namespace detail

/// The differences between two images, or "" when they are the same. With
/// addresses, rows must also be the very same objects (a failed call must not
/// even move a row); without, equal contents suffice (a rollback re-creates
/// the rows it brings back).
inline std::string diff(const store_image& a, const store_image& b, bool addresses = true) {
    std::ostringstream os;
    if (a.tables.size() != b.tables.size()) return "different number of tables\n";
    for (std::size_t t = 0; t < a.tables.size(); ++t) {
        const auto& x = a.tables[t];
        const auto& y = b.tables[t];
        if (x.size != y.size) os << x.name << ": size " << x.size << " vs " << y.size << '\n';
        detail::diff_lists(os, x.name + " rows", x.rows, y.rows);
        if (addresses && x.rows == y.rows && x.addresses != y.addresses) os << x.name << ": rows moved in memory\n";
        if (x.next_key != y.next_key) os << x.name << ": next key " << x.next_key << " vs " << y.next_key << '\n';
        for (std::size_t i = 0; i < x.indexes.size() && i < y.indexes.size(); ++i) {
            detail::diff_lists(os, x.indexes[i].name + " iteration", x.indexes[i].iteration, y.indexes[i].iteration);
            detail::diff_lists(os, x.indexes[i].name + " lookups", x.indexes[i].lookups, y.indexes[i].lookups);
        }
    }
    return os.str();
}

/// "" when every index of every table finds each row by its own value, else
/// what is wrong (an index that lost a row, a size mismatch).
inline std::string check_consistent(const store_image& img) {
    std::ostringstream os;
    for (const auto& t : img.tables) {
        for (const auto& idx : t.indexes) {
            if (idx.iteration.size() != t.size)
                os << idx.name << ": " << idx.iteration.size() << " rows, table has " << t.size << '\n';
            for (const auto& l : idx.lookups)
                if (l.find("missing") != std::string::npos) os << idx.name << ": " << l << '\n';
        }
    }
    return os.str();
}

}  // namespace relstore_test
