// SPDX-License-Identifier: MIT
// crier::adapters::stream_service: what every SSE stream of a hub shares, whoever owns the
// socket — settings, the shared timers, the live-stream registry, graceful shutdown.
#ifndef CRIER_ADAPTERS_STREAM_SERVICE_HPP
#define CRIER_ADAPTERS_STREAM_SERVICE_HPP

#include <crier/adapters/stream_settings.hpp>
#include <crier/config.hpp>
#include <crier/core/hub.hpp>
#include <crier/core/subscription.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace crier::adapters {

namespace detail {
class stream_state;
}  // namespace detail

/// The streams of one hub, whichever transport carries them: their settings, the few shared
/// timers that drive every heartbeat, idle close and write deadline (not one timer per
/// stream), and graceful shutdown. A host makes one and passes it to async_stream() and
/// blocking_stream; the embedded http_server has its own.
///
/// The timers run on one thread of the service's own, started with the first asynchronous
/// stream.
///
/// @par Thread Safety
/// Every member may be called from any thread. Destroy it after its streams have ended (call
/// shutdown() and wait until active() is 0): streams still open then stop getting heartbeats.
class stream_service {
public:
    /// Streams of `hub` (which must outlive the service) with these settings.
    CRIER_DECL explicit stream_service(crier::hub& hub, stream_settings settings = {});
    /// Force-closes what is left, then stops the timer thread.
    CRIER_DECL ~stream_service();
    stream_service(const stream_service&) = delete;
    stream_service& operator=(const stream_service&) = delete;

    /// The hub.
    [[nodiscard]] CRIER_DECL crier::hub& hub() const noexcept;
    /// The settings it was made with.
    [[nodiscard]] CRIER_DECL const stream_settings& settings() const noexcept;

    /// Streams open now (asynchronous and blocking).
    [[nodiscard]] CRIER_DECL std::size_t active() const noexcept;

    /// Graceful shutdown: refuse new streams (HTTP 503), send every open stream a `retry:`
    /// with jitter, write what it has queued, then end it (reason errc::hub_stopped). Returns
    /// at once; wait for active() to reach 0 (bounded by the write deadline). Idempotent.
    CRIER_DECL void shutdown() noexcept;

    /// Ends every open stream now, without waiting for queued bytes.
    CRIER_DECL void close_all() noexcept;

    /// The shared state streams hold (private).
    [[nodiscard]] const std::shared_ptr<detail::stream_state>& state() const noexcept {
        return state_;
    }

private:
    std::shared_ptr<detail::stream_state> state_;
};

}  // namespace crier::adapters

#if defined(CRIER_HEADER_ONLY)
#    include <crier/adapters/impl/stream_service.ipp>
#endif

#endif
