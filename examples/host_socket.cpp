// SPDX-License-Identifier: MIT
// A host that accepts TCP connections itself (its own io_context and acceptor, e.g. because it
// also speaks other protocols on them) and hands each one to crier, which serves it from then
// on: requests, SSE streams, timeouts, shutdown.
#include <crier/adapters/server.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <fmt/format.h>

#include <functional>
#include <thread>

int main(int argc, char** argv) {
    const std::uint16_t port = argc > 1 ? static_cast<std::uint16_t>(std::atoi(argv[1])) : 8081;

    crier::hub hub;
    // crier's server without a listener of its own: port 0 on loopback, only used for serve().
    crier::adapters::http_server crier_server(hub, {.port = 0, .threads = 1});
    crier_server.start();

    // The host's own accept loop.
    asio::io_context host;
    asio::ip::tcp::acceptor acceptor(host, {asio::ip::make_address("127.0.0.1"), port});
    fmt::print(
        "host accepting on 127.0.0.1:{}; try: curl -N http://127.0.0.1:{}/api/realtime/events\n",
        port, port);
    std::function<void()> accept = [&] {
        acceptor.async_accept([&](std::error_code ec, asio::ip::tcp::socket socket) {
            if (ec) return;
            crier_server.serve(std::move(socket));  // crier takes it from here
            accept();
        });
    };
    accept();

    // Something to see: one event per second on `global`, for ten seconds.
    std::thread publisher([&] {
        for (int i = 1; i <= 10; ++i) {
            (void)hub.publish("global", "system:tick", fmt::format(R"({{"n":{}}})", i));
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        host.stop();
    });
    host.run();
    publisher.join();
    crier_server.stop();
    return 0;
}
