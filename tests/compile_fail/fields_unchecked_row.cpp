// RELSTORE_FIELDS refuses a list it cannot prove complete: one that names a
// member twice (it would stand in for a member left out), a row type that is
// not an aggregate, and one with a base class (relstore counts a row's
// members by aggregate initialization, which sees neither a constructor's
// members nor a base's). The compiler reports each, as the `expect:` line
// above it says (expect_diagnostics.cmake).
#include <relstore/fields.hpp>

#include <cstdint>
#include <string>

struct ListedTwice {
    std::int64_t id{};
    std::string name;
    std::string email;  // left out, and name listed twice in its place
};
// expect: RELSTORE_FIELDS\(ListedTwice, \.\.\.\) lists a member twice
RELSTORE_FIELDS(ListedTwice, id, name, name)

struct WithConstructor {
    WithConstructor() = default;  // a user-declared constructor: not an aggregate in C++20
    std::int64_t id{};
    std::string name;
};
// expect: RELSTORE_FIELDS\(WithConstructor, \.\.\.\): WithConstructor is not an aggregate
RELSTORE_FIELDS(WithConstructor, id, name)

struct Stamped {
    std::int64_t created{};
};
struct WithBase : Stamped {
    std::int64_t id{};
};
// expect: RELSTORE_FIELDS\(WithBase, \.\.\.\): WithBase has a base class
RELSTORE_FIELDS(WithBase, created, id)

int main() {}
