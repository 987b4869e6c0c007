// SPDX-License-Identifier: MIT
// Request bodies on the embedded server as HTTP/1.1 clients send them: Content-Length, chunked
// (Node's http.request without a length, streaming uploads), and `Expect: 100-continue` (curl,
// .NET, Java clients wait for it before sending a body). Over real sockets on 127.0.0.1.
#include <crier/adapters/http_server.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include <support/raw_client.hpp>
#include <support/served.hpp>

namespace {

using namespace std::chrono_literals;
using crier::test::bearer_u1;
using crier::test::events_path;
using crier::test::raw_connection;
using crier::test::served;
using crier::test::sse_stream;

const std::string publish_head =
    "POST /api/realtime/publish HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer pub1\r\n"
    "Content-Type: application/json\r\n";

std::string publish_body(std::string_view data) {
    return R"({"channels":["p"],"type":"p:n","data":")" + std::string(data) + "\"}";
}

// `body` as chunks of `size` bytes (the last one shorter), in hex of either case, with a chunk
// extension on the first, then the last chunk, a trailer field and the final CRLF.
std::string chunked(std::string_view body, std::size_t size) {
    std::string out;
    bool first = true;
    char hex[32];
    for (std::size_t at = 0; at < body.size(); at += size) {
        const auto piece = body.substr(at, size);
        std::snprintf(hex, sizeof hex, first ? "%zX" : "%zx", piece.size());
        out += hex;
        out += first ? ";name=\"v\"\r\n" : "\r\n";
        out += piece;
        out += "\r\n";
        first = false;
    }
    return out + "0\r\nX-Checksum: 1\r\n\r\n";
}

void expect_error(const crier::test::http_reply& r, int status, std::string_view code) {
    EXPECT_EQ(r.status(), status) << r.body;
    EXPECT_NE(r.body.find(R"("code":")" + std::string(code) + "\""), std::string::npos) << r.body;
}

TEST(request_body, chunked_publishes_split_anywhere_are_delivered_exactly_then_keep_alive) {
    served s({.rate_limit = 0});
    sse_stream stream(s.port(), events_path + "?channel=p", {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    raw_connection c(s.port());
    const std::string data = "chunked \\u00e9 payload, long enough to need several chunks";
    const std::string wire =
        publish_head + "Transfer-Encoding: chunked\r\n\r\n" + chunked(publish_body(data), 7);
    // In pieces of 1 to 5 bytes: the server reads the head, sizes, payload and trailer across
    // many reads.
    for (std::size_t at = 0, step = 1; at < wire.size(); at += step, step = step % 5 + 1) {
        ASSERT_TRUE(c.send(std::string_view(wire).substr(at, step)));
        if (at % 40 == 0) std::this_thread::sleep_for(2ms);
    }
    std::string buffer;
    auto first = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status(), 200) << first->body;
    EXPECT_EQ(first->head.header("connection"), "keep-alive");

    // The same connection goes on: a chunked request and a Content-Length one, pipelined.
    const std::string second = publish_body("second");
    const std::string third = publish_body("third");
    ASSERT_TRUE(c.send(publish_head + "Transfer-Encoding: Chunked\r\n\r\n" + chunked(second, 64) +
                       publish_head + "Content-Length: " + std::to_string(third.size()) +
                       "\r\n\r\n" + third));
    auto r2 = crier::test::read_reply(c, buffer);
    auto r3 = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(r2 && r3);
    EXPECT_EQ(r2->status(), 200) << r2->body;
    EXPECT_EQ(r3->status(), 200) << r3->body;

    ASSERT_TRUE(stream.wait_for_events(4));
    const auto& got = stream.events();
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[1].data, "chunked é payload, long enough to need several chunks");
    EXPECT_EQ(got[2].data, "second");
    EXPECT_EQ(got[3].data, "third");
    EXPECT_EQ(s.hub.stats().published, 3u);
}

TEST(request_body, a_chunked_body_over_the_limit_is_413_and_the_connection_closes) {
    served s({.rate_limit = 0}, {.max_body_bytes = 1024});
    raw_connection c(s.port());
    // Each chunk is small; together they pass 1024 bytes.
    ASSERT_TRUE(c.send(publish_head + "Transfer-Encoding: chunked\r\n\r\n" +
                       chunked(publish_body(std::string(2000, 'x')), 100)));
    std::string buffer;
    auto r = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(r);
    expect_error(*r, 413, "body_too_large");
    EXPECT_EQ(r->head.header("connection"), "close");
    EXPECT_TRUE(c.read_to_eof(buffer, 3s));
    EXPECT_EQ(s.hub.stats().published, 0u);
}

TEST(request_body, malformed_or_ambiguous_framing_is_refused_and_closes) {
    served s({.rate_limit = 0});
    const auto answer = [&](const std::string& wire) {
        raw_connection c(s.port());
        c.send(wire);
        std::string buffer;
        auto r = crier::test::read_reply(c, buffer);
        EXPECT_TRUE(r) << wire;
        EXPECT_TRUE(c.read_to_eof(buffer, 3s)) << wire;  // the rest of the input is not trusted
        return r ? *r : crier::test::http_reply{};
    };
    // Not a hex size.
    expect_error(answer(publish_head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n"), 400,
                 "bad_request");
    // Payload longer than its size line says.
    expect_error(answer(publish_head + "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"),
                 400, "bad_request");
    // Two framings (request smuggling), a second Transfer-Encoding, HTTP/1.0 with one.
    expect_error(
        answer(publish_head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
        400, "bad_request");
    expect_error(
        answer(publish_head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        400, "bad_request");
    expect_error(answer("POST /api/realtime/publish HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "0\r\n\r\n"),
                 400, "bad_request");
    // A coding the server cannot decode.
    expect_error(answer(publish_head + "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501,
                 "not_implemented");
    EXPECT_EQ(s.hub.stats().published, 0u);
}

TEST(request_body, expect_100_continue_is_answered_before_the_body_is_sent) {
    served s({.rate_limit = 0});
    sse_stream stream(s.port(), events_path + "?channel=p", {bearer_u1});
    ASSERT_TRUE(stream.wait_for_events(1));
    const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    const std::string body = publish_body("after the 100");
    raw_connection c(s.port());
    ASSERT_TRUE(c.send(publish_head + "Expect: 100-continue\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n"));
    std::string buffer;
    // Well within curl's one-second wait, and before a byte of the body was sent.
    ASSERT_TRUE(c.read_until(
        buffer, [&](const std::string& b) { return b.size() >= continue_line.size(); }, 900ms))
        << buffer;
    ASSERT_EQ(buffer, continue_line);
    buffer.clear();
    ASSERT_TRUE(c.send(body));
    auto r = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status(), 200) << r->body;

    // Chunked too; and a client that sends its body without waiting gets no 100 (and the
    // final answer only).
    ASSERT_TRUE(
        c.send(publish_head + "Expect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n"));
    ASSERT_TRUE(c.read_until(
        buffer, [&](const std::string& b) { return b.size() >= continue_line.size(); }, 900ms));
    ASSERT_EQ(buffer, continue_line);
    buffer.clear();
    ASSERT_TRUE(c.send(chunked(publish_body("chunked after the 100"), 10)));
    r = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status(), 200) << r->body;
    const std::string eager = publish_body("sent at once");
    ASSERT_TRUE(c.send(publish_head + "Expect: 100-continue\r\nContent-Length: " +
                       std::to_string(eager.size()) + "\r\n\r\n" + eager));
    r = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status(), 200) << r->body;

    ASSERT_TRUE(stream.wait_for_events(4));
    EXPECT_EQ(stream.events()[1].data, "after the 100");
    EXPECT_EQ(stream.events()[2].data, "chunked after the 100");
    EXPECT_EQ(stream.events()[3].data, "sent at once");
}

TEST(request_body, a_body_too_large_is_refused_instead_of_continued) {
    served s({.rate_limit = 0}, {.max_body_bytes = 1024});
    raw_connection c(s.port());
    ASSERT_TRUE(c.send(publish_head + "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n"));
    std::string buffer;
    auto r = crier::test::read_reply(c, buffer);
    ASSERT_TRUE(r);
    expect_error(*r, 413, "body_too_large");  // the final status, never `100 Continue`
}

TEST(request_body, a_body_that_stops_halfway_is_408_after_the_continue) {
    served s({.rate_limit = 0}, {.request_timeout = 300ms});
    raw_connection c(s.port());
    ASSERT_TRUE(c.send(publish_head + "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      "5\r\nab"));
    std::string buffer;
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(c.read_until(
        buffer, [](const std::string& b) { return b.find("\r\n\r\n") != std::string::npos; }, 2s));
    ASSERT_EQ(buffer.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << buffer;
    buffer.erase(0, buffer.find("\r\n\r\n") + 4);
    auto r = crier::test::read_reply(c, buffer, 3s);
    ASSERT_TRUE(r);
    expect_error(*r, 408, "request_timeout");
    EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
    EXPECT_TRUE(c.read_to_eof(buffer, 3s));
}

}  // namespace
