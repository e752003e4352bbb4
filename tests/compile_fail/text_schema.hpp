#pragma once
// A table of text and bytes columns: text_misuse.cpp misuses it, control.cpp
// uses it correctly.
#include <relstore/relstore.hpp>

#include <cstdint>

struct Note {
    std::int64_t id{};
    relstore::text title;
    relstore::bytes digest;
};
RELSTORE_FIELDS(Note, id, title, digest)
using notes = relstore::table<"notes", Note, relstore::auto_key<&Note::id>, relstore::index<&Note::title>,
                              relstore::index<&Note::digest>>;
