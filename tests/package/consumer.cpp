// SPDX-License-Identifier: MIT
// The program every consumer test builds: encode one event with crier and print it.
#include <crier/crier.hpp>

#include <cstdio>

int main() {
    const crier::sse::frame f =
        crier::sse::encode({.id = "1-1", .type = "horses:created", .data = R"({"id":1})"});
    std::fputs(f->c_str(), stdout);
    return f->empty() ? 1 : 0;
}
