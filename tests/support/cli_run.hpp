#pragma once
// Runs the `relstore` tool (RELSTORE_CLI, the path CMake gives) through the
// shell and collects its exit status and output.

#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <string>

#ifndef RELSTORE_CLI
#error "RELSTORE_CLI must name the relstore tool's path"
#endif

namespace relstore::test {

struct cli_result {
    int status;
    std::string out;  // stdout and stderr together
};

/// Runs `relstore ARGS` with the shell; args are pasted as they are, so
/// redirections ("< file") work and paths must need no quoting.
inline cli_result run_cli(const std::string& args) {
    const std::string cmd = std::string("'") + RELSTORE_CLI + "' " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int st = ::pclose(p);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace relstore::test
