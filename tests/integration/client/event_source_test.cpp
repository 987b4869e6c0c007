// SPDX-License-Identifier: MIT
// crier::client::event_source against scripted HTTP servers on 127.0.0.1: every reconnection
// rule, framing, dedup, handler routing and the close() guarantee.
#include <crier/client/event_source.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "test_server.hpp"

namespace {

namespace client = crier::client;
using namespace crier_test;

struct got {
    std::string type;
    std::string data;
    std::string id;
    friend bool operator==(const got&, const got&) = default;
    friend std::ostream& operator<<(std::ostream& os, const got& g) {
        return os << "{" << g.type << " " << testing::PrintToString(g.data) << " id=" << g.id
                  << "}";
    }
};

got to_got(const client::event& e) {
    return {std::string(e.type), std::string(e.data), std::string(e.id)};
}

/// One state change as text, e.g. `connecting [the server ended the event stream] in 10ms`.
std::string describe(const client::state_change& s) {
    std::string out;
    switch (s.state) {
        case client::ready_state::connecting:
            out = "connecting";
            break;
        case client::ready_state::open:
            out = "open";
            break;
        case client::ready_state::closed:
            out = "closed";
            break;
    }
    if (s.error) out += " [" + s.error.message() + "]";
    if (s.http_status != 0) out += " " + std::to_string(s.http_status);
    if (s.state == client::ready_state::connecting && s.error) {
        out += " in " + std::to_string(s.retry_in.count()) + "ms";
    }
    return out;
}

std::vector<std::string> describe(const std::vector<client::state_change>& states) {
    std::vector<std::string> out;
    for (const auto& s : states) out.push_back(describe(s));
    return out;
}

/// Records what an event_source delivers.
struct observed {
    recorder<got> events;  // on("*")
    recorder<client::state_change> states;
    recorder<got> resyncs;

    void attach(client::event_source& es) {
        es.on("*", [this](const client::event& e) { events.add(to_got(e)); });
        es.on_state([this](const client::state_change& s) { states.add(s); });
        es.on_resync([this](const client::event& e) { resyncs.add(to_got(e)); });
    }

    bool wait_state_count(std::size_t n) { return states.wait_count(n); }
};

/// Small, exact delays: 10 ms reconnection delay, jitter fixed at 1 (delay = ceiling).
client::event_source_options fast_options() {
    return {.initial_retry = 10ms, .jitter = [] { return 1.0; }};
}

bool has_closed(const std::vector<client::state_change>& v) {
    return !v.empty() && v.back().state == client::ready_state::closed;
}

/// The reconnection delays the client announced after each failed connection, in order.
std::vector<long long> failure_delays(const std::vector<client::state_change>& states) {
    std::vector<long long> delays;
    for (const auto& s : states) {
        if (s.state == client::ready_state::connecting && s.error)
            delays.push_back(s.retry_in.count());
    }
    return delays;
}

std::chrono::milliseconds gap(const request& a, const request& b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b.at - a.at);
}

// --- requests ---------------------------------------------------------------------------------

TEST(event_source, delivers_events_and_sends_the_right_request) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head() + frame("e-0", "connected", "{}") +
                         frame("e-1", "horses:created", R"({"id":1})") +
                         frame("e-2", "", "plain message") +
                         frame("e-3", "tasks:done", "line one\nline two"));
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.headers = {{"Authorization", "Bearer t0k3n"}, {"X-Trace", "abc 123"}};
    client::event_source es(runner.ioc, server.url("/events?channel=stable%3A1&x=1"), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.events.wait_count(4));
    EXPECT_EQ(obs.events.values(), (std::vector<got>{{"connected", "{}", "e-0"},
                                                     {"horses:created", R"({"id":1})", "e-1"},
                                                     {"message", "plain message", "e-2"},
                                                     {"tasks:done", "line one\nline two", "e-3"}}));
    EXPECT_EQ(describe(obs.states.values()), (std::vector<std::string>{"connecting", "open 200"}));
    EXPECT_EQ(es.state(), client::ready_state::open);

    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    const request& r = requests[0];
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.target, "/events?channel=stable%3A1&x=1");
    EXPECT_EQ(r.header("Host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(r.header("Accept"), "text/event-stream");
    EXPECT_EQ(r.header("Cache-Control"), "no-cache");
    EXPECT_EQ(r.header("Authorization"), "Bearer t0k3n");
    EXPECT_EQ(r.header("X-Trace"), "abc 123");
    EXPECT_TRUE(r.header("User-Agent").value_or("").starts_with("crier/"));
    EXPECT_EQ(r.header("Last-Event-ID"), std::nullopt);
}

TEST(event_source, custom_headers_replace_defaults_but_not_host) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head());
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.headers = {{"Accept", "text/event-stream, */*"},
                       {"Host", "evil.example"},
                       {"Last-Event-ID", "forged"}};
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();
    ASSERT_TRUE(server.wait_requests(1));
    const auto r = server.requests()[0];
    int accepts = 0;
    for (const auto& [name, value] : r.headers) accepts += iequals(name, "accept") ? 1 : 0;
    EXPECT_EQ(accepts, 1);
    EXPECT_EQ(r.header("Accept"), "text/event-stream, */*");
    EXPECT_EQ(r.header("Host"), "127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(r.header("Last-Event-ID"), std::nullopt);
}

// --- reconnection -----------------------------------------------------------------------------

TEST(event_source, sends_last_event_id_when_reconnecting) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        if (c.index() == 0) {
            co_await c.write(sse_head() + frame("3f9a1c-1041", "a:b", "1") +
                             frame("3f9a1c-1042", "a:b", "2"));
            co_return;  // the server ends the stream
        }
        co_await c.write(sse_head() + frame("3f9a1c-1043", "a:b", "3"));
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, server.url(), fast_options());
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.events.wait_count(3));
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].header("Last-Event-ID"), std::nullopt);
    EXPECT_EQ(requests[1].header("Last-Event-ID"), "3f9a1c-1042");
    EXPECT_EQ(obs.events.values()[2], (got{"a:b", "3", "3f9a1c-1043"}));
    ASSERT_TRUE(obs.states.wait_count(4));
    EXPECT_EQ(describe(obs.states.values()),
              (std::vector<std::string>{"connecting", "open 200",
                                        "connecting [the server ended the event stream] in 10ms",
                                        "open 200"}));
}

TEST(event_source, initial_last_event_id_from_options) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head());
        co_await c.wait_closed();
    });
    client_runner runner;
    auto options = fast_options();
    options.last_event_id = "7-99";
    client::event_source es(runner.ioc, server.url(), options);
    es.start();
    ASSERT_TRUE(server.wait_requests(1));
    EXPECT_EQ(server.requests()[0].header("Last-Event-ID"), "7-99");
}

TEST(event_source, honours_the_servers_retry) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        if (c.index() == 0) {
            co_await c.write(sse_head() + "retry: 150\n\n" + frame("1", "a:b", "x"));
            co_return;
        }
        co_await c.write(sse_head());
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.initial_retry = 10s;  // were retry: ignored, the second request would not come in time
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(server.wait_requests(2));
    const auto requests = server.requests();
    EXPECT_GE(gap(requests[0], requests[1]), 150ms);
    EXPECT_LT(gap(requests[0], requests[1]), 3s);
    ASSERT_TRUE(obs.states.wait_count(3));
    EXPECT_EQ(describe(obs.states.values()[2]),
              "connecting [the server ended the event stream] in 150ms");
}

// A server that accepts and closes at once: every connection is a failure.
asio::awaitable<void> close_at_once(connection& c) {
    co_await c.write(sse_head());
}

TEST(event_source, backoff_doubles_up_to_the_cap) {
    test_server server(close_at_once);
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.initial_retry = 20ms;
    options.max_retry = 100ms;
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(server.wait_requests(6));
    es.close();
    std::vector<long long> delays = failure_delays(obs.states.values());
    ASSERT_GE(delays.size(), 5u);
    delays.resize(5);
    EXPECT_EQ(delays, (std::vector<long long>{20, 40, 80, 100, 100}));
    // The waits really happen: each gap between requests is at least its delay.
    const auto requests = server.requests();
    const std::chrono::milliseconds expected[] = {20ms, 40ms, 80ms, 100ms, 100ms};
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_GE(gap(requests[i], requests[i + 1]), expected[i]) << i;
    }
}

TEST(event_source, backoff_uses_full_jitter) {
    test_server server(close_at_once);
    std::vector<double> jitters = {0.5, 0.0, 0.25, 1.0};
    std::size_t calls = 0;  // the jitter source runs on the client's strand only
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.initial_retry = 40ms;
    options.jitter = [&] { return jitters[calls++ % jitters.size()]; };
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(server.wait_requests(5));
    es.close();
    std::vector<long long> delays = failure_delays(obs.states.values());
    ASSERT_GE(delays.size(), 4u);
    delays.resize(4);
    // ceilings 40, 80, 160, 320 times the jitter
    EXPECT_EQ(delays, (std::vector<long long>{20, 0, 40, 320}));
}

TEST(event_source, backoff_resets_after_a_connection_that_delivered_an_event) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        if (c.index() == 2) {
            co_await c.write(sse_head() + frame("1", "a:b", "news"));
        } else if (c.index() < 4) {
            co_await c.write(sse_head());
        } else {
            co_await c.write(sse_head());
            co_await c.wait_closed();
        }
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.initial_retry = 20ms;
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(server.wait_requests(5));
    ASSERT_TRUE(obs.states.wait([](const auto& v) { return failure_delays(v).size() >= 4; }));
    EXPECT_EQ(failure_delays(obs.states.values()), (std::vector<long long>{20, 40, 20, 40}));
}

TEST(event_source, a_connected_event_alone_does_not_reset_the_backoff) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        if (c.index() < 3) {
            co_await c.write(sse_head() + frame("9-1", "connected", "{}"));
        } else {
            co_await c.write(sse_head());
            co_await c.wait_closed();
        }
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.initial_retry = 20ms;
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.states.wait([](const auto& v) { return failure_delays(v).size() >= 3; }));
    EXPECT_EQ(failure_delays(obs.states.values()), (std::vector<long long>{20, 40, 80}));
}

TEST(event_source, backoff_resets_after_a_connection_that_stayed_open) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head());
        if (c.index() == 2) co_await c.sleep(350ms);  // healthy: open longer than healthy_after
        if (c.index() >= 4) co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.initial_retry = 20ms;
    options.healthy_after = 250ms;  // far above the life of a connection closed at once
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.states.wait([](const auto& v) { return failure_delays(v).size() >= 4; }));
    EXPECT_EQ(failure_delays(obs.states.values()), (std::vector<long long>{20, 40, 20, 40}));
}

// --- stopping for good --------------------------------------------------------------------------

struct stop_case {
    const char* name;
    std::string response;
    crier::errc error;
    int status;
    friend void PrintTo(const stop_case& c, std::ostream* os) { *os << c.name; }
};

class event_source_stops : public testing::TestWithParam<stop_case> {};

TEST_P(event_source_stops, and_never_reconnects) {
    const stop_case& param = GetParam();
    test_server server([&param](connection& c) -> asio::awaitable<void> {
        co_await c.write(param.response);
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, server.url(), fast_options());
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.states.wait(has_closed));
    const auto states = obs.states.values();
    ASSERT_EQ(states.size(), 2u) << testing::PrintToString(describe(states));
    EXPECT_EQ(states[1].error, param.error);
    EXPECT_EQ(states[1].http_status, param.status);
    EXPECT_EQ(es.state(), client::ready_state::closed);
    // No further attempt, although the reconnection delay is 10 ms.
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(server.request_count(), 1u);
    EXPECT_EQ(obs.states.size(), 2u);
    EXPECT_EQ(obs.events.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    event_source, event_source_stops,
    testing::Values(
        stop_case{"no_content", "HTTP/1.1 204 No Content\r\n\r\n", crier::errc::unexpected_status,
                  204},
        stop_case{"not_found", "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
                  crier::errc::unexpected_status, 404},
        stop_case{"server_error", "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n",
                  crier::errc::unexpected_status, 503},
        stop_case{"wrong_content_type",
                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\ndata: x\n\n",
                  crier::errc::wrong_content_type, 200},
        stop_case{"no_content_type", "HTTP/1.1 200 OK\r\n\r\ndata: x\n\n",
                  crier::errc::wrong_content_type, 200},
        stop_case{"redirect_without_location", "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n",
                  crier::errc::unexpected_status, 302}),
    [](const testing::TestParamInfo<stop_case>& p) { return std::string(p.param.name); });

TEST(event_source, invalid_configuration_is_reported_at_start_never_inside_it) {
    struct bad_case {
        std::string url;
        client::event_source_options options;
        crier::errc error;
    };
    std::vector<bad_case> cases;
    cases.push_back({"ftp://127.0.0.1/x", {}, crier::errc::invalid_url});
    cases.push_back({"http://user:pw@127.0.0.1/x", {}, crier::errc::invalid_url});
    cases.push_back({"http://127.0.0.1:1/x",
                     {.headers = {{"X-Bad", "a\r\nInjected: 1"}}},
                     crier::errc::invalid_field});
    cases.push_back(
        {"http://127.0.0.1:1/x", {.headers = {{"Bad Name", "v"}}}, crier::errc::invalid_field});
    cases.push_back(
        {"http://127.0.0.1:1/x", {.last_event_id = "has space"}, crier::errc::invalid_event_id});
#if !defined(CRIER_ENABLE_SSL)
    cases.push_back({"https://127.0.0.1:1/x", {}, crier::errc::tls_unavailable});
#endif
    for (auto& c : cases) {
        asio::io_context ioc;  // not running: start() must not call a handler itself
        observed obs;
        client::event_source es(ioc, c.url, c.options);
        obs.attach(es);
        es.start();
        EXPECT_EQ(obs.states.size(), 0u);
        ioc.run_for(1s);
        const auto states = obs.states.values();
        ASSERT_EQ(states.size(), 1u) << c.url;
        EXPECT_EQ(states[0].state, client::ready_state::closed) << c.url;
        EXPECT_EQ(states[0].error, c.error) << c.url << " " << states[0].error.message();
    }
}

// --- redirects ----------------------------------------------------------------------------------

TEST(event_source, follows_every_redirect_status_and_reconnects_to_the_original_url) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        const std::string& t = c.req().target;
        const std::string origin = "http://" + c.req().header("Host").value_or("");
        if (t == "/a")
            co_await c.write("HTTP/1.1 301 Moved\r\nLocation: /b?x=1\r\nContent-Length: 0\r\n\r\n");
        if (t == "/b?x=1") co_await c.write("HTTP/1.1 302 Found\r\nLocation: c/d\r\n\r\n");
        if (t == "/c/d") co_await c.write("HTTP/1.1 303 See Other\r\nLocation: ../e\r\n\r\n");
        if (t == "/e")
            co_await c.write("HTTP/1.1 307 Temporary\r\nLocation: " + origin + "/f\r\n\r\n");
        if (t == "/f")
            co_await c.write("HTTP/1.1 308 Permanent\r\nLocation: //" +
                             c.req().header("Host").value_or("") + "/final\r\n\r\n");
        if (t == "/final") {
            if (c.index() < 6) {
                co_await c.write(sse_head() + frame("r-1", "a:b", "redirected"));
                co_return;  // end the stream: the client starts over from /a
            }
            co_await c.write(sse_head() + frame("r-2", "a:b", "again"));
            co_await c.wait_closed();
        }
    });
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, server.url("/a"), fast_options());
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.events.wait_count(2));
    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 12u);
    const char* expected[] = {"/a", "/b?x=1", "/c/d", "/e", "/f", "/final"};
    for (std::size_t i = 0; i < 12; ++i) EXPECT_EQ(requests[i].target, expected[i % 6]) << i;
    EXPECT_EQ(requests[6].header("Last-Event-ID"), "r-1");
    EXPECT_EQ(obs.events.values(),
              (std::vector<got>{{"a:b", "redirected", "r-1"}, {"a:b", "again", "r-2"}}));
    EXPECT_EQ(describe(obs.states.values()),
              (std::vector<std::string>{"connecting", "open 200",
                                        "connecting [the server ended the event stream] in 10ms",
                                        "open 200"}));
}

TEST(event_source, enforces_the_redirect_limit) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write("HTTP/1.1 302 Found\r\nLocation: /loop" + std::to_string(c.index()) +
                         "\r\nContent-Length: 0\r\n\r\n");
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.max_redirects = 3;
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.states.wait(has_closed));
    const auto states = obs.states.values();
    EXPECT_EQ(describe(states.back()), "closed [too many redirects] 302");
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(server.request_count(), 4u);  // the request and 3 redirects
}

TEST(event_source, drops_credentials_on_a_cross_origin_redirect) {
    test_server target([](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head() + frame("1", "a:b", "there"));
        co_await c.wait_closed();
    });
    const std::string target_url = target.url("/elsewhere");
    test_server origin([&target_url](connection& c) -> asio::awaitable<void> {
        co_await c.write("HTTP/1.1 307 Temporary\r\nLocation: " + target_url + "\r\n\r\n");
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.headers = {{"Authorization", "Bearer secret"}, {"Cookie", "s=1"}, {"X-Keep", "1"}};
    client::event_source es(runner.ioc, origin.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.events.wait_count(1));
    EXPECT_EQ(origin.requests()[0].header("Authorization"), "Bearer secret");
    const auto r = target.requests()[0];
    EXPECT_EQ(r.target, "/elsewhere");
    EXPECT_EQ(r.header("Authorization"), std::nullopt);
    EXPECT_EQ(r.header("Cookie"), std::nullopt);
    EXPECT_EQ(r.header("X-Keep"), "1");
}

// --- framing ------------------------------------------------------------------------------------

std::string chunked(std::string_view body, std::size_t chunk_size) {
    std::string out;
    for (std::size_t i = 0; i < body.size(); i += chunk_size) {
        const auto piece = body.substr(i, chunk_size);
        char size[32];
        std::snprintf(size, sizeof size, "%zX", piece.size());
        out += size;
        if (i == 0) out += ";ext=\"v\"";
        out += "\r\n";
        out += piece;
        out += "\r\n";
    }
    return out + "0\r\nX-Trailer: t\r\n\r\n";
}

TEST(event_source, chunked_body_written_byte_by_byte) {
    const std::string body = frame("c-1", "horses:created", R"({"id":1})") + ": comment\r\n" +
                             "id: c-2\r\nevent: horses:updated\r\ndata: a\r\ndata: b\r\n\r\n" +
                             frame("c-3", "", "\xE2\x9C\x93 done");
    test_server server([&body](connection& c) -> asio::awaitable<void> {
        if (c.index() == 0) {
            co_await c.write_bytewise(sse_head("Transfer-Encoding: chunked\r\n") +
                                      chunked(body, 7));
            co_await c.wait_closed();  // the last chunk ended the body, not the connection
            co_return;
        }
        co_await c.write(sse_head());
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, server.url(), fast_options());
    obs.attach(es);
    es.start();

    ASSERT_TRUE(server.wait_requests(2));
    EXPECT_EQ(obs.events.values(), (std::vector<got>{{"horses:created", R"({"id":1})", "c-1"},
                                                     {"horses:updated", "a\nb", "c-2"},
                                                     {"message", "\xE2\x9C\x93 done", "c-3"}}));
    EXPECT_EQ(server.requests()[1].header("Last-Event-ID"), "c-3");
    ASSERT_TRUE(obs.states.wait_count(3));
    EXPECT_EQ(describe(obs.states.values()[2]),
              "connecting [the server ended the event stream] in 10ms");
}

TEST(event_source, content_length_body_ends_the_stream) {
    const std::string body = frame("l-1", "a:b", "one") + frame("l-2", "a:b", "two");
    test_server server([&body](connection& c) -> asio::awaitable<void> {
        if (c.index() == 0) {
            co_await c.write(sse_head("Content-Length: " + std::to_string(body.size()) + "\r\n") +
                             body + "data: beyond the body\n\n");
            co_await c.wait_closed();  // the connection stays open: the length ends the body
            co_return;
        }
        co_await c.write(sse_head());
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, server.url(), fast_options());
    obs.attach(es);
    es.start();

    ASSERT_TRUE(server.wait_requests(2));
    EXPECT_EQ(obs.events.values(),
              (std::vector<got>{{"a:b", "one", "l-1"}, {"a:b", "two", "l-2"}}));
    EXPECT_EQ(server.requests()[1].header("Last-Event-ID"), "l-2");
}

TEST(event_source, malformed_responses_are_network_errors) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        if (c.index() == 0) co_await c.write("NOT HTTP AT ALL\r\n\r\n");
        if (c.index() == 1) {
            co_await c.write(sse_head("Transfer-Encoding: chunked\r\n") + "zz\r\n");
            co_await c.wait_closed();
        }
        if (c.index() == 2) {
            co_await c.write("HTTP/1.1 200 OK\r\nX-Huge: " + std::string(20000, 'h') + "\r\n\r\n");
            co_await c.wait_closed();
        }
        if (c.index() >= 3) {
            co_await c.write(sse_head() + frame("m-1", "a:b", "fine"));
            co_await c.wait_closed();
        }
    });
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, server.url(), fast_options());
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.events.wait_count(1));
    std::vector<std::error_code> errors;
    for (const auto& s : obs.states.values()) {
        if (s.error) errors.push_back(s.error);
    }
    EXPECT_EQ(errors, (std::vector<std::error_code>{crier::errc::protocol_error,
                                                    crier::errc::protocol_error,
                                                    crier::errc::protocol_error}));
}

TEST(event_source, an_oversized_event_is_a_network_error) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        if (c.index() == 0) {
            co_await c.write(sse_head() + frame("b-1", "a:b", "small") +
                             frame("b-2", "a:b", std::string(200, 'x')));
        } else {
            co_await c.write(sse_head() + frame("b-3", "a:b", "after"));
        }
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.max_event_bytes = 100;
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.events.wait_count(2));
    EXPECT_EQ(obs.events.values(),
              (std::vector<got>{{"a:b", "small", "b-1"}, {"a:b", "after", "b-3"}}));
    EXPECT_EQ(obs.states.values()[2].error, crier::errc::event_too_large);
    EXPECT_EQ(server.requests()[1].header("Last-Event-ID"), "b-1");
}

// --- timeouts and connection errors
// ---------------------------------------------------------------

TEST(event_source, a_stalled_connection_times_out_but_heartbeats_keep_it_alive) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head() + frame("t-1", "a:b", "x"));
        if (c.index() == 0) {
            for (int i = 0; i < 8; ++i) {  // 400 ms of heartbeats, every 50 ms
                co_await c.sleep(50ms);
                co_await c.write(":\n");
            }
        }
        co_await c.wait_closed();  // then silence
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.read_timeout = 400ms;  // 8 times the heartbeat period: robust on a busy machine
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();

    ASSERT_TRUE(server.wait_requests(2));
    const auto requests = server.requests();
    EXPECT_GE(gap(requests[0], requests[1]), 400ms + 400ms);
    EXPECT_LT(gap(requests[0], requests[1]), 3s);
    ASSERT_TRUE(obs.states.wait_count(3));
    EXPECT_EQ(describe(obs.states.values()[2]), "connecting [timed out] in 10ms");
}

TEST(event_source, retries_when_nothing_listens) {
    std::uint16_t port = 0;
    {
        asio::io_context ioc;
        asio::ip::tcp::acceptor probe(ioc, {asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }  // closed: connections to it are refused
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, "http://127.0.0.1:" + std::to_string(port) + "/x",
                            fast_options());
    obs.attach(es);
    es.start();
    ASSERT_TRUE(obs.states.wait_count(3));
    const auto states = obs.states.values();
    EXPECT_EQ(states[1].state, client::ready_state::connecting);
    EXPECT_EQ(states[1].error, asio::error::connection_refused);
    EXPECT_EQ(states[2].retry_in, 20ms);  // and backs off
}

TEST(event_source, connects_by_host_name_and_ipv6_literal) {
    auto script = [](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head() + frame("h-1", "a:b", c.req().header("Host").value_or("")));
        co_await c.wait_closed();
    };
    {
        test_server server(script);
        client_runner runner;
        observed obs;
        client::event_source es(
            runner.ioc, "http://localhost:" + std::to_string(server.port()) + "/", fast_options());
        obs.attach(es);
        es.start();
        ASSERT_TRUE(obs.events.wait_count(1));
        EXPECT_EQ(obs.events.values()[0].data, "localhost:" + std::to_string(server.port()));
    }
    std::unique_ptr<test_server> v6;
    try {
        v6 = std::make_unique<test_server>(script, "::1");
    } catch (const std::exception&) {
        GTEST_SKIP() << "no IPv6 loopback here";
    }
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, v6->url("/"), fast_options());
    obs.attach(es);
    es.start();
    ASSERT_TRUE(obs.events.wait_count(1));
    EXPECT_EQ(obs.events.values()[0].data, "[::1]:" + std::to_string(v6->port()));
}

// --- delivery -----------------------------------------------------------------------------------

TEST(event_source, drops_duplicate_ids) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        if (c.index() == 0) {
            co_await c.write(sse_head() + frame("1", "a:b", "one") + frame("2", "a:b", "two") +
                             frame("3", "a:b", "three"));
            co_return;
        }
        // A replay overlapping what was delivered, an event without an id of its own (it keeps
        // the last id, "4", but is not a duplicate), then an old id again.
        co_await c.write(sse_head() + frame("9-0", "connected", "{}") + frame("2", "a:b", "two") +
                         frame("3", "a:b", "three") + frame("4", "a:b", "four") +
                         "event: a:b\ndata: no id\n\n" + frame("3", "a:b", "three again") +
                         frame("5", "a:b", "five"));
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, server.url(), fast_options());
    obs.attach(es);
    es.start();

    ASSERT_TRUE(
        obs.events.wait([](const auto& v) { return !v.empty() && v.back().data == "five"; }));
    EXPECT_EQ(obs.events.values(), (std::vector<got>{{"a:b", "one", "1"},
                                                     {"a:b", "two", "2"},
                                                     {"a:b", "three", "3"},
                                                     {"connected", "{}", "9-0"},
                                                     {"a:b", "four", "4"},
                                                     {"a:b", "no id", "4"},
                                                     {"a:b", "five", "5"}}));
}

TEST(event_source, dedup_can_be_disabled) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head() + frame("1", "a:b", "one") + frame("2", "a:b", "two") +
                         frame("1", "a:b", "one again"));
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    auto options = fast_options();
    options.dedup_capacity = 0;
    client::event_source es(runner.ioc, server.url(), options);
    obs.attach(es);
    es.start();
    ASSERT_TRUE(obs.events.wait_count(3));
    EXPECT_EQ(obs.events.values()[2], (got{"a:b", "one again", "1"}));
}

TEST(event_source, routes_to_type_prefix_module_and_star_handlers_in_order) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write(
            sse_head() + frame("1", "connected", "{}") + frame("2", "horses:created", "h") +
            frame("3", "health:appointment:updated", "a") + frame("4", "tasks:done", "t") +
            frame("5", "", "m") + frame("6", "horsesx:created", "not a horse"));
        co_await c.wait_closed();
    });
    client_runner runner;
    recorder<std::string> log;
    client::event_source es(runner.ioc, server.url(), fast_options());
    es.on("*", [&](const client::event& e) { log.add("* " + std::string(e.type)); });
    es.on("horses:created",
          [&](const client::event& e) { log.add("exact " + std::string(e.data)); });
    es.on("health:*", [&](const client::event& e) { log.add("prefix " + std::string(e.type)); });
    es.on_module("horses", [&](std::string_view action, const client::event& e) {
        log.add("horses " + std::string(action) + " " + std::string(e.id));
    });
    es.on_module("health", [&](std::string_view action, const client::event&) {
        log.add("health " + std::string(action));
    });
    es.on("connected", [&](const client::event&) { log.add("exact connected"); });
    es.start();

    ASSERT_TRUE(
        log.wait([](const auto& v) { return !v.empty() && v.back() == "* horsesx:created"; }));
    EXPECT_EQ(log.values(), (std::vector<std::string>{
                                "exact connected",
                                "* connected",
                                "exact h",
                                "horses created 2",
                                "* horses:created",
                                "prefix health:appointment:updated",
                                "health appointment:updated",
                                "* health:appointment:updated",
                                "* tasks:done",
                                "* message",
                                "* horsesx:created",
                            }));
}

TEST(event_source, unpacks_batches_and_deduplicates_their_items) {
    const std::string batch =
        R"([{"id":"b-2","type":"horses:created","data":"{\"id\":2}"},)"
        R"({"id":"b-1","type":"horses:created","data":"{\"id\":1}"},)"
        R"({"id":"b-3","type":"horses:updated","data":{"id": 3, "name": "Ajax"}},)"
        R"({"id":"b-4","type":"resync","data":"{\"reason\":\"overflow\"}"}])";
    test_server server([&batch](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head() + frame("b-1", "horses:created", R"({"id":1})") +
                         frame("b-4", "batch", batch) + frame("b-3", "horses:updated", "dup") +
                         frame("b-5", "batch", "not json") + frame("b-6", "a:b", "last"));
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    recorder<std::string> batch_handler;
    client::event_source es(runner.ioc, server.url(), fast_options());
    obs.attach(es);
    es.on("batch", [&](const client::event& e) { batch_handler.add(std::string(e.data)); });
    es.start();

    ASSERT_TRUE(
        obs.events.wait([](const auto& v) { return !v.empty() && v.back().data == "last"; }));
    EXPECT_EQ(obs.events.values(),
              (std::vector<got>{{"horses:created", R"({"id":1})", "b-1"},
                                {"horses:created", R"({"id":2})", "b-2"},
                                {"horses:updated", R"({"id": 3, "name": "Ajax"})", "b-3"},
                                {"batch", "not json", "b-5"},
                                {"a:b", "last", "b-6"}}));
    EXPECT_EQ(obs.resyncs.values(),
              (std::vector<got>{{"resync", R"({"reason":"overflow"})", "b-4"}}));
    EXPECT_EQ(batch_handler.values(), (std::vector<std::string>{"not json"}));
}

TEST(event_source, resync_goes_to_its_own_handler_only) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        co_await c.write(sse_head() + frame("r-1", "a:b", "before") +
                         frame("r-2", "resync", R"({"reason":"history_evicted","id":"r-2"})") +
                         frame("r-3", "a:b", "after"));
        co_await c.wait_closed();
    });
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, server.url(), fast_options());
    obs.attach(es);
    es.start();

    ASSERT_TRUE(obs.events.wait_count(2));
    ASSERT_TRUE(obs.resyncs.wait_count(1));
    EXPECT_EQ(obs.events.values(),
              (std::vector<got>{{"a:b", "before", "r-1"}, {"a:b", "after", "r-3"}}));
    EXPECT_EQ(obs.resyncs.values(),
              (std::vector<got>{{"resync", R"({"reason":"history_evicted","id":"r-2"})", "r-2"}}));
}

// --- close() ------------------------------------------------------------------------------------

// Streams numbered events as fast as the client takes them, until it goes away.
asio::awaitable<void> firehose(connection& c) {
    co_await c.write(sse_head());
    for (int i = 0;; ++i) {
        std::string burst;
        for (int j = 0; j < 8; ++j) {
            burst += frame(std::to_string(c.index()) + "-" + std::to_string(i * 8 + j),
                           j % 2 ? "horses:created" : "tasks:done", "x");
        }
        co_await c.write(std::move(burst));
    }
}

TEST(event_source, no_handler_runs_after_close_returns_from_another_thread) {
    test_server server(firehose);
    client_runner runner(2);  // handlers may run on either thread
    for (int round = 0; round < 10; ++round) {
        std::atomic<bool> close_returned{false};
        std::atomic<bool> in_handler{false};
        std::atomic<int> late_calls{0};
        std::atomic<int> calls{0};
        auto handler = [&] {
            if (close_returned) ++late_calls;
            in_handler = true;
            ++calls;
            std::this_thread::sleep_for(std::chrono::microseconds(50));  // widen the window
            in_handler = false;
        };
        client::event_source es(runner.ioc, server.url(), fast_options());
        es.on("*", [&](const client::event&) { handler(); });
        es.on_module("horses", [&](std::string_view, const client::event&) { handler(); });
        es.on_state([&](const client::state_change&) { handler(); });
        es.start();
        const auto deadline = steady_clock::now() + 5s;
        while (calls < 20 + round * 5 && steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
        ASSERT_GE(calls, 20) << "round " << round;
        es.close();
        EXPECT_FALSE(in_handler) << "close() returned while a handler was running";
        close_returned = true;
        const int calls_at_close = calls;
        std::this_thread::sleep_for(30ms);
        EXPECT_EQ(late_calls, 0) << "round " << round;
        EXPECT_EQ(calls, calls_at_close) << "round " << round;
        EXPECT_EQ(es.state(), client::ready_state::closed);
    }
}

TEST(event_source, close_inside_a_handler_stops_delivery_at_once) {
    test_server server([](connection& c) -> asio::awaitable<void> {
        std::string all = sse_head();
        for (int i = 1; i <= 10; ++i) all += frame(std::to_string(i), "a:b", std::to_string(i));
        co_await c.write(all);
        co_await c.wait_closed();
    });
    client_runner runner;
    recorder<std::string> log;
    std::unique_ptr<client::event_source> es =
        std::make_unique<client::event_source>(runner.ioc, server.url(), fast_options());
    es->on("*", [&](const client::event& e) {
        log.add(std::string(e.data));
        if (e.data == "3") es->close();  // from inside: must neither deadlock nor deliver more
    });
    es->on_module("a", [&](std::string_view, const client::event& e) {
        log.add("module " + std::string(e.data));
    });
    es->start();
    ASSERT_TRUE(log.wait_count(5));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(log.values(),
              (std::vector<std::string>{"module 1", "1", "module 2", "2", "module 3", "3"}));
    EXPECT_EQ(es->state(), client::ready_state::closed);
    EXPECT_EQ(server.request_count(), 1u);
}

TEST(event_source, destroying_the_source_inside_a_handler_is_safe) {
    test_server server(firehose);
    client_runner runner;
    recorder<std::string> log;
    auto es = std::make_unique<client::event_source>(runner.ioc, server.url(), fast_options());
    es->on("*", [&](const client::event& e) {
        log.add(std::string(e.id));
        if (log.size() == 2) {
            es.reset();            // destroys the source that owns this very handler
            log.add("destroyed");  // publishes the reset to the test thread
        }
    });
    es->start();
    ASSERT_TRUE(log.wait_count(3));
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(log.values(), (std::vector<std::string>{"0-0", "0-1", "destroyed"}));
    EXPECT_EQ(es, nullptr);
}

TEST(event_source, close_before_start_and_twice_is_harmless) {
    client_runner runner;
    observed obs;
    client::event_source es(runner.ioc, "http://127.0.0.1:1/", fast_options());
    obs.attach(es);
    es.close();
    es.start();
    es.close();
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(obs.states.size(), 0u);
    EXPECT_EQ(es.state(), client::ready_state::closed);

    client::event_source moved(std::move(es));
    EXPECT_EQ(moved.state(), client::ready_state::closed);
    EXPECT_EQ(es.state(), client::ready_state::closed);  // NOLINT(bugprone-use-after-move): empty
    es.close();
}

}  // namespace
