// SPDX-License-Identifier: MIT
// Built and run against an installed crier::tls: proves the target carries its header and
// OpenSSL (an HTTPS listener starts on a free port of 127.0.0.1 and stops).
#include <crier/adapters/tls.hpp>

#include <cstdio>
#include <system_error>

int main() {
    crier::hub hub;
    crier::adapters::http_server server(hub, {.port = 0, .threads = 1});
    server.start();
    asio::ssl::context context(asio::ssl::context::tls_server);
    crier::adapters::tls_listener tls(server, context, {.port = 0});
    std::error_code ec;
    tls.start(ec);
    std::printf("tls port=%u %s\n", static_cast<unsigned>(tls.port()), ec.message().c_str());
    const bool ok = !ec && tls.port() != 0;
    tls.stop();
    server.stop();
    return ok ? 0 : 1;
}
