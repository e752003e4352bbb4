// A consumer of relstore, built against the installed package (CMake or
// pkg-config) or with relstore as a subproject: it uses every compiled part
// (error category, schema_dot, snapshot files with their xxHash checksums), so
// a missing symbol or library fails the link or the run, and it exits non-zero
// when what it reads back is wrong.
#include "items.hpp"

#include <relstore/snapshot.hpp>
#include <relstore/version.hpp>

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

namespace {

int fail(std::string_view what) {
    std::cerr << "consumer: " << what << '\n';
    return 1;
}

}  // namespace

int main() {
    using consumer::Item;
    static_assert(RELSTORE_VERSION ==
                  RELSTORE_VERSION_MAJOR * 10000 + RELSTORE_VERSION_MINOR * 100 + RELSTORE_VERSION_PATCH);
#ifdef RELSTORE_CONSUMER_EXPECTED_VERSION
    // The package's version (relstoreConfigVersion.cmake or relstore.pc) and the header's must agree.
    if (std::string_view(RELSTORE_VERSION_STRING) != RELSTORE_CONSUMER_EXPECTED_VERSION)
        return fail("the package is version " + std::string(RELSTORE_CONSUMER_EXPECTED_VERSION) +
                    " but relstore/version.hpp says " RELSTORE_VERSION_STRING);
#endif

    consumer::store db;
    {
        auto tx = db.write();
        tx.insert(Item{.name = "kunai"});
        tx.commit();
    }
    {
        const auto q = db.read();  // the row is valid while its scope lives
        const Item* found = q.find<&Item::name>("kunai");
        if (!found || found->id != 1) return fail("the stored row was not found");
    }

    try {
        auto tx = db.write();
        tx.insert(Item{.name = "kunai"});
        return fail("a duplicate name was accepted");
    } catch (const relstore::constraint_error& e) {
        if (std::string_view(e.code().category().name()) != "relstore" ||
            std::string_view(e.what()).find("items.name") == std::string_view::npos)
            return fail(std::string("unexpected error: ") + e.what());
    }

    if (relstore::schema_dot<consumer::store>().find("\"items\" [label=") == std::string::npos)
        return fail("schema_dot does not draw the items table");

    const auto file = std::filesystem::temp_directory_path() /
                      ("relstore-consumer-" + std::to_string(::getpid()) + ".snap");
    relstore::save(db, file);
    consumer::store loaded;
    relstore::load(loaded, file);
    std::filesystem::remove(file);
    const auto q = loaded.read();
    const Item* reloaded = q.find<&Item::name>("kunai");
    if (!reloaded || reloaded->id != 1) return fail("the snapshot did not bring the row back");

    std::cout << "consumer: ok\n";
    return 0;
}
