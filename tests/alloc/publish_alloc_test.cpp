// SPDX-License-Identifier: MIT
// Counts the heap allocations of hub::publish in the steady state. A binary of its own: it
// replaces the global operator new and delete, which would count every other test's too.
#include <crier/core/hub.hpp>
#include <crier/core/subscription.hpp>
#include <crier/http/request.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

namespace {

/// Allocations made by this thread while `counting` is set (the hub starts no thread of its
/// own with these options, but a count per thread cannot be disturbed by one).
thread_local std::size_t allocations = 0;
thread_local bool counting = false;

void* allocate(std::size_t n) {
    if (counting) ++allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}

}  // namespace

// The replaceable global allocation functions (the aligned ones are not used by the hub).
void* operator new(std::size_t n) {
    return allocate(n);
}
void* operator new[](std::size_t n) {
    return allocate(n);
}
void* operator new(std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
    try {
        return allocate(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t& /*tag*/) noexcept {
    try {
        return allocate(n);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t /*n*/) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t /*n*/) noexcept {
    std::free(p);
}

namespace {

/// What one publish must allocate, and no more: the event's record (one make_shared) and its
/// encoded frame (one string). The channel-name list of the record stays within the string's
/// inline buffer for the short names used here.
constexpr std::size_t inherent_per_publish = 2;

/// Subscribers the way a transport has them: on_ready wakes it, it drains into a reused vector
/// (drain swaps, so the queue gets the vector's capacity back).
struct subscriber {
    crier::subscription sub;
    std::vector<crier::sse::frame> frames;
    std::size_t received = 0;

    void drain() {
        received += sub.drain(frames);
        frames.clear();
    }
};

std::vector<subscriber> subscribe_all(crier::hub& h, const std::vector<std::string>& channels,
                                      std::size_t per_channel) {
    std::vector<subscriber> subs(channels.size() * per_channel);
    std::size_t i = 0;
    for (const std::string& c : channels) {
        for (std::size_t k = 0; k < per_channel; ++k) {
            subs[i++].sub = h.subscribe({.channels = {c}, .on_ready = [] {}});
        }
    }
    return subs;
}

/// Publishes `rounds` times to every channel, draining every subscriber after each publish
/// (so every publish wakes its subscribers), and returns the allocations counted inside
/// hub::publish only.
std::size_t publish_rounds(crier::hub& h, const std::vector<std::string>& channels,
                           std::vector<subscriber>& subs, std::size_t rounds) {
    const std::string data(100, 'x');
    std::size_t counted = 0;
    for (std::size_t r = 0; r < rounds; ++r) {
        for (const std::string& c : channels) {
            allocations = 0;
            counting = true;
            const auto result = h.publish(std::string_view(c), "tick", data);
            counting = false;
            counted += allocations;
            EXPECT_TRUE(result) << result.error.message();
            for (subscriber& s : subs) s.drain();
        }
    }
    return counted;
}

}  // namespace

/// Unlimited rate, as a server measuring throughput runs it (a held event is batched later).
crier::hub_options unlimited() {
    return {.rate_limit = 0};
}

TEST(PublishAllocations, FanOutAllocatesOnlyTheRecordAndItsFrame) {
    crier::hub h(unlimited());
    const std::vector<std::string> channels{"fanout"};
    auto subs = subscribe_all(h, channels, 200);
    publish_rounds(h, channels, subs, 100);  // warm-up: history ring, queues, buffers
    const std::size_t n = 500;
    const std::size_t counted = publish_rounds(h, channels, subs, n);
    EXPECT_EQ(counted, n * inherent_per_publish);
    for (const subscriber& s : subs) EXPECT_EQ(s.received, 600U);
}

TEST(PublishAllocations, PerUserAllocatesOnlyTheRecordAndItsFrame) {
    crier::hub h(unlimited());
    std::vector<std::string> channels;
    for (int u = 0; u < 100; ++u) channels.push_back("user:" + std::to_string(u));
    auto subs = subscribe_all(h, channels, 1);
    publish_rounds(h, channels, subs, 60);  // past the history ring of every channel
    const std::size_t n = 20;
    const std::size_t counted = publish_rounds(h, channels, subs, n);
    EXPECT_EQ(counted, n * channels.size() * inherent_per_publish);
    for (const subscriber& s : subs) EXPECT_EQ(s.received, 80U);
}

// The reused list is this thread's: a publish from an on_ready callback (inside the outer
// publish's wake-ups) must get a list of its own, and both events must arrive.
TEST(PublishAllocations, PublishFromOnReadyDeliversBoth) {
    crier::hub h(unlimited());
    std::vector<crier::sse::frame> frames;
    int nested = 0;
    crier::subscription second = h.subscribe({.channels = {"second"}});
    crier::subscription first;
    std::vector<crier::subscription> more;
    for (int i = 0; i < 8; ++i) more.push_back(h.subscribe({.channels = {"first"}}));
    first = h.subscribe({.channels = {"first"}, .on_ready = [&] {
                             ++nested;
                             EXPECT_TRUE(h.publish("second", "nested", "{}"));
                         }});
    ASSERT_TRUE(h.publish("first", "outer", "{}"));
    EXPECT_EQ(nested, 1);
    EXPECT_EQ(first.drain(frames), 1U);
    for (crier::subscription& s : more) EXPECT_EQ(s.drain(frames), 1U);
    EXPECT_EQ(second.drain(frames), 1U);
    ASSERT_EQ(frames.size(), 10U);
    EXPECT_NE(frames.back()->find("event: nested\n"), std::string::npos);
    // The outer list survived the nested publish: the next publish wakes all nine again.
    ASSERT_TRUE(h.publish("first", "outer", "{}"));
    EXPECT_EQ(nested, 2);
    for (crier::subscription& s : more) EXPECT_EQ(s.drain(frames), 1U);
}

// A keep-alive connection parses every request into one object: after the first, a head with
// as many headers (and a body no longer) allocates nothing.
TEST(RequestParserAllocations, ReusesTheRequestsBuffers) {
    const std::string body = R"({"channel":"user:42","type":"tick","data":"{\"n\":1}"})";
    const std::string wire =
        "POST /api/realtime/publish HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nAuthorization: Bearer secret\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    crier::http::request_parser parser;
    crier::http::request request;
    std::size_t counted = 0;
    for (int i = 0; i < 100; ++i) {
        allocations = 0;
        counting = true;
        const auto result = parser.parse(wire, request);
        request.assign_body(std::string_view(wire).substr(parser.consumed()));
        counting = false;
        if (i >= 10) counted += allocations;  // the first ones size the buffers
        ASSERT_EQ(result, crier::http::parse_result::complete);
        ASSERT_EQ(request.path(), "/api/realtime/publish");
        ASSERT_EQ(request.header("authorization"), "Bearer secret");
        ASSERT_EQ(request.body(), body);
    }
    EXPECT_EQ(counted, 0U);
}

// An error leaves no half-parsed request behind, and the next request parses cleanly.
TEST(RequestParserAllocations, AnErrorEmptiesTheRequest) {
    crier::http::request_parser parser;
    crier::http::request request;
    ASSERT_EQ(parser.parse("GET /a?x=1 HTTP/1.1\r\nA: b\r\n\r\n", request),
              crier::http::parse_result::complete);
    EXPECT_EQ(parser.parse("GET /b HTTP/1.1\r\nbad header\r\n\r\n", request),
              crier::http::parse_result::error);
    EXPECT_EQ(request.target(), "");
    EXPECT_EQ(request.method(), "");
    EXPECT_TRUE(request.headers().empty());
    EXPECT_FALSE(request.header("a").has_value());
    ASSERT_EQ(parser.parse("GET /c HTTP/1.0\r\n\r\n", request),
              crier::http::parse_result::complete);
    EXPECT_EQ(request.target(), "/c");
    EXPECT_EQ(request.version_minor(), 0);
    EXPECT_TRUE(request.headers().empty());
}
