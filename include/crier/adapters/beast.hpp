// SPDX-License-Identifier: MIT
// crier::adapters::beast: crier's streams and routes on a host's Boost.Beast server — the one
// stream session over Boost.Asio, and translations between Beast's messages and crier's.
// Needs Boost (1.74 or newer, headers only); never included by <crier/crier.hpp>.
#ifndef CRIER_ADAPTERS_BEAST_HPP
#define CRIER_ADAPTERS_BEAST_HPP

#include <crier/adapters/detail/async_session.hpp>
#include <crier/adapters/stream_service.hpp>
#include <crier/http/request.hpp>
#include <crier/http/response.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace crier::adapters {

namespace detail {

/// The stream session's networking vocabulary on Boost.Asio (detail::asio_net's twin). The
/// session only asks its I/O results whether they failed and whether with `timed_out`, so
/// Boost's error codes need no conversion; its own reasons are crier::errc, as std::error_code.
struct boost_net {
    using error_code = boost::system::error_code;
    using const_buffer = boost::asio::const_buffer;
    using mutable_buffer = boost::asio::mutable_buffer;
    using shutdown_type = boost::asio::socket_base::shutdown_type;
    static constexpr shutdown_type shutdown_send = boost::asio::socket_base::shutdown_send;
    static constexpr shutdown_type shutdown_both = boost::asio::socket_base::shutdown_both;
    static constexpr auto timed_out = boost::asio::error::timed_out;

    template <class Executor, class F>
    static void post(const Executor& ex, F&& f) {
        boost::asio::post(ex, std::forward<F>(f));
    }

    template <class Executor, class F>
    static void dispatch(const Executor& ex, F&& f) {
        boost::asio::dispatch(ex, std::forward<F>(f));
    }

    template <class Stream, class Buffers, class Condition, class Handler>
    static void async_write(Stream& s, const Buffers& b, Condition&& c, Handler&& h) {
        boost::asio::async_write(s, b, std::forward<Condition>(c), std::forward<Handler>(h));
    }

    template <class Handler, class Executor>
    static auto associated_executor(const Handler& h, const Executor& io) {
        return boost::asio::get_associated_executor(h, io);
    }

    template <class Token, class Initiation>
    static auto initiate(Initiation&& init, Token&& token) {
        return boost::asio::async_initiate<Token, void(std::error_code)>(
            std::forward<Initiation>(init), token);
    }
};

}  // namespace detail

namespace beast {

/// Serves `request` as an SSE stream on `stream` — a `boost::beast::tcp_stream`, a
/// `boost::beast::ssl_stream<tcp_stream>` after its handshake, a
/// `boost::asio::ip::tcp::socket`, or any Boost.Asio AsyncReadStream + AsyncWriteStream whose
/// lowest layer is a socket — after the host's Beast session read the request and decided
/// who may read what (crier::adapters::router::route gives the stream_request). Call
/// `tcp_stream::expires_never()` first: the stream's deadline is crier's write deadline from
/// then on, and a Beast timeout would cut a quiet stream.
///
/// crier writes the whole response: the head (with `request.headers`), `retry:`, `connected`,
/// replay or `resync`, live events in gathered writes, heartbeats and the idle close; a refused
/// stream (429, 204, 503) gets its answer instead. The operation ends when the stream does; the
/// socket is then closed (an SSE body ends with the connection) and the handler gets why:
/// errc::peer_closed, errc::write_timeout, errc::idle_timeout, errc::disconnected,
/// errc::subscriber_overflow, errc::hub_stopped, or the refusal. Signature:
/// `void(std::error_code)`.
///
/// `prelude`: bytes to write before the head (e.g. responses to pipelined requests the host
/// already answered).
///
/// `stream` must outlive the operation and must not be used by anyone else until the handler
/// runs (which may destroy it); its executor must serialise its handlers (a strand, or an
/// io_context run by one thread). The handler is never invoked inside this call; what it
/// throws is reported (stderr) and swallowed.
template <class Stream, class CompletionToken>
auto async_stream(Stream& stream, stream_service& service, stream_request request,
                  CompletionToken&& token, std::string prelude = {}) {
    auto init = [&stream, state = service.state(), prelude = std::move(prelude)](
                    auto handler, stream_request req) mutable {
        using session =
            adapters::detail::async_session<adapters::detail::boost_net, Stream, decltype(handler)>;
        std::make_shared<session>(stream, std::move(state), std::move(handler), std::move(prelude))
            ->start(std::move(req));
    };
    return boost::asio::async_initiate<CompletionToken, void(std::error_code)>(
        std::move(init), token, std::move(request));
}

/// crier's view of a Beast request (method, target, headers, body), for router::route. The body
/// must be text-like: `string_body`, `empty_body`, `dynamic_body`, `vector_body<char>`. The peer's
/// address is the host's to add (`set_remote_address`), if its hooks want it.
template <class Body, class Fields>
[[nodiscard]] crier::http::request to_request(
    const boost::beast::http::request<Body, Fields>& message) {
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    for (const auto& field : message) {
        headers.emplace_back(
            std::string_view(field.name_string().data(), field.name_string().size()),
            std::string_view(field.value().data(), field.value().size()));
    }
    std::string body;
    const auto& value = message.body();
    using value_type = std::remove_cvref_t<decltype(value)>;
    if constexpr (std::is_convertible_v<const value_type&, std::string_view>) {
        body = std::string(std::string_view(value));  // string_body
    } else if constexpr (requires {
                             requires boost::asio::is_const_buffer_sequence<
                                 decltype(value.data())>::value;
                         }) {
        body = boost::beast::buffers_to_string(value.data());  // dynamic_body
    } else if constexpr (requires { std::string(value.data(), value.size()); }) {
        body = std::string(value.data(), value.size());  // vector_body<char>
    } else {
        static_assert(std::is_empty_v<value_type>, "crier needs a text-like request body");
    }
    const auto method = message.method_string();
    const auto target = message.target();
    return crier::http::request::from(std::string_view(method.data(), method.size()),
                                      std::string_view(target.data(), target.size()), headers,
                                      std::move(body));
}

/// A crier response (from router::route) as a Beast response to write with
/// `boost::beast::http::async_write`: `version` and `keep_alive` from the request
/// (`req.version()`, `req.keep_alive()`); crier may still ask to close (`response.close`).
/// Cache-Control is `no-store` unless crier set its own, as on crier's own server.
[[nodiscard]] inline boost::beast::http::response<boost::beast::http::string_body> to_response(
    const crier::http::response& response, unsigned version, bool keep_alive) {
    namespace http = boost::beast::http;
    http::response<http::string_body> out(static_cast<http::status>(response.status), version);
    bool has_cache_control = false;
    for (const auto& [name, value] : response.headers) {
        out.insert(name, value);
        has_cache_control =
            has_cache_control || http::string_to_field(name) == http::field::cache_control;
    }
    if (!has_cache_control) out.set(http::field::cache_control, "no-store");
    if (!response.content_type.empty()) out.set(http::field::content_type, response.content_type);
    out.body() = response.body;
    out.keep_alive(keep_alive && !response.close);
    out.prepare_payload();
    return out;
}

}  // namespace beast

}  // namespace crier::adapters

#endif
