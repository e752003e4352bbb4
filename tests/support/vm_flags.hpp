#pragma once
// The kernel's flags of the mapping that holds an address: where relstore
// put memory (hg: advised huge pages; dc: left out of forks; wf: zeroed in
// a forked child).

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace relstore_test {

/// The VmFlags line of the mapping that holds p, from /proc/self/smaps
/// ("" when there is no such file or no mapping holds p).
inline std::string vm_flags_of(const void* p) {
    std::ifstream smaps("/proc/self/smaps");
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    bool inside = false;
    for (std::string line; std::getline(smaps, line);) {
        unsigned long long lo = 0, hi = 0;
        if (std::sscanf(line.c_str(), "%llx-%llx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
            inside = addr >= lo && addr < hi;
        } else if (inside && line.rfind("VmFlags:", 0) == 0) {
            return line;
        }
    }
    return "";
}

/// True when the VmFlags line holds the two-letter flag.
inline bool has_vm_flag(const std::string& vm_flags, const char* flag) {
    return (vm_flags + " ").find(std::string(" ") + flag + " ") != std::string::npos;
}

}  // namespace relstore_test
