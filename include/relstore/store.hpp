#pragma once
/// @file store.hpp
/// store<Tables...>: the tables of one schema, the relationships between them,
/// and the scopes through which they are read (read()) and written (write()).
///
/// Thread safety: any number of read scopes run at once; a write transaction
/// excludes readers and other writers for its whole life, so a reader never
/// sees a half-applied transaction. Locks are taken once per scope, not per call.
/// A waiting writer goes before read scopes opened after it started waiting,
/// so a stream of readers cannot starve it; a thread that already holds a read
/// scope may open another without waiting (no self-deadlock).

#include <relstore/changes.hpp>
#include <relstore/detail/commit_log.hpp>
#include <relstore/detail/scopes.hpp>
#include <relstore/detail/spec_traits.hpp>
#include <relstore/detail/store_lock.hpp>
#include <relstore/detail/table_state.hpp>
#include <relstore/detail/unforked.hpp>
#include <relstore/error.hpp>
#include <relstore/fwd.hpp>
#include <relstore/schema.hpp>
#include <relstore/schema_info.hpp>
#include <relstore/subscription.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <memory>
#include <cstdint>
#include <mutex>
#include <condition_variable>
#include <exception>
#include <functional>
#include <vector>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

namespace relstore {

/// How a store lets readers and writers meet (store's constructor).
struct store_options {
    /// False (the default): a write transaction excludes read scopes for its
    /// life, and a read scope waits for it; one copy of the data.
    /// True: read scopes never wait for a writer and a writer never waits for
    /// them (left-right: the store keeps two copies; a read scope reads the
    /// last committed one while the transaction writes the other, and each
    /// commit is replayed onto the copy the next transaction writes). Costs
    /// twice the memory of the rows and a replay of each commit's rows; see
    /// docs/concurrency.md.
    bool readers_never_wait = false;
    /// True: what a read scope writes (the store's lock, or the pins of
    /// readers_never_wait) lives in a page a fork() leaves out
    /// (MADV_WIPEONFORK), so a save's fork never makes a scope wait; with a
    /// relstore::reader_thread, whose stack is left out too, a read never
    /// waits for a save at all (docs/concurrency.md, "A reader that a fork
    /// never stops"). The price: a process the application forks (not a
    /// save's child) cannot use this store: a scope or transaction there is
    /// a usage_error. False (the default): a forked child may go on using it.
    bool reads_never_wait_for_fork = false;
};

/// Process-wide, opt-in: whether a table's rows, past its first 2 MiB, go
/// to 2 MiB-aligned mappings advised to be backed by transparent huge pages
/// (false by default). Where the kernel has them: fewer page faults when a
/// table grows or loads, and a fork() for a save that copies one page-table
/// entry per 2 MiB of rows instead of 512 (most of the pause a save imposes
/// on a large store, docs/concurrency.md). A load also reads a snapshot
/// file of 4 MiB or more into huge pages: its rows are decoded in an order
/// that jumps around the file, a TLB miss each on 4 KiB pages (the
/// benchmark's 1.6 M-row load: about 190 ms against 320). Off by default because a huge
/// page fault may compact memory synchronously (the kernel's `defrag`
/// setting), a stall the application should choose. Applies to slabs taken
/// after the call; a table keeps the ones it has.
inline void use_huge_pages(bool on) noexcept { detail::huge_pages_enabled.store(on, std::memory_order_relaxed); }
/// The setting use_huge_pages made (false when it was never called).
[[nodiscard]] inline bool huge_pages_in_use() noexcept {
    return detail::huge_pages_enabled.load(std::memory_order_relaxed);
}

/// The memory of destroyed or emptied tables' rows is kept for the tables
/// that grow or load next (a reload then reuses the old contents' pages
/// instead of faulting in fresh ones), up to as many bytes as the live
/// tables' rows take, so never more than a reload's peak; destroying the
/// last store gives it all back. This gives it back now (to operator
/// delete), for a process that wants its memory or measures it. Returns
/// the bytes given back. Thread-safe.
inline std::size_t release_cached_memory() noexcept { return detail::slab_cache::instance().release(); }
/// The bytes release_cached_memory() would give back now.
[[nodiscard]] inline std::size_t cached_memory_bytes() noexcept {
    return detail::slab_cache::instance().kept_bytes();
}

/// A store: one table of each type listed. Not copyable; reach its data
/// through read() and write().
template <class... Tables>
class store {
    static_assert(sizeof...(Tables) > 0, "relstore: a store needs at least one table");
    static_assert(((detail::count_same<Tables, Tables...> == 1) && ...),
                  "relstore: a table type is listed twice in the store");

public:
    using tables = std::tuple<Tables...>;
    template <class T>
    static constexpr bool has_table = detail::count_same<T, Tables...> == 1;

    /// The table whose row type is Row; fails to compile when no table or
    /// several tables store Row.
    template <class Row>
    using table_of_row =
        std::tuple_element_t<detail::index_in<Row, typename Tables::row_type...>(), std::tuple<Tables...>>;

    explicit store(store_options options = {})
        : mirror_(options.readers_never_wait ? std::make_unique<tables_type>() : nullptr),
          writer_side_(options.readers_never_wait ? 1 : 0),
          marks_(options.reads_never_wait_for_fork) {
        check_schema();
        marks_->in_this_process = scope_marks::here;
    }
    store(const store&) = delete;
    store& operator=(const store&) = delete;
    /// Destroying a store that a transaction or a read scope still uses
    /// (from one of its subscribers or hooks, or while another thread holds
    /// it) cannot throw, and going on would have them use freed memory: it
    /// prints what happened and calls std::terminate.
    ~store() {
        if (writer_.load(std::memory_order_relaxed) != std::thread::id{} || lock_.held() || pinned()) [[unlikely]]
            detail::terminate_usage(
                "relstore: a store was destroyed while a write transaction or a read scope still used it (in one "
                "of its subscribers or before_commit hooks, or with a transaction or scope open on some thread); "
                "end every transaction and scope of a store before destroying it");
        if (attachment_ != nullptr) attachment_->store_destroyed();
    }

    /// Opens a read scope: a shared lock held until the reader is destroyed
    /// (with readers_never_wait, a pin of the last committed copy: no wait).
    /// @throws usage_error when this thread holds the store's write transaction.
    [[nodiscard]] reader<store> read() const { return reader<store>(this); }

    /// Begins a write transaction: the exclusive lock, held until commit,
    /// rollback or destruction; destruction without commit rolls back.
    /// @throws usage_error when this thread already holds the write transaction
    /// or a read scope of this store (either would deadlock).
    [[nodiscard]] transaction<store> write() { return transaction<store>(this); }

    /// The storage of one table, in the copy transactions write. For the
    /// library's own layers; the caller holds the store exclusively (a
    /// read scope reads its own copy: reader::state<T>()).
    template <class T>
    detail::table_state<T>& state() noexcept {
        static_assert(has_table<T>, "relstore: this table is not part of the store");
        return std::get<detail::table_state<T>>(side(writer_side_));
    }
    template <class T>
    const detail::table_state<T>& state() const noexcept {
        static_assert(has_table<T>, "relstore: this table is not part of the store");
        return std::get<detail::table_state<T>>(side(writer_side_));
    }
    /// The storage of one table in copy `s` (0, or 1 with readers_never_wait).
    template <class T>
    const detail::table_state<T>& state(int s) const noexcept {
        static_assert(has_table<T>, "relstore: this table is not part of the store");
        return std::get<detail::table_state<T>>(side(s));
    }

    /// True when read scopes never wait for writers (store_options).
    [[nodiscard]] bool readers_never_wait() const noexcept { return mirror_ != nullptr; }

    /// Swaps the whole contents with another store of the same type, under
    /// both stores' exclusive locks (what an atomic snapshot load ends with).
    /// @throws usage_error when this thread holds a scope on either store
    /// (taking the locks would deadlock), or when either has a journal
    /// (relstore::durable records transactions, not contents replaced whole).
    void swap_contents(store& other) {
        if (this == &other) return;
        for (const store* s : {this, &other}) {
            if (s->held_by_this_thread())
                detail::throw_usage(
                    "relstore: this thread holds a read scope or the transaction of a store whose contents are "
                    "being replaced (e.g. by load); end that scope first (waiting would deadlock)");
        }
        // Both exclusively, in one global order, so that two swaps of the
        // same pair in opposite directions cannot deadlock.
        store* first = std::less<store*>{}(this, &other) ? this : &other;
        store* second = first == this ? &other : this;
        first->lock_exclusive();  // each brought up to date by lock_exclusive
        try {
            second->lock_exclusive();
        } catch (...) {
            first->unlock_exclusive();
            throw;
        }
        const char* refused = refusal(takeover::contents);
        if (!refused) refused = other.refusal(takeover::contents);
        if (refused) {
            second->unlock_exclusive();
            first->unlock_exclusive();
            detail::throw_usage(refused);
        }
        std::swap(writer_tables(), other.writer_tables());
        // An erase plan made before points at rows that are now the other
        // store's (and destroyed with it after a load): stale from here.
        bump_changes();
        other.bump_changes();
        // A store whose readers never wait publishes its new contents and
        // makes its other copy equal to them. The swap has taken effect:
        // a copy that fails (memory) is made again by the next writer's
        // catch-up instead of undoing it.
        for (store* s : {first, second}) {
            if (!s->mirror_) continue;
            s->flip();
            s->drop_replays();
            s->resync_whole_ = true;
            try {
                s->catch_up();
            } catch (...) {  // NOLINT(bugprone-empty-catch): resync_whole_ stays set, the next writer retries
            }
        }
        second->unlock_exclusive();
        first->unlock_exclusive();
    }

    /// Calls fn(const changes<store>&) after every commit that changed
    /// something, on the committing thread, while the committed state is
    /// still what readers see; c.read() reads it. Destroying the returned
    /// token unsubscribes. See README "Change notifications" for the rules
    /// (exceptions, subscribing and unsubscribing from a callback).
    template <class Fn>
        requires std::invocable<Fn&, const changes<store>&>
    [[nodiscard]] subscription subscribe(Fn fn) {
        return listeners_->add(false, std::move(fn));
    }

    /// Calls fn(const table_changes<T>&) after every commit that changed T.
    template <class T, class Fn>
        requires(has_table<T>)
    [[nodiscard]] subscription subscribe(Fn fn) {
        return listeners_->add(false, [fn = std::move(fn)](const changes<store>& c) mutable {
            const auto& t = c.template table<T>();
            if (!t.empty()) fn(t);
        });
    }

    /// Calls fn(const row_change<Row>&) after every commit that inserted,
    /// updated or erased the row with row's key. Costs a scan of the table's
    /// changes per commit that changed the table.
    template <class Row, class Fn>
        requires described_row<Row>
    [[nodiscard]] subscription subscribe(const Row& row, Fn fn) {
        using T = table_of_row<Row>;
        using state = detail::table_state<T>;
        return listeners_->add(false, [key = state::key_of(row), fn = std::move(fn)](const changes<store>& c) mutable {
            const auto& t = c.template table<T>();
            if (t.empty()) return;
            for (const Row& r : t.inserted())
                if (state::key_of(r) == key) return fn(row_change<Row>(nullptr, &r, {}));
            for (const auto& u : t.updated())
                if (state::key_of(u.row()) == key) return fn(row_change<Row>(&u.old(), &u.row(), u.columns()));
            for (const Row& r : t.erased())
                if (state::key_of(r) == key) return fn(row_change<Row>(&r, nullptr, {}));
        });
    }

    /// Calls fn(const children_change<Child>&) after every commit that
    /// changed the set of parent's children along the foreign key FkMembers
    /// (a child added, removed, re-parented, or changed). `parent` is a row
    /// of the referenced table or its key. Costs a scan of the child table's
    /// changes per commit that changed it.
    template <auto... FkMembers, class ParentRow, class Fn>
    [[nodiscard]] subscription subscribe_children(const ParentRow& parent, Fn fn) {
        using Child = table_of_row<typename member_traits<detail::first_of<FkMembers...>>::row_type>;
        using fk = typename detail::fk_spec<Child, detail::column_list<FkMembers...>>::type;
        static_assert(!std::is_void_v<fk>,
                      "relstore: no relationship is declared on these columns; declare a foreign key with "
                      "relstore::references<&Child::column, Parent> in the child table");
        using Parent = detail::parent_of<fk, Child>;
        using parent_key = typename detail::table_state<Parent>::key_type;
        using row_t = typename Child::row_type;
        constexpr bool by_row = std::is_same_v<ParentRow, typename Parent::row_type>;
        static_assert(by_row || detail::value_fits_column<parent_key, ParentRow>(),
                      "relstore: subscribe_children<>() takes a row of the table the foreign key references, or a "
                      "value of that table's key type (converted without narrowing)");
        parent_key key = [&] {
            if constexpr (by_row)
                return detail::table_state<Parent>::key_of(parent);
            else if constexpr (detail::value_fits_column<parent_key, ParentRow>())
                return parent_key(parent);
            else
                return parent_key{};
        }();
        return listeners_->add(false, [key = std::move(key), fn = std::move(fn)](const changes<store>& c) mutable {
            const auto& t = c.template table<Child>();
            if (t.empty()) return;
            using traits = detail::columns_traits<typename fk::columns>;
            const auto child_of = [&](const row_t& r) {
                return !traits::has_null(traits::get(r)) && detail::fk_value_as_parent_key<fk, parent_key>(r) == key;
            };
            children_change<row_t> ch;
            for (const row_t& r : t.inserted())
                if (child_of(r)) ch.added_.push_back(&r);
            for (const auto& u : t.updated()) {
                const bool was = child_of(u.old()), is = child_of(u.row());
                if (was && is)
                    ch.changed_.push_back(u);
                else if (is)
                    ch.added_.push_back(&u.row());
                else if (was)
                    ch.removed_.push_back(&u.old());
            }
            for (const row_t& r : t.erased())
                if (child_of(r)) ch.removed_.push_back(&r);
            if (!ch.empty()) fn(std::as_const(ch));
        });
    }

    /// Calls fn(const changes<store>&) inside every commit that changed
    /// something, before the commit takes effect: an exception from fn
    /// vetoes it (the whole transaction rolls back and commit() throws it).
    template <class Fn>
        requires std::invocable<Fn&, const changes<store>&>
    [[nodiscard]] subscription before_commit(Fn fn) {
        return listeners_->add(true, std::move(fn));
    }

    /// Attaches the journal every commit is written to, or detaches it
    /// (nullptr); waits for the transaction in progress. For relstore::durable.
    void attach_journal(detail::commit_log<store>* log) {
        if (held_by_this_thread())
            detail::throw_usage("relstore: attaching a journal on a thread that holds a scope of the store");
        lock_exclusive();
        if (const char* refused = log ? refusal(takeover::journal) : nullptr) {
            unlock_exclusive();
            detail::throw_usage(refused);
        }
        auto group = finish_pending();  // records already appended are the old journal's to sync
        journal_ = log;
        lock_.unlock();
        wake(group);
    }

    /// For relstore::durable's destructor, which may neither throw nor wait
    /// for its own thread: detaches the journal, or returns false when this
    /// thread keeps every other writer out (it holds the write transaction,
    /// or a read scope's shared lock), so that the exclusive lock would wait
    /// for it. No commit but this thread's own can then reach the journal,
    /// and the caller hands it over with retire_journal().
    bool try_detach_journal() {
        if (writers_kept_out_by_this_thread()) return false;
        with_writers_out([&] { journal_ = nullptr; });
        return true;
    }
    /// For relstore::follower's destructor (see try_detach_journal): the
    /// store takes loads and journals again.
    void unfollow() {
        if (writers_kept_out_by_this_thread())
            followed_ = false;  // refusal() reads it only under the exclusive lock, which this thread keeps out
        else
            with_writers_out([&] { followed_ = false; });
    }
    /// Wakes the waits for the store's lock, for a thread's cancel flag
    /// (detail::wait_cancel) to take effect.
    void wake_waiters() const noexcept { lock_.wake_waiters(); }
    [[noreturn]] static void throw_wait_cancelled() {
        detail::throw_usage("relstore: the wait for the store was cancelled: its durable pair or follower is being "
                            "destroyed");
    }
    /// Keeps the journal attached, owned by the store, until the store's next
    /// exclusive lock (or its end), which detaches it before anything else:
    /// before, destroying a durable on a thread that held a scope aborted.
    void retire_journal(std::unique_ptr<detail::retired_journal> owner) noexcept { retired_ = std::move(owner); }

    /// For relstore::durable and relstore::follower: told if the store is
    /// destroyed first (null: nobody).
    void set_attachment(detail::store_attachment* a) noexcept { attachment_ = a; }

    /// Throws usage_error when a journal is attached or a follower follows
    /// into this store (relstore::durable checks this before it touches a
    /// file; attach_journal checks it again); returns the store.
    store& check_no_journal() {
        if (held_by_this_thread())
            detail::throw_usage("relstore: opening a durable store on a thread that holds a scope of the store");
        lock_exclusive();
        const char* refused = refusal(takeover::journal);
        unlock_exclusive();
        if (refused) detail::throw_usage(refused);
        return *this;
    }

    /// Marks the store as a follower's (relstore::follower), or no longer:
    /// its contents are then replaced only by the follower itself.
    /// @throws usage_error when marking a store that has a journal or a
    /// follower, or on a thread that holds a scope of the store.
    void set_followed(bool on) {
        if (held_by_this_thread())
            detail::throw_usage("relstore: a follower opened or closed on a thread that holds a scope of its store");
        lock_exclusive();
        const char* refused = on ? refusal(takeover::follower) : nullptr;
        if (!refused) followed_ = on;
        unlock_exclusive();
        if (refused) detail::throw_usage(refused);
    }

    /// Calls f((Table*)nullptr) for every table, in declaration order.
    template <class F>
    static constexpr void for_each_table(F&& f) {
        (f(static_cast<Tables*>(nullptr)), ...);
    }

private:
    friend class reader<store>;
    friend class transaction<store>;
    friend class savepoint<store>;
    friend class erase_plan<store>;

    static constexpr void check_schema() {
        for_each_table([]<class T>(T*) {
            detail::for_each_spec<T>([]<class S>(S*) {
                if constexpr (detail::is_fk<S>) {
                    using parent = detail::parent_of<S, T>;
                    static_assert(has_table<parent>,
                                  "relstore: a foreign key references a table that is not part of the store");
                    using parent_key = typename parent::key::columns;
                    static_assert(S::columns::size == parent_key::size,
                                  "relstore: a foreign key must have as many columns as the parent's primary key");
                    static_assert(fk_types_match<typename S::columns, parent_key>(),
                                  "relstore: a foreign key column's type does not match the parent key's type");
                    static_assert(S::action != on_delete::set_null ||
                                      detail::columns_traits<typename S::columns>::nullable,
                                  "relstore: on_delete::set_null needs a std::optional foreign-key column");
                }
            });
        });
    }

    template <class Fk, class Pk>
    static constexpr bool fk_types_match() {
        return []<auto... F, auto... P>(detail::column_list<F...>, detail::column_list<P...>) {
            return (std::is_same_v<detail::unwrap_optional_t<typename member_traits<F>::value_type>,
                                   typename member_traits<P>::value_type> &&
                    ...);
        }(Fk{}, Pk{});
    }

    /// True when the exclusive lock would wait for this thread: it holds the
    /// write transaction, or a read scope's shared lock (a pin, with
    /// readers_never_wait, keeps no writer out).
    bool writers_kept_out_by_this_thread() const {
        return writer_.load(std::memory_order_relaxed) == std::this_thread::get_id() ||
               (!readers_never_wait() && detail::this_thread_scopes().holds(&lock_));
    }
    /// Runs f() with the exclusive lock, after the commits waiting for their
    /// fsync (their records are the journal's to sync). Not lock_exclusive():
    /// its catch-up would wait for this thread's own pins.
    template <class F>
    void with_writers_out(F&& f) {
        check_marks_here();
        lock_.lock();
        auto group = finish_pending();
        f();
        lock_.unlock();
        wake(group);
    }

    /// True when this thread holds a read scope or the write transaction of
    /// this store (read scopes are recorded by the mutex they lock).
    bool held_by_this_thread() const {
        return writer_.load(std::memory_order_relaxed) == std::this_thread::get_id() ||
               detail::this_thread_scopes().holds(&lock_);
    }

    using tables_type = std::tuple<detail::table_state<Tables>...>;
    using marks_type = std::tuple<typename detail::table_state<Tables>::mark...>;
    using pending_type = detail::pending_commit<store, marks_type>;
    using touched_type = std::tuple<std::vector<typename detail::table_state<Tables>::touched_key>...>;

    tables_type& side(int s) noexcept { return s == 0 ? tables_ : *mirror_; }
    const tables_type& side(int s) const noexcept { return s == 0 ? tables_ : *mirror_; }
    tables_type& writer_tables() noexcept { return side(writer_side_); }

    /// Takes the store for a transaction (or a swap): the exclusive lock,
    /// then, when readers never wait, the copy to write brought up to date.
    void lock_exclusive() {
        check_marks_here();
        if (!lock_.lock(detail::wait_cancel)) [[unlikely]]
            throw_wait_cancelled();
        if (retired_) [[unlikely]]
            drop_retired_journal();
        try {
            catch_up();
        } catch (...) {
            unlock_exclusive();  // the catch-up is done again by the next writer
            throw;
        }
    }

    // --- readers_never_wait (left-right) ---------------------------------

    static constexpr std::size_t pin_stripes = 8;
    struct alignas(64) pin_count {
        std::atomic<std::int64_t> n{0};
    };

    static std::size_t my_stripe() noexcept {
        return std::hash<std::thread::id>{}(std::this_thread::get_id()) % pin_stripes;
    }

    /// Pins the copy readers read now; returns it. Never waits: if a commit
    /// flips the copies between the pin and its check, it pins the new one.
    int pin() const noexcept {
        auto& stripe = pins_;
        const std::size_t k = my_stripe();
        for (;;) {
            const int s = active_.load(std::memory_order_seq_cst);
            stripe[static_cast<std::size_t>(s)][k].n.fetch_add(1, std::memory_order_seq_cst);
            if (active_.load(std::memory_order_seq_cst) == s) return s;
            stripe[static_cast<std::size_t>(s)][k].n.fetch_sub(1, std::memory_order_seq_cst);
        }
    }
    void unpin(int s) const noexcept {
        pins_[static_cast<std::size_t>(s)][my_stripe()].n.fetch_sub(1, std::memory_order_release);
    }

    /// True while a read scope pins either copy (readers_never_wait).
    bool pinned() const noexcept {
        std::int64_t n = 0;
        for (const auto& side_pins : pins_)
            for (const auto& p : side_pins) n += p.n.load(std::memory_order_seq_cst);
        return n != 0;
    }

    /// Waits until no read scope reads copy s (only scopes opened before the
    /// last commit can: new ones read the other copy).
    void wait_for_readers(int s) const noexcept {
        for (int spins = 0;; ++spins) {
            std::int64_t n = 0;
            for (const auto& p : pins_[static_cast<std::size_t>(s)]) n += p.n.load(std::memory_order_seq_cst);
            if (n == 0) return;
            if (spins < 64)
                std::this_thread::yield();
            else
                std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    }

    /// Makes the copy transactions wrote the one readers read.
    void flip() noexcept {
        active_.store(writer_side_, std::memory_order_seq_cst);
        writer_side_ = 1 - writer_side_;
    }

    /// Records the keys a commit touched (every undo-log entry since `from`),
    /// to be replayed onto the other copy before it is written next.
    void record_touched(const marks_type& from) {
        auto& rec = replays_.emplace_back(std::move(spare_replay_));
        spare_replay_ = touched_type{};
        store::for_each_table([&]<class T>(T*) {
            std::get<detail::table_state<T>>(writer_tables())
                .logged_keys(std::get<typename detail::table_state<T>::mark>(from),
                             std::get<detail::index_in<T, Tables...>()>(rec));
        });
    }

    /// Forgets the keys replayed, keeping one record's memory for the next
    /// commit while each of its vectors is small beside its table (at most
    /// two bytes per row, or 1 MiB). As with the undo log (table_state::
    /// clear_log), freeing a large block right after the catch-up freed the
    /// erased rows' strings made glibc consolidate every one of them there
    /// and then: half the time of a 100k-row cascade's replay (W7).
    void drop_replays() noexcept {
        if (!replays_.empty()) {
            touched_type& keep = replays_.back();
            store::for_each_table([&]<class T>(T*) {
                auto& keys = std::get<detail::index_in<T, Tables...>()>(keep);
                const std::size_t rows = std::get<detail::table_state<T>>(writer_tables()).rows.size();
                keys.clear();
                if (keys.capacity() * sizeof(keys[0]) > std::max<std::size_t>(std::size_t{1} << 20, 2 * rows))
                    std::remove_reference_t<decltype(keys)>().swap(keys);
            });
            spare_replay_ = std::move(keep);
        }
        replays_.clear();
    }

    /// True when the copy being written changed since the marks `from`.
    bool changed_since(const marks_type& from) const noexcept {
        bool changed = false;
        store::for_each_table([&]<class T>(T*) {
            changed = changed || std::get<detail::table_state<T>>(side(writer_side_)).current_mark().entries !=
                                     std::get<typename detail::table_state<T>::mark>(from).entries;
        });
        return changed;
    }

    /// Whether field i is in `columns`, a bit per field; fields past the
    /// 64th are always in (touched_key keeps 64 bits).
    static constexpr bool in_columns(std::uint64_t columns, std::size_t i) noexcept {
        return i >= 64 || (columns >> i & 1) != 0;
    }

    /// True when the columns in `columns` are equal.
    template <class Row>
    static bool same_columns(const Row& a, const Row& b, std::uint64_t columns) {
        bool same = true;
        std::size_t i = 0;
        relstore::for_each_field<Row>([&](const auto& f) {
            same = same && (!in_columns(columns, i) || a.*(f.member) == b.*(f.member));
            ++i;
        });
        return same;
    }

    /// Brings the copy to write up to date with the one readers read:
    /// waits for the read scopes still on it, then for every key the
    /// commits since touched, makes its row there what readers see. A row in
    /// both copies gets the columns that differ assigned in place (Boost
    /// relinks only the indexes whose key changed: a retitled post stays
    /// where it is in every index, where erasing and inserting it again
    /// walked every index, 92% of a 100k-row commit); rows gone are erased
    /// first, and rows new, or whose change clashed with a unique value
    /// another row still holds, are inserted last, when every other row
    /// holds its final value.
    ///
    /// May throw (memory: a row copied, an index relinked); every step can
    /// be done twice (erasing what is gone, replacing with the same value,
    /// inserting what is absent), so a catch-up that failed part way is
    /// simply done again, whole, by the next writer. Readers never see the
    /// copy being caught up, so a failure costs them nothing.
    void catch_up() {
        if (!mirror_) return;
        if (resync_whole_) {
            wait_for_readers(writer_side_);
            auto& dst = writer_tables();
            const auto& src = side(1 - writer_side_);
            store::for_each_table([&]<class T>(T*) {
                auto& to = std::get<detail::table_state<T>>(dst);
                const auto& from = std::get<detail::table_state<T>>(src);
                to.rows = from.rows;  // strong guarantee: a copy, then a swap
                to.next_key = from.next_key;
            });
            resync_whole_ = false;
            drop_replays();
            return;
        }
        if (replays_.empty()) return;
        wait_for_readers(writer_side_);
        auto& dst = writer_tables();
        const auto& src = side(1 - writer_side_);
        store::for_each_table([&]<class T>(T*) {
            auto& to = std::get<detail::table_state<T>>(dst);
            const auto& from = std::get<detail::table_state<T>>(src);
            auto& to_idx = to.key_index();
            const auto& from_idx = from.key_index();
            constexpr std::size_t t = detail::index_in<T, Tables...>();
            for (const auto& rec : replays_)
                for (const auto& touched : std::get<t>(rec))
                    if (from_idx.find(touched.key) == from_idx.end())
                        if (const auto it = to_idx.find(touched.key); it != to_idx.end()) to_idx.erase(it);
            using row_type = typename T::row_type;
            std::vector<const row_type*> later;
            for (const auto& rec : replays_)
                for (const auto& touched : std::get<t>(rec)) {
                    const auto& k = touched.key;
                    // Not a structured binding: clang 14 cannot capture one.
                    const std::uint64_t columns = touched.columns;
                    const auto it = from_idx.find(k);
                    if (it == from_idx.end()) continue;
                    const auto at = to_idx.find(k);
                    if (at == to_idx.end()) {
                        later.push_back(&*it);
                        continue;
                    }
                    // Only the columns that differ are assigned, in place: a
                    // row changed and changed back costs a comparison, a
                    // string keeps its buffer, and Boost relinks only the
                    // indexes whose key changed. A row that would clash with
                    // a unique value another row still holds is erased by
                    // modify() (as is a row whose assignment throws): it goes
                    // in last. Only the columns the entry may have changed
                    // are compared: a title's update does not read the two
                    // copies' cold contents (W8, 27% of its replay); another
                    // entry of the key brings the others.
                    const row_type& want = *it;
                    if (same_columns<row_type>(*at, want, columns)) continue;
                    const auto assign = [&](row_type& r) {
                        std::size_t i = 0;
                        relstore::for_each_field<row_type>([&](const auto& f) {
                            if (in_columns(columns, i) && !(r.*(f.member) == want.*(f.member)))
                                r.*(f.member) = want.*(f.member);
                            ++i;
                        });
                    };
                    if (detail::same_index_keys<T>(*at, want)) {
                        // Every index keeps the row where it is: no modify(),
                        // whose check walks each hashed foreign key's group
                        // of siblings. A throw part way leaves keys as they
                        // were; the next catch-up assigns the rest.
                        assign(const_cast<row_type&>(*at));
                        continue;
                    }
                    if (!to_idx.modify(at, assign)) later.push_back(&*it);
                }
            for (const auto* row : later) to.rows.insert(*row);  // a key touched twice is inserted once
            to.next_key = from.next_key;
        });
        drop_replays();
    }

    /// The commit takes effect for readers: with readers_never_wait, the
    /// copy just written becomes the one they read.
    void publish(const marks_type& from) {
        if (!mirror_ || !changed_since(from)) return;
        record_touched(from);
        flip();
    }

    /// Releases the exclusive lock, first finishing a group of commits that
    /// wait for their journal records' fsync: whoever holds the lock last
    /// makes the group durable (or rolls it back) before anyone reads it.
    void unlock_exclusive() noexcept {
        auto group = finish_pending();
        lock_.unlock();
        wake(group);
    }

    /// Detaches a journal retire_journal() kept; the caller holds the lock.
    void drop_retired_journal() noexcept {
        auto group = finish_pending();
        journal_ = nullptr;
        wake(group);
        retired_.reset();  // syncs and trims the journal, then lets go of the pair's lock
    }

    /// Makes the waiting group durable (or rolls it back); the caller holds
    /// the lock, and wakes the group's committers once it has let go of it.
    std::vector<pending_type*> finish_pending() noexcept {
        std::vector<pending_type*> group;
        if (!pending_.empty()) {
            group.swap(pending_);
            finish_group(group);
        }
        return group;
    }

    void wake(const std::vector<pending_type*>& group) noexcept {
        if (group.empty()) return;
        {
            std::lock_guard l(pending_mu_);
            for (auto* p : group) p->done = true;
        }
        pending_cv_.notify_all();
    }

    void finish_group(const std::vector<pending_type*>& group) noexcept {
        std::exception_ptr failed;
        try {
            journal_->sync(group.back()->end);
        } catch (...) {
            failed = std::current_exception();
        }
        if (!failed && mirror_) {
            try {
                publish(group.front()->start);
            } catch (...) {
                failed = std::current_exception();
            }
        }
        if (failed) {
            // Every commit of the group rolls back; the journal forgets their records.
            const auto& start = group.front()->start;
            std::apply([&](auto&... st) { std::apply([&](const auto&... mk) { (st.rollback_to(mk), ...); }, start); },
                       writer_tables());
            journal_->discard(group.front()->begin);
            for (auto* p : group) p->result = failed;
        } else {
            // The subscribers run on this thread, which holds the store: to
            // them it is the writer, so that their read(), write(), save or
            // checkpoint is refused as in a commit without a journal, where
            // it waited for this very thread.
            const auto was = writer_.exchange(std::this_thread::get_id(), std::memory_order_relaxed);
            for (auto* p : group) p->result = listeners_->run_after(*p->set);
            writer_.store(was, std::memory_order_relaxed);
        }
        std::apply([](auto&... st) { (st.clear_log(), ...); }, side(mirror_ && !failed ? 1 - writer_side_ : writer_side_));
        bump_changes();
    }

    /// Waits until the group holding p is durable (or rolled back).
    void wait_for_group(const pending_type& p) {
        std::unique_lock l(pending_mu_);
        pending_cv_.wait(l, [&] { return p.done; });
    }

    /// What may take a store over: its contents replaced whole (load,
    /// swap_contents), a journal (relstore::durable), or a follower.
    enum class takeover { contents, journal, follower };

    /// Why this store refuses `what`, or null when it takes it; the caller
    /// holds the lock. The one place the rules of durable pairs and followers
    /// live: a journal records transactions, so it cannot see contents
    /// replaced whole, and a follower's store takes the writer's records only.
    [[nodiscard]] const char* refusal(takeover what) const noexcept {
        switch (what) {
            case takeover::contents:
                return journal_                                      ? journaled_swap_refused
                       : followed_ && !detail::applying_records() ? followed_swap_refused
                                                                    : nullptr;
            case takeover::journal:
                return journal_ ? second_journal_refused : followed_ ? followed_journal_refused : nullptr;
            case takeover::follower:
                return journal_ ? journaled_follow_refused : followed_ ? second_follower_refused : nullptr;
        }
        return nullptr;
    }

    static constexpr const char* journaled_swap_refused =
        "relstore: this store has a journal (relstore::durable), which records transactions, not contents replaced "
        "whole: a load or swap_contents would be lost when the pair is reopened; insert the rows in a transaction, "
        "or destroy the durable object first";
    static constexpr const char* followed_swap_refused =
        "relstore: this store follows a journal (relstore::follower), which applies the writer's records on top of "
        "the contents it loaded: a load or swap_contents would make it diverge; destroy the follower first";
    static constexpr const char* followed_journal_refused =
        "relstore: this store follows a journal (relstore::follower); it cannot also have one (relstore::durable)";
    static constexpr const char* second_journal_refused =
        "relstore: this store has a journal already (another relstore::durable); a store has one durable pair at "
        "a time";
    static constexpr const char* journaled_follow_refused =
        "relstore: this store has a journal (relstore::durable); it cannot also follow one (relstore::follower)";
    static constexpr const char* second_follower_refused =
        "relstore: this store follows a journal already (another relstore::follower); a store has one follower at "
        "a time";

    /// The durable pair or follower attached, if any (see set_attachment).
    detail::store_attachment* attachment_ = nullptr;
    /// A relstore::follower applies records to this store (see set_followed).
    bool followed_ = false;
    tables_type tables_;
    /// The second copy, when readers never wait; null otherwise.
    std::unique_ptr<tables_type> mirror_;
    /// The copy transactions write (0 without a mirror), and the one read
    /// scopes pin. Equal without a mirror.
    int writer_side_ = 0;
    std::atomic<int> active_{0};
    /// What a read scope writes: the lock (default mode) or the pins
    /// (readers_never_wait). With store_options::reads_never_wait_for_fork
    /// in a page a save's fork() does not copy, so that the fork never makes
    /// a scope wait (detail/unforked.hpp); else in the store, as before.
    struct scope_marks {
        /// `here` in the process that made the store; 0 in a child it forked
        /// when the marks are left out of forks (zeroed there). First: each
        /// scope reads it, and here it shares the lock's cache line.
        std::uint64_t in_this_process = 0;
        detail::store_lock lock;
        std::array<std::array<pin_count, pin_stripes>, 2> pins{};
        static constexpr std::uint64_t here = 0x72656c73746f7265;  // "relstore"
    };
    /// Refuses a scope or transaction in a child process that has only the
    /// zeroed marks (store_options::reads_never_wait_for_fork).
    void check_marks_here() const {
        if (marks_->in_this_process != scope_marks::here) [[unlikely]]
            detail::throw_usage(
                "relstore: this store was made with store_options::reads_never_wait_for_fork in the process that "
                "forked this one: its lock is not copied into a child process, so this process cannot read or write "
                "it (load a snapshot into a store of its own)");
    }
    detail::unforked<scope_marks> marks_;
    std::array<std::array<pin_count, pin_stripes>, 2>& pins_ = marks_->pins;
    detail::store_lock& lock_ = marks_->lock;
    /// Keys touched by commits published since the copy to write was last
    /// brought up to date (under the exclusive lock).
    std::vector<touched_type> replays_;
    /// Vectors of the last record replayed, cleared, for the next commit to
    /// fill (see drop_replays).
    touched_type spare_replay_;
    // The copy to write must be made equal to the other one whole (after a
    // swap of contents), not from replays_.
    bool resync_whole_ = false;
    /// Subscribers and before_commit hooks; shared with their tokens, which
    /// may outlive the store.
    std::shared_ptr<detail::listener_registry<store>> listeners_ =
        std::make_shared<detail::listener_registry<store>>();
    /// Counts changes (under the write lock), so that an erase plan can tell
    /// whether the store changed since it was made. Atomic because a
    /// never-waiting reader's plan_erase reads it while the writer moves it.
    /// Each store counts from its own epoch (2^32 apart), so that a plan of a
    /// destroyed store is not taken for one of a new store that happens to
    /// live at the same address and to have made as many changes.
    static std::uint64_t first_change_count() noexcept {
        static std::atomic<std::uint64_t> epochs{0};
        return epochs.fetch_add(1, std::memory_order_relaxed) << 32;
    }
    std::atomic<std::uint64_t> changes_{first_change_count()};
    void bump_changes() noexcept {
        changes_.store(changes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    std::atomic<std::thread::id> writer_{};
    /// What a savepoint of the write transaction shares with other threads:
    /// one may be ended or moved on a thread other than the transaction's
    /// while that thread writes. Such an end cannot roll back there (it
    /// would race with the writes): it records the savepoint's depth, and the
    /// transaction's next write verb, on its thread, rolls back to it and
    /// reports the misuse. The mutex guards the transaction's list of
    /// savepoints, each savepoint's link to it, and abandoned_depth_; a
    /// write verb pays one relaxed load of savepoint_abandoned_.
    std::mutex savepoint_mu_;
    std::atomic<std::size_t> savepoints_live_{0};  // the list's size, read without the mutex to skip it
    std::atomic<bool> savepoint_abandoned_{false};
    std::size_t abandoned_depth_ = static_cast<std::size_t>(-1);
    /// The journal this store's commits are written to, if any (relstore::durable).
    detail::commit_log<store>* journal_ = nullptr;
    /// Owns journal_ after a durable was destroyed on a thread holding a scope (try_detach_journal).
    std::unique_ptr<detail::retired_journal> retired_;
    /// Commits whose journal records wait for one fsync (under the exclusive lock).
    std::vector<pending_type*> pending_;
    std::mutex pending_mu_;
    std::condition_variable pending_cv_;
};

/// The run-time description of a store's schema (what snapshots record).
template <class Store>
schema_info describe() {
    schema_info info;
    Store::for_each_table([&]<class T>(T*) {
        table_info t;
        t.name = std::string(T::name);
        for_each_field<typename T::row_type>([&](const auto& f) {
            using V = typename std::decay_t<decltype(f)>::value_type;
            t.columns.push_back({std::string(f.name), column_type_of<V>});
        });
        t.key = detail::columns_traits<typename T::key::columns>::name_list();
        t.auto_key = T::key::is_auto;
        t.hashed_key = T::key::is_hashed;
        detail::for_each_spec<T>([&]<class S>(S*) {
            using traits = detail::columns_traits<typename S::columns>;
            if constexpr (detail::is_fk<S>) {
                t.foreign_keys.push_back({traits::name_list(), std::string(detail::parent_of<S, T>::name), S::action,
                                          S::is_unique, S::is_acyclic});
            } else if constexpr (std::is_same_v<typename S::spec_kind, detail::index_tag>) {
                index_kind k = S::is_hashed ? (S::is_unique ? index_kind::hashed_unique : index_kind::hashed)
                                         : (S::is_unique ? index_kind::ordered_unique : index_kind::ordered);
                t.indexes.push_back({k, traits::name_list()});
            }
        });
        info.tables.push_back(std::move(t));
    });
    return info;
}

}  // namespace relstore

// A store is used through its scopes: including the store brings them.
#include <relstore/reader.hpp>
#include <relstore/transaction.hpp>
