// SPDX-License-Identifier: MIT
// Definitions for crier/adapters/http_server.hpp.
#ifndef CRIER_ADAPTERS_IMPL_HTTP_SERVER_IPP
#define CRIER_ADAPTERS_IMPL_HTTP_SERVER_IPP

#include <crier/adapters/http_server.hpp>
#include <crier/error.hpp>

#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <fmt/format.h>

#include <chrono>

namespace crier::adapters {

CRIER_DECL std::vector<std::unique_ptr<asio::io_context>> http_server::make_loops(std::size_t n) {
    std::vector<std::unique_ptr<asio::io_context>> loops;
    for (std::size_t i = 0; i < n; ++i) {
        loops.push_back(std::make_unique<asio::io_context>(1));
        // Opens the loop's reactor (epoll, eventfd, timerfd) now rather than with its first
        // connection: every descriptor the server keeps is open from the start, so running
        // out of them shows at once and a count taken after start() stays the baseline.
        const asio::steady_timer opener(*loops.back());
    }
    return loops;
}

CRIER_DECL http_server::http_server(crier::hub& hub, server_options options)
    : thread_count_(options.threads == 0 ? std::max(1u, std::thread::hardware_concurrency())
                                         : options.threads),
      own_loops_(make_loops(thread_count_)),
      io_(*own_loops_.front()),
      state_(std::make_shared<detail::server_state>(hub, std::move(options))) {
    std::vector<asio::io_context*> loops;
    std::vector<detail::stream_state::post_function> flushers;
    for (auto& loop : own_loops_) {
        loops.push_back(loop.get());
        flushers.emplace_back(
            [ex = loop->get_executor()](std::function<void()> f) { asio::post(ex, std::move(f)); });
    }
    listener_ = std::make_shared<detail::listener>(io_, state_, std::move(loops));
    state_->streams().set_flushers(std::move(flushers));
}

CRIER_DECL http_server::http_server(crier::hub& hub, asio::io_context& io, server_options options)
    : thread_count_(0),
      io_(io),
      state_(std::make_shared<detail::server_state>(hub, std::move(options))),
      // The host may run `io` on several threads: every connection gets a strand.
      listener_(std::make_shared<detail::listener>(io_, state_, std::vector<asio::io_context*>{})) {
    std::vector<detail::stream_state::post_function> flushers;
    flushers.emplace_back(
        [ex = io_.get_executor()](std::function<void()> f) { asio::post(ex, std::move(f)); });
    state_->streams().set_flushers(std::move(flushers));
}

CRIER_DECL http_server::~http_server() {
    stop();
    // The first loop goes first: its acceptor may hold a socket accepted into another loop,
    // which must still exist when that pending accept is destroyed. Our own references go
    // before it: the listener's acceptor and timer belong to the first loop.
    listener_.reset();
    state_.reset();
    for (auto& loop : own_loops_) loop.reset();
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
    ec = listener_->listen(asio::ip::tcp::endpoint(address, o.port));
    if (ec) return;
    port_ = listener_->port();
    started_ = true;
    for (auto& loop : own_loops_) work_.emplace_back(loop->get_executor());
    listener_->start();
    for (auto& loop : own_loops_) {
        threads_.emplace_back([this, l = loop.get()] { run(*l); });
    }
}

CRIER_DECL void http_server::run(asio::io_context& loop) noexcept {
    // A handler that throws (host code posted onto context(), a hook reached from a handler)
    // must not end the thread, let alone the process: report it and go on serving.
    for (;;) {
        try {
            loop.run();
            return;
        } catch (const std::exception& e) {
            state_->report_error(fmt::format("a handler on a server thread threw: {}", e.what()));
        } catch (...) {
            state_->report_error("a handler on a server thread threw an unknown exception");
        }
    }
}

CRIER_DECL void http_server::serve(asio::ip::tcp::socket socket) {
    // Re-home the descriptor onto a strand of this server's io_context.
    std::error_code ec;
    const auto protocol = socket.local_endpoint(ec).protocol();
    if (ec) return;
    const auto handle = socket.release(ec);
    if (ec) return;
    const detail::placement where = listener_->place();
    asio::ip::tcp::socket ours(where.executor);
    ours.assign(protocol, handle, ec);
    if (ec) return;
    ours.set_option(asio::ip::tcp::no_delay(true), ec);
    serve_on(std::move(ours), where.shard);
}

CRIER_DECL void http_server::begin_stop() {
    state_->set_stopping();
    listener_->stop_accepting();
    state_->connections().for_each(
        [this](detail::tracked& t) { t.on_shutdown(state_->streams().shutdown_retry()); });
    state_->streams().shutdown();
}

CRIER_DECL std::size_t http_server::open_count() const {
    return state_->connections().size() + state_->streams().streams().size();
}

CRIER_DECL void http_server::force_close() {
    state_->connections().for_each([](detail::tracked& t) { t.on_force_close(); });
    state_->streams().close_all();
}

CRIER_DECL void http_server::finish_stop() {
    if (stopped_.exchange(true)) return;
    force_close();
    // Streams still open now (stop gave up on them) keep live subscriptions whose on_ready may
    // fire from any publishing thread: from here on it must never post into io_, which is about
    // to stop (and, when it is the server's own, be destroyed).
    state_->streams().close_ready();
    listener_->close();
}

CRIER_DECL void http_server::stop() {
    if (!started_ || stopped_.load()) return;
    if (own_loops_.empty() && (io_.stopped() || io_.get_executor().running_in_this_thread())) {
        begin_stop();
        if (io_.stopped()) return finish_stop();  // nothing runs the host's loop any more
        // On one of the host's threads: waiting here would wedge the loop that must finish the
        // streams. The host's loop carries the shutdown out: a timer checks every 20 ms and
        // ends the server's own work (acceptor, ticker) once everything has closed, or
        // force-closes what is left at the deadline. It holds what it needs, not this server.
        stopped_.store(true);
        auto timer = std::make_shared<asio::steady_timer>(io_);
        const auto deadline =
            std::chrono::steady_clock::now() + state_->options().shutdown_deadline;
        auto check = std::make_shared<std::function<void()>>();
        *check = [timer, deadline, state = state_, listener = listener_,
                  weak = std::weak_ptr<std::function<void()>>(check)] {
            const bool empty = state->connections().size() + state->streams().streams().size() == 0;
            if (empty || std::chrono::steady_clock::now() >= deadline) {
                state->connections().for_each([](detail::tracked& t) { t.on_force_close(); });
                state->streams().close_all();
                state->streams().close_ready();
                listener->close();
                return;
            }
            timer->expires_after(std::chrono::milliseconds(20));
            timer->async_wait([self = weak.lock()](std::error_code) {
                if (self) (*self)();
            });
        };
        (*check)();
        return;
    }
    begin_stop();
    const auto wait_until_empty = [this](std::chrono::steady_clock::time_point deadline) {
        while (open_count() != 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    };
    wait_until_empty(std::chrono::steady_clock::now() + state_->options().shutdown_deadline);
    force_close();
    wait_until_empty(std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    finish_stop();
    if (own_loops_.empty()) return;
    work_.clear();
    for (auto& loop : own_loops_) loop->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    state_->streams().release_ready();
}

}  // namespace crier::adapters

#endif
