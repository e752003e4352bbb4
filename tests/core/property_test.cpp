// A property test: thousands of random transactions (inserts, updates,
// erases with cascades, set-null and restrict, insert_many, clears,
// savepoints, nested(), commits, rollbacks), many of which break a
// constraint, run against the store and against a plain reference model (a
// std::map per table). After every step both must agree on every row, on the
// next auto key, and every index must find every row.
//
// Reproducible: the base seed is Catch's (--rng-seed N); a failure prints
// the seed of the failing store and the operations that led to it.
#include "store_image.hpp"

#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace property_test {

namespace prop {

struct Parent {
    std::int64_t id{};
    std::string name;
    std::optional<std::int32_t> code;
    std::int32_t score{};
    std::string bio;  // no index: set<&Parent::bio> logs only this column
    friend bool operator==(const Parent&, const Parent&) = default;
};
RELSTORE_FIELDS(Parent, id, name, code, score, bio)

struct Child {
    std::int64_t id{};
    std::int64_t parent_id{};
    std::optional<std::int64_t> buddy_id;
    std::int32_t slot{};
    std::string tag;
    friend bool operator==(const Child&, const Child&) = default;
};
RELSTORE_FIELDS(Child, id, parent_id, buddy_id, slot, tag)

struct Pin {
    std::int64_t id{};
    std::int64_t child_id{};
    std::string note;
    friend bool operator==(const Pin&, const Pin&) = default;
};
RELSTORE_FIELDS(Pin, id, child_id, note)

namespace rs = relstore;
using parents = rs::table<"parents", Parent, rs::auto_key<&Parent::id>, rs::unique<&Parent::name>,
                          rs::ordered_unique<&Parent::code>, rs::ordered<&Parent::score>>;
using children = rs::table<"children", Child, rs::auto_key<&Child::id>,
                           rs::references<&Child::parent_id, parents, rs::on_delete::cascade>,
                           rs::references<&Child::buddy_id, parents, rs::on_delete::set_null>,
                           rs::unique<&Child::parent_id, &Child::slot>, rs::index<&Child::tag>>;
using pins = rs::table<"pins", Pin, rs::hashed_auto_key<&Pin::id>,
                       rs::references<&Pin::child_id, children, rs::on_delete::restrict>, rs::ordered<&Pin::note>>;
using store = rs::store<parents, children, pins>;
using transaction = rs::transaction<store>;

/// The reference model: what the store must contain.
struct model {
    std::map<std::int64_t, Parent> parents;
    std::map<std::int64_t, Child> children;
    std::map<std::int64_t, Pin> pins;
    std::int64_t next_parent = 1;
    std::int64_t next_child = 1;
    std::int64_t next_pin = 1;
};

using errc = rs::errc;
using violations = std::set<errc>;

violations check_parent(const model& m, const Parent& p, bool is_insert) {
    violations v;
    if (is_insert && m.parents.count(p.id)) v.insert(errc::duplicate_key);
    for (const auto& [id, q] : m.parents) {
        if (!is_insert && id == p.id) continue;  // an update does not clash with itself
        if (q.name == p.name) v.insert(errc::unique_violation);
        if (p.code && q.code == p.code) v.insert(errc::unique_violation);
    }
    return v;
}

violations check_child(const model& m, const Child& c, bool is_insert) {
    violations v;
    if (is_insert && m.children.count(c.id)) v.insert(errc::duplicate_key);
    if (!m.parents.count(c.parent_id)) v.insert(errc::foreign_key_violation);
    if (c.buddy_id && !m.parents.count(*c.buddy_id)) v.insert(errc::foreign_key_violation);
    for (const auto& [id, o] : m.children)
        if ((is_insert || id != c.id) && o.parent_id == c.parent_id && o.slot == c.slot) v.insert(errc::unique_violation);
    return v;
}

violations check_pin(const model& m, const Pin& p) {
    violations v;
    if (m.pins.count(p.id)) v.insert(errc::duplicate_key);
    if (!m.children.count(p.child_id)) v.insert(errc::foreign_key_violation);
    return v;
}

template <class Row>
std::int64_t assign_key(Row& row, std::int64_t next) {
    if (row.id == 0) row.id = next;
    return row.id;
}

/// Erasing parents (with cascade to children, set-null of buddies, restrict by
/// pins) or children (restrict by pins). Returns the rows erased, or nullopt
/// when a pin blocks it.
std::optional<std::size_t> erase_in_model(model& m, const std::vector<std::int64_t>& parent_ids,
                                          const std::vector<std::int64_t>& child_ids) {
    std::set<std::int64_t> gone_parents(parent_ids.begin(), parent_ids.end());
    std::set<std::int64_t> gone_children(child_ids.begin(), child_ids.end());
    for (const auto& [id, c] : m.children)
        if (gone_parents.count(c.parent_id)) gone_children.insert(id);
    for (const auto& [id, p] : m.pins)
        if (gone_children.count(p.child_id)) return std::nullopt;
    for (auto id : gone_children) m.children.erase(id);
    for (auto id : gone_parents) m.parents.erase(id);
    for (auto& [id, c] : m.children)
        if (c.buddy_id && gone_parents.count(*c.buddy_id)) c.buddy_id.reset();
    return gone_parents.size() + gone_children.size();
}

/// Everything wrong between the store (as tx sees it) and the model, or "".
/// Deep: also look every row up through every index (slower).
std::string compare(const transaction& tx, const model& m, bool deep) {
    std::ostringstream os;
    // Rows are compared as values, and rendered only to explain a difference.
    auto same_rows = [&](const char* what, const auto& stored, const auto& map) {
        std::size_t n = 0;
        for (const auto& r : stored) {
            ++n;
            auto it = map.find(r.id);
            if (it == map.end() || !(it->second == r)) {
                os << what << ": stored " << relstore_test::render(r) << " is not in the model\n";
                return;
            }
        }
        if (n != map.size()) os << what << ": " << n << " rows stored, " << map.size() << " in the model\n";
    };
    auto expect = [&](const char* what, const auto& a, const auto& b) {
        if (a != b) os << what << " differs\n";
    };
    same_rows("parents", tx.all<parents>(), m.parents);
    same_rows("children", tx.all<children>(), m.children);
    same_rows("pins", tx.all<pins>(), m.pins);
    {
        // An ordered key walks in key order.
        std::vector<std::int64_t> stored, expected;
        for (const Child& c : tx.all<children>()) stored.push_back(c.id);
        for (const auto& [id, c] : m.children) expected.push_back(id);
        expect("children in key order", stored, expected);
    }
    const auto& db = tx.store_ref();
    expect("next parent key", db.state<parents>().next_key, m.next_parent);
    expect("next child key", db.state<children>().next_key, m.next_child);
    expect("next pin key", db.state<pins>().next_key, m.next_pin);

    // Ordered indexes walk in (value, key) order.
    std::vector<std::pair<std::int32_t, std::int64_t>> by_score;
    for (const auto& [id, p] : m.parents) by_score.emplace_back(p.score, id);
    std::sort(by_score.begin(), by_score.end());
    std::vector<std::pair<std::int32_t, std::int64_t>> stored_score;
    for (const Parent& p : tx.order_by<&Parent::score>()) stored_score.emplace_back(p.score, p.id);
    expect("parents by score", stored_score, by_score);
    std::vector<std::pair<std::optional<std::int32_t>, std::int64_t>> by_code, stored_code;
    for (const auto& [id, p] : m.parents) by_code.emplace_back(p.code, id);
    std::sort(by_code.begin(), by_code.end());
    for (const Parent& p : tx.order_by<&Parent::code>()) stored_code.emplace_back(p.code, p.id);
    expect("parents by code", stored_code, by_code);
    for (const auto& [pid, p] : m.parents) {
        std::vector<std::int64_t> kids, stored_kids;
        for (const auto& [cid, c] : m.children)
            if (c.parent_id == pid) kids.push_back(cid);
        for (const Child& c : tx.where<&Child::parent_id>(pid)) stored_kids.push_back(c.id);
        expect("children of a parent", stored_kids, kids);
        if (tx.find<&Parent::name>(p.name) != &tx.get<parents>(pid)) os << "find by name fails\n";
    }
    if (deep) os << relstore_test::check_consistent(relstore_test::capture(tx));
    return os.str();
}

class runner {
public:
    explicit runner(std::uint64_t seed) : rng_(seed) {}

    /// Runs `transactions` random transactions; "" or what went wrong.
    std::string run(int transactions) {
        for (int t = 0; t < transactions; ++t) {
            begin();
            const int ops = pick(1, 16);
            for (int i = 0; i < ops && tx_; ++i) {
                if (auto problem = step(); !problem.empty()) return problem;
                if (!tx_) break;  // the step ended the transaction
                if (auto problem = compare(*tx_, m_, i % 8 == 7); !problem.empty())
                    return "after " + log_.back() + ": " + problem;
            }
            if (tx_) end_transaction(pick(0, 2));
            auto q = db_.write();  // compare the committed state
            if (auto problem = compare(q, m_, true); !problem.empty())
                return "after the transaction ended: " + problem;
            q.rollback();
        }
        return "";
    }

    std::string recent_log() const {
        std::string out;
        const std::size_t from = log_.size() > 40 ? log_.size() - 40 : 0;
        for (std::size_t i = from; i < log_.size(); ++i) out += "  " + log_[i] + "\n";
        return out;
    }

    std::size_t operations() const { return log_.size(); }
    std::size_t refusals() const { return refusals_; }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(int percent) { return pick(1, 100) <= percent; }

    void begin() {
        tx_.emplace(db_.write());
        committed_ = m_;
        log_.push_back("begin");
    }

    /// Ends the transaction: 0 commit, 1 rollback, 2 destruction. Open
    /// savepoints are dropped after a commit or rollback (they have ended),
    /// and before a destruction (which they must not outlive).
    void end_transaction(int how) {
        if (how == 0) {
            tx_->commit();
            committed_ = m_;
            log_.push_back("commit");
        } else if (how == 1) {
            tx_->rollback();
            log_.push_back("rollback");
        } else {
            log_.push_back("drop the transaction");
        }
        savepoints_.clear();
        if (how != 0) m_ = committed_;
        tx_.reset();
    }

    Parent random_parent() {
        Parent p;
        if (chance(10)) p.id = pick(1, static_cast<int>(m_.next_parent) + 1);
        p.name = "p" + std::to_string(pick(0, 11));
        if (chance(50)) p.code = pick(0, 7);
        p.score = pick(0, 4);
        // Sometimes too long for the small-string buffer, so that undo moves heap text.
        p.bio = std::string(static_cast<std::size_t>(pick(0, 2)) * 12, static_cast<char>('k' + pick(0, 2)));
        return p;
    }
    Child random_child() {
        Child c;
        if (chance(10)) c.id = pick(1, static_cast<int>(m_.next_child) + 1);
        c.parent_id = pick(1, static_cast<int>(m_.next_parent));
        if (chance(50)) c.buddy_id = pick(1, static_cast<int>(m_.next_parent));
        c.slot = pick(0, 2);
        c.tag = std::string(1, static_cast<char>('a' + pick(0, 2)));
        return c;
    }
    Pin random_pin() {
        Pin p;
        if (chance(10)) p.id = pick(1, static_cast<int>(m_.next_pin) + 1);
        p.child_id = pick(1, static_cast<int>(m_.next_child));
        p.note = std::string(1, static_cast<char>('x' + pick(0, 2)));
        return p;
    }
    template <class Map>
    std::optional<std::int64_t> random_key(const Map& map) {
        if (map.empty()) return std::nullopt;
        auto it = map.begin();
        std::advance(it, pick(0, static_cast<int>(map.size()) - 1));
        return it->first;
    }

    /// Runs call; the model says whether it must be refused (and with which
    /// codes). On success, applies `apply` to the model.
    template <class Call, class Apply>
    std::string expect(const std::string& what, const violations& v, Call&& call, Apply&& apply) {
        log_.push_back(what + (v.empty() ? "" : " (refused)"));
        try {
            call();
        } catch (const rs::constraint_error& e) {
            if (v.empty()) return what + ": unexpected " + e.what();
            if (!v.count(static_cast<errc>(e.code().value()))) return what + ": wrong error " + e.what();
            ++refusals_;
            return "";
        } catch (const std::exception& e) {
            return what + ": " + e.what();
        }
        if (!v.empty()) return what + ": was accepted, the model refuses it";
        apply();
        return "";
    }

    std::string step() {
        auto& tx = *tx_;
        const int dice = pick(0, 99);
        if (dice < 14) {
            Parent p = random_parent();
            assign_key(p, m_.next_parent);
            auto v = check_parent(m_, p, true);
            Parent arg = p;
            if (arg.id == m_.next_parent && !chance(50)) arg.id = 0;  // sometimes let the store assign it
            return expect("insert " + relstore_test::render(arg), v,
                          [&] {
                              if (tx.insert(arg).id != p.id) throw std::logic_error("wrong key assigned");
                          },
                          [&] {
                              m_.parents[p.id] = p;
                              m_.next_parent = std::max(m_.next_parent, p.id + 1);
                          });
        }
        if (dice < 30) {
            Child c = random_child();
            assign_key(c, m_.next_child);
            auto v = check_child(m_, c, true);
            return expect("insert " + relstore_test::render(c), v, [&] { tx.insert(c); },
                          [&] {
                              m_.children[c.id] = c;
                              m_.next_child = std::max(m_.next_child, c.id + 1);
                          });
        }
        if (dice < 37) {
            Pin p = random_pin();
            assign_key(p, m_.next_pin);
            auto v = check_pin(m_, p);
            return expect("insert " + relstore_test::render(p), v, [&] { tx.insert(p); },
                          [&] {
                              m_.pins[p.id] = p;
                              m_.next_pin = std::max(m_.next_pin, p.id + 1);
                          });
        }
        if (dice < 47) {
            auto id = random_key(m_.parents);
            if (!id) return "";
            Parent p = random_parent();
            p.id = *id;
            if (chance(40)) {
                // One column through set(): bio is logged alone, score goes
                // through update() because an index covers it.
                Parent after = m_.parents.at(*id);
                const bool bio = chance(50);
                if (bio)
                    after.bio = p.bio;
                else
                    after.score = p.score;
                return expect("set parent " + std::to_string(*id) + (bio ? " bio to " + p.bio : " score"), violations{},
                              [&] {
                                  const Parent& row = tx.get<parents>(*id);
                                  if (bio)
                                      tx.set<&Parent::bio>(row, p.bio);
                                  else
                                      tx.set<&Parent::score>(row, p.score);
                              },
                              [&] { m_.parents[*id] = after; });
            }
            const bool change_key = chance(5);
            auto v = change_key ? violations{errc::key_changed} : check_parent(m_, p, false);
            return expect("update parent to " + relstore_test::render(p) + (change_key ? " with a new key" : ""), v,
                          [&] {
                              tx.update(tx.get<parents>(*id), [&](Parent& row) {
                                  row = p;
                                  if (change_key) row.id += 100;
                              });
                          },
                          [&] { m_.parents[p.id] = p; });
        }
        if (dice < 57) {
            auto id = random_key(m_.children);
            if (!id) return "";
            Child c = random_child();
            c.id = *id;
            auto v = check_child(m_, c, false);
            return expect("update child to " + relstore_test::render(c), v,
                          [&] { tx.update<children>(*id, [&](Child& row) { row = c; }); },
                          [&] { m_.children[c.id] = c; });
        }
        if (dice < 63) {
            const std::int64_t id = pick(1, static_cast<int>(m_.next_parent));
            model after = m_;
            auto erased = m_.parents.count(id) ? erase_in_model(after, {id}, {}) : std::optional<std::size_t>(0);
            return expect("erase parent " + std::to_string(id), erased ? violations{} : violations{errc::restrict_violation},
                          [&] {
                              if (tx.erase<parents>(id) != *erased) throw std::logic_error("wrong erase count");
                          },
                          [&] { m_ = after; });
        }
        if (dice < 69) {
            const std::int64_t id = pick(1, static_cast<int>(m_.next_child));
            model after = m_;
            auto erased = m_.children.count(id) ? erase_in_model(after, {}, {id}) : std::optional<std::size_t>(0);
            return expect("erase child " + std::to_string(id), erased ? violations{} : violations{errc::restrict_violation},
                          [&] {
                              if (tx.erase<children>(id) != *erased) throw std::logic_error("wrong erase count");
                          },
                          [&] { m_ = after; });
        }
        if (dice < 73) {
            auto id = random_key(m_.pins);
            if (!id) return "";
            return expect("erase pin " + std::to_string(*id), {}, [&] { tx.erase(tx.get<pins>(*id)); },
                          [&] { m_.pins.erase(*id); });
        }
        if (dice < 77) {
            std::vector<Parent> batch;
            model after = m_;
            violations v;
            for (int i = pick(1, 4); i > 0; --i) {
                Parent p = random_parent();
                p.id = 0;
                batch.push_back(p);
                if (!v.empty()) continue;
                assign_key(p, after.next_parent);
                v = check_parent(after, p, true);
                after.parents[p.id] = p;
                after.next_parent = p.id + 1;
            }
            return expect("insert_many of " + std::to_string(batch.size()) + " parents", v,
                          [&] { tx.insert_many(batch); }, [&] { m_ = after; });
        }
        if (dice < 78) {
            const int which = pick(0, 2);
            model after = m_;
            std::vector<std::int64_t> ps, cs;
            if (which == 0)
                for (const auto& [id, p] : m_.parents) ps.push_back(id);
            if (which == 1)
                for (const auto& [id, c] : m_.children) cs.push_back(id);
            std::optional<std::size_t> erased;
            if (which == 2) {
                erased = after.pins.size();
                after.pins.clear();
            } else {
                erased = erase_in_model(after, ps, cs);
            }
            return expect("clear table " + std::to_string(which), erased ? violations{} : violations{errc::restrict_violation},
                          [&] {
                              const std::size_t n = which == 0   ? tx.clear<parents>()
                                                    : which == 1 ? tx.clear<children>()
                                                                 : tx.clear<pins>();
                              if (n != *erased) throw std::logic_error("wrong clear count");
                          },
                          [&] { m_ = after; });
        }
        if (dice < 80) {
            // An absent key: nothing to erase, nothing to update.
            const std::int64_t id = m_.next_parent + 5;
            log_.push_back("erase and update absent parent " + std::to_string(id));
            if (tx.erase<parents>(id) != 0) return "erasing an absent key erased something";
            try {
                tx.update<parents>(id, [](Parent& p) { p.score = 0; });
                return "updating an absent key did not throw";
            } catch (const rs::not_found_error&) {
            }
            return "";
        }
        if (dice < 86) {
            if (savepoints_.size() >= 4) return "";
            savepoints_.emplace_back(tx.savepoint(), m_);
            log_.push_back("savepoint " + std::to_string(savepoints_.size()));
            return "";
        }
        if (dice < 89) {
            if (savepoints_.empty()) return "";
            const std::size_t level = static_cast<std::size_t>(pick(0, static_cast<int>(savepoints_.size()) - 1));
            savepoints_[level].first.release();
            // The inner ones ended with it.
            while (savepoints_.size() > level) savepoints_.pop_back();
            log_.push_back("release savepoint " + std::to_string(level + 1));
            return "";
        }
        if (dice < 93) {
            if (savepoints_.empty()) return "";
            const std::size_t level = static_cast<std::size_t>(pick(0, static_cast<int>(savepoints_.size()) - 1));
            const bool by_destructor = chance(30);
            model restored = savepoints_[level].second;
            if (!by_destructor) savepoints_[level].first.rollback();
            // Destroying the savepoints from `level` on, innermost first: active
            // ones roll back, ending at the state of `level`.
            while (savepoints_.size() > level) savepoints_.pop_back();
            m_ = std::move(restored);
            log_.push_back(std::string(by_destructor ? "destroy" : "roll back") + " savepoint " +
                           std::to_string(level + 1));
            return "";
        }
        if (dice < 97) {
            // nested(): two inserts; the second is refused half of the time, and
            // then the first is rolled back too.
            Parent a = random_parent();
            a.id = 0;
            Parent b = a;
            if (chance(50)) b.name = a.name + "x";
            b.code.reset();
            model after = m_;
            assign_key(a, after.next_parent);
            violations v = check_parent(after, a, true);
            after.parents[a.id] = a;
            after.next_parent = a.id + 1;
            if (v.empty()) {
                Parent b2 = b;
                assign_key(b2, after.next_parent);
                v = check_parent(after, b2, true);
                after.parents[b2.id] = b2;
                after.next_parent = b2.id + 1;
            }
            return expect("nested insert of " + a.name + " and " + b.name, v,
                          [&] {
                              tx.nested([&] {
                                  tx.insert(a);
                                  tx.insert(b);
                              });
                          },
                          [&] { m_ = after; });
        }
        end_transaction(pick(0, 2));
        return "";
    }

    std::mt19937_64 rng_;
    store db_;
    model m_;
    model committed_;
    std::optional<transaction> tx_;
    std::vector<std::pair<rs::savepoint<store>, model>> savepoints_;
    std::vector<std::string> log_;
    std::size_t refusals_ = 0;
};

}  // namespace prop

TEST_CASE("random transactions agree with a reference model after every step", "[core][transaction][property]") {
    const std::uint64_t base = Catch::rngSeed();
    constexpr int stores = 40;
    constexpr int transactions_per_store = 60;
    std::size_t operations = 0;
    std::size_t refusals = 0;
    for (int s = 0; s < stores; ++s) {
        const std::uint64_t seed = base * 1000 + static_cast<std::uint64_t>(s);
        prop::runner r(seed);
        const std::string problem = r.run(transactions_per_store);
        operations += r.operations();
        refusals += r.refusals();
        if (!problem.empty()) {
            FAIL("store " << s << " (run with --rng-seed " << base << "; runner seed " << seed << "): " << problem
                          << "\nlast operations:\n"
                          << r.recent_log());
        }
    }
    // The mix must exercise the failure paths, not only the happy ones.
    CHECK(operations > 10000);
    CHECK(refusals > 1000);
}

}  // namespace property_test
