// SPDX-License-Identifier: MIT
// Memory stays bounded: a million 1 KiB events over a thousand channels, with subscribers that
// never drain, and the hub's accounted bytes never exceed its configured history and queue bounds.
#include <crier/core/hub.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/core/hub_test_util.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#    define CRIER_TEST_SANITIZED 1
#elif defined(__has_feature)
#    if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#        define CRIER_TEST_SANITIZED 1
#    endif
#endif

namespace {

#if defined(CRIER_TEST_SANITIZED)
constexpr std::size_t event_count = 100'000;  // sanitizers are ~10x slower; same bounds apply
#else
constexpr std::size_t event_count = 1'000'000;
#endif

TEST(hub_memory, bounded_whatever_clients_do) {
    constexpr std::size_t channels = 1000;
    constexpr std::size_t history_total = std::size_t{8} << 20;
    constexpr std::size_t queue_bytes = std::size_t{128} << 10;
    crier::hub h(crier_test::unlimited({.history_size = 50,
                                        .history_bytes = std::size_t{16} << 10,
                                        .history_total_bytes = history_total,
                                        .queue_frames = 256,
                                        .queue_bytes = queue_bytes,
                                        .overflow = crier::overflow_policy::drop_oldest}));
    std::vector<std::string> names;
    for (std::size_t c = 0; c < channels; ++c) names.push_back("ch:" + std::to_string(c));

    // Readers that never drain (everything, and a few channels), and one that drains now and then.
    std::vector<crier::subscription> subs;
    subs.push_back(h.subscribe({.channels = {"ch:*"}}));
    for (std::size_t c = 0; c < 10; ++c) subs.push_back(h.subscribe({.channels = {names[c * 97]}}));
    auto reader = h.subscribe({.channels = {"*"}});
    const std::size_t sub_count = subs.size() + 1;

    const std::string payload(1024, 'x');
    std::vector<crier::sse::frame> sink;
    std::size_t max_history = 0;
    std::size_t max_queued = 0;
    for (std::size_t i = 0; i < event_count; ++i) {
        auto r = h.publish(names[(i * 7919) % channels], "load:tick", payload);
        ASSERT_TRUE(r) << r.error.message();
        if (i % 1000 == 999) {
            sink.clear();
            reader.drain(sink);
        }
        if (i % 20000 == 19999) {
            const auto st = h.stats();
            max_history = std::max(max_history, st.history_bytes);
            max_queued = std::max(max_queued, st.queued_bytes);
            ASSERT_LE(st.history_bytes, history_total);
            ASSERT_LE(st.history_events, channels * 50);
            ASSERT_LE(st.queued_bytes, sub_count * queue_bytes);
            for (const auto& s : subs) ASSERT_LE(s.queued_bytes(), queue_bytes);
        }
    }
    const auto st = h.stats();
    EXPECT_EQ(st.published, event_count);
    EXPECT_GT(st.overflows, 0u);
    EXPECT_LE(st.history_bytes, history_total);
    // The bound is reached, not merely respected by a hub that keeps nothing.
    EXPECT_GT(max_history, history_total / 2);
    EXPECT_GT(max_queued, 0u);
    EXPECT_EQ(st.channels, channels);
}

}  // namespace
