#pragma once
/// @file fwd.hpp
/// Forward declarations of relstore's class templates, for headers that
/// name them without needing their definitions.

namespace relstore {

template <class... Tables>
class store;
template <class Store>
class reader;
template <class Store>
class transaction;
template <class Store>
class savepoint;
template <class Store>
class erase_plan;

namespace detail {
/// Applies a decoded change set (a journal record) inside a transaction;
/// relstore/journal.hpp defines it.
template <class Store>
struct record_applier;
}  // namespace detail

}  // namespace relstore
