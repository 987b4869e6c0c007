// SPDX-License-Identifier: MIT
// Definitions for crier/adapters/http_server.hpp.
#ifndef CRIER_ADAPTERS_IMPL_HTTP_SERVER_IPP
#define CRIER_ADAPTERS_IMPL_HTTP_SERVER_IPP

#include <crier/adapters/http_server.hpp>
#include <crier/error.hpp>

#include <asio/ip/address.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include <chrono>

namespace crier::adapters {

CRIER_DECL http_server::http_server(crier::hub& hub, server_options options)
    : thread_count_(options.threads == 0 ? std::max(1u, std::thread::hardware_concurrency())
                                         : options.threads),
      io_(static_cast<int>(thread_count_)),
      state_(std::make_shared<detail::server_state>(hub, std::move(options))),
      acceptor_(io_),
      ticker_(io_) {
    state_->set_executor(io_.get_executor());
}

CRIER_DECL http_server::~http_server() {
    stop();
}

CRIER_DECL void http_server::start() {
    std::error_code ec;
    start(ec);
    if (ec) crier::detail::throw_error(ec, "crier::adapters::http_server::start");
}

CRIER_DECL void http_server::start(std::error_code& ec) {
    ec.clear();
    if (started_) return;
    const auto& o = state_->options();
    const auto address = asio::ip::make_address(o.address, ec);
    if (ec) return;
    const asio::ip::tcp::endpoint endpoint(address, o.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        std::error_code ignored;
        acceptor_.close(ignored);
        return;
    }
    port_ = acceptor_.local_endpoint().port();
    started_ = true;
    work_.emplace(io_.get_executor());
    do_accept();
    do_tick();
    for (std::size_t i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { run(); });
}

CRIER_DECL void http_server::run() noexcept {
    // A handler that throws (host code posted onto context(), a hook reached from a handler)
    // must not end the thread, let alone the process: report it and go on serving.
    for (;;) {
        try {
            io_.run();
            return;
        } catch (const std::exception& e) {
            state_->report_error(fmt::format("a handler on a server thread threw: {}", e.what()));
        } catch (...) {
            state_->report_error("a handler on a server thread threw an unknown exception");
        }
    }
}

CRIER_DECL asio::any_io_executor http_server::connection_executor() {
    // One thread runs every handler in order already: a strand would only add a hop, and
    // without one the shared flusher writes each stream inline.
    if (thread_count_ == 1) return io_.get_executor();
    return asio::make_strand(io_);
}

CRIER_DECL void http_server::do_accept() {
    acceptor_.async_accept(connection_executor(), [this](std::error_code ec,
                                                         asio::ip::tcp::socket socket) {
        if (state_->stopping() || ec == asio::error::operation_aborted) return;
        if (ec) {
            // Out of descriptors or a transient network error: try again shortly rather than
            // spinning on an accept that keeps failing.
            auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
            retry->async_wait([this, retry](std::error_code) {
                if (!state_->stopping()) do_accept();
            });
            return;
        }
        std::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        if (!state_->connection_opened()) {
            static constexpr std::string_view busy =
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                "Retry-After: 5\r\nConnection: close\r\nContent-Length: 92\r\n\r\n"
                R"({"error":{"status":503,"code":"too_many_connections","message":"server is at capacity"}})";
            asio::write(socket, asio::buffer(busy), ignored);
            socket.close(ignored);
        } else {
            std::make_shared<detail::connection<asio::ip::tcp::socket>>(std::move(socket), state_)
                ->start();
        }
        do_accept();
    });
}

CRIER_DECL void http_server::do_tick() {
    ticker_.expires_after(state_->tick_interval());
    ticker_.async_wait([this](std::error_code ec) {
        if (ec || stopped_) return;
        const auto now = detail::clock::now();
        state_->connections().for_each([now](detail::tracked& t) { t.on_tick(now); });
        do_tick();
    });
}

CRIER_DECL void http_server::serve(asio::ip::tcp::socket socket) {
    // Re-home the descriptor onto a strand of this server's io_context.
    std::error_code ec;
    const auto protocol = socket.local_endpoint(ec).protocol();
    if (ec) return;
    const auto handle = socket.release(ec);
    if (ec) return;
    asio::ip::tcp::socket ours(connection_executor());
    ours.assign(protocol, handle, ec);
    if (ec) return;
    ours.set_option(asio::ip::tcp::no_delay(true), ec);
    serve_stream(std::move(ours));
}

CRIER_DECL void http_server::stop() {
    if (!started_ || stopped_) return;
    state_->set_stopping();
    asio::post(io_, [this] {
        std::error_code ignored;
        acceptor_.close(ignored);
    });
    state_->connections().for_each(
        [this](detail::tracked& t) { t.on_shutdown(state_->shutdown_retry()); });

    const auto wait_until_empty = [this](std::chrono::steady_clock::time_point deadline) {
        while (state_->connections().size() != 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    };
    wait_until_empty(std::chrono::steady_clock::now() + state_->options().shutdown_deadline);
    state_->connections().for_each([](detail::tracked& t) { t.on_force_close(); });
    wait_until_empty(std::chrono::steady_clock::now() + std::chrono::milliseconds(500));

    stopped_ = true;
    asio::post(io_, [this] { ticker_.cancel(); });
    work_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    state_->release_ready();  // the streams they name hold the state: break the cycle
}

}  // namespace crier::adapters

#endif
