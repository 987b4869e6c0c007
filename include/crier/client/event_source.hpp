// SPDX-License-Identifier: MIT
// crier::client::event_source: a browser-compatible EventSource client on the caller's Asio
// executor.
#ifndef CRIER_CLIENT_EVENT_SOURCE_HPP
#define CRIER_CLIENT_EVENT_SOURCE_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/execution_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace crier::client {

/// One event delivered to a handler. The views stay valid only during the call.
struct event {
    std::string_view type;  ///< e.g. `horses:created`; `message` when the server sent no type
    std::string_view data;  ///< the event's data
    /// The event's id: as a browser's `lastEventId`, the last `id:` the stream carried (so an
    /// event without an `id:` line repeats its predecessor's); a `batch` item's own id. May be
    /// empty.
    std::string_view id;
};

/// The connection state, as a browser's `EventSource.readyState`.
enum class ready_state {
    connecting,  ///< connecting, or waiting to reconnect
    open,        ///< a `text/event-stream` response is being received
    closed,      ///< stopped for good: close() was called, or the server's answer forbids retrying
};

/// A change of connection state, passed to the handlers registered with on_state().
struct state_change {
    ready_state state = ready_state::connecting;  ///< the state entered
    /// `connecting`: why the previous connection ended (empty on the first attempt), e.g.
    /// errc::end_of_stream, errc::timeout or a socket error. `closed`: why the client stopped for
    /// good: errc::unexpected_status (204 or another non-200 status), errc::wrong_content_type,
    /// errc::too_many_redirects, errc::invalid_url, errc::tls_unavailable, errc::invalid_field.
    std::error_code error{};
    /// The HTTP status of the response that caused the change; 0 when there was none.
    int http_status = 0;
    /// `connecting` after a failure: how long the client waits before the next attempt.
    std::chrono::milliseconds retry_in{0};
};

/// Settings of an event_source. Every field has a default; set the ones you need with designated
/// initializers: `event_source_options{.headers = {{"Authorization", "Bearer " + token}}}`.
struct event_source_options {
    /// Extra request headers, sent in order on every request, e.g. `Authorization`. They replace
    /// the defaults `Accept: text/event-stream`, `Cache-Control: no-cache` and `User-Agent` when
    /// named alike; `Host` and `Last-Event-ID` are always the client's own. `Authorization`,
    /// `Cookie` and `Proxy-Authorization` are not sent after a redirect to another origin.
    /// Default: none.
    std::vector<std::pair<std::string, std::string>> headers{};

    /// The Last-Event-ID of the first request, e.g. restored from the previous run. Default: none.
    std::string last_event_id{};

    /// Reconnection delay used until the server sends `retry:`. Default 3 s, as browsers.
    std::chrono::milliseconds initial_retry{3000};

    /// The largest backoff ceiling: the delay doubles after each failed or short-lived connection
    /// up to this (see backoff_delay()). A server's larger `retry:` is still honoured.
    /// Default 60 s.
    std::chrono::milliseconds max_retry{60000};

    /// A connection that stayed open this long, or delivered any event other than `connected`, is
    /// healthy: the backoff starts again from the reconnection delay. Default 30 s.
    std::chrono::milliseconds healthy_after{30000};

    /// Redirects (301, 302, 303, 307, 308) followed per connection attempt. Reconnections start
    /// from the original URL again. Default 5.
    unsigned max_redirects = 5;

    /// Event ids remembered to drop duplicates (e.g. replayed after a reconnection); 0 disables
    /// deduplication. Default 1024.
    std::size_t dedup_capacity = 1024;

    /// Largest event (and line) accepted; a bigger one is a network error. Default
    /// CRIER_SSE_MAX_EVENT_BYTES (16 MiB).
    std::size_t max_event_bytes = CRIER_SSE_MAX_EVENT_BYTES;

    /// Largest response head (status line and fields). Default 16 KiB.
    std::size_t max_response_head_bytes = 16 * 1024;

    /// Time allowed to resolve the host, connect and complete a TLS handshake. Default 10 s.
    std::chrono::milliseconds connect_timeout{10000};

    /// A connection that receives no byte for this long is treated as a network error and
    /// replaced. Keep it above twice the server's heartbeat (crier's is 30 s). Default 75 s.
    std::chrono::milliseconds read_timeout{75000};

    /// Source of backoff jitter: returns a uniform random number in [0, 1]. Called like a
    /// handler (on the strand, never after close() returns). Default (empty): a private
    /// std::mt19937 seeded from std::random_device.
    /// Tests pass `[] { return 1.0; }` to make delays exact.
    std::function<double()> jitter{};

    /// https only: verify the server's certificate chain and host name. Default true.
    bool tls_verify_peer = true;

    /// https only: a PEM file of trusted certificate authorities. Default: the system's.
    std::string tls_ca_file{};
};

namespace detail {
class event_source_impl;
}  // namespace detail

/// A Server-Sent Events client that behaves like a browser's `EventSource`, on the caller's Asio
/// executor.
///
/// It sends `GET` with `Accept: text/event-stream`, `Cache-Control: no-cache`, your headers and
/// `Last-Event-ID` once it has one; reads plain, `Content-Length` and chunked bodies; and feeds
/// them to crier's WHATWG parser. On a network error, a stalled connection (options.read_timeout)
/// or a clean end of stream it reconnects after an exponential backoff with full jitter that
/// starts from the server's `retry:`; it stops for good on 204, any other non-200 status (after
/// following redirects) or a Content-Type other than `text/event-stream`, and says why through
/// on_state(). `https://` URLs need CRIER_ENABLE_SSL defined for every translation unit that
/// compiles the client (the CMake option CRIER_ENABLE_SSL does it and links OpenSSL); without it
/// they stop with errc::tls_unavailable.
///
/// Delivery: an event whose id was already delivered is dropped (options.dedup_capacity ids are
/// remembered; an event that carries no new `id:` line is never taken for a duplicate). A `batch`
/// event is unpacked and each item delivered as an event of its own, deduplicated by its id; a
/// `resync` event goes to the on_resync() handlers only. For each event the handlers run in this
/// order: on(type) handlers in registration order (exact types and `module:*` prefixes), then
/// on_module(), then on("*").
///
/// Handlers run on a strand of the executor, one at a time. A handler that throws closes the
/// source, and the exception propagates out of the executor's `run()`.
///
/// @par Thread Safety
/// Register handlers before start(), from one thread. start(), close(), state() and the
/// destructor may be called from any thread, also from inside a handler. No handler starts after
/// close() returns: close() waits for a handler running on another thread to finish. So a
/// handler must not wait for a thread that is inside close() of the same source.
/// The executor's execution context must outlive the event_source.
class event_source {
public:
    /// The executor handlers run on (through a strand).
    using executor_type = asio::any_io_executor;
    /// Called for an event.
    using event_handler = std::function<void(const event&)>;
    /// Called for an event of a module: `action` is the type after the module's `module:`.
    using module_handler = std::function<void(std::string_view action, const event&)>;
    /// Called on a change of connection state.
    using state_handler = std::function<void(const state_change&)>;

    /// A client of `url` (`http://host[:port]/path?query`, or `https://…`); nothing happens
    /// until start(). An invalid URL or header is reported through on_state() at start().
    CRIER_DECL event_source(const executor_type& executor, std::string_view url,
                            event_source_options options = {});

    /// A client running on `context`'s executor, e.g. an `asio::io_context`.
    template <class ExecutionContext>
    requires std::is_convertible_v<ExecutionContext&, asio::execution_context&> event_source(
        ExecutionContext& context, std::string_view url, event_source_options options = {})
        : event_source(executor_type(context.get_executor()), url, std::move(options)) {}

    event_source(const event_source&) = delete;
    event_source& operator=(const event_source&) = delete;
    /// The moved-from source is empty: its calls do nothing.
    CRIER_DECL event_source(event_source&& other) noexcept;
    /// Closes this source first.
    CRIER_DECL event_source& operator=(event_source&& other) noexcept;
    /// Closes the source.
    CRIER_DECL ~event_source();

    /// Calls `handler` for events of `type`. `"*"` means every event (except `resync`);
    /// `"module:*"` every type that starts with `module:`. Before start() only.
    CRIER_DECL void on(std::string type, event_handler handler);

    /// Calls `handler(action, event)` for events of `module`: `horses:created` arrives at module
    /// `horses` as action `created`, `health:appointment:updated` at module `health` as action
    /// `appointment:updated` (the seed's useRealtimeModule). Before start() only.
    CRIER_DECL void on_module(std::string module, module_handler handler);

    /// Calls `handler` for `resync` events: the server could not replay everything this client
    /// missed, so the application should refetch its state. Before start() only.
    CRIER_DECL void on_resync(event_handler handler);

    /// Calls `handler` on each change of connection state. close() itself reports nothing.
    /// Before start() only.
    CRIER_DECL void on_state(state_handler handler);

    /// Starts connecting. Handlers are never called from inside start(). Does nothing when already
    /// started or closed.
    CRIER_DECL void start();

    /// Stops for good: no handler starts after close() returns; the connection and timers are
    /// cancelled asynchronously. Safe from any thread and from inside a handler; idempotent.
    CRIER_DECL void close() noexcept;

    /// The current connection state.
    [[nodiscard]] CRIER_DECL ready_state state() const noexcept;

    /// The executor given at construction.
    [[nodiscard]] CRIER_DECL executor_type get_executor() const noexcept;

private:
    std::shared_ptr<detail::event_source_impl> impl_;
};

}  // namespace crier::client

#if defined(CRIER_HEADER_ONLY)
#    include <crier/client/impl/event_source.ipp>
#endif

#endif
