// SPDX-License-Identifier: MIT
// The one response serializer: exact Content-Length, framing headers, and the stream head.
#include <crier/http/response.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

// Splits a serialized response into head and body at the blank line.
std::pair<std::string, std::string> split(const std::string& wire) {
    const auto end = wire.find("\r\n\r\n");
    EXPECT_NE(end, std::string::npos) << wire;
    return {wire.substr(0, end + 4), wire.substr(end + 4)};
}

TEST(http_response, content_length_counts_the_body_it_sends) {
    for (const auto& r :
         {crier::http::json_error(503, "too_many_connections", "server is at capacity"),
          crier::http::json_error(400, "bad_request", "quote \" backslash \\ tab \t é \x01"),
          crier::http::response{.body = std::string(100000, 'x')}, crier::http::response{}}) {
        std::string wire;
        crier::http::serialize(wire, r, true);
        const auto [head, body] = split(wire);
        EXPECT_EQ(body, r.body);
        EXPECT_NE(head.find("Content-Length: " + std::to_string(body.size()) + "\r\n"),
                  std::string::npos)
            << head;
    }
}

TEST(http_response, json_error_body_is_one_line_ending_in_a_newline) {
    const auto r = crier::http::json_error(404, "not_found", "no such route");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(
        r.body,
        "{\"error\":{\"status\":404,\"code\":\"not_found\",\"message\":\"no such route\"}}\n");
}

TEST(http_response, connection_header_follows_keep_alive_and_close) {
    std::string keep, closing, forced;
    crier::http::serialize(keep, crier::http::response{}, true);
    crier::http::serialize(closing, crier::http::response{}, false);
    crier::http::serialize(forced, crier::http::response{.close = true}, true);
    EXPECT_NE(keep.find("Connection: keep-alive\r\n"), std::string::npos);
    EXPECT_NE(closing.find("Connection: close\r\n"), std::string::npos);
    EXPECT_NE(forced.find("Connection: close\r\n"), std::string::npos);
}

TEST(http_response, stream_head_has_no_length_and_no_body) {
    crier::http::response r;
    r.content_type = "text/event-stream";
    r.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
    r.body = "ignored";
    std::string wire;
    crier::http::serialize_stream_head(wire, r);
    EXPECT_EQ(wire,
              "HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"
              "Content-Type: text/event-stream\r\nConnection: keep-alive\r\n\r\n");
}

}  // namespace
