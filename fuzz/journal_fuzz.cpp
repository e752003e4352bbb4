// libFuzzer harness for the journal reader: the header, the record scan
// (torn, corrupt and zero tails), the decoding of records against the
// schema the journal carries (what `relstore journal info|verify|dump` do)
// and, when that schema is the fuzz store's, the replay of every record into
// a store (what recovery and followers do). Built with
// RELSTORE_SNAPSHOT_FUZZING, which skips the checksums, so that mutated
// inputs reach the decoders instead of all stopping at a checksum.

#include "fuzz_store.hpp"

#include <relstore/journal.hpp>
#include <relstore/snapshot_format.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace d = relstore::detail;
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    const std::string name = "fuzz.journal";
    try {
        const d::journal_header h = d::parse_journal_header(bytes, name);
        const auto scan = d::scan_records(bytes.subspan(h.size), h.size, h.first_seq, 1, true);
        // Every record through the schema-driven decoder of the CLI; a
        // refusal of one record must not keep the others from being decoded.
        try {
            const relstore::schema_info schema = relstore::snapshot_reader(h.schema, name + " (schema)").schema();
            for (const auto& r : scan.records) {
                try {
                    if (r.kind() == d::record_kind::checkpoint)
                        (void)d::parse_checkpoint(r, name);
                    else
                        (void)d::decode_transaction(r, schema, name);
                } catch (const relstore::snapshot_error&) {
                }
            }
        } catch (const relstore::snapshot_error&) {
        }
        // Recovery's path: the journal must be written for this program's
        // schema, then each transaction applies in a transaction of its own.
        const relstore::schema_info program = relstore::describe<fuzz_schema::store>();
        d::check_journal_schema(h, program, d::schema_image(program), name);
        fuzz_schema::store db;
        d::decoded_record<fuzz_schema::store> rec;
        for (const auto& r : scan.records)
            if (r.kind() == d::record_kind::transaction) d::apply_record(db, r, name, rec);
    } catch (const relstore::snapshot_error&) {
        // Rejection is the expected outcome for most inputs; anything else escaping is a bug.
    }
    return 0;
}
