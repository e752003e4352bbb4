// The store's lock: writer preference that keeps a stream of read scopes from
// starving a writer, and phase fairness that keeps a stream of writers from
// starving readers: readers waiting when a writer lets go get in before the
// next writer.
#include <relstore/detail/store_lock.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace {

using relstore::detail::store_lock;

// Waits (at most 10 s, then fails) until pred holds.
template <class Pred>
void eventually(Pred pred) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred()) {
        REQUIRE(std::chrono::steady_clock::now() < until);
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

}  // namespace

TEST_CASE("store_lock: readers waiting when a writer lets go get in before the next writer", "[store_lock]") {
    store_lock lock;
    std::atomic<int> order{0};
    int reader_at = -1, writer_at = -1;
    lock.lock();
    std::thread reader([&] {
        lock.lock_shared(false);
        reader_at = order++;
        lock.unlock_shared();
    });
    eventually([&] { return lock.readers_waiting() == 1; });
    std::thread writer([&] {
        lock.lock();
        writer_at = order++;
        lock.unlock();
    });
    eventually([&] { return lock.writers_waiting() == 1; });
    lock.unlock();
    reader.join();
    writer.join();
    CHECK(reader_at == 0);
    CHECK(writer_at == 1);
}

TEST_CASE("store_lock: a reader arriving while a writer waits waits behind it", "[store_lock]") {
    store_lock lock;
    std::atomic<int> order{0};
    int reader_at = -1, writer_at = -1;
    lock.lock_shared(false);  // a reader holds it
    std::thread writer([&] {
        lock.lock();
        writer_at = order++;
        lock.unlock();
    });
    eventually([&] { return lock.writers_waiting() == 1; });
    std::thread reader([&] {
        lock.lock_shared(false);
        reader_at = order++;
        lock.unlock_shared();
    });
    eventually([&] { return lock.readers_waiting() == 1; });
    lock.unlock_shared();
    writer.join();
    reader.join();
    CHECK(writer_at == 0);
    CHECK(reader_at == 1);
}

TEST_CASE("store_lock: a writer committing back to back lets a waiting reader in every time", "[store_lock]") {
    store_lock lock;
    std::atomic<bool> stop{false};
    std::atomic<int> writes{0};
    std::thread writer([&] {
        while (!stop) {
            lock.lock();
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            ++writes;
            lock.unlock();
        }
    });
    eventually([&] { return writes > 0; });
    // Each read waits for at most the transaction running when it arrived
    // and the one that took the lock meanwhile: never for a whole stream.
    for (int i = 0; i < 50; ++i) {
        const int before = writes.load();
        lock.lock_shared(false);
        const int during = writes.load();
        lock.unlock_shared();
        CHECK(during - before <= 2);
    }
    stop = true;
    writer.join();
}
