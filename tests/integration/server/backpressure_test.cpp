// SPDX-License-Identifier: MIT
// hub_options::backlog_limit over real sockets: the publish route answers 503 with Retry-After
// while the delivery backlog is over its bound, 200 under it, and a stream receives exactly the
// accepted events, in order.
#include <crier/adapters/http_server.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <support/raw_client.hpp>
#include <support/served.hpp>

namespace {

using namespace std::chrono_literals;
using crier::test::bearer_u1;
using crier::test::events_path;
using crier::test::request;
using crier::test::served;
using crier::test::sse_stream;

crier::test::http_reply publish(std::uint16_t port, std::string_view data) {
    return request(
        port, "POST", "/api/realtime/publish",
        {"Authorization: Bearer pub1", "Content-Type: application/json"},
        R"({"channels":["horses"],"type":"horses:updated","data":")" + std::string(data) + "\"}");
}

TEST(backpressure, publish_route_refuses_with_503_over_the_backlog_and_accepts_under_it) {
    // Two subscriptions on `horses`: a live stream that reads, and an application's handle
    // that is not drained (the backlog). Bound: 2 frames each on average, 4 in all.
    served s({.backlog_limit = 2, .rate_limit = 0});
    sse_stream stream(s.port(), events_path + "?channel=horses", {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));  // `connected`
    auto held = s.hub.subscribe({.channels = {"horses"}});

    std::vector<std::string> accepted_ids;
    std::vector<std::string> accepted_data;
    crier::test::http_reply refused;
    for (int i = 0; i < 20; ++i) {
        const std::string data = "event " + std::to_string(i);
        auto r = publish(s.port(), data);
        if (r.status() != 200) {
            refused = std::move(r);
            break;
        }
        const auto at = r.body.find(R"("id":")");
        ASSERT_NE(at, std::string::npos) << r.body;
        accepted_ids.push_back(r.body.substr(at + 6, r.body.find('"', at + 6) - at - 6));
        accepted_data.push_back(data);
    }
    // `held` keeps one frame per accepted event and the stream drains its own: refused once
    // more than 4 are queued, i.e. after 4 or 5 accepted (5 when the stream drained the 4th).
    ASSERT_EQ(refused.status(), 503) << refused.body;
    EXPECT_GE(accepted_ids.size(), 3u);
    EXPECT_LE(accepted_ids.size(), 5u);
    EXPECT_EQ(refused.head.header("retry-after"), "1");
    EXPECT_EQ(refused.head.header("content-type"), "application/json");
    EXPECT_NE(refused.body.find(R"("code":"overloaded")"), std::string::npos) << refused.body;
    EXPECT_NE(refused.body.find(R"("status":503)"), std::string::npos) << refused.body;
    // Still over the bound: refused again, at once, and counted.
    EXPECT_EQ(publish(s.port(), "refused too").status(), 503);
    EXPECT_EQ(s.hub.stats().overloaded, 2u);
    EXPECT_EQ(s.hub.stats().published, accepted_ids.size());

    // The backlog drains: publishing is accepted again.
    std::vector<crier::sse::frame> frames;
    EXPECT_EQ(held.drain(frames), accepted_ids.size());
    const auto after = publish(s.port(), "after the drain");
    ASSERT_EQ(after.status(), 200) << after.body;
    accepted_data.emplace_back("after the drain");

    // Nothing accepted is lost, nothing refused arrives, and the order holds.
    ASSERT_TRUE(stream.wait_for_events(1 + accepted_data.size()));
    std::this_thread::sleep_for(100ms);  // a refused event would arrive by now
    const auto& got = stream.events();
    ASSERT_EQ(got.size(), 1 + accepted_data.size());
    for (std::size_t i = 0; i < accepted_data.size(); ++i) {
        EXPECT_EQ(got[1 + i].data, accepted_data[i]) << i;
        if (i < accepted_ids.size()) {
            EXPECT_EQ(got[1 + i].id, accepted_ids[i]) << i;
        }
    }
    const auto stats =
        request(s.port(), "GET", "/api/realtime/stats", {"Authorization: Bearer admin"}, "");
    EXPECT_NE(stats.body.find(R"("overloaded":2)"), std::string::npos) << stats.body;
    const auto prometheus =
        request(s.port(), "GET", "/api/realtime/metrics", {"Authorization: Bearer admin"}, "");
    EXPECT_NE(prometheus.body.find("crier_overloaded_total 2\n"), std::string::npos)
        << prometheus.body;
}

TEST(backpressure, the_route_never_waits_even_when_the_hub_would) {
    // An I/O thread that waited for the backlog could be the one that drains it.
    served s({.backlog_limit = 1, .backlog_wait = 10s, .rate_limit = 0});
    auto held = s.hub.subscribe({.channels = {"horses"}});
    ASSERT_FALSE(s.hub.publish("horses", "t", "1").error);
    ASSERT_FALSE(s.hub.publish("horses", "t", "2").error);
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = publish(s.port(), "refused");
    EXPECT_EQ(r.status(), 503) << r.body;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_EQ(held.queued_frames(), 2u);
}

TEST(backpressure, a_retried_publish_with_its_dedup_key_answers_200_duplicate_not_503) {
    // A publisher whose answer was lost sends the same publish again while the backlog is over
    // its bound: it learns at once that the event was published, under the first id.
    served s({.backlog_limit = 1, .rate_limit = 0});
    auto held = s.hub.subscribe({.channels = {"horses"}});
    const auto keyed = [&](std::string_view data, std::string_view key) {
        return request(s.port(), "POST", "/api/realtime/publish",
                       {"Authorization: Bearer pub1", "Content-Type: application/json"},
                       R"({"channels":["horses"],"type":"horses:updated","data":")" +
                           std::string(data) + R"(","dedup_key":")" + std::string(key) + "\"}");
    };
    const auto first = keyed("1", "order-1");
    ASSERT_EQ(first.status(), 200) << first.body;
    ASSERT_EQ(keyed("2", "order-2").status(), 200);
    ASSERT_EQ(held.queued_frames(), 2u);  // over the bound of 1

    const auto again = keyed("1", "order-1");
    ASSERT_EQ(again.status(), 200) << again.body;
    EXPECT_NE(again.body.find(R"("duplicate":true)"), std::string::npos) << again.body;
    const auto id_of = [](const std::string& body) {
        const auto at = body.find(R"("id":")");
        return at == std::string::npos ? std::string()
                                       : body.substr(at + 6, body.find('"', at + 6) - at - 6);
    };
    EXPECT_FALSE(id_of(first.body).empty()) << first.body;
    EXPECT_EQ(id_of(again.body), id_of(first.body));
    EXPECT_EQ(keyed("3", "order-3").status(), 503);  // a new event is still refused
    EXPECT_EQ(held.queued_frames(), 2u);
    EXPECT_EQ(s.hub.stats().deduplicated, 1u);
    EXPECT_EQ(s.hub.stats().overloaded, 1u);
}

TEST(backpressure, without_a_bound_the_route_never_refuses) {
    served s({.rate_limit = 0});
    auto held = s.hub.subscribe({.channels = {"horses"}});
    for (int i = 0; i < 50; ++i) ASSERT_EQ(publish(s.port(), "x").status(), 200) << i;
    EXPECT_EQ(held.queued_frames(), 50u);
    EXPECT_EQ(s.hub.stats().overloaded, 0u);
}

}  // namespace
