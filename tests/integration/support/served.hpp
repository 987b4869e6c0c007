// SPDX-License-Identifier: MIT
// A hub and an embedded server on an ephemeral 127.0.0.1 port with the tests' bearer auth, shared
// by the server's integration tests.
#ifndef CRIER_TESTS_SUPPORT_SERVED_HPP
#define CRIER_TESTS_SUPPORT_SERVED_HPP

#include <crier/adapters/http_server.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace crier::test {

/// Test auth: `Authorization: Bearer <user>`. "admin" is an admin and a publisher; users whose
/// name starts with "pub" may publish. Channel "secret" is refused to everyone.
inline crier::adapters::server_options test_options(crier::adapters::server_options o = {}) {
    o.address = "127.0.0.1";
    o.port = 0;
    if (o.threads == 0) o.threads = 2;
    if (!o.authenticate) {
        o.authenticate =
            [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
            const auto auth = r.header("authorization");
            if (!auth || !auth->starts_with("Bearer ")) return std::nullopt;
            const std::string user(auth->substr(7));
            return crier::adapters::principal{
                .user_id = user,
                .admin = user == "admin",
                .publisher = user == "admin" || user.starts_with("pub")};
        };
    }
    if (!o.authorize) {
        o.authorize = [](const crier::adapters::principal&, std::string_view channel) {
            return channel != "secret";
        };
    }
    return o;
}

/// A started server over its own hub.
struct served {
    explicit served(crier::hub_options h = {}, crier::adapters::server_options s = {})
        : hub(std::move(h)), server(hub, test_options(std::move(s))) {
        server.start();
    }
    [[nodiscard]] std::uint16_t port() const { return server.port(); }

    crier::hub hub;
    crier::adapters::http_server server;
};

inline const std::string events_path = "/api/realtime/events";
inline const std::string bearer_u1 = "Authorization: Bearer u1";

}  // namespace crier::test

#endif
