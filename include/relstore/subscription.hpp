#pragma once
/// @file subscription.hpp
/// subscription: the token store::subscribe() and store::before_commit()
/// return. Destroying it (or reset()) unsubscribes; a callback of it running
/// on another thread is waited for, so nothing it captured is used after the
/// token is gone. A callback may reset its own token or any other.

#include <relstore/changes.hpp>
#include <relstore/fwd.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace relstore {

namespace detail {

/// One registered callback. `call` is held while it runs, so that a reset on
/// another thread can wait for it; `caller` lets a reset from inside the
/// callback itself not wait (it would wait for itself).
class listener {
public:
    listener() = default;
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;
    virtual ~listener() = default;

    std::atomic<bool> active{true};
    std::mutex call;
    std::atomic<std::thread::id> caller{};
};

class listener_registry_base {
public:
    virtual ~listener_registry_base() = default;
    virtual void remove(const listener* l) noexcept = 0;
};

template <class Store>
class listener_registry;

}  // namespace detail

/// A subscription to a store's commits, or a before_commit hook. Move-only;
/// destroying it unsubscribes.
class subscription {
public:
    subscription() noexcept = default;
    subscription(subscription&& o) noexcept : registry_(std::move(o.registry_)), listener_(std::move(o.listener_)) {}
    subscription& operator=(subscription&& o) noexcept {
        if (this != &o) {
            reset();
            registry_ = std::move(o.registry_);
            listener_ = std::move(o.listener_);
        }
        return *this;
    }
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { reset(); }

    /// Unsubscribes now: the callback is not called for any later commit,
    /// and a call running on another thread has returned when reset() does.
    /// Called from inside the callback itself, it does not wait.
    void reset() noexcept {
        if (!listener_) return;
        listener_->active.store(false);
        if (auto r = registry_.lock()) r->remove(listener_.get());
        if (listener_->caller.load() != std::this_thread::get_id()) {
            std::lock_guard wait_for_call(listener_->call);
        }
        listener_.reset();
        registry_.reset();
    }

    /// True until reset, moved from, or its store is destroyed: while its
    /// callback may still be called.
    [[nodiscard]] bool active() const noexcept { return listener_ != nullptr && !registry_.expired(); }
    explicit operator bool() const noexcept { return active(); }

private:
    template <class>
    friend class detail::listener_registry;
    subscription(std::weak_ptr<detail::listener_registry_base> r, std::shared_ptr<detail::listener> l) noexcept
        : registry_(std::move(r)), listener_(std::move(l)) {}

    std::weak_ptr<detail::listener_registry_base> registry_;
    std::shared_ptr<detail::listener> listener_;
};

namespace detail {

/// The callbacks of one store: subscribers, run after each commit that
/// changed something, and before_commit hooks, run before it.
template <class Store>
class listener_registry final : public listener_registry_base,
                                public std::enable_shared_from_this<listener_registry<Store>> {
public:
    class store_listener : public listener {
    public:
        virtual void on_changes(const changes<Store>& c) = 0;
    };

    template <class Fn>
    class fn_listener final : public store_listener {
    public:
        explicit fn_listener(Fn fn) : fn_(std::move(fn)) {}
        void on_changes(const changes<Store>& c) override { fn_(c); }

    private:
        Fn fn_;
    };

    /// Registers a callback of changes<Store>; it takes part from the next commit on.
    template <class Fn>
    subscription add(bool before, Fn fn) {
        auto l = std::make_shared<fn_listener<Fn>>(std::move(fn));
        {
            std::lock_guard g(mu_);
            (before ? before_ : after_).push_back(l);
            count_.fetch_add(1, std::memory_order_release);
        }
        return subscription(this->weak_from_this(), std::move(l));
    }

    void remove(const listener* l) noexcept override {
        std::lock_guard g(mu_);
        for (auto* list : {&before_, &after_}) {
            const auto n = std::erase_if(*list, [&](const auto& p) { return p.get() == l; });
            count_.fetch_sub(n, std::memory_order_release);
        }
    }

    /// True when some callback is registered: a commit then builds its
    /// change set (and only then: nobody listening costs nothing).
    [[nodiscard]] bool any() const noexcept { return count_.load(std::memory_order_acquire) != 0; }

    /// Runs the before_commit hooks; the first exception stops them and propagates.
    void run_before(const changes<Store>& c) {
        if (!c.has_old_values()) return;  // nobody listened when the commit began
        for (const auto& l : snapshot(before_)) invoke(*l, c);
    }

    /// Runs every subscriber, each once, even when some throw; returns the
    /// first exception (the commit has happened; the caller rethrows it).
    std::exception_ptr run_after(const changes<Store>& c) noexcept {
        std::exception_ptr first;
        if (!c.has_old_values()) return first;  // nobody listened when the commit began
        std::vector<std::shared_ptr<store_listener>> list;
        try {
            list = snapshot(after_);
        } catch (...) {
            return std::current_exception();
        }
        for (const auto& l : list) {
            try {
                invoke(*l, c);
            } catch (...) {
                if (!first) first = std::current_exception();
            }
        }
        return first;
    }

private:
    /// The callbacks registered now: one subscribing from inside a callback
    /// takes part from the next commit, and the lock is not held while they run.
    std::vector<std::shared_ptr<store_listener>> snapshot(const std::vector<std::shared_ptr<store_listener>>& list) {
        std::lock_guard g(mu_);
        return list;
    }

    static void invoke(store_listener& l, const changes<Store>& c) {
        std::lock_guard in_call(l.call);
        if (!l.active.load()) return;  // reset since the snapshot was taken
        l.caller.store(std::this_thread::get_id());
        struct clear_caller {
            listener& l;
            ~clear_caller() { l.caller.store(std::thread::id{}); }
        } clear{l};
        l.on_changes(c);
    }

    std::mutex mu_;
    std::vector<std::shared_ptr<store_listener>> before_;
    std::vector<std::shared_ptr<store_listener>> after_;
    std::atomic<std::size_t> count_{0};
};

}  // namespace detail
}  // namespace relstore
