// RELSTORE_FIELDS must list every member of its row type: snapshots and the
// CLI see a row only through that list, so a member left out would silently
// be dropped. A member left out first, in the middle and last, among members
// of every column type (the count must not stop early at an optional, a
// string or an enum); the compiler reports each, as the `expect:` line
// above it says (expect_diagnostics.cmake).
#include <relstore/fields.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace shop {

enum class status : std::uint8_t { open, closed };

struct MissingFirst {
    std::int64_t id{};  // not listed
    std::string name;
    status state{};
    std::optional<std::string> note;
};
// expect: RELSTORE_FIELDS\(MissingFirst, \.\.\.\) does not list every member of MissingFirst \(it lists 3\)
RELSTORE_FIELDS(MissingFirst, name, state, note)

struct MissingMiddle {
    std::int64_t id{};
    std::optional<std::int64_t> parent_id;
    std::string name;  // not listed
    bool active{};
    double price{};
};
// expect: RELSTORE_FIELDS\(MissingMiddle, \.\.\.\) does not list every member of MissingMiddle \(it lists 4\)
RELSTORE_FIELDS(MissingMiddle, id, parent_id, active, price)

struct MissingLast {
    std::int64_t id{};
    status state{};
    std::string name;
    std::optional<status> previous;  // not listed
};
// expect: RELSTORE_FIELDS\(MissingLast, \.\.\.\) does not list every member of MissingLast \(it lists 3\)
RELSTORE_FIELDS(MissingLast, id, state, name)

// Two left out, and the list in another order than the members.
struct MissingTwo {
    std::int64_t id{};
    std::optional<double> weight;
    std::string a;
    std::string b;
};
// expect: RELSTORE_FIELDS\(MissingTwo, \.\.\.\) does not list every member of MissingTwo \(it lists 2\)
RELSTORE_FIELDS(MissingTwo, b, id)

}  // namespace shop

int main() {}
