// SPDX-License-Identifier: MIT
// The embedded server's shared, non-template half: routing, auth, JSON endpoints, counters and
// the registry its shared timers sweep. Private.
#ifndef CRIER_ADAPTERS_DETAIL_SERVER_STATE_HPP
#define CRIER_ADAPTERS_DETAIL_SERVER_STATE_HPP

#include <crier/adapters/detail/registry.hpp>
#include <crier/adapters/server_options.hpp>
#include <crier/config.hpp>
#include <crier/core/hub.hpp>
#include <crier/http/request.hpp>
#include <crier/http/response.hpp>

#include <asio/any_io_executor.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace crier::adapters::detail {

/// What routing decided to do with a request that becomes an SSE stream.
struct stream_plan {
    subscribe_options options;
    /// The first bytes of the stream: the response head, to which subscribe() appends the
    /// `connected` event (its id is the subscription's start, known only once subscribed).
    std::string preamble;
    /// The `connected` event's data up to its `"id":` value.
    std::string connected;
};

/// What routing decided: a response, or a stream.
struct route_result {
    http::response response;
    std::optional<stream_plan> stream;
};

/// State every connection of one server shares. Thread-safe.
class server_state {
public:
    CRIER_DECL server_state(crier::hub& hub, server_options options);

    [[nodiscard]] const server_options& options() const noexcept { return options_; }
    [[nodiscard]] crier::hub& hub() noexcept { return hub_; }
    [[nodiscard]] registry& connections() noexcept { return connections_; }

    /// Routes one complete request (body read). Never throws: bad input becomes a JSON error
    /// response, and an exception from a host hook a 500 (reported through on_error).
    CRIER_DECL route_result route(const http::request& request);

    /// Reports a contained failure through options().on_error, or to stderr. Never throws.
    CRIER_DECL void report_error(std::string_view what) const noexcept;

    /// Subscribes a planned stream; on error sets `ec`.
    CRIER_DECL subscription subscribe(stream_plan& plan, std::error_code& ec);
    /// The response for a failed subscribe (429 with Retry-After, 503, 400).
    [[nodiscard]] CRIER_DECL http::response subscribe_error(std::error_code ec) const;

    /// `retry: <ms>` as a frame.
    [[nodiscard]] CRIER_DECL std::string retry_frame(std::chrono::milliseconds retry) const;
    /// A uniformly random shutdown retry delay within the configured range.
    [[nodiscard]] CRIER_DECL std::chrono::milliseconds shutdown_retry();

    [[nodiscard]] std::int64_t heartbeat_ns() const noexcept { return heartbeat_ns_; }
    [[nodiscard]] std::int64_t idle_ns() const noexcept { return idle_ns_; }
    /// How often the shared timer should sweep the connections.
    [[nodiscard]] CRIER_DECL std::chrono::milliseconds tick_interval() const noexcept;

    /// The executor the shared flusher runs on. Set once, before the first connection.
    void set_executor(asio::any_io_executor executor) { executor_ = std::move(executor); }

    /// A stream's subscription went from empty to non-empty (called from on_ready, on any
    /// thread): queue the stream for the shared flusher. One flusher walks the ready streams in
    /// slices, yielding to the reactor between slices, so under load new publishes are read
    /// while earlier ones are still being written, and each stream's next write carries every
    /// event that arrived meanwhile: many events per syscall, and no timer adds latency.
    CRIER_DECL void mark_ready(std::shared_ptr<tracked> stream);
    /// Forgets queued streams and ignores every later mark_ready, so nothing is posted to the
    /// executor once the server is stopping it. Idempotent.
    CRIER_DECL void close_ready();
    /// Forgets the streams queued for the flusher (each holds this state: break the cycle).
    /// Only once the executor's threads are gone.
    CRIER_DECL void release_ready();

    [[nodiscard]] bool stopping() const noexcept { return stopping_.load(); }
    void set_stopping() noexcept { stopping_.store(true); }

    /// Admission: false (and nothing counted) when max_connections are open.
    CRIER_DECL bool connection_opened() noexcept;
    void connection_closed() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }
    [[nodiscard]] std::size_t open_connections() const noexcept { return open_.load(); }
    void count_delivered(std::size_t frames) noexcept {
        frames_written_.fetch_add(frames, std::memory_order_relaxed);
    }

private:
    struct auth_result {
        std::optional<principal> who;
        std::optional<http::response> error;
    };

    auth_result authenticate(const http::request& request) const;
    /// Authenticates and applies authorize_stats: the refusal, or nullopt when allowed.
    std::optional<http::response> check_admin(const http::request& request,
                                              std::string_view what) const;
    std::optional<http::response> check_channel(const principal& who,
                                                std::string_view channel) const;
    route_result route_unguarded(const http::request& request);
    route_result route_events(const http::request& request);
    http::response route_history(const http::request& request);
    http::response route_stats(const http::request& request);
    http::response route_publish(const http::request& request);
    http::response route_metrics(const http::request& request);
    http::response route_health() const;
    http::response route_static(const http::request& request) const;
    void flush();
    /// Channels one stream or history request may name: the server's and the hub's limits.
    [[nodiscard]] std::size_t max_channels_per_stream() const noexcept;
    [[nodiscard]] http::response too_many_channels_error(std::size_t limit) const;
    void add_cors(http::response& r) const;

    crier::hub& hub_;
    server_options options_;
    registry connections_;
    std::int64_t heartbeat_ns_;
    std::int64_t idle_ns_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::size_t> open_{0};
    std::atomic<std::uint64_t> next_client_{1};
    std::atomic<std::uint64_t> requests_{0};
    std::atomic<std::uint64_t> streams_opened_{0};
    std::atomic<std::uint64_t> frames_written_{0};
    std::atomic<std::uint64_t> refused_{0};
    asio::any_io_executor executor_;
    std::mutex ready_mutex_;
    std::vector<std::shared_ptr<tracked>> ready_;     // guarded by ready_mutex_
    bool flush_scheduled_ = false;                    // guarded by ready_mutex_
    bool ready_closed_ = false;                       // guarded by ready_mutex_
    std::vector<std::shared_ptr<tracked>> flushing_;  // only the flusher touches these
    std::size_t flushed_ = 0;
    std::mutex random_mutex_;
    std::minstd_rand random_;
};

}  // namespace crier::adapters::detail

#if defined(CRIER_HEADER_ONLY)
#    include <crier/adapters/detail/impl/server_state.ipp>
#endif

#endif
