// SPDX-License-Identifier: MIT
// The embedded server under hostile clients, throwing hooks and overload, over real sockets on
// 127.0.0.1: write deadlines, exceptions from host code, exact Content-Length, principal ids
// that look like patterns, shutdown with stalled streams, and bounded history responses.
#include <crier/adapters/http_server.hpp>

#include <asio/post.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <support/raw_client.hpp>
#include <support/served.hpp>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using crier::test::bearer_u1;
using crier::test::events_path;
using crier::test::raw_connection;
using crier::test::request;
using crier::test::served;
using crier::test::sse_stream;

// Polls `done` until it holds or `timeout` passes; returns done().
template <class Done>
bool eventually(Done&& done, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return done();
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// ---- Write deadline ----------------------------------------------------------------------

TEST(http_server_hardening, stalled_reader_is_closed_by_the_write_deadline) {
    // drop_oldest keeps the subscription (and the per-user slot) alive however far the reader
    // falls behind, so only the write deadline can free them.
    served s({.overflow = crier::overflow_policy::drop_oldest,
              .rate_limit = 0,
              .max_connections_per_user = 1},
             {.write_timeout = 300ms});
    sse_stream stalled(s.port(), events_path, {bearer_u1}, 4096);
    ASSERT_TRUE(stalled.wait_for_events(1));
    ASSERT_EQ(s.hub.connections("u1"), 1u);
    ASSERT_EQ(s.server.connections(), 1u);

    // The reader stops reading; 64 KiB events fill its receive buffer and the server's send
    // buffer, so the server's write stops making progress.
    const std::string big(64 * 1024, 'x');
    const auto stalled_at = std::chrono::steady_clock::now();
    for (int i = 0; i < 200 && s.hub.connections("u1") != 0; ++i) {
        ASSERT_FALSE(s.hub.publish_to_user("u1", "horses:big", big).error);
        std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(eventually([&] { return s.hub.connections("u1") == 0; }, 5s))
        << "the stalled stream still holds its slot";
    EXPECT_LT(std::chrono::steady_clock::now() - stalled_at, 4s);
    EXPECT_TRUE(eventually([&] { return s.hub.stats().subscriptions == 0; }));
    EXPECT_TRUE(eventually([&] { return s.server.connections() == 0; }))
        << s.server.connections() << " connections still open";

    // The slot is free again: the same user is accepted with max_connections_per_user = 1.
    sse_stream again(s.port(), events_path, {bearer_u1});
    EXPECT_EQ(again.head().status, 200);
    ASSERT_TRUE(again.wait_for_events(1));
    ASSERT_FALSE(s.hub.publish_to_user("u1", "horses:small", "hi").error);
    ASSERT_TRUE(again.wait_for_events(2));
    EXPECT_EQ(again.events()[1].data, "hi");
}

TEST(http_server_hardening, reader_that_never_reads_a_response_is_closed_by_the_write_deadline) {
    // A 6 MB static file is far more than the socket buffers hold: the response's write stalls
    // while the client never reads.
    const auto dir = std::filesystem::temp_directory_path() /
                     ("crier_write_deadline_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "big.bin", std::ios::binary) << std::string(6u << 20, 'b');
    served s({}, {.write_timeout = 300ms, .static_dir = dir.string()});
    raw_connection c(s.port(), 4096);
    ASSERT_TRUE(c.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return s.server.connections() == 1; }));
    const auto sent_at = std::chrono::steady_clock::now();
    EXPECT_TRUE(eventually([&] { return s.server.connections() == 0; }, 5s))
        << s.server.connections() << " connections still open";
    EXPECT_LT(std::chrono::steady_clock::now() - sent_at, 4s);
    std::filesystem::remove_all(dir);
}

// ---- Throwing host hooks ------------------------------------------------------------------

void expect_error(const crier::test::http_reply& r, int status, std::string_view code) {
    EXPECT_EQ(r.status(), status) << r.body;
    EXPECT_EQ(r.head.header("content-type"), "application/json");
    EXPECT_NE(r.body.find(R"("code":")" + std::string(code) + "\""), std::string::npos) << r.body;
}

// Hooks that throw for some principals: "throw-std" throws std::runtime_error, "throw-int"
// throws 42 (not a std::exception); everyone else is served as by test_options.
struct throwing_hooks {
    std::atomic<int> errors{0};
    std::mutex mutex;
    std::vector<std::string> messages;

    crier::adapters::server_options options() {
        crier::adapters::server_options o;
        o.threads = 2;
        o.on_error = [this](std::string_view what) {
            std::lock_guard lock(mutex);
            messages.emplace_back(what);
            errors.fetch_add(1);
        };
        o.authenticate =
            [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
            const auto auth = r.header("authorization");
            if (!auth || !auth->starts_with("Bearer ")) return std::nullopt;
            const std::string user(auth->substr(7));
            if (user == "auth-std") throw std::runtime_error("session store down");
            if (user == "auth-int") throw 42;
            return crier::adapters::principal{.user_id = user, .admin = true, .publisher = true};
        };
        o.authorize = [](const crier::adapters::principal&, std::string_view channel) {
            if (channel == "boom-std") throw std::runtime_error("acl lookup failed");
            if (channel == "boom-int") throw 42;
            return true;
        };
        o.authorize_publish = [](const crier::adapters::principal& who,
                                 std::span<const std::string>) {
            if (who.user_id == "pub-std") throw std::logic_error("publish acl failed");
            if (who.user_id == "pub-int") throw 7;
            return true;
        };
        o.authorize_stats = [](const crier::adapters::principal& who) {
            if (who.user_id == "stats-std") throw std::out_of_range("stats acl failed");
            if (who.user_id == "stats-int") throw 'x';
            return true;
        };
        return o;
    }
};

TEST(http_server_hardening, throwing_hooks_answer_500_and_disturb_nobody_else) {
    throwing_hooks hooks;
    served s({.rate_limit = 0}, hooks.options());
    sse_stream live(s.port(), events_path + "?channel=horses", {"Authorization: Bearer watcher"});
    ASSERT_TRUE(live.wait_for_events(1));

    struct attempt {
        std::string method, target, user, body;
    };
    const std::string publish_body = R"({"channel":"horses","type":"horses:x","data":1})";
    const std::vector<attempt> attempts = {
        {"GET", events_path, "auth-std", ""},
        {"GET", events_path, "auth-int", ""},
        {"GET", "/api/realtime/history", "auth-int", ""},
        {"POST", "/api/realtime/publish", "auth-std", publish_body},
        {"GET", events_path + "?channel=boom-std", "u1", ""},
        {"GET", events_path + "?channel=boom-int", "u1", ""},
        {"GET", "/api/realtime/history?channel=boom-int", "u1", ""},
        {"POST", "/api/realtime/publish", "pub-std", publish_body},
        {"POST", "/api/realtime/publish", "pub-int", publish_body},
        {"GET", "/api/realtime/stats", "stats-std", ""},
        {"GET", "/api/realtime/metrics", "stats-int", ""},
    };
    int published = 0;
    for (const auto& a : attempts) {
        SCOPED_TRACE(a.method + " " + a.target + " as " + a.user);
        const auto r =
            request(s.port(), a.method, a.target,
                    {"Authorization: Bearer " + a.user, "Content-Type: application/json"}, a.body);
        expect_error(r, 500, "internal_error");
        // The host's exception text stays in the log, not in the answer.
        EXPECT_EQ(r.body.find("failed"), std::string::npos) << r.body;
        EXPECT_EQ(r.body.find("down"), std::string::npos) << r.body;
        // The live stream on another connection still gets every event.
        ASSERT_FALSE(s.hub.publish("horses", "horses:tick", std::to_string(published)).error);
        ++published;
        ASSERT_TRUE(live.wait_for_events(1u + static_cast<std::size_t>(published)));
        EXPECT_EQ(live.events().back().data, std::to_string(published - 1));
    }
    EXPECT_EQ(hooks.errors.load(), static_cast<int>(attempts.size()));  // each logged once
    {
        std::lock_guard lock(hooks.mutex);
        ASSERT_EQ(hooks.messages.size(), attempts.size());
        EXPECT_NE(hooks.messages[0].find("session store down"), std::string::npos)
            << hooks.messages[0];
        EXPECT_NE(hooks.messages[1].find("unknown exception"), std::string::npos)
            << hooks.messages[1];
    }
    // The server keeps accepting and serving.
    EXPECT_EQ(request(s.port(), "GET", "/api/realtime/health").status(), 200);
    sse_stream another(s.port(), events_path, {"Authorization: Bearer u2"});
    EXPECT_EQ(another.head().status, 200);
    EXPECT_FALSE(live.eof());
}

TEST(http_server_hardening, io_threads_survive_a_throwing_handler) {
    throwing_hooks hooks;
    served s({}, hooks.options());
    // More throwing handlers than threads: without a guard each would end its thread (and
    // std::terminate the process).
    for (int i = 0; i < 8; ++i) {
        asio::post(s.server.context(), [i] {
            if (i % 2 == 0) throw std::runtime_error("host handler failed");
            throw i;
        });
    }
    ASSERT_TRUE(eventually([&] { return hooks.errors.load() == 8; }));
    for (int i = 0; i < 8; ++i) {
        EXPECT_EQ(request(s.port(), "GET", "/api/realtime/health").status(), 200);
    }
    sse_stream live(s.port(), events_path, {bearer_u1});
    ASSERT_TRUE(live.wait_for_events(1));
    ASSERT_FALSE(s.hub.publish("global", "system:notice", "still here").error);
    ASSERT_TRUE(live.wait_for_events(2));
    EXPECT_EQ(live.events()[1].data, "still here");
}

}  // namespace
