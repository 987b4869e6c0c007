// SPDX-License-Identifier: MIT
// crier::adapters for cpp-httplib: crier's routes and SSE streams on a host's own
// httplib::Server (target crier::httplib; never included by <crier/crier.hpp>).
#ifndef CRIER_ADAPTERS_HTTPLIB_HPP
#define CRIER_ADAPTERS_HTTPLIB_HPP

#include <crier/adapters/blocking_stream.hpp>
#include <crier/adapters/router.hpp>
#include <crier/adapters/stream_service.hpp>
#include <crier/error.hpp>
#include <crier/http/request.hpp>
#include <crier/http/response.hpp>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crier::adapters {

/// crier's request for an httplib request: method, target (as sent; rebuilt from the path and
/// parameters when httplib did not keep it), headers, body and the peer's address.
[[nodiscard]] inline http::request to_request(const httplib::Request& req) {
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    headers.reserve(req.headers.size());
    for (const auto& [name, value] : req.headers) headers.emplace_back(name, value);
    std::string target = req.target;
    if (target.empty()) {
        // Percent-encode everything but unreserved characters (and the path's slashes), so the
        // router decodes exactly what httplib decoded.
        const auto append_encoded = [&target](std::string_view text, bool path) {
            constexpr char hex[] = "0123456789ABCDEF";
            for (const char c : text) {
                const auto u = static_cast<unsigned char>(c);
                if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || (path && c == '/')) {
                    target += c;
                } else {
                    target += '%';
                    target += hex[u >> 4];
                    target += hex[u & 15];
                }
            }
        };
        append_encoded(req.path, true);
        char separator = '?';
        for (const auto& [name, value] : req.params) {
            target += separator;
            separator = '&';
            append_encoded(name, false);
            target += '=';
            append_encoded(value, false);
        }
    }
    auto out = http::request::from(req.method, target, headers, req.body);
    out.set_remote_address(req.remote_addr);
    return out;
}

/// Writes a complete crier response (status, Content-Type, headers, body) into `res`, with the
/// defaults crier's own serializer adds (`Cache-Control: no-store` unless set).
inline void write_response(const http::response& r, httplib::Response& res) {
    res.status = r.status;
    for (const auto& [name, value] : r.headers) res.set_header(name, value);
    if (!res.has_header("Cache-Control")) res.set_header("Cache-Control", "no-store");
    if (r.close) res.set_header("Connection", "close");
    if (r.status == 204 || r.status == 304) {
        // httplib gives a response with neither body nor provider `Content-Length: 0`, which
        // these must not carry (RFC 9110, 8.6); an empty provider has no length to send.
        res.set_content_provider(0, r.content_type.empty() ? "text/plain" : r.content_type,
                                 [](std::size_t, std::size_t, httplib::DataSink& sink) {
                                     sink.done();
                                     return true;
                                 });
    } else if (!r.content_type.empty()) {
        res.set_content(r.body, r.content_type);
    } else {
        res.body = r.body;
    }
}

/// What a pool thread may serve as streams by default: half of httplib's default pool
/// (CPPHTTPLIB_THREAD_POOL_COUNT / 2, at least 1), so plain requests keep the other half.
[[nodiscard]] inline std::size_t httplib_default_max_streams() {
    return std::max<std::size_t>(static_cast<std::size_t>(CPPHTTPLIB_THREAD_POOL_COUNT) / 2, 1);
}

/// crier's routes and streams for one httplib::Server: routes a request with the router, writes
/// a complete response, or starts a stream on httplib's chunked content provider.
///
/// A stream holds one of httplib's pool threads for its whole life (httplib's I/O is blocking),
/// so at most `max_streams` run at once; past it a stream is answered 503 with Retry-After.
/// Size the server's pool above it (Server::new_task_queue) so plain requests still get
/// threads. The write deadline is httplib's write timeout (Server::set_write_timeout: set it to
/// the service's write_timeout); a client that left is noticed by the second write after it
/// left, i.e. within two heartbeats, and its per-user slot is freed then.
///
/// @par Thread Safety
/// serve() and stream() may be called from any of httplib's threads concurrently. The object
/// must outlive the server's threads (stop the server before destroying it).
class httplib_streams {
public:
    /// Streams of `service` routed by `routes` (both outlive this object), at most
    /// `max_streams` at once.
    httplib_streams(stream_service& service, router& routes,
                    std::size_t max_streams = httplib_default_max_streams())
        : service_(service), routes_(routes), max_streams_(std::max<std::size_t>(max_streams, 1)) {}
    httplib_streams(const httplib_streams&) = delete;
    httplib_streams& operator=(const httplib_streams&) = delete;

    /// Answers a request under crier's prefix, authenticated by the router's `authenticate`.
    void serve(const httplib::Request& req, httplib::Response& res) {
        answer(routes_.route(to_request(req)), res);
    }

    /// Answers a request the host authenticated itself: `who` is the principal.
    void serve(const httplib::Request& req, httplib::Response& res, const principal& who) {
        answer(routes_.route(to_request(req), who), res);
    }

    /// Starts the stream `request` describes in `res` (or writes its refusal: 429, 204, 503).
    void stream(stream_request request, httplib::Response& res) {
        auto held = std::make_shared<held_stream>(*this);
        if (!held->has_slot()) {
            auto busy = http::json_error(503, "too_many_streams",
                                         "this server carries no more streams now");
            busy.headers.emplace_back("Retry-After", "5");
            write_response(busy, res);
            return;
        }
        held->stream.emplace(service_, std::move(request));
        if (held->stream->error()) {
            write_response(held->stream->refusal(), res);
            return;  // the slot is freed with `held`
        }
        const http::response& head = held->stream->head();
        res.status = head.status;
        for (const auto& [name, value] : head.headers) res.set_header(name, value);
        res.set_chunked_content_provider(
            head.content_type,
            [held](std::size_t, httplib::DataSink& sink) { return held->pump(sink); },
            // httplib calls it when the response is done with, written or not: the stream ends
            // and frees its subscription, per-user slot and our slot at once.
            [held](bool) { held->release(); });
    }

    /// Streams carried now.
    [[nodiscard]] std::size_t active() const noexcept { return active_.load(); }
    /// The most streams carried at once.
    [[nodiscard]] std::size_t max_streams() const noexcept { return max_streams_; }

private:
    /// Longest wait in next(): httplib checks for its own shutdown between two provider calls.
    static constexpr std::chrono::milliseconds max_wait_{1000};

    /// One stream and the slot it holds, shared by the provider and the releaser (httplib
    /// keeps them in copyable std::functions).
    struct held_stream {
        explicit held_stream(httplib_streams& owner) : owner_(owner) {
            slot_ = owner_.active_.fetch_add(1) < owner_.max_streams_;
            if (!slot_) owner_.active_.fetch_sub(1);
        }
        ~held_stream() { release(); }
        held_stream(const held_stream&) = delete;
        held_stream& operator=(const held_stream&) = delete;

        [[nodiscard]] bool has_slot() const noexcept { return slot_; }

        // One step of httplib's provider loop: write what next() gives; false ends the
        // connection (the peer is gone, or the stream is over).
        bool pump(httplib::DataSink& sink) noexcept {
            if (!stream) return false;
            try {
                const auto c = stream->next(max_wait_);
                if (!c.bytes.empty() && !sink.write(c.bytes.data(), c.bytes.size())) {
                    stream->abandon(errc::peer_closed);
                    return false;
                }
                if (!c.end) return true;
                // The last chunk, then close the connection (false), as every crier transport
                // does: a client that reconnects opens a new one.
                sink.done();
                return false;
            } catch (...) {
                // httplib does not catch around its providers, so an exception (out of memory)
                // would end the process: this stream ends instead.
                stream->abandon(errc::closed);
                return false;
            }
        }

        void release() noexcept {
            stream.reset();
            if (slot_) owner_.active_.fetch_sub(1);
            slot_ = false;
        }

        std::optional<blocking_stream> stream;

    private:
        httplib_streams& owner_;
        bool slot_ = false;
    };

    void answer(route_result routed, httplib::Response& res) {
        if (routed.stream) {
            stream(std::move(*routed.stream), res);
        } else {
            write_response(routed.response, res);
        }
    }

    stream_service& service_;
    router& routes_;
    const std::size_t max_streams_;
    std::atomic<std::size_t> active_{0};
};

}  // namespace crier::adapters

#endif
