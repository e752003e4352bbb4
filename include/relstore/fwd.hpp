#pragma once
/// @file fwd.hpp
/// Forward declarations of relstore's class templates, for headers that
/// name them without needing their definitions.

/// On a verb whose result (a row reference or pointer) is valid only while
/// the scope it was called on lives: clang then warns (-Wdangling) when the
/// result of a call on a temporary scope is kept past its statement, as in
/// `const Post& p = db.read().get<posts>(1);`. Other compilers ignore it.
#if defined(__clang__)
#define RELSTORE_LIFETIMEBOUND [[clang::lifetimebound]]
#else
#define RELSTORE_LIFETIMEBOUND
#endif

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
