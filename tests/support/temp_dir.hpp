#pragma once
// A fresh directory under the system's temporary directory for one test
// case, removed with everything in it when the case ends.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <stdlib.h>
#include <string>
#include <system_error>
#include <vector>

namespace relstore_test {

struct temp_dir {
    std::filesystem::path path;

    /// prefix: the start of the directory's name, so that a directory left
    /// by a crashed test says which test left it.
    explicit temp_dir(const char* prefix = "relstore-test") {
        std::string templ = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
        REQUIRE(::mkdtemp(templ.data()) != nullptr);
        path = templ;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }

    /// The names of the directory's entries, sorted.
    [[nodiscard]] std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
};

}  // namespace relstore_test
