// Control for fields_missing_member and fields_unchecked_row: a complete list
// compiles, whatever the column types and the order of the list, so their
// failures come from the missing members.
#include <relstore/fields.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace shop {

enum class status : std::uint8_t { open, closed };
enum legacy_kind { plain, fancy };

struct Everything {
    std::int64_t id{};
    std::optional<std::int64_t> parent_id;
    std::string name;
    std::optional<std::string> nickname;
    status state{};
    std::optional<status> previous;
    legacy_kind kind{};
    bool active{};
    std::optional<bool> verified;
    double price{};
    std::optional<double> weight;
    float ratio{};
    std::uint8_t small{};
    std::int16_t medium{};
    std::uint64_t big{};
    std::string note = "default member initializers are fine";
};
RELSTORE_FIELDS(Everything, id, parent_id, name, nickname, state, previous, kind, active, verified, price, weight,
                ratio, small, medium, big, note)

// Listed in another order than declared.
struct Reordered {
    std::string b;
    std::int64_t a{};
};
RELSTORE_FIELDS(Reordered, a, b)

struct Single {
    std::optional<std::string> only;
};
RELSTORE_FIELDS(Single, only)

static_assert(relstore::field_count<Everything> == 16);

}  // namespace shop

int main() {}
