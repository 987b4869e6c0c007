// SPDX-License-Identifier: MIT
// A host service's own minimal HTTP/1.1 server on standalone Asio — its acceptor, its
// io_context, its request handling — that serves `GET /hello` itself and crier's routes through
// crier::adapters::router, with SSE streams on crier's one stream session (async_stream). No
// part of crier's HTTP parser is used: the host reads requests its own way.
#ifndef CRIER_EXAMPLES_ASIO_HOST_HPP
#define CRIER_EXAMPLES_ASIO_HOST_HPP

#include <crier/adapters/async_stream.hpp>
#include <crier/adapters/router.hpp>
#include <crier/adapters/stream_service.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include <charconv>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asio_host {

/// The host's idea of a request: what its own parsing found.
struct host_request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (n.size() == name.size() &&
                std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                })) {
                return v;
            }
        }
        return std::nullopt;
    }
};

/// Who is asking, decided by the host from its own request object (nullopt: 401).
using authenticator = std::function<std::optional<crier::adapters::principal>(const host_request&)>;

/// One connection: read one request (bounded, with a deadline), answer it, close. A stream
/// request hands the socket to crier until the stream ends.
class session : public std::enable_shared_from_this<session> {
public:
    session(asio::ip::tcp::socket socket, crier::adapters::stream_service& streams,
            crier::adapters::router& router, const authenticator& authenticate)
        : socket_(std::move(socket)),
          timer_(socket_.get_executor()),
          streams_(streams),
          router_(router),
          authenticate_(authenticate),
          buffer_(16 * 1024) {}

    void start() {
        timer_.expires_after(std::chrono::seconds(10));  // the whole request, head and body
        timer_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec) self->socket_.close(ec);
        });
        asio::async_read_until(socket_, buffer_, "\r\n\r\n",
                               [self = shared_from_this()](std::error_code ec, std::size_t n) {
                                   if (!ec) self->on_head(n);
                               });
    }

private:
    void on_head(std::size_t head_bytes) {
        std::string head(
            asio::buffers_begin(buffer_.data()),
            asio::buffers_begin(buffer_.data()) + static_cast<std::ptrdiff_t>(head_bytes));
        buffer_.consume(head_bytes);
        if (!parse_head(head)) return reply(400, "text/plain", "bad request\n");
        std::size_t length = 0;
        if (auto cl = request_.header("Content-Length")) {
            std::from_chars(cl->data(), cl->data() + cl->size(), length);
        }
        if (length > 1024 * 1024) return reply(413, "text/plain", "too large\n");
        const std::size_t have = buffer_.size();
        asio::async_read(socket_, buffer_,
                         asio::transfer_exactly(length > have ? length - have : 0),
                         [self = shared_from_this(), length](std::error_code ec, std::size_t) {
                             if (ec) return;
                             auto data = self->buffer_.data();
                             self->request_.body.assign(
                                 asio::buffers_begin(data),
                                 asio::buffers_begin(data) + static_cast<std::ptrdiff_t>(length));
                             self->handle();
                         });
    }

    bool parse_head(std::string_view head) {
        const auto line_end = head.find("\r\n");
        const std::string_view line = head.substr(0, line_end);
        const auto sp1 = line.find(' ');
        const auto sp2 = line.rfind(' ');
        if (sp1 == std::string_view::npos || sp2 <= sp1) return false;
        request_.method = line.substr(0, sp1);
        request_.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        for (auto pos = line_end + 2; pos < head.size();) {
            const auto end = head.find("\r\n", pos);
            const std::string_view h = head.substr(pos, end - pos);
            pos = end + 2;
            const auto colon = h.find(':');
            if (colon == std::string_view::npos) continue;
            std::string_view value = h.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            request_.headers.emplace_back(h.substr(0, colon), value);
        }
        return true;
    }

    void handle() {
        const std::string_view path = std::string_view(request_.target)
                                          .substr(0, std::string_view(request_.target).find('?'));
        if (path == "/hello") return reply(200, "text/plain", "hello");
        if (!router_.matches(path)) return reply(404, "text/plain", "not found\n");
        auto who = authenticate_(request_);
        if (!who) return reply(401, "application/json", "{\"error\":\"unauthorized\"}\n");
        std::vector<std::pair<std::string_view, std::string_view>> headers(request_.headers.begin(),
                                                                           request_.headers.end());
        auto routed = router_.route(crier::http::request::from(request_.method, request_.target,
                                                               headers, std::move(request_.body)),
                                    *who);
        if (!routed.stream) {
            out_.clear();
            crier::http::serialize(out_, routed.response, false);
            return write_and_close();
        }
        timer_.cancel();  // crier's session keeps the stream's deadlines from here on
        crier::adapters::async_stream(socket_, streams_, std::move(*routed.stream),
                                      [self = shared_from_this()](std::error_code) {
                                          // The stream ended and crier closed the socket.
                                      });
    }

    void reply(int status, std::string_view type, std::string_view body) {
        crier::http::response r;
        r.status = status;
        r.content_type = type;
        r.body = body;
        out_.clear();
        crier::http::serialize(out_, r, false);
        write_and_close();
    }

    void write_and_close() {
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](std::error_code, std::size_t) {
                              std::error_code ignored;
                              self->socket_.shutdown(asio::socket_base::shutdown_send, ignored);
                              self->timer_.cancel();
                              self->socket_.close(ignored);
                          });
    }

    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    crier::adapters::stream_service& streams_;
    crier::adapters::router& router_;
    const authenticator& authenticate_;
    asio::streambuf buffer_;
    host_request request_;
    std::string out_;
};

/// The host's server: its acceptor on its io_context, crier's stream service and router.
class server {
public:
    server(asio::io_context& io, crier::hub& hub, std::uint16_t port, authenticator authenticate,
           crier::adapters::stream_settings settings = {},
           crier::adapters::server_options routes = {})
        : io_(io),
          acceptor_(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)),
          streams_(hub, std::move(settings)),
          router_(streams_, std::move(routes)),
          authenticate_(std::move(authenticate)) {
        do_accept();
    }

    [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    [[nodiscard]] crier::adapters::stream_service& streams() { return streams_; }
    [[nodiscard]] const crier::adapters::stream_service& streams() const { return streams_; }

    /// Stops accepting and ends every stream gracefully (each gets a `retry:`).
    void shutdown() {
        asio::post(io_, [this] {
            std::error_code ignored;
            acceptor_.close(ignored);
        });
        streams_.shutdown();
    }

private:
    void do_accept() {
        acceptor_.async_accept(
            asio::make_strand(io_), [this](std::error_code ec, asio::ip::tcp::socket socket) {
                if (ec == asio::error::operation_aborted) return;
                if (!ec) {
                    std::make_shared<session>(std::move(socket), streams_, router_, authenticate_)
                        ->start();
                }
                do_accept();
            });
    }

    asio::io_context& io_;
    asio::ip::tcp::acceptor acceptor_;
    crier::adapters::stream_service streams_;
    crier::adapters::router router_;
    authenticator authenticate_;
};

}  // namespace asio_host

#endif
