// SPDX-License-Identifier: MIT
// Definitions for crier/adapters/router.hpp.
#ifndef CRIER_ADAPTERS_IMPL_ROUTER_IPP
#define CRIER_ADAPTERS_IMPL_ROUTER_IPP

#include <crier/adapters/detail/server_state.hpp>
#include <crier/adapters/router.hpp>

namespace crier::adapters {

CRIER_DECL router::router(stream_service& streams, server_options options)
    : state_(std::make_shared<detail::server_state>(streams.hub(), std::move(options),
                                                    streams.state())) {}

CRIER_DECL bool router::matches(std::string_view path) const noexcept {
    const std::string_view prefix = state_->options().prefix;
    return path.starts_with(prefix) && path.size() > prefix.size() && path[prefix.size()] == '/';
}

CRIER_DECL route_result router::route(const http::request& request) {
    return state_->route(request);
}

CRIER_DECL route_result router::route(const http::request& request, const principal& who) {
    return state_->route(request, &who);
}

}  // namespace crier::adapters

#endif
