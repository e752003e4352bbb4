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

}  // namespace relstore
