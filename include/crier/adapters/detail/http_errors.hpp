// SPDX-License-Identifier: MIT
// How crier's errors read over HTTP: the status and the JSON error code of each. Private.
#ifndef CRIER_ADAPTERS_DETAIL_HTTP_ERRORS_HPP
#define CRIER_ADAPTERS_DETAIL_HTTP_ERRORS_HPP

#include <crier/error.hpp>

#include <string_view>
#include <system_error>

namespace crier::adapters::detail {

/// The `code` of the JSON error body for a hub error.
inline std::string_view errc_code_name(std::error_code ec) noexcept {
    if (ec.category() != crier::error_category()) return "error";
    switch (static_cast<crier::errc>(ec.value())) {
        case errc::invalid_field:
            return "invalid_field";
        case errc::invalid_utf8:
            return "invalid_utf8";
        case errc::reserved_type:
            return "reserved_type";
        case errc::invalid_type:
            return "invalid_type";
        case errc::invalid_channel:
            return "invalid_channel";
        case errc::payload_too_large:
            return "payload_too_large";
        case errc::rate_limited:
            return "rate_limited";
        case errc::too_many_connections:
            return "too_many_connections";
        case errc::invalid_json:
            return "invalid_json";
        case errc::hub_stopped:
            return "unavailable";
        case errc::too_many_channels:
            return "too_many_channels";
        case errc::invalid_user_id:
            return "invalid_user_id";
        case errc::reconnect_refused:
            return "reconnect_refused";
        case errc::backplane_unavailable:
            return "backplane_unavailable";
        case errc::overloaded:
            return "overloaded";
        default:
            return "error";
    }
}

/// The HTTP status for a hub error.
inline int status_for(std::error_code ec) noexcept {
    if (ec == errc::payload_too_large) return 413;
    if (ec == errc::rate_limited || ec == errc::too_many_connections) return 429;
    if (ec == errc::hub_stopped || ec == errc::backplane_unavailable || ec == errc::overloaded) {
        return 503;
    }
    if (ec == std::errc::not_enough_memory) return 503;
    if (ec == errc::reconnect_refused) return 204;
    return 400;
}

}  // namespace crier::adapters::detail

#endif
