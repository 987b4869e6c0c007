// SPDX-License-Identifier: MIT
// Response heads: finding the end, parsing the status line and fields, body framing.
#include <crier/client/response_head.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using crier::client::body_framing;
using crier::client::response_head;

response_head parsed(std::string_view head) {
    response_head h;
    EXPECT_FALSE(crier::client::parse_response_head(head, h)) << head;
    return h;
}

TEST(response_head, finds_the_end_of_the_head) {
    using crier::client::find_head_end;
    EXPECT_EQ(find_head_end("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody"), 25u);
    EXPECT_EQ(find_head_end("HTTP/1.1 200 OK\nA: b\n\nbody"), 22u);
    EXPECT_EQ(find_head_end("HTTP/1.1 200 OK\r\nA: b\r\n\r"), 0u);
    EXPECT_EQ(find_head_end("HTTP/1.1 200 OK\r\nA: b\r\n"), 0u);
    // Fed a byte at a time, resuming where the previous search stopped.
    const std::string head = "HTTP/1.1 204 No Content\r\nX: y\r\n\r\nrest";
    std::string buffer;
    std::size_t found = 0;
    for (std::size_t i = 0; i < head.size() && found == 0; ++i) {
        const std::size_t searched = buffer.size();
        buffer.push_back(head[i]);
        found = find_head_end(buffer, searched);
    }
    EXPECT_EQ(found, head.size() - 4);
}

TEST(response_head, parses_status_and_fields) {
    const auto h = parsed(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        "Cache-Control:no-cache \r\nX-Empty:\r\nx-dup: 1\r\nX-Dup: 2\r\n\r\n");
    EXPECT_EQ(h.status, 200);
    EXPECT_EQ(h.reason, "OK");
    ASSERT_EQ(h.fields.size(), 5u);
    EXPECT_EQ(h.find("content-type"), "text/event-stream; charset=utf-8");
    EXPECT_EQ(h.find("CACHE-CONTROL"), "no-cache");
    EXPECT_EQ(h.find("x-empty"), "");
    EXPECT_EQ(h.find("x-dup"), "1");
    EXPECT_EQ(h.find("missing"), std::nullopt);
    EXPECT_EQ(parsed("HTTP/1.0 404\r\n\r\n").status, 404);
    EXPECT_EQ(parsed("HTTP/1.1 302 Found\nLocation: /x\n\n").find("location"), "/x");
}

TEST(response_head, rejects_malformed_heads) {
    const std::string_view bad[] = {
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\n: v\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
    };
    for (const auto head : bad) {
        response_head h;
        EXPECT_EQ(crier::client::parse_response_head(head, h), crier::errc::protocol_error) << head;
    }
    std::string many = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 101; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
    response_head h;
    EXPECT_EQ(crier::client::parse_response_head(many + "\r\n", h), crier::errc::protocol_error);
}

TEST(response_head, framing) {
    body_framing kind{};
    std::uint64_t length = 0;
    EXPECT_FALSE(parsed("HTTP/1.1 200 OK\r\n\r\n").framing(kind, length));
    EXPECT_EQ(kind, body_framing::until_close);
    EXPECT_FALSE(parsed("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n").framing(kind, length));
    EXPECT_EQ(kind, body_framing::content_length);
    EXPECT_EQ(length, 42u);
    EXPECT_FALSE(
        parsed("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nContent-Length: 4\r\n\r\n")
            .framing(kind, length));
    EXPECT_EQ(kind, body_framing::chunked);
    EXPECT_FALSE(parsed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
                     .framing(kind, length));
    EXPECT_EQ(kind, body_framing::chunked);
    EXPECT_TRUE(parsed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")
                    .framing(kind, length));
    EXPECT_TRUE(parsed("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").framing(kind, length));
    EXPECT_TRUE(parsed("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n").framing(kind, length));
}

TEST(response_head, media_type) {
    using crier::client::has_media_type;
    EXPECT_TRUE(has_media_type("text/event-stream", "text/event-stream"));
    EXPECT_TRUE(has_media_type("Text/Event-Stream ; charset=utf-8", "text/event-stream"));
    EXPECT_FALSE(has_media_type("text/plain", "text/event-stream"));
    EXPECT_FALSE(has_media_type("text/event-streams", "text/event-stream"));
    EXPECT_FALSE(has_media_type("", "text/event-stream"));
}

}  // namespace
