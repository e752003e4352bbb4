// The store's lock: writer preference that keeps a stream of read scopes from
// starving a writer, and phase fairness that keeps a stream of writers from
// starving readers: readers waiting when a writer lets go get in before the
// next writer.
#include <relstore/detail/store_lock.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace store_lock_test {

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

TEST_CASE("store_lock: a cancelled wait returns without the lock, and the waits behind it go on", "[store_lock]") {
    // What a durable's or follower's destructor does to its thread's wait
    // when the destructor's own thread holds the lock.
    store_lock lock;
    std::atomic<bool> cancel{false};
    SECTION("a writer's wait, behind this thread's shared hold, with a reader waiting behind the writer") {
        lock.lock_shared(false);
        std::atomic<int> writer_got{-1};
        std::atomic<bool> reader_in{false};
        std::thread writer([&] {
            writer_got = lock.lock(&cancel) ? 1 : 0;
            if (writer_got == 1) lock.unlock();
        });
        eventually([&] { return lock.writers_waiting() == 1; });
        std::thread reader([&] {  // no cancel flag: waits behind the writer, then gets in
            lock.lock_shared(false);
            reader_in = true;
            lock.unlock_shared();
        });
        eventually([&] { return lock.readers_waiting() == 1; });
        CHECK_FALSE(reader_in);
        cancel = true;
        lock.wake_waiters();
        writer.join();
        reader.join();
        CHECK(writer_got == 0);
        CHECK(reader_in);
        lock.unlock_shared();
    }
    SECTION("a reader's wait, behind this thread's exclusive hold") {
        lock.lock();
        std::atomic<int> reader_got{-1};
        std::thread reader([&] {
            reader_got = lock.lock_shared(false, &cancel) ? 1 : 0;
            if (reader_got == 1) lock.unlock_shared();
        });
        eventually([&] { return lock.readers_waiting() == 1; });
        cancel = true;
        lock.wake_waiters();
        reader.join();
        CHECK(reader_got == 0);
        lock.unlock();
    }
    CHECK(lock.writers_waiting() == 0);
    CHECK(lock.readers_waiting() == 0);
    CHECK(lock.lock(&cancel));  // a free lock is taken even with the flag set
    lock.unlock();
}

}  // namespace store_lock_test
