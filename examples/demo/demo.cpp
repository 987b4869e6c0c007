// SPDX-License-Identifier: MIT
// crier's demo: an embedded server on 127.0.0.1:8080 that publishes a few module events per
// second in the seed's naming and serves a page that lists them live with the browser's own
// EventSource. Ctrl-C stops it gracefully (every stream gets a jittered `retry:`).
#include <crier/adapters/server.hpp>
#include <crier/crier.hpp>
#if defined(CRIER_DEMO_REDIS)
#    include <crier/backplane/redis.hpp>
#endif

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#ifndef CRIER_DEMO_WEB_DIR
#    define CRIER_DEMO_WEB_DIR "web"
#endif

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
    stop_requested = 1;
}

struct sample {
    const char* module;
    const char* action;
};

// The seed's event names: module:action[:subtype].
constexpr std::array samples = {
    sample{"horses", "created"},  sample{"horses", "updated"},
    sample{"tasks", "completed"}, sample{"finance", "invoice:paid"},
    sample{"horses", "deleted"},  sample{"health", "appointment:created"},
};

constexpr std::array names = {"Bucephalus", "Marengo", "Copenhagen", "Seabiscuit", "Phar Lap"};

}  // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 8080;
    std::string web_dir = CRIER_DEMO_WEB_DIR;
    double duration = 0;    // seconds; 0 = until Ctrl-C
    std::string redis_url;  // several demo nodes on one Redis behave as one hub
    std::string node_name;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
        } else if (arg == "--web" && i + 1 < argc) {
            web_dir = argv[++i];
        } else if (arg == "--duration" && i + 1 < argc) {
            duration = std::atof(argv[++i]);
        } else if (arg == "--redis" && i + 1 < argc) {
            redis_url = argv[++i];
        } else if (arg == "--node-name" && i + 1 < argc) {
            node_name = argv[++i];
        } else {
            fmt::print(stderr,
                       "usage: {} [--port N] [--web DIR] [--duration SECONDS] [--redis "
                       "redis://[:password@]host:port[/db]] [--node-name NAME]\n",
                       argv[0]);
            return 2;
        }
    }

    // History, limits and dedup as the seed describes; a generous rate limit so the demo's
    // steady trickle is never batched.
    crier::hub_options hub_options{.rate_limit = 600};
    if (!redis_url.empty()) {
#if defined(CRIER_DEMO_REDIS)
        try {
            hub_options.backplane = std::make_shared<crier::redis_backplane>(
                crier::redis_options{.url = redis_url, .node_name = node_name});
        } catch (const std::system_error& e) {
            fmt::print(stderr, "cannot join Redis at {}: {}\n", redis_url, e.what());
            return 1;
        }
#else
        fmt::print(stderr, "--redis needs crier::redis (hiredis) at build time\n");
        return 2;
#endif
    }
    crier::hub hub(std::move(hub_options));

    crier::adapters::server_options options{
        .port = port,
        .threads = 2,
        .static_dir = web_dir,
        // Demo auth: the user is `?user=` (default "demo"). A real service checks a session or
        // a JWT here. Everyone may read stats and publish, which a real service would not allow.
        .authenticate =
            [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
            return crier::adapters::principal{.user_id = r.query_param("user").value_or("demo"),
                                              .admin = true,
                                              .publisher = true};
        },
    };
    crier::adapters::http_server server(hub, options);
    std::error_code ec;
    server.start(ec);
    if (ec) {
        fmt::print(stderr, "cannot listen on 127.0.0.1:{}: {}\n", port, ec.message());
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    const std::string base = fmt::format("http://127.0.0.1:{}", server.port());
    fmt::print(
        "crier demo on {0}\n"
        "  page:          {0}/\n"
        "  stream (curl): curl -N '{0}/api/realtime/events?channel=horses&channel=tasks'\n"
        "  stream (C++):  ./build/dev/examples/crier-listen "
        "'{0}/api/realtime/events?channel=horses'\n"
        "  publish:       curl -d "
        "'{{\"channels\":[\"horses\"],\"type\":\"horses:updated\",\"data\":{{\"id\":1}}}}' "
        "-H 'Content-Type: application/json' {0}/api/realtime/publish\n"
        "  stats:         curl {0}/api/realtime/stats\n"
        "Ctrl-C stops it.\n",
        base);
    std::fflush(stdout);

    const auto started = std::chrono::steady_clock::now();
    for (std::uint64_t n = 1; !stop_requested; ++n) {
        if (duration > 0 &&
            std::chrono::steady_clock::now() - started > std::chrono::duration<double>(duration)) {
            break;
        }
        const sample& s = samples[n % samples.size()];
        const std::string data =
            fmt::format(R"({{"id":{},"name":"{}","at":{}}})", n % 7 + 1, names[n % names.size()],
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
        const auto r = hub.publish_module_event(s.module, s.action, data, "demo");
        if (!r) fmt::print(stderr, "publish failed: {}\n", r.error.message());
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
    fmt::print("stopping: streams get a retry hint and close\n");
    server.stop();
    return 0;
}
