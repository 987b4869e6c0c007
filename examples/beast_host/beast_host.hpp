// SPDX-License-Identifier: MIT
// A Boost.Beast HTTP server of the host's own — its io_context, its acceptor, its sessions, its
// auth — that serves one route of its own (`GET /hello`) and crier's routes beside it on the
// same port. crier-beast-host runs it; the Beast integration tests run the same class.
#ifndef CRIER_EXAMPLES_BEAST_HOST_HPP
#define CRIER_EXAMPLES_BEAST_HOST_HPP

#include <crier/adapters/beast.hpp>
#include <crier/adapters/router.hpp>
#include <crier/adapters/stream_service.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace crier_example {

/// The host's own Beast server, with crier mounted on it.
class beast_host {
public:
    using request_type = boost::beast::http::request<boost::beast::http::string_body>;
    /// The host's auth, from Beast's own request object; nullopt answers 401.
    using authenticate_fn =
        std::function<std::optional<crier::adapters::principal>(const request_type&)>;

    /// Listens on 127.0.0.1:`port` (0: any free port) on `io`, which the host runs. `options`
    /// are crier's routing options (prefix, authorize hooks, body limit).
    beast_host(boost::asio::io_context& io, crier::adapters::stream_service& streams,
               crier::adapters::server_options options, authenticate_fn authenticate,
               std::uint16_t port)
        : io_(io),
          acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), port}),
          shared_(std::make_shared<shared>(streams, std::move(options), std::move(authenticate))) {
        do_accept();
    }

    /// The port it listens on.
    [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    /// Called with each stream's end reason (peer_closed, write_timeout, disconnected, ...), on
    /// the stream's strand. Set before streams start.
    void on_stream_end(std::function<void(std::error_code)> f) {
        shared_->on_stream_end = std::move(f);
    }

    /// Stops accepting; open sessions finish on their own (streams: stream_service::shutdown()).
    void stop() {
        boost::asio::dispatch(acceptor_.get_executor(), [this] {
            boost::system::error_code ignored;
            acceptor_.close(ignored);
        });
    }

private:
    struct shared {
        shared(crier::adapters::stream_service& s, crier::adapters::server_options o,
               authenticate_fn a)
            : streams(s),
              max_body(o.max_body_bytes),
              router(s, std::move(o)),
              authenticate(std::move(a)) {}
        crier::adapters::stream_service& streams;
        std::size_t max_body;
        crier::adapters::router router;
        authenticate_fn authenticate;
        std::function<void(std::error_code)> on_stream_end;
    };

    // Beast's usual HTTP session: read a request under a deadline, answer it, read the next;
    // a crier stream takes the connection over until it ends.
    class session : public std::enable_shared_from_this<session> {
    public:
        session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<shared> host)
            : stream_(std::move(socket)), host_(std::move(host)) {}

        void run() {
            boost::asio::dispatch(stream_.get_executor(),
                                  [self = shared_from_this()] { self->do_read(); });
        }

    private:
        static constexpr std::chrono::seconds io_timeout{30};

        void do_read() {
            parser_.emplace();
            parser_->header_limit(8192);
            parser_->body_limit(host_->max_body);
            stream_.expires_after(io_timeout);
            boost::beast::http::async_read(
                stream_, buffer_, *parser_,
                [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                    self->on_read(ec);
                });
        }

        void on_read(boost::beast::error_code ec) {
            if (ec == boost::beast::http::error::body_limit) {
                return reply(crier::http::json_error(413, "payload_too_large", "body too large"),
                             11, false);
            }
            if (ec) return close();  // end of stream, timeout, malformed request
            handle(parser_->release());
        }

        void handle(const request_type& req) {
            namespace cb = crier::adapters::beast;
            const std::string_view target(req.target().data(), req.target().size());
            const auto path = target.substr(0, target.find('?'));
            if (path == "/hello") {  // the host's own route
                crier::http::response hello{.content_type = "text/plain", .body = "hello"};
                return reply(hello, req.version(), req.keep_alive());
            }
            auto& router = host_->router;
            if (router.matches(path)) {
                const auto who = host_->authenticate(req);
                if (!who) {
                    return reply(crier::http::json_error(401, "unauthorized", "who are you?"),
                                 req.version(), req.keep_alive());
                }
                auto routed = router.route(cb::to_request(req), *who);
                if (!routed.stream) {  // history, publish, errors
                    res_ = cb::to_response(routed.response, req.version(), req.keep_alive());
                    return do_write();
                }
                stream_.expires_never();  // crier's write deadline governs the stream from here
                return cb::async_stream(stream_, host_->streams, std::move(*routed.stream),
                                        [self = shared_from_this()](std::error_code why) {
                                            if (self->host_->on_stream_end) {
                                                self->host_->on_stream_end(why);
                                            }
                                        });
            }
            reply(crier::http::json_error(404, "not_found", "no such route"), req.version(),
                  req.keep_alive());
        }

        void reply(const crier::http::response& r, unsigned version, bool keep_alive) {
            res_ = crier::adapters::beast::to_response(r, version, keep_alive);
            do_write();
        }

        void do_write() {
            stream_.expires_after(io_timeout);
            boost::beast::http::async_write(
                stream_, res_,
                [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                    if (ec || !self->res_.keep_alive()) return self->close();
                    self->do_read();
                });
        }

        void close() {
            boost::beast::error_code ignored;
            stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
            stream_.close();
        }

        boost::beast::tcp_stream stream_;
        std::shared_ptr<shared> host_;
        boost::beast::flat_buffer buffer_;
        std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
        boost::beast::http::response<boost::beast::http::string_body> res_;
    };

    void do_accept() {
        // One strand per connection: the io_context may be run by several threads.
        acceptor_.async_accept(
            boost::asio::make_strand(io_),
            [this](boost::beast::error_code ec, boost::asio::ip::tcp::socket socket) {
                if (ec == boost::asio::error::operation_aborted) return;
                if (!ec) {
                    std::make_shared<session>(std::move(socket), shared_)->run();
                }
                if (acceptor_.is_open()) do_accept();
            });
    }

    boost::asio::io_context& io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<shared> shared_;
};

}  // namespace crier_example

#endif
