#pragma once
/// @file erase_plan.hpp
/// erase_plan: what erasing rows would do, worked out before anything changes.

#include <relstore/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <unordered_set>
#include <vector>

namespace relstore {

/// What erasing rows does to the store, worked out before anything changes:
/// the rows erased (the roots and, through cascades, their descendants), the
/// rows whose foreign key is set to null, and the rows that block the erase.
/// tx.erase() applies a plan; reader::plan_erase() is the dry run.
template <class Store>
class erase_plan {
public:
    /// Rows of T that the erase removes, in the order it removes them.
    template <class T>
    [[nodiscard]] const std::vector<const typename T::row_type*>& erased() const {
        return std::get<per_table<T>>(tables_).erased;
    }
    /// Rows of T whose foreign key the erase sets to null.
    template <class T>
    [[nodiscard]] std::vector<const typename T::row_type*> nulled() const {
        std::vector<const typename T::row_type*> out;
        for (const auto& n : std::get<per_table<T>>(tables_).nulled) out.push_back(n.row);
        return out;
    }
    /// Rows of T that reference an erased row through an on_delete::restrict key.
    template <class T>
    [[nodiscard]] const std::vector<const typename T::row_type*>& blocking() const {
        return std::get<per_table<T>>(tables_).blocking;
    }
    /// True when no row blocks the erase.
    [[nodiscard]] bool allowed() const { return blocked_ == 0; }
    /// The number of rows the erase removes, in all tables.
    [[nodiscard]] std::size_t erased_count() const { return erased_; }
    /// The number of rows whose foreign key the erase sets to null.
    [[nodiscard]] std::size_t nulled_count() const { return nulled_; }

private:
    friend class reader<Store>;
    friend class transaction<Store>;

    template <class T>
    struct per_table {
        using row_t = typename T::row_type;
        struct null_entry {
            const row_t* row;
            std::size_t fk;  // ordinal of the spec in T::specs
        };
        std::vector<const row_t*> erased;
        std::vector<const row_t*> pending;
        std::vector<null_entry> nulled;
        std::vector<const row_t*> blocking;
    };
    template <class Tuple>
    struct all_tables;
    template <class... T>
    struct all_tables<std::tuple<T...>> {
        using type = std::tuple<per_table<T>...>;
    };

    typename all_tables<typename Store::tables>::type tables_;
    std::unordered_set<const void*> visited_;
    const void* store_ = nullptr;  // the store the plan was made on
    std::uint64_t stamp_ = 0;      // its change count then: apply() refuses a stale plan
    std::size_t erased_ = 0;
    std::size_t nulled_ = 0;
    std::size_t blocked_ = 0;
};

}  // namespace relstore
