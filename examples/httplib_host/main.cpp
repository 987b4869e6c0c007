// SPDX-License-Identifier: MIT
// crier-httplib-host: an existing cpp-httplib server that adds crier's SSE streams beside its
// own routes, on one port (default 8082). `?user=NAME` is the user (default "demo"); everyone
// may publish. Ctrl-C stops it gracefully (every stream gets a jittered `retry:`).
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "httplib_host.hpp"

int main(int argc, char** argv) {
    std::uint16_t port = 8082;
    std::size_t max_streams = 64;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
        } else if (arg == "--max-streams" && i + 1 < argc) {
            max_streams = static_cast<std::size_t>(std::atoi(argv[++i]));
        } else {
            fmt::print(stderr, "usage: {} [--port N] [--max-streams N]\n", argv[0]);
            return 2;
        }
    }
    // httplib sends without MSG_NOSIGNAL: a write to a client that left would raise SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    // SIGINT and SIGTERM are taken by sigwait() below, not by a handler: stopping is not
    // async-signal-safe. Blocked before any thread starts, so every thread inherits it.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    crier::hub hub;
    crier::adapters::stream_service service(hub);
    // Demo auth from httplib's own request: the user is `?user=`. A real service checks its
    // session or a JWT here. Everyone may publish, which a real service would not allow.
    crier::examples::httplib_host host(
        service,
        [](const httplib::Request& req) -> std::optional<crier::adapters::principal> {
            const std::string user = req.has_param("user") ? req.get_param_value("user") : "demo";
            return crier::adapters::principal{.user_id = user, .publisher = true};
        },
        "127.0.0.1", port, {}, max_streams);
    if (host.port() == 0) {
        fmt::print(stderr, "cannot listen on 127.0.0.1:{}\n", port);
        return 1;
    }

    const std::string base = fmt::format("http://127.0.0.1:{}", host.port());
    fmt::print(
        "crier-httplib-host on {0} (at most {1} streams)\n"
        "  own route: curl {0}/hello\n"
        "  stream:    curl -N '{0}/api/realtime/events?channel=news&user=ann'\n"
        "  history:   curl '{0}/api/realtime/history?channel=news'\n"
        "  publish:   curl -d '{{\"channels\":[\"news\"],\"type\":\"news:posted\","
        "\"data\":{{\"id\":1}}}}' -H 'Content-Type: application/json' {0}/api/realtime/publish\n"
        "Ctrl-C stops it.\n",
        base, host.streams().max_streams());
    std::fflush(stdout);

    std::thread server([&host] { host.run(); });
    int signal = 0;
    sigwait(&stop_signals, &signal);
    fmt::print("stopping: streams are told to reconnect later\n");
    host.stop();
    server.join();
    return 0;
}
