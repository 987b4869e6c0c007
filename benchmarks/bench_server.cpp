// SPDX-License-Identifier: MIT
// The server the fan-out load benchmark drives: crier's embedded server with benchmark-friendly
// settings (no rate limit, user taken from `?user=`, everyone may publish). Never expose it.
#include <crier/adapters/server.hpp>
#if defined(CRIER_BENCH_REDIS)
#    include <crier/backplane/redis.hpp>
#endif

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace {
volatile std::sig_atomic_t stop_requested = 0;
void on_signal(int) {
    stop_requested = 1;
}
}  // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 8090;
    std::size_t threads = 1;
    double duration = 0;
    std::string redis_url;  // several bench servers on one Redis
    std::string node_name;
    std::size_t backlog_limit = 0;   // hub_options::backlog_limit: 0 leaves publishing unbounded
    bool refuse_while_away = false;  // --redis-away refuse: publishes fail while Redis is away
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        if (arg == "--port") {
            port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
        } else if (arg == "--threads") {
            threads = static_cast<std::size_t>(std::atoi(argv[i + 1]));
        } else if (arg == "--duration") {
            duration = std::atof(argv[i + 1]);
        } else if (arg == "--redis") {
            redis_url = argv[i + 1];
        } else if (arg == "--node-name") {
            node_name = argv[i + 1];
        } else if (arg == "--backlog-limit") {
            backlog_limit = static_cast<std::size_t>(std::atoll(argv[i + 1]));
        } else if (arg == "--redis-away" && (argv[i + 1] == std::string_view("local") ||
                                             argv[i + 1] == std::string_view("refuse"))) {
            refuse_while_away = argv[i + 1] == std::string_view("refuse");
        } else {
            fmt::print(stderr,
                       "usage: {} [--port N] [--threads N] [--duration S] [--redis URL] "
                       "[--node-name NAME] [--redis-away local|refuse] [--backlog-limit FRAMES]\n",
                       argv[0]);
            return 2;
        }
    }
    // 64 channels per stream for the channel sweep, beside the automatic `global` and `user:{i}`.
    crier::hub_options hub_options{.backlog_limit = backlog_limit,
                                   .rate_limit = 0,
                                   .max_channels_per_subscription = 66,
                                   .max_connections_per_user = 0,
                                   .idle_timeout = std::chrono::hours(1)};
    if (!redis_url.empty()) {
#if defined(CRIER_BENCH_REDIS)
        try {
            hub_options.backplane = std::make_shared<crier::redis_backplane>(
                crier::redis_options{.url = redis_url,
                                     .node_name = node_name,
                                     .when_away = refuse_while_away ? crier::away_mode::refuse
                                                                    : crier::away_mode::local});
        } catch (const std::system_error& e) {
            fmt::print(stderr, "cannot join Redis at {}: {}\n", redis_url, e.what());
            return 1;
        }
#else
        static_cast<void>(refuse_while_away);
        fmt::print(stderr, "--redis needs crier::redis (hiredis) at build time\n");
        return 2;
#endif
    }
    crier::hub hub(std::move(hub_options));
    crier::adapters::http_server server(
        hub, {.port = port,
              .threads = threads,
              .max_channels_per_stream = 66,
              .max_connections = 200000,
              .authenticate =
                  [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
                  return crier::adapters::principal{.user_id = r.query_param("user").value_or(""),
                                                    .admin = true,
                                                    .publisher = true};
              }});
    std::error_code ec;
    server.start(ec);
    if (ec) {
        fmt::print(stderr, "cannot listen on port {}: {}\n", port, ec.message());
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    fmt::print("crier-bench-server listening on 127.0.0.1:{} with {} thread(s)\n", server.port(),
               threads);
    std::fflush(stdout);
    const auto started = std::chrono::steady_clock::now();
    while (!stop_requested && (duration <= 0 || std::chrono::steady_clock::now() - started <
                                                    std::chrono::duration<double>(duration))) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    server.stop();
    return 0;
}
