// SPDX-License-Identifier: MIT
// The stream contract: what every transport of crier streams must do, written once and run
// against each (the embedded server, a host's Asio code, Beast, cpp-httplib). Include it in one
// .cpp per test binary and instantiate `stream_contract` with that binary's transport_kind.
#ifndef CRIER_TESTS_CONTRACT_CONTRACT_SUITE_HPP
#define CRIER_TESTS_CONTRACT_CONTRACT_SUITE_HPP

#include <crier/client.hpp>
#include <crier/sse/event_id.hpp>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "contract/transport.hpp"
#include "support/raw_client.hpp"

namespace crier::test {

using namespace std::chrono_literals;

class stream_contract : public ::testing::TestWithParam<transport_kind> {
protected:
    static contract_config config(crier::hub_options hub = {.rate_limit = 0}) {
        contract_config c;
        c.hub = hub;
        return c;
    }
    std::unique_ptr<transport> start(const contract_config& c = config()) {
        return GetParam().make(c);
    }
    static std::string auth(std::string_view user) {
        return "Authorization: Bearer " + std::string(user);
    }
    static const inline std::string events = "/api/realtime/events";
};

// Opens streams for `user` until one is accepted (200) or `timeout` passes; nullptr then.
inline std::unique_ptr<sse_stream> open_when_accepted(std::uint16_t port, const std::string& target,
                                                      const std::string& user,
                                                      std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto s = std::make_unique<sse_stream>(
            port, target, std::vector<std::string>{"Authorization: Bearer " + user});
        if (s->head().status == 200) return s;
        if (std::chrono::steady_clock::now() >= deadline) return nullptr;
        std::this_thread::sleep_for(50ms);
    }
}

TEST_P(stream_contract, head_retry_and_connected_by_default_beside_the_hosts_own_route) {
    auto t = start();
    sse_stream s(t->port(), events + "?channel=horses", {auth("u1")});
    EXPECT_EQ(s.head().status, 200);
    EXPECT_EQ(s.head().header("content-type"), "text/event-stream");
    EXPECT_EQ(s.head().header("cache-control"), "no-cache");
    EXPECT_EQ(s.head().header("x-accel-buffering"), "no");
    EXPECT_EQ(s.head().header("content-length"), "");
    ASSERT_TRUE(s.wait_for_events(1));
    // retry: comes first, so every client reconnects on crier's schedule.
    EXPECT_EQ(s.raw().rfind("retry: 3000\n", 0), 0u) << s.raw().substr(0, 80);
    const auto& connected = s.events()[0];
    EXPECT_EQ(connected.type, "connected");
    EXPECT_NE(connected.data.find(R"("channels":["global","user:u1","horses"])"), std::string::npos)
        << connected.data;
    EXPECT_EQ(connected.id, crier::sse::to_string(t->hub().current_id()));
    // The host's own route answers on the same port while the stream is open.
    const auto hello = request(t->port(), "GET", "/hello");
    EXPECT_EQ(hello.status(), 200);
    EXPECT_EQ(hello.body, "hello");
    // No credentials: the host's auth refuses the stream.
    EXPECT_EQ(sse_stream(t->port(), events).head().status, 401);
}

TEST_P(stream_contract, retry_and_connected_can_be_turned_off) {
    auto c = config();
    c.streams.retry = std::nullopt;
    c.streams.connected_event = false;
    auto t = start(c);
    sse_stream s(t->port(), events + "?channel=horses", {auth("u1")});
    ASSERT_EQ(s.head().status, 200);
    const auto r = t->hub().publish("horses", "horses:created", "first");
    ASSERT_TRUE(s.wait_for_events(1));
    EXPECT_EQ(s.events()[0].type, "horses:created");
    EXPECT_EQ(s.events()[0].id, r.id_text());
    EXPECT_EQ(s.raw().find("retry:"), std::string::npos);
}

TEST_P(stream_contract, publish_and_history_through_the_routes) {
    auto t = start();
    sse_stream s(t->port(), events + "?channel=horses", {auth("u1")});
    ASSERT_TRUE(s.wait_for_events(1));
    const auto published =
        request(t->port(), "POST", "/api/realtime/publish",
                {auth("admin"), "Content-Type: application/json"},
                R"({"module":"horses","action":"created","data":{"id":7,"name":"Marengo"}})");
    ASSERT_EQ(published.status(), 200) << published.body;
    ASSERT_TRUE(s.wait_for_events(2));
    EXPECT_EQ(s.events()[1].type, "horses:created");
    EXPECT_EQ(s.events()[1].data, R"({"id":7,"name":"Marengo"})");
    EXPECT_NE(published.body.find("\"" + s.events()[1].id + "\""), std::string::npos)
        << published.body;
    const auto history =
        request(t->port(), "GET", "/api/realtime/history?channel=horses", {auth("u1")});
    EXPECT_EQ(history.status(), 200);
    EXPECT_NE(history.body.find(R"("type":"horses:created")"), std::string::npos) << history.body;
    EXPECT_EQ(request(t->port(), "POST", "/api/realtime/publish",
                      {auth("u1"), "Content-Type: application/json"},
                      R"({"channels":["horses"],"type":"t:x","data":"1"})")
                  .status(),
              403);
}

TEST_P(stream_contract, events_arrive_exactly) {
    auto t = start();
    sse_stream s(t->port(), events + "?channel=horses", {auth("u1")});
    ASSERT_TRUE(s.wait_for_events(1));
    std::string big;
    std::mt19937 rng(9);
    while (big.size() < 64 * 1024) {
        big += std::string(1 + rng() % 80, static_cast<char>('a' + rng() % 26));
        big += (rng() % 3 == 0) ? "\r\n" : "\n";
    }
    std::string big_expected;
    for (char ch : big) {
        if (ch != '\r') big_expected.push_back(ch);
    }
    const std::vector<std::pair<std::string, std::string>> samples = {
        {"a\nb", "a\nb"},
        {"a\r\nb", "a\nb"},
        {"a\rb", "a\nb"},
        {"", ""},
        {"  leading spaces", "  leading spaces"},
        {"caf\xC3\xA9 \xF0\x9F\x90\xB4", "caf\xC3\xA9 \xF0\x9F\x90\xB4"},
        {"data: injected\n\nevent: evil", "data: injected\n\nevent: evil"},
        {big, big_expected},
    };
    for (const auto& [sent, expected] : samples) {
        ASSERT_TRUE(t->hub().publish("horses", "horses:updated", sent));
    }
    ASSERT_TRUE(s.wait_for_events(1 + samples.size()));
    ASSERT_EQ(s.events().size(), 1 + samples.size());
    for (std::size_t i = 0; i < samples.size(); ++i) {
        EXPECT_EQ(s.events()[1 + i].type, "horses:updated");
        EXPECT_EQ(s.events()[1 + i].data, samples[i].second) << "sample " << i;
    }
}

TEST_P(stream_contract, reconnect_replays_exactly_the_missed_events_then_goes_live) {
    auto t = start();
    std::string last_id;
    {
        sse_stream s(t->port(), events + "?channel=horses", {auth("u1")});
        ASSERT_TRUE(s.wait_for_events(1));
        for (int i = 1; i <= 3; ++i)
            t->hub().publish("horses", "horses:updated", std::to_string(i));
        ASSERT_TRUE(s.wait_for_events(4));
        last_id = s.events()[3].id;
    }
    std::vector<std::string> missed;
    for (int i = 4; i <= 6; ++i) {
        missed.push_back(t->hub().publish("horses", "horses:updated", std::to_string(i)).id_text());
        t->hub().publish("elsewhere", "other:x", "not for this stream");
    }
    sse_stream s(t->port(), events + "?channel=horses", {auth("u1"), "Last-Event-ID: " + last_id});
    ASSERT_TRUE(s.wait_for_events(4));
    const auto live = t->hub().publish("horses", "horses:updated", "7").id_text();
    ASSERT_TRUE(s.wait_for_events(5));
    s.drain_for(100ms);
    ASSERT_EQ(s.events().size(), 5u);
    EXPECT_EQ(s.events()[0].type, "connected");
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(s.events()[1 + i].id, missed[i]);
        EXPECT_EQ(s.events()[1 + i].data, std::to_string(4 + i));
    }
    EXPECT_EQ(s.events()[4].id, live);
    EXPECT_EQ(s.events()[4].data, "7");
}

TEST_P(stream_contract, resync_when_history_was_evicted) {
    auto t = start(config({.history_size = 3, .rate_limit = 0}));
    const auto first = t->hub().publish("horses", "horses:updated", "0").id_text();
    for (int i = 1; i <= 10; ++i) t->hub().publish("horses", "horses:updated", std::to_string(i));
    sse_stream s(t->port(), events + "?channel=horses", {auth("u1"), "Last-Event-ID: " + first});
    ASSERT_TRUE(s.wait_for_events(2));
    EXPECT_EQ(s.events()[1].type, "resync");
    EXPECT_NE(s.events()[1].data.find("evicted"), std::string::npos) << s.events()[1].data;
    EXPECT_EQ(s.events()[1].id, crier::sse::to_string(t->hub().current_id()));
}

TEST_P(stream_contract, heartbeat_comment_on_a_quiet_stream) {
    auto c = config();
    c.streams.heartbeat = 100ms;
    auto t = start(c);
    sse_stream s(t->port(), events, {auth("u1")});
    ASSERT_TRUE(s.wait_for_events(1));
    const auto before = s.raw().size();
    ASSERT_TRUE(s.wait_for_raw(":\n", 3s));
    EXPECT_NE(s.raw().find(":\n", before), std::string::npos);
    EXPECT_EQ(s.events().size(), 1u);  // a comment is not an event
}

TEST_P(stream_contract, stalled_reader_is_closed_by_the_write_deadline_and_its_slot_freed) {
    auto c = config({.queue_frames = 1'000'000,
                     .queue_bytes = std::size_t{256} << 20,
                     .rate_limit = 0,
                     .max_connections_per_user = 1});
    c.streams.write_timeout = 400ms;
    c.streams.heartbeat = 100ms;
    auto t = start(c);
    // A tiny receive buffer and no reading: the server's writes stall.
    auto stalled = std::make_unique<sse_stream>(t->port(), events + "?channel=bulk",
                                                std::vector<std::string>{auth("slow")}, 4096);
    ASSERT_EQ(stalled->head().status, 200);
    const std::string chunk(16 * 1024, 'x');
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (t->hub().connections("slow") != 0 && std::chrono::steady_clock::now() < deadline) {
        t->hub().publish("bulk", "bulk:x", chunk);
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(t->hub().connections("slow"), 0u) << "the stalled stream still holds its slot";
    // The slot is free: the same user gets a new stream (the cap is 1).
    auto again = open_when_accepted(t->port(), events, "slow", 3s);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->wait_for_events(1));
}

TEST_P(stream_contract, a_client_that_goes_away_frees_its_slot_promptly) {
    auto c = config({.rate_limit = 0, .max_connections_per_user = 1});
    c.streams.heartbeat = 200ms;
    auto t = start(c);
    {
        sse_stream s(t->port(), events, {auth("u9")});
        ASSERT_TRUE(s.wait_for_events(1));
        EXPECT_EQ(sse_stream(t->port(), events, {auth("u9")}).head().status, 429);
    }  // the client closes its socket
    const auto gone = std::chrono::steady_clock::now();
    while (t->hub().connections("u9") != 0 && std::chrono::steady_clock::now() - gone < 3s) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(t->hub().connections("u9"), 0u);
    // Asynchronous transports see the FIN at once; blocking ones at the next writes.
    EXPECT_LT(std::chrono::steady_clock::now() - gone, GetParam().blocking ? 2s : 500ms);
    auto again = open_when_accepted(t->port(), events, "u9", 2s);
    ASSERT_TRUE(again);
}

TEST_P(stream_contract, kick_by_user_and_by_channel_then_204_after_close) {
    auto t = start();
    sse_stream u1(t->port(), events + "?channel=stable:7", {auth("u1")});
    sse_stream u2(t->port(), events + "?channel=stable:7", {auth("u2")});
    sse_stream u3(t->port(), events + "?channel=stable:8", {auth("u3")});
    ASSERT_TRUE(u1.wait_for_events(1) && u2.wait_for_events(1) && u3.wait_for_events(1));
    const auto last = t->hub().publish("stable:7", "stable:updated", "before").id_text();
    ASSERT_TRUE(u1.wait_for_events(2));

    // By user, through the admin route: u1's stream ends after what it was owed.
    const auto kicked =
        request(t->port(), "POST", "/api/realtime/disconnect",
                {auth("admin"), "Content-Type: application/json"}, R"({"user_id":"u1"})");
    EXPECT_EQ(kicked.status(), 200);
    EXPECT_EQ(kicked.body, "{\"closed\":1}\n");
    EXPECT_TRUE(u1.wait_for_eof(3s));
    EXPECT_EQ(u1.events().back().id, last);
    EXPECT_EQ(request(t->port(), "POST", "/api/realtime/disconnect",
                      {auth("u2"), "Content-Type: application/json"}, R"({"user_id":"u1"})")
                  .status(),
              403);

    // By channel, refusing reconnects: u2 ends, u3 (another channel) stays, and a reconnect
    // to the closed channel gets 204, on which EventSource stops.
    EXPECT_EQ(t->hub().close_channel("stable:7", {.refuse_reconnect = 60s}), 1u);
    EXPECT_TRUE(u2.wait_for_eof(3s));
    const auto after = t->hub().publish("stable:8", "stable:updated", "still here").id_text();
    ASSERT_TRUE(u3.wait_for_events(2));
    EXPECT_EQ(u3.events().back().id, after);
    sse_stream refused(t->port(), events + "?channel=stable:7", {auth("u2")});
    EXPECT_EQ(refused.head().status, 204);
    EXPECT_EQ(refused.head().header("content-length"), "");
    EXPECT_TRUE(t->hub().reopen_channel("stable:7"));
    sse_stream back(t->port(), events + "?channel=stable:7", {auth("u2")});
    EXPECT_EQ(back.head().status, 200);
}

// crier's own EventSource client: a kicked stream reconnects (on the server's `retry:`) and
// resumes with nothing lost or doubled; a channel closed with refuse_reconnect answers 204, and
// the client stops for good, as a browser does.
TEST_P(stream_contract, crier_client_resumes_after_a_kick_and_stops_on_204) {
    auto c = config();
    c.streams.retry = 50ms;
    auto t = start(c);
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> data;
    int connected = 0;
    std::optional<crier::client::state_change> closed;
    asio::io_context io;
    crier::client::event_source source(
        io, "http://127.0.0.1:" + std::to_string(t->port()) + events + "?channel=room",
        {.headers = {{"Authorization", "Bearer u5"}}, .jitter = [] { return 1.0; }});
    auto record = [&](auto&& f) {
        {
            std::lock_guard lock(mutex);
            f();
        }
        changed.notify_all();
    };
    source.on("connected", [&](const crier::client::event&) { record([&] { ++connected; }); });
    source.on("room:msg",
              [&](const crier::client::event& e) { record([&] { data.emplace_back(e.data); }); });
    source.on_state([&](const crier::client::state_change& sc) {
        if (sc.state == crier::client::ready_state::closed) record([&] { closed = sc; });
    });
    source.start();
    std::thread runner([&] { io.run(); });
    auto wait = [&](auto pred) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 5s, pred);
    };
    EXPECT_TRUE(wait([&] { return connected == 1; }));
    for (int i = 0; i < 3; ++i) t->hub().publish("room", "room:msg", std::to_string(i));
    EXPECT_TRUE(wait([&] { return data.size() == 3; }));
    EXPECT_EQ(t->hub().disconnect_user("u5"), 1u);
    // Published while the client is away: replayed on its return.
    for (int i = 3; i < 6; ++i) t->hub().publish("room", "room:msg", std::to_string(i));
    EXPECT_TRUE(wait([&] { return connected == 2; }));
    EXPECT_TRUE(wait([&] { return data.size() == 6; }));
    t->hub().publish("room", "room:msg", "6");
    EXPECT_TRUE(wait([&] { return data.size() == 7; }));
    EXPECT_EQ(t->hub().close_channel("room", {.refuse_reconnect = 60s}), 1u);
    EXPECT_TRUE(wait([&] { return closed.has_value(); }));
    source.close();
    runner.join();
    std::lock_guard lock(mutex);
    EXPECT_EQ(data, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6"}));
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->http_status, 204);
    EXPECT_EQ(connected, 2);
}

TEST_P(stream_contract, two_hundred_concurrent_streams_each_receive_every_event_in_order) {
    auto t = start();
    constexpr std::size_t streams_n = 200;
    constexpr int events_n = 20;
    std::vector<std::unique_ptr<sse_stream>> streams;
    for (std::size_t i = 0; i < streams_n; ++i) {
        streams.push_back(
            std::make_unique<sse_stream>(t->port(), events + "?channel=fanout",
                                         std::vector<std::string>{auth("f" + std::to_string(i))}));
        ASSERT_EQ(streams.back()->head().status, 200) << "stream " << i;
    }
    std::vector<std::string> ids;
    std::thread publisher([&] {
        for (int e = 0; e < events_n; ++e) {
            ids.push_back(t->hub().publish("fanout", "bench:tick", std::to_string(e)).id_text());
        }
    });
    publisher.join();
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    std::size_t done = 0;
    std::vector<bool> finished(streams_n, false);
    while (done < streams_n && std::chrono::steady_clock::now() < deadline) {
        for (std::size_t i = 0; i < streams_n; ++i) {
            if (finished[i]) continue;
            streams[i]->poll();
            if (streams[i]->events().size() >= 1 + events_n) {
                finished[i] = true;
                ++done;
            }
        }
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(done, streams_n);
    for (const auto& st : streams) {
        ASSERT_EQ(st->events().size(), 1u + events_n);
        for (int e = 0; e < events_n; ++e) {
            ASSERT_EQ(st->events()[static_cast<std::size_t>(1 + e)].id,
                      ids[static_cast<std::size_t>(e)]);
        }
    }
    EXPECT_EQ(t->active_streams(), streams_n);
}

}  // namespace crier::test

#endif
