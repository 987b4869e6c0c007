// SPDX-License-Identifier: MIT
// crier's embedded HTTP/1.1 server on standalone Asio: SSE streams plus the JSON and metrics
// routes, on threads of its own or on the host's io_context, shared timers, graceful shutdown.
#ifndef CRIER_ADAPTERS_HTTP_SERVER_HPP
#define CRIER_ADAPTERS_HTTP_SERVER_HPP

#include <crier/adapters/detail/connection.hpp>
#include <crier/adapters/detail/listener.hpp>
#include <crier/adapters/detail/server_state.hpp>
#include <crier/adapters/server_options.hpp>
#include <crier/config.hpp>
#include <crier/core/hub.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

namespace crier::adapters {

/// Serves a hub over HTTP/1.1 under `options.prefix` (default `/api/realtime`):
///
/// - `GET events`: the SSE stream: `global`, `user:{id}` and authorized `?channel=`s;
///   `Last-Event-ID` header or `last_event_id` query resumes; `?type=` filters. Starts with
///   `retry:` (server_options::retry) and the `connected` event; answers 204 to a user or
///   channel the host refused (hub::disconnect_user / close_channel with refuse_reconnect).
/// - `GET history`: JSON: `?since=`, `?channel=` (at most max_channels_per_stream), `?limit=`
///   (1–1000); the body stops at max_history_response_bytes with `"more":true`.
/// - `GET stats`: JSON, admin only: the seed's `connectedClients`, `channels`,
///   `eventHistorySize` and more.
/// - `POST publish`: JSON body `{"channels":[…],"type":…,"data":…,"dedup_key":…}` or
///   `{"module":…,"action":…,"data":…,"user_id":…}`; answers `{"id":…,"duplicate":…,"held":…}`
///   (`id` null for a held event: it takes its id when its batch is flushed).
/// - `POST disconnect`: admin only (authorize_stats): `{"user_id":…}` or `{"channel":…}`, with
///   optional `"refuse_reconnect_ms":N`; ends those streams and answers `{"closed":N}`.
/// - `GET metrics`: Prometheus text, admin only. `GET health`: `{"status":"ok"}`
///   (`"degraded"` while the backplane is away), 503 while stopping.
///
/// Every error is a JSON body `{"error":{"status":…,"code":…,"message":…}}` with the matching
/// status (400, 401, 403, 404, 405, 408, 413, 415, 429, 431, 501, 503, 505).
///
/// @par Thread Safety
/// start(), stop() and the destructor must not run concurrently with each other. With threads
/// of its own, stop() and the destructor must not run on one of them. serve() may be called
/// from any thread.
class http_server {
public:
    /// A server for `hub` (which must outlive it) on `options.threads` threads of its own,
    /// each running an io_context of its own: connections are spread over them round-robin and
    /// each thread drains the streams it owns, so no lock or flusher is shared between them on
    /// the delivery path. Nothing happens until start().
    CRIER_DECL http_server(crier::hub& hub, server_options options = {});
    /// A server for `hub` on the host's io_context, next to the host's own acceptors and
    /// timers: no thread of its own; the host runs `io` (on any number of threads: connections
    /// get strands). `io` must outlive the server's handlers: stop the server, then let `io`
    /// run out (or stop it) before destroying it.
    CRIER_DECL http_server(crier::hub& hub, asio::io_context& io, server_options options = {});
    /// stop()s.
    CRIER_DECL ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    /// Binds, listens and starts serving. Throws std::system_error (e.g. address in use).
    CRIER_DECL void start();
    /// As above; reports failure in `ec` instead.
    CRIER_DECL void start(std::error_code& ec);

    /// The port it listens on (useful with `port = 0`). 0 before start().
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    /// Graceful shutdown: stop accepting, send every stream a `retry:` with jitter then close
    /// it, close idle connections, finish in-flight requests with `Connection: close`, all within
    /// options.shutdown_deadline; then force-close what is left. Idempotent.
    ///
    /// With threads of its own it blocks until done and joins them. On the host's io_context
    /// it blocks the same way when called from another thread; called from a thread running
    /// `io` (e.g. a signal_set handler) it only starts the shutdown and returns, and the host's
    /// loop carries it out (a timer force-closes what is left at the deadline).
    CRIER_DECL void stop();

    /// Hands over a TCP connection the host accepted itself; crier serves it from then on
    /// (requests, streams, timeouts). The socket may belong to any io_context.
    CRIER_DECL void serve(asio::ip::tcp::socket socket);

    /// Serves any Asio stream (e.g. an `asio::ssl::stream` after its handshake) whose executor
    /// belongs to context(). That executor must serialise the stream's handlers (a strand, or
    /// the io_context itself when it runs one thread); the stream must offer `lowest_layer()`.
    template <class Stream>
    void serve_stream(Stream stream) {
        serve_on(std::move(stream), 0);
    }

    /// The io_context the server runs on: the host's, or the first of its own (run by one
    /// thread; the others serve connections only).
    [[nodiscard]] asio::io_context& context() noexcept { return io_; }

    /// Open connections (streams and plain requests).
    [[nodiscard]] std::size_t connections() const noexcept { return state_->open_connections(); }

private:
    template <class Stream>
    void serve_on(Stream stream, std::size_t shard) {
        if (!state_->connection_opened()) return;
        std::make_shared<detail::connection<Stream>>(std::move(stream), state_, shard)->start();
    }
    static std::vector<std::unique_ptr<asio::io_context>> make_loops(std::size_t n);
    void run(asio::io_context& loop) noexcept;
    void begin_stop();
    void force_close();
    void finish_stop();
    [[nodiscard]] std::size_t open_count() const;

    std::size_t thread_count_;
    std::vector<std::unique_ptr<asio::io_context>> own_loops_;  // one per thread; empty: the host's
    asio::io_context& io_;
    std::shared_ptr<detail::server_state> state_;
    std::shared_ptr<detail::listener> listener_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::vector<std::thread> threads_;
    std::uint16_t port_ = 0;
    bool started_ = false;              // start() and stop() only: never concurrent with each other
    std::atomic<bool> stopped_{false};  // read by the force-close timer on the I/O threads
};

}  // namespace crier::adapters

#if defined(CRIER_HEADER_ONLY)
#    include <crier/adapters/impl/http_server.ipp>
#endif

#endif
