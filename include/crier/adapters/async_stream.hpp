// SPDX-License-Identifier: MIT
// crier::adapters::async_stream: serve one SSE stream over any standalone-Asio AsyncWriteStream
// whose request the host parsed and authenticated itself.
#ifndef CRIER_ADAPTERS_ASYNC_STREAM_HPP
#define CRIER_ADAPTERS_ASYNC_STREAM_HPP

#include <crier/adapters/detail/asio_net.hpp>
#include <crier/adapters/detail/async_session.hpp>
#include <crier/adapters/stream_service.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace crier::adapters {

/// Serves `request` as an SSE stream on `stream` (a `asio::ip::tcp::socket`, an
/// `asio::ssl::stream` after its handshake, or any AsyncReadStream + AsyncWriteStream whose
/// lowest layer is a socket), after the host has read the request and decided who may read
/// what. crier writes the whole response: the head (with `request.headers`), `retry:`,
/// `connected`, replay or `resync`, then live events in gathered writes, heartbeats and the
/// idle close, all under the service's write deadline; a refused stream (per-user limit: 429,
/// refused reconnect: 204, shutdown: 503) gets its answer instead.
///
/// The operation ends when the stream does; the socket is then closed (an SSE body ends with
/// the connection) and the handler gets why: errc::peer_closed, errc::write_timeout,
/// errc::idle_timeout, errc::disconnected (hub::disconnect_user / close_channel),
/// errc::subscriber_overflow, errc::hub_stopped (shutdown), or the refusal
/// (errc::too_many_connections, errc::reconnect_refused, ...). Signature:
/// `void(std::error_code)`.
///
/// `prelude`: bytes to write before the head (e.g. responses to requests the host read ahead
/// on the same connection).
///
/// `stream` must outlive the operation and must not be used by anyone else until the handler
/// runs; its executor must serialise its handlers (a strand, or an io_context run by one
/// thread). The handler is never invoked inside this call. What the handler throws is
/// reported (stderr) and swallowed.
template <class Stream, class CompletionToken>
auto async_stream(Stream& stream, stream_service& service, stream_request request,
                  CompletionToken&& token, std::string prelude = {}) {
    auto init = [&stream, state = service.state(), prelude = std::move(prelude)](
                    auto handler, stream_request req) mutable {
        using session = detail::async_session<detail::asio_net, Stream, decltype(handler)>;
        std::make_shared<session>(stream, std::move(state), std::move(handler), std::move(prelude))
            ->start(std::move(req));
    };
    return asio::async_initiate<CompletionToken, void(std::error_code)>(std::move(init), token,
                                                                        std::move(request));
}

}  // namespace crier::adapters

#endif
