#pragma once
/// @file journal.hpp
/// Durability between snapshots (opt-in, like snapshot.hpp): a journal of
/// every committed transaction next to a snapshot, replayed on open, and
/// followers that apply another process's journal as a read-only replica.
///
///     relstore::durable<Store> d(db, "cache.snap", "cache.journal", {.sync = relstore::sync::every_commit});
///     { auto tx = db.write(); ...; tx.commit(); }   // durable when commit() returns
///     d.checkpoint();                                // new snapshot, empty journal
///
///     relstore::follower<Store> f(replica, "cache.snap", "cache.journal");  // another process
///
/// A journal record is a commit's change set (the one subscribers see) in
/// the snapshot format's cell encoding, framed with a sequence number, a
/// length and XXH3 checksums; the header names the snapshot the journal
/// follows and the schema. The format, the checkpoint protocol and what each
/// sync policy promises: docs/journal.md.

#include <relstore/changes.hpp>
#include <relstore/detail/journal_file.hpp>
#include <relstore/detail/threads.hpp>
#include <relstore/snapshot.hpp>
#include <relstore/store.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace relstore {

/// When a journal's records reach the disk (Redis's appendfsync).
enum class sync : std::uint8_t {
    every_commit,  ///< fsync before commit() returns; concurrent committers share one fsync
    interval,      ///< a background fsync every durable_options::sync_interval
    none,          ///< no fsync but at checkpoints and close: the operating system decides
};

/// How a durable store writes, checkpoints and recovers.
struct durable_options {
    /// When records reach the disk: what a crash or a power loss can lose.
    relstore::sync sync = sync::every_commit;
    /// The period of the background fsync of sync::interval.
    std::chrono::milliseconds sync_interval{1000};
    /// With sync::every_commit, the journal file is extended this many bytes
    /// at a time ahead of its records (fallocate, or zeros; made durable by
    /// one fsync), so that a commit's record overwrites space whose size and
    /// extents are on disk already and its sync is an fdatasync, which does
    /// not write the inode (docs/journal.md, Preallocation). The unused space
    /// is cut off when the durable store closes. 0: the file grows with each
    /// record and each sync is an fsync. The other policies never preallocate.
    std::uint64_t preallocate = std::uint64_t{4} << 20;
    /// A checkpoint starts in the background once the journal's records take
    /// this many bytes; 0: never for this reason.
    std::uint64_t checkpoint_bytes = std::uint64_t{64} << 20;
    /// Or once they take this multiple of the snapshot's size (and 1 MiB at
    /// least); 0: never for this reason.
    double checkpoint_ratio = 0;
    /// Nice levels below the checkpointing thread that the child writing a
    /// checkpoint's snapshot (and the first snapshot of a fresh pair) runs
    /// at: save_options::child_nice, 0 to 19.
    int checkpoint_child_nice = save_options{}.child_nice;
    /// A record damaged in the middle of the journal (a valid record follows
    /// it) refuses the open; with this set, the open loads every record before
    /// it instead, moves the damaged part to "<journal>.damaged" (or the first
    /// free "<journal>.damaged.N") and cuts it off.
    bool recover_to_last_good = false;
    /// How the snapshot's schema may differ from the program's (the journal's
    /// schema must be the program's).
    load_options load{};
};

/// What opening a durable store or a follower found and did.
struct recovery_report {
    bool snapshot_loaded = false;               ///< a snapshot file was there and loaded
    std::uint64_t transactions_replayed = 0;    ///< journal records applied on top of it
    std::uint64_t rows_replayed = 0;            ///< row changes in those records
    std::uint64_t records_skipped = 0;          ///< records the snapshot already held (an interrupted checkpoint)
    bool checkpoint_completed = false;          ///< an interrupted checkpoint's new journal was written
    std::optional<std::uint64_t> torn_tail_at;  ///< where an interrupted write began (cut off)
    std::uint64_t torn_tail_bytes = 0;
    std::optional<std::uint64_t> damaged_record;  ///< recover_to_last_good: the first damaged record
    std::uint64_t damaged_bytes = 0;              ///< bytes moved to damaged_file
    /// Where those bytes went: "<journal>.damaged", or "<journal>.damaged.1",
    /// ".2", ... when an earlier recovery's damaged part is there (it is kept).
    std::filesystem::path damaged_file;
    load_report snapshot;                         ///< the schema evolution the snapshot's load applied
};

/// How a follower watches the journal.
struct follower_options {
    /// A background thread polls the journal this often; 0: no thread, the
    /// application calls poll().
    std::chrono::milliseconds poll_interval{20};
    load_options load{};
};

namespace detail {

/// The bytes of an update's column mask (bit i: field i of RELSTORE_FIELDS).
template <class Row>
inline constexpr std::size_t column_mask_bytes = (field_count<Row> + 7) / 8;

/// The key columns of T, as a set of fields.
template <class T>
column_set<typename T::row_type> key_fields() {
    column_set<typename T::row_type> out;
    [&]<auto... Ms>(column_list<Ms...>) { (out.insert(field_index_of<Ms>()), ...); }(typename T::key::columns{});
    return out;
}

/// The payload of a transaction record: per table that changed, the keys of
/// the rows erased, the rows updated, the rows inserted, and the auto key
/// counter when the transaction moved it. With column_only (format version
/// 2), an update carries its key and the columns that changed, not the
/// whole row: a one-column update of a wide row costs its column.
template <class Store>
void encode_transaction(record_buffer& buf, const changes<Store>& c, bool column_only = true) {
    buf.clear();
    begin_record(buf);
    buf.put_u8(static_cast<std::uint8_t>(record_kind::transaction));
    const std::size_t count_at = buf.size();
    buf.put_u32(0);
    std::uint32_t tables = 0;
    std::uint32_t index = 0;
    Store::for_each_table([&]<class T>(T*) {
        using Row = typename T::row_type;
        const auto& t = c.template table<T>();
        const std::uint32_t ti = index++;
        bool moved_key = false;
        if constexpr (T::key::is_auto) moved_key = t.next_key().has_value();
        if (t.empty() && !moved_key) return;
        ++tables;
        const auto keys = key_fields<T>();
        // A key never changes in an update (the change set would show an
        // erase and an insert); should one, the whole row goes.
        const bool partial =
            column_only && !t.updated().empty() && std::ranges::none_of(t.updated(), [&](const auto& u) {
                for (std::size_t i = 0; i < field_count<Row>; ++i)
                    if (keys.contains(i) && u.columns().contains(i)) return true;
                return false;
            });
        buf.put_u32(ti);
        buf.put_u8(static_cast<std::uint8_t>((moved_key ? table_flag_next_key : 0) |
                                             (partial ? table_flag_column_only : 0)));
        if constexpr (T::key::is_auto) {
            if (moved_key) buf.put_u64(static_cast<std::uint64_t>(*t.next_key()));
        }
        const auto put_key = [&](const Row& row) {
            [&]<auto... Ms>(column_list<Ms...>) { (put_cell(buf, row.*Ms), ...); }(typename T::key::columns{});
        };
        buf.put_u64(static_cast<std::uint64_t>(std::ranges::distance(t.erased())));
        for (const auto& row : t.erased()) put_key(row);
        buf.put_u64(t.updated().size());
        for (const auto& u : t.updated()) {
            if (!partial) {
                put_row_cells(buf, u.row());
                continue;
            }
            put_key(u.row());
            std::uint8_t mask[column_mask_bytes<Row>] = {};
            for (std::size_t i = 0; i < field_count<Row>; ++i)
                if (u.columns().contains(i)) mask[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
            for (const auto m : mask) buf.put_u8(m);
            std::size_t i = 0;
            for_each_field<Row>([&](const auto& f) {
                if (u.columns().contains(i++)) put_cell(buf, u.row().*(f.member));
            });
        }
        buf.put_u64(static_cast<std::uint64_t>(std::ranges::distance(t.inserted())));
        for (const auto& row : t.inserted()) put_row_cells(buf, row);
    });
    buf.patch_u32(count_at, tables);
}

template <class T>
struct decoded_table_changes {
    using row_type = typename T::row_type;
    using key_type = typename table_state<T>::key_type;
    std::vector<key_type> erased;
    std::vector<row_type> updated;
    std::vector<row_type> inserted;
    std::optional<key_type> next_key;
    /// For a column-only part, the columns each updated row carries (its
    /// other cells are default values, its key cells are set); else empty.
    std::vector<column_set<row_type>> update_columns;
    std::vector<row_type*> relinked;  // updated rows whose indexed columns change: erased, then inserted
    void clear() {
        erased.clear();
        updated.clear();
        update_columns.clear();
        inserted.clear();
        next_key.reset();
        relinked.clear();
    }
};

template <class Tuple>
struct decoded_table_changes_of;
template <class... T>
struct decoded_table_changes_of<std::tuple<T...>> {
    using type = std::tuple<decoded_table_changes<T>...>;
};

/// A transaction record decoded into row types (vectors kept from record to record).
template <class Store>
struct decoded_record {
    typename decoded_table_changes_of<typename Store::tables>::type tables;
    std::size_t rows = 0;
    void clear() {
        std::apply([](auto&... t) { (t.clear(), ...); }, tables);
        rows = 0;
    }
};

/// Decodes a transaction record written for Store's schema.
/// @throws snapshot_error naming the file, record and byte offset.
template <class Store>
void decode_transaction(const record_ref& r, const std::string& name, decoded_record<Store>& out) {
    out.clear();
    const std::string where = "record " + std::to_string(r.number);
    auto cur = row_cursor::over(r.payload.data(), r.payload.data() + r.payload.size(), r.offset + 24, &name, &where);
    try {
        (void)cur.get_u8();
        const auto count = cur.get_u32();
        for (std::uint32_t i = 0; i < count; ++i) {
            const auto at = cur.offset();
            const auto ti = cur.get_u32();
            bool found = false;
            std::uint32_t index = 0;
            Store::for_each_table([&]<class T>(T*) {
                if (index++ != ti) return;
                found = true;
                auto& d = std::get<decoded_table_changes<T>>(out.tables);
                using K = typename table_state<T>::key_type;
                using Row = typename T::row_type;
                const auto flags_at = cur.offset();
                const auto flags = cur.get_u8();
                if ((flags & ~table_flags_known) != 0)
                    throw_journal_error(errc::bad_snapshot, name, r.number, flags_at,
                                        "unknown flags " + std::to_string(flags) + " for table '" +
                                            std::string(T::name) + "'");
                if (flags & table_flag_next_key) {
                    const auto raw = cur.get_u64();
                    if constexpr (T::key::is_auto) d.next_key = static_cast<K>(raw);
                }
                const auto count_of = [&] {
                    const auto n = cur.get_u64();
                    if (n > r.payload.size())  // a row takes a byte at least: checked before allocating
                        throw_journal_error(errc::bad_snapshot, name, r.number, cur.offset() - 8,
                                            "a row count of " + std::to_string(n) + " exceeds the record");
                    out.rows += n;
                    return static_cast<std::size_t>(n);
                };
                d.erased.resize(count_of());
                for (auto& k : d.erased) {
                    if constexpr (is_tuple_v<K>)
                        std::apply([&](auto&... part) { (get_cell(cur, part), ...); }, k);
                    else
                        get_cell(cur, k);
                }
                const auto read_rows = [&](std::vector<Row>& rows) {
                    rows.resize(count_of());
                    for (auto& row : rows) for_each_field<Row>([&](const auto& f) { get_cell(cur, row.*(f.member)); });
                };
                if (flags & table_flag_column_only) {
                    d.updated.resize(count_of());
                    d.update_columns.resize(d.updated.size());
                    const auto keys = key_fields<T>();
                    for (std::size_t u = 0; u < d.updated.size(); ++u) {
                        Row& row = d.updated[u];
                        [&]<auto... Ms>(column_list<Ms...>) { (get_cell(cur, row.*Ms), ...); }(
                            typename T::key::columns{});
                        const auto mask_at = cur.offset();
                        auto& cs = d.update_columns[u];
                        for (std::size_t b = 0; b < column_mask_bytes<Row>; ++b) {
                            const auto m = cur.get_u8();
                            for (std::size_t bit = 0; bit < 8; ++bit) {
                                if (!(m & (1u << bit))) continue;
                                const std::size_t i = b * 8 + bit;
                                if (i >= field_count<Row> || keys.contains(i))
                                    throw_journal_error(errc::bad_snapshot, name, r.number, mask_at,
                                                        "an update of table '" + std::string(T::name) + "' names " +
                                                            (i >= field_count<Row> ? "column " + std::to_string(i) +
                                                                                         " of " + std::to_string(field_count<Row>)
                                                                                   : std::string("a key column")));
                                cs.insert(i);
                            }
                        }
                        if (cs.empty())
                            throw_journal_error(errc::bad_snapshot, name, r.number, mask_at,
                                                "an update of table '" + std::string(T::name) + "' changes no column");
                        std::size_t i = 0;
                        for_each_field<Row>([&](const auto& f) {
                            if (cs.contains(i++)) get_cell(cur, row.*(f.member));
                        });
                    }
                } else {
                    read_rows(d.updated);
                }
                read_rows(d.inserted);
            });
            if (!found)
                throw_journal_error(errc::bad_snapshot, name, r.number, at,
                                    "table index " + std::to_string(ti) + " is not in the schema");
        }
        if (cur.offset() != r.offset + 24 + r.payload.size())
            throw_journal_error(errc::bad_snapshot, name, r.number, cur.offset(),
                                "bytes left over after the record's last row");
    } catch (const snapshot_error& e) {
        if (std::string_view(e.what()).starts_with("journal ")) throw;
        throw_journal_error(errc::bad_snapshot, name, r.number, e.offset(), e.what());
    }
}

/// Why a record does not apply to the store (it was written for other contents).
struct apply_failure {
    std::string message;
};

/// Applies a decoded record inside a transaction, with undo logging (a
/// failure rolls the transaction back) but without the write verbs'
/// constraint checks, in an order that cannot fail on a state the record's
/// commit passed through: everything the record erases or re-indexes is
/// taken out first, then inserted rows and the new values of updated ones go
/// in; an update that changes no indexed column is done in place.
template <class Store>
struct record_applier {
    static void apply(transaction<Store>& tx, decoded_record<Store>& rec) {
        Store* db = tx.mut();
        Store::for_each_table([&]<class T>(T*) {
            auto& d = std::get<decoded_table_changes<T>>(rec.tables);
            auto& st = db->template state<T>();
            const auto& idx = st.key_index();
            for (const auto& k : d.erased) {
                const auto it = idx.find(k);
                if (it == idx.end()) fail<T>(k, "erases");
                tx.template erase_one<T>(*it);
            }
            for (std::size_t u = 0; u < d.updated.size(); ++u) {
                auto& row = d.updated[u];
                const auto it = idx.find(table_state<T>::key_of(row));
                if (it == idx.end()) fail<T>(table_state<T>::key_of(row), "updates");
                if (!d.update_columns.empty()) {
                    // A column-only update: the stored row with the columns it carries.
                    typename T::row_type whole = *it;
                    std::size_t i = 0;
                    for_each_field<typename T::row_type>([&](const auto& f) {
                        if (d.update_columns[u].contains(i++)) whole.*(f.member) = std::move(row.*(f.member));
                    });
                    row = std::move(whole);
                }
                if (same_index_keys<T>(*it, row)) {
                    tx.template replace_logged<T>(*it, std::move(row));
                } else {
                    tx.template erase_one<T>(*it);
                    d.relinked.push_back(&row);
                }
            }
        });
        Store::for_each_table([&]<class T>(T*) {
            auto& d = std::get<decoded_table_changes<T>>(rec.tables);
            auto& st = db->template state<T>();
            const auto put = [&](typename T::row_type& row) {
                st.reserve_log(1);
                // Rows come in the order they were inserted, which for auto
                // keys is key order: the hint at the end links each one there
                // without a descent of the key index. (A hint that does not
                // fit costs a plain insert.) A clash leaves the size as it was.
                const auto before = st.rows.size();
                st.touch_all();
                const auto it = st.rows.insert(st.rows.end(), std::move(row));
                if (st.rows.size() == before)
                    fail<T>(table_state<T>::key_of(row), "inserts a row that clashes with a row of");
                st.log_inserted(*it);
                tx.touch();
            };
            for (auto* row : d.relinked) put(*row);
            for (auto& row : d.inserted) put(row);
            if constexpr (T::key::is_auto) {
                if (d.next_key) st.next_key = *d.next_key;
            }
        });
    }

private:
    template <class T, class K>
    [[noreturn]] static void fail(const K& key, const char* what) {
        using traits = columns_traits<typename T::key::columns>;
        throw apply_failure{std::string("the record ") + what + " " + std::string(T::name) + "." + traits::names() +
                            " = " + display(key) +
                            ", which does not fit the store (the journal was written for other contents)"};
    }
};

/// Applies one transaction record in its own transaction of db.
template <class Store>
void apply_record(Store& db, const record_ref& r, const std::string& name, decoded_record<Store>& rec) {
    decode_transaction<Store>(r, name, rec);
    auto tx = db.write();
    try {
        record_applier<Store>::apply(tx, rec);
    } catch (const apply_failure& f) {
        throw_journal_error(errc::bad_snapshot, name, r.number, r.offset, f.message);
    }
    tx.commit();
}

/// The schema a journal records, checked against the program's.
/// @throws snapshot_error (schema_mismatch) naming the journal and the first table that differs.
inline void check_journal_schema(const journal_header& h, const schema_info& program,
                                 const std::vector<std::byte>& program_image, const std::string& name) {
    if (h.schema == program_image) return;
    std::string which;
    try {
        const snapshot_reader r(h.schema, name);
        const auto& theirs = r.schema().tables;
        for (std::size_t i = 0; i < std::max(theirs.size(), program.tables.size()) && which.empty(); ++i) {
            if (i >= theirs.size())
                which = "table '" + program.tables[i].name + "' is not in the journal's schema";
            else if (i >= program.tables.size())
                which = "the journal's table '" + theirs[i].name + "' is not in the program's schema";
            else if (!(theirs[i] == program.tables[i]))
                which = "table '" + program.tables[i].name + "' differs";
        }
    } catch (const snapshot_error&) {
        which = "its schema image cannot be read";
    }
    throw_journal_error(errc::schema_mismatch, name, std::nullopt, std::nullopt,
                        "the journal was written for another schema (" + which +
                            "); replay it with the program that wrote it, checkpoint, and open the snapshot; "
                            "nothing was loaded");
}

/// What reading a snapshot and its journal gives: the state they hold, and
/// where the journal's good records end.
template <class Store>
struct opened_journal {
    std::unique_ptr<Store> state;
    std::vector<std::byte> bytes;  // the journal: the records' payloads point into it
    snapshot_id snapshot;
    bool journal_exists = false;
    journal_header header;
    record_scan scan;
    std::optional<checkpoint_mark> resumed;  // an interrupted checkpoint: the journal holds the snapshot's mark
    std::uint64_t file_size = 0;
    recovery_report report;
};

/// Reads the snapshot (if any) and the journal (if any), decides where the
/// journal's records start for that snapshot, and replays them into a fresh
/// store. Touches no file. classify: tell a torn tail from damage in the
/// middle (a writer's recovery) rather than stop at the first record that is
/// not complete (a follower).
template <class Store>
opened_journal<Store> open_journal(const std::filesystem::path& snap, const std::filesystem::path& journal,
                                   const load_options& load, bool classify, bool recover_to_last_good) {
    opened_journal<Store> o;
    const std::string jname = journal.string();
    std::optional<snapshot_reader> reader;
    if (std::filesystem::exists(snap)) {
        reader.emplace(snapshot_reader::open_streamed(snap));  // as relstore::load reads it
        o.snapshot = {true, reader->stored_checksum(), reader->size()};
    }
    auto& bytes = o.bytes;
    if (std::filesystem::exists(journal)) {
        o.journal_exists = true;
        bytes = read_journal_file(journal);
        o.file_size = bytes.size();
        o.header = parse_journal_header(bytes, jname);
        const schema_info program = describe<Store>();
        check_journal_schema(o.header, program, schema_image(program), jname);
        o.scan = scan_records(std::span<const std::byte>(bytes).subspan(o.header.size), o.header.size,
                              o.header.first_seq, 1, classify);
        if (o.scan.tail == journal_tail::corrupt && !recover_to_last_good)
            throw_journal_error(errc::checksum_mismatch, jname, o.scan.next_number, o.scan.end,
                                o.scan.problem + "; the record is damaged in the middle of the journal (a valid "
                                                 "record follows it), not torn by a crash; nothing was loaded (to "
                                                 "load the " +
                                    std::to_string(o.scan.next_number - 1) +
                                    " records before it, open with recover_to_last_good)");
    }
    std::size_t first = 0;
    if (o.journal_exists && !(o.header.follows == o.snapshot)) {
        // A checkpoint stopped between the snapshot's rename and the new
        // journal's: the old journal's mark says where the snapshot's state is.
        for (const auto& r : o.scan.records) {
            if (r.kind() != record_kind::checkpoint) continue;
            const auto m = parse_checkpoint(r, jname);
            if (m.snapshot == o.snapshot) o.resumed = m;
        }
        if (!o.resumed)
            throw_journal_error(errc::bad_snapshot, jname, std::nullopt, std::nullopt,
                                "the journal follows " + to_text(o.header.follows) + ", but " +
                                    quoted_name(snap.string()) + " is " +
                                    (o.snapshot.present ? to_text(o.snapshot) : std::string("missing")) +
                                    ": the journal belongs to another snapshot; nothing was loaded");
        while (first < o.scan.records.size() && o.scan.records[first].offset < o.resumed->offset) ++first;
        o.report.records_skipped = first;
    }
    if (reader) {
        o.state = decode_store<Store>(*reader, load, &o.report.snapshot);
        o.report.snapshot_loaded = true;
    } else {
        o.state = std::make_unique<Store>();
    }
    decoded_record<Store> rec;
    for (std::size_t i = first; i < o.scan.records.size(); ++i) {
        const auto& r = o.scan.records[i];
        if (r.kind() != record_kind::transaction) continue;
        apply_record(*o.state, r, jname, rec);
        ++o.report.transactions_replayed;
        o.report.rows_replayed += rec.rows;
    }
    // Zeros after the last record (space allocated ahead) are no tail to report.
    if (o.scan.tail == journal_tail::corrupt) {
        o.report.damaged_record = o.scan.next_number;
        o.report.damaged_bytes = o.file_size - o.scan.end;
    } else if (o.scan.tail == journal_tail::torn) {
        o.report.torn_tail_at = o.scan.end;
        o.report.torn_tail_bytes = o.file_size - o.scan.end;
    }
    return o;
}

/// Writes a store's snapshot to path as relstore::save does (in a child
/// process: nobody waits for the encoding), and calls at_scope() under the
/// read scope the snapshot is taken in: the journal's position for the
/// state the snapshot holds.
template <class Store, class F>
void save_at(const Store& db, const std::filesystem::path& path, F&& at_scope, const save_options& options) {
    std::optional<decltype(db.read())> scope(db.read());
    at_scope();
    save_scope(scope, path, options);
}

/// The journal a durable store's commits are written to (the store's
/// commit_log). append, sync and discard run under the store's exclusive
/// lock; the background fsync of sync::interval and the checkpoint's switch
/// of files take io_mu_ as well.
template <class Store>
class journal_writer final : public commit_log<Store> {
public:
    journal_writer(journal_file file, std::uint64_t next_seq, relstore::sync policy, std::uint64_t header_size,
                   std::uint32_t version)
        : file_(std::move(file)),
          policy_(policy),
          next_seq_(next_seq),
          header_size_(header_size),
          column_only_(version >= 2) {
        written_ = synced_ = file_.end();
    }

    // Positions the store sees are logical: they keep growing across
    // checkpoints, whose new file starts again near 0.
    std::uint64_t end_position() const noexcept override { return file_.end() + shift_; }

    std::uint64_t append(const changes<Store>& c) override {
        refuse_if_broken();
        encode_transaction(buf_, c, column_only_);
        finish_record(buf_, next_seq_);
        const std::uint64_t at = file_.end();
        try {
            file_.append(buf_.bytes());
        } catch (...) {
            if (file_.broken())
                set_broken("a write failed and the record could not be cut off the file again");
            throw;
        }
        if (policy_ == sync::every_commit) unsynced_.push_back({at + shift_, next_seq_});
        ++next_seq_;
        written_.store(file_.end(), std::memory_order_release);
        if (on_grow_ && file_.end() - header_size_ >= grow_trigger_.load(std::memory_order_relaxed)) on_grow_();
        return file_.end() + shift_;
    }

    bool synchronous() const noexcept override { return policy_ == sync::every_commit; }

    void sync(std::uint64_t upto) override {
        if (synced_.load(std::memory_order_acquire) + shift_ >= upto) return;
        std::lock_guard l(io_mu_);
        file_.sync();
        synced_.store(file_.end(), std::memory_order_release);
        unsynced_.clear();
    }

    void discard(std::uint64_t from) noexcept override {
        // The group's commits were rolled back: their records must go, or a
        // recovery (or a follower) would apply commits that never happened.
        std::uint64_t seq = next_seq_;
        for (const auto& u : unsynced_)
            if (u.first >= from) {
                seq = u.second;
                break;
            }
        std::erase_if(unsynced_, [&](const auto& u) { return u.first >= from; });
        std::lock_guard l(io_mu_);
        if (!file_.cut(from - shift_)) {
            set_broken_locked("a failed fsync's records could not be cut off the file");
            return;
        }
        next_seq_ = seq;
        written_.store(file_.end(), std::memory_order_release);
    }

    /// The background fsync of sync::interval; a failure cannot roll back
    /// commits already acknowledged, so it refuses every later one.
    void background_sync() noexcept {
        std::lock_guard l(io_mu_);
        const auto w = written_.load(std::memory_order_acquire);
        if (w <= synced_.load(std::memory_order_acquire) || broken_flag_.load()) return;
        try {
            file_.sync();
            synced_.store(w, std::memory_order_release);
        } catch (const std::exception& e) {
            set_broken_locked(std::string("a background fsync failed (") + e.what() +
                              "); commits since the last good fsync may be lost in a power failure");
        }
    }

    /// Makes everything written durable now (the caller holds the store).
    void sync_now() {
        std::lock_guard l(io_mu_);
        refuse_if_broken_locked();
        file_.sync();
        synced_.store(file_.end(), std::memory_order_release);
        unsynced_.clear();
    }

    /// Appends a checkpoint's mark and makes the journal durable (the caller holds the store).
    void append_mark(const checkpoint_mark& m) {
        refuse_if_broken();
        encode_checkpoint(buf_, m, next_seq_);
        file_.append(buf_.bytes());
        ++next_seq_;
        written_.store(file_.end(), std::memory_order_release);
        sync_now();
    }

    /// Cuts off the space allocated ahead of the records, once everything is
    /// durable (a clean close: the file keeps only its records).
    void trim() noexcept {
        std::lock_guard l(io_mu_);
        if (broken_flag_.load() || file_.allocated() == file_.end()) return;
        (void)file_.cut(file_.end());  // on failure the zeros stay: still a clean end for the next open
    }

    /// Continues in a checkpoint's new journal (the caller holds the store),
    /// where the records from old offset `from` now start at header_size.
    void switch_to(journal_file next, std::uint64_t from, std::uint64_t new_header_size) {
        std::lock_guard l(io_mu_);
        shift_ += from - new_header_size;
        file_ = std::move(next);
        header_size_ = new_header_size;
        column_only_ = true;  // the new journal is this build's version
        written_.store(file_.end(), std::memory_order_release);
        synced_.store(file_.end(), std::memory_order_release);
        unsynced_.clear();
    }

    [[nodiscard]] const journal_file& file() const noexcept { return file_; }
    [[nodiscard]] std::uint64_t next_seq() const noexcept { return next_seq_; }
    [[nodiscard]] std::uint64_t record_bytes() const noexcept { return file_.end() - header_size_; }
    void on_grow(std::function<void()> f) { on_grow_ = std::move(f); }
    void grow_trigger(std::uint64_t bytes) noexcept { grow_trigger_.store(bytes, std::memory_order_relaxed); }

    /// Refuses every later commit (and checkpoint), saying why.
    void refuse_from_now(const std::string& why) noexcept { set_broken(why); }

    void refuse_if_broken() {
        if (!broken_flag_.load(std::memory_order_acquire)) return;
        std::lock_guard l(io_mu_);
        refuse_if_broken_locked();
    }

private:
    void refuse_if_broken_locked() {
        if (broken_flag_.load())
            throw_journal_error(errc::io, file_.name(), std::nullopt, std::nullopt,
                                broken_ + "; the journal refuses further commits: reopen the durable store");
    }
    void set_broken(const std::string& why) noexcept {
        std::lock_guard l(io_mu_);
        set_broken_locked(why);
    }
    void set_broken_locked(const std::string& why) noexcept {
        if (broken_flag_.load()) return;
        try {
            broken_ = why;
        } catch (...) {
        }
        broken_flag_.store(true, std::memory_order_release);
    }

    journal_file file_;
    relstore::sync policy_;
    std::uint64_t next_seq_;
    std::uint64_t header_size_;
    bool column_only_;  // the file's version has column-only updates (2 and later)
    std::uint64_t shift_ = 0;
    record_buffer buf_;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> unsynced_;  // (logical position, sequence) of records waiting for sync
    std::atomic<std::uint64_t> written_{0};  // file offsets
    std::atomic<std::uint64_t> synced_{0};
    std::mutex io_mu_;
    std::atomic<bool> broken_flag_{false};
    std::string broken_;
    std::function<void()> on_grow_;
    std::atomic<std::uint64_t> grow_trigger_{~std::uint64_t{0}};
};

/// A durable's journal and lock, kept by its store (store::retire_journal).
/// Made empty when the durable opens, so that its destructor, which fills
/// it, allocates nothing: out of memory there would terminate the process.
template <class Store>
class retired_writer final : public retired_journal {
public:
    retired_writer() = default;
    void hold(std::unique_ptr<journal_writer<Store>> writer, journal_lock lock) noexcept {
        lock_.emplace(std::move(lock));
        writer_ = std::move(writer);
    }
    ~retired_writer() override {
        if (!writer_) return;
        try {
            writer_->sync_now();
            writer_->trim();
        } catch (...) {  // the records reached the OS; nothing to report to from a destructor
        }
    }

private:
    std::optional<journal_lock> lock_;  // let go of after the writer's file is closed
    std::unique_ptr<journal_writer<Store>> writer_;
};

/// Stops the thread of a durable pair (checkpoints) or a follower (polls):
/// sets its stop flag and wakes it, cancels its waits for the store (the
/// caller may hold the store: see wait_cancel), and joins it.
template <class Store>
void stop_store_thread(std::thread& thread, std::mutex& mu, std::condition_variable& cv, bool& stop,
                       std::atomic<bool>& cancel, const Store& db) noexcept {
    {
        std::lock_guard l(mu);
        stop = true;
    }
    cv.notify_one();
    if (!thread.joinable()) return;
    cancel.store(true, std::memory_order_relaxed);
    db.wake_waiters();
    thread.join();
}

/// Where the damaged part of a journal is saved before it is cut off: the
/// first free one of "<journal>.damaged", "<journal>.damaged.1", ..., so that
/// the part an earlier recovery saved is kept (the pair's lock keeps another
/// writer from taking the same name).
inline std::filesystem::path damaged_path(const std::filesystem::path& journal) {
    for (int n = 0; n <= 1000; ++n) {
        std::filesystem::path target = journal.string() + ".damaged" + (n == 0 ? "" : "." + std::to_string(n));
        std::error_code ec;  // a name whose status cannot be read is skipped, as if taken
        if (std::filesystem::symlink_status(target, ec).type() == std::filesystem::file_type::not_found) return target;
    }
    throw_journal_error(errc::io, journal.string(), std::nullopt, std::nullopt,
                        "no free name for the damaged part among \".damaged\" to \".damaged.1000\"; move them away");
}

}  // namespace detail

/// A store made durable by a snapshot and a journal. Opening loads the
/// snapshot (if the file exists), replays every complete journal record in
/// order and cuts a torn tail off; from then on every commit of the store
/// that changes something appends one record before it takes effect.
/// Destroyed on a thread that holds a scope of the store (a read scope, or
/// the write transaction, whose commit is then still journaled), it leaves
/// the journal and the pair's lock to the store, which lets go of them at
/// its next transaction.
template <class Store>
class durable final : private detail::store_attachment {
public:
    /// Opens (or creates) the pair. When neither file exists and the store
    /// holds rows, they are saved as the first snapshot.
    /// @throws snapshot_error: a damaged snapshot or journal (naming the
    /// file, record and byte offset), a journal of another snapshot or
    /// schema, an I/O failure, another pair (in this process or another)
    /// holding the journal or the snapshot (usage); when refused, the store
    /// and the files are as they were.
    /// @throws usage_error when this thread holds a scope of the store, when
    /// the store has a journal already (another durable), or for options out
    /// of range; no file is opened or made then.
    durable(Store& db, std::filesystem::path snapshot, std::filesystem::path journal, durable_options options = {})
        : db_(checked(db, snapshot, journal, options)),
          snap_(std::move(snapshot)),
          journal_(std::move(journal)),
          options_(options),
          lock_(snap_, journal_),
          retired_(std::make_unique<detail::retired_writer<Store>>()) {
        // The background thread first, waiting until the open is done: a
        // thread that cannot start fails the open before anything changed.
        if (auto_checkpoints() || options_.sync == sync::interval)
            bg_ = detail::start_thread([this] { background(); });
        struct stop_unless_opened {
            durable& d;
            bool opened = false;
            ~stop_unless_opened() {
                if (!opened) d.stop_background();
            }
        } thread_guard{*this};
        auto o = detail::open_journal<Store>(snap_, journal_, options_.load, true, options_.recover_to_last_good);
        report_ = o.report;
        const schema_info schema = describe<Store>();
        detail::journal_header header{o.header.first_seq, o.snapshot, detail::schema_image(schema), 0};
        const bool fresh = !o.snapshot.present && !o.journal_exists;
        if (!fresh) db_.swap_contents(*o.state);  // throws usage_error before anything changed
        bool attached = false;
        // The files this open makes, removed again if it fails: a refused open
        // leaves every file as it was. (Finishing an interrupted checkpoint
        // replaces the journal with one that recovers the same commits; that
        // one stays.)
        std::vector<std::filesystem::path> made;
        // An interrupted checkpoint's files, which recovery never reads:
        // removed only once the open cannot fail (named here, as naming them
        // can throw), so that a refused open leaves them. Leaving one (a
        // failed unlink) is harmless: the next checkpoint writes over it.
        const std::filesystem::path leftovers[] = {snap_.string() + ".new", journal_.string() + ".new"};
        try {
            if (fresh) {
                // Nothing on disk: the store's contents so far are the start.
                bool empty = true;
                {
                    auto q = db_.read();
                    Store::for_each_table([&]<class T>(T*) { empty = empty && q.template count<T>() == 0; });
                }
                made.reserve(2);
                if (!empty) {
                    made.push_back(snap_);  // before the save: its rename may be done when a later step fails
                    save(db_, snap_, checkpoint_save_options());
                    header.follows = detail::read_snapshot_id(snap_);
                }
                made.push_back(journal_);
                create_and_open(header, nullptr, 0, 0, 1);
            } else if (!o.journal_exists) {
                made.push_back(journal_);
                create_and_open(header, nullptr, 0, 0, 1);
            } else if (o.resumed) {
                // Finish the interrupted checkpoint: the new journal holds the
                // records after the snapshot's state.
                detail::journal_file old(journal_, o.scan.end);
                header.first_seq = o.resumed->seq;
                create_and_open(header, &old, o.resumed->offset, o.scan.end, o.scan.next_seq);
                report_.checkpoint_completed = true;
            } else {
                auto file = detail::journal_file(journal_, o.scan.end, preallocation());
                if (o.scan.tail != detail::journal_tail::clean) {  // zeros alone are kept: space allocated ahead
                    const auto tail = std::span<const std::byte>(o.bytes).subspan(o.scan.end);
                    if (o.scan.tail == detail::journal_tail::corrupt) {
                        report_.damaged_file = detail::damaged_path(journal_);
                        made.push_back(report_.damaged_file);  // before the write: its rename may be done when it fails
                        write_snapshot_file(report_.damaged_file, tail);
                    }
                    if (!file.cut(o.scan.end)) {
                        // The truncate may have been done before the fsync
                        // failed: the tail goes back, or else the damaged
                        // part's copy stays, as the only one there may be.
                        if (!file.put_back(o.scan.end, tail)) made.clear();
                        detail::throw_journal_error(errc::io, journal_.string(), std::nullopt, o.scan.end,
                                                    "cannot cut the torn tail off the journal");
                    }
                    made.clear();  // the damaged part is now only in its file: it stays whatever happens
                }
                writer_ = std::make_unique<detail::journal_writer<Store>>(std::move(file), o.scan.next_seq,
                                                                          options_.sync, o.header.size,
                                                                          o.header.version);
            }
            snapshot_size_ = header.follows.size;  // no I/O: after the cut, nothing on disk may fail
            db_.attach_journal(writer_.get());
            attached = true;
            arm_background();
        } catch (...) {
            if (attached) db_.attach_journal(nullptr);  // before the swap, which a journal would refuse
            if (!fresh) db_.swap_contents(*o.state);    // the store as it was
            writer_.reset();                            // closes the journal it made, if any
            for (const auto& f : made) {
                std::error_code ec;
                std::filesystem::remove(f, ec);  // no other writer can have made it: the pair's lock is held
            }
            throw;
        }
        for (const auto& f : leftovers) {
            std::error_code ec;
            std::filesystem::remove(f, ec);
        }
        db_.set_attachment(this);
        lock_.keep();
        thread_guard.opened = true;
        {
            std::lock_guard l(bg_mu_);
            opened_ = true;
        }
        bg_cv_.notify_one();
    }

    durable(const durable&) = delete;
    durable& operator=(const durable&) = delete;

    /// Detaches the journal (waiting for the transaction in progress), makes
    /// every record durable and stops the background thread.
    ~durable() {
        stop_background();
        if (!store_gone_) {  // else the store went first (store_destroyed): nothing of it to detach
            db_.set_attachment(nullptr);
            if (!db_.try_detach_journal()) {
                // This thread holds the store: no other commit can append
                // until it lets go, so the journal (and the pair's lock) can
                // go on without this object, which its growth must not call.
                writer_->on_grow(nullptr);
                retired_->hold(std::move(writer_), std::move(lock_));
                db_.retire_journal(std::move(retired_));
                return;
            }
        }
        try {
            writer_->sync_now();
            writer_->trim();
        } catch (...) {  // the records reached the OS; nothing to report to from a destructor
        }
    }

    /// Writes a new snapshot of the store and starts a new journal after it,
    /// crash-safely: whenever the process dies, the snapshot and journal on
    /// disk recover every acknowledged commit (docs/journal.md, Checkpoints).
    /// Commits go on while the snapshot is written; they wait only for the
    /// switch of journals.
    /// @throws snapshot_error (io); the pair on disk stays valid and the
    /// durable store usable. @throws usage_error when this thread holds a scope.
    void checkpoint() {
        if (store_gone_) throw usage_error(store_gone_text);
        std::lock_guard cp(checkpoint_mu_);
        writer_->refuse_if_broken();
        const std::filesystem::path next = snap_.string() + ".new";
        detail::checkpoint_mark mark;
        try {
            detail::save_at(
                db_, next,
                [&] {
                    mark.offset = writer_->file().end();
                    mark.seq = writer_->next_seq();
                },
                checkpoint_save_options());
            mark.snapshot = detail::read_snapshot_id(next);
        } catch (...) {
            std::error_code ec;
            std::filesystem::remove(next, ec);
            throw;
        }
        std::optional<transaction<Store>> tx;
        try {
            tx.emplace(db_.write());  // no commit in between: the switch sees the journal's last record
            writer_->append_mark(mark);
        } catch (...) {
            std::error_code ec;
            std::filesystem::remove(next, ec);
            throw;
        }
        // From here a crash recovers through the mark, whichever snapshot is in place.
        try {
            detail::rename_durably(next, snap_);
        } catch (...) {
            std::error_code ec;
            std::filesystem::remove(next, ec);  // when the rename failed; else it is gone already
            throw;
        }
        snapshot_size_ = mark.snapshot.size;
        const schema_info schema = describe<Store>();
        detail::journal_header header{mark.seq, mark.snapshot, detail::schema_image(schema), 0};
        const auto bytes = detail::encode_journal_header(header);
        const std::uint64_t end = writer_->file().end();
        // Throws before the rename: the writer goes on in the journal in place.
        auto created = detail::create_journal_file(journal_, bytes, &writer_->file(), mark.offset, end, preallocation());
        writer_->switch_to(std::move(created.file), mark.offset, bytes.size());
        ++checkpoints_;
        set_trigger();
        if (created.unsynced) {
            // A crash could bring the old journal back, without the commits
            // appended to the new one from now on: none may be acknowledged.
            // Reopening the pair recovers everything either way.
            writer_->refuse_from_now("the checkpoint's new journal is in place, but the fsync of its directory "
                                     "failed, so a crash could bring back the journal it replaced");
            std::rethrow_exception(created.unsynced);
        }
    }

    /// Makes every commit so far durable now (for sync::interval and none).
    /// @throws snapshot_error (io).
    void sync() {
        if (store_gone_) return writer_->sync_now();  // no commit can come any more
        auto tx = db_.write();
        writer_->sync_now();
    }

    /// What opening found and did.
    [[nodiscard]] const recovery_report& recovery() const noexcept { return report_; }
    /// The sequence number of the last record written (transactions and checkpoint marks).
    [[nodiscard]] std::uint64_t sequence() const {
        if (store_gone_) return writer_->next_seq() - 1;  // the store (and its lock) went first
        auto q = db_.read();
        return writer_->next_seq() - 1;
    }
    /// Bytes the journal's records take.
    [[nodiscard]] std::uint64_t journal_bytes() const {
        if (store_gone_) return writer_->record_bytes();
        auto q = db_.read();
        return writer_->record_bytes();
    }
    /// Checkpoints done since the store was opened (by checkpoint() or automatically).
    [[nodiscard]] std::uint64_t checkpoints() const noexcept { return checkpoints_.load(); }
    /// The last failure of a background checkpoint, if any (it is retried
    /// once the journal grows by another threshold).
    [[nodiscard]] std::string background_error() const {
        std::lock_guard l(bg_mu_);
        return bg_error_;
    }

private:
    /// Creates the journal (header, then source's bytes [from, to)) and opens it for appending.
    void create_and_open(const detail::journal_header& h, const detail::journal_file* source, std::uint64_t from,
                         std::uint64_t to, std::uint64_t next_seq) {
        const auto bytes = detail::encode_journal_header(h);
        auto created = detail::create_journal_file(journal_, bytes, source, from, to, preallocation());
        if (created.unsynced) std::rethrow_exception(created.unsynced);  // fails the open
        writer_ = std::make_unique<detail::journal_writer<Store>>(std::move(created.file), next_seq, options_.sync,
                                                                  bytes.size(), h.version);
    }

    /// Only every_commit syncs often enough for the inode writes that
    /// preallocation saves to matter; the others would pay for the
    /// allocation (and none would get an fsync per step) for nothing.
    std::uint64_t preallocation() const noexcept {
        return options_.sync == sync::every_commit ? options_.preallocate : 0;
    }

    std::uint64_t threshold() const {
        std::uint64_t t = ~std::uint64_t{0};
        if (options_.checkpoint_bytes) t = options_.checkpoint_bytes;
        if (options_.checkpoint_ratio > 0)
            t = std::min(t, std::max<std::uint64_t>(std::uint64_t{1} << 20,
                                                    static_cast<std::uint64_t>(options_.checkpoint_ratio *
                                                                               static_cast<double>(snapshot_size_.load()))));
        return t;
    }
    void set_trigger(std::uint64_t above = 0) { writer_->grow_trigger(above + threshold()); }

    bool auto_checkpoints() const noexcept { return options_.checkpoint_bytes != 0 || options_.checkpoint_ratio > 0; }

    /// Asks for a checkpoint as the journal grows past its threshold.
    void arm_background() {
        if (auto_checkpoints()) {
            set_trigger();
            writer_->on_grow([this] {
                {
                    std::lock_guard l(bg_mu_);
                    want_checkpoint_ = true;
                }
                bg_cv_.notify_one();
            });
        }
    }

    void stop_background() noexcept { detail::stop_store_thread(bg_, bg_mu_, bg_cv_, stop_, cancel_, db_); }

    void background() {
        detail::wait_cancel = &cancel_;
        std::unique_lock l(bg_mu_);
        bg_cv_.wait(l, [&] { return opened_ || stop_; });
        const bool interval = options_.sync == sync::interval;
        while (!stop_) {
            if (interval)
                bg_cv_.wait_for(l, options_.sync_interval, [&] { return stop_ || want_checkpoint_; });
            else
                bg_cv_.wait(l, [&] { return stop_ || want_checkpoint_; });
            if (stop_) break;
            const bool cp = std::exchange(want_checkpoint_, false);
            l.unlock();
            if (interval) writer_->background_sync();
            if (cp) {
                try {
                    checkpoint();
                } catch (const std::exception& e) {
                    // Retried once the journal has grown by another threshold,
                    // not at every commit. (The store before bg_mu_: a commit
                    // holding the store takes bg_mu_ to ask for a checkpoint.)
                    std::uint64_t bytes = 0;
                    {
                        auto q = db_.read();
                        bytes = writer_->record_bytes();
                    }
                    set_trigger(bytes);
                    std::lock_guard g(bg_mu_);
                    bg_error_ = e.what();
                }
            }
            l.lock();
        }
    }

    /// The checks made before any file is opened or made (the lock file
    /// included): the options, and a store not already journaled.
    static Store& checked(Store& db, const std::filesystem::path& snapshot, const std::filesystem::path& journal,
                          const durable_options& options) {
        if (options.checkpoint_child_nice < 0 || options.checkpoint_child_nice > 19)
            throw usage_error("durable store " + detail::quoted_name(journal.string()) +
                              ": durable_options::checkpoint_child_nice is " +
                              std::to_string(options.checkpoint_child_nice) +
                              "; it must be 0 to 19 (nice levels below the checkpointing thread's priority)");
        detail::check_durable_paths(snapshot, journal);
        return db.check_no_journal();
    }

    static constexpr const char* store_gone_text =
        "relstore: the store of this durable pair was destroyed before it; destroy the durable object first";
    /// The store was destroyed first: the background thread is stopped, and
    /// nothing touches the store again.
    void store_destroyed() noexcept override {
        stop_background();
        store_gone_ = true;
    }
    std::atomic<bool> store_gone_{false};

    Store& db_;
    std::filesystem::path snap_;
    std::filesystem::path journal_;
    durable_options options_;
    /// How a checkpoint's snapshot is saved.
    [[nodiscard]] relstore::save_options checkpoint_save_options() const noexcept {
        return {.child_nice = options_.checkpoint_child_nice};
    }
    detail::journal_lock lock_;
    std::unique_ptr<detail::retired_writer<Store>> retired_;  // empty: see retired_writer
    std::unique_ptr<detail::journal_writer<Store>> writer_;
    recovery_report report_;
    std::atomic<std::uint64_t> snapshot_size_{0};
    std::atomic<std::uint64_t> checkpoints_{0};
    std::mutex checkpoint_mu_;
    mutable std::mutex bg_mu_;
    std::condition_variable bg_cv_;
    bool stop_ = false;
    bool opened_ = false;  // the constructor is done: the background thread may start its work
    bool want_checkpoint_ = false;
    std::string bg_error_;
    std::atomic<bool> cancel_{false};  // the background thread's waits for the store (detail::wait_cancel)
    std::thread bg_;
};

/// A read-only replica: loads the snapshot, applies the journal, and keeps
/// applying the records a writer (another process, or a durable store in
/// this one) appends, across its checkpoints. Each record is applied in one
/// write transaction of the follower's store, so its readers see whole
/// transactions and its subscribers are told of each; any other write to
/// the store, and a load or swap_contents into it, is refused (usage_error). Only complete records whose checksums
/// match are applied. A store destroyed before its follower stops it: poll()
/// then throws usage_error, and its destructor leaves the store alone.
template <class Store>
class follower final : private detail::store_attachment {
public:
    /// @throws snapshot_error as durable's open does (without changing any file);
    /// @throws usage_error when this thread holds a scope of the store, or
    /// the store has a journal (durable) or another follower.
    follower(Store& db, std::filesystem::path snapshot, std::filesystem::path journal, follower_options options = {})
        : db_(db), snap_(std::move(snapshot)), journal_(std::move(journal)), options_(options) {
        // The store changes last (the load's swap of contents), once nothing
        // else can fail: the poll thread starts first and waits until the
        // open is done, and the veto is in place before the contents are.
        // A failed open leaves the store as it was, and not followed.
        if (options_.poll_interval.count() > 0) thread_ = detail::start_thread([this] { run(); });
        try {
            db_.set_followed(true);
        } catch (...) {
            stop_thread();
            throw;
        }
        try {
            veto_ = db_.before_commit([](const changes<Store>&) {
                if (!applying())
                    throw usage_error(
                        "relstore: this store follows a journal (relstore::follower): it is read-only; write "
                        "through the journal's writer");
            });
            reload();
        } catch (...) {
            db_.set_followed(false);
            stop_thread();
            throw;
        }
        db_.set_attachment(this);
        {
            std::lock_guard l(stop_mu_);
            opened_ = true;
        }
        stop_cv_.notify_one();
    }
    follower(const follower&) = delete;
    follower& operator=(const follower&) = delete;
    ~follower() {
        stop_thread();
        if (store_gone_) return;  // the store went first: nothing of it to unmark
        db_.set_attachment(nullptr);
        db_.unfollow();
    }

    /// Applies every complete record appended since the last poll, following
    /// a checkpoint to the new journal (or the new snapshot when the follower
    /// fell behind it). Returns the number of transactions applied. A poll
    /// that returns has read to the end of what was complete; one that
    /// throws keeps every transaction it applied before the failure (each is
    /// whole) and the next poll goes on from there.
    /// @throws snapshot_error when the files cannot be read or do not fit.
    std::uint64_t poll() {
        if (store_gone_)
            throw usage_error(
                "relstore: the store of this follower was destroyed before it; destroy the follower first");
        std::lock_guard l(poll_mu_);
        if (rewritten()) return reload();
        std::uint64_t n = read_new();
        // No file under the name (removed by hand: a checkpoint renames over
        // it) leaves the follower on the one it has open.
        if (const auto named = file::identity_of(journal_.string()); named && *named != id_) {
            n += read_new();  // the replaced journal is final: drain it first
            n += follow_new_journal();
        }
        return n;
    }

    /// The sequence number of the last record applied.
    [[nodiscard]] std::uint64_t sequence() const noexcept { return next_seq_.load() - 1; }
    /// What the first load found.
    [[nodiscard]] const recovery_report& recovery() const noexcept { return report_; }
    /// Times the follower loaded the snapshot again (it fell behind a checkpoint).
    [[nodiscard]] std::uint64_t reloads() const noexcept { return loads_.load() - 1; }
    /// The last failure of the background poll, if any.
    [[nodiscard]] std::string background_error() const {
        std::lock_guard l(stop_mu_);
        return error_;
    }

private:
    using file = detail::followed_file;
    static bool& applying() { return detail::applying_records(); }
    struct applying_scope {
        applying_scope() { applying() = true; }
        ~applying_scope() { applying() = false; }
    };

    /// Loads snapshot and journal from scratch. A checkpoint may replace the
    /// files between the reads: then the journal names another snapshot, and
    /// the read is tried again.
    std::uint64_t reload() {
        for (int attempt = 0;; ++attempt) {
            const auto before = files_now();
            try {
                fd_guard g{file::open(journal_.string(), false)};
                auto o = detail::open_journal<Store>(snap_, journal_, options_.load, false, false);
                const auto id = file::identity_of(g.fd, journal_.string());
                // The journal read must be the one open here.
                if (file::identity_of(journal_.string()) != id) {
                    if (attempt >= 50)
                        detail::throw_journal_error(errc::io, journal_.string(), std::nullopt, std::nullopt,
                                                    "the journal keeps being replaced while it is read");
                    continue;
                }
                {
                    applying_scope a;
                    db_.swap_contents(*o.state);
                }
                if (loads_++ == 0) report_ = o.report;
                std::swap(fd_.fd, g.fd);
                id_ = id;
                pos_ = o.scan.end;
                skip_below_ = 0;
                number_ = o.scan.next_number;
                next_seq_ = o.scan.next_seq;
                remember_last(o.scan.records.empty() ? std::nullopt
                                                     : std::optional<detail::record_ref>(o.scan.records.back()));
                return o.report.transactions_replayed;
            } catch (const snapshot_error&) {
                // A checkpoint that replaced a file while the pair was read
                // makes them disagree: read them again. Files that did not
                // change fail the same way each time: no second try.
                if (attempt >= 50 || !before.changed_by_now(files_now())) throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        }
    }

    /// Which files the two names hold, and their sizes and times.
    struct pair_ids {
        std::optional<file::version> snap, journal;
        bool known = true;  // false: a stat failed
        bool changed_by_now(const pair_ids& now) const {
            return !known || !now.known || snap != now.snap || journal != now.journal;
        }
    };
    pair_ids files_now() const noexcept {
        try {
            return {file::version_of(snap_.string()), file::version_of(journal_.string())};
        } catch (...) {
            return {std::nullopt, std::nullopt, false};
        }
    }

    void remember_last(const std::optional<detail::record_ref>& r) {
        if (!r) {
            last_.reset();
            return;
        }
        std::uint64_t sum;
        std::memcpy(&sum, r->payload.data() + r->payload.size(), 8);
        last_ = {r->end() - 8, sum};
    }

    /// True when the records already applied from this file are gone or
    /// changed: a writer cut records whose fsync failed (and may have written
    /// others in their place).
    bool rewritten() const {
        if (!last_) return false;
        std::uint64_t sum = 0;
        if (!file::read_exact(fd_.fd, journal_.string(), last_->first, std::as_writable_bytes(std::span(&sum, 1))))
            return true;  // cut shorter than what was applied
        return sum != last_->second;
    }

    /// Reads from pos to the end of the file, or `most` bytes.
    std::vector<std::byte> read_from(int fd, std::uint64_t pos, std::uint64_t most = ~std::uint64_t{0}) const {
        return file::read(fd, journal_.string(), pos, most);
    }

    /// Applies the complete records of bytes (read at file offset base).
    std::uint64_t apply_from(const std::vector<std::byte>& bytes, std::uint64_t base, std::uint64_t skip_below) {
        const auto scan = detail::scan_records(bytes, base, next_seq_, number_, false);
        std::uint64_t n = 0;
        for (const auto& r : scan.records) {
            if (r.seq >= skip_below && r.kind() == detail::record_kind::transaction) {
                applying_scope a;
                detail::apply_record(db_, r, journal_.string(), rec_);
                ++n;
            }
            pos_ = r.end();
            number_ = r.number + 1;
            next_seq_ = r.seq + 1;
            remember_last(r);
        }
        return n;
    }

    /// Applies the records past pos_, reading the file a window at a time:
    /// a writer with sync::every_commit keeps megabytes of zeros allocated
    /// ahead of its records, which a poll must not read again and again. A
    /// window that ends inside a record is read again from that record,
    /// larger if its header says so; zeros, a torn record or the file's end
    /// stop the reading until the next poll.
    std::uint64_t read_new() {
        constexpr std::uint64_t window = std::uint64_t{256} << 10;
        std::uint64_t n = 0;
        std::uint64_t want = window;
        for (;;) {
            const auto bytes = read_from(fd_.fd, pos_, want);
            const auto before = pos_;
            n += apply_from(bytes, pos_, skip_below_);
            if (bytes.size() < want) return n;  // the file's end was in the window
            if (pos_ != before) {
                want = window;
                continue;
            }
            const auto size = detail::record_size_at(bytes, next_seq_);
            if (!size || *size <= want) return n;  // not a record (yet): zeros, or torn
            want = *size;
        }
    }

    /// The writer checkpointed: continue in the new journal from the first
    /// record not applied yet, or reload when the new journal starts after it.
    std::uint64_t follow_new_journal() {
        fd_guard g{file::open(journal_.string(), true)};
        if (g.fd < 0) return 0;  // removed since the stat: try at the next poll
        // The header's size is in its first 16 bytes; its schema image may be large.
        auto bytes = read_from(g.fd, 0, 16);
        if (bytes.size() == 16) {
            std::uint32_t size;
            std::memcpy(&size, bytes.data() + 12, 4);
            bytes = read_from(g.fd, 0, detail::to_le(size));
        }
        const auto header = detail::parse_journal_header(bytes, journal_.string());
        if (header.first_seq > next_seq_) return reload();
        const auto id = file::identity_of(g.fd, journal_.string());
        std::swap(fd_.fd, g.fd);
        id_ = id;
        // Records up to next_seq_ are applied already (the new journal copies
        // them from the old one); take the rest.
        skip_below_ = next_seq_.load();
        pos_ = header.size;
        number_ = 1;
        next_seq_ = header.first_seq;
        last_.reset();
        const auto n = read_new();
        // Every record of the old journal is in the new one before its rename;
        // fewer cannot happen with a sound writer: load the files again.
        if (next_seq_ < skip_below_) return n + reload();
        return n;
    }

    void run() {
        detail::wait_cancel = &cancel_;
        std::unique_lock l(stop_mu_);
        stop_cv_.wait(l, [&] { return opened_ || stop_; });
        while (!stop_) {
            l.unlock();
            try {
                poll();
            } catch (const std::exception& e) {
                std::lock_guard g(stop_mu_);
                error_ = e.what();
            }
            l.lock();
            stop_cv_.wait_for(l, options_.poll_interval, [&] { return stop_; });
        }
    }

    struct fd_guard {
        int fd = -1;
        ~fd_guard() { file::close(fd); }
    };

    void stop_thread() noexcept { detail::stop_store_thread(thread_, stop_mu_, stop_cv_, stop_, cancel_, db_); }
    /// The store was destroyed first: the poll thread is stopped, and
    /// nothing touches the store again.
    void store_destroyed() noexcept override {
        stop_thread();
        store_gone_ = true;
    }
    std::atomic<bool> store_gone_{false};

    Store& db_;
    std::filesystem::path snap_;
    std::filesystem::path journal_;
    follower_options options_;
    recovery_report report_;
    fd_guard fd_;
    file::identity id_;  // of the journal open (fd_)
    std::uint64_t pos_ = 0;
    std::uint64_t number_ = 1;
    std::uint64_t skip_below_ = 0;  // after a switch of journals: records before this one were applied from the old one
    std::atomic<std::uint64_t> next_seq_{1};
    std::optional<std::pair<std::uint64_t, std::uint64_t>> last_;  // (offset, value) of the last applied record's checksum
    detail::decoded_record<Store> rec_;
    std::atomic<std::uint64_t> loads_{0};
    std::mutex poll_mu_;
    subscription veto_;
    mutable std::mutex stop_mu_;
    std::condition_variable stop_cv_;
    bool stop_ = false;
    bool opened_ = false;  // the constructor is done: the poll thread may start polling
    std::string error_;
    std::atomic<bool> cancel_{false};  // the poll thread's waits for the store (detail::wait_cancel)
    std::thread thread_;
};

}  // namespace relstore
