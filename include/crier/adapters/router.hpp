// SPDX-License-Identifier: MIT
// crier::adapters::router: crier's HTTP routes (events, history, publish, stats, disconnect,
// metrics, health) for a host that runs its own HTTP server.
#ifndef CRIER_ADAPTERS_ROUTER_HPP
#define CRIER_ADAPTERS_ROUTER_HPP

#include <crier/adapters/route_result.hpp>
#include <crier/adapters/server_options.hpp>
#include <crier/adapters/stream_service.hpp>
#include <crier/config.hpp>
#include <crier/http/request.hpp>

#include <memory>
#include <string_view>

namespace crier::adapters {

namespace detail {
class server_state;
}  // namespace detail

/// The routes of the embedded server (see http_server), without its sockets: a host's own
/// server (Beast, cpp-httplib, ...) builds a crier::http::request from its request object
/// (http::request::from) and asks route(). A complete response is the host's to write; a
/// stream goes to async_stream() or blocking_stream with the same stream_service.
///
/// From `options`, the router uses the prefix, the channel and history limits, CORS,
/// `static_dir`, `handler` and the hooks (authenticate, authorize, authorize_publish,
/// authorize_stats, on_error); stream behaviour (retry, heartbeats, deadlines) is the
/// stream_service's, and socket settings (address, port, threads, timeouts) are the host's.
///
/// @par Thread Safety
/// route() may be called from any thread concurrently.
class router {
public:
    /// Routes for the service's hub.
    CRIER_DECL explicit router(stream_service& streams, server_options options = {});

    /// Does `path` fall under the prefix (i.e. is it crier's to answer)?
    [[nodiscard]] CRIER_DECL bool matches(std::string_view path) const noexcept;

    /// Routes a complete request (body included), authenticating it with
    /// `options.authenticate`. Never throws: bad input becomes a JSON error response, a
    /// throwing hook a 500.
    [[nodiscard]] CRIER_DECL route_result route(const http::request& request);

    /// As above, for a request the host authenticated itself: `who` is the principal
    /// (`options.authenticate` is not asked; authorize and the user-channel rule still apply).
    [[nodiscard]] CRIER_DECL route_result route(const http::request& request, const principal& who);

private:
    std::shared_ptr<detail::server_state> state_;
};

}  // namespace crier::adapters

#if defined(CRIER_HEADER_ONLY)
#    include <crier/adapters/impl/router.ipp>
#endif

#endif
