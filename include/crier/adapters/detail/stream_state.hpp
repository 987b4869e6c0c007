// SPDX-License-Identifier: MIT
// The state every stream of a stream_service shares: settings as nanoseconds, the registry its
// shared timers sweep, the ready-stream flushers, counters, and the opening of a stream (its
// subscription and first bytes), written once for every transport. Private.
#ifndef CRIER_ADAPTERS_DETAIL_STREAM_STATE_HPP
#define CRIER_ADAPTERS_DETAIL_STREAM_STATE_HPP

#include <crier/adapters/detail/registry.hpp>
#include <crier/adapters/stream_settings.hpp>
#include <crier/config.hpp>
#include <crier/core/hub.hpp>
#include <crier/http/response.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace crier::adapters::detail {

/// A stream's opening: its subscription and the bytes that start it, or why it was refused.
struct stream_opening {
    /// Set on success.
    subscription sub;
    /// On success: the response head (status 200, Content-Type, crier's and the host's
    /// headers; the transport writes it its own way).
    http::response head;
    /// On success: the body's first bytes, `retry:` and the `connected` event. Replay and live
    /// frames come from the subscription.
    std::string preamble;
    /// On failure: the error, and the complete response to send instead of a stream (429 with
    /// Retry-After, 204 for a refused reconnect, 503 while stopping, 400).
    std::error_code error;
    http::response refusal;
};

/// Shared by a stream_service and every stream it carries. Thread-safe.
class stream_state : public std::enable_shared_from_this<stream_state> {
public:
    CRIER_DECL stream_state(crier::hub& hub, stream_settings settings);
    CRIER_DECL ~stream_state();

    [[nodiscard]] crier::hub& hub() const noexcept { return hub_; }
    [[nodiscard]] const stream_settings& settings() const noexcept { return settings_; }
    [[nodiscard]] registry& streams() noexcept { return streams_; }

    /// Subscribes and builds the start of a stream (head with the request's headers, `retry:`,
    /// `connected`). `on_ready` becomes the subscription's. Never throws.
    CRIER_DECL stream_opening open(stream_request&& request, std::function<void()> on_ready);
    /// The head a stream's response starts with: 200, `text/event-stream`, `no-cache`,
    /// `X-Accel-Buffering: no`, then the host's `headers` (those with CR, LF, NUL or an empty
    /// or colon-bearing name left out). Also what a HEAD request of a stream is answered with.
    [[nodiscard]] CRIER_DECL static http::response stream_head(
        std::vector<std::pair<std::string, std::string>> headers);
    /// The answer to a refused stream (see stream_opening::refusal).
    [[nodiscard]] CRIER_DECL http::response refusal(std::error_code ec) const;

    [[nodiscard]] std::int64_t heartbeat_ns() const noexcept { return heartbeat_ns_; }
    [[nodiscard]] std::int64_t idle_ns() const noexcept { return idle_ns_; }
    [[nodiscard]] std::chrono::milliseconds write_timeout() const noexcept {
        return settings_.write_timeout;
    }
    /// How often the shared timer sweeps: a quarter of the shortest interval, 5 ms to 1 s.
    [[nodiscard]] CRIER_DECL std::chrono::milliseconds tick_interval() const noexcept;
    /// A retry delay drawn uniformly from the shutdown range.
    [[nodiscard]] CRIER_DECL std::chrono::milliseconds shutdown_retry();

    /// Starts the timer thread unless someone else ticks (set_external_ticks). Idempotent.
    CRIER_DECL void ensure_ticker();
    /// The embedded server's own timer sweeps streams(): no thread here. Before any stream.
    void set_external_ticks() noexcept { external_ticks_ = true; }
    /// Sweeps every registered stream once.
    CRIER_DECL void tick(clock::time_point now);
    /// Stops and joins the timer thread. Idempotent.
    CRIER_DECL void stop_ticker() noexcept;

    /// Posts a function to one I/O loop's executor.
    using post_function = std::function<void(std::function<void()>)>;
    /// Streams whose subscription has frames are drained by their loop's flusher, which
    /// `posts[shard]` runs on that loop, in slices, instead of one post each (see mark_ready).
    /// One shard per I/O loop: each loop drains the streams it owns, under a lock of its own,
    /// so N loops share no lock or flusher on the delivery path. Set once, before the first
    /// stream. Functions, not Asio executors: this header must not name standalone Asio, which
    /// Boost.Asio 1.74 cannot share a translation unit with (Beast).
    CRIER_DECL void set_flushers(std::vector<post_function> posts);
    [[nodiscard]] bool has_flusher() const noexcept { return !shards_.empty(); }
    /// Queues a ready stream for the flusher of `shard` (the loop the stream runs on): many
    /// events per syscall under load, and no timer adds latency. Any thread.
    CRIER_DECL void mark_ready(std::size_t shard, std::shared_ptr<tracked> stream);
    /// Forgets queued streams and ignores every later mark_ready (the flushers' executors are
    /// about to stop). Idempotent.
    CRIER_DECL void close_ready();
    /// Forgets what the flushers held; only once their executors' threads are gone.
    CRIER_DECL void release_ready();

    /// Graceful shutdown of every stream (see stream_service::shutdown).
    CRIER_DECL void shutdown() noexcept;
    [[nodiscard]] bool stopping() const noexcept { return stopping_.load(); }
    CRIER_DECL void close_all() noexcept;

    /// Counts frames written by a stream of `shard` (see mark_ready): on its loop's own counter,
    /// so N loops writing do not contend for one cache line on every write.
    void count_delivered(std::size_t frames, std::size_t shard = 0) noexcept {
        auto& counter = shard < shards_.size() ? shards_[shard]->written : frames_written_;
        counter.fetch_add(frames, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t streams_opened() const noexcept { return opened_.load(); }
    [[nodiscard]] std::uint64_t frames_written() const noexcept {
        std::uint64_t n = frames_written_.load(std::memory_order_relaxed);
        for (const auto& s : shards_) n += s->written.load(std::memory_order_relaxed);
        return n;
    }

    /// Reports a contained failure (a throwing completion handler). Never throws.
    std::function<void(std::string_view)> on_error{};
    CRIER_DECL void report_error(std::string_view what) const noexcept;

private:
    // One loop's ready streams. Publishing threads append under `mutex`; only the loop's own
    // thread touches `flushing` and `flushed`.
    struct ready_shard {
        post_function post;
        std::mutex mutex;
        std::vector<std::shared_ptr<tracked>> ready;     // guarded by mutex
        bool scheduled = false;                          // guarded by mutex
        bool closed = false;                             // guarded by mutex
        std::vector<std::shared_ptr<tracked>> flushing;  // only the flusher touches these
        std::size_t flushed = 0;
        // Written by the loop's thread only, read by stats: a cache line of its own, away from
        // the mutex publishing threads take.
        alignas(64) std::atomic<std::uint64_t> written{0};
    };

    void flush(ready_shard& shard);
    void run_ticker();

    crier::hub& hub_;
    const stream_settings settings_;
    const std::int64_t heartbeat_ns_;
    const std::int64_t idle_ns_;
    registry streams_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> opened_{0};
    std::atomic<std::uint64_t> next_client_{1};
    std::atomic<std::uint64_t> frames_written_{0};

    std::mutex random_mutex_;
    std::minstd_rand random_;

    // The timer thread (unless external_ticks_).
    bool external_ticks_ = false;
    std::mutex ticker_mutex_;
    std::condition_variable ticker_cv_;
    bool ticker_stop_ = false;  // guarded by ticker_mutex_
    std::thread ticker_;        // guarded by ticker_mutex_

    // The flushers, one per I/O loop; set before the first stream, then never resized.
    std::vector<std::unique_ptr<ready_shard>> shards_;
};

}  // namespace crier::adapters::detail

#if defined(CRIER_HEADER_ONLY)
#    include <crier/adapters/detail/impl/stream_state.ipp>
#endif

#endif
