// The snapshot file layer: atomic replacement, load errors, and injected
// failures of every system call through detail::file_ops.

#include "temp_dir.hpp"
#include "sample_snapshot.hpp"
#include "thread_starts.hpp"

#include <relstore/detail/node_pool.hpp>
#include <relstore/detail/snapshot_file_ops.hpp>
#include <relstore/snapshot_format.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <thread>

namespace file_test {

using namespace relstore;
using relstore::detail::file_ops;
using relstore::detail::scoped_file_ops;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

struct temp_dir : relstore_test::temp_dir {
    temp_dir() : relstore_test::temp_dir("relstore-snap") {}
};

std::vector<std::byte> slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> out(s.size());
    std::memcpy(out.data(), s.data(), s.size());
    return out;
}

snapshot_error load_error(const fs::path& p) {
    try {
        (void)snapshot_reader::open(p);
    } catch (const snapshot_error& e) {
        return e;
    }
    FAIL("the load succeeded");
    throw;
}

// Fault injection state; function pointers cannot capture, so it is global.
struct faults {
    const char* op = nullptr;  // which call fails
    int err = 0;               // with which errno
    int fail_on_call = 1;      // the n-th call of that op fails
    int calls = 0;
    std::size_t max_io = 0;    // > 0: reads and writes move at most this many bytes
};
faults g;
const file_ops real = detail::system_file_ops();

bool should_fail(const char* op) {
    if (g.op == nullptr || std::strcmp(g.op, op) != 0) return false;
    return ++g.calls == g.fail_on_call;
}

file_ops faulty_ops() {
    file_ops ops = real;
    ops.open = [](const char* p, int f, mode_t m) {
        if (should_fail((f & O_DIRECTORY) != 0 ? "open-dir" : "open")) return errno = g.err, -1;
        return real.open(p, f, m);
    };
    ops.pwrite = [](int fd, const void* b, size_t n, off_t off) -> ssize_t {
        if (should_fail("write")) return errno = g.err, -1;
        return real.pwrite(fd, b, g.max_io > 0 ? std::min(n, g.max_io) : n, off);
    };
    ops.read = [](int fd, void* b, size_t n) -> ssize_t {
        if (should_fail("read")) return errno = g.err, -1;
        return real.read(fd, b, g.max_io > 0 ? std::min(n, g.max_io) : n);
    };
    // Called by the second thread of a large read only: "read" and "pread"
    // faults are never counted by two threads at once.
    ops.pread = [](int fd, void* b, size_t n, off_t off) -> ssize_t {
        if (should_fail("pread")) return errno = g.err, -1;
        return real.pread(fd, b, g.max_io > 0 ? std::min(n, g.max_io) : n, off);
    };
    ops.fsync = [](int fd) {
        if (should_fail("fsync")) return errno = g.err, -1;
        return real.fsync(fd);
    };
    // A failing close still releases the descriptor, as Linux does.
    ops.close = [](int fd) {
        const bool fail = should_fail("close");
        const int rc = real.close(fd);
        if (fail) return errno = g.err, -1;
        return rc;
    };
    ops.rename = [](const char* a, const char* b) {
        if (should_fail("rename")) return errno = g.err, -1;
        return real.rename(a, b);
    };
    return ops;
}

std::vector<std::byte> other_image() {
    schema_info s;
    s.tables.push_back({"t", {{"id", {column_kind::int64, false}}}, {"id"}, false, true, {}, {}});
    snapshot_writer w(s);
    w.begin_table(0);
    w.put_u64(42);
    w.end_table(1);
    const auto b = w.finish();
    return {b.begin(), b.end()};
}

}  // namespace

TEST_CASE("saving writes the snapshot and leaves no temporary file", "[snapshot][file]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    const auto img = test::sample_image();
    write_snapshot_file(target, img);
    CHECK(slurp(target) == img);
    write_snapshot_file(target, other_image());
    CHECK(slurp(target) == other_image());
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
    CHECK(snapshot_reader::open(target).schema().tables.size() == 1);
}

TEST_CASE("a relative path saves into the current directory's file", "[snapshot][file]") {
    temp_dir dir;
    const auto old = fs::current_path();
    fs::current_path(dir.path);
    write_snapshot_file("rel.snap", other_image());
    fs::current_path(old);
    CHECK(slurp(dir.path / "rel.snap") == other_image());
}

TEST_CASE("loading names the file and what is wrong with it", "[snapshot][file][errors]") {
    temp_dir dir;
    SECTION("missing file") {
        const auto e = load_error(dir.path / "nope.snap");
        CHECK(e.code() == make_error_code(errc::io));
        CHECK(e.path() == (dir.path / "nope.snap").string());
        CHECK_THAT(e.what(), Contains("nope.snap': cannot open for reading: No such file or directory"));
    }
    SECTION("a directory") {
        const auto e = load_error(dir.path);
        CHECK(e.code() == make_error_code(errc::io));
        CHECK_THAT(e.what(), Contains("is a directory, not a snapshot file"));
    }
    SECTION("an empty file") {
        std::ofstream(dir.path / "empty.snap").close();
        const auto e = load_error(dir.path / "empty.snap");
        CHECK(e.code() == make_error_code(errc::bad_snapshot));
        CHECK_THAT(e.what(), Contains("empty.snap' at byte 0: the file is empty"));
    }
    SECTION("permission denied (injected: tests run as root, which chmod cannot stop)") {
        write_snapshot_file(dir.path / "db.snap", other_image());
        g = {"open", EACCES};
        scoped_file_ops inject(faulty_ops());
        const auto e = load_error(dir.path / "db.snap");
        CHECK(e.code() == make_error_code(errc::io));
        CHECK_THAT(e.what(), Contains("db.snap': cannot open for reading: Permission denied"));
    }
    SECTION("a name with control characters is shown escaped; path() keeps it as it is") {
        // A newline or an escape sequence in a file name must not split a log
        // line or reach a terminal through the message.
        const auto odd = dir.path / "bad\nname\x1b[2J.snap";
        std::ofstream(odd).close();
        const auto e = load_error(odd);
        CHECK(e.path() == odd.string());
        CHECK_THAT(e.what(), Contains("bad\\nname\\x1b[2J.snap' at byte 0: the file is empty"));
        CHECK(std::string_view(e.what()).find_first_of("\n\x1b") == std::string_view::npos);
    }
    SECTION("a read error") {
        write_snapshot_file(dir.path / "db.snap", other_image());
        g = {"read", EIO};
        scoped_file_ops inject(faulty_ops());
        const auto e = load_error(dir.path / "db.snap");
        CHECK_THAT(e.what(), Contains("read failed at byte 0: Input/output error"));
    }
}

// A file of several MiB: open() reads it in chunks of 1 MiB into a mapping
// and hashes each chunk as it arrives; from 16 MiB on, a second thread reads
// the second half.
std::vector<std::byte> make_large_image(std::uint64_t rows) {
    schema_info s;
    s.tables.push_back({"t", {{"id", {column_kind::int64, false}}, {"s", {column_kind::string, false}}}, {"id"},
                        false, true, {}, {}});
    snapshot_writer w(s);
    w.begin_table(0);
    for (std::uint64_t i = 1; i <= rows; ++i) {
        w.put_u64(i);
        w.put_string(std::string(1000, static_cast<char>('a' + i % 26)));
    }
    w.end_table(rows);
    const auto b = w.finish();
    return {b.begin(), b.end()};
}

// Made once per size: Catch2 runs the test case once per section and value.
const std::vector<std::byte>& large_image(std::uint64_t rows) {
    static std::map<std::uint64_t, std::vector<std::byte>> made;
    auto [at, fresh] = made.try_emplace(rows);
    if (fresh) at->second = make_large_image(rows);
    return at->second;
}

TEST_CASE("a large file is read in chunks and checksummed as it is read", "[snapshot][file]") {
    temp_dir dir;
    const std::uint64_t rows = GENERATE(6000, 20000);  // 6 MB on one thread, 20 MB on two
    const auto& img = large_image(rows);
    REQUIRE(img.size() > (std::size_t{5} << 20));
    const bool split = img.size() >= (std::size_t{16} << 20);
    const std::size_t half = img.size() / 2 / 4096 * 4096;
    const auto path = dir.path / "db.snap";
    const std::size_t body = img.size() - snapshot_checksum_size;
    const auto body_checksum = snapshot_checksum(std::span(img).first(body));
    const auto put = [&](const std::vector<std::byte>& bytes) {
        std::ofstream(path, std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    };
    SECTION("whole, in 4 KiB pages and in huge pages") {
        put(img);
        for (const bool huge : {false, true}) {
            // What relstore::use_huge_pages (relstore/store.hpp) sets.
            relstore::detail::huge_pages_enabled = huge;
            const auto r = snapshot_reader::open(path);
            relstore::detail::huge_pages_enabled = false;
            CHECK(std::vector<std::byte>(r.bytes().begin(), r.bytes().end()) == img);
            CHECK(r.computed_checksum() == body_checksum);
            CHECK(r.table(0).row_count == rows);
        }
    }
    SECTION("in short reads that straddle the chunks") {
        put(img);
        g = {};
        g.max_io = 100'003;
        scoped_file_ops inject(faulty_ops());
        const auto r = snapshot_reader::open(path);
        CHECK(std::vector<std::byte>(r.bytes().begin(), r.bytes().end()) == img);
        CHECK(r.computed_checksum() == body_checksum);
    }
    SECTION("a byte changed in the third chunk, or near the end") {
        auto bad = img;
        const std::size_t at = GENERATE(std::size_t{2} << 20, std::size_t{1} << 30) + 12345;
        bad[std::min(at, img.size() - 100)] ^= std::byte{1};
        put(bad);
        const auto e = load_error(path);
        CHECK(e.code() == errc::checksum_mismatch);
        CHECK_THAT(e.what(), Contains("over bytes 0.." + std::to_string(body)));
        const auto r = snapshot_reader::open(path, checksum_policy::report);
        CHECK(r.computed_checksum() == snapshot_checksum(std::span(bad).first(body)));
        CHECK(r.stored_checksum() == body_checksum);
    }
    SECTION("a changed stored checksum is not hashed with the body") {
        auto bad = img;
        bad.back() ^= std::byte{0x80};
        put(bad);
        const auto r = snapshot_reader::open(path, checksum_policy::report);
        CHECK_FALSE(r.checksum_ok());
        CHECK(r.computed_checksum() == body_checksum);
    }
    SECTION("a read error in the third chunk names its offset") {
        put(img);
        g = {"read", EIO};
        g.fail_on_call = 3;
        scoped_file_ops inject(faulty_ops());
        const auto e = load_error(path);
        CHECK_THAT(e.what(), Contains("read failed at byte 2097152: Input/output error"));
    }
    SECTION("a read error in the second thread's third chunk names its offset") {
        put(img);
        g = {"pread", EIO};
        g.fail_on_call = 3;
        scoped_file_ops inject(faulty_ops());
        if (split) {
            const auto e = load_error(path);
            CHECK_THAT(e.what(), Contains("read failed at byte " + std::to_string(half + (std::size_t{2} << 20)) +
                                          ": Input/output error"));
        } else {
            CHECK(snapshot_reader::open(path).computed_checksum() == body_checksum);  // one thread: no pread
        }
    }
}

TEST_CASE("short reads and writes are resumed", "[snapshot][file]") {
    temp_dir dir;
    const auto img = test::sample_image();
    g = {};
    g.max_io = 7;
    scoped_file_ops inject(faulty_ops());
    write_snapshot_file(dir.path / "db.snap", img);
    CHECK(slurp(dir.path / "db.snap") == img);
    const auto r = snapshot_reader::open(dir.path / "db.snap");
    CHECK(std::vector<std::byte>(r.bytes().begin(), r.bytes().end()) == img);
}

TEST_CASE("a failed save keeps the old snapshot and removes the temporary file", "[snapshot][file][faults]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    const auto old_img = other_image();
    const auto new_img = test::sample_image();
    write_snapshot_file(target, old_img);

    const auto op = GENERATE(as<std::string>{}, "open", "write", "fsync", "close", "rename");
    const auto err = GENERATE(ENOSPC, EIO);
    // With 7-byte writes the save makes ~100 write calls; fail each of the first, a middle and the last.
    const int call = op == std::string("write") ? GENERATE(1, 2, 50, 100) : 1;
    INFO(op << " errno " << err << " on call " << call);

    static std::string op_name;  // g.op must outlive this GENERATE iteration's string
    op_name = op;
    g = {};
    g.op = op_name.c_str();
    g.err = err;
    g.fail_on_call = call;
    g.max_io = 7;
    {
        scoped_file_ops inject(faulty_ops());
        try {
            write_snapshot_file(target, new_img);
            FAIL("the save succeeded");
        } catch (const snapshot_error& e) {
            CHECK(e.code() == make_error_code(errc::io));
            CHECK(e.path() == target.string());
            CHECK_THAT(e.what(), Contains("cannot save: " + op + " failed on temporary file '" +
                                          (dir.path / ".db.snap.tmp-").string()));
            CHECK_THAT(e.what(), Contains(std::strerror(err)));
            CHECK_THAT(e.what(), Contains("the previous snapshot is unchanged"));
        }
    }
    CHECK(slurp(target) == old_img);
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
}

TEST_CASE("a failed save shows the temporary file's and the directory's names escaped", "[snapshot][file][faults]") {
    temp_dir dir;
    const auto odd = dir.path / "odd\ndir\x1b[2J";
    fs::create_directory(odd);
    const auto target = odd / "db.snap";
    write_snapshot_file(target, other_image());
    const bool temp = GENERATE(true, false);
    g = temp ? faults{"write", EIO} : faults{"fsync", EIO, 2};
    scoped_file_ops inject(faulty_ops());
    try {
        write_snapshot_file(target, test::sample_image());
        FAIL("the save succeeded");
    } catch (const snapshot_error& e) {
        CHECK(e.path() == target.string());
        const std::string shown = dir.path.string() + "/odd\\ndir\\x1b[2J";
        CHECK_THAT(e.what(), Contains(temp ? "failed on temporary file '" + shown + "/.db.snap.tmp-"
                                           : "failed on directory '" + shown + "'"));
        CHECK(std::string_view(e.what()).find_first_of("\n\x1b") == std::string_view::npos);
    }
}

TEST_CASE("a failed directory fsync is reported after the rename", "[snapshot][file][faults]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    write_snapshot_file(target, other_image());
    const char* which = GENERATE("open-dir", "fsync");
    g = {which, EIO, std::strcmp(which, "fsync") == 0 ? 2 : 1};
    scoped_file_ops inject(faulty_ops());
    try {
        write_snapshot_file(target, test::sample_image());
        FAIL("the save succeeded");
    } catch (const snapshot_error& e) {
        CHECK_THAT(e.what(), Contains("failed on directory '" + dir.path.string() + "'"));
        CHECK_THAT(e.what(), Contains("the new snapshot is in place but may not be durable"));
    }
    CHECK(slurp(target) == test::sample_image());
}

TEST_CASE("saving to a path without a file name fails clearly", "[snapshot][file][errors]") {
    temp_dir dir;
    CHECK_THROWS_WITH(write_snapshot_file(dir.path / "", other_image()),
                      Contains("cannot save: the path does not name a file"));
    CHECK_THROWS_WITH(write_snapshot_file(dir.path / "missing-dir" / "db.snap", other_image()),
                      Contains("cannot save: open failed on temporary file"));
}

TEST_CASE("a save does not replace a directory, a FIFO or a link to one; nothing is written",
          "[snapshot][file][errors]") {
    // The rename replaced anything of that name: saving as root to /dev/full
    // put a snapshot in place of the device.
    temp_dir dir;
    const auto fifo = dir.path / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const auto subdir = dir.path / "sub";
    fs::create_directory(subdir);
    const auto link = dir.path / "link-to-pipe";
    fs::create_symlink(fifo, link);
    CHECK_THROWS_WITH(write_snapshot_file(fifo, other_image()),
                      Contains("cannot save: the path names a FIFO"));
    CHECK_THROWS_WITH(write_snapshot_file(link, other_image()),
                      Contains("cannot save: the path names a FIFO"));
    CHECK_THROWS_WITH(write_snapshot_file(subdir, other_image()), Contains("cannot save: the path names a directory"));
    CHECK(fs::is_fifo(fifo));
    CHECK(fs::is_symlink(link));
    CHECK(fs::is_directory(subdir));
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
    CHECK(entries == 3);  // no temporary file left behind
    SECTION("a link to a regular file is replaced by the snapshot, as before") {
        const auto target = dir.path / "real.snap";
        write_snapshot_file(target, other_image());
        const auto to_real = dir.path / "link-to-real";
        fs::create_symlink(target, to_real);
        write_snapshot_file(to_real, test::sample_image());
        CHECK(slurp(to_real) == test::sample_image());
    }
}

namespace {

// An image of a few MiB encoded through the pipelined save, which writes it
// in 1 MiB pieces from a second thread while encoding goes on.
constexpr std::size_t big_rows = 120000;

schema_info big_schema() {
    schema_info s;
    s.tables.push_back({"t", {{"id", {column_kind::uint64, false}}, {"s", {column_kind::string, false}}}, {"id"}, false,
                        false, {}, {}});
    return s;
}

void encode_big(snapshot_writer& w) {
    w.begin_table(0);
    for (std::size_t i = 0; i < big_rows; ++i) {
        w.put_u64(i);
        w.put_string("row number " + std::to_string(i) + " of the pipelined save test");
    }
    w.end_table(big_rows);
}

std::vector<std::byte> big_image() {
    snapshot_writer w(big_schema());
    encode_big(w);
    const auto b = w.finish();
    return {b.begin(), b.end()};
}

}  // namespace

TEST_CASE("the pipelined save writes the same bytes as the in-memory one", "[snapshot][file]") {
    temp_dir dir;
    snapshot_writer w(big_schema());
    write_snapshot_file(dir.path / "big.snap", w, [&] { encode_big(w); });
    const auto expected = big_image();
    CHECK(expected.size() > (std::size_t{3} << 20));
    CHECK(slurp(dir.path / "big.snap") == expected);
    CHECK(dir.entries() == std::vector<std::string>{"big.snap"});
    CHECK_NOTHROW(snapshot_reader::open(dir.path / "big.snap").check_rows());
    SECTION("with no thread to be had for the writer: the same bytes, written after the encoding") {
        relstore_test::no_threads none;
        snapshot_writer again(big_schema());
        write_snapshot_file(dir.path / "big.snap", again, [&] { encode_big(again); });
        CHECK(slurp(dir.path / "big.snap") == expected);
        CHECK(dir.entries() == std::vector<std::string>{"big.snap"});
    }
}

namespace {
std::atomic<int> row_writes{0};
std::size_t rows_from = 0;
ssize_t counting_pwrite(int fd, const void* buf, size_t n, off_t off) {
    if (static_cast<std::size_t>(off) >= rows_from) ++row_writes;
    return ::pwrite(fd, buf, n, off);
}
}  // namespace

TEST_CASE("the pipelined save writes rows while it still encodes, even with its size reserved up front",
          "[snapshot][file]") {
    temp_dir dir;
    snapshot_writer w(big_schema());
    rows_from = w.rows_begin();
    row_writes = 0;
    file_ops ops = relstore::detail::system_file_ops();
    ops.pwrite = &counting_pwrite;
    scoped_file_ops inject(ops);
    int during = 0;
    write_snapshot_file(dir.path / "big.snap", w, [&] {
        w.reserve_total(std::size_t{64} << 20);  // as relstore::save does: room for everything at once
        encode_big(w);
        // The thread has had pieces to write since the first MiB; give it time.
        for (int i = 0; i < 500 && row_writes == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        during = row_writes;
    });
    CHECK(during > 0);
    CHECK(slurp(dir.path / "big.snap") == big_image());
}

namespace {

// Runs save with the n-th call of op failing with ENOSPC; checks the error
// names the operation, the temporary file and that the old snapshot stands.
template <class Save>
void refused_with_enospc(const std::string& op, int call, Save&& save) {
    static std::string op_name;
    op_name = op;
    g = {};
    g.op = op_name.c_str();
    g.err = ENOSPC;
    g.fail_on_call = call;
    scoped_file_ops inject(faulty_ops());
    try {
        save();
        FAIL("the save succeeded");
    } catch (const snapshot_error& e) {
        CHECK(e.code() == make_error_code(errc::io));
        CHECK_THAT(e.what(), Contains("cannot save: " + op + " failed on temporary file"));
        CHECK_THAT(e.what(), Contains("No space left on device; the previous snapshot is unchanged"));
    }
}

}  // namespace

namespace {

// The big image's rows through a row_encoder, for the front-to-back save: a
// header from header_for, then chunks. Row 7 has a string of 2.5 MiB, longer
// than a chunk, so it crosses several.
std::string big_string(std::size_t i) {
    if (i == 7) return std::string(std::size_t{5} << 19, 'z');
    return "row number " + std::to_string(i) + " of the streamed test";
}

std::uint64_t big_rows_bytes() {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < big_rows; ++i) n += 8 + 8 + big_string(i).size();
    return n;
}

std::vector<std::byte> big_image_with_long_string() {
    snapshot_writer w(big_schema());
    w.begin_table(0);
    for (std::size_t i = 0; i < big_rows; ++i) w.put_u64(i), w.put_string(big_string(i));
    w.end_table(big_rows, 5);
    const auto b = w.finish();
    return {b.begin(), b.end()};
}

void stream_big(const fs::path& target, std::uint64_t announced = big_rows_bytes()) {
    snapshot_writer header(big_schema());
    const table_extent extent{big_rows, 5, announced};
    write_snapshot_file_streamed(target, header.header_for(std::span(&extent, 1)), [&](detail::row_encoder& out) {
        for (std::size_t i = 0; i < big_rows; ++i) out.put_u64(i), out.put_string(big_string(i));
    });
}

}  // namespace

TEST_CASE("a snapshot written front to back has the same bytes as the in-memory image", "[snapshot][file][stream]") {
    temp_dir dir;
    stream_big(dir.path / "big.snap");
    const auto expected = big_image_with_long_string();
    CHECK(expected.size() > (std::size_t{6} << 20));
    CHECK(slurp(dir.path / "big.snap") == expected);
    CHECK(dir.entries() == std::vector<std::string>{"big.snap"});
    CHECK_NOTHROW(snapshot_reader::open(dir.path / "big.snap").check_rows());
}

TEST_CASE("a front-to-back save whose rows differ from its header fails and writes nothing",
          "[snapshot][file][stream]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    write_snapshot_file(target, other_image());
    try {
        stream_big(target, big_rows_bytes() + 1);
        FAIL("the save succeeded");
    } catch (const usage_error& e) {
        CHECK_THAT(e.what(), Contains("came to " + std::to_string(big_rows_bytes()) + " bytes, not the " +
                                      std::to_string(big_rows_bytes() + 1) + " its header announced"));
    }
    CHECK(slurp(target) == other_image());
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
}

TEST_CASE("header_for refuses extents that do not fit the writer", "[snapshot][file][stream]") {
    snapshot_writer w(big_schema());
    const std::vector<table_extent> two(2);
    CHECK_THROWS_WITH(w.header_for(two), Contains("needs one extent per table: 2 for 1"));
    w.begin_table(0);
    const table_extent one{};
    CHECK_THROWS_WITH(w.header_for(std::span(&one, 1)), Contains("after a table was begun"));
}

TEST_CASE("a failed front-to-back save keeps the old snapshot and removes the temporary file",
          "[snapshot][file][stream][faults]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    const auto old_img = other_image();
    write_snapshot_file(target, old_img);

    const auto op = GENERATE(as<std::string>{}, "open", "write", "fsync", "close", "rename");
    // The header, then 1 MiB chunks, then the checksum: fail the first few writes and a late one.
    const int call = op == std::string("write") ? GENERATE(1, 2, 3, 6) : 1;
    INFO(op << " on call " << call);
    refused_with_enospc(op, call, [&] { stream_big(target); });
    CHECK(slurp(target) == old_img);
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
}

TEST_CASE("an exception from the encoder abandons the front-to-back save", "[snapshot][file][stream]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    write_snapshot_file(target, other_image());
    snapshot_writer header(big_schema());
    const table_extent extent{big_rows, 5, big_rows_bytes()};
    CHECK_THROWS_WITH(write_snapshot_file_streamed(target, header.header_for(std::span(&extent, 1)),
                                                   [&](detail::row_encoder& out) {
                                                       for (std::size_t i = 0; i < big_rows / 2; ++i)
                                                           out.put_u64(i), out.put_string(big_string(i));
                                                       throw std::runtime_error("encoder gave up");
                                                   }),
                      "encoder gave up");
    CHECK(slurp(target) == other_image());
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
}

TEST_CASE("a failed pipelined save keeps the old snapshot and removes the temporary file",
          "[snapshot][file][faults]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    const auto old_img = other_image();
    write_snapshot_file(target, old_img);

    const auto op = GENERATE(as<std::string>{}, "open", "write", "fsync", "close", "rename");
    // The thread writes 1 MiB pieces, the rest and the header follow: fail each of them.
    const int call = op == std::string("write") ? GENERATE(1, 2, 3, 4, 5) : 1;
    INFO(op << " on call " << call);
    refused_with_enospc(op, call, [&] {
        snapshot_writer w(big_schema());
        write_snapshot_file(target, w, [&] { encode_big(w); });
    });
    CHECK(slurp(target) == old_img);
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
}

TEST_CASE("an exception from the encoder abandons the pipelined save", "[snapshot][file]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    write_snapshot_file(target, other_image());
    snapshot_writer w(big_schema());
    CHECK_THROWS_WITH(write_snapshot_file(target, w,
                                          [&] {
                                              encode_big(w);
                                              throw std::runtime_error("encoder gave up");
                                          }),
                      "encoder gave up");
    CHECK(slurp(target) == other_image());
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
}

namespace {

// The temporary files of target db.snap in dir, by name.
std::vector<std::string> temporaries(const temp_dir& dir, const std::string& target = "db.snap") {
    std::vector<std::string> out;
    for (const auto& e : dir.entries())
        if (e.starts_with("." + target + ".tmp-")) out.push_back(e);
    return out;
}

void touch(const fs::path& p) { std::ofstream(p, std::ios::binary) << "partial snapshot"; }

}  // namespace

TEST_CASE("leftover temporary files with the names an earlier scheme reused neither fail a save nor stay",
          "[snapshot][file][temporary]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    // Temporary files were named .db.snap.tmp-PID-N, N counting this process's
    // saves from 0: a restarted process with the same pid (pid 1 in a
    // container) met the files of its killed predecessor and failed with
    // "File exists". These are the names of this process's first saves.
    for (int n = 0; n < 4096; ++n)
        touch(dir.path / (".db.snap.tmp-" + std::to_string(::getpid()) + "-" + std::to_string(n)));
    touch(dir.path / ".db.snap2.tmp-0123456789abcdef");  // another target's
    touch(dir.path / "db.snap.tmp-1");                    // not a temporary name
    REQUIRE(temporaries(dir).size() == 4096);

    write_snapshot_file(target, other_image());
    CHECK(slurp(target) == other_image());
    // Nobody held them: all are gone, and nothing else.
    CHECK(temporaries(dir).empty());
    CHECK(dir.entries() == std::vector<std::string>{".db.snap2.tmp-0123456789abcdef", "db.snap", "db.snap.tmp-1"});
}

TEST_CASE("a temporary file whose lock a live process holds is not removed", "[snapshot][file][temporary]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    const auto live = dir.path / ".db.snap.tmp-00000000deadbeef";
    touch(live);
    // Another open file description conflicts with a cleaner's flock as a
    // live save in another process would.
    const int fd = ::open(live.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    write_snapshot_file(target, other_image());
    CHECK(temporaries(dir) == std::vector<std::string>{live.filename().string()});
    ::close(fd);  // its writer is gone: the next save removes it
    write_snapshot_file(target, test::sample_image());
    CHECK(temporaries(dir).empty());
    CHECK(slurp(target) == test::sample_image());
}

namespace {
// Set by the pwrite hook below: whether a save's own temporary file could be locked while it was written.
std::atomic<int> lock_probe{0};  // 0 not probed, 1 lock refused (held), 2 lock taken (not held)
std::string probe_dir;
}  // namespace

TEST_CASE("a save holds a lock on its temporary file while it writes it", "[snapshot][file][temporary]") {
    temp_dir dir;
    probe_dir = dir.path.string();
    lock_probe = 0;
    file_ops ops = real;
    ops.pwrite = [](int fd, const void* b, size_t n, off_t off) -> ssize_t {
        if (lock_probe == 0) {
            for (const auto& e : fs::directory_iterator(probe_dir)) {
                if (!e.path().filename().string().starts_with(".db.snap.tmp-")) continue;
                const int probe = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
                if (probe < 0) continue;
                lock_probe = ::flock(probe, LOCK_EX | LOCK_NB) == 0 ? 2 : 1;
                ::close(probe);
            }
        }
        return real.pwrite(fd, b, n, off);
    };
    {
        scoped_file_ops inject(ops);
        write_snapshot_file(dir.path / "db.snap", test::sample_image());
    }
    CHECK(lock_probe == 1);
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
}

TEST_CASE("concurrent saves of one target never remove each other's temporary files",
          "[snapshot][file][temporary]") {
    temp_dir dir;
    const auto target = dir.path / "db.snap";
    const auto a = test::sample_image();
    const auto b = other_image();
    std::atomic<int> failures{0};  // Catch2 assertions are not thread-safe: count, check later
    auto saver = [&](const std::vector<std::byte>& img) {
        for (int i = 0; i < 40; ++i) {
            try {
                write_snapshot_file(target, img);
            } catch (const snapshot_error&) {
                ++failures;
            }
        }
    };
    std::thread t1(saver, std::cref(a));
    std::thread t2(saver, std::cref(b));
    t1.join();
    t2.join();
    CHECK(failures == 0);
    const auto now = slurp(target);
    CHECK((now == a || now == b));
    CHECK(dir.entries() == std::vector<std::string>{"db.snap"});
}

TEST_CASE("a target name near the file-name limit still gets temporary files, and their cleanup",
          "[snapshot][file][temporary]") {
    temp_dir dir;
    const std::string name(250, 'n');
    const auto target = dir.path / name;
    write_snapshot_file(target, other_image());
    CHECK(slurp(target) == other_image());
    CHECK(dir.entries() == std::vector<std::string>{name});
    // A killed save's temporary file for it: the name a save would give one.
    std::string temp;
    file_ops ops = real;
    static std::string* seen;
    seen = &temp;
    ops.open = [](const char* p, int f, mode_t m) {
        if ((f & O_CREAT) != 0) *seen = fs::path(p).filename().string();
        return real.open(p, f, m);
    };
    {
        scoped_file_ops inject(ops);
        write_snapshot_file(target, test::sample_image());
    }
    REQUIRE(!temp.empty());
    CHECK(temp.size() <= 255);
    CHECK(temp.find(".tmp-") != std::string::npos);
    const std::string stale = temp.substr(0, temp.size() - 16) + "0000000000000000";
    touch(dir.path / stale);
    write_snapshot_file(target, other_image());
    CHECK(dir.entries() == std::vector<std::string>{name});
}

}  // namespace file_test
