#include <relstore/error.hpp>

#include <string>

namespace relstore {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "relstore"; }

    std::string message(int code) const override {
        switch (static_cast<errc>(code)) {
        case errc::duplicate_key: return "duplicate primary key";
        case errc::unique_violation: return "unique constraint violated";
        case errc::foreign_key_violation: return "foreign key violated";
        case errc::restrict_violation: return "erase restricted by referencing rows";
        case errc::cycle: return "cycle in an acyclic relationship";
        case errc::not_found: return "row not found";
        case errc::key_changed: return "primary key cannot be changed by update";
        case errc::usage: return "API misuse";
        case errc::io: return "I/O error";
        case errc::bad_snapshot: return "malformed snapshot";
        case errc::checksum_mismatch: return "snapshot checksum mismatch";
        case errc::unsupported_version: return "unsupported snapshot format version";
        case errc::incompatible_platform: return "snapshot written on an incompatible platform";
        case errc::schema_mismatch: return "snapshot schema does not match the store";
        case errc::invalid_value: return "value not allowed in its column";
        case errc::check_violation: return "check constraint violated";
        case errc::bad_input: return "input does not fit the store (JSON, CSV or archive)";
        }
        return "unknown relstore error";
    }
};

}  // namespace

const std::error_category& error_category() noexcept {
    static const category instance;
    return instance;
}

}  // namespace relstore
