// SPDX-License-Identifier: MIT
// crier-asio-host: an existing Asio service (its own io_context, acceptor and request handling)
// that adds crier's streams beside its own `GET /hello`. Auth as in the demo: `?user=NAME`
// (default `demo`); everyone may publish. Ctrl-C ends every stream with a `retry:` and exits.
#include <crier/crier.hpp>

#include <asio/signal_set.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <string>

#include "asio_host.hpp"

int main(int argc, char** argv) {
    std::uint16_t port = 8083;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
        } else {
            fmt::print(stderr, "usage: {} [--port N]\n", argv[0]);
            return 2;
        }
    }

    asio::io_context io;  // the host's
    crier::hub hub;
    // The host authenticates with its own request object.
    auto authenticate =
        [](const asio_host::host_request& r) -> std::optional<crier::adapters::principal> {
        std::string user = "demo";
        if (const auto q = r.target.find("user="); q != std::string::npos) {
            user = r.target.substr(q + 5, r.target.find('&', q) - q - 5);
        }
        return crier::adapters::principal{.user_id = user, .publisher = true};
    };
    std::optional<asio_host::server> server;
    try {
        server.emplace(io, hub, port, authenticate);
    } catch (const std::exception& e) {
        fmt::print(stderr, "cannot listen on 127.0.0.1:{}: {}\n", port, e.what());
        return 1;
    }

    // The host's own timer publishes, as its request handlers would.
    asio::steady_timer ticker(io);
    int n = 0;
    std::function<void()> tick = [&] {
        ticker.expires_after(std::chrono::seconds(2));
        ticker.async_wait([&](std::error_code ec) {
            if (ec) return;
            hub.publish_module_event("horses", "updated", fmt::format(R"({{"id":1,"n":{}}})", ++n));
            tick();
        });
    };
    tick();

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) {
        fmt::print("stopping: streams get a retry hint and close\n");
        ticker.cancel();
        server->shutdown();  // the loop runs out once the streams have ended
    });

    const std::string base = fmt::format("http://127.0.0.1:{}", server->port());
    fmt::print(
        "crier-asio-host on {0}\n"
        "  own route:  curl {0}/hello\n"
        "  stream:     curl -N '{0}/api/realtime/events?channel=horses&user=alice'\n"
        "  publish:    curl -d "
        "'{{\"module\":\"horses\",\"action\":\"created\",\"data\":{{\"id\":2}}}}' "
        "-H 'Content-Type: application/json' {0}/api/realtime/publish\n"
        "  history:    curl '{0}/api/realtime/history?channel=horses'\n"
        "Ctrl-C stops it.\n",
        base);
    std::fflush(stdout);
    io.run();
    return 0;
}
