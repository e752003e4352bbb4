#pragma once
/// @file schema_dot.hpp
/// A schema as a Graphviz graph: what `relstore schema --dot` prints, and what
/// docs/tutorial-schema.svg is rendered from (`dot -Tsvg`).

#include <relstore/schema_info.hpp>

#include <string>

namespace relstore {

// Declared again here (defined in store.hpp) so that this header stays light
// for the relstore tool, which has schemas from files but no store types.
template <class Store>
schema_info describe();

/// The schema as a Graphviz digraph: a node per table listing its columns with
/// their types (key columns underlined) and its indexes, and an edge per
/// foreign key from the child's column to the parent's key, labelled with the
/// columns and the on-delete action. Deterministic: the same schema gives the
/// same text. Costs one pass over the schema.
[[nodiscard]] std::string schema_dot(const schema_info& schema);

/// schema_dot() of a store type's schema (relstore::describe<Store>()), without
/// a store object or a snapshot file.
template <class Store>
[[nodiscard]] std::string schema_dot() {
    return schema_dot(describe<Store>());
}

}  // namespace relstore
