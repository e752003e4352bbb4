// libFuzzer harness for the snapshot decoder and store loader. Built with
// RELSTORE_SNAPSHOT_FUZZING, which skips the checksum comparison, so mutated
// inputs reach the schema, directory and row decoding instead of all being
// rejected by the checksum.

#include "fuzz_store.hpp"

#include <relstore/snapshot.hpp>
#include <relstore/snapshot_format.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

/// What loading into the fuzz store gives: "loaded" or the error's message.
std::string load_outcome(const std::function<relstore::snapshot_reader()>& open, const relstore::load_options& opt) {
    try {
        const auto r = open();
        (void)relstore::detail::decode_store<fuzz_schema::store>(r, opt);
    } catch (const relstore::snapshot_error& e) {
        return e.what();
    }
    return "loaded";
}

/// The input as a file, in memory (memfd), for the streamed reader that
/// relstore::load uses; empty when the system has no memfd.
std::string as_file(const std::vector<std::byte>& image) {
    static const int fd = ::memfd_create("snapshot", MFD_CLOEXEC);
    if (fd < 0 || ::ftruncate(fd, 0) != 0) return {};
    for (std::size_t done = 0; done < image.size();) {
        const auto n = ::pwrite(fd, image.data() + done, image.size() - done, static_cast<off_t>(done));
        if (n <= 0) return {};
        done += static_cast<std::size_t>(n);
    }
    return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> image(size);
    if (size > 0) std::memcpy(image.data(), data, size);
    // Most mutations change the length; fixing the declared file size lets
    // them get past the header instead of all stopping at the size check.
    if (size >= relstore::snapshot_header_size && (data[0] & 1) == 0) {
        const std::uint64_t n = size;
        std::memcpy(image.data() + 16, &n, sizeof n);
    }
    // A load streamed through a window of 1 to 64 bytes refuses or gives
    // what a load of the whole image does, with the same message.
    const relstore::load_options drop{
        .drop_unknown_columns = (size & 2) != 0, .drop_unknown_tables = true, .empty_missing_tables = true};
    if (const auto path = as_file(image); !path.empty()) {
        const std::size_t window = 1 + (size > 1 ? data[1] % 64 : 0);
        const auto whole = load_outcome([&] { return relstore::snapshot_reader(image, path); }, drop);
        const auto streamed =
            load_outcome([&] { return relstore::snapshot_reader::open_streamed(path, window); }, drop);
        if (whole != streamed) {
            std::fprintf(stderr, "whole image: %s\nstreamed (window %zu): %s\n", whole.c_str(), window,
                         streamed.c_str());
            std::abort();
        }
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
        (void)relstore::detail::decode_store<fuzz_schema::store>(r, drop);
    } catch (const relstore::snapshot_error&) {
        // Rejection is the expected outcome for most inputs; anything else escaping is a bug.
    }
    return 0;
}
