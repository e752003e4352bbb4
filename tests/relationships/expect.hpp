#pragma once
// Catches the constraint_error a write must throw, so a test can check its
// code, table, columns and message.

#include <catch2/catch.hpp>
#include <relstore/relstore.hpp>

#include <stdexcept>
#include <string>

namespace rel {

template <class F>
relstore::constraint_error constraint_error_from(F&& f) {
    try {
        f();
    } catch (const relstore::constraint_error& e) {
        return e;
    }
    FAIL("expected a relstore::constraint_error");
    throw std::logic_error("unreachable");
}

}  // namespace rel
