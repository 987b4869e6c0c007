// SPDX-License-Identifier: MIT
// The HS256 JWT helper: signature, algorithm, expiry and claims checks, and the embedded server
// authenticating streams with it (bearer header and cookie).
#include <crier/adapters/http_server.hpp>
#include <crier/adapters/jwt.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <support/raw_client.hpp>

namespace {

using crier::adapters::jwt_options;
using crier::adapters::jwt_verifier;

const std::string secret = "0123456789abcdef0123456789abcdef";

std::int64_t in_seconds(std::int64_t delta) {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
           delta;
}

std::string token(std::string_view claims, std::string_view key = secret) {
    return jwt_verifier::sign(claims, key);
}

TEST(jwt, base64url_round_trip) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
        EXPECT_EQ(jwt_verifier::base64url_decode(jwt_verifier::base64url_encode(s)), s);
    }
    EXPECT_EQ(jwt_verifier::base64url_encode("\xfb\xff"), "-_8");
    EXPECT_EQ(jwt_verifier::base64url_decode("a+b/"), std::nullopt);
    EXPECT_EQ(jwt_verifier::base64url_decode("abcde"), std::nullopt);
}

TEST(jwt, known_vector) {
    // The expected token was computed independently (Python's hmac and base64 modules) for
    // this key and these claims.
    constexpr std::string_view expected =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiI0MiIsImV4cCI6OTk5OTk5OTk5OSwiYWRtaW4iOnRydWV9."
        "N6bs73TZQEinvhw5YegLzqV9ztmaoo0xqD3vGa8Srac";
    const std::string t = token(R"({"sub":"42","exp":9999999999,"admin":true})");
    EXPECT_EQ(t, expected);
    std::error_code ec;
    const auto claims = jwt_verifier({.secret = secret}).verify(expected, ec);
    ASSERT_TRUE(claims) << ec.message();
    EXPECT_EQ(claims->subject, "42");
    EXPECT_TRUE(claims->admin);
    EXPECT_TRUE(claims->publisher);
}

TEST(jwt, refuses_what_it_must) {
    const jwt_verifier v({.secret = secret});
    auto reason = [&](const std::string& t) {
        std::error_code ec;
        std::string why;
        const auto c = v.verify(t, ec, &why);
        EXPECT_FALSE(c);
        EXPECT_EQ(ec, crier::errc::unauthorized);
        return why;
    };
    const std::string claims = fmt::format(R"({{"sub":"u1","exp":{}}})", in_seconds(600));
    EXPECT_EQ(reason(token(claims, "another key")), "bad signature");
    std::string tampered = token(claims);
    tampered[tampered.find('.') + 2] ^= 1;
    EXPECT_NE(reason(tampered), "");
    EXPECT_EQ(reason(token(fmt::format(R"({{"sub":"u1","exp":{}}})", in_seconds(-120)))),
              "token expired");
    EXPECT_EQ(reason(token(R"({"sub":"u1"})")), "no exp claim");
    EXPECT_EQ(reason(token(fmt::format(R"({{"exp":{}}})", in_seconds(60)))), "no sub claim");
    EXPECT_EQ(reason(token(fmt::format(R"({{"sub":"u","exp":{},"nbf":{}}})", in_seconds(600),
                                       in_seconds(300)))),
              "token not yet valid");
    EXPECT_EQ(reason("abc"), "not a compact JWS");
    // alg=none with an empty signature is refused.
    const std::string none = jwt_verifier::base64url_encode(R"({"alg":"none"})") + "." +
                             jwt_verifier::base64url_encode(claims) + ".";
    EXPECT_EQ(reason(none), "alg must be HS256");
    // Within the leeway, an expired token still passes; numbers work as subjects.
    std::error_code ec;
    const auto ok = v.verify(token(fmt::format(R"({{"sub":7,"exp":{}}})", in_seconds(-5))), ec);
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->subject, "7");
    EXPECT_FALSE(ok->admin);
    EXPECT_FALSE(ok->publisher);
}

TEST(jwt, issuer_and_audience) {
    const jwt_verifier v({.secret = secret, .issuer = "crier", .audience = "app"});
    std::error_code ec;
    EXPECT_TRUE(v.verify(
        token(fmt::format(R"({{"sub":"a","exp":{},"iss":"crier","aud":"app"}})", in_seconds(60))),
        ec));
    EXPECT_FALSE(v.verify(
        token(fmt::format(R"({{"sub":"a","exp":{},"iss":"other","aud":"app"}})", in_seconds(60))),
        ec));
    EXPECT_FALSE(v.verify(
        token(fmt::format(R"({{"sub":"a","exp":{},"iss":"crier"}})", in_seconds(60))), ec));
}

TEST(jwt, server_authenticates_streams_with_bearer_or_cookie) {
    crier::hub hub;
    const jwt_verifier verifier({.secret = secret, .cookie = "session"});
    crier::adapters::http_server server(
        hub, {.port = 0, .threads = 1, .authenticate = [&](const crier::http::request& r) {
                  return verifier.authenticate(r);
              }});
    server.start();
    const std::string t = token(fmt::format(R"({{"sub":"u7","exp":{}}})", in_seconds(600)));
    const std::string path = "/api/realtime/events";
    crier::test::sse_stream bearer(server.port(), path, {"Authorization: Bearer " + t});
    EXPECT_EQ(bearer.head().status, 200);
    ASSERT_TRUE(bearer.wait_for_events(1));
    EXPECT_NE(bearer.events()[0].data.find(R"("user:u7")"), std::string::npos);
    crier::test::sse_stream cookie(server.port(), path, {"Cookie: a=b; session=" + t});
    EXPECT_EQ(cookie.head().status, 200);
    crier::test::sse_stream bad(server.port(), path, {"Authorization: Bearer " + t + "x"});
    EXPECT_EQ(bad.head().status, 401);
    EXPECT_EQ(bad.head().header("www-authenticate"), "Bearer");
    crier::test::sse_stream none(server.port(), path);
    EXPECT_EQ(none.head().status, 401);
    // A private event reaches the token's user.
    ASSERT_FALSE(hub.publish_to_user("u7", "notification", "for u7").error);
    ASSERT_TRUE(bearer.wait_for_events(2));
    EXPECT_EQ(bearer.events()[1].data, "for u7");
}

TEST(jwt, a_subject_that_looks_like_a_pattern_reads_nothing_private) {
    crier::hub hub({.rate_limit = 0});
    const jwt_verifier verifier({.secret = secret});
    crier::adapters::http_server server(
        hub, {.port = 0, .threads = 1, .authenticate = [&](const crier::http::request& r) {
                  return verifier.authenticate(r);
              }});
    server.start();
    const std::string path = "/api/realtime/events";
    auto bearer = [](std::string_view sub) {
        return "Authorization: Bearer " +
               token(fmt::format(R"({{"sub":"{}","exp":{}}})", sub, in_seconds(600)));
    };
    crier::test::sse_stream alice(server.port(), path, {bearer("alice")});
    ASSERT_EQ(alice.head().status, 200);
    ASSERT_TRUE(alice.wait_for_events(1));
    for (std::string_view sub : {"al*", "*", "al?", "a b", "user:alice", "x\\u0001"}) {
        SCOPED_TRACE(sub);
        crier::test::sse_stream attacker(server.port(), path, {bearer(sub)});
        EXPECT_EQ(attacker.head().status, 400) << attacker.raw();
        EXPECT_NE(attacker.body().find(R"("code":"invalid_user_id")"), std::string::npos)
            << attacker.body();
    }
    EXPECT_EQ(hub.stats().subscriptions, 1u);
    ASSERT_FALSE(hub.publish_to_user("alice", "notification", "for alice").error);
    ASSERT_TRUE(alice.wait_for_events(2));
    EXPECT_EQ(alice.events()[1].data, "for alice");
}

}  // namespace
