#pragma once
/// @file version.hpp
/// relstore's version. CMake reads project(VERSION) from the three numbers
/// below, so the installed package (relstoreConfigVersion.cmake, relstore.pc)
/// and this header cannot disagree; edit only these lines to change it.

/// The major version: a change breaks the API or the ABI.
#define RELSTORE_VERSION_MAJOR 0
/// The minor version.
#define RELSTORE_VERSION_MINOR 1
/// The patch version.
#define RELSTORE_VERSION_PATCH 0

/// The version as one number for `#if`: major * 10000 + minor * 100 + patch (0.1.0 is 100).
#define RELSTORE_VERSION (RELSTORE_VERSION_MAJOR * 10000 + RELSTORE_VERSION_MINOR * 100 + RELSTORE_VERSION_PATCH)

// Two steps, so that the macros expand before # turns them into text.
#define RELSTORE_DETAIL_STRINGIZE_(x) #x
#define RELSTORE_DETAIL_STRINGIZE(x) RELSTORE_DETAIL_STRINGIZE_(x)
/// The version as text, "major.minor.patch".
#define RELSTORE_VERSION_STRING                                                                       \
    RELSTORE_DETAIL_STRINGIZE(RELSTORE_VERSION_MAJOR) "." RELSTORE_DETAIL_STRINGIZE(RELSTORE_VERSION_MINOR) "." \
        RELSTORE_DETAIL_STRINGIZE(RELSTORE_VERSION_PATCH)
