// SPDX-License-Identifier: MIT
// The bounded request-head parser: valid requests, every error status, and accessors.
#include <crier/http/request.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using crier::http::parse_result;
using crier::http::request;
using crier::http::request_parser;

TEST(request_parser, parses_a_complete_head) {
    const std::string raw =
        "GET /api/realtime/events?channel=stable%3A1&channel=horses&x=a+b HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\nLast-Event-ID:  3f-7 \r\nCookie: a=1; token=\"abc\"; b=2\r\n\r\nrest";
    request_parser p;
    request r;
    ASSERT_EQ(p.parse(raw, r), parse_result::complete);
    EXPECT_EQ(p.consumed(), raw.size() - 4);
    EXPECT_EQ(r.method(), "GET");
    EXPECT_EQ(r.path(), "/api/realtime/events");
    EXPECT_EQ(r.query(), "channel=stable%3A1&channel=horses&x=a+b");
    EXPECT_EQ(r.version_minor(), 1);
    EXPECT_EQ(r.header("last-event-id"), "3f-7");
    EXPECT_EQ(r.header("HOST"), "127.0.0.1");
    EXPECT_EQ(r.header("missing"), std::nullopt);
    EXPECT_EQ(r.query_params("channel"), (std::vector<std::string>{"stable:1", "horses"}));
    EXPECT_EQ(r.query_param_count("channel"), 2u);
    EXPECT_EQ(r.query_param_count("y"), 0u);
    const auto bad = request::from("GET", "/e?channel=a&channel=%zz&channel=b&%63hannel=c");
    EXPECT_EQ(bad.query_params("channel"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(bad.query_param_count("channel"), 4u);  // the malformed one counts
    EXPECT_EQ(r.query_param("x"), "a b");
    EXPECT_EQ(r.query_param("y"), std::nullopt);
    EXPECT_EQ(r.cookie("token"), "abc");
    EXPECT_EQ(r.cookie("b"), "2");
    EXPECT_EQ(r.cookie("c"), std::nullopt);
    EXPECT_TRUE(r.keep_alive());
    EXPECT_EQ(r.headers().size(), 3u);
}

TEST(request_parser, incomplete_until_the_empty_line_at_any_split) {
    const std::string raw = "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
    for (std::size_t i = 0; i < raw.size(); ++i) {
        request_parser p;
        request r;
        EXPECT_EQ(p.parse(std::string_view(raw).substr(0, i), r), parse_result::incomplete) << i;
    }
    request_parser p;
    request r;
    ASSERT_EQ(p.parse(raw, r), parse_result::complete);
    EXPECT_EQ(r.content_length(), 5u);
}

TEST(request_parser, bare_lf_line_endings) {
    request_parser p;
    request r;
    ASSERT_EQ(p.parse("GET / HTTP/1.0\nConnection: keep-alive\n\n", r), parse_result::complete);
    EXPECT_EQ(r.version_minor(), 0);
    EXPECT_TRUE(r.keep_alive());
}

TEST(request_parser, keep_alive_rules) {
    request_parser p;
    request r;
    ASSERT_EQ(p.parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", r), parse_result::complete);
    EXPECT_FALSE(r.keep_alive());
    ASSERT_EQ(p.parse("GET / HTTP/1.0\r\n\r\n", r), parse_result::complete);
    EXPECT_FALSE(r.keep_alive());
}

struct bad_case {
    std::string raw;
    int status;
};

TEST(request_parser, rejects_malformed_heads_with_precise_status) {
    const std::vector<bad_case> cases = {
        {"GET /\r\n\r\n", 400},
        {"GET  / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1 x\r\n\r\n", 400},
        {"G(T / HTTP/1.1\r\n\r\n", 400},
        {"GET ftp://x/ HTTP/1.1\r\n\r\n", 400},
        {"GET http:///path HTTP/1.1\r\n\r\n", 400},
        {"GET x/y HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\n\r\n", 505},
        {"GET / HTTX/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\n: x\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {std::string("GET /\0 HTTP/1.1\r\n\r\n", 19), 400},
    };
    for (const auto& c : cases) {
        request_parser p;
        request r;
        EXPECT_EQ(p.parse(c.raw, r), parse_result::error) << c.raw;
        EXPECT_EQ(p.error_status(), c.status) << c.raw;
        EXPECT_FALSE(p.error_message().empty());
    }
}

TEST(request_parser, absolute_form_targets_route_by_path_and_query) {
    const std::pair<std::string, std::string> cases[] = {
        {"http://example.com/api/realtime/events?channel=a", "/api/realtime/events?channel=a"},
        {"HTTPS://example.com:8443/x", "/x"},
        {"http://example.com", "/"},
        {"http://example.com?since=3", "/?since=3"},
        {"http://user@h/p/q?r=s#", "/p/q?r=s#"},
    };
    for (const auto& [target, routed] : cases) {
        request_parser p;
        request r;
        const std::string raw =
            "GET " + target + " HTTP/1.1\r\nHost: example.com\r\nX-After: kept\r\n\r\n";
        ASSERT_EQ(p.parse(raw, r), parse_result::complete) << target;
        EXPECT_EQ(r.target(), routed) << target;
        EXPECT_EQ(r.path(), routed.substr(0, routed.find('?'))) << target;
        EXPECT_EQ(r.header("x-after"), "kept") << target;
        EXPECT_EQ(r.header("host"), "example.com") << target;
        EXPECT_EQ(r.method(), "GET");
    }
}

TEST(request_parser, chunked_bodies_and_expect_continue) {
    request_parser p;
    request r;
    ASSERT_EQ(p.parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", r),
              parse_result::complete);
    EXPECT_TRUE(r.chunked());
    EXPECT_EQ(r.content_length(), 0u);
    EXPECT_FALSE(r.expects_continue());
    ASSERT_EQ(p.parse("POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", r),
              parse_result::complete);
    EXPECT_FALSE(r.chunked());  // not left over from the request before

    const auto expects = [&](const std::string& raw) {
        request_parser q;
        request x;
        EXPECT_EQ(q.parse(raw, x), parse_result::complete) << raw;
        return x.expects_continue();
    };
    EXPECT_TRUE(expects("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
    EXPECT_TRUE(
        expects("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n"));
    // No body to wait for, HTTP/1.0 (which has no 100), or another expectation.
    EXPECT_FALSE(expects("POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"));
    EXPECT_FALSE(expects("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
    EXPECT_FALSE(expects("POST / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\n"));
}

TEST(request_parser, head_size_is_bounded) {
    request_parser p(64);
    request r;
    // Complete but too large.
    EXPECT_EQ(p.parse("GET / HTTP/1.1\r\nX-Long: " + std::string(80, 'a') + "\r\n\r\n", r),
              parse_result::error);
    EXPECT_EQ(p.error_status(), 431);
    // Incomplete and already too large: no need to wait for the rest.
    request_parser q(64);
    EXPECT_EQ(q.parse("GET / HTTP/1.1\r\nX-Long: " + std::string(80, 'a'), r), parse_result::error);
    EXPECT_EQ(q.error_status(), 431);
    // Too many headers.
    std::string many = "GET / HTTP/1.1\r\n";
    // append(), not "H" + std::string: GCC 12 at -O3 reports a false -Wrestrict on that.
    for (int i = 0; i < 101; ++i) many.append("H").append(std::to_string(i)).append(": v\r\n");
    many += "\r\n";
    request_parser big(1 << 20);
    EXPECT_EQ(big.parse(many, r), parse_result::error);
    EXPECT_EQ(big.error_status(), 431);
}

TEST(percent_decode, decodes_and_rejects) {
    EXPECT_EQ(crier::http::percent_decode("a%20b+c%3a"), "a b c:");
    EXPECT_EQ(crier::http::percent_decode("%"), std::nullopt);
    EXPECT_EQ(crier::http::percent_decode("%4"), std::nullopt);
    EXPECT_EQ(crier::http::percent_decode("%zz"), std::nullopt);
    EXPECT_EQ(crier::http::percent_decode(""), "");
}

}  // namespace
