// SPDX-License-Identifier: MIT
// Definitions for crier/adapters/stream_service.hpp.
#ifndef CRIER_ADAPTERS_IMPL_STREAM_SERVICE_IPP
#define CRIER_ADAPTERS_IMPL_STREAM_SERVICE_IPP

#include <crier/adapters/detail/stream_state.hpp>
#include <crier/adapters/stream_service.hpp>

namespace crier::adapters {

CRIER_DECL stream_service::stream_service(crier::hub& hub, stream_settings settings)
    : state_(std::make_shared<detail::stream_state>(hub, std::move(settings))) {}

CRIER_DECL stream_service::~stream_service() {
    state_->close_all();
    state_->stop_ticker();
}

CRIER_DECL crier::hub& stream_service::hub() const noexcept {
    return state_->hub();
}

CRIER_DECL const stream_settings& stream_service::settings() const noexcept {
    return state_->settings();
}

CRIER_DECL std::size_t stream_service::active() const noexcept {
    return state_->streams().size();
}

CRIER_DECL void stream_service::shutdown() noexcept {
    state_->shutdown();
}

CRIER_DECL void stream_service::close_all() noexcept {
    state_->close_all();
}

}  // namespace crier::adapters

#endif
