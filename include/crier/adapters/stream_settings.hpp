// SPDX-License-Identifier: MIT
// What a stream_service's streams share (stream_settings) and what a host says about one
// stream (stream_request).
#ifndef CRIER_ADAPTERS_STREAM_SETTINGS_HPP
#define CRIER_ADAPTERS_STREAM_SETTINGS_HPP

#include <crier/core/subscription.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crier::adapters {

/// How every stream of one stream_service behaves. Defaults follow the seed system.
struct stream_settings {
    /// `retry: <ms>` sent first on every stream, so each client reconnects on crier's
    /// schedule (the seed's reconnectDelay). nullopt: none (the browser's default applies).
    /// Default: 3000 ms.
    std::optional<std::chrono::milliseconds> retry = std::chrono::milliseconds(3000);
    /// Send the `connected` event first (data `{"channels":[...],"id":"<start id>"}`, id the
    /// stream's start). The seed's clients rely on it; turn it off for clients that treat every
    /// event as data. Default: on.
    bool connected_event = true;
    /// Heartbeat comment (`:`) interval on a quiet stream. Default: the hub's heartbeat_interval.
    std::optional<std::chrono::milliseconds> heartbeat{};
    /// Close a stream after this long with no event delivered (the client reconnects and
    /// replays). Default: the hub's idle_timeout.
    std::optional<std::chrono::milliseconds> idle_timeout{};
    /// Write deadline: a stream whose pending write makes no progress (the peer accepts no
    /// bytes) for this long is closed and its subscription and per-user slot are released. On
    /// Linux it is also each socket's TCP_USER_TIMEOUT. Blocking streams cannot enforce it:
    /// their host's write timeout must. Default: 30 s.
    std::chrono::milliseconds write_timeout{30'000};
    /// Graceful shutdown: each stream gets `retry:` drawn uniformly from this range, so a fleet
    /// of clients does not reconnect at the same instant.
    std::chrono::milliseconds shutdown_retry_min{1'000};
    /// The upper end of that range (default 10 s).
    std::chrono::milliseconds shutdown_retry_max{10'000};
};

/// One stream as the host describes it, after it parsed and authenticated its own request.
struct stream_request {
    /// Channels, user, Last-Event-ID and type filter, exactly as for hub::subscribe(). The host
    /// authorizes: crier subscribes to what it is given. `on_ready` is crier's to set.
    subscribe_options subscription{};
    /// Response headers to add to crier's own (Content-Type, Cache-Control, Connection,
    /// X-Accel-Buffering), e.g. CORS headers. Names and values must not contain CR or LF.
    std::vector<std::pair<std::string, std::string>> headers{};
};

}  // namespace crier::adapters

#endif
