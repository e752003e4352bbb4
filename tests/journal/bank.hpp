#pragma once
// The schema of the journal tests: an auto-keyed table with a unique column
// and a nullable one, a child table that cascades, a composite-key table
// with a hashed key, and helpers shared by the journal test binaries.

#include <relstore/journal.hpp>
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace jt {

namespace rs = relstore;
namespace fs = std::filesystem;

struct Account {
    std::int64_t id{};
    std::string name;
    std::int64_t balance{};
    std::optional<std::string> note;
};
RELSTORE_FIELDS(Account, id, name, balance, note)

struct Entry {
    std::int64_t id{};
    std::int64_t account{};
    std::int64_t amount{};
};
RELSTORE_FIELDS(Entry, id, account, amount)

struct Tag {
    std::int32_t a{};
    std::string b;
    double w{};
};
RELSTORE_FIELDS(Tag, a, b, w)

using accounts = rs::table<"accounts", Account, rs::auto_key<&Account::id>, rs::unique<&Account::name>>;
using entries = rs::table<"entries", Entry, rs::auto_key<&Entry::id>,
                          rs::references<&Entry::account, accounts, rs::on_delete::cascade>>;
using tags = rs::table<"tags", Tag, rs::hashed_primary_key<&Tag::a, &Tag::b>>;
using bank = rs::store<accounts, entries, tags>;

/// Another schema, for the refusal of a foreign journal.
using other = rs::store<accounts>;

/// The whole contents of a store as snapshot bytes: equal stores give equal bytes.
template <class Store>
std::string image(const Store& db) {
    std::ostringstream out;
    rs::save(db, out);
    return out.str();
}

/// A fresh directory, removed with its files at the end of the scope.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string t = (fs::temp_directory_path() / "relstore-journal-XXXXXX").string();
        if (::mkdtemp(t.data()) == nullptr) std::abort();
        path = t;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path operator/(const std::string& name) const { return path / name; }
};

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
inline void spit(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Every file of a directory (not recursing) and its bytes; a lock file's
/// size only, as closing a descriptor of it would drop this process's lock.
inline std::vector<std::pair<std::string, std::string>> contents_of(const fs::path& dir) {
    std::vector<std::pair<std::string, std::string>> v;
    for (const auto& e : fs::directory_iterator(dir))
        v.emplace_back(e.path().filename().string(), e.path().extension() == ".lock"
                                                          ? std::to_string(fs::file_size(e.path())) + " bytes"
                                                          : slurp(e.path()));
    std::sort(v.begin(), v.end());
    return v;
}

/// Options with no automatic checkpoint (and so no background thread unless
/// the policy is sync::interval).
inline rs::durable_options no_auto(rs::sync s = rs::sync::every_commit) {
    rs::durable_options o;
    o.sync = s;
    o.checkpoint_bytes = 0;
    return o;
}

/// The bytes a journal's header takes (its records start there).
inline std::uint64_t header_size(const fs::path& journal) {
    return rs::detail::parse_journal_header(rs::detail::read_journal_file(journal), journal.string()).size;
}

/// Opens a pair into a fresh store and returns its image.
inline std::string reopened(const fs::path& snap, const fs::path& journal, rs::durable_options o = no_auto()) {
    bank db;
    rs::durable<bank> d(db, snap, journal, o);
    return image(db);
}

/// A transaction of every kind of change, varied by i: inserts (auto keys),
/// updates of indexed and plain columns, set(), erases with cascades, the
/// composite-key table, a unique value moved from one row to another.
inline void mixed_commit(bank& db, int i) {
    auto tx = db.write();
    switch (i % 6) {
    case 0: {
        const auto& a = tx.insert(Account{0, "acct" + std::to_string(i), i, std::nullopt});
        tx.insert(Entry{0, a.id, i});
        tx.insert(Entry{0, a.id, -i});
        break;
    }
    case 1: {
        for (const auto& a : tx.all<accounts>()) {
            tx.set<&Account::balance>(a, a.balance + 1);
            tx.set<&Account::note>(a, std::optional<std::string>("n" + std::to_string(i)));
        }
        tx.insert(Tag{i, "t" + std::to_string(i), i * 0.5});
        break;
    }
    case 2: {
        // Renames through the unique index: a name freed and taken in one commit.
        const Account* first = nullptr;
        for (const auto& a : tx.all<accounts>())
            if (!first) first = &a;
        if (first) {
            const std::string old = first->name;
            tx.update(*first, [&](Account& a) { a.name = "renamed" + std::to_string(i); });
            tx.insert(Account{0, old, 0, std::string("took the old name")});
        }
        break;
    }
    case 3: {
        // Erase with a cascade, and an insert erased again (uses up a key).
        const Account* last = nullptr;
        for (const auto& a : tx.all<accounts>()) last = &a;
        if (last) tx.erase(*last);
        const auto& tmp = tx.insert(Account{0, "tmp" + std::to_string(i), 0, std::nullopt});
        tx.erase(tmp);
        break;
    }
    case 4: {
        for (const auto& t : tx.all<tags>()) {
            tx.update(t, [](Tag& x) { x.w += 1; });
            break;
        }
        tx.erase<tags>(i - 3, "t" + std::to_string(i - 3));
        break;
    }
    default: {
        auto sp = tx.savepoint();
        tx.insert(Account{0, "rolled back" + std::to_string(i), 0, std::nullopt});
        sp.rollback();
        tx.insert(Account{0, "kept" + std::to_string(i), 1, std::string(300, 'x')});
        break;
    }
    }
    tx.commit();
}

}  // namespace jt
