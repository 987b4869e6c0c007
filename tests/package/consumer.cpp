// SPDX-License-Identifier: MIT
// The program every consumer test builds: encode one event with crier and print it, then the
// version of the crier it links (the library's own when crier is compiled).
#include <crier/crier.hpp>

#include <cstdio>

int main() {
    const crier::sse::frame f =
        crier::sse::encode({.id = "1-1", .type = "horses:created", .data = R"({"id":1})"});
    std::fputs(f->c_str(), stdout);
    const crier::version_info v = crier::version();
    std::printf("crier %d.%d.%d\n", v.major, v.minor, v.patch);
    return f->empty() || v != crier::header_version ? 1 : 0;
}
