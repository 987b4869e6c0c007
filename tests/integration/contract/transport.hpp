// SPDX-License-Identifier: MIT
// The stream contract's view of a transport: a server on 127.0.0.1 that serves crier's routes
// through one way of carrying streams (the embedded server, a host's Asio code, Beast,
// cpp-httplib). Each transport's test binary instantiates the one suite (contract_suite.hpp).
#ifndef CRIER_TESTS_CONTRACT_TRANSPORT_HPP
#define CRIER_TESTS_CONTRACT_TRANSPORT_HPP

#include <crier/adapters/server_options.hpp>
#include <crier/adapters/stream_settings.hpp>
#include <crier/core/hub.hpp>
#include <crier/http/request.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

namespace crier::test {

/// What a transport under contract is built with.
struct contract_config {
    crier::hub_options hub{};
    crier::adapters::stream_settings streams{};
};

/// A started server. Every transport serves, on one ephemeral port of 127.0.0.1:
/// - `GET /hello` → 200 `hello` (a route of the host's own);
/// - crier's routes under `/api/realtime` (events, history, publish, disconnect, ...), through
///   crier::adapters::router (or the embedded server), authenticated as contract_auth() says.
class transport {
public:
    virtual ~transport() = default;
    [[nodiscard]] virtual std::uint16_t port() const = 0;
    [[nodiscard]] virtual crier::hub& hub() = 0;
    /// Streams open now, as the transport's stream service counts them.
    [[nodiscard]] virtual std::size_t active_streams() const = 0;
};

/// One transport kind: a name for test output and a factory.
struct transport_kind {
    std::string name;
    std::function<std::unique_ptr<transport>(const contract_config&)> make;
    /// Blocking (pull) transports write from the host's thread: the write deadline is the
    /// host server's write timeout, which the factory sets from config.streams.write_timeout.
    bool blocking = false;
};

inline std::ostream& operator<<(std::ostream& os, const transport_kind& k) {
    return os << k.name;
}

/// The contract's auth, for every transport: `Authorization: Bearer <user>` is that user (no
/// header: 401); "admin" is an admin and a publisher. Channel "secret" is refused to everyone.
/// Hosts that authenticate with their own request object use user_of() and the principal.
inline std::optional<std::string> user_of(std::optional<std::string_view> authorization) {
    if (!authorization || !authorization->starts_with("Bearer ")) return std::nullopt;
    return std::string(authorization->substr(7));
}

inline crier::adapters::principal principal_for(const std::string& user) {
    return {.user_id = user, .admin = user == "admin", .publisher = user == "admin"};
}

/// Router options every transport uses (prefix, the "secret" refusal, the Bearer hook for
/// transports that let the router authenticate).
inline crier::adapters::server_options contract_router_options() {
    crier::adapters::server_options o;
    o.authenticate =
        [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
        auto user = user_of(r.header("authorization"));
        if (!user) return std::nullopt;
        return principal_for(*user);
    };
    o.authorize = [](const crier::adapters::principal&, std::string_view channel) {
        return channel != "secret";
    };
    return o;
}

}  // namespace crier::test

#endif
