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

TEST(http_response, status_lines_name_every_status_the_server_or_a_host_route_sends) {
    const std::pair<int, std::string_view> named[] = {{100, "Continue"},
                                                      {200, "OK"},
                                                      {201, "Created"},
                                                      {202, "Accepted"},
                                                      {204, "No Content"},
                                                      {302, "Found"},
                                                      {303, "See Other"},
                                                      {307, "Temporary Redirect"},
                                                      {400, "Bad Request"},
                                                      {404, "Not Found"},
                                                      {410, "Gone"},
                                                      {413, "Content Too Large"},
                                                      {417, "Expectation Failed"},
                                                      {422, "Unprocessable Content"},
                                                      {429, "Too Many Requests"},
                                                      {501, "Not Implemented"},
                                                      {502, "Bad Gateway"},
                                                      {503, "Service Unavailable"},
                                                      {504, "Gateway Timeout"}};
    for (const auto& [status, phrase] : named) {
        EXPECT_EQ(crier::http::reason_phrase(status), phrase) << status;
        std::string wire;
        crier::http::serialize(wire, crier::http::response{.status = status}, true);
        EXPECT_EQ(wire.rfind(
                      "HTTP/1.1 " + std::to_string(status) + " " + std::string(phrase) + "\r\n", 0),
                  0u)
            << wire;
    }
    std::string interim;
    crier::http::serialize_interim(interim, 100);
    EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
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
