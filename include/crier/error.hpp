// SPDX-License-Identifier: MIT
// crier::errc, its std::error_category, and the throwing half of crier's sync call pairs.
#ifndef CRIER_ERROR_HPP
#define CRIER_ERROR_HPP

#include <crier/config.hpp>

#include <string>
#include <system_error>

namespace crier {

/// Every error crier reports. Values are stable; 0 is never used (it means success).
enum class errc {
    invalid_field = 1,      ///< an id or event type contains CR, LF or NUL
    invalid_utf8,           ///< text is not valid UTF-8
    invalid_event_id,       ///< a Last-Event-ID value is too long or not printable ASCII
    event_too_large,        ///< an event exceeds the configured size bound
    reserved_type,          ///< applications may not publish `connected`, `resync` or `batch`
    invalid_type,           ///< an event type is empty or malformed
    invalid_channel,        ///< a channel name or pattern is empty or malformed
    payload_too_large,      ///< a published payload exceeds the hub's limit
    rate_limited,           ///< the channel's rate limit refused the event (reject policy)
    subscriber_overflow,    ///< a subscription's queue overflowed (disconnect policy)
    too_many_connections,   ///< the per-user connection limit is reached
    invalid_json,           ///< a JSON document could not be parsed or lacks a field
    unauthorized,           ///< no valid credentials
    forbidden,              ///< credentials valid, access refused
    hub_stopped,            ///< the hub or server is shutting down
    closed,                 ///< the object was closed by its owner
    protocol_error,         ///< a peer broke the HTTP or SSE protocol
    timeout,                ///< an operation did not finish in time
    backplane_unavailable,  ///< the backplane cannot be reached
    end_of_stream,          ///< a server ended an event stream (an EventSource client reconnects)
    unexpected_status,      ///< an HTTP response had a status the client cannot use (e.g. 204, 404)
    wrong_content_type,     ///< an HTTP response was not `text/event-stream`
    too_many_redirects,     ///< a request was redirected more times than allowed
    invalid_url,            ///< a URL could not be parsed or has an unsupported form
    tls_unavailable,        ///< https:// needs crier built with CRIER_ENABLE_SSL and OpenSSL
    too_many_channels,      ///< a subscription asks for more channels than its limit allows
    invalid_user_id,        ///< a user id is empty, too long, or has characters ids may not hold
    write_timeout,          ///< a peer accepted no bytes for longer than the write deadline
    disconnected,           ///< the host ended the stream (hub::disconnect_user, close_channel)
    reconnect_refused,      ///< the host asked this user or channel not to reconnect (HTTP 204)
    peer_closed,            ///< the peer closed the connection or it failed
    idle_timeout,           ///< a stream delivered no event for the idle interval
    overloaded,             ///< the delivery backlog is over its bound: publish again later
};

/// The category of crier::errc (name "crier").
[[nodiscard]] CRIER_DECL const std::error_category& error_category() noexcept;

/// Makes a std::error_code of crier's category.
[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

namespace detail {
/// Throws std::system_error(ec, what); the thin throwing half of a sync pair.
[[noreturn]] CRIER_DECL void throw_error(std::error_code ec, const char* what);
}  // namespace detail

}  // namespace crier

template <>
struct std::is_error_code_enum<crier::errc> : std::true_type {};

#if defined(CRIER_HEADER_ONLY)
#    include <crier/impl/error.ipp>
#endif

#endif
