// SPDX-License-Identifier: MIT
// The embedded server's shared, non-template half: routing, auth, JSON endpoints, counters and
// the registry its shared timers sweep. Private.
#ifndef CRIER_ADAPTERS_DETAIL_SERVER_STATE_HPP
#define CRIER_ADAPTERS_DETAIL_SERVER_STATE_HPP

#include <crier/adapters/detail/registry.hpp>
#include <crier/adapters/detail/stream_state.hpp>
#include <crier/adapters/route_result.hpp>
#include <crier/adapters/server_options.hpp>
#include <crier/config.hpp>
#include <crier/core/hub.hpp>
#include <crier/http/request.hpp>
#include <crier/http/response.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace crier::adapters::detail {

/// State every connection of one server shares. Thread-safe.
class server_state {
public:
    /// `streams`: the stream service's state when routing for a host's server; null makes one
    /// of its own, swept by the embedded server's timer.
    CRIER_DECL server_state(crier::hub& hub, server_options options,
                            std::shared_ptr<stream_state> streams = nullptr);

    [[nodiscard]] const server_options& options() const noexcept { return options_; }
    [[nodiscard]] crier::hub& hub() noexcept { return hub_; }
    [[nodiscard]] registry& connections() noexcept { return connections_; }

    /// Routes one complete request (body read). Never throws: bad input becomes a JSON error
    /// response, and an exception from a host hook a 500 (reported through on_error). `given`:
    /// the principal when the host authenticated the request itself (options().authenticate is
    /// then not asked).
    CRIER_DECL route_result route(const http::request& request, const principal* given = nullptr);

    /// Reports a contained failure through options().on_error, or to stderr. Never throws.
    CRIER_DECL void report_error(std::string_view what) const noexcept;

    /// What every stream of this server shares (settings, timers' registry, flusher).
    [[nodiscard]] stream_state& streams() noexcept { return *streams_; }
    [[nodiscard]] const std::shared_ptr<stream_state>& streams_ptr() const noexcept {
        return streams_;
    }

    /// How often the shared timer should sweep connections and streams.
    [[nodiscard]] CRIER_DECL std::chrono::milliseconds tick_interval() const noexcept;

    [[nodiscard]] bool stopping() const noexcept { return stopping_.load(); }
    void set_stopping() noexcept { stopping_.store(true); }

    /// Admission: false (and nothing counted) when max_connections are open.
    CRIER_DECL bool connection_opened() noexcept;
    void connection_closed() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }
    [[nodiscard]] std::size_t open_connections() const noexcept { return open_.load(); }

private:
    struct auth_result {
        std::optional<principal> who;
        std::optional<http::response> error;
    };

    auth_result authenticate(const http::request& request, const principal* given) const;
    /// Authenticates and applies authorize_stats: the refusal, or nullopt when allowed.
    std::optional<http::response> check_admin(const http::request& request, const principal* given,
                                              std::string_view what) const;
    std::optional<http::response> check_channel(const principal& who,
                                                std::string_view channel) const;
    route_result route_unguarded(const http::request& request, const principal* given);
    route_result route_events(const http::request& request, const principal* given);
    http::response route_history(const http::request& request, const principal* given);
    http::response route_stats(const http::request& request, const principal* given);
    http::response route_publish(const http::request& request, const principal* given);
    http::response route_disconnect(const http::request& request, const principal* given);
    http::response route_metrics(const http::request& request, const principal* given);
    http::response route_health() const;
    http::response route_static(const http::request& request) const;
    /// Channels one stream or history request may name: the server's and the hub's limits.
    [[nodiscard]] std::size_t max_channels_per_stream() const noexcept;
    [[nodiscard]] http::response too_many_channels_error(std::size_t limit) const;
    void add_cors(http::response& r) const;

    crier::hub& hub_;
    server_options options_;
    registry connections_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> open_{0};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> refused_{0};
    std::shared_ptr<stream_state> streams_;
};

}  // namespace crier::adapters::detail

#if defined(CRIER_HEADER_ONLY)
#    include <crier/adapters/detail/impl/server_state.ipp>
#endif

#endif
