#include "io_schema.hpp"

#include <relstore/archive.hpp>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/archive/text_iarchive.hpp>
#include <boost/archive/text_oarchive.hpp>
#include <boost/archive/xml_iarchive.hpp>
#include <boost/archive/xml_oarchive.hpp>

#include <catch2/catch.hpp>
#include <store_image.hpp>

#include <exception>
#include <optional>
#include <sstream>
#include <string>

namespace archive_test {

namespace {

using relstore_test::capture_store;
using relstore_test::diff;

template <class Store>
std::string text_archive(const Store& db) {
    std::ostringstream os;
    {
        boost::archive::text_oarchive oa(os);
        oa << db;
    }
    return os.str();
}

// A store with other contents, to show that a load replaces them.
void fill_other(io::store& db) {
    auto tx = db.write();
    tx.insert(io::Kind{.name = "to be replaced"});
    tx.commit();
}

// Loads text into db, requires the error and that db is exactly as before.
void refused(io::store& db, const std::string& text, relstore::errc code, const std::string& message) {
    const auto before = capture_store(db);
    std::istringstream is(text);
    boost::archive::text_iarchive ia(is);
    try {
        ia >> db;
        FAIL("the archive was loaded");
    } catch (const relstore::error& e) {
        CHECK(e.code() == code);
        if (!message.empty()) CHECK(std::string(e.what()) == message);
    }
    CHECK(diff(before, capture_store(db)).empty());
}

// Replaces the first `from` after the `after` text in s.
std::string edited(std::string s, const std::string& after, const std::string& from, const std::string& to) {
    const auto at = s.find(from, s.find(after));
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("a store with every column type reads back from text, XML and binary archives", "[io][archive]") {
    io::store db;
    io::fill(db);
    {
        // A next key above the largest key (a row erased) is kept.
        auto tx = db.write();
        tx.erase(tx.insert(io::Kind{.name = "erased"}));
        tx.commit();
    }
    io::store copy;
    fill_other(copy);
    SECTION("text") {
        std::istringstream is(text_archive(db));
        boost::archive::text_iarchive ia(is);
        ia >> copy;
    }
    SECTION("XML") {
        std::ostringstream os;
        {
            boost::archive::xml_oarchive oa(os);
            oa << boost::serialization::make_nvp("store", db);
        }
        INFO(os.str());
        CHECK(os.str().find("<tint>2</tint>") != std::string::npos);
        std::istringstream is(os.str());
        boost::archive::xml_iarchive ia(is);
        ia >> boost::serialization::make_nvp("store", copy);
    }
    SECTION("binary") {
        std::ostringstream os;
        {
            boost::archive::binary_oarchive oa(os);
            oa << db;
        }
        std::istringstream is(os.str());
        boost::archive::binary_iarchive ia(is);
        ia >> copy;
    }
    CHECK(diff(capture_store(db), capture_store(copy), false).empty());
    auto tx = copy.write();
    CHECK(tx.insert(io::Kind{.name = "next"}).id == 4);
}

TEST_CASE("an archive that does not fit the store is refused and the store is unchanged", "[io][archive]") {
    io::store source;
    io::fill(source);
    const std::string good = text_archive(source);
    io::store db;
    fill_other(db);
    using relstore::errc;
    SECTION("a truncated archive") {
        // Cut before the checksum: the read of it fails.
        refused(db, good.substr(0, good.rfind(' ')), errc::bad_input,
                "archive: the archive is truncated or malformed (input stream error)");
        for (std::size_t quarter = 1; quarter < 4; ++quarter)
            refused(db, good.substr(0, good.size() * quarter / 4), errc::bad_input, {});
        refused(db, good.substr(0, good.size() / 2), errc::bad_input,
                "archive: the archive is truncated or malformed (in its schema)");
    }
    SECTION("a damaged archive") {
        // The first kind's name "tools" made "tooms": every value is valid, the checksum is not.
        refused(db, edited(good, "5 tools", "5 tools", "5 tooms"), errc::bad_input,
                "archive: the checksum does not match the archive's contents (the archive is damaged)");
    }
    SECTION("an archive of another schema") {
        io::other_store other;
        refused(db, text_archive(other), errc::schema_mismatch,
                "archive: the archive's schema differs from the store's: the archive has \"table kinds key (id) "
                "auto ordered\" where the store has \"table items key (id) auto ordered\"");
    }
    SECTION("another format version") {
        refused(db, edited(good, "serialization::archive", " 1 ", " 9 "), errc::unsupported_version,
                "archive: format version 9 is not one this relstore reads (1)");
    }
    SECTION("a value its column's check refuses") {
        refused(db, edited(good, "5 tools", "5 tools", "9 forbidden"), errc::check_violation,
                "archive: table 'kinds', row 0: kinds.name = \"forbidden\" violates the check \"allowed\"");
    }
    SECTION("a duplicate key") {
        // The second kind's key made 1, as the first one's.
        refused(db, edited(good, "5 tools", " 2 ", " 1 "), errc::duplicate_key,
                "archive: table 'kinds', row 1: kinds.id = 1 already exists");
    }
    SECTION("a dangling foreign key") {
        // The first item's kind_id (1) made 9: its ref is the last column but kind_id and parent_id.
        refused(db, edited(good, "ab000000000000000000000000000002 1 ", "02 1 ", "02 9 "),
                errc::foreign_key_violation, "archive: table 'items', row 0: items.kind_id = 9 references no row in kinds");
    }
    SECTION("a next key below a key") {
        refused(db, edited(good, "5 kinds", "5 kinds 3 ", "5 kinds 2 "), errc::bad_input,
                "archive: table 'kinds': the next auto key 2 is not above every key of the table, or does not fit "
                "its type");
    }
}

TEST_CASE("every prefix of an archive is refused with a relstore error", "[io][archive]") {
    io::store source;
    io::fill(source);
    const std::string good = text_archive(source);
    io::store db;
    fill_other(db);
    const auto before = capture_store(db);
    // From past Boost's own header, which the archive's constructor reads.
    const std::size_t start = good.find("serialization::archive") + 30;
    for (std::size_t n = start; n <= good.find_last_not_of(" \n"); ++n) {  // not the last digit's newline
        std::istringstream is(good.substr(0, n));
        boost::archive::text_iarchive ia(is);
        CHECK_THROWS_AS(ia >> db, relstore::error);
    }
    CHECK(diff(before, capture_store(db)).empty());
}

TEST_CASE("a truncated or damaged binary archive is refused with a relstore error", "[io][archive]") {
    io::store source;
    io::fill(source);
    std::ostringstream os;
    {
        boost::archive::binary_oarchive oa(os);
        oa << source;
    }
    const std::string good = os.str();
    io::store db;
    fill_other(db);
    const auto before = capture_store(db);
    const auto load = [&](const std::string& bytes) {
        std::istringstream is(bytes);
        std::optional<boost::archive::binary_iarchive> ia;
        try {
            ia.emplace(is);
        } catch (const std::exception&) {
            return;  // Boost's own header is cut or damaged: refused before relstore reads anything
        }
        CHECK_THROWS_AS(*ia >> db, relstore::error);
    };
    for (std::size_t n = 0; n < good.size(); ++n) load(good.substr(0, n));
    // Not every byte damaged in turn: a changed length makes Boost allocate
    // and zero-fill gigabytes before the read fails, and a changed byte of
    // Boost's own header may change nothing. A value inside a string:
    std::string damaged = good;
    damaged[good.find("tools")] = 'u';
    load(damaged);
    // The schema's length made larger than a string can be.
    damaged = good;
    damaged[good.find("table ") - 1] = '\xff';
    load(damaged);
    CHECK(diff(before, capture_store(db)).empty());
}

}  // namespace archive_test
