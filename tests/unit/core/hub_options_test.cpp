// SPDX-License-Identifier: MIT
// The documented defaults of hub_options: the seed system's numbers.
#include <crier/core/hub_options.hpp>

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;

TEST(hub_options, defaults_are_the_seeds) {
    const crier::hub_options o;
    EXPECT_EQ(o.history_size, 50u);
    EXPECT_EQ(o.rate_limit, 100u);
    EXPECT_EQ(o.rate_window, 1min);
    EXPECT_EQ(o.rate_policy, crier::rate_limit_policy::batch);
    EXPECT_EQ(o.overflow, crier::overflow_policy::disconnect);
    EXPECT_EQ(o.max_connections_per_user, 3u);
    EXPECT_EQ(o.heartbeat_interval, 30s);
    EXPECT_EQ(o.idle_timeout, 5min);
    EXPECT_GT(o.queue_frames, 0u);
    EXPECT_GT(o.queue_bytes, 0u);
    EXPECT_GT(o.dedup_capacity, 0u);
    EXPECT_GT(o.dedup_window, 0ms);
    EXPECT_TRUE(o.dedup_fields.empty());
    EXPECT_FALSE(o.backplane);
}

TEST(hub_options, designated_initializers) {
    const crier::hub_options o{.history_size = 100,
                               .overflow = crier::overflow_policy::drop_oldest};
    EXPECT_EQ(o.history_size, 100u);
    EXPECT_EQ(o.overflow, crier::overflow_policy::drop_oldest);
    EXPECT_EQ(o.rate_limit, 100u);
}

}  // namespace
