// SPDX-License-Identifier: MIT
// The reconnection backoff: doubling, the cap, full jitter, the server's retry honoured.
#include <crier/client/backoff.hpp>

#include <gtest/gtest.h>

namespace {

using crier::client::backoff_delay;
using std::chrono::milliseconds;

TEST(backoff, doubles_up_to_the_cap) {
    const milliseconds expected[] = {milliseconds(100), milliseconds(200),  milliseconds(400),
                                     milliseconds(800), milliseconds(1000), milliseconds(1000)};
    for (unsigned i = 0; i < std::size(expected); ++i) {
        EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(1000), i, 1.0), expected[i]) << i;
    }
    EXPECT_EQ(backoff_delay(milliseconds(3000), milliseconds(60000), 4000000000u, 1.0),
              milliseconds(60000));
}

TEST(backoff, full_jitter_spans_zero_to_the_ceiling) {
    EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(1000), 2, 0.0), milliseconds(0));
    EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(1000), 2, 0.5), milliseconds(200));
    EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(1000), 2, 0.25), milliseconds(100));
    // Out-of-range jitter is clamped.
    EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(1000), 0, 7.0), milliseconds(100));
    EXPECT_EQ(backoff_delay(milliseconds(100), milliseconds(1000), 0, -1.0), milliseconds(0));
}

TEST(backoff, a_server_retry_above_the_cap_is_honoured) {
    EXPECT_EQ(backoff_delay(milliseconds(90000), milliseconds(60000), 0, 1.0), milliseconds(90000));
    EXPECT_EQ(backoff_delay(milliseconds(90000), milliseconds(60000), 5, 1.0), milliseconds(90000));
}

TEST(backoff, a_zero_retry_grows_from_one_millisecond) {
    EXPECT_EQ(backoff_delay(milliseconds(0), milliseconds(1000), 0, 1.0), milliseconds(0));
    EXPECT_EQ(backoff_delay(milliseconds(0), milliseconds(1000), 3, 1.0), milliseconds(4));
}

}  // namespace
