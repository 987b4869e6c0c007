// SPDX-License-Identifier: MIT
// The embedded server's acceptor and shared timer, kept alive by their own pending handlers so
// that a server on the host's io_context can be destroyed while the host's loop still runs
// them out. Private.
#ifndef CRIER_ADAPTERS_DETAIL_LISTENER_HPP
#define CRIER_ADAPTERS_DETAIL_LISTENER_HPP

#include <crier/adapters/detail/connection.hpp>
#include <crier/adapters/detail/server_state.hpp>
#include <crier/http/response.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace crier::adapters::detail {

/// Where a new connection runs: its executor, and the flusher shard of the loop behind it.
struct placement {
    asio::any_io_executor executor;
    std::size_t shard = 0;
};

/// Accepts connections and sweeps connections and streams on the shared timer. Its handlers
/// hold it; close() ends both loops.
class listener : public std::enable_shared_from_this<listener> {
public:
    /// Accepts and ticks on `io`. `loops`: the server's own I/O loops, each run by one thread;
    /// connections are spread over them round-robin. Empty: the host's `io`, which any number
    /// of threads may run, so every connection gets a strand.
    listener(asio::io_context& io, std::shared_ptr<server_state> state,
             std::vector<asio::io_context*> loops)
        : io_(io), state_(std::move(state)), loops_(std::move(loops)), acceptor_(io), ticker_(io) {}

    /// Binds and listens; the port is then port().
    std::error_code listen(const asio::ip::tcp::endpoint& endpoint) {
        std::error_code ec;
        acceptor_.open(endpoint.protocol(), ec);
        if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acceptor_.bind(endpoint, ec);
        if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (!ec) port_ = acceptor_.local_endpoint(ec).port();
        if (ec) {
            std::error_code ignored;
            acceptor_.close(ignored);
        }
        return ec;
    }

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    /// Starts accepting and ticking, from the io_context's threads (a host's may run already).
    void start() {
        asio::post(io_, [self = shared_from_this()] {
            self->do_accept();
            self->do_tick();
        });
    }

    /// Stops accepting new connections (the ticker goes on).
    void stop_accepting() {
        asio::post(io_, [self = shared_from_this()] {
            std::error_code ignored;
            self->acceptor_.close(ignored);
        });
    }

    /// Ends both loops. Idempotent.
    void close() {
        if (closed_.exchange(true)) return;
        asio::post(io_, [self = shared_from_this()] {
            std::error_code ignored;
            self->acceptor_.close(ignored);
            self->ticker_.cancel();
        });
    }

    /// Where the next connection runs. Any thread.
    placement place() {
        if (loops_.empty()) return {asio::make_strand(io_), 0};
        // A loop's one thread runs its handlers in order already: a strand would only add a
        // hop, and without one the loop's flusher writes each stream inline.
        const std::size_t shard =
            loops_.size() == 1 ? 0 : next_.fetch_add(1, std::memory_order_relaxed) % loops_.size();
        return {loops_[shard]->get_executor(), shard};
    }

private:
    void do_accept() {
        placement where = place();
        // The socket is registered with its own loop's reactor from the start: accepting
        // stays on this loop, everything after it on the connection's.
        acceptor_.async_accept(where.executor,
                               [self = shared_from_this(), shard = where.shard](
                                   std::error_code ec, asio::ip::tcp::socket socket) {
                                   self->on_accept(ec, std::move(socket), shard);
                               });
    }

    void on_accept(std::error_code ec, asio::ip::tcp::socket socket, std::size_t shard) {
        if (state_->stopping() || closed_ || ec == asio::error::operation_aborted) return;
        if (ec) {
            // Out of descriptors or a transient network error: try again shortly rather than
            // spinning on an accept that keeps failing.
            auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
            retry->async_wait([self = shared_from_this(), retry](std::error_code) {
                if (!self->state_->stopping() && !self->closed_) self->do_accept();
            });
            return;
        }
        std::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
        if (!state_->connection_opened()) {
            refuse_busy(socket);
        } else {
            std::make_shared<connection<asio::ip::tcp::socket>>(std::move(socket), state_, shard)
                ->start();
        }
        do_accept();
    }

    static void refuse_busy(asio::ip::tcp::socket& socket) {
        static const std::string busy = [] {
            auto r = http::json_error(503, "too_many_connections", "server is at capacity");
            r.headers.emplace_back("Retry-After", "5");
            std::string out;
            http::serialize(out, r, false);
            return out;
        }();
        // One non-blocking attempt, so a client that reads nothing cannot hold an I/O thread:
        // a fresh socket's send buffer takes these few hundred bytes whole.
        std::error_code ignored;
        socket.non_blocking(true, ignored);
        socket.write_some(asio::buffer(busy), ignored);
        socket.shutdown(asio::socket_base::shutdown_both, ignored);
        socket.close(ignored);
    }

    void do_tick() {
        ticker_.expires_after(state_->tick_interval());
        ticker_.async_wait([self = shared_from_this()](std::error_code ec) {
            if (ec || self->closed_) return;
            const auto now = clock::now();
            self->state_->connections().for_each([now](tracked& t) { t.on_tick(now); });
            self->state_->streams().tick(now);
            self->do_tick();
        });
    }

    asio::io_context& io_;
    std::shared_ptr<server_state> state_;
    const std::vector<asio::io_context*> loops_;
    std::atomic<std::size_t> next_{0};
    asio::ip::tcp::acceptor acceptor_;
    asio::steady_timer ticker_;
    std::uint16_t port_ = 0;
    std::atomic<bool> closed_{false};
};

}  // namespace crier::adapters::detail

#endif
