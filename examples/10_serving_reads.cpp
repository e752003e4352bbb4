// Serving reads that never wait: a store that keeps two copies (a writer
// never holds up a reader), its lock left out of forks, and a
// relstore::reader_thread answering lookups while the application commits
// and saves snapshots (each save forks a child; the reader goes on).
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <atomic>
#include <iostream>
#include <string>
#include <thread>

namespace rs = relstore;

struct User { std::int64_t id{}; std::string name; std::int64_t visits{}; };
RELSTORE_FIELDS(User, id, name, visits)
using users = rs::table<"users", User, rs::auto_key<&User::id>, rs::unique<&User::name>>;
using site = rs::store<users>;

int main() {
    site db(rs::store_options{.readers_never_wait = true, .reads_never_wait_for_fork = true});
    {
        auto tx = db.write();
        for (const char* name : {"Naruto Uzumaki", "Kakashi Hatake", "Sakura Haruno"}) tx.insert(User{.name = name});
        tx.commit();
    }

    std::atomic<bool> serving{true}, started{false};
    std::atomic<long> answered{0}, missing{0};
    rs::reader_thread server([&] {
        long here = 0, lost = 0;  // written here, on the thread's own stack
        while (serving.load(std::memory_order_relaxed)) {
            auto q = db.read();  // the last commit, at once
            if (q.find<&User::name>("Kakashi Hatake") == nullptr) ++lost;
            if (++here == 1) started = true;
        }
        answered = here;
        missing = lost;
    });

    while (!started) std::this_thread::yield();
    for (int round = 1; round <= 3; ++round) {
        {
            auto tx = db.write();
            tx.set<&User::visits>(tx.get<users>(2), round * 10);
            tx.commit();
        }
        rs::save(db, "serving.snap");  // a forked child writes it; nobody waits
    }
    serving = false;
    server.join();
    std::cout << "The server answered every lookup: " << (answered > 0 && missing == 0 ? "yes" : "no") << '\n';

    // The reader_thread's stack is not in a fork's child: saving from it in
    // a child process is refused, in this process it works.
    rs::reader_thread([&] {
        try {
            rs::save(db, "serving.snap");
        } catch (const rs::usage_error& e) {
            std::cout << "From the reader_thread: " << e.what() << '\n';
        }
        rs::save(db, "serving.snap", rs::save_options{.in_child_process = false});
    }).join();

    site back;
    rs::load(back, "serving.snap");
    std::cout << "Kakashi Hatake's visits in the snapshot: " << back.read().get<users>(2).visits << '\n';
}
