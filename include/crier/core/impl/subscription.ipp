// SPDX-License-Identifier: MIT
// Definitions for crier/core/subscription.hpp. Stub.
#ifndef CRIER_CORE_IMPL_SUBSCRIPTION_IPP
#define CRIER_CORE_IMPL_SUBSCRIPTION_IPP

#include <crier/core/detail/hub_core.hpp>
#include <crier/core/subscription.hpp>

namespace crier {

CRIER_DECL subscription& subscription::operator=(subscription&& other) noexcept {
    state_ = std::move(other.state_);
    return *this;
}
CRIER_DECL subscription::~subscription() = default;
CRIER_DECL std::size_t subscription::drain(std::vector<sse::frame>&) {
    return 0;
}
CRIER_DECL bool subscription::wait_for(std::chrono::milliseconds) {
    return false;
}
CRIER_DECL std::error_code subscription::closed() const {
    return {};
}
CRIER_DECL std::vector<std::string> subscription::channels() const {
    return {};
}
CRIER_DECL std::error_code subscription::add_channel(std::string_view) {
    return errc::closed;
}
CRIER_DECL std::error_code subscription::remove_channel(std::string_view) {
    return errc::closed;
}
CRIER_DECL std::size_t subscription::queued_frames() const {
    return 0;
}
CRIER_DECL std::size_t subscription::queued_bytes() const {
    return 0;
}
CRIER_DECL std::string subscription::user_id() const {
    return {};
}
CRIER_DECL void subscription::close() noexcept {}

}  // namespace crier

#endif
