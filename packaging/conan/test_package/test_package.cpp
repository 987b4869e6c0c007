// SPDX-License-Identifier: MIT
// Conan's test package: encodes one SSE event with the packaged crier and prints its version.
#include <crier/crier.hpp>

#include <cstdio>

int main() {
    const crier::sse::frame f = crier::sse::encode({.id = "1-1", .type = "hello", .data = "{}"});
    std::printf("crier %s (library %d.%d.%d)\n%s", crier::version_string.data(),
                crier::version().major, crier::version().minor, crier::version().patch, f->c_str());
    return f->empty() ? 1 : 0;
}
