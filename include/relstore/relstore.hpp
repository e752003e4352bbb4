#pragma once
/// @file relstore.hpp
/// The umbrella header: everything but snapshots (<relstore/snapshot.hpp>).

#include <relstore/bytes.hpp>
#include <relstore/changes.hpp>
#include <relstore/error.hpp>
#include <relstore/fields.hpp>
#include <relstore/graph.hpp>
#include <relstore/relationships.hpp>
#include <relstore/rows.hpp>
#include <relstore/schema.hpp>
#include <relstore/schema_dot.hpp>
#include <relstore/schema_info.hpp>
#include <relstore/reader_thread.hpp>
#include <relstore/store.hpp>
#include <relstore/subscription.hpp>
#include <relstore/text.hpp>
#include <relstore/version.hpp>
