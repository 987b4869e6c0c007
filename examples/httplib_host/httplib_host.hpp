// SPDX-License-Identifier: MIT
// The server of crier-httplib-host: a cpp-httplib server with a route of its own (GET /hello)
// and crier's routes and SSE streams on the same port. The example's main() and the adapter's
// integration tests both run it.
#ifndef CRIER_EXAMPLES_HTTPLIB_HOST_HPP
#define CRIER_EXAMPLES_HTTPLIB_HOST_HPP

#include <crier/adapters/httplib.hpp>

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace crier::examples {

/// A host's httplib::Server carrying crier: its own `GET /hello`, and everything under
/// `/api/realtime` answered by crier (streams included), authenticated by the host from
/// httplib's own request object.
class httplib_host {
public:
    /// The host's authentication: who sent this request (nullopt: 401).
    using authenticate_fn =
        std::function<std::optional<adapters::principal>(const httplib::Request&)>;

    /// Binds `address:port` (0: any free port). `routes` configures crier's router (prefix,
    /// authorize, ...); at most `max_streams` streams run at once.
    httplib_host(adapters::stream_service& service, authenticate_fn authenticate,
                 const std::string& address, std::uint16_t port,
                 adapters::server_options routes = {}, std::size_t max_streams = 64)
        : service_(service),
          router_(service, std::move(routes)),
          streams_(service, router_, max_streams),
          authenticate_(std::move(authenticate)) {
        // Each stream holds a pool thread for its life: room for every stream, and a few
        // threads more for the host's plain requests.
        server_.new_task_queue = [threads = streams_.max_streams() + 8] {
            return new httplib::ThreadPool(threads);
        };
        server_.set_write_timeout(service.settings().write_timeout);  // the write deadline
        server_.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("hello", "text/plain");
        });
        const auto crier_route = [this](const httplib::Request& req, httplib::Response& res) {
            const auto who = authenticate_(req);
            if (!who) {
                auto refused = http::json_error(401, "unauthorized", "authentication required");
                refused.headers.emplace_back("WWW-Authenticate", "Bearer");
                return adapters::write_response(refused, res);
            }
            streams_.serve(req, res, *who);
        };
        server_.Get("/api/realtime/.*", crier_route);
        server_.Post("/api/realtime/.*", crier_route);
        port_ = port == 0 ? server_.bind_to_any_port(address)
                          : (server_.bind_to_port(address, port) ? port : -1);
    }

    /// The port it listens on; 0 when binding failed.
    [[nodiscard]] std::uint16_t port() const noexcept {
        return port_ > 0 ? static_cast<std::uint16_t>(port_) : 0;
    }

    /// Serves until stop(); returns false when the server could not run.
    bool run() { return port_ > 0 && server_.listen_after_bind(); }

    /// Graceful stop: crier's streams are told to reconnect later (`retry:`) and end, bounded
    /// by `patience`; then httplib stops (run() returns).
    void stop(std::chrono::milliseconds patience = std::chrono::seconds(5)) {
        service_.shutdown();
        const auto until = std::chrono::steady_clock::now() + patience;
        while (streams_.active() > 0 && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        server_.stop();
    }

    /// The server, for the host's other routes and settings.
    [[nodiscard]] httplib::Server& server() noexcept { return server_; }
    /// crier's streams on it.
    [[nodiscard]] const adapters::httplib_streams& streams() const noexcept { return streams_; }

private:
    adapters::stream_service& service_;
    adapters::router router_;
    adapters::httplib_streams streams_;
    authenticate_fn authenticate_;
    httplib::Server server_;
    int port_ = -1;
};

}  // namespace crier::examples

#endif
