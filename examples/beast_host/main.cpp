// SPDX-License-Identifier: MIT
// crier-beast-host: a Boost.Beast server of the host's own, with its own route (`GET /hello`)
// and crier's routes on the same port. `?user=NAME` is the user (default `demo`); everyone may
// publish. Usage: crier-beast-host [--port N] (default 8081).
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>

#include "beast_host.hpp"

namespace {

std::optional<std::uint16_t> parse_port(int argc, char** argv) {
    std::uint16_t port = 8081;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--port") != 0 || i + 1 == argc) return std::nullopt;
        const std::string_view text(argv[++i]);
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
        if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    }
    return port;
}

// The demo's auth, read from Beast's own request: `?user=NAME`, default `demo`.
std::optional<crier::adapters::principal> authenticate(
    const crier_example::beast_host::request_type& req) {
    const auto request = crier::adapters::beast::to_request(req);
    auto user = request.query_param("user").value_or("demo");
    return crier::adapters::principal{.user_id = std::move(user), .publisher = true};
}

}  // namespace

int main(int argc, char** argv) {
    const auto port = parse_port(argc, argv);
    if (!port) {
        fmt::print(stderr, "usage: crier-beast-host [--port N]\n");
        return 2;
    }
    crier::hub hub;
    crier::adapters::stream_service streams(hub);
    boost::asio::io_context io;
    crier_example::beast_host host(io, streams, {}, authenticate, *port);

    const auto base = fmt::format("http://127.0.0.1:{}", host.port());
    fmt::print(
        "crier-beast-host (Boost.Beast) on {}\n"
        "  {}/hello\n"
        "  curl -N '{}/api/realtime/events?user=ann&channel=news'\n"
        "  curl '{}/api/realtime/history?channel=news'\n"
        "  curl -H 'Content-Type: application/json' -d "
        "'{{\"channel\":\"news\",\"type\":\"news:posted\",\"data\":{{\"n\":1}}}}' "
        "'{}/api/realtime/publish'\n",
        base, base, base, base, base);
    std::fflush(stdout);

    // SIGINT/SIGTERM: stop accepting, end streams gracefully (each gets a retry:), then stop.
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::steady_timer drain(io);
    std::chrono::steady_clock::time_point give_up;
    std::function<void()> wait_for_streams = [&] {
        if (streams.active() == 0 || std::chrono::steady_clock::now() > give_up) return io.stop();
        drain.expires_after(std::chrono::milliseconds(50));
        drain.async_wait([&](boost::system::error_code) { wait_for_streams(); });
    };
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec) return;
        host.stop();
        streams.shutdown();
        give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        wait_for_streams();
    });
    io.run();
    return 0;
}
