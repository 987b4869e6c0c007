// SPDX-License-Identifier: MIT
// crier::adapters::blocking_stream: one SSE stream pulled by a thread-per-connection server
// ("next bytes to write, or a heartbeat, or the end", with a timeout).
#ifndef CRIER_ADAPTERS_BLOCKING_STREAM_HPP
#define CRIER_ADAPTERS_BLOCKING_STREAM_HPP

#include <crier/adapters/stream_service.hpp>
#include <crier/config.hpp>
#include <crier/error.hpp>
#include <crier/http/response.hpp>

#include <chrono>
#include <memory>
#include <string_view>
#include <system_error>

namespace crier::adapters {

namespace detail {
class blocking_session;
}  // namespace detail

/// One SSE stream driven by the thread that serves its connection (cpp-httplib's content
/// providers, or any blocking server): the host writes the head, then calls next() in a loop
/// and writes what it returns, until it says the stream is over. The same contract as
/// async_stream(): `retry:`, `connected`, replay or `resync`, live frames coalesced into one
/// write, heartbeat comments on a quiet stream, the idle close, kicks and graceful shutdown.
///
/// What crier cannot do here is write: the host's own write timeout is the write deadline
/// (set it to the service's `write_timeout`), and a peer that left is noticed when a write
/// fails, i.e. at the latest on the second heartbeat after it left. Tell the stream with
/// abandon(), or just destroy it: the subscription and the per-user slot are released at once.
///
/// @par Thread Safety
/// One thread drives a stream; the service may end it from any thread (shutdown, kicks).
class blocking_stream {
public:
    /// What next() returns.
    struct chunk {
        /// Bytes to write now (valid until the next call); may be empty.
        std::string_view bytes{};
        /// After writing `bytes`, end the response: the stream is over.
        bool end = false;
        /// Why it ended, when `end` (see async_stream() for the reasons).
        std::error_code reason{};
    };

    /// Subscribes `request` (the host has authenticated and authorized it). When crier refuses
    /// it, error() says why and refusal() is the response to send instead.
    CRIER_DECL blocking_stream(stream_service& service, stream_request request);
    /// Ends the stream: unsubscribes and frees the per-user slot.
    CRIER_DECL ~blocking_stream();
    /// Takes over a stream; the moved-from object is empty and ends nothing.
    blocking_stream(blocking_stream&&) noexcept = default;
    /// Takes over a stream (ending the one this object held, if any).
    blocking_stream& operator=(blocking_stream&&) noexcept = default;
    blocking_stream(const blocking_stream&) = delete;
    blocking_stream& operator=(const blocking_stream&) = delete;

    /// Empty when the stream was accepted; else errc::too_many_connections (refusal() is a 429
    /// with Retry-After), errc::reconnect_refused (204), errc::hub_stopped (503), ...
    [[nodiscard]] CRIER_DECL std::error_code error() const noexcept;
    /// The complete response for a refused stream.
    [[nodiscard]] CRIER_DECL const http::response& refusal() const noexcept;
    /// The head of an accepted stream: status 200, `content_type` (text/event-stream) and the
    /// headers to send (crier's and the request's). Its body is empty: next() gives the bytes.
    [[nodiscard]] CRIER_DECL const http::response& head() const noexcept;

    /// Waits at most `max_wait` for the next bytes: first the stream's preamble and replay,
    /// then live frames (everything queued, in one piece), a heartbeat comment once the stream
    /// was quiet for the heartbeat interval, or the end (idle, kicked, overflow, shutdown — a
    /// shutdown's `retry:` comes in the last bytes). Returns empty bytes when `max_wait` passed
    /// with nothing to send: check the connection and call again.
    CRIER_DECL chunk next(std::chrono::milliseconds max_wait);

    /// The host could not write (the peer left) or stops serving: the stream ends with `why`
    /// and releases its subscription now. Later next() calls return the end.
    CRIER_DECL void abandon(std::error_code why = errc::peer_closed) noexcept;

private:
    std::shared_ptr<detail::blocking_session> session_;
};

}  // namespace crier::adapters

#if defined(CRIER_HEADER_ONLY)
#    include <crier/adapters/impl/blocking_stream.ipp>
#endif

#endif
