// SPDX-License-Identifier: MIT
// crier on a real cpp-httplib server (the crier-httplib-host example's): the stream contract,
// and what is particular to httplib — its pool threads, the max_streams bound, a departed
// client noticed by the writes, no compression of a stream.
#include <crier/adapters/httplib.hpp>

#include <httplib.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "contract/contract_suite.hpp"
#include "httplib_host/httplib_host.hpp"

namespace crier::test {
namespace {

using namespace std::chrono_literals;

// The Bearer auth of the contract, read from httplib's own request object.
std::optional<crier::adapters::principal> bearer(const httplib::Request& req) {
    if (!req.has_header("Authorization")) return std::nullopt;
    const std::string authorization = req.get_header_value("Authorization");
    const auto user = user_of(authorization);
    if (!user) return std::nullopt;
    return principal_for(*user);
}

// The example's server on an ephemeral port, run by a thread of the test's.
class httplib_transport final : public transport {
public:
    explicit httplib_transport(const contract_config& c, std::size_t max_streams = 256)
        : hub_(c.hub),
          service_(hub_, c.streams),
          host_(service_, bearer, "127.0.0.1", 0, contract_router_options(), max_streams) {
        // httplib writes without MSG_NOSIGNAL: a client that left would raise SIGPIPE.
        std::signal(SIGPIPE, SIG_IGN);
        if (host_.port() == 0) throw std::runtime_error("httplib could not bind");
        thread_ = std::thread([this] { host_.run(); });
    }
    ~httplib_transport() override {
        host_.stop(2s);
        thread_.join();
    }
    std::uint16_t port() const override { return host_.port(); }
    crier::hub& hub() override { return hub_; }
    std::size_t active_streams() const override { return service_.active(); }

    const crier::adapters::httplib_streams& streams() const { return host_.streams(); }
    crier::adapters::stream_service& service() { return service_; }

private:
    crier::hub hub_;
    crier::adapters::stream_service service_;
    crier::examples::httplib_host host_;
    std::thread thread_;
};

const transport_kind httplib_kind{
    .name = "httplib",
    .make = [](const contract_config& c) -> std::unique_ptr<transport> {
        return std::make_unique<httplib_transport>(c);
    },
    .blocking = true,
};

contract_config short_heartbeat(std::chrono::milliseconds heartbeat,
                                crier::hub_options hub = {.rate_limit = 0}) {
    contract_config c;
    c.hub = hub;
    c.streams.heartbeat = heartbeat;
    return c;
}

std::string auth(std::string_view user) {
    return "Authorization: Bearer " + std::string(user);
}

const std::string events = "/api/realtime/events";

// Waits until `done()` or `timeout`; returns done().
template <class Done>
bool eventually(Done&& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    return done();
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(httplib, stream_contract, ::testing::Values(httplib_kind),
                         [](const ::testing::TestParamInfo<transport_kind>& p) {
                             return p.param.name;
                         });

TEST(httplib_adapter, to_request_rebuilds_the_target_when_httplib_kept_none) {
    httplib::Request req;
    req.method = "GET";
    req.path = "/api/realtime/events";
    req.params.emplace("channel", "a b&c");
    req.headers.emplace("Last-Event-ID", "x-7");
    req.remote_addr = "10.0.0.1";
    const auto r = crier::adapters::to_request(req);
    EXPECT_EQ(r.method(), "GET");
    EXPECT_EQ(r.target(), "/api/realtime/events?channel=a%20b%26c");
    EXPECT_EQ(r.query_param("channel"), "a b&c");
    EXPECT_EQ(r.header("last-event-id"), "x-7");
    EXPECT_EQ(r.remote_address(), "10.0.0.1");

    req.target = "/api/realtime/history?since=x-1&channel=a";  // as sent: used as it is
    EXPECT_EQ(crier::adapters::to_request(req).target(), req.target);
}

TEST(httplib_adapter, write_response_keeps_status_type_headers_and_body) {
    crier::http::response r = crier::http::json_error(429, "too_many_connections", "slow down");
    r.headers.emplace_back("Retry-After", "5");
    httplib::Response res;
    crier::adapters::write_response(r, res);
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(res.get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(res.get_header_value("Retry-After"), "5");
    EXPECT_EQ(res.get_header_value("Cache-Control"), "no-store");
    EXPECT_EQ(res.body, r.body);
}

TEST(httplib_adapter, hello_answers_beside_open_streams_on_the_same_port) {
    httplib_transport t(short_heartbeat(5s), 16);
    std::vector<std::unique_ptr<sse_stream>> open;
    for (int i = 0; i < 12; ++i) {
        open.push_back(
            std::make_unique<sse_stream>(t.port(), events + "?channel=news",
                                         std::vector<std::string>{auth("h" + std::to_string(i))}));
        ASSERT_EQ(open.back()->head().status, 200);
        ASSERT_TRUE(open.back()->wait_for_events(1));
    }
    EXPECT_EQ(t.streams().active(), 12u);
    for (int i = 0; i < 5; ++i) {
        const auto hello = request(t.port(), "GET", "/hello");
        EXPECT_EQ(hello.status(), 200);
        EXPECT_EQ(hello.body, "hello");
    }
    const auto id = t.hub().publish("news", "news:posted", "after hello").id_text();
    for (auto& s : open) {
        ASSERT_TRUE(s->wait_for_events(2));
        EXPECT_EQ(s->events()[1].id, id);
        EXPECT_EQ(s->events()[1].data, "after hello");
    }
}

TEST(httplib_adapter, max_streams_answers_503_and_a_closed_stream_frees_its_place) {
    httplib_transport t(short_heartbeat(100ms, {.rate_limit = 0, .max_connections_per_user = 1}),
                        2);
    auto a = std::make_unique<sse_stream>(t.port(), events, std::vector<std::string>{auth("a")});
    ASSERT_EQ(a->head().status, 200);
    // A stream crier refuses (429: a's second) gives its place back at once.
    EXPECT_EQ(sse_stream(t.port(), events, {auth("a")}).head().status, 429);
    sse_stream b(t.port(), events, {auth("b")});
    ASSERT_EQ(b.head().status, 200);
    EXPECT_EQ(t.streams().active(), 2u);

    sse_stream c(t.port(), events, {auth("c")});
    EXPECT_EQ(c.head().status, 503);
    EXPECT_EQ(c.head().header("retry-after"), "5");
    EXPECT_NE(c.body().find(R"("code":"too_many_streams")"), std::string::npos) << c.body();
    EXPECT_EQ(t.hub().connections("c"), 0u);
    // The host's own routes still answer: the bound leaves pool threads to them.
    EXPECT_EQ(request(t.port(), "GET", "/hello").body, "hello");

    a.reset();  // the client leaves: noticed by the next writes (heartbeats every 100 ms)
    ASSERT_TRUE(eventually([&] { return t.streams().active() == 1; }, 2s));
    auto c2 = open_when_accepted(t.port(), events, "c", 2s);
    ASSERT_TRUE(c2);
    EXPECT_TRUE(c2->wait_for_events(1));
    EXPECT_EQ(t.streams().active(), 2u);
}

TEST(httplib_adapter, a_departed_client_is_noticed_within_about_two_heartbeats) {
    constexpr auto heartbeat = 150ms;
    httplib_transport t(short_heartbeat(heartbeat));
    auto s = std::make_unique<sse_stream>(t.port(), events, std::vector<std::string>{auth("d")});
    ASSERT_TRUE(s->wait_for_events(1));
    ASSERT_EQ(t.hub().connections("d"), 1u);
    s.reset();
    const auto gone = std::chrono::steady_clock::now();
    ASSERT_TRUE(
        eventually([&] { return t.hub().connections("d") == 0 && t.streams().active() == 0; }, 3s));
    const auto took = std::chrono::steady_clock::now() - gone;
    // The first heartbeat after it left still lands in the kernel; the second write fails.
    // Two heartbeats, plus slack for a loaded (or sanitized) machine.
    EXPECT_LT(took, 2 * heartbeat + 450ms)
        << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

TEST(httplib_adapter, a_stream_is_never_compressed) {
    httplib_transport t(short_heartbeat(5s));
    sse_stream s(t.port(), events + "?channel=news", {auth("z"), "Accept-Encoding: gzip, br"});
    ASSERT_EQ(s.head().status, 200);
    EXPECT_EQ(s.head().header("content-encoding"), "");
    ASSERT_TRUE(s.wait_for_events(1));
    const auto id = t.hub().publish("news", "news:posted", "plain").id_text();
    ASSERT_TRUE(s.wait_for_events(2));
    EXPECT_EQ(s.events()[1].id, id);
}

TEST(httplib_adapter, stop_tells_open_streams_to_come_back_later_and_ends_them) {
    auto t = std::make_unique<httplib_transport>(short_heartbeat(5s));
    sse_stream s(t->port(), events, {auth("s")});
    ASSERT_TRUE(s.wait_for_events(1));
    const auto before = s.raw().size();
    t.reset();  // the example's stop(): the service's shutdown, then httplib's
    EXPECT_TRUE(s.wait_for_eof(3s));
    EXPECT_NE(s.raw().find("retry: ", before), std::string::npos) << s.raw().substr(before);
}

TEST(httplib_adapter, the_readmes_snippet_serves_streams_and_routes) {
    crier::hub hub({.rate_limit = 0});
    httplib::Server svr;
    const auto my_session_user = bearer;
    // The README's "Add a crier stream to an existing cpp-httplib server", as printed there.
    crier::adapters::stream_service service(hub);  // heartbeats, idle close, graceful shutdown
    crier::adapters::router router(service);       // crier's routes (prefix, authorize, ...)
    crier::adapters::httplib_streams streams(service, router, 64);  // at most 64 streams at once
    svr.new_task_queue = [] { return new httplib::ThreadPool(64 + 8); };  // streams + the rest
    svr.set_write_timeout(service.settings().write_timeout);  // a stream's write deadline
    auto crier_route = [&](const httplib::Request& req, httplib::Response& res) {
        if (auto who = my_session_user(req)) return streams.serve(req, res, *who);
        const auto refused = crier::http::json_error(401, "unauthorized", "log in first");
        crier::adapters::write_response(refused, res);
    };
    svr.Get("/api/realtime/.*", crier_route);
    svr.Post("/api/realtime/.*", crier_route);
    std::signal(SIGPIPE, SIG_IGN);  // httplib 0.11 writes without MSG_NOSIGNAL
    // (end of the snippet)

    const int port = svr.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port, 0);
    std::thread server([&] { svr.listen_after_bind(); });
    {
        sse_stream s(static_cast<std::uint16_t>(port), events + "?channel=news", {auth("r")});
        ASSERT_EQ(s.head().status, 200);
        ASSERT_TRUE(s.wait_for_events(1));
        const auto published =
            request(static_cast<std::uint16_t>(port), "POST", "/api/realtime/publish",
                    {auth("admin"), "Content-Type: application/json"},
                    R"({"channels":["news"],"type":"news:posted","data":"1"})");
        EXPECT_EQ(published.status(), 200) << published.body;
        ASSERT_TRUE(s.wait_for_events(2));
        EXPECT_EQ(s.events()[1].type, "news:posted");
        EXPECT_EQ(sse_stream(static_cast<std::uint16_t>(port), events).head().status, 401);
        // The stop the README describes.
        service.shutdown();
        EXPECT_TRUE(eventually([&] { return streams.active() == 0; }, 3s));
        EXPECT_TRUE(s.wait_for_eof(3s));
    }
    svr.stop();
    server.join();
}

}  // namespace crier::test
