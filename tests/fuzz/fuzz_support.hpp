// SPDX-License-Identifier: MIT
// Shared by crier's fuzz targets: a failing oracle aborts with a message (libFuzzer then saves
// the input), and the fuzzer's bytes choose where a stream is cut into chunks.
#ifndef CRIER_FUZZ_SUPPORT_HPP
#define CRIER_FUZZ_SUPPORT_HPP

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

namespace crier::fuzz {

/// Stops the run when an oracle does not hold: abort() is a crash libFuzzer reports and saves.
[[noreturn]] inline void oracle_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: oracle failed: %s\n", file, line, what);
    std::abort();
}

#define CRIER_FUZZ_CHECK(cond) \
    ((cond) ? static_cast<void>(0) : ::crier::fuzz::oracle_failed(#cond, __FILE__, __LINE__))

/// `bytes` cut at up to 16 points the provider chooses (sorted, possibly repeated: empty chunks
/// are legal reads too).
inline std::vector<std::string_view> split(std::string_view bytes, FuzzedDataProvider& fdp) {
    std::vector<std::size_t> cuts;
    const auto n = fdp.ConsumeIntegralInRange<std::size_t>(0, 16);
    for (std::size_t i = 0; i < n; ++i) {
        cuts.push_back(fdp.ConsumeIntegralInRange<std::size_t>(0, bytes.size()));
    }
    std::sort(cuts.begin(), cuts.end());
    std::vector<std::string_view> chunks;
    std::size_t from = 0;
    for (const std::size_t cut : cuts) {
        chunks.push_back(bytes.substr(from, cut - from));
        from = cut;
    }
    chunks.push_back(bytes.substr(from));
    return chunks;
}

/// Every byte its own chunk.
inline std::vector<std::string_view> bytewise(std::string_view bytes) {
    std::vector<std::string_view> chunks;
    for (std::size_t i = 0; i < bytes.size(); ++i) chunks.push_back(bytes.substr(i, 1));
    return chunks;
}

}  // namespace crier::fuzz

#endif
