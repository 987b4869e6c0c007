// SPDX-License-Identifier: MIT
// URL parsing for the client, and Location resolution (RFC 3986 §5.2).
#include <crier/client/url.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using crier::client::url;

url parsed(std::string_view text) {
    url u;
    EXPECT_FALSE(crier::client::parse_url(text, u)) << text;
    return u;
}

std::string resolved(std::string_view base, std::string_view reference) {
    url out;
    if (auto ec = crier::client::resolve_url(parsed(base), reference, out)) return "error";
    return out.to_string();
}

TEST(url, parses_the_parts) {
    const url u = parsed("http://Example.COM:8080/api/realtime/events?channel=a&x=1#frag");
    EXPECT_EQ(u.scheme, "http");
    EXPECT_EQ(u.host, "example.com");
    EXPECT_EQ(u.port, 8080);
    EXPECT_EQ(u.target, "/api/realtime/events?channel=a&x=1");
    EXPECT_EQ(u.authority(), "example.com:8080");
}

TEST(url, default_ports_and_paths) {
    EXPECT_EQ(parsed("http://h").port, 80);
    EXPECT_EQ(parsed("http://h").target, "/");
    EXPECT_EQ(parsed("https://h").port, 443);
    EXPECT_EQ(parsed("HTTPS://h:443/x").authority(), "h");
    EXPECT_EQ(parsed("http://h:80/x").to_string(), "http://h/x");
    EXPECT_EQ(parsed("http://h?q=1").target, "/?q=1");
    EXPECT_EQ(parsed("http://h:/x").port, 80);
}

TEST(url, ip_literals) {
    const url v6 = parsed("http://[::1]:9000/events");
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 9000);
    EXPECT_EQ(v6.authority(), "[::1]:9000");
    EXPECT_EQ(parsed("http://[2001:DB8::7]/").host, "2001:db8::7");
    EXPECT_EQ(parsed("http://127.0.0.1:1/").host, "127.0.0.1");
}

TEST(url, percent_encodes_what_a_request_line_cannot_carry) {
    EXPECT_EQ(parsed("http://h/a b?c=\"d\"").target, "/a%20b?c=%22d%22");
    EXPECT_EQ(parsed("http://h/caf\xC3\xA9").target, "/caf%C3%A9");
    EXPECT_EQ(parsed("http://h/already%20encoded").target, "/already%20encoded");
    EXPECT_EQ(parsed("  http://h/x \n").target, "/x");
}

TEST(url, rejects_what_it_cannot_fetch) {
    const std::string_view bad[] = {
        "",
        "h/x",
        "ftp://h/",
        "http://",
        "http:///x",
        "http://u:p@h/",
        "http://h:0/",
        "http://h:65536/",
        "http://h:8x/",
        "http://[::1/",
        "http://[::1]x/",
        "http://[zz]/",
        "http://h h/",
        "mailto:a@b",
    };
    for (const auto text : bad) {
        url u;
        EXPECT_EQ(crier::client::parse_url(text, u), crier::errc::invalid_url) << text;
    }
}

TEST(url, same_origin) {
    EXPECT_TRUE(parsed("http://h:1/a").same_origin(parsed("http://H:1/b?c")));
    EXPECT_FALSE(parsed("http://h:1/a").same_origin(parsed("http://h:2/a")));
    EXPECT_FALSE(parsed("http://h/a").same_origin(parsed("https://h/a")));
    EXPECT_FALSE(parsed("http://h/a").same_origin(parsed("http://g/a")));
}

TEST(url, resolves_references) {
    const std::string_view base = "http://a:8/b/c/d;p?q";
    // RFC 3986 §5.4.1, for the forms a Location header uses.
    EXPECT_EQ(resolved(base, "g"), "http://a:8/b/c/g");
    EXPECT_EQ(resolved(base, "./g"), "http://a:8/b/c/g");
    EXPECT_EQ(resolved(base, "g/"), "http://a:8/b/c/g/");
    EXPECT_EQ(resolved(base, "/g"), "http://a:8/g");
    EXPECT_EQ(resolved(base, "//g"), "http://g/");
    EXPECT_EQ(resolved(base, "?y"), "http://a:8/b/c/d;p?y");
    EXPECT_EQ(resolved(base, "g?y"), "http://a:8/b/c/g?y");
    EXPECT_EQ(resolved(base, "#s"), "http://a:8/b/c/d;p?q");
    EXPECT_EQ(resolved(base, "g#s"), "http://a:8/b/c/g");
    EXPECT_EQ(resolved(base, "."), "http://a:8/b/c/");
    EXPECT_EQ(resolved(base, "./"), "http://a:8/b/c/");
    EXPECT_EQ(resolved(base, ".."), "http://a:8/b/");
    EXPECT_EQ(resolved(base, "../g"), "http://a:8/b/g");
    EXPECT_EQ(resolved(base, "../.."), "http://a:8/");
    EXPECT_EQ(resolved(base, "../../../g"), "http://a:8/g");
    EXPECT_EQ(resolved(base, "/./g"), "http://a:8/g");
    EXPECT_EQ(resolved(base, "/../g"), "http://a:8/g");
    EXPECT_EQ(resolved(base, "g."), "http://a:8/b/c/g.");
    EXPECT_EQ(resolved(base, "g/../h"), "http://a:8/b/c/h");
    EXPECT_EQ(resolved(base, "https://other/x"), "https://other/x");
    EXPECT_EQ(resolved(base, "HTTP://Other:9/x?y"), "http://other:9/x?y");
    EXPECT_EQ(resolved(base, "ftp://other/x"), "error");
    EXPECT_EQ(resolved("https://a/b", "//c/d"), "https://c/d");
    EXPECT_EQ(resolved("http://a/b", "/new path"), "http://a/new%20path");
}

}  // namespace
