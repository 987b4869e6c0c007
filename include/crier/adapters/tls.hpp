// SPDX-License-Identifier: MIT
// HTTPS for the embedded server: a TLS listener that handshakes (asio::ssl) and hands each
// stream to an http_server. Needs the crier::tls target, which links OpenSSL.
#ifndef CRIER_ADAPTERS_TLS_HPP
#define CRIER_ADAPTERS_TLS_HPP

#include <crier/adapters/http_server.hpp>
#include <crier/error.hpp>

#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <system_error>

namespace crier::adapters {

/// Accepts TLS connections and serves them with an http_server (its threads, routes, limits and
/// shutdown). The ssl::context (certificate, key, protocol options) is the caller's and must
/// outlive the listener.
///
/// @par Thread Safety
/// start() and stop() must not run concurrently; stop() before the http_server stops.
class tls_listener {
public:
    /// Where the TLS listener accepts, and how long a handshake may take.
    struct options {
        std::string address = "127.0.0.1";  ///< the address to bind
        std::uint16_t port = 8443;          ///< 0 picks a free port
        /// A client that has not finished the handshake by then is dropped.
        std::chrono::milliseconds handshake_timeout{10'000};
    };

    /// A listener that hands each TLS connection, once its handshake is done, to `server`;
    /// `context` (certificate, key) must outlive it. Nothing happens before start().
    tls_listener(http_server& server, asio::ssl::context& context, options o)
        : server_(server), context_(context), options_(std::move(o)), acceptor_(server.context()) {}

    tls_listener(const tls_listener&) = delete;
    tls_listener& operator=(const tls_listener&) = delete;
    ~tls_listener() { stop(); }

    /// Binds and starts accepting; failure in `ec`.
    void start(std::error_code& ec) {
        const auto address = asio::ip::make_address(options_.address, ec);
        if (ec) return;
        const asio::ip::tcp::endpoint endpoint(address, options_.port);
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) return;
        port_ = acceptor_.local_endpoint().port();
        running_ = std::make_shared<std::atomic<bool>>(true);
        do_accept();
    }

    /// As above; throws std::system_error.
    void start() {
        std::error_code ec;
        start(ec);
        if (ec) crier::detail::throw_error(ec, "crier::adapters::tls_listener::start");
    }

    /// The bound port.
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    /// Stops accepting (connections already handed over stay with the http_server).
    void stop() {
        if (!running_ || !running_->exchange(false)) return;
        std::promise<void> done;
        asio::post(acceptor_.get_executor(), [this, &done] {
            std::error_code ignored;
            acceptor_.close(ignored);
            done.set_value();
        });
        done.get_future().wait_for(std::chrono::seconds(5));
    }

private:
    using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;

    void do_accept() {
        acceptor_.async_accept(
            asio::make_strand(server_.context()),
            [this, running = running_](std::error_code ec, asio::ip::tcp::socket socket) {
                if (!*running || ec == asio::error::operation_aborted) return;
                if (!ec) handshake(std::move(socket));
                do_accept();
            });
    }

    void handshake(asio::ip::tcp::socket socket) {
        std::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        auto stream = std::make_shared<tls_stream>(std::move(socket), context_);
        auto timer = std::make_shared<asio::steady_timer>(stream->get_executor(),
                                                          options_.handshake_timeout);
        timer->async_wait([stream](std::error_code ec) {
            if (ec) return;  // cancelled: the handshake finished first
            std::error_code ignored_ec;
            stream->lowest_layer().close(ignored_ec);
        });
        stream->async_handshake(asio::ssl::stream_base::server,
                                [this, stream, timer](std::error_code ec) {
                                    timer->cancel();
                                    if (ec) return;
                                    server_.serve_stream(std::move(*stream));
                                });
    }

    http_server& server_;
    asio::ssl::context& context_;
    options options_;
    asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<std::atomic<bool>> running_;
    std::uint16_t port_ = 0;
};

}  // namespace crier::adapters

#endif
