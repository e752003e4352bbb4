// A durable cache: every commit is journaled before commit() returns, so a
// process that dies without a checkpoint loses nothing it acknowledged
// (Redis's appendfsync always, SQLite's WAL with synchronous=FULL).
#include <relstore/journal.hpp>
#include <relstore/relstore.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace rs = relstore;

struct Session { std::int64_t id{}; std::string user; std::int64_t hits{}; };
RELSTORE_FIELDS(Session, id, user, hits)
using sessions = rs::table<"sessions", Session, rs::auto_key<&Session::id>, rs::unique<&Session::user>>;
using cache = rs::store<sessions>;

int main() {
    for (const char* f : {"cache.snap", "cache.journal"}) std::filesystem::remove(f);  // a fresh start

    // A child process opens the cache, commits, and dies without a checkpoint
    // or a destructor: a crash.
    if (const pid_t child = fork(); child == 0) {
        cache db;
        rs::durable<cache> d(db, "cache.snap", "cache.journal", {.sync = rs::sync::every_commit});
        {
            auto tx = db.write();
            tx.insert(Session{.user = "naruto"});
            tx.insert(Session{.user = "kakashi"});
            tx.commit();  // durable when it returns
        }
        d.checkpoint();  // a snapshot, and an empty journal after it
        for (int i = 0; i < 3; ++i) {
            auto tx = db.write();
            tx.set<&Session::hits>(tx.get<sessions>(std::int64_t{1}), i + 1);
            tx.commit();
        }
        {
            auto tx = db.write();
            tx.erase<sessions>(std::int64_t{2});
            tx.insert(Session{.user = "sakura", .hits = 7});
            tx.commit();
        }
        std::_Exit(0);  // no checkpoint, no destructor
    } else {
        int status = 0;
        waitpid(child, &status, 0);
    }

    // Reopen: the snapshot, then every journaled commit after it.
    cache db;
    rs::durable<cache> d(db, "cache.snap", "cache.journal");
    std::cout << "Recovered " << d.recovery().transactions_replayed << " commits after the snapshot\n";
    {
        auto q = db.read();
        for (const Session& s : q.all<sessions>()) std::cout << s.id << ' ' << s.user << ": " << s.hits << " hits\n";
    }
    auto tx = db.write();
    const Session& s = tx.insert(Session{.user = "hinata"});
    std::cout << "Next session id: " << s.id << " (keys are never handed out twice)\n";
    tx.commit();
}
