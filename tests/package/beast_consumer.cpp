// SPDX-License-Identifier: MIT
// Built by the find_package consumer when the beast component is installed: proves crier::beast
// carries its header and Boost.
#include <crier/adapters/beast.hpp>

#include <cstdio>

int main() {
    const auto response = crier::adapters::beast::to_response({.body = "{}"}, 11, true);
    std::printf("%u\n", response.result_int());
    return 0;
}
