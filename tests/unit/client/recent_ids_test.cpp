// SPDX-License-Identifier: MIT
// Bounded memory of recent event ids.
#include <crier/client/recent_ids.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using crier::client::recent_ids;

TEST(recent_ids, reports_duplicates) {
    recent_ids ids(8);
    EXPECT_TRUE(ids.insert("a-1"));
    EXPECT_TRUE(ids.insert("a-2"));
    EXPECT_FALSE(ids.insert("a-1"));
    EXPECT_FALSE(ids.insert("a-2"));
    EXPECT_TRUE(ids.contains("a-1"));
    EXPECT_FALSE(ids.contains("a-3"));
    EXPECT_EQ(ids.size(), 2u);
}

TEST(recent_ids, forgets_the_oldest_when_full) {
    recent_ids ids(3);
    for (const char* id : {"1", "2", "3", "4"}) EXPECT_TRUE(ids.insert(id));
    EXPECT_EQ(ids.size(), 3u);
    EXPECT_FALSE(ids.contains("1"));
    EXPECT_TRUE(ids.contains("2"));
    EXPECT_TRUE(ids.contains("4"));
    EXPECT_TRUE(ids.insert("1"));  // forgotten, so new again; evicts "2"
    EXPECT_FALSE(ids.contains("2"));
    EXPECT_FALSE(ids.insert("3"));
}

TEST(recent_ids, many_ids_stay_bounded_and_consistent) {
    recent_ids ids(100);
    for (int i = 0; i < 10000; ++i) {
        // Short ids live inside std::string (SSO): a moving container would break the index.
        ASSERT_TRUE(ids.insert(std::to_string(i)));
        ASSERT_FALSE(ids.insert(std::to_string(i)));
        ASSERT_LE(ids.size(), 100u);
    }
    for (int i = 9900; i < 10000; ++i) EXPECT_TRUE(ids.contains(std::to_string(i))) << i;
    EXPECT_FALSE(ids.contains("9899"));
    const std::string long_id(300, 'x');
    EXPECT_TRUE(ids.insert(long_id));
    EXPECT_FALSE(ids.insert(long_id));
}

TEST(recent_ids, zero_capacity_remembers_nothing) {
    recent_ids ids(0);
    EXPECT_TRUE(ids.insert("a"));
    EXPECT_TRUE(ids.insert("a"));
    EXPECT_EQ(ids.size(), 0u);
}

}  // namespace
