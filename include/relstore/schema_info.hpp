#pragma once
/// @file schema_info.hpp
/// A run-time description of a store's schema: what snapshots record in their
/// header, what `relstore schema` prints, and what schema checks compare.
/// relstore::describe<Store>() (store.hpp) builds it from the store's type.

#include <relstore/fields.hpp>

#include <string>
#include <vector>

namespace relstore {

/// What happens to referencing rows when a parent row is erased.
enum class on_delete : std::uint8_t {
    restrict = 1,  ///< the erase fails while referencing rows exist
    cascade,       ///< referencing rows are erased too, recursively
    set_null,      ///< referencing rows get null in the foreign key (optional columns only)
};

/// The name of an on-delete action: "restrict", "cascade", "set null".
[[nodiscard]] constexpr std::string_view to_string(on_delete a) noexcept {
    switch (a) {
    case on_delete::restrict: return "restrict";
    case on_delete::cascade: return "cascade";
    case on_delete::set_null: return "set null";
    }
    return "unknown";
}

/// The kind of an index.
enum class index_kind : std::uint8_t {
    hashed_unique = 1,
    hashed,
    ordered_unique,
    ordered,
};

/// One column: its name and stored type.
struct column_info {
    std::string name;
    column_type type;
    friend bool operator==(const column_info&, const column_info&) = default;
};

/// One secondary index (unique constraints included).
struct index_info {
    index_kind kind;
    std::vector<std::string> columns;
    friend bool operator==(const index_info&, const index_info&) = default;
};

/// One foreign key: columns of this table that reference another table's primary key.
struct foreign_key_info {
    std::vector<std::string> columns;
    std::string parent_table;
    on_delete action;
    bool unique;   ///< one-to-one: at most one child per parent
    bool acyclic;  ///< self-reference declared acyclic
    friend bool operator==(const foreign_key_info&, const foreign_key_info&) = default;
};

/// One table.
struct table_info {
    std::string name;
    std::vector<column_info> columns;  ///< in RELSTORE_FIELDS order
    std::vector<std::string> key;      ///< primary-key columns
    bool auto_key;                     ///< the store assigns the key when it is 0
    bool hashed_key;                   ///< the key index is hashed (else ordered)
    std::vector<index_info> indexes;
    std::vector<foreign_key_info> foreign_keys;
    friend bool operator==(const table_info&, const table_info&) = default;
};

/// A whole store's schema, tables in the order the store type lists them.
struct schema_info {
    std::vector<table_info> tables;
    friend bool operator==(const schema_info&, const schema_info&) = default;
};

}  // namespace relstore
