// Writes the fuzzer's seed corpus: small valid snapshots covering every
// column type, empty tables, foreign keys and a schema without tables.
// Usage: snapshot_fuzz_seeds DIR

#include "../tests/snapshot/sample_snapshot.hpp"
#include "fuzz_store.hpp"

#include <relstore/snapshot.hpp>

#include <relstore/snapshot_format.hpp>

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
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
