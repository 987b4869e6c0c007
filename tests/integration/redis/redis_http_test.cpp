// SPDX-License-Identifier: MIT
// Three embedded servers on one Redis, over HTTP: publish on one, stream from another, resume on
// a third with Last-Event-ID; /health and /metrics say when the backplane is away, and the
// publish route says what a publish meanwhile did (refused, or delivered to this node only).
#include <crier/adapters/http_server.hpp>
#include <crier/backplane/redis.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/raw_client.hpp"
#include "integration/support/redis_server.hpp"
#include "integration/support/served.hpp"

namespace {

using namespace std::chrono_literals;
using crier::test::request;
using crier::test::sse_stream;

/// A hub on a redis_backplane and an embedded server over it.
struct http_node {
    explicit http_node(const crier_test::redis_server& redis,
                       crier::away_mode when_away = crier::away_mode::local)
        : backplane(std::make_shared<crier::redis_backplane>(
              crier::redis_options{.url = redis.url(),
                                   .command_timeout = 1s,
                                   .reconnect_min = 20ms,
                                   .reconnect_max = 200ms,
                                   .when_away = when_away})),
          hub({.rate_limit = 0, .backplane = backplane}),
          server(hub, crier::test::test_options()) {
        server.start();
    }
    [[nodiscard]] std::uint16_t port() const { return server.port(); }

    std::shared_ptr<crier::redis_backplane> backplane;
    crier::hub hub;
    crier::adapters::http_server server;
};

crier::test::http_reply publish(const http_node& n, std::string_view data) {
    return request(
        n.port(), "POST", "/api/realtime/publish",
        {"Authorization: Bearer pub1", "Content-Type: application/json"},
        R"({"channels":["horses"],"type":"horses:updated","data":")" + std::string(data) + "\"}");
}

TEST(redis_http, publish_on_b_streams_from_a_and_resumes_on_c) {
    crier_test::redis_server redis;
    http_node a(redis);
    http_node b(redis);
    http_node c(redis);
    const std::string path = crier::test::events_path + "?channel=horses";
    std::string last_id;
    {
        sse_stream on_a(a.port(), path, {crier::test::bearer_u1});
        ASSERT_TRUE(on_a.wait_for_events(1));  // connected
        for (int i = 0; i < 3; ++i) {
            ASSERT_EQ(publish(b, "h" + std::to_string(i)).status(), 200);
        }
        ASSERT_TRUE(on_a.wait_for_events(4));
        EXPECT_EQ(on_a.events()[3].data, "h2");
        last_id = on_a.events()[2].id;  // the client has seen h0, h1 when it drops
    }
    ASSERT_EQ(publish(a, "h3").status(), 200);
    sse_stream on_c(c.port(), path, {crier::test::bearer_u1, "Last-Event-ID: " + last_id});
    ASSERT_TRUE(on_c.wait_for_events(3));
    EXPECT_EQ(on_c.events()[0].type, "connected");
    EXPECT_EQ(on_c.events()[1].data, "h2");
    EXPECT_EQ(on_c.events()[2].data, "h3");
    on_c.drain_for(100ms);
    EXPECT_EQ(on_c.events().size(), 3u);  // exactly the missed ones
}

TEST(redis_http, health_says_degraded_while_redis_is_away_and_refuse_answers_503) {
    crier_test::redis_server redis;
    http_node a(redis, crier::away_mode::refuse);
    auto health = request(a.port(), "GET", "/api/realtime/health");
    EXPECT_EQ(health.status(), 200);
    EXPECT_NE(health.body.find(R"("status":"ok")"), std::string::npos) << health.body;
    sse_stream stream(a.port(), crier::test::events_path, {crier::test::bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));

    redis.stop();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (a.hub.stats().backplane_connected && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    health = request(a.port(), "GET", "/api/realtime/health");
    EXPECT_EQ(health.status(), 200);  // degraded, not down: local streams are still served
    EXPECT_NE(health.body.find(R"("status":"degraded")"), std::string::npos) << health.body;
    const auto metrics =
        request(a.port(), "GET", "/api/realtime/metrics", {"Authorization: Bearer admin"});
    EXPECT_NE(metrics.body.find("crier_backplane_connected 0"), std::string::npos);
    EXPECT_NE(metrics.body.find(R"(crier_backplane_when_away{mode="refuse"} 1)"),
              std::string::npos);
    const auto refused = publish(a, "lost");
    EXPECT_EQ(refused.status(), 503) << refused.body;  // reported failed, never silently lost
    EXPECT_NE(refused.body.find("backplane_unavailable"), std::string::npos) << refused.body;
    EXPECT_EQ(refused.head.header("retry-after"), "1");
    EXPECT_TRUE(stream.poll());                      // the stream is still open
    EXPECT_FALSE(stream.wait_for_events(2, 100ms));  // and nothing was delivered

    redis.start();
    ASSERT_TRUE(stream.wait_for_events(2));
    EXPECT_EQ(stream.events()[1].type, "resync");
    health = request(a.port(), "GET", "/api/realtime/health");
    EXPECT_NE(health.body.find(R"("status":"ok")"), std::string::npos) << health.body;
}

TEST(redis_http, local_mode_delivers_here_only_and_answers_scope_local) {
    crier_test::redis_server redis;
    http_node a(redis);
    http_node b(redis);
    const std::string path = crier::test::events_path + "?channel=horses";
    sse_stream on_a(a.port(), path, {crier::test::bearer_u1});
    sse_stream on_b(b.port(), path, {crier::test::bearer_u1});
    ASSERT_TRUE(on_a.wait_for_events(1));
    ASSERT_TRUE(on_b.wait_for_events(1));
    const auto cluster = publish(a, "h0");
    ASSERT_EQ(cluster.status(), 200);
    EXPECT_EQ(cluster.body.find("scope"), std::string::npos) << cluster.body;  // every node
    ASSERT_TRUE(on_a.wait_for_events(2));
    ASSERT_TRUE(on_b.wait_for_events(2));

    redis.stop();
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while ((a.hub.stats().backplane_connected || b.hub.stats().backplane_connected) &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    const auto local = publish(a, "alone");
    EXPECT_EQ(local.status(), 200) << local.body;
    EXPECT_NE(local.body.find(R"("held":false,"scope":"local")"), std::string::npos) << local.body;
    ASSERT_TRUE(on_a.wait_for_events(3));
    EXPECT_EQ(on_a.events()[2].data, "alone");
    EXPECT_NE(local.body.find(on_a.events()[2].id), std::string::npos) << local.body;
    const auto cluster_id = crier::sse::parse_event_id(on_a.events()[1].id);
    const auto local_id = crier::sse::parse_event_id(on_a.events()[2].id);
    ASSERT_TRUE(cluster_id && local_id);
    EXPECT_NE(local_id->epoch, cluster_id->epoch);
    EXPECT_FALSE(on_b.wait_for_events(3, 200ms));  // never on another node

    const auto stats =
        request(a.port(), "GET", "/api/realtime/stats", {"Authorization: Bearer admin"});
    EXPECT_NE(stats.body.find(R"("whenAway":"local","localPublishes":1)"), std::string::npos)
        << stats.body;
    const auto metrics =
        request(a.port(), "GET", "/api/realtime/metrics", {"Authorization: Bearer admin"});
    EXPECT_NE(metrics.body.find("crier_backplane_local_publishes_total 1"), std::string::npos);
    EXPECT_NE(metrics.body.find(R"(crier_backplane_when_away{mode="local"} 1)"), std::string::npos);
    const auto health = request(a.port(), "GET", "/api/realtime/health");
    EXPECT_EQ(health.status(), 200);
    EXPECT_NE(health.body.find(R"("status":"degraded")"), std::string::npos) << health.body;
    // The outage's id, on the other node: resync, not a replay.
    sse_stream moved(b.port(), path,
                     {crier::test::bearer_u1, "Last-Event-ID: " + on_a.events()[2].id});
    ASSERT_TRUE(moved.wait_for_events(2));
    EXPECT_EQ(moved.events()[1].type, "resync");

    redis.start();
    ASSERT_TRUE(on_a.wait_for_events(4));
    EXPECT_EQ(on_a.events()[3].type, "resync");
    ASSERT_TRUE(on_b.wait_for_events(3));
    EXPECT_EQ(on_b.events()[2].type, "resync");
    const auto back = publish(b, "h1");
    EXPECT_EQ(back.status(), 200) << back.body;
    EXPECT_EQ(back.body.find("scope"), std::string::npos) << back.body;
    ASSERT_TRUE(on_a.wait_for_events(5));
    ASSERT_TRUE(on_b.wait_for_events(4));
    EXPECT_EQ(on_a.events()[4].data, "h1");
    EXPECT_EQ(on_b.events()[3].data, "h1");
    EXPECT_EQ(on_a.events()[4].id, on_b.events()[3].id);
}

}  // namespace
