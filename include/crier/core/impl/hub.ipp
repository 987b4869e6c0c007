// SPDX-License-Identifier: MIT
// Definitions for crier/core/hub.hpp. Stub.
#ifndef CRIER_CORE_IMPL_HUB_IPP
#define CRIER_CORE_IMPL_HUB_IPP

#include <crier/core/detail/hub_core.hpp>
#include <crier/core/hub.hpp>

namespace crier {

CRIER_DECL hub::hub(hub_options options)
    : core_(std::make_shared<detail::hub_core>(std::move(options))) {}
CRIER_DECL hub::~hub() = default;
CRIER_DECL const hub_options& hub::options() const noexcept {
    return core_->options;
}
CRIER_DECL publish_result hub::publish(std::string_view, std::string_view, std::string_view,
                                       const publish_options&) noexcept {
    return {.error = errc::hub_stopped};
}
CRIER_DECL publish_result hub::publish(std::span<const std::string>, std::string_view,
                                       std::string_view, const publish_options&) noexcept {
    return {.error = errc::hub_stopped};
}
CRIER_DECL publish_result hub::publish(std::span<const std::string_view>, std::string_view,
                                       std::string_view, const publish_options&) noexcept {
    return {.error = errc::hub_stopped};
}
CRIER_DECL publish_result hub::publish(std::initializer_list<std::string_view>, std::string_view,
                                       std::string_view, const publish_options&) noexcept {
    return {.error = errc::hub_stopped};
}
CRIER_DECL publish_result hub::publish_to_user(std::string_view, std::string_view, std::string_view,
                                               const publish_options&) noexcept {
    return {.error = errc::hub_stopped};
}
CRIER_DECL publish_result hub::publish_module_event(std::string_view, std::string_view,
                                                    std::string_view, std::string_view,
                                                    const publish_options&) noexcept {
    return {.error = errc::hub_stopped};
}
CRIER_DECL publish_result hub::publish_batch(std::string_view, std::string_view,
                                             std::span<const std::string>,
                                             const publish_options&) noexcept {
    return {.error = errc::hub_stopped};
}
CRIER_DECL publish_result hub::publish_batch(std::string_view, std::string_view,
                                             std::span<const std::string_view>,
                                             const publish_options&) noexcept {
    return {.error = errc::hub_stopped};
}
CRIER_DECL void hub::flush_batches() noexcept {}
CRIER_DECL subscription hub::subscribe(subscribe_options options) {
    std::error_code ec;
    auto s = subscribe(std::move(options), ec);
    if (ec) detail::throw_error(ec, "crier::hub::subscribe");
    return s;
}
CRIER_DECL subscription hub::subscribe(subscribe_options, std::error_code& ec) {
    ec = errc::hub_stopped;
    return {};
}
CRIER_DECL history_result hub::history(std::string_view, std::span<const std::string>,
                                       std::size_t) const {
    return {};
}
CRIER_DECL hub_stats hub::stats() const {
    return {};
}
CRIER_DECL sse::event_id hub::current_id() const noexcept {
    return {};
}
CRIER_DECL std::size_t hub::connections(std::string_view) const {
    return 0;
}
CRIER_DECL std::size_t hub::subscribers(std::string_view) const {
    return 0;
}
CRIER_DECL void hub::stop() noexcept {}
CRIER_DECL bool hub::stopped() const noexcept {
    return false;
}

}  // namespace crier

#endif
