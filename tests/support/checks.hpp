#pragma once
// Catch2 helpers for the core tests: a call that must be refused with a given
// error and leave the store exactly as it was.

#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>

#include "store_image.hpp"

#include <functional>
#include <optional>
#include <string>

namespace relstore_test {

/// The full what() of a relstore error with this message and code: the
/// message alone (relstore::error keeps std::system_error from appending the
/// code's description), which must also be the code's category's.
inline std::string full_message(const std::string& message, relstore::errc code) {
    CHECK(relstore::make_error_code(code).category() == relstore::error_category());
    return message;
}

/// True when write() on this thread is refused with usage_error: the thread
/// holds a read scope of db (the transaction would wait for it forever).
template <class Store>
bool write_refused(Store& db) {
    try {
        db.write().rollback();
        return false;
    } catch (const relstore::usage_error&) {
        return true;
    }
}

/// Runs call, which must throw Error; checks that the scope (a transaction or
/// a read scope) sees exactly the same store afterwards, rows at the same
/// addresses, and returns the exception for further checks.
template <class Error = relstore::constraint_error, class Scope, class Call>
std::optional<Error> refused(const Scope& scope, Call&& call) {
    const store_image before = capture(scope);
    std::optional<Error> caught;
    try {
        std::invoke(std::forward<Call>(call));
    } catch (const Error& e) {
        caught = e;
    }
    if (!caught) FAIL_CHECK("the call was not refused");
    CHECK(diff(before, capture(scope)) == "");
    return caught;
}

/// As refused(), and checks the error's code, table, columns and message.
template <class Scope, class Call>
void refused_with(const Scope& scope, relstore::errc code, const std::string& table, const std::string& columns,
                  const std::string& message, Call&& call) {
    auto e = refused(scope, std::forward<Call>(call));
    if (!e) return;
    CHECK(e->code() == relstore::make_error_code(code));
    CHECK(e->table() == table);
    CHECK(e->columns() == columns);
    CHECK(std::string(e->what()) == full_message(message, code));
}

}  // namespace relstore_test
