// SPDX-License-Identifier: MIT
// Built and run against an installed crier::jwt: proves the target carries its header and
// libcrypto (a token signed and verified here).
#include <crier/adapters/jwt.hpp>

#include <cstdio>
#include <string>
#include <system_error>

int main() {
    const auto token = crier::adapters::jwt_verifier::sign(R"({"sub":"alice","exp":4102444800})",
                                                           "0123456789abcdef");
    crier::adapters::jwt_verifier verifier({.secret = "0123456789abcdef"});
    std::error_code ec;
    std::string why;
    const auto claims = verifier.verify(token, ec, &why);
    std::printf("jwt sub=%s %s\n", claims ? claims->subject.c_str() : "(refused)", why.c_str());
    return claims && claims->subject == "alice" ? 0 : 1;
}
