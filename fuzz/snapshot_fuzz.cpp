// libFuzzer harness for the snapshot decoder and store loader. Built with
// RELSTORE_SNAPSHOT_FUZZING, which skips the checksum comparison, so mutated
// inputs reach the schema, directory and row decoding instead of all being
// rejected by the checksum.

#include "fuzz_store.hpp"

#include <relstore/snapshot.hpp>
#include <relstore/snapshot_format.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> image(size);
    if (size > 0) std::memcpy(image.data(), data, size);
    // Most mutations change the length; fixing the declared file size lets
    // them get past the header instead of all stopping at the size check.
    if (size >= relstore::snapshot_header_size && (data[0] & 1) == 0) {
        const std::uint64_t n = size;
        std::memcpy(image.data() + 16, &n, sizeof n);
    }
    try {
        const relstore::snapshot_reader r(std::move(image), "fuzz");
        r.check_rows();
        // Decode again through get_value, the path the CLI and loaders take.
        for (std::size_t t = 0; t < r.schema().tables.size(); ++t) {
            auto cur = r.rows(t);
            const auto& cols = r.schema().tables[t].columns;
            for (std::uint64_t i = 0; i < r.table(t).row_count; ++i)
                for (const auto& c : cols) (void)cur.get_value(c.type);
            cur.finish();
        }
        // The integrity checks of `relstore verify`, over the file's own schema;
        // a refusal there must not keep the store loader from being fuzzed.
        try {
            r.check_integrity();
        } catch (const relstore::snapshot_error&) {
        }
        // And into a store, through schema matching and the integrity checks.
        const relstore::load_options drop{
            .drop_unknown_columns = (size & 2) != 0, .drop_unknown_tables = true, .empty_missing_tables = true};
        (void)relstore::detail::decode_store<fuzz_schema::store>(r, drop);
    } catch (const relstore::snapshot_error&) {
        // Rejection is the expected outcome for most inputs; anything else escaping is a bug.
    }
    return 0;
}
