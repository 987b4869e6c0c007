// SPDX-License-Identifier: MIT
// Configuration of crier's embedded HTTP server: routes, limits, timeouts and the auth hooks.
#ifndef CRIER_ADAPTERS_SERVER_OPTIONS_HPP
#define CRIER_ADAPTERS_SERVER_OPTIONS_HPP

#include <crier/http/request.hpp>
#include <crier/http/response.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace crier::adapters {

/// Who made a request, as the host's authenticate hook says.
struct principal {
    /// The user; streams auto-subscribe `user:{user_id}`. Empty for an anonymous principal,
    /// which gets `global` only. Otherwise it must pass crier::validate_user_id (no `*`, `?`,
    /// `:`, space, control or non-ASCII bytes; at most 128 bytes): a principal whose id does not
    /// is refused with 400 `invalid_user_id` on every route.
    std::string user_id{};
    /// May read `GET stats` and `GET metrics` (unless authorize_stats says otherwise).
    bool admin = false;
    /// May `POST publish` (unless authorize_publish says otherwise).
    bool publisher = false;
};

/// Every knob of the embedded server. Defaults follow the seed system and DESIGN.md.
struct server_options {
    /// Address to listen on. Default `127.0.0.1`; `::` or `0.0.0.0` to accept from anywhere.
    std::string address = "127.0.0.1";
    /// Port; 0 picks a free one (read it back with http_server::port()).
    std::uint16_t port = 8080;
    /// I/O threads. Default 0 = one per hardware thread. Each runs an event loop of its own and
    /// serves the connections placed on it (round-robin), streams included. Ignored when the
    /// server runs on the host's io_context.
    std::size_t threads = 0;
    /// Route prefix: `{prefix}/events`, `/history`, `/stats`, `/publish`, `/disconnect`,
    /// `/metrics`, `/health`.
    std::string prefix = "/api/realtime";

    /// Largest request line + headers (over it: 431 and close).
    std::size_t max_head_bytes = 8 * 1024;
    /// Largest request body, i.e. a `POST publish` document (over it: 413), sent with
    /// Content-Length or `Transfer-Encoding: chunked` (decoded before routing). A client that
    /// sends `Expect: 100-continue` gets `100 Continue` once the head is accepted.
    std::size_t max_body_bytes = 1024 * 1024;
    /// Most channels one stream may hold, its automatic `global` and `user:{id}` included (so
    /// 62 `?channel=`s for a signed-in user at the default), and most `?channel=`s one history
    /// request may name; the hub's max_channels_per_subscription caps it too. Over it: 400
    /// `too_many_channels` naming the limit.
    std::size_t max_channels_per_stream = 64;
    /// Largest `GET history` body: events are added oldest first until the next would pass it;
    /// the answer then says `"more":true` and the client asks again with `since` = the last
    /// event's id. An event larger than the whole cap is sent alone, so paging always advances.
    /// Default: 1 MiB.
    std::size_t max_history_response_bytes = 1024 * 1024;
    /// Most connections (streams and plain requests) at once; past it new ones get 503.
    std::size_t max_connections = 100000;
    /// Time a client has to send a whole request once it started (over it: 408 and close).
    std::chrono::milliseconds request_timeout{10'000};
    /// Time an idle keep-alive connection stays open between requests.
    std::chrono::milliseconds keep_alive_timeout{30'000};
    /// Write deadline: a connection whose pending write makes no progress (the peer accepts no
    /// bytes) for this long is closed, and its subscription and per-user slot are released.
    /// Applies to every write (responses, stream head, events, heartbeats, shutdown `retry:`).
    /// On Linux it is also each connection's TCP_USER_TIMEOUT. Default: 30 s.
    std::chrono::milliseconds write_timeout{30'000};
    /// `retry: <ms>` sent first on every stream, so every client reconnects on crier's
    /// schedule (the seed's reconnectDelay). nullopt: none. Default: 3000 ms.
    std::optional<std::chrono::milliseconds> retry = std::chrono::milliseconds(3000);
    /// Send the `connected` event first on every stream (data `{"clientId":..,"channels":[..],
    /// "id":..}`). The seed's clients rely on it; turn it off for clients that treat every event
    /// as data. Default: on.
    bool connected_event = true;
    /// Heartbeat comment interval on a quiet stream. Default: the hub's heartbeat interval.
    std::optional<std::chrono::milliseconds> heartbeat{};
    /// Close a stream after this long with no event delivered (the client reconnects and
    /// replays). Default: the hub's idle interval.
    std::optional<std::chrono::milliseconds> idle_timeout{};
    /// Graceful shutdown: how long stop() waits for streams to flush before forcing them shut.
    std::chrono::milliseconds shutdown_deadline{5'000};
    /// Graceful shutdown: each stream gets `retry:` drawn uniformly from this range, so a fleet
    /// of clients does not reconnect at the same instant.
    std::chrono::milliseconds shutdown_retry_min{1'000};
    /// The upper end of that range (default 10 s).
    std::chrono::milliseconds shutdown_retry_max{10'000};

    /// CORS: the value of Access-Control-Allow-Origin (`*` or an origin); empty disables CORS.
    std::string cors_origin{};
    /// Serve files from this directory for GET paths outside the prefix; empty disables it.
    std::string static_dir{};

    /// The host's own routes on this server: asked first about every request whose path is
    /// outside `prefix`; a response answers it, nullopt passes it on to `static_dir` (GET) or a
    /// 404. Runs on a server thread, so it must not block for long; what it throws becomes a
    /// 500 like any hook's. The request's body is complete (max_body_bytes applies). Default
    /// (unset): no host routes.
    std::function<std::optional<http::response>(const http::request&)> handler{};

    /// Who is calling. Return nullopt to refuse with 401. Default (unset): every request is
    /// an anonymous principal — `global` only, no publish, no stats.
    std::function<std::optional<principal>(const http::request&)> authenticate{};
    /// May this principal subscribe to this channel (or pattern)? Asked for every `?channel=`.
    /// `global` and the principal's own `user:{id}` are always granted; any other `user:` channel
    /// is never granted, whatever this says. Default (unset): every other channel is granted.
    std::function<bool(const principal&, std::string_view channel)> authorize{};
    /// May this principal publish to these channels? Default: `principal::publisher`.
    std::function<bool(const principal&, std::span<const std::string> channels)>
        authorize_publish{};
    /// May this principal read stats and metrics, and end streams (`POST disconnect`)?
    /// Default: `principal::admin`.
    std::function<bool(const principal&)> authorize_stats{};

    /// Told once about each failure the server contained: an exception thrown by a hook above
    /// (the request gets a 500 `internal_error`; other connections are undisturbed) or by any
    /// handler on the server's threads (the thread goes on serving). The text names the route
    /// and the exception's what(); it is never sent to the client. Called on a server thread;
    /// an exception it throws is swallowed. Default (unset): one line on stderr.
    std::function<void(std::string_view what)> on_error{};
};

}  // namespace crier::adapters

#endif
