// SPDX-License-Identifier: MIT
// The stream contract against the transports that need nothing but standalone Asio: the
// embedded server on its own threads, the embedded server on a host's io_context, and a host's
// own Asio HTTP code (examples/asio_host) using the stream session directly.
#include <crier/adapters/http_server.hpp>

#include <asio/io_context.hpp>

#include <thread>

#include "asio_host/asio_host.hpp"
#include "contract/blocking_host.hpp"
#include "contract/contract_suite.hpp"

namespace crier::test {
namespace {

crier::adapters::server_options embedded_options(const contract_config& c) {
    auto o = contract_router_options();
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.retry = c.streams.retry;
    o.connected_event = c.streams.connected_event;
    o.heartbeat = c.streams.heartbeat;
    o.idle_timeout = c.streams.idle_timeout;
    o.write_timeout = c.streams.write_timeout;
    o.handler = [](const crier::http::request& r) -> std::optional<crier::http::response> {
        if (r.path() != "/hello") return std::nullopt;
        crier::http::response out;
        out.content_type = "text/plain";
        out.body = "hello";
        return out;
    };
    return o;
}

// crier's embedded server, on threads of its own.
class embedded final : public transport {
public:
    explicit embedded(const contract_config& c) : hub_(c.hub), server_(hub_, embedded_options(c)) {
        server_.start();
    }
    std::uint16_t port() const override { return server_.port(); }
    crier::hub& hub() override { return hub_; }
    std::size_t active_streams() const override { return hub_.stats().subscriptions; }

private:
    crier::hub hub_;
    crier::adapters::http_server server_;
};

// The embedded server on the host's io_context, run by two threads of the host's.
class embedded_on_host_io final : public transport {
public:
    explicit embedded_on_host_io(const contract_config& c)
        : hub_(c.hub), server_(hub_, io_, embedded_options(c)) {
        server_.start();
        for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    }
    ~embedded_on_host_io() override {
        server_.stop();  // from a thread of the host's that does not run io_: it waits
        work_.reset();
        io_.stop();
        for (auto& t : threads_) t.join();
    }
    std::uint16_t port() const override { return server_.port(); }
    crier::hub& hub() override { return hub_; }
    std::size_t active_streams() const override { return hub_.stats().subscriptions; }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    crier::hub hub_;
    crier::adapters::http_server server_;
    std::vector<std::thread> threads_;
};

// A host's own Asio HTTP code with the stream session used directly (the crier-asio-host
// example's server).
class asio_host_transport final : public transport {
public:
    explicit asio_host_transport(const contract_config& c)
        : hub_(c.hub),
          server_(
              io_, hub_, 0,
              [](const asio_host::host_request& r) -> std::optional<crier::adapters::principal> {
                  auto user = user_of(r.header("Authorization"));
                  if (!user) return std::nullopt;
                  return principal_for(*user);
              },
              c.streams, contract_router_options()) {
        for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
    }
    ~asio_host_transport() override {
        server_.streams().close_all();
        work_.reset();
        io_.stop();
        for (auto& t : threads_) t.join();
    }
    std::uint16_t port() const override { return server_.port(); }
    crier::hub& hub() override { return hub_; }
    std::size_t active_streams() const override { return server_.streams().active(); }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    crier::hub hub_;
    asio_host::server server_;
    std::vector<std::thread> threads_;
};

// The host's own signal handler (here: a posted handler) stops the server from one of io's
// threads: stop() returns at once, every stream gets its `retry:`, and the host's loop runs out
// by itself as soon as the streams have closed, long before the shutdown deadline.
TEST(http_server_on_host_io, stop_from_the_hosts_loop_finishes_in_the_loop) {
    asio::io_context io;
    crier::hub hub({.rate_limit = 0});
    auto options = embedded_options(contract_config{});
    options.shutdown_deadline = 10s;
    options.shutdown_retry_min = options.shutdown_retry_max = 1500ms;
    crier::adapters::http_server server(hub, io, options);
    server.start();
    std::thread runner([&] { io.run(); });
    sse_stream a(server.port(), "/api/realtime/events", {"Authorization: Bearer u1"});
    sse_stream b(server.port(), "/api/realtime/events", {"Authorization: Bearer u2"});
    ASSERT_TRUE(a.wait_for_events(1) && b.wait_for_events(1));
    const auto asked = std::chrono::steady_clock::now();
    asio::post(io, [&] { server.stop(); });
    EXPECT_TRUE(a.wait_for_eof(3s));
    EXPECT_TRUE(b.wait_for_eof(3s));
    EXPECT_NE(a.raw().find("retry: 1500\n"), std::string::npos);
    runner.join();  // io.run() returned: the server left no work behind
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 3s);
    EXPECT_EQ(hub.stats().subscriptions, 0u);
}

template <class T>
transport_kind kind(std::string name, bool blocking = false) {
    return {std::move(name),
            [](const contract_config& c) -> std::unique_ptr<transport> {
                return std::make_unique<T>(c);
            },
            blocking};
}

INSTANTIATE_TEST_SUITE_P(asio, stream_contract,
                         ::testing::Values(kind<embedded>("embedded"),
                                           kind<embedded_on_host_io>("embedded_on_host_io"),
                                           kind<asio_host_transport>("asio_host"),
                                           kind<blocking_host>("blocking_host", true)),
                         [](const ::testing::TestParamInfo<transport_kind>& p) {
                             return p.param.name;
                         });

}  // namespace
}  // namespace crier::test
