// Control for fields_missing_member and fields_unchecked_row: a complete list
// compiles, whatever the column types and the order of the list, so their
// failures come from the missing members.
#include <relstore/fields.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace shop {

enum class status : std::uint8_t { open, closed };
RELSTORE_ENUM(status, open, closed)
enum legacy_kind { plain, fancy };

struct Money {
    std::int64_t cents{};
    friend auto operator<=>(const Money&, const Money&) = default;
};

}  // namespace shop

template <>
struct relstore::column_traits<shop::Money> {
    using stored_type = std::int64_t;
    static stored_type to_stored(const shop::Money& m) { return m.cents; }
    static shop::Money from_stored(stored_type c) { return {c}; }
};

namespace shop {

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
    std::chrono::sys_time<std::chrono::milliseconds> at;
    std::optional<std::chrono::sys_days> day;
    std::chrono::duration<std::int32_t, std::milli> timeout{};
    std::vector<std::byte> digest;
    std::optional<std::vector<std::byte>> thumbnail;
    Money cost;
    std::optional<Money> refund;
};
RELSTORE_FIELDS(Everything, id, parent_id, name, nickname, state, previous, kind, active, verified, price, weight,
                ratio, small, medium, big, note, at, day, timeout, digest, thumbnail, cost, refund)

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

static_assert(relstore::field_count<Everything> == 23);

}  // namespace shop

int main() {}
