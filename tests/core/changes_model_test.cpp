// A model test of change sets: thousands of random transactions (inserts,
// updates, sets, erases through every on_delete action, links and set_links,
// savepoints, rollbacks, failed writes) run against a store with a
// subscriber that replays each change set onto a copy of the previous state
// (a std::map per table). After every transaction the copy must equal the
// store, every old value must be what the copy held, every update's columns
// must be exactly the ones that differ — and the narrower subscriptions
// (one table, one row, one parent's children) must have received exactly
// the part of the full change set that concerns them.
//
// Reproducible: the seed is Catch's (--rng-seed N).
// Deliberate breakages that made it fail: reporting a column-only update's
// old row as the row now (old == row), reporting every column of an update
// as changed, reporting an insert-then-erase as an erase, skipping the sort
// that groups a key's entries.
#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace changes_model_test {

namespace cm {

struct Parent {
    std::int64_t id{};
    std::string name;
    std::int32_t score{};
    std::string bio;  // no index: set() changes it in place
    friend bool operator==(const Parent&, const Parent&) = default;
};
RELSTORE_FIELDS(Parent, id, name, score, bio)

struct Child {
    std::int64_t id{};
    std::int64_t parent_id{};
    std::optional<std::int64_t> buddy_id;
    std::int32_t slot{};
    std::string note;
    friend bool operator==(const Child&, const Child&) = default;
};
RELSTORE_FIELDS(Child, id, parent_id, buddy_id, slot, note)

struct Pin {
    std::int64_t id{};
    std::int64_t child_id{};
    friend bool operator==(const Pin&, const Pin&) = default;
};
RELSTORE_FIELDS(Pin, id, child_id)

struct Tag {
    std::int64_t id{};
    std::string label;
    friend bool operator==(const Tag&, const Tag&) = default;
};
RELSTORE_FIELDS(Tag, id, label)

struct ChildTag {
    std::int64_t child_id{};
    std::int64_t tag_id{};
    std::int32_t weight{};
    friend bool operator==(const ChildTag&, const ChildTag&) = default;
};
RELSTORE_FIELDS(ChildTag, child_id, tag_id, weight)

struct Folder {
    std::int64_t id{};
    std::optional<std::int64_t> up;
    std::string name;
    friend bool operator==(const Folder&, const Folder&) = default;
};
RELSTORE_FIELDS(Folder, id, up, name)

namespace rs = relstore;
using parents = rs::table<"parents", Parent, rs::auto_key<&Parent::id>, rs::unique<&Parent::name>,
                          rs::ordered<&Parent::score>>;
using children = rs::table<"children", Child, rs::auto_key<&Child::id>,
                           rs::references<&Child::parent_id, parents, rs::on_delete::cascade>,
                           rs::references<&Child::buddy_id, parents, rs::on_delete::set_null>,
                           rs::unique<&Child::parent_id, &Child::slot>>;
using pins = rs::table<"pins", Pin, rs::hashed_auto_key<&Pin::id>,
                       rs::references<&Pin::child_id, children, rs::on_delete::restrict>>;
using tags = rs::table<"tags", Tag, rs::auto_key<&Tag::id>, rs::unique<&Tag::label>>;
using child_tags = rs::table<"child_tags", ChildTag, rs::primary_key<&ChildTag::child_id, &ChildTag::tag_id>,
                             rs::references<&ChildTag::child_id, children, rs::on_delete::cascade>,
                             rs::references<&ChildTag::tag_id, tags, rs::on_delete::cascade>>;
using folders = rs::table<"folders", Folder, rs::auto_key<&Folder::id>,
                          rs::references<&Folder::up, rs::self, rs::on_delete::cascade>>;
using store = rs::store<parents, children, pins, tags, child_tags, folders>;

template <class T>
using key_of_t = typename rs::detail::table_state<T>::key_type;

/// The replayed copy: one map per table, keyed as the table is.
template <class T>
using table_copy = std::map<key_of_t<T>, typename T::row_type>;
using copy = std::tuple<table_copy<parents>, table_copy<children>, table_copy<pins>, table_copy<tags>,
                        table_copy<child_tags>, table_copy<folders>>;

template <class K>
inline constexpr bool is_tuple = false;
template <class... Ts>
inline constexpr bool is_tuple<std::tuple<Ts...>> = true;

template <class T>
key_of_t<T> key(const typename T::row_type& r) {
    return rs::detail::table_state<T>::key_of(r);
}

/// Fails unless the store holds exactly the copy's rows.
void check_equal(const store& db, const copy& c) {
    auto q = db.read();
    store::for_each_table([&]<class T>(T*) {
        const auto& m = std::get<table_copy<T>>(c);
        INFO("table " << T::name);
        REQUIRE(q.template count<T>() == m.size());
        for (const auto& entry : m) {
            const auto& k = entry.first;  // not a structured binding: clang 14 cannot capture those
            const auto& row = entry.second;
            const auto* stored = std::apply([&](const auto&... ks) { return q.template find<T>(ks...); },
                                            [&] {
                                                if constexpr (is_tuple<key_of_t<T>>)
                                                    return k;
                                                else
                                                    return std::make_tuple(k);
                                            }());
            REQUIRE(stored != nullptr);
            REQUIRE(*stored == row);
        }
    });
}

/// Which columns differ between two rows, as the change set's column_set would say.
template <class Row>
std::set<std::string_view> differing(const Row& a, const Row& b) {
    std::set<std::string_view> out;
    rs::for_each_field<Row>([&](const auto& f) {
        if (!(a.*(f.member) == b.*(f.member))) out.insert(f.name);
    });
    return out;
}

template <class Row>
std::set<std::string_view> as_set(const std::vector<std::string_view>& v) {
    return {v.begin(), v.end()};
}

/// Applies one change set to the copy, checking every old value against it.
template <class T>
void replay(const rs::table_changes<T>& t, table_copy<T>& m) {
    using Row = typename T::row_type;
    for (const Row& r : t.erased()) {
        auto it = m.find(key<T>(r));
        REQUIRE(it != m.end());
        REQUIRE(it->second == r);
        m.erase(it);
    }
    for (const auto& u : t.updated()) {
        REQUIRE(key<T>(u.old()) == key<T>(u.row()));
        auto it = m.find(key<T>(u.old()));
        REQUIRE(it != m.end());
        REQUIRE(it->second == u.old());
        const auto cols = differing(u.old(), u.row());
        REQUIRE_FALSE(cols.empty());  // an update that changes nothing is not reported
        REQUIRE(as_set<Row>(u.columns().names()) == cols);
        it->second = u.row();
    }
    for (const Row& r : t.inserted()) REQUIRE(m.emplace(key<T>(r), r).second);
}

struct tracker {
    copy replayed;
    std::size_t full_calls = 0;
    std::size_t commits_with_changes = 0;

    // What the narrower subscriptions must receive, worked out by the
    // store-wide subscriber (called first: subscribers run in the order
    // they subscribed) from the full change set.
    std::size_t expected_children_calls = 0, children_calls = 0;
    std::size_t expected_row_calls = 0, row_calls = 0;
    std::size_t expected_parent_family_calls = 0, parent_family_calls = 0;
    std::optional<rs::row_change<Parent>> row_expect;  // old/row pointers of the watched parent
    std::multiset<std::int64_t> family_added, family_removed, family_changed;
};

}  // namespace cm

TEST_CASE("replaying every change set onto the previous state gives the store, and narrower subscriptions get "
          "exactly their part",
          "[core][changes][model]") {
    using namespace cm;
    const auto seed = Catch::rngSeed();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };

    // Both ways a store lets readers and writers meet: with readers that
    // never wait, every commit is also replayed onto the second copy, and the
    // next transactions write that copy: the model checks the replay too.
    const bool never_wait = GENERATE(false, true);
    INFO("readers_never_wait " << never_wait);
    store db(rs::store_options{.readers_never_wait = never_wait});
    tracker tr;
    const std::int64_t watched_parent = 3;  // a key that comes and goes

    auto full = db.subscribe([&](const rs::changes<store>& c) {
        ++tr.full_calls;
        REQUIRE_FALSE(c.empty());
        // Expectations for the narrower subscriptions, from the full set.
        if (!c.table<children>().empty()) ++tr.expected_children_calls;
        tr.row_expect.reset();
        for (const Parent& p : c.inserted<parents>())
            if (p.id == watched_parent) tr.row_expect.emplace(nullptr, &p, rs::column_set<Parent>{});
        for (const auto& u : c.updated<parents>())
            if (u.row().id == watched_parent) tr.row_expect.emplace(&u.old(), &u.row(), u.columns());
        for (const Parent& p : c.erased<parents>())
            if (p.id == watched_parent) tr.row_expect.emplace(&p, nullptr, rs::column_set<Parent>{});
        if (tr.row_expect) ++tr.expected_row_calls;
        tr.family_added.clear();
        tr.family_removed.clear();
        tr.family_changed.clear();
        for (const Child& ch : c.inserted<children>())
            if (ch.parent_id == watched_parent) tr.family_added.insert(ch.id);
        for (const auto& u : c.updated<children>()) {
            const bool was = u.old().parent_id == watched_parent, is = u.row().parent_id == watched_parent;
            if (was && is) tr.family_changed.insert(u.row().id);
            else if (is) tr.family_added.insert(u.row().id);
            else if (was) tr.family_removed.insert(u.old().id);
        }
        for (const Child& ch : c.erased<children>())
            if (ch.parent_id == watched_parent) tr.family_removed.insert(ch.id);
        if (!tr.family_added.empty() || !tr.family_removed.empty() || !tr.family_changed.empty())
            ++tr.expected_parent_family_calls;
        // The replay itself.
        store::for_each_table([&]<class T>(T*) { replay(c.table<T>(), std::get<table_copy<T>>(tr.replayed)); });
        // The committed state is what c.read() sees.
        REQUIRE(c.read().count<parents>() == std::get<table_copy<parents>>(tr.replayed).size());
    });
    auto on_children = db.subscribe<children>([&](const rs::table_changes<children>& t) {
        ++tr.children_calls;
        REQUIRE_FALSE(t.empty());
    });
    std::optional<rs::subscription> on_row;
    auto on_family = db.subscribe_children<&Child::parent_id>(watched_parent, [&](const rs::children_change<Child>& ch) {
        ++tr.parent_family_calls;
        std::multiset<std::int64_t> added, removed, changed;
        for (const Child& c : ch.added()) added.insert(c.id);
        for (const Child& c : ch.removed()) removed.insert(c.id);
        for (const auto& u : ch.changed()) changed.insert(u.row().id);
        REQUIRE(added == tr.family_added);
        REQUIRE(removed == tr.family_removed);
        REQUIRE(changed == tr.family_changed);
    });

    // Parents are picked among 12 keys, the watched one a third of the time.
    auto some_parent = [&] { return pick(3) == 0 ? watched_parent : static_cast<std::int64_t>(1 + pick(12)); };
    auto any_key = [&](const auto& m) -> std::optional<typename std::decay_t<decltype(m)>::key_type> {
        if (m.empty()) return std::nullopt;
        auto it = m.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(pick(m.size())));
        return it->first;
    };

    const int transactions = 3000;
    for (int step = 0; step < transactions; ++step) {
        auto tx = db.write();
        const auto& P = std::get<table_copy<parents>>(tr.replayed);
        const int ops = 1 + static_cast<int>(pick(6));
        std::optional<rs::savepoint<store>> sp;
        for (int op = 0; op < ops; ++op) {
            try {
                switch (pick(13)) {
                case 0:
                case 1:
                    // The watched parent comes back often after an erase.
                    if (!tx.find<parents>(watched_parent) && pick(2))
                        tx.insert(Parent{watched_parent, "w" + std::to_string(step), 1, ""});
                    else
                        tx.insert(Parent{0, "p" + std::to_string(pick(40)), static_cast<std::int32_t>(pick(5)), ""});
                    break;
                case 2: {
                    const auto parent = any_key(P);
                    if (!parent) break;
                    tx.insert(Child{0, pick(3) == 0 ? watched_parent : *parent,
                                    pick(2) ? std::optional<std::int64_t>(*parent) : std::nullopt,
                                    static_cast<std::int32_t>(pick(4)), "n"});
                    break;
                }
                case 3:
                    if (const auto* p = tx.find<parents>(some_parent()))
                        tx.set<&Parent::bio>(*p, "bio" + std::to_string(pick(3)));
                    break;
                case 4:
                    if (const auto* p = tx.find<parents>(some_parent()))
                        tx.update(*p, [&](Parent& x) { x.score = static_cast<std::int32_t>(pick(5)); });
                    break;
                case 5:
                    if (const auto* c = tx.find<children>(static_cast<std::int64_t>(1 + pick(30))))
                        tx.set<&Child::parent_id>(*c, some_parent());
                    break;
                case 6:
                    if (const auto* c = tx.find<children>(static_cast<std::int64_t>(1 + pick(30))))
                        tx.set<&Child::note>(*c, pick(2) ? "n" : "m");
                    break;
                case 7:
                    if (const auto* p = tx.find<parents>(some_parent())) tx.erase(*p);
                    break;
                case 8:
                    if (const auto* c = tx.find<children>(static_cast<std::int64_t>(1 + pick(30)))) {
                        if (pick(2))
                            tx.insert(Pin{0, c->id});
                        else
                            tx.erase(*c);
                    }
                    break;
                case 9: {
                    if (tx.count<tags>() < 4) tx.insert(Tag{0, "t" + std::to_string(pick(6))});
                    const auto* c = tx.find<children>(static_cast<std::int64_t>(1 + pick(30)));
                    if (!c) break;
                    std::vector<const Tag*> targets;
                    for (const Tag& t : tx.all<tags>())
                        if (pick(2)) targets.push_back(&t);
                    rs::set_links<&ChildTag::child_id, &ChildTag::tag_id>(tx, *c, targets);
                    break;
                }
                case 10:
                    if (const auto* t = tx.find<tags>(static_cast<std::int64_t>(1 + pick(8)))) tx.erase(*t);
                    break;
                case 11: {
                    const std::int64_t f = static_cast<std::int64_t>(1 + pick(10));
                    if (pick(3) == 0 && tx.find<folders>(f)) {
                        tx.erase<folders>(f);
                    } else {
                        const auto* up = tx.find<folders>(f);
                        tx.insert(Folder{0, up ? std::optional<std::int64_t>(up->id) : std::nullopt, "f"});
                    }
                    break;
                }
                case 12:
                    if (!sp)
                        sp.emplace(tx.savepoint());
                    else if (pick(2))
                        sp->rollback(), sp.reset();
                    else
                        sp->release(), sp.reset();
                    break;
                }
            } catch (const rs::constraint_error&) {
                // refused: the store is unchanged, and so must the change set be
            }
        }
        sp.reset();  // an open savepoint rolls back
        if (step == 50) on_row.emplace(db.subscribe(Parent{watched_parent, "", 0, ""},
                                                     [&](const rs::row_change<Parent>& ch) {
                                                         ++tr.row_calls;
                                                         REQUIRE(tr.row_expect);
                                                         REQUIRE(ch.old() == tr.row_expect->old());
                                                         REQUIRE(ch.row() == tr.row_expect->row());
                                                         REQUIRE(ch.columns() == tr.row_expect->columns());
                                                     }));
        const std::size_t calls_before = tr.full_calls;
        const copy before = tr.replayed;
        if (pick(5) == 0) {
            tx.rollback();
            REQUIRE(tr.full_calls == calls_before);
            REQUIRE(tr.replayed == before);
        } else {
            tx.commit();
            if (tr.full_calls != calls_before) ++tr.commits_with_changes;
        }
        if (step < 50) tr.expected_row_calls = 0;  // the row subscription starts at step 50
        check_equal(db, tr.replayed);
        REQUIRE(tr.children_calls == tr.expected_children_calls);
        REQUIRE(tr.parent_family_calls == tr.expected_parent_family_calls);
        REQUIRE(tr.row_calls == tr.expected_row_calls);
    }
    // The run exercised what it is meant to.
    CHECK(tr.commits_with_changes > transactions / 4);
    CHECK(tr.row_calls >= 5);
    CHECK(tr.parent_family_calls >= 5);
}

}  // namespace changes_model_test
