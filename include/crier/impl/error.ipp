// SPDX-License-Identifier: MIT
// Definitions for crier/error.hpp.
#ifndef CRIER_IMPL_ERROR_IPP
#define CRIER_IMPL_ERROR_IPP

#include <crier/error.hpp>

namespace crier {
namespace detail {

class crier_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "crier"; }

    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::invalid_field:
                return "field contains CR, LF or NUL";
            case errc::invalid_utf8:
                return "text is not valid UTF-8";
            case errc::invalid_event_id:
                return "event id is too long or not printable ASCII";
            case errc::event_too_large:
                return "event exceeds the size limit";
            case errc::reserved_type:
                return "event type is reserved (connected, resync, batch)";
            case errc::invalid_type:
                return "event type is empty or malformed";
            case errc::invalid_channel:
                return "channel name is empty or malformed";
            case errc::payload_too_large:
                return "payload exceeds the size limit";
            case errc::rate_limited:
                return "channel rate limit exceeded";
            case errc::subscriber_overflow:
                return "subscriber queue overflowed";
            case errc::too_many_connections:
                return "too many connections for this user";
            case errc::invalid_json:
                return "invalid JSON";
            case errc::unauthorized:
                return "not authenticated";
            case errc::forbidden:
                return "forbidden";
            case errc::hub_stopped:
                return "shutting down";
            case errc::closed:
                return "closed";
            case errc::protocol_error:
                return "protocol error";
            case errc::timeout:
                return "timed out";
            case errc::backplane_unavailable:
                return "backplane unavailable";
            case errc::end_of_stream:
                return "the server ended the event stream";
            case errc::unexpected_status:
                return "unexpected HTTP status";
            case errc::wrong_content_type:
                return "response is not text/event-stream";
            case errc::too_many_redirects:
                return "too many redirects";
            case errc::invalid_url:
                return "invalid or unsupported URL";
            case errc::tls_unavailable:
                return "https:// needs crier built with CRIER_ENABLE_SSL";
            case errc::too_many_channels:
                return "too many channels for one subscription";
            case errc::invalid_user_id:
                return "user id is empty, too long or has a character user ids may not hold";
            case errc::write_timeout:
                return "the peer accepted no bytes within the write deadline";
            case errc::disconnected:
                return "disconnected by the host";
            case errc::reconnect_refused:
                return "the host asked this client not to reconnect";
            case errc::peer_closed:
                return "the peer closed the connection";
            case errc::idle_timeout:
                return "no event was delivered for the idle interval";
            case errc::overloaded:
                return "the delivery backlog is over its bound; publish again later";
        }
        return "unknown crier error";
    }
};

CRIER_DECL void throw_error(std::error_code ec, const char* what) {
    throw std::system_error(ec, what);
}

}  // namespace detail

CRIER_DECL const std::error_category& error_category() noexcept {
    static const detail::crier_category category;
    return category;
}

}  // namespace crier

#endif
