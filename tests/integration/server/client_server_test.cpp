// SPDX-License-Identifier: MIT
// crier's EventSource client against crier's embedded server: resuming across a server restart
// with no gap and no double, module handlers with rate-limit batches unpacked, and a refusal
// (429) that stops the client for good.
#include <crier/adapters/http_server.hpp>
#include <crier/client.hpp>

#include <asio/io_context.hpp>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace {

using namespace std::chrono_literals;

crier::adapters::server_options options(std::uint16_t port = 0) {
    return {.port = port,
            .threads = 2,
            .shutdown_retry_min = 50ms,
            .shutdown_retry_max = 150ms,
            .authenticate =
                [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
                const auto auth = r.header("authorization");
                if (!auth || !auth->starts_with("Bearer ")) return std::nullopt;
                return crier::adapters::principal{.user_id = std::string(auth->substr(7))};
            }};
}

// What a client saw, guarded for the test thread.
struct recorder {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::pair<std::string, std::string>> events;  // (type or action, data)
    std::vector<std::string> ids;
    int connected = 0;
    int resyncs = 0;
    std::optional<crier::client::state_change> closed;

    template <class F>
    void with(F&& f) {
        {
            std::lock_guard lock(mutex);
            f();
        }
        changed.notify_all();
    }
    template <class Pred>
    bool wait(Pred&& pred, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, timeout, pred);
    }
};

struct client_thread {
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
        io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    ~client_thread() {
        work.reset();
        io.stop();
        thread.join();
    }
};

TEST(client_and_server, resume_across_a_server_restart_without_gap_or_double) {
    crier::hub hub({.rate_limit = 0});
    auto server = std::make_unique<crier::adapters::http_server>(hub, options());
    server->start();
    const auto port = server->port();

    client_thread ct;
    recorder rec;
    crier::client::event_source source(
        ct.io, "http://127.0.0.1:" + std::to_string(port) + "/api/realtime/events?channel=horses",
        {.headers = {{"Authorization", "Bearer u1"}}, .initial_retry = 100ms});
    source.on("connected",
              [&](const crier::client::event&) { rec.with([&] { ++rec.connected; }); });
    source.on("horses:*", [&](const crier::client::event& e) {
        rec.with([&] {
            rec.events.emplace_back(e.type, e.data);
            rec.ids.emplace_back(e.id);
        });
    });
    source.on_resync([&](const crier::client::event&) { rec.with([&] { ++rec.resyncs; }); });
    source.start();
    ASSERT_TRUE(rec.wait([&] { return rec.connected == 1; }));

    std::vector<std::string> expected_ids;
    auto publish = [&](int n) {
        const auto r = hub.publish("horses", "horses:updated", std::to_string(n));
        ASSERT_FALSE(r.error);
        expected_ids.push_back(r.id_text());
    };
    for (int i = 0; i < 5; ++i) publish(i);
    ASSERT_TRUE(rec.wait([&] { return rec.events.size() == 5; }));

    server->stop();  // streams get `retry:` and close; the hub keeps going
    for (int i = 5; i < 10; ++i) publish(i);
    server = std::make_unique<crier::adapters::http_server>(hub, options(port));
    server->start();
    ASSERT_TRUE(rec.wait([&] { return rec.connected == 2 && rec.events.size() == 10; }, 10s))
        << rec.events.size() << " events, " << rec.connected << " connections";
    for (int i = 10; i < 13; ++i) publish(i);
    ASSERT_TRUE(rec.wait([&] { return rec.events.size() == 13; }));
    std::this_thread::sleep_for(100ms);

    source.close();
    std::lock_guard lock(rec.mutex);
    EXPECT_EQ(rec.ids, expected_ids);
    for (std::size_t i = 0; i < rec.events.size(); ++i) {
        EXPECT_EQ(rec.events[i].second, std::to_string(i));
    }
    EXPECT_EQ(rec.resyncs, 0);
    EXPECT_EQ(rec.connected, 2);
}

TEST(client_and_server, module_handlers_receive_batched_events_in_order) {
    // 4 events per second per channel: a burst of 10 is 4 now and the rest in `batch` events.
    crier::hub hub({.rate_limit = 4, .rate_window = 1s});
    crier::adapters::http_server server(hub, options());
    server.start();
    client_thread ct;
    recorder rec;
    crier::client::event_source source(
        ct.io,
        "http://127.0.0.1:" + std::to_string(server.port()) + "/api/realtime/events?channel=horses",
        {.headers = {{"Authorization", "Bearer u1"}}});
    source.on_module("horses", [&](std::string_view action, const crier::client::event& e) {
        rec.with([&] {
            rec.events.emplace_back(action, e.data);
            rec.ids.emplace_back(e.id);
        });
    });
    source.on("connected",
              [&](const crier::client::event&) { rec.with([&] { ++rec.connected; }); });
    source.start();
    ASSERT_TRUE(rec.wait([&] { return rec.connected == 1; }));
    std::vector<std::string> expected;  // "" for a held event: it takes its id at the flush
    for (int i = 0; i < 10; ++i) {
        const auto r = hub.publish("horses", i % 2 ? "horses:updated" : "horses:created",
                                   "{\"n\":" + std::to_string(i) + "}");
        ASSERT_FALSE(r.error);
        EXPECT_EQ(r.held, r.id == crier::sse::event_id{}) << i;
        expected.push_back(r.held ? std::string() : r.id_text());
    }
    ASSERT_TRUE(rec.wait([&] { return rec.events.size() == 10; }, 8s)) << rec.events.size();
    source.close();
    std::lock_guard lock(rec.mutex);
    ASSERT_EQ(rec.ids.size(), 10u);
    for (std::size_t i = 0; i < 10; ++i) {
        if (!expected[i].empty()) {
            EXPECT_EQ(rec.ids[i], expected[i]) << i;
        }
        if (i == 0) continue;
        const auto before = crier::sse::parse_event_id(rec.ids[i - 1]);
        const auto now = crier::sse::parse_event_id(rec.ids[i]);
        ASSERT_TRUE(before && now) << rec.ids[i - 1] << " " << rec.ids[i];
        EXPECT_LT(before->seq, now->seq) << "ids in order, batch items included";
    }
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(rec.events[static_cast<std::size_t>(i)].first, i % 2 ? "updated" : "created");
        EXPECT_EQ(rec.events[static_cast<std::size_t>(i)].second,
                  "{\"n\":" + std::to_string(i) + "}");
    }
    EXPECT_GE(hub.stats().batched, 1u) << "the burst went over the limit: some came as batches";
}

TEST(client_and_server, a_refused_stream_stops_the_client_for_good) {
    crier::hub hub({.max_connections_per_user = 1});
    crier::adapters::http_server server(hub, options());
    server.start();
    const std::string url =
        "http://127.0.0.1:" + std::to_string(server.port()) + "/api/realtime/events";
    client_thread ct;
    recorder first;
    recorder second;
    crier::client::event_source a(ct.io, url, {.headers = {{"Authorization", "Bearer solo"}}});
    a.on("connected", [&](const crier::client::event&) { first.with([&] { ++first.connected; }); });
    a.start();
    ASSERT_TRUE(first.wait([&] { return first.connected == 1; }));
    crier::client::event_source b(ct.io, url, {.headers = {{"Authorization", "Bearer solo"}}});
    b.on_state([&](const crier::client::state_change& s) {
        if (s.state == crier::client::ready_state::closed) second.with([&] { second.closed = s; });
    });
    b.start();
    ASSERT_TRUE(second.wait([&] { return second.closed.has_value(); }));
    EXPECT_EQ(second.closed->http_status, 429);
    EXPECT_EQ(second.closed->error, crier::errc::unexpected_status);
    a.close();
    b.close();
}

}  // namespace
