// relstore::load reads a snapshot file twice through small buffers, never
// whole: once for its checksum, then table by table as the rows are decoded
// (snapshot_reader::open_streamed). Whatever the window, a load gives and
// refuses exactly what a load from the whole image gives and refuses; a file
// changed in place between the two reads is refused, the store unchanged.

#include "temp_dir.hpp"
#include "checks.hpp"
#include "store_image.hpp"

#include <relstore/detail/snapshot_file_ops.hpp>
#include <relstore/relstore.hpp>
#include <relstore/snapshot.hpp>

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace streamed_test {

namespace rs = relstore;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using relstore_test::capture_store;
using relstore_test::diff;

struct User {
    std::int64_t id{};
    std::string name;
};
RELSTORE_FIELDS(User, id, name)

struct Post {
    std::int64_t id{};
    std::int64_t author_id{};
    std::string title;
    std::optional<std::string> note;
};
RELSTORE_FIELDS(Post, id, author_id, title, note)

using users = rs::table<"users", User, rs::hashed_auto_key<&User::id>, rs::unique<&User::name>>;
using posts = rs::table<"posts", Post, rs::hashed_auto_key<&Post::id>,
                        rs::hashed_references<&Post::author_id, users, rs::on_delete::cascade>>;
using store = rs::store<users, posts>;

struct temp_dir : relstore_test::temp_dir {
    temp_dir() : relstore_test::temp_dir("relstore-streamed") {}
};

void fill(store& db, int n_users, int n_posts, std::uint64_t seed = 3) {
    std::mt19937_64 rng(seed);
    auto tx = db.write();
    for (int u = 0; u < n_users; ++u) tx.insert(User{0, "user " + std::to_string(u)});
    for (int p = 0; p < n_posts; ++p) {
        std::optional<std::string> note;
        if (rng() % 3 == 0) note = std::string(static_cast<std::size_t>(rng() % 40), 'n');
        tx.insert(Post{0, static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(n_users)),
                       "a title of post " + std::to_string(rng()), note});
    }
    tx.commit();
}

constexpr std::size_t whole_image = 0;

/// What loading p into db gives: "loaded" or the error's message. window:
/// the streamed reader's, or whole_image for snapshot_reader::open.
std::string outcome(store& db, const fs::path& p, std::size_t window) {
    try {
        auto r = window == whole_image ? rs::snapshot_reader::open(p) : rs::snapshot_reader::open_streamed(p, window);
        rs::detail::load_from(db, r, {});
    } catch (const rs::snapshot_error& e) {
        return e.what();
    }
    return "loaded";
}

std::vector<char> file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::vector<char>& b) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
    REQUIRE(out);
}

/// Stores the checksum of b's bytes before it, so that a damaged row reaches the decoders.
void fix_checksum(std::vector<char>& b) {
    if (b.size() < rs::snapshot_checksum_size) return;
    const std::size_t body = b.size() - rs::snapshot_checksum_size;
    std::uint64_t c = rs::snapshot_checksum({reinterpret_cast<const std::byte*>(b.data()), body});
    for (std::size_t i = 0; i < 8; ++i) b[body + i] = static_cast<char>((c >> (8 * i)) & 0xff);
}

/// Loads p whole and streamed through each window; every load must give the
/// same store as the whole image's.
void check_windows(const fs::path& p, const store& saved, std::initializer_list<std::size_t> windows) {
    store whole;
    REQUIRE(outcome(whole, p, whole_image) == "loaded");
    CHECK(diff(capture_store(saved), capture_store(whole), false) == "");
    for (const std::size_t w : windows) {
        INFO("window " << w);
        store streamed;
        REQUIRE(outcome(streamed, p, w) == "loaded");
        CHECK(diff(capture_store(whole), capture_store(streamed), false) == "");
    }
}

TEST_CASE("a streamed load gives the store a load of the whole image gives, whatever its window",
          "[snapshot][load][streamed]") {
    temp_dir dir;
    const auto p = dir.path / "s.snap";
    SECTION("rows decoded in file order, windows shorter than a cell") {
        store db;
        fill(db, 60, 900);
        rs::save(db, p);
        check_windows(p, db, {1, 2, 7, 64, 4096, rs::snapshot_reader::default_stream_window});
    }
    SECTION("a large table saved grouped by its parent, decoded front to back") {
        store db;
        fill(db, 500, 6000);
        rs::save(db, p);
        check_windows(p, db, {13});
    }
    SECTION("a large table in key order (an older file), put in order from the rows held whole") {
        store db;
        fill(db, 500, 6000);
        // Posts in key order, their authors at random, as relstore saved
        // them before it grouped them.
        rs::snapshot_writer w(rs::describe<store>());
        auto q = db.read();
        w.begin_table(0);
        std::vector<const User*> us;
        for (const User& u : q.all<users>()) us.push_back(&u);
        std::sort(us.begin(), us.end(), [](auto* a, auto* b) { return a->id < b->id; });
        for (const User* u : us) w.put_row(std::vector<rs::value>{u->id, u->name});
        w.end_table(us.size(), 501);
        w.begin_table(1);
        std::vector<const Post*> ps;
        for (const Post& x : q.all<posts>()) ps.push_back(&x);
        std::sort(ps.begin(), ps.end(), [](auto* a, auto* b) { return a->id < b->id; });
        for (const Post* x : ps)
            w.put_row(std::vector<rs::value>{x->id, x->author_id, x->title,
                                             x->note ? rs::value{*x->note} : rs::value{}});
        w.end_table(ps.size(), 6001);
        rs::write_snapshot_file(p, w.finish());
        check_windows(p, db, {13});
    }
}

TEST_CASE("a streamed load refuses a damaged file with the error a load of the whole image gives",
          "[snapshot][load][streamed][errors]") {
    temp_dir dir;
    const auto p = dir.path / "damaged.snap";
    store src;
    fill(src, 12, 40);
    rs::save(src, p);
    const auto good = file_bytes(p);
    int refused = 0, loaded = 0;
    const auto compare = [&](const std::vector<char>& bytes) {
        write_bytes(p, bytes);
        store whole;
        const auto expected = outcome(whole, p, whole_image);
        (expected == "loaded" ? loaded : refused) += 1;
        for (const std::size_t w : {std::size_t{1}, std::size_t{7}}) {
            store streamed;
            INFO("window " << w);
            REQUIRE(outcome(streamed, p, w) == expected);
            if (expected == "loaded") REQUIRE(diff(capture_store(whole), capture_store(streamed), false) == "");
        }
    };
    // Every fifth byte, flipped whole or in its lowest bit by turns: a
    // length, a count, a presence byte or a key each goes wrong somewhere.
    for (std::size_t at = 0; at < good.size(); at += 5) {
        INFO("byte " << at);
        auto bytes = good;
        bytes[at] = static_cast<char>(bytes[at] ^ (at % 10 == 0 ? '\xff' : '\x01'));
        if (at + rs::snapshot_checksum_size < bytes.size()) fix_checksum(bytes);
        compare(bytes);
    }
    for (const std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{20}, std::size_t{39},
                                  std::size_t{40}, good.size() / 2, good.size() - 1}) {
        INFO("cut to " << cut);
        compare(std::vector<char>(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut)));
    }
    // Both kinds of outcome happened: the comparison was not of one error alone.
    CHECK(refused > 100);
    CHECK(loaded > 5);
}

/// A saved store, and another of a few rows that a refused load must leave as they are.
struct saved_file {
    temp_dir dir;
    fs::path p = dir.path / "s.snap";
    store src, db;
    relstore_test::store_image before;
    saved_file() {
        fill(src, 30, 200);
        rs::save(src, p);
        fill(db, 3, 3, 9);
        before = capture_store(db);
    }
    /// Loads r into db: "loaded", or the message of the io error it must refuse with.
    std::string io_refusal(const rs::snapshot_reader& r) {
        try {
            rs::detail::load_from(db, r, {});
        } catch (const rs::snapshot_error& e) {
            CHECK(e.code() == rs::errc::io);
            return e.what();
        }
        return "loaded";
    }
};

TEST_CASE("a streamed load refuses a file changed in place after its checksum was read; a rename is no change",
          "[snapshot][load][streamed][errors]") {
    saved_file f;
    auto r = rs::snapshot_reader::open_streamed(f.p, 64);
    SECTION("rewritten in place") {
        {
            std::fstream out(f.p, std::ios::binary | std::ios::in | std::ios::out);
            out.seekp(100);
            out.put('x');
        }
        // A clock that does not tick between the two writes cannot hide it.
        fs::last_write_time(f.p, fs::last_write_time(f.p) + std::chrono::hours(1));
        CHECK_THAT(f.io_refusal(r), Contains("the file changed while it was loaded"));
        CHECK(diff(f.before, capture_store(f.db)) == "");
    }
    SECTION("cut short") {
        fs::resize_file(f.p, fs::file_size(f.p) / 2);
        CHECK_THAT(f.io_refusal(r), Contains("the file ends here") && Contains("it changed while it was loaded"));
        CHECK(diff(f.before, capture_store(f.db)) == "");
    }
    SECTION("another file renamed over it: the reader holds the one it opened") {
        store other;
        fill(other, 5, 5, 11);
        rs::save(other, f.dir.path / "other.snap");
        fs::rename(f.dir.path / "other.snap", f.p);
        CHECK(f.io_refusal(r) == "loaded");
        CHECK(diff(capture_store(f.src), capture_store(f.db), false) == "");
    }
}

/// pread fails with EIO at or after byte `from` once `armed`.
struct failing_pread {
    static inline std::uint64_t from = 0;
    static inline bool armed = false;
    static ssize_t pread(int fd, void* buf, size_t n, off_t offset) {
        if (armed && static_cast<std::uint64_t>(offset) >= from) {
            errno = EIO;
            return -1;
        }
        return rs::detail::system_file_ops().pread(fd, buf, n, offset);
    }
};

TEST_CASE("a failed read of a streamed load names its byte and leaves the store as it was",
          "[snapshot][load][streamed][errors]") {
    saved_file f;
    auto ops = rs::detail::system_file_ops();
    ops.pread = &failing_pread::pread;
    failing_pread::armed = false;
    const rs::detail::scoped_file_ops inject(ops);
    SECTION("while the rows are decoded") {
        auto r = rs::snapshot_reader::open_streamed(f.p);
        failing_pread::from = r.table(1).rows_offset;
        failing_pread::armed = true;
        CHECK_THAT(f.io_refusal(r), Contains("read failed at byte " + std::to_string(failing_pread::from)) &&
                                        Contains("Input/output error"));
    }
    SECTION("while the checksum is computed") {
        failing_pread::from = 0;
        failing_pread::armed = true;
        CHECK_THROWS_WITH(rs::load(f.db, f.p), Contains("read failed at byte 0") && Contains("Input/output error"));
    }
    failing_pread::armed = false;
    CHECK(diff(f.before, capture_store(f.db)) == "");
}

TEST_CASE("a streamed reader needs a window of a byte at least", "[snapshot][load][streamed][errors]") {
    temp_dir dir;
    store src;
    fill(src, 2, 2);
    rs::save(src, dir.path / "s.snap");
    CHECK_THROWS_AS(rs::snapshot_reader::open_streamed(dir.path / "s.snap", 0), rs::usage_error);
    CHECK(rs::snapshot_reader::open_streamed(dir.path / "s.snap", 1).streamed());
    CHECK_FALSE(rs::snapshot_reader::open(dir.path / "s.snap").streamed());
}

}  // namespace streamed_test
