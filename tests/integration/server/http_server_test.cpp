// SPDX-License-Identifier: MIT
// The embedded server end to end over real sockets on 127.0.0.1: stream headers and content,
// replay and resync, heartbeats, limits and auth errors, shutdown, and 1000 concurrent streams.
#include <crier/adapters/http_server.hpp>

#include <asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <support/raw_client.hpp>
#include <support/served.hpp>

namespace {

using namespace std::chrono_literals;
using crier::test::raw_connection;
using crier::test::request;
using crier::test::sse_stream;

using crier::test::bearer_u1;
using crier::test::events_path;
using crier::test::served;
using crier::test::test_options;

TEST(http_server, stream_head_and_connected_event) {
    served s;
    sse_stream stream(s.port(), events_path + "?channel=horses", {bearer_u1});
    const auto& head = stream.head();
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("content-type"), "text/event-stream");
    EXPECT_EQ(head.header("cache-control"), "no-cache");
    EXPECT_EQ(head.header("connection"), "keep-alive");
    EXPECT_EQ(head.header("x-accel-buffering"), "no");
    EXPECT_EQ(head.header("content-length"), "");
    ASSERT_TRUE(stream.wait_for_events(1));
    const auto& connected = stream.events()[0];
    EXPECT_EQ(connected.type, "connected");
    EXPECT_NE(connected.data.find(R"("channels":["global","user:u1","horses"])"), std::string::npos)
        << connected.data;
    EXPECT_EQ(connected.id, crier::sse::to_string(s.hub.current_id()));
    EXPECT_NE(connected.data.find(R"("id":")" + connected.id + "\""), std::string::npos);
}

TEST(http_server, delivers_tricky_payloads_exactly) {
    served s;
    sse_stream stream(s.port(), events_path + "?channel=horses", {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    std::string big;
    std::mt19937 rng(5);
    while (big.size() < 64 * 1024) {
        big += std::string(1 + rng() % 80, static_cast<char>('a' + rng() % 26));
        big += (rng() % 3 == 0) ? "\r\n" : "\n";
    }
    struct sample {
        std::string sent;
        std::string expected;
    };
    const std::vector<sample> samples = {
        {"a\nb", "a\nb"},
        {"a\r\nb", "a\nb"},
        {"a\rb", "a\nb"},
        {"", ""},
        {"\n", "\n"},
        {"  two leading spaces", "  two leading spaces"},
        {"caf\xC3\xA9 \xF0\x9F\x90\xB4 \xE2\x82\xAC", "caf\xC3\xA9 \xF0\x9F\x90\xB4 \xE2\x82\xAC"},
        {"data: injected\n\nevent: evil\nid: 1", "data: injected\n\nevent: evil\nid: 1"},
        {big,
         [&] {
             std::string e;
             for (std::size_t i = 0; i < big.size(); ++i) {
                 if (big[i] == '\r') continue;
                 e.push_back(big[i]);
             }
             return e;
         }()},
    };
    std::vector<std::string> ids;
    for (const auto& p : samples) {
        const auto r = s.hub.publish("horses", "horses:updated", p.sent);
        ASSERT_FALSE(r.error) << r.error.message();
        ids.push_back(r.id_text());
    }
    ASSERT_TRUE(stream.wait_for_events(1 + samples.size()));
    for (std::size_t i = 0; i < samples.size(); ++i) {
        const auto& got = stream.events()[1 + i];
        EXPECT_EQ(got.type, "horses:updated");
        EXPECT_EQ(got.id, ids[i]);
        EXPECT_EQ(got.data, samples[i].expected) << "sample " << i;
    }
}

TEST(http_server, publish_over_http) {
    served s;
    sse_stream stream(s.port(), events_path + "?channel=horses", {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    const auto r = request(
        s.port(), "POST", "/api/realtime/publish",
        {"Authorization: Bearer pub1", "Content-Type: application/json"},
        R"({"channels":["horses"],"type":"horses:created","data":{"id": 7, "name":"Marengo"}})");
    ASSERT_EQ(r.status(), 200) << r.body;
    EXPECT_NE(r.body.find(R"("duplicate":false)"), std::string::npos) << r.body;
    const auto r2 =
        request(s.port(), "POST", "/api/realtime/publish",
                {"Authorization: Bearer pub1", "Content-Type: application/json"},
                R"({"module":"tasks","action":"completed","data":"plain text","user_id":"u1"})");
    ASSERT_EQ(r2.status(), 200) << r2.body;
    ASSERT_TRUE(stream.wait_for_events(3));
    EXPECT_EQ(stream.events()[1].type, "horses:created");
    EXPECT_EQ(stream.events()[1].data, R"({"id":7,"name":"Marengo"})");
    EXPECT_NE(r.body.find(stream.events()[1].id), std::string::npos);
    EXPECT_EQ(stream.events()[2].type, "tasks:completed");  // through user:u1
    EXPECT_EQ(stream.events()[2].data, "plain text");
}

TEST(http_server, publish_answers_a_null_id_for_a_held_event) {
    // A held event takes its id when its batch is flushed: the route cannot name one yet.
    served s({.rate_limit = 1, .rate_window = std::chrono::seconds(60)});
    sse_stream stream(s.port(), events_path + "?channel=horses", {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    auto publish = [&](std::string_view body) {
        return request(s.port(), "POST", "/api/realtime/publish",
                       {"Authorization: Bearer pub1", "Content-Type: application/json"},
                       std::string(body));
    };
    const auto first = publish(R"({"channels":["horses"],"type":"t","data":"1"})");
    ASSERT_EQ(first.status(), 200) << first.body;
    EXPECT_NE(first.body.find(R"("held":false)"), std::string::npos) << first.body;
    const auto held = publish(R"({"channels":["horses"],"type":"t","data":"2","dedup_key":"k"})");
    ASSERT_EQ(held.status(), 200) << held.body;
    EXPECT_EQ(held.body, "{\"id\":null,\"duplicate\":false,\"held\":true}\n");
    const auto again = publish(R"({"channels":["horses"],"type":"t","data":"2","dedup_key":"k"})");
    ASSERT_EQ(again.status(), 200) << again.body;
    EXPECT_EQ(again.body, "{\"id\":null,\"duplicate\":true,\"held\":false}\n");
    s.hub.flush_batches();
    ASSERT_TRUE(stream.wait_for_events(3));
    EXPECT_NE(first.body.find(R"("id":")" + stream.events()[1].id + "\""), std::string::npos);
    // The whole answer, byte for byte (it is built by appends, not by a format string).
    EXPECT_EQ(first.body,
              "{\"id\":\"" + stream.events()[1].id + "\",\"duplicate\":false,\"held\":false}\n");
    EXPECT_EQ(stream.events()[2].type, "batch");
    const std::string item_id = crier::sse::to_string(
        {s.hub.current_id().epoch, s.hub.current_id().seq - 1});  // just below the batch's
    EXPECT_EQ(stream.events()[2].data, R"([{"id":")" + item_id + R"(","type":"t","data":"2"}])");
    EXPECT_EQ(stream.events()[2].id, crier::sse::to_string(s.hub.current_id()));
}

TEST(http_server, reconnect_replays_exactly_the_missed_events_then_goes_live) {
    served s;
    std::string last;
    {
        sse_stream first(s.port(), events_path + "?channel=horses", {bearer_u1});
        ASSERT_TRUE(first.wait_for_events(1));
        for (int i = 0; i < 3; ++i)
            ASSERT_FALSE(s.hub.publish("horses", "horses:updated", std::to_string(i)).error);
        ASSERT_TRUE(first.wait_for_events(4));
        last = first.events().back().id;
    }
    std::vector<std::string> missed;
    for (int i = 3; i < 7; ++i) {
        const auto r = s.hub.publish("horses", "horses:updated", std::to_string(i));
        ASSERT_FALSE(r.error);
        missed.push_back(r.id_text());
    }
    // The header, then each query spelling: crier.js, EventSource polyfills, Mercure clients.
    for (const std::string how : {"header", "last_event_id", "lastEventId", "lastEventID"}) {
        auto target = events_path + "?channel=horses";
        std::vector<std::string> headers = {bearer_u1};
        if (how == "header") {
            headers.push_back("Last-Event-ID: " + last);
        } else {
            target += "&" + how + "=" + last;
        }
        sse_stream again(s.port(), target, headers);
        ASSERT_TRUE(again.wait_for_events(1 + missed.size())) << how;
        EXPECT_EQ(again.events()[0].type, "connected");
        EXPECT_EQ(again.events()[0].id, last);
        std::vector<std::string> got;
        for (std::size_t i = 1; i < again.events().size(); ++i) got.push_back(again.events()[i].id);
        EXPECT_EQ(got, missed) << how;
        const auto live = s.hub.publish("horses", "horses:updated", "live " + how);
        ASSERT_TRUE(again.wait_for_events(2 + missed.size()));
        again.drain_for(100ms);
        ASSERT_EQ(again.events().size(), 2 + missed.size()) << "no duplicate, nothing extra";
        EXPECT_EQ(again.events().back().id, live.id_text());
        EXPECT_EQ(again.events().back().data, "live " + how);
        missed.push_back(live.id_text());
    }
}

TEST(http_server, resync_when_history_was_evicted) {
    served s({.history_size = 5, .rate_limit = 0});
    const auto first = s.hub.publish("horses", "horses:created", "0");
    for (int i = 1; i < 20; ++i)
        ASSERT_FALSE(s.hub.publish("horses", "horses:created", std::to_string(i)).error);
    sse_stream stream(s.port(), events_path + "?channel=horses",
                      {bearer_u1, "Last-Event-ID: " + first.id_text()});
    ASSERT_TRUE(stream.wait_for_events(2));
    EXPECT_EQ(stream.events()[1].type, "resync");
    EXPECT_NE(stream.events()[1].data.find("evicted"), std::string::npos)
        << stream.events()[1].data;
    EXPECT_EQ(stream.events()[1].id, crier::sse::to_string(s.hub.current_id()));
    // A foreign id resyncs too.
    sse_stream foreign(s.port(), events_path, {bearer_u1, "Last-Event-ID: not-ours"});
    ASSERT_TRUE(foreign.wait_for_events(2));
    EXPECT_EQ(foreign.events()[1].type, "resync");
}

TEST(http_server, heartbeat_arrives_as_a_comment) {
    served s({}, {.heartbeat = 100ms});
    sse_stream stream(s.port(), events_path, {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    ASSERT_TRUE(stream.wait_for_raw("\n\n:\n", 2s)) << stream.raw();
    stream.drain_for(250ms);
    EXPECT_EQ(stream.events().size(), 1u) << "a heartbeat is not an event";
    // Several heartbeats over time, each a bare comment line.
    std::size_t comments = 0;
    for (std::size_t at = stream.raw().find("\n:\n"); at != std::string::npos;
         at = stream.raw().find("\n:\n", at + 1)) {
        ++comments;
    }
    EXPECT_GE(comments, 2u);
}

TEST(http_server, per_user_connection_cap_is_429_with_retry_after) {
    served s;
    std::vector<std::unique_ptr<sse_stream>> streams;
    for (int i = 0; i < 3; ++i) {
        streams.push_back(std::make_unique<sse_stream>(s.port(), events_path,
                                                       std::vector<std::string>{bearer_u1}));
        ASSERT_EQ(streams.back()->head().status, 200);
    }
    sse_stream fourth(s.port(), events_path, {bearer_u1});
    EXPECT_EQ(fourth.head().status, 429);
    EXPECT_EQ(fourth.head().header("retry-after"), "5");
    EXPECT_EQ(fourth.head().header("content-type"), "application/json");
    EXPECT_NE(fourth.body().find(R"("code":"too_many_connections")"), std::string::npos)
        << fourth.body();
    // Another user is not affected.
    sse_stream other(s.port(), events_path, {"Authorization: Bearer u2"});
    EXPECT_EQ(other.head().status, 200);
    // A client that goes away frees its slot promptly.
    streams[0]->connection().close();
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (s.hub.connections("u1") != 2 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(s.hub.connections("u1"), 2u);
    sse_stream again(s.port(), events_path, {bearer_u1});
    EXPECT_EQ(again.head().status, 200);
}

void expect_error(const crier::test::http_reply& r, int status, std::string_view code) {
    EXPECT_EQ(r.status(), status) << r.body;
    EXPECT_EQ(r.head.header("content-type"), "application/json");
    EXPECT_NE(r.body.find(R"("code":")" + std::string(code) + "\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(R"("status":)" + std::to_string(status)), std::string::npos) << r.body;
}

TEST(http_server, auth_and_routing_errors) {
    served s;
    expect_error(request(s.port(), "GET", events_path), 401, "unauthorized");
    expect_error(request(s.port(), "GET", events_path + "?channel=user:u2", {bearer_u1}), 403,
                 "forbidden");
    expect_error(request(s.port(), "GET", events_path + "?channel=user:*", {bearer_u1}), 403,
                 "forbidden");
    expect_error(request(s.port(), "GET", events_path + "?channel=*", {bearer_u1}), 403,
                 "forbidden");
    expect_error(request(s.port(), "GET", events_path + "?channel=secret", {bearer_u1}), 403,
                 "forbidden");
    expect_error(request(s.port(), "GET", events_path + "?channel=bad%0Aname", {bearer_u1}), 400,
                 "invalid_channel");
    // A malformed escape is refused, not dropped: the client would think it subscribed.
    const auto escape =
        request(s.port(), "GET", events_path + "?channel=a&channel=%ZZ", {bearer_u1});
    expect_error(escape, 400, "invalid_channel");
    EXPECT_NE(escape.body.find("malformed %-escape"), std::string::npos) << escape.body;
    expect_error(request(s.port(), "GET", events_path + "?channel=a&type=x%4", {bearer_u1}), 400,
                 "invalid_type");
    expect_error(request(s.port(), "GET", "/api/realtime/history?channel=%G1", {bearer_u1}), 400,
                 "invalid_channel");
    expect_error(request(s.port(), "GET", "/api/realtime/nope", {bearer_u1}), 404, "not_found");
    expect_error(request(s.port(), "GET", "/elsewhere", {bearer_u1}), 404, "not_found");
    const auto not_allowed = request(s.port(), "POST", events_path, {bearer_u1});
    expect_error(not_allowed, 405, "method_not_allowed");
    EXPECT_EQ(not_allowed.head.header("allow"), "GET");
    expect_error(request(s.port(), "GET", "/api/realtime/stats", {bearer_u1}), 403, "forbidden");
    expect_error(request(s.port(), "GET", "/api/realtime/metrics", {bearer_u1}), 403, "forbidden");
    expect_error(request(s.port(), "POST", "/api/realtime/publish", {bearer_u1},
                         R"({"channels":["horses"],"type":"horses:created","data":"x"})"),
                 403, "forbidden");
}

TEST(http_server, publish_errors_are_precise) {
    served s({.rate_limit = 2, .rate_policy = crier::rate_limit_policy::reject});
    const std::vector<std::string> pub = {"Authorization: Bearer pub1",
                                          "Content-Type: application/json"};
    auto post = [&](std::string_view body) {
        return request(s.port(), "POST", "/api/realtime/publish", pub, body);
    };
    const auto bad_json = post(R"({"channels":["horses"],"type":)");
    expect_error(bad_json, 400, "invalid_json");
    EXPECT_NE(bad_json.body.find("body is not JSON: "), std::string::npos) << bad_json.body;
    expect_error(post(R"(["not","an","object"])"), 400, "invalid_json");
    expect_error(post(R"({"channels":["horses"],"data":"x"})"), 400, "invalid_json");
    expect_error(post(R"({"type":"a:b","data":"x"})"), 400, "invalid_json");
    expect_error(post(R"({"channels":"horses","type":"a:b","data":"x"})"), 400, "invalid_json");
    expect_error(post(R"({"channels":["horses"],"type":"resync","data":"x"})"), 400,
                 "reserved_type");
    const auto as_text = request(s.port(), "POST", "/api/realtime/publish",
                                 {"Authorization: Bearer pub1", "Content-Type: text/plain"}, "{}");
    expect_error(as_text, 415, "unsupported_media_type");
    EXPECT_NE(as_text.body.find("not 'text/plain'"), std::string::npos) << as_text.body;
    // A media type is case-insensitive and may have parameters; a look-alike is not JSON.
    int media = 0;  // a channel each: this test's rate limit is two per channel
    for (const char* type : {"Application/JSON", "application/json;charset=UTF-8",
                             "application/json ; charset=utf-8"}) {
        const auto r = request(
            s.port(), "POST", "/api/realtime/publish",
            {"Authorization: Bearer pub1", std::string("Content-Type: ") + type},
            R"({"channels":["media)" + std::to_string(++media) + R"("],"type":"a:b","data":"x"})");
        EXPECT_EQ(r.status(), 200) << type << ": " << r.body;
    }
    expect_error(request(s.port(), "POST", "/api/realtime/publish",
                         {"Authorization: Bearer pub1", "Content-Type: application/jsonp"},
                         R"({"channels":["media"],"type":"a:b","data":"x"})"),
                 415, "unsupported_media_type");
    EXPECT_EQ(post(R"({"channels":["limited"],"type":"a:b","data":"1"})").status(), 200);
    EXPECT_EQ(post(R"({"channels":["limited"],"type":"a:b","data":"2"})").status(), 200);
    const auto limited = post(R"({"channels":["limited"],"type":"a:b","data":"3"})");
    expect_error(limited, 429, "rate_limited");
    // Dedup: the second publish with the key reports the first id.
    const auto d1 = post(R"({"channels":["d"],"type":"a:b","data":"1","dedup_key":"k1"})");
    const auto d2 = post(R"({"channels":["d"],"type":"a:b","data":"1","dedup_key":"k1"})");
    ASSERT_EQ(d1.status(), 200);
    ASSERT_EQ(d2.status(), 200);
    EXPECT_NE(d2.body.find(R"("duplicate":true)"), std::string::npos) << d2.body;
    EXPECT_EQ(d1.body.substr(0, d1.body.find(',')), d2.body.substr(0, d2.body.find(',')));
}

TEST(http_server, head_and_body_limits_and_timeouts) {
    served s({}, {.max_head_bytes = 2048, .max_body_bytes = 1024, .request_timeout = 300ms});
    // 431: a head over the limit.
    expect_error(
        request(s.port(), "GET", "/api/realtime/health", {"X-Big: " + std::string(4096, 'a')}), 431,
        "head_too_large");
    // 413: announced body over the limit, refused before it is sent.
    {
        raw_connection c(s.port());
        c.send("POST /api/realtime/publish HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
        std::string buffer;
        auto r = crier::test::read_reply(c, buffer);
        ASSERT_TRUE(r);
        expect_error(*r, 413, "body_too_large");
    }
    // 408: a request that stalls halfway, then the connection closes.
    {
        raw_connection c(s.port());
        c.send("GET /api/realtime/health HTTP/1.1\r\nHost: x\r\n");
        std::string buffer;
        const auto started = std::chrono::steady_clock::now();
        auto r = crier::test::read_reply(c, buffer, 3s);
        ASSERT_TRUE(r);
        expect_error(*r, 408, "request_timeout");
        EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
        EXPECT_TRUE(c.read_to_eof(buffer, 3s));
    }
    // Malformed request line and HTTP/2 preface.
    expect_error(request(s.port(), "GARBAGE", "nopath"), 400, "bad_request");
    {
        raw_connection c(s.port());
        c.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        std::string buffer;
        auto r = crier::test::read_reply(c, buffer);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status(), 505);
    }
}

TEST(http_server, malformed_input_never_wedges_the_server) {
    served s({}, {.request_timeout = 500ms});
    std::mt19937 rng(99);
    std::vector<std::unique_ptr<raw_connection>> junk;
    for (int i = 0; i < 20; ++i) {
        junk.push_back(std::make_unique<raw_connection>(s.port()));
        std::string bytes(1 + rng() % 3000, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng());
        if (i % 4 == 0) bytes = "GET / HTTP/1.1\r\n" + bytes;  // a head that never ends well
        junk.back()->send(bytes);
    }
    // Meanwhile, real clients are served.
    sse_stream stream(s.port(), events_path, {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    EXPECT_EQ(request(s.port(), "GET", "/api/realtime/health").status(), 200);
    ASSERT_FALSE(s.hub.publish("global", "system:notice", "still here").error);
    ASSERT_TRUE(stream.wait_for_events(2));
    EXPECT_EQ(stream.events()[1].data, "still here");
    // Every junk connection is answered or closed, none left hanging past the request timeout.
    for (auto& c : junk) {
        std::string buffer;
        EXPECT_TRUE(c->read_to_eof(buffer, 3s));
    }
}

TEST(http_server, keep_alive_serves_several_requests_on_one_connection) {
    served s;
    raw_connection c(s.port());
    c.send(
        "GET /api/realtime/health HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /api/realtime/health HTTP/1.1\r\nHost: x\r\n\r\n");  // pipelined
    std::string buffer;
    auto r1 = crier::test::read_reply(c, buffer);
    auto r2 = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(r1 && r2);
    EXPECT_EQ(r1->status(), 200);
    EXPECT_EQ(r2->status(), 200);
    EXPECT_EQ(r1->head.header("connection"), "keep-alive");
    c.send("GET /api/realtime/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    auto r3 = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(r3);
    EXPECT_EQ(r3->head.header("connection"), "close");
    EXPECT_TRUE(c.read_to_eof(buffer));
}

TEST(http_server, head_is_answered_as_get_without_a_body) {
    served s;
    raw_connection c(s.port());
    // Pipelined on one connection: if a HEAD answer carried a body, the next status line would
    // not start where the head ends.
    c.send(
        "HEAD /api/realtime/health HTTP/1.1\r\nHost: x\r\n\r\n"
        "HEAD " +
        events_path +
        "?channel=horses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer u1\r\n\r\n"
        "HEAD " +
        events_path +
        " HTTP/1.1\r\nHost: x\r\n\r\n"
        "HEAD /api/realtime/publish HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /api/realtime/health HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string buffer;
    std::vector<crier::test::response_head> heads;
    ASSERT_TRUE(c.read_until(buffer, [&](std::string& b) {
        while (heads.size() < 4) {
            auto h = crier::test::take_head(b);
            if (!h) return false;
            heads.push_back(std::move(*h));
        }
        return b.find("\r\n\r\n") != std::string::npos;
    }));
    auto get = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(get);
    ASSERT_EQ(get->status(), 200);

    // The health route: GET's head, its Content-Length included.
    EXPECT_EQ(heads[0].status, 200) << heads[0].raw;
    EXPECT_EQ(heads[0].header("content-type"), "application/json");
    EXPECT_EQ(heads[0].header("content-length"), std::to_string(get->body.size()));
    EXPECT_EQ(heads[0].header("connection"), "keep-alive");
    // A stream: its head, no length, and no stream opened.
    EXPECT_EQ(heads[1].status, 200) << heads[1].raw;
    EXPECT_EQ(heads[1].header("content-type"), "text/event-stream");
    EXPECT_EQ(heads[1].header("cache-control"), "no-cache");
    EXPECT_EQ(heads[1].header("content-length"), "");
    EXPECT_EQ(s.hub.stats().subscriptions, 0u);
    // Refusals keep their status and length.
    EXPECT_EQ(heads[2].status, 401) << heads[2].raw;
    EXPECT_NE(heads[2].header("content-length"), "0");
    EXPECT_EQ(heads[3].status, 405) << heads[3].raw;
    EXPECT_EQ(heads[3].header("allow"), "POST");
    EXPECT_EQ(get->body.rfind(R"({"status":"ok")", 0), 0u) << get->body;
}

TEST(http_server, pipelined_publishes_are_answered_in_order) {
    served s({.rate_limit = 0});
    sse_stream stream(s.port(), events_path + "?channel=p", {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    raw_connection c(s.port());
    std::string burst;
    for (int i = 0; i < 100; ++i) {
        const std::string body =
            R"({"channels":["p"],"type":"p:n","data":")" + std::to_string(i) + "\"}";
        burst +=
            "POST /api/realtime/publish HTTP/1.1\r\nAuthorization: Bearer pub1\r\n"
            "Content-Type: application/json\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    ASSERT_TRUE(c.send(burst));  // one send: the server reads many requests at once
    std::string buffer;
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        auto r = crier::test::read_reply(c, buffer);
        ASSERT_TRUE(r) << i;
        ASSERT_EQ(r->status(), 200) << r->body;
        ids.push_back(r->body.substr(7, r->body.find('"', 7) - 7));
    }
    ASSERT_TRUE(stream.wait_for_events(101));
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(stream.events()[static_cast<std::size_t>(1 + i)].data, std::to_string(i));
        EXPECT_EQ(stream.events()[static_cast<std::size_t>(1 + i)].id,
                  ids[static_cast<std::size_t>(i)]);
    }
}

TEST(http_server, history_stats_metrics_and_health) {
    served s;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i)
        ids.push_back(s.hub.publish("horses", "horses:created", "{\"n\":" + std::to_string(i) + "}")
                          .id_text());
    const auto h = request(s.port(), "GET", "/api/realtime/history?channel=horses&since=" + ids[0],
                           {bearer_u1});
    ASSERT_EQ(h.status(), 200) << h.body;
    EXPECT_EQ(h.body.find(ids[0]), std::string::npos);
    EXPECT_NE(h.body.find(R"("id":")" + ids[1] +
                          R"(","type":"horses:created","data":"{\"n\":1}","channels":["horses"])"),
              std::string::npos)
        << h.body;
    EXPECT_LT(h.body.find(ids[1]), h.body.find(ids[2]));
    EXPECT_NE(h.body.find(R"("complete":true)"), std::string::npos) << h.body;
    expect_error(request(s.port(), "GET", "/api/realtime/history?limit=0", {bearer_u1}), 400,
                 "invalid_limit");
    expect_error(request(s.port(), "GET", "/api/realtime/history?channel=user:u9", {bearer_u1}),
                 403, "forbidden");

    sse_stream stream(s.port(), events_path, {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    const auto st =
        request(s.port(), "GET", "/api/realtime/stats", {"Authorization: Bearer admin"});
    ASSERT_EQ(st.status(), 200) << st.body;
    EXPECT_NE(st.body.find(R"("connectedClients":1)"), std::string::npos) << st.body;
    EXPECT_NE(st.body.find(R"("eventHistorySize":3)"), std::string::npos) << st.body;
    EXPECT_NE(st.body.find(R"("server":{"connections":)"), std::string::npos) << st.body;

    const auto m =
        request(s.port(), "GET", "/api/realtime/metrics", {"Authorization: Bearer admin"});
    ASSERT_EQ(m.status(), 200);
    EXPECT_EQ(m.head.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(m.body.find("# TYPE crier_published_total counter\ncrier_published_total 3\n"),
              std::string::npos)
        << m.body;
    EXPECT_NE(m.body.find("crier_subscriptions 1\n"), std::string::npos) << m.body;

    const auto health = request(s.port(), "GET", "/api/realtime/health");
    EXPECT_EQ(health.status(), 200);
    EXPECT_NE(health.body.find(R"("status":"ok")"), std::string::npos);
}

TEST(http_server, cors_when_enabled) {
    served s({}, {.cors_origin = "https://app.example"});
    const auto pre = request(s.port(), "OPTIONS", events_path, {"Origin: https://app.example"});
    EXPECT_EQ(pre.status(), 204);
    EXPECT_EQ(pre.head.header("access-control-allow-origin"), "https://app.example");
    EXPECT_EQ(pre.head.header("access-control-allow-credentials"), "true");
    EXPECT_NE(pre.head.header("access-control-allow-headers").find("Last-Event-ID"),
              std::string::npos);
    sse_stream stream(s.port(), events_path, {bearer_u1});
    EXPECT_EQ(stream.head().header("access-control-allow-origin"), "https://app.example");
    served plain;
    EXPECT_EQ(request(plain.port(), "GET", "/api/realtime/health")
                  .head.header("access-control-allow-origin"),
              "");
}

TEST(http_server, static_files_without_escaping_the_root) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("crier-static-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "sub");
    std::ofstream(dir / "index.html") << "<h1>hi</h1>";
    std::ofstream(dir / "sub" / "app.js") << "let x = 1;";
    served s({}, {.static_dir = dir.string()});
    const auto index = request(s.port(), "GET", "/");
    EXPECT_EQ(index.status(), 200);
    EXPECT_EQ(index.body, "<h1>hi</h1>");
    EXPECT_EQ(index.head.header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(request(s.port(), "GET", "/sub/app.js").head.header("content-type"),
              "text/javascript; charset=utf-8");
    EXPECT_EQ(request(s.port(), "GET", "/../../etc/passwd").status(), 404);
    EXPECT_EQ(request(s.port(), "GET", "/sub/%2e%2e/%2e%2e/etc/passwd").status(), 404);
    EXPECT_EQ(request(s.port(), "GET", "/sub").status(), 404);
    std::filesystem::remove_all(dir);
}

TEST(http_server, host_routes_beside_crier_routes) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("crier-routes-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "page.html") << "page";
    int calls = 0;
    served s(
        {}, {.static_dir = dir.string(),
             .handler = [&](const crier::http::request& r) -> std::optional<crier::http::response> {
                 ++calls;
                 if (r.path() == "/boom") throw std::runtime_error("host route failed");
                 if (r.path() != "/api/horses") return std::nullopt;
                 crier::http::response out;
                 out.status = r.method() == "POST" ? 201 : 200;
                 out.body = std::string(R"({"method":")") + std::string(r.method()) +
                            R"(","body":")" + std::string(r.body()) + "\"}";
                 return out;
             }});
    const auto get = request(s.port(), "GET", "/api/horses");
    EXPECT_EQ(get.status(), 200);
    EXPECT_EQ(get.body, R"({"method":"GET","body":""})");
    const auto post = request(s.port(), "POST", "/api/horses", {"Content-Type: text/plain"}, "x1");
    EXPECT_EQ(post.status(), 201);
    EXPECT_EQ(post.body, R"({"method":"POST","body":"x1"})");
    // Passed on: static files, then 404; crier's own routes never reach the handler.
    EXPECT_EQ(request(s.port(), "GET", "/page.html").body, "page");
    EXPECT_EQ(request(s.port(), "GET", "/nothing").status(), 404);
    EXPECT_EQ(request(s.port(), "GET", "/boom").status(), 500);
    EXPECT_EQ(calls, 5);
    EXPECT_EQ(request(s.port(), "GET", "/api/realtime/health").status(), 200);
    EXPECT_EQ(calls, 5);
    std::filesystem::remove_all(dir);
}

TEST(http_server, idle_stream_is_closed_cleanly) {
    served s({}, {.idle_timeout = 300ms});
    sse_stream stream(s.port(), events_path, {bearer_u1});
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(stream.wait_for_eof(3s));
    EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
    EXPECT_EQ(stream.events().size(), 1u);
}

TEST(http_server, graceful_shutdown_sends_jittered_retry_then_closes) {
    served s({},
             {.shutdown_deadline = 2s, .shutdown_retry_min = 200ms, .shutdown_retry_max = 400ms});
    std::vector<std::unique_ptr<sse_stream>> streams;
    for (int i = 0; i < 5; ++i) {
        streams.push_back(std::make_unique<sse_stream>(
            s.port(), events_path,
            std::vector<std::string>{"Authorization: Bearer s" + std::to_string(i)}));
        ASSERT_TRUE(streams.back()->wait_for_events(1));
    }
    const auto started = std::chrono::steady_clock::now();
    std::thread stopper([&] { s.server.stop(); });
    for (auto& st : streams) {
        EXPECT_TRUE(st->wait_for_eof(3s));
        const auto retry = st->parser().reconnection_time();
        ASSERT_TRUE(retry.has_value()) << st->raw();
        EXPECT_GE(*retry, 200ms);
        EXPECT_LE(*retry, 400ms);
    }
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
    EXPECT_THROW(raw_connection{s.port()}, std::runtime_error);  // no longer accepting
}

TEST(http_server, serves_a_socket_the_host_accepted) {
    crier::hub hub;
    crier::adapters::http_server server(hub, test_options());
    server.start();
    // The host's own acceptor and io_context.
    asio::io_context host;
    asio::ip::tcp::acceptor acceptor(host, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    std::thread client_thread;
    std::optional<sse_stream> stream;
    client_thread = std::thread(
        [&] { stream.emplace(port, events_path, std::vector<std::string>{bearer_u1}); });
    asio::ip::tcp::socket socket(host);
    acceptor.accept(socket);
    server.serve(std::move(socket));
    client_thread.join();
    ASSERT_EQ(stream->head().status, 200);
    ASSERT_TRUE(stream->wait_for_events(1));
    ASSERT_FALSE(hub.publish("global", "system:notice", "hello").error);
    ASSERT_TRUE(stream->wait_for_events(2));
    EXPECT_EQ(stream->events()[1].data, "hello");
}

TEST(http_server, thousand_streams_each_receive_every_event_in_order) {
    served s({.rate_limit = 0});
    constexpr int streams_n = 1000;
    constexpr int events_n = 20;
    std::vector<std::unique_ptr<sse_stream>> streams;
    streams.reserve(streams_n);
    for (int i = 0; i < streams_n; ++i) {
        streams.push_back(std::make_unique<sse_stream>(
            s.port(), events_path + "?channel=fanout",
            std::vector<std::string>{"Authorization: Bearer f" + std::to_string(i)}));
        ASSERT_EQ(streams.back()->head().status, 200);
    }
    std::vector<std::string> ids;
    for (int e = 0; e < events_n; ++e) {
        ids.push_back(s.hub.publish("fanout", "bench:tick", std::to_string(e)).id_text());
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    std::size_t done = 0;
    std::vector<bool> finished(streams_n, false);
    while (done < streams_n && std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < streams_n; ++i) {
            if (finished[static_cast<std::size_t>(i)]) continue;
            streams[static_cast<std::size_t>(i)]->poll();
            if (streams[static_cast<std::size_t>(i)]->events().size() >= 1 + events_n) {
                finished[static_cast<std::size_t>(i)] = true;
                ++done;
            }
        }
    }
    ASSERT_EQ(done, static_cast<std::size_t>(streams_n));
    for (const auto& st : streams) {
        ASSERT_EQ(st->events().size(), 1u + events_n);
        for (int e = 0; e < events_n; ++e) {
            ASSERT_EQ(st->events()[static_cast<std::size_t>(1 + e)].id,
                      ids[static_cast<std::size_t>(e)]);
            ASSERT_EQ(st->events()[static_cast<std::size_t>(1 + e)].data, std::to_string(e));
        }
    }
}

// With threads = N each thread runs a loop of its own and drains the streams it owns: streams
// and publishers land on different loops, and every event still reaches its one subscriber,
// in order, once.
TEST(http_server, per_user_streams_on_every_loop_receive_their_own_events_in_order) {
    std::mutex mutex;
    std::set<std::thread::id> loops;
    served s({.rate_limit = 0},
             {.threads = 4,
              .handler = [&](const crier::http::request&) -> std::optional<crier::http::response> {
                  std::lock_guard lock(mutex);
                  loops.insert(std::this_thread::get_id());
                  return crier::http::response{};
              }});
    constexpr int users = 12;
    constexpr int events_n = 10;
    std::vector<std::unique_ptr<sse_stream>> streams;
    for (int u = 0; u < users; ++u) {
        streams.push_back(std::make_unique<sse_stream>(
            s.port(), events_path,
            std::vector<std::string>{"Authorization: Bearer u" + std::to_string(u)}));
        ASSERT_EQ(streams.back()->head().status, 200);
        ASSERT_TRUE(streams.back()->wait_for_events(1));
    }
    std::vector<std::unique_ptr<raw_connection>> publishers;
    for (int p = 0; p < 4; ++p) {
        publishers.push_back(std::make_unique<raw_connection>(s.port()));
        ASSERT_TRUE(publishers.back()->send("GET /where HTTP/1.1\r\nHost: x\r\n\r\n"));
        std::string buffer;
        ASSERT_TRUE(crier::test::read_reply(*publishers.back(), buffer));
    }
    EXPECT_EQ(loops.size(), 4u) << "connections are spread over every loop";
    for (int e = 0; e < events_n; ++e) {
        for (int u = 0; u < users; ++u) {
            raw_connection& c = *publishers[static_cast<std::size_t>((e + u) % 4)];
            const std::string body = R"({"channels":["user:u)" + std::to_string(u) +
                                     R"("],"type":"t:n","data":")" + std::to_string(e) + "\"}";
            ASSERT_TRUE(
                c.send("POST /api/realtime/publish HTTP/1.1\r\nAuthorization: Bearer pub1\r\n"
                       "Content-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body));
            std::string buffer;
            const auto r = crier::test::read_reply(c, buffer);
            ASSERT_TRUE(r);
            ASSERT_EQ(r->status(), 200) << r->body;
        }
    }
    for (int u = 0; u < users; ++u) {
        auto& st = *streams[static_cast<std::size_t>(u)];
        ASSERT_TRUE(st.wait_for_events(1 + events_n)) << "user " << u;
        ASSERT_EQ(st.events().size(), 1u + events_n);
        for (int e = 0; e < events_n; ++e) {
            EXPECT_EQ(st.events()[static_cast<std::size_t>(1 + e)].data, std::to_string(e));
        }
    }
}

}  // namespace
