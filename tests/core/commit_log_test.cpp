// The seam a journal plugs into (detail::commit_log): a record per commit
// that changed something, written before the commit takes effect; a refused
// record or a failed fsync rolls the commit back; with synchronous records,
// concurrent committers share fsyncs (group commit) and no reader sees a
// commit before its record is durable. Run under ThreadSanitizer too.
#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace commit_log_test {

namespace cl {

struct Counter {
    std::int64_t id{};
    std::int64_t value{};
};
RELSTORE_FIELDS(Counter, id, value)
struct Item {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(Item, id, name)

namespace rs = relstore;
using counters = rs::table<"counters", Counter, rs::primary_key<&Counter::id>>;
using items = rs::table<"items", Item, rs::auto_key<&Item::id>, rs::unique<&Item::name>>;
using store = rs::store<counters, items>;

/// A journal in memory: records are change-set sizes; sync makes a prefix durable.
class fake_log final : public rs::detail::commit_log<store> {
public:
    explicit fake_log(bool synchronous, std::chrono::microseconds sync_time = {})
        : synchronous_(synchronous), sync_time_(sync_time) {}

    std::uint64_t end_position() const noexcept override { return end_; }
    std::uint64_t append(const rs::changes<store>& c) override {
        if (refuse_append) throw std::runtime_error("disk full");
        records.push_back(c.size());
        return end_ = records.size();
    }
    bool synchronous() const noexcept override { return synchronous_; }
    void sync(std::uint64_t upto) override {
        ++syncs;
        if (sync_time_.count()) std::this_thread::sleep_for(sync_time_);
        if (fail_sync) throw std::runtime_error("EIO on fsync");
        durable.store(upto);
    }
    void discard(std::uint64_t from) noexcept override {
        discarded_from = from;
        records.resize(from);
        end_ = from;
    }

    std::vector<std::size_t> records;  // guarded by the store's exclusive lock
    std::atomic<std::uint64_t> durable{0};
    std::atomic<int> syncs{0};
    bool refuse_append = false;
    bool fail_sync = false;
    std::uint64_t discarded_from = ~std::uint64_t{0};

private:
    bool synchronous_;
    std::chrono::microseconds sync_time_;
    std::uint64_t end_ = 0;
};

void seed(store& db) {
    auto tx = db.write();
    tx.insert(Counter{1, 0});
    tx.commit();
}

}  // namespace cl

TEST_CASE("a commit writes one record to the attached journal; a refused record rolls it back",
          "[core][journal-seam]") {
    using namespace cl;
    store db;
    seed(db);
    fake_log log(false);
    db.attach_journal(&log);
    {
        auto tx = db.write();
        tx.insert(Item{0, "a"});
        tx.insert(Item{0, "b"});
        tx.commit();
    }
    { auto tx = db.write(); tx.commit(); }  // changed nothing: no record
    CHECK(log.records == std::vector<std::size_t>{2});
    CHECK(log.syncs == 0);  // not synchronous: nobody waits for a sync

    log.refuse_append = true;
    auto tx = db.write();
    tx.insert(Item{0, "c"});
    CHECK_THROWS_WITH(tx.commit(), "disk full");
    CHECK(db.read().count<items>() == 2);
    CHECK_NOTHROW(db.write());  // the transaction ended and let go of the store
    db.attach_journal(nullptr);
}

TEST_CASE("with synchronous records, commit returns after the sync; a failed sync rolls the commit back",
          "[core][journal-seam]") {
    using namespace cl;
    store db;
    seed(db);
    fake_log log(true);
    db.attach_journal(&log);
    int notified = 0;
    auto sub = db.subscribe([&](const auto&) { ++notified; });
    {
        auto tx = db.write();
        tx.insert(Item{0, "a"});
        tx.commit();
    }
    CHECK(log.durable == 1);
    CHECK(log.syncs == 1);
    CHECK(notified == 1);

    log.fail_sync = true;
    auto tx = db.write();
    tx.insert(Item{0, "b"});
    tx.update<counters>(1, [](Counter& c) { c.value = 7; });
    CHECK_THROWS_WITH(tx.commit(), "EIO on fsync");
    CHECK(log.discarded_from == 1);  // the journal forgets the rolled-back record
    CHECK(notified == 1);            // nobody is told of a commit that did not happen
    {
        auto q = db.read();
        CHECK(q.count<items>() == 1);
        CHECK(q.get<counters>(1).value == 0);
    }
    db.attach_journal(nullptr);
}

TEST_CASE("concurrent synchronous committers share fsyncs, and no reader sees a commit before it is durable",
          "[core][journal-seam][concurrency]") {
    using namespace cl;
    store db;
    seed(db);
    fake_log log(true, std::chrono::microseconds(300));
    db.attach_journal(&log);
    std::atomic<bool> stop{false};
    std::atomic<int> early{0};
    std::atomic<long> reads{0};
    std::thread reader([&] {
        while (!stop) {
            std::int64_t seen = 0;
            {
                auto q = db.read();
                seen = q.get<counters>(1).value;
            }
            // Every commit adds one to the counter and one record: a counter
            // value above the durable records was read before its fsync.
            if (static_cast<std::uint64_t>(seen) > log.durable.load()) ++early;
            ++reads;
        }
    });
    constexpr int writers = 4, each = 40;
    std::atomic<int> not_durable_on_return{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&] {
            for (int i = 0; i < each; ++i) {
                auto tx = db.write();
                const auto& c = tx.get<counters>(1);
                const std::int64_t mine = c.value + 1;
                tx.set<&Counter::value>(c, mine);
                tx.commit();
                if (log.durable.load() < static_cast<std::uint64_t>(mine)) ++not_durable_on_return;
            }
        });
    for (auto& t : threads) t.join();
    stop = true;
    reader.join();
    CHECK(db.read().get<counters>(1).value == writers * each);
    CHECK(log.durable == static_cast<std::uint64_t>(writers * each));
    CHECK(not_durable_on_return == 0);
    CHECK(early == 0);
    INFO("syncs " << log.syncs << " for " << writers * each << " commits, " << reads << " reads");
    CHECK(log.syncs < writers * each);  // some commits shared an fsync
    db.attach_journal(nullptr);
}

TEST_CASE("a failed fsync rolls back every commit of its group, and each committer gets the error",
          "[core][journal-seam][concurrency]") {
    using namespace cl;
    store db;
    seed(db);
    fake_log log(true, std::chrono::microseconds(2000));
    log.fail_sync = true;
    db.attach_journal(&log);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w)
        threads.emplace_back([&, w] {
            try {
                auto tx = db.write();
                tx.insert(Item{0, "w" + std::to_string(w)});
                tx.commit();
            } catch (const std::runtime_error& e) {
                if (std::string(e.what()) == "EIO on fsync") ++failures;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(failures == 4);
    CHECK(db.read().count<items>() == 0);
    CHECK(log.records.empty());
    db.attach_journal(nullptr);
}

}  // namespace commit_log_test
