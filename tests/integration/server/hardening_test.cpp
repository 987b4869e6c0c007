// SPDX-License-Identifier: MIT
// The embedded server under hostile clients, throwing hooks and overload, over real sockets on
// 127.0.0.1: write deadlines, exceptions from host code, exact Content-Length, principal ids
// that look like patterns, shutdown with stalled streams, and bounded history responses.
#include <crier/adapters/detail/server_state.hpp>
#include <crier/adapters/http_server.hpp>
#include <crier/core/names.hpp>
#include <crier/http/request.hpp>
#include <crier/sse/parser.hpp>

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

// ---- One serializer, exact lengths --------------------------------------------------------

TEST(http_server_hardening, capacity_503_declares_its_exact_length) {
    served s({}, {.max_connections = 1});
    raw_connection holder(s.port());  // takes the only place
    ASSERT_TRUE(eventually([&] { return s.server.connections() == 1; }));

    raw_connection refused(s.port());
    ASSERT_TRUE(refused.send("GET /api/realtime/health HTTP/1.1\r\nHost: t\r\n\r\n"));
    std::string raw;
    ASSERT_TRUE(refused.read_to_eof(raw, 3s));
    auto head = crier::test::take_head(raw);
    ASSERT_TRUE(head.has_value()) << raw;
    EXPECT_EQ(head->status, 503);
    EXPECT_EQ(head->header("retry-after"), "5");
    EXPECT_EQ(head->header("connection"), "close");
    EXPECT_EQ(head->header("content-type"), "application/json");
    EXPECT_EQ(head->header("content-length"), std::to_string(raw.size())) << raw;
    EXPECT_NE(raw.find(R"("code":"too_many_connections")"), std::string::npos) << raw;
    EXPECT_TRUE(raw.ends_with("}\n")) << raw;  // the whole body, its final newline included

    // The place comes back when the holder leaves.
    holder.close();
    ASSERT_TRUE(eventually([&] { return s.server.connections() == 0; }));
    EXPECT_EQ(request(s.port(), "GET", "/api/realtime/health").status(), 200);
}

TEST(http_server_hardening, stream_head_comes_from_the_serializer) {
    served s({}, {.cors_origin = "https://app.example"});
    sse_stream stream(s.port(), events_path, {bearer_u1});
    const auto& head = stream.head();
    EXPECT_EQ(head.raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head.raw;
    EXPECT_EQ(head.header("content-type"), "text/event-stream");
    EXPECT_EQ(head.header("cache-control"), "no-cache");
    EXPECT_EQ(head.header("connection"), "keep-alive");
    EXPECT_EQ(head.header("x-accel-buffering"), "no");
    EXPECT_EQ(head.header("access-control-allow-origin"), "https://app.example");
    EXPECT_EQ(head.header("content-length"), "");  // a stream has no length
    // Each header once: no second Cache-Control from a default.
    std::size_t cache_controls = 0;
    for (std::size_t at = 0;
         (at = crier::test::lower(head.raw).find("cache-control:", at)) != std::string::npos;
         ++at) {
        ++cache_controls;
    }
    EXPECT_EQ(cache_controls, 1u) << head.raw;
    ASSERT_TRUE(stream.wait_for_events(1));
    EXPECT_EQ(stream.events()[0].type, "connected");
}

// ---- Principal ids are data, never patterns -------------------------------------------------

TEST(user_id_rules, what_a_user_id_may_hold) {
    for (std::string_view ok : {"alice", "42", "u-1_x.y@example.com", "A~!#$%&'()+,/;<=>[]^`{|}",
                                "\"quoted\"", "back\\slash"}) {
        EXPECT_FALSE(crier::validate_user_id(ok)) << ok;
    }
    EXPECT_FALSE(crier::validate_user_id(std::string(crier::max_user_id_bytes, 'a')));
    for (std::string_view bad :
         {std::string_view(""), std::string_view("al*"), std::string_view("*"),
          std::string_view("al?"), std::string_view("a b"), std::string_view("org:42"),
          std::string_view("tab\there"), std::string_view("nl\n"), std::string_view("nul\0", 4),
          std::string_view("del\x7f"), std::string_view("caf\xc3\xa9")}) {
        EXPECT_EQ(crier::validate_user_id(bad), crier::errc::invalid_user_id) << bad;
    }
    EXPECT_EQ(crier::validate_user_id(std::string(crier::max_user_id_bytes + 1, 'a')),
              crier::errc::invalid_user_id);
    EXPECT_EQ(crier::validate_user_id(std::string(300, 'a')), crier::errc::invalid_user_id);
}

TEST(user_id_rules, hub_refuses_to_publish_to_an_invalid_user) {
    crier::hub hub;
    for (std::string_view bad : {"al*", "a b", "x:y", "", "\x01"}) {
        EXPECT_EQ(hub.publish_to_user(bad, "notification", "hi").error,
                  crier::errc::invalid_user_id)
            << bad;
        EXPECT_EQ(hub.publish_module_event("horses", "created", "{}", bad).error,
                  bad.empty() ? std::error_code() : std::error_code(crier::errc::invalid_user_id))
            << bad;
    }
    EXPECT_FALSE(hub.publish_to_user("alice", "notification", "hi").error);
}

// Ids the test's authenticate hook hands out: `Authorization: Bearer id<N>` is principal N.
const std::vector<std::string> hostile_ids = {"al*",
                                              "*",
                                              "al?",
                                              "a b",
                                              " ",
                                              "user:alice",
                                              ":",
                                              "tab\t",
                                              "nl\nx",
                                              std::string("nul\0x", 5),
                                              "\x01",
                                              "del\x7f",
                                              std::string(300, 'a'),
                                              std::string(129, 'b')};

crier::adapters::server_options id_table_options() {
    crier::adapters::server_options o;
    o.authenticate =
        [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
        const std::string auth(r.header("authorization").value_or(""));
        if (auth == "Bearer alice") return crier::adapters::principal{.user_id = "alice"};
        if (auth == "Bearer anonymous") return crier::adapters::principal{};
        if (!auth.starts_with("Bearer id")) return std::nullopt;
        const auto n = std::stoul(auth.substr(9));
        return crier::adapters::principal{
            .user_id = hostile_ids.at(n), .admin = true, .publisher = true};
    };
    return o;
}

TEST(http_server_hardening, pattern_like_user_ids_are_refused_and_read_nothing_private) {
    served s({.rate_limit = 0}, id_table_options());
    sse_stream alice(s.port(), events_path, {"Authorization: Bearer alice"});
    ASSERT_EQ(alice.head().status, 200);
    ASSERT_TRUE(alice.wait_for_events(1));

    for (std::size_t i = 0; i < hostile_ids.size(); ++i) {
        SCOPED_TRACE("principal id #" + std::to_string(i));
        const std::string auth = "Authorization: Bearer id" + std::to_string(i);
        sse_stream stream(s.port(), events_path, {auth});
        EXPECT_EQ(stream.head().status, 400) << stream.raw();
        EXPECT_NE(stream.body().find(R"("code":"invalid_user_id")"), std::string::npos)
            << stream.body();
        for (const std::string route :
             {"/api/realtime/history", "/api/realtime/stats", "/api/realtime/metrics"}) {
            expect_error(request(s.port(), "GET", route, {auth}), 400, "invalid_user_id");
        }
        expect_error(request(s.port(), "POST", "/api/realtime/publish",
                             {auth, "Content-Type: application/json"},
                             R"({"channel":"horses","type":"horses:x","data":1})"),
                     400, "invalid_user_id");
    }
    EXPECT_EQ(s.hub.stats().subscriptions, 1u);  // alice's only

    // alice's private events reach alice, and no one else holds a stream that could see them.
    ASSERT_FALSE(s.hub.publish_to_user("alice", "notification", "for alice").error);
    ASSERT_TRUE(alice.wait_for_events(2));
    EXPECT_EQ(alice.events()[1].data, "for alice");
    const auto history =
        request(s.port(), "GET", "/api/realtime/history", {"Authorization: Bearer id0"});
    EXPECT_EQ(history.body.find("for alice"), std::string::npos) << history.body;
}

TEST(http_server_hardening, anonymous_principal_still_streams_global_only) {
    served s({.rate_limit = 0}, id_table_options());
    sse_stream anonymous(s.port(), events_path, {"Authorization: Bearer anonymous"});
    ASSERT_EQ(anonymous.head().status, 200);
    ASSERT_TRUE(anonymous.wait_for_events(1));
    EXPECT_NE(anonymous.events()[0].data.find(R"("channels":["global"])"), std::string::npos)
        << anonymous.events()[0].data;
    ASSERT_FALSE(s.hub.publish_to_user("alice", "notification", "private").error);
    ASSERT_FALSE(s.hub.publish("global", "system:notice", "public").error);
    ASSERT_TRUE(anonymous.wait_for_events(2));
    EXPECT_EQ(anonymous.events()[1].data, "public");
    EXPECT_EQ(request(s.port(), "GET", "/api/realtime/history", {"Authorization: Bearer anonymous"})
                  .status(),
              200);
}

TEST(http_server_hardening, publish_route_refuses_an_invalid_user_id_field) {
    served s({.rate_limit = 0});
    for (const std::string bad : {"al*", "a b", "x:y"}) {
        expect_error(request(s.port(), "POST", "/api/realtime/publish",
                             {"Authorization: Bearer admin", "Content-Type: application/json"},
                             R"({"module":"horses","action":"created","data":1,"user_id":")" + bad +
                                 R"("})"),
                     400, "invalid_user_id");
    }
}

// ---- Races and lifetimes --------------------------------------------------------------------

std::string channels_query(std::size_t n) {
    std::string q = events_path + "?";
    for (std::size_t i = 0; i < n; ++i) q += (i ? "&" : "") + ("channel=c" + std::to_string(i));
    return q;
}

TEST(http_server_hardening, channel_limit_counts_the_automatic_channels) {
    served s;  // max_channels_per_stream = 64: global + user:u1 + 62
    sse_stream fits(s.port(), channels_query(62), {bearer_u1});
    ASSERT_EQ(fits.head().status, 200) << fits.body();
    ASSERT_TRUE(fits.wait_for_events(1));
    EXPECT_NE(fits.events()[0].data.find(R"("c61"])"), std::string::npos);
    for (const std::size_t n : {63u, 64u, 65u, 500u}) {
        SCOPED_TRACE(n);
        sse_stream over(s.port(), channels_query(n), {"Authorization: Bearer u2"});
        EXPECT_EQ(over.head().status, 400);
        EXPECT_NE(over.body().find(R"("code":"too_many_channels")"), std::string::npos)
            << over.body();
        EXPECT_NE(over.body().find(R"("limit":64)"), std::string::npos) << over.body();
        EXPECT_NE(over.body().find("at most 64"), std::string::npos) << over.body();
    }
    // Duplicates and the automatic channels named again do not count twice.
    sse_stream repeats(s.port(), channels_query(62) + "&channel=c0&channel=global&channel=user:u3",
                       {"Authorization: Bearer u3"});
    EXPECT_EQ(repeats.head().status, 200) << repeats.body();
    // An anonymous stream holds `global` only, so 63 fit.
    crier::adapters::server_options anonymous;
    anonymous.authenticate = [](const crier::http::request&) {
        return std::optional<crier::adapters::principal>(crier::adapters::principal{});
    };
    served open_server({}, anonymous);
    sse_stream anon(open_server.port(), channels_query(63));
    EXPECT_EQ(anon.head().status, 200) << anon.body();
}

TEST(http_server_hardening, start_stop_while_the_ticker_runs) {
    // A 5 ms tick reads stopped_ on the I/O threads while stop() writes it (TSan's target).
    crier::hub hub;
    for (int i = 0; i < 20; ++i) {
        crier::adapters::http_server server(
            hub, crier::test::test_options({.heartbeat = 20ms, .idle_timeout = 20ms}));
        server.start();
        sse_stream stream(server.port(), events_path, {bearer_u1});
        ASSERT_TRUE(stream.wait_for_events(1));
        server.stop();
    }
    EXPECT_EQ(hub.stats().subscriptions, 0u);
}

TEST(http_server_hardening, stop_that_gives_up_then_destruction_while_publishing) {
    // One I/O thread, held in a slow authenticate hook while stop() runs: the stalled streams'
    // closes cannot run, so stop() gives up on them with their subscriptions live, and
    // publishes from another thread keep firing their on_ready through the destruction.
    crier::hub hub({.overflow = crier::overflow_policy::drop_oldest,
                    .rate_limit = 0,
                    .max_connections_per_user = 100});
    std::atomic<bool> block{false};
    crier::adapters::server_options o;
    o.threads = 1;
    o.shutdown_deadline = 10ms;
    o.write_timeout = 60s;
    o.authenticate =
        [&](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
        if (r.header("authorization") == "Bearer slow") {
            block.store(true);
            std::this_thread::sleep_for(800ms);
        }
        return crier::adapters::principal{.user_id = "u"};
    };
    auto server = std::make_unique<crier::adapters::http_server>(hub, crier::test::test_options(o));
    server->start();
    const auto port = server->port();
    std::vector<std::unique_ptr<sse_stream>> stalled;
    for (int i = 0; i < 20; ++i) {
        stalled.push_back(
            std::make_unique<sse_stream>(port, events_path, std::vector<std::string>{}, 4096));
        ASSERT_TRUE(stalled.back()->wait_for_events(1));
    }
    raw_connection slow(port);
    ASSERT_TRUE(
        slow.send("GET /api/realtime/history HTTP/1.1\r\nHost: t\r\n"
                  "Authorization: Bearer slow\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return block.load(); }));
    std::atomic<bool> publishing{true};
    std::atomic<int> published{0};
    std::thread publisher([&] {
        const std::string payload(8 * 1024, 'p');
        while (publishing.load()) {
            if (!hub.publish("global", "system:load", payload).error) published.fetch_add(1);
        }
    });
    server->stop();
    server.reset();  // the io_context goes while on_ready keeps firing
    std::this_thread::sleep_for(100ms);
    publishing.store(false);
    publisher.join();
    EXPECT_GT(published.load(), 0);
    EXPECT_EQ(hub.stats().subscriptions, 0u);  // every stream released with the server
}

// ---- History amplification ------------------------------------------------------------------

std::string history_query(std::size_t channels) {
    std::string q = "/api/realtime/history?limit=1000";
    for (std::size_t i = 0; i < channels; ++i) q += "&channel=h" + std::to_string(i);
    return q;
}

// The ids of a history body's events, in order ("id" fields inside the events array).
std::vector<std::string> history_ids(const std::string& body) {
    std::vector<std::string> ids;
    const auto end = body.rfind(R"(],"complete")");
    for (std::size_t at = 0; (at = body.find(R"({"id":")", at)) != std::string::npos && at < end;) {
        at += 7;
        ids.push_back(body.substr(at, body.find('"', at) - at));
    }
    return ids;
}

TEST(http_server_hardening, history_channel_count_is_bounded) {
    served s;
    EXPECT_EQ(request(s.port(), "GET", history_query(64), {bearer_u1}).status(), 200);
    for (const std::size_t n : {65u, 500u}) {
        const auto r = request(s.port(), "GET", history_query(n), {bearer_u1});
        expect_error(r, 400, "too_many_channels");
        EXPECT_NE(r.body.find(R"("limit":64)"), std::string::npos) << r.body;
    }
}

TEST(http_server_hardening, history_body_is_bounded_by_default) {
    // 30 events of 100 KB of quotes, each escaped to 200 KB: about 6 MB unbounded.
    served s({.history_bytes = 64u << 20, .rate_limit = 0, .max_payload_bytes = 1u << 20});
    std::vector<std::string> ids;
    const std::string quotes(100 * 1024, '"');
    for (int i = 0; i < 30; ++i) {
        ids.push_back(s.hub.publish("global", "bulk:item", quotes).id_text());
        ASSERT_FALSE(ids.back().empty());
    }
    const auto r = request(s.port(), "GET", "/api/realtime/history?limit=1000", {bearer_u1});
    ASSERT_EQ(r.status(), 200);
    EXPECT_LE(r.body.size(), (1u << 20) + 210 * 1024);  // the cap, plus at most one event
    EXPECT_NE(r.body.find(R"("more":true)"), std::string::npos);
    const auto got = history_ids(r.body);
    ASSERT_FALSE(got.empty());
    ASSERT_LT(got.size(), ids.size());
    EXPECT_EQ(got,
              std::vector<std::string>(ids.begin(), ids.begin() + static_cast<long>(got.size())));
}

TEST(http_server_hardening, history_pages_through_everything_under_a_small_cap) {
    served s({.history_bytes = 64u << 20, .rate_limit = 0},
             {.max_history_response_bytes = 16 * 1024});
    std::vector<std::string> ids;
    for (int i = 0; i < 40; ++i) {
        ids.push_back(
            s.hub.publish("global", "bulk:item", std::to_string(i) + std::string(3000, 'x'))
                .id_text());
    }
    // One event larger than the whole cap still comes alone, so paging always advances.
    ids.push_back(s.hub.publish("global", "bulk:item", std::string(40 * 1024, 'y')).id_text());
    std::vector<std::string> all;
    std::string since;
    for (int page = 0; page < 100; ++page) {
        const auto r = request(s.port(), "GET", "/api/realtime/history?limit=1000&since=" + since,
                               {bearer_u1});
        ASSERT_EQ(r.status(), 200);
        const auto got = history_ids(r.body);
        ASSERT_FALSE(got.empty()) << r.body.substr(0, 200);
        EXPECT_TRUE(got.size() == 1 || r.body.size() <= 16 * 1024) << r.body.size();
        all.insert(all.end(), got.begin(), got.end());
        since = got.back();
        if (r.body.find(R"("more":false)") != std::string::npos) break;
        EXPECT_NE(r.body.find(R"("more":true)"), std::string::npos);
    }
    EXPECT_EQ(all, ids);
}

}  // namespace

namespace {

// ---- The `connected` id -------------------------------------------------------------------

// A fresh stream's `connected` event carried the hub's position read while routing, before the
// subscription existed: an event published in between was neither delivered nor replayed, and a
// client that dropped right after `connected` resumed past it without a resync (found by the
// chaos soak, about once a run). Routing and subscribing are driven here one step at a time,
// with a publish in the window that sockets only hit by chance.
TEST(http_server_hardening, connected_id_is_where_the_subscription_starts) {
    crier::hub hub({.rate_limit = 0});
    crier::adapters::detail::server_state state(hub, crier::test::test_options());
    crier::http::request_parser parser;
    crier::http::request get;
    ASSERT_EQ(parser.parse("GET /api/realtime/events HTTP/1.1\r\nHost: t\r\n"
                           "Authorization: Bearer u1\r\n\r\n",
                           get),
              crier::http::parse_result::complete);
    auto routed = state.route(get);
    ASSERT_TRUE(routed.stream);

    const auto between = hub.publish("global", "tick", "published while routing");
    ASSERT_FALSE(between.error);

    auto opening = state.streams().open(std::move(*routed.stream), nullptr);
    ASSERT_FALSE(opening.error) << opening.error.message();
    auto& sub = opening.sub;
    EXPECT_EQ(sub.start_id(), between.id);
    std::vector<crier::test::received> events;  // copies: a parsed event's views die with it
    crier::sse::parser sse;
    ASSERT_FALSE(sse.feed(opening.preamble, [&](const crier::sse::event& e) {
        events.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
    }));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "connected");
    // The client resumes after the event it was never sent: nothing is owed to it.
    EXPECT_EQ(events[0].id, between.id_text());
    EXPECT_NE(events[0].data.find("\"id\":\"" + between.id_text() + "\""), std::string::npos)
        << events[0].data;

    // And the next event is the first it receives.
    const auto next = hub.publish("global", "tick", "after");
    std::vector<crier::sse::frame> frames;
    ASSERT_EQ(sub.drain(frames), 1u);
    EXPECT_NE(frames[0]->find("id: " + next.id_text()), std::string::npos);
}

}  // namespace
