// take(), drop() and reverse() misused: reversing rows that come in no order
// (a hashed index, a scan over a hashed key, links through a hashed foreign
// key) and counts that are not integers. One compiler run checks them all;
// control.cpp has the correct uses. Each sentence must appear, and each kind
// of range must have been refused (the compiler names the instantiation; the
// patterns read g++'s and clang's wording):
// expect: relstore: reverse\(\) needs rows in index order
// expect: relstore::rows<(It, Sentinel>::reverse\(\) const .with It = )?[a-z_:]*walk_iterator<[a-z_:]*hashed_index_iterator
// expect: relstore::filtered_rows<(It, Pred>::reverse\(\) const .with It = )?[a-z_:]*walk_iterator<[a-z_:]*hashed_index_iterator
// expect: relstore::mapped_rows<(It, Fn>::reverse\(\) const .with It = )?[a-z_:]*walk_iterator<[a-z_:]*hashed_index_iterator
// expect: relstore: take\(n\) and drop\(n\) count rows: give an integer
// expect: row_count(<double>|\(N, const char\*\) .with N = double)
// expect: row_count(<bool>|\(N, const char\*\) .with N = bool)
// take(), drop() and reverse() of a range whose temporary read scope it
// holds: the range they make would not hold it.
// expect: relstore: take\(\) of a range read from a temporary read scope
// expect: relstore: drop\(\) of a range read from a temporary read scope
// expect: relstore: reverse\(\) of a range read from a temporary read scope
// A write transaction moved into a read scope (a slice), which would read
// without a lock once the transaction ended:
// expect: relstore: a write transaction cannot become a read scope
#include "schema.hpp"

struct Badge {
    std::int64_t id{};
    std::int64_t owner_id{};
};
RELSTORE_FIELDS(Badge, id, owner_id)
using badges = relstore::table<"badges", Badge, relstore::hashed_auto_key<&Badge::id>,
                               relstore::hashed_references<&Badge::owner_id, users>>;
struct Pin {
    std::int64_t user_id{};
    std::int64_t badge_id{};
};
RELSTORE_FIELDS(Pin, user_id, badge_id)
using pins = relstore::table<"pins", Pin, relstore::primary_key<&Pin::user_id, &Pin::badge_id>,
                             relstore::hashed_references<&Pin::user_id, users>,
                             relstore::references<&Pin::badge_id, badges>>;
using store = relstore::store<users, badges, pins>;

int misuse(store& db) {
    auto q = db.read();
    const User& u = q.get<users>(1);
    std::size_t n = 0;
    n += q.where<&User::name>("ann").reverse().count();                          // a hashed unique index
    n += q.scan<badges>([](const Badge&) { return true; }).reverse().count();   // a hashed key
    n += q.linked<&Pin::user_id, &Pin::badge_id>(u).reverse().count();          // a hashed foreign key
    n += q.order_by<&User::age>().take(2.5).count();                            // 2.5 rows
    n += q.order_by<&User::age>().drop(true).count();                           // a bool is no count
    n += db.read().order_by<&User::age>().take(2).count();  // chained on a temporary scope's range
    n += db.read().all<users>().drop(1).count();
    n += db.read().order_by<&User::age>().reverse().count();
    return static_cast<int>(n);
}

int sliced(store& db) {
    auto tx = db.write();
    relstore::reader<store> scope(std::move(tx));
    return static_cast<int>(scope.count<users>());
}
