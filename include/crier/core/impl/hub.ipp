// SPDX-License-Identifier: MIT
// Definitions for crier/core/hub.hpp.
#ifndef CRIER_CORE_IMPL_HUB_IPP
#define CRIER_CORE_IMPL_HUB_IPP

#include <crier/core/detail/hub_core.hpp>
#include <crier/core/hub.hpp>

#include <simdjson.h>

#include <array>

namespace crier {
namespace detail {

/// `[item,item,...]` after checking each item is one JSON text.
template <class Items>
std::error_code join_json_items(const Items& items, std::string& out) {
    simdjson::dom::parser parser;
    std::size_t size = 2;
    for (const auto& item : items) size += std::string_view(item).size() + 1;
    out.reserve(size);
    out.push_back('[');
    for (const auto& item : items) {
        const std::string_view text(item);
        simdjson::dom::element ignored;
        if (parser.parse(text.data(), text.size()).get(ignored)) return errc::invalid_json;
        if (out.size() > 1) out.push_back(',');
        out.append(text);
    }
    out.push_back(']');
    return {};
}

template <class Items>
publish_result publish_joined(hub& h, std::string_view channel, std::string_view type,
                              const Items& items, const publish_options& options) noexcept {
    try {
        std::string data;
        if (auto ec = join_json_items(items, data)) return {.error = ec};
        return h.publish(channel, type, data, options);
    } catch (...) {
        return {.error = out_of_memory()};
    }
}

}  // namespace detail

CRIER_DECL hub::hub(hub_options options)
    : core_(std::make_shared<detail::hub_core>(std::move(options))) {}

CRIER_DECL hub::~hub() {
    core_->stop();
    core_->detach_backplane();
}

CRIER_DECL const hub_options& hub::options() const noexcept {
    return core_->options();
}

CRIER_DECL publish_result hub::publish(std::string_view channel, std::string_view type,
                                       std::string_view data,
                                       const publish_options& options) noexcept {
    return core_->publish(std::span(&channel, 1), type, data, options);
}

CRIER_DECL publish_result hub::publish(std::span<const std::string> channels, std::string_view type,
                                       std::string_view data,
                                       const publish_options& options) noexcept {
    std::array<std::string_view, 16> small;
    if (channels.size() <= small.size()) {
        std::copy(channels.begin(), channels.end(), small.begin());
        return core_->publish(std::span(small.data(), channels.size()), type, data, options);
    }
    try {
        std::vector<std::string_view> views(channels.begin(), channels.end());
        return core_->publish(views, type, data, options);
    } catch (...) {
        return {.error = detail::out_of_memory()};
    }
}

CRIER_DECL publish_result hub::publish(std::span<const std::string_view> channels,
                                       std::string_view type, std::string_view data,
                                       const publish_options& options) noexcept {
    return core_->publish(channels, type, data, options);
}

CRIER_DECL publish_result hub::publish(std::initializer_list<std::string_view> channels,
                                       std::string_view type, std::string_view data,
                                       const publish_options& options) noexcept {
    return core_->publish(std::span(channels.begin(), channels.size()), type, data, options);
}

CRIER_DECL publish_result hub::publish_to_user(std::string_view user_id, std::string_view type,
                                               std::string_view data,
                                               const publish_options& options) noexcept {
    if (auto ec = validate_user_id(user_id)) return {.error = ec};
    try {
        const std::string channel = user_channel(user_id);
        return publish(std::string_view(channel), type, data, options);
    } catch (...) {
        return {.error = detail::out_of_memory()};
    }
}

CRIER_DECL publish_result hub::publish_module_event(std::string_view module,
                                                    std::string_view action, std::string_view data,
                                                    std::string_view user_id,
                                                    const publish_options& options) noexcept {
    try {
        std::string type;
        type.reserve(module.size() + 1 + action.size());
        type.append(module).append(":").append(action);
        if (user_id.empty()) return publish(module, type, data, options);
        if (auto ec = validate_user_id(user_id)) return {.error = ec};
        const std::string user = user_channel(user_id);
        const std::array<std::string_view, 2> channels{module, user};
        return publish(std::span<const std::string_view>(channels), type, data, options);
    } catch (...) {
        return {.error = detail::out_of_memory()};
    }
}

CRIER_DECL publish_result hub::publish_batch(std::string_view channel, std::string_view type,
                                             std::span<const std::string> items,
                                             const publish_options& options) noexcept {
    return detail::publish_joined(*this, channel, type, items, options);
}

CRIER_DECL publish_result hub::publish_batch(std::string_view channel, std::string_view type,
                                             std::span<const std::string_view> items,
                                             const publish_options& options) noexcept {
    return detail::publish_joined(*this, channel, type, items, options);
}

CRIER_DECL void hub::flush_batches() noexcept {
    core_->flush_batches();
}

CRIER_DECL subscription hub::subscribe(subscribe_options options) {
    std::error_code ec;
    subscription s = subscribe(std::move(options), ec);
    if (ec) detail::throw_error(ec, "crier::hub::subscribe");
    return s;
}

CRIER_DECL subscription hub::subscribe(subscribe_options options, std::error_code& ec) {
    try {
        auto state = core_->subscribe(std::move(options), ec);
        if (!state) return {};
        return subscription(std::move(state));
    } catch (const std::bad_alloc&) {
        ec = detail::out_of_memory();
        return {};
    }
}

CRIER_DECL history_result hub::history(std::string_view since_id,
                                       std::span<const std::string> channels,
                                       std::size_t limit) const {
    return core_->history(since_id, channels, limit);
}

CRIER_DECL hub_stats hub::stats() const {
    return core_->stats();
}

CRIER_DECL sse::event_id hub::current_id() const noexcept {
    return core_->current_id();
}

CRIER_DECL std::size_t hub::connections(std::string_view user_id) const {
    return core_->connections(user_id);
}

CRIER_DECL std::size_t hub::subscribers(std::string_view channel) const {
    return core_->subscribers(channel);
}

CRIER_DECL std::size_t hub::disconnect_user(std::string_view user_id,
                                            const disconnect_options& options) noexcept {
    return core_->disconnect(detail::refusals::kind::user, user_id, options.refuse_reconnect);
}

CRIER_DECL std::size_t hub::close_channel(std::string_view channel,
                                          const disconnect_options& options) noexcept {
    return core_->disconnect(detail::refusals::kind::channel, channel, options.refuse_reconnect);
}

CRIER_DECL bool hub::allow_user(std::string_view user_id) noexcept {
    return core_->allow(detail::refusals::kind::user, user_id);
}

CRIER_DECL bool hub::reopen_channel(std::string_view channel) noexcept {
    return core_->allow(detail::refusals::kind::channel, channel);
}

CRIER_DECL void hub::stop() noexcept {
    core_->stop();
}

CRIER_DECL bool hub::stopped() const noexcept {
    return core_->stopped();
}

}  // namespace crier

#endif
