// SPDX-License-Identifier: MIT
// The embedded server under hostile clients, throwing hooks and overload, over real sockets on
// 127.0.0.1: write deadlines, exceptions from host code, exact Content-Length, principal ids
// that look like patterns, shutdown with stalled streams, and bounded history responses.
#include <crier/adapters/http_server.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <support/raw_client.hpp>
#include <support/served.hpp>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using crier::test::bearer_u1;
using crier::test::events_path;
using crier::test::raw_connection;
using crier::test::request;
using crier::test::served;
using crier::test::sse_stream;

// Polls `done` until it holds or `timeout` passes; returns done().
template <class Done>
bool eventually(Done&& done, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return done();
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// ---- Write deadline ----------------------------------------------------------------------

TEST(http_server_hardening, stalled_reader_is_closed_by_the_write_deadline) {
    // drop_oldest keeps the subscription (and the per-user slot) alive however far the reader
    // falls behind, so only the write deadline can free them.
    served s({.overflow = crier::overflow_policy::drop_oldest,
              .rate_limit = 0,
              .max_connections_per_user = 1},
             {.write_timeout = 300ms});
    sse_stream stalled(s.port(), events_path, {bearer_u1}, 4096);
    ASSERT_TRUE(stalled.wait_for_events(1));
    ASSERT_EQ(s.hub.connections("u1"), 1u);
    ASSERT_EQ(s.server.connections(), 1u);

    // The reader stops reading; 64 KiB events fill its receive buffer and the server's send
    // buffer, so the server's write stops making progress.
    const std::string big(64 * 1024, 'x');
    const auto stalled_at = std::chrono::steady_clock::now();
    for (int i = 0; i < 200 && s.hub.connections("u1") != 0; ++i) {
        ASSERT_FALSE(s.hub.publish_to_user("u1", "horses:big", big).error);
        std::this_thread::sleep_for(2ms);
    }
    ASSERT_TRUE(eventually([&] { return s.hub.connections("u1") == 0; }, 5s))
        << "the stalled stream still holds its slot";
    EXPECT_LT(std::chrono::steady_clock::now() - stalled_at, 4s);
    EXPECT_TRUE(eventually([&] { return s.hub.stats().subscriptions == 0; }));
    EXPECT_TRUE(eventually([&] { return s.server.connections() == 0; }))
        << s.server.connections() << " connections still open";

    // The slot is free again: the same user is accepted with max_connections_per_user = 1.
    sse_stream again(s.port(), events_path, {bearer_u1});
    EXPECT_EQ(again.head().status, 200);
    ASSERT_TRUE(again.wait_for_events(1));
    ASSERT_FALSE(s.hub.publish_to_user("u1", "horses:small", "hi").error);
    ASSERT_TRUE(again.wait_for_events(2));
    EXPECT_EQ(again.events()[1].data, "hi");
}

TEST(http_server_hardening, reader_that_never_reads_a_response_is_closed_by_the_write_deadline) {
    // A 6 MB static file is far more than the socket buffers hold: the response's write stalls
    // while the client never reads.
    const auto dir = std::filesystem::temp_directory_path() /
                     ("crier_write_deadline_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "big.bin", std::ios::binary) << std::string(6u << 20, 'b');
    served s({}, {.write_timeout = 300ms, .static_dir = dir.string()});
    raw_connection c(s.port(), 4096);
    ASSERT_TRUE(c.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return s.server.connections() == 1; }));
    const auto sent_at = std::chrono::steady_clock::now();
    EXPECT_TRUE(eventually([&] { return s.server.connections() == 0; }, 5s))
        << s.server.connections() << " connections still open";
    EXPECT_LT(std::chrono::steady_clock::now() - sent_at, 4s);
    std::filesystem::remove_all(dir);
}

}  // namespace
