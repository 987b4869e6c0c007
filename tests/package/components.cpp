// SPDX-License-Identifier: MIT
// Built by the find_package consumer when the jwt and tls components are installed.
#include <crier/adapters/jwt.hpp>
#include <crier/adapters/tls.hpp>

#include <cstdio>

int main() {
    std::puts(crier::adapters::jwt_verifier::sign(R"({"sub":"1"})", "key").c_str());
    return 0;
}
