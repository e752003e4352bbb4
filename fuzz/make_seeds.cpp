// Writes the fuzzers' seed corpora: small valid snapshots covering every
// column type, empty tables, foreign keys and a schema without tables; and,
// with a second directory, journals of the fuzz store (inserts, updates of
// each column kind, cascading erases, preallocated zeros after the records,
// the journal a checkpoint starts).
// Usage: snapshot_fuzz_seeds DIR [JOURNAL_DIR]

#include "../tests/snapshot/sample_snapshot.hpp"
#include "fuzz_store.hpp"

#include <relstore/journal.hpp>
#include <relstore/snapshot.hpp>

#include <relstore/snapshot_format.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <filesystem>

namespace {

/// A journal of every kind of change the fuzz store can make, one that ends
/// in preallocated zeros, and the one a checkpoint starts.
void write_journal_seeds(const std::filesystem::path& dir) {
    using namespace relstore;
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    // The durable stores' own files go elsewhere: the fuzzer reads every file of dir.
    const fs::path work = fs::temp_directory_path() / ("relstore-journal-seeds-" + std::to_string(::getpid()));
    fs::remove_all(work);
    fs::create_directories(work);
    {
        fuzz_schema::store db;
        durable_options o;
        o.sync = sync::none;
        o.checkpoint_bytes = 0;
        durable<fuzz_schema::store> j(db, work / "a.snap", work / "a.journal", o);
        fuzz_schema::fill(db);
        {
            auto tx = db.write();
            const auto& ada = tx.get<fuzz_schema::users>(std::int64_t{1});
            tx.update(ada, [](fuzz_schema::User& u) {
                u.name = "Ada L.";
                u.email.reset();
                u.score = 2.25;
                u.active = false;
            });
            tx.set<&fuzz_schema::Post::editor_id>(tx.get<fuzz_schema::posts>(std::int64_t{2}), std::int64_t{1});
            tx.commit();
        }
        {
            auto tx = db.write();
            tx.erase(tx.get<fuzz_schema::users>(std::int64_t{2}));  // cascades to a post and its tag
            tx.commit();
        }
        fs::copy_file(work / "a.journal", dir / "changes.journal", fs::copy_options::overwrite_existing);
    }
    {
        fuzz_schema::store db;
        durable_options o;
        o.sync = sync::every_commit;  // preallocates: zeros after the records
        o.preallocate = 4096;         // a few, so that the seed stays small for the fuzzer
        o.checkpoint_bytes = 0;
        durable<fuzz_schema::store> j(db, work / "b.snap", work / "b.journal", o);
        fuzz_schema::fill(db);
        fs::copy_file(work / "b.journal", dir / "zero-tail.journal", fs::copy_options::overwrite_existing);
        j.checkpoint();
        {
            auto tx = db.write();
            tx.insert(fuzz_schema::Category{0, std::int64_t{1}, 9});
            tx.commit();
        }
        fs::copy_file(work / "b.journal", dir / "after-checkpoint.journal", fs::copy_options::overwrite_existing);
    }
    fs::remove_all(work);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) {
        std::fprintf(stderr, "usage: %s DIR [JOURNAL_DIR]\n", argv[0]);
        return 2;
    }
    if (argc == 3) write_journal_seeds(argv[2]);
    using namespace relstore;
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);

    write_snapshot_file(dir / "sample.snap", test::sample_image());

    fuzz_schema::store db;
    fuzz_schema::fill(db);
    save(db, dir / "store.snap");

    snapshot_writer none(schema_info{});
    write_snapshot_file(dir / "no-tables.snap", none.finish());

    // One table per column type, each with a row, so mutations of one type's decoder start close by.
    for (unsigned k = 1; k <= static_cast<unsigned>(column_kind::string); ++k) {
        for (bool nullable : {false, true}) {
            schema_info s;
            s.tables.push_back({"t",
                                {{"id", {column_kind::int64, false}}, {"v", {static_cast<column_kind>(k), nullable}}},
                                {"id"},
                                true,
                                false,
                                {{index_kind::ordered, {"v"}}},
                                {{{"id"}, "t", on_delete::restrict, false, true}}});
            snapshot_writer w(s);
            w.begin_table(0);
            const column_type vt{static_cast<column_kind>(k), nullable};
            w.put_u64(1);
            w.put_value(vt, vt.kind == column_kind::string    ? value(std::string("abc"))
                            : vt.kind == column_kind::boolean ? value(true)
                            : vt.kind == column_kind::float32 || vt.kind == column_kind::float64
                                ? value(0.5)
                                : value(std::int64_t{7}));
            w.put_u64(2);
            if (nullable)
                w.put_value(vt, std::monostate{});
            else
                w.put_value(vt, vt.kind == column_kind::string    ? value(std::string())
                                : vt.kind == column_kind::boolean ? value(false)
                                : vt.kind == column_kind::float32 || vt.kind == column_kind::float64
                                    ? value(-1.0)
                                    : value(std::int64_t{0}));
            w.end_table(2, 3);
            write_snapshot_file(dir / ("type-" + std::to_string(k) + (nullable ? "-null" : "") + ".snap"),
                                w.finish());
        }
    }
    return 0;
}
