// SPDX-License-Identifier: MIT
// Channel names, patterns, event types and type filters: what is accepted and how they match.
#include <crier/core/names.hpp>

#include <gtest/gtest.h>

namespace {

TEST(names, channels) {
    for (std::string_view ok : {"global", "user:42", "stable:123", "horses", "a/b-c_d.e~!"}) {
        EXPECT_FALSE(crier::validate_channel(ok)) << ok;
    }
    for (std::string_view bad : {"", "a b", "stable:*", "*", "a\nb", "caf\xc3\xa9"}) {
        EXPECT_EQ(crier::validate_channel(bad), crier::errc::invalid_channel) << bad;
    }
    EXPECT_FALSE(crier::validate_channel(std::string(crier::max_channel_bytes, 'a')));
    EXPECT_TRUE(crier::validate_channel(std::string(crier::max_channel_bytes + 1, 'a')));
}

TEST(names, patterns) {
    for (std::string_view ok : {"global", "stable:*", "*", "user:*"}) {
        EXPECT_FALSE(crier::validate_channel_pattern(ok)) << ok;
    }
    for (std::string_view bad : {"", "**", "a*b", "st*able:*", " *"}) {
        EXPECT_EQ(crier::validate_channel_pattern(bad), crier::errc::invalid_channel) << bad;
    }
}

TEST(names, event_types) {
    for (std::string_view ok : {"horses:created", "a", "report:generated:pdf", "x-y_z.1/2"}) {
        EXPECT_FALSE(crier::validate_event_type(ok)) << ok;
    }
    EXPECT_EQ(crier::validate_event_type(""), crier::errc::invalid_type);
    EXPECT_EQ(crier::validate_event_type("a b"), crier::errc::invalid_type);
    EXPECT_EQ(crier::validate_event_type("horses:*"), crier::errc::invalid_type);
    EXPECT_EQ(crier::validate_event_type("caf\xc3\xa9"), crier::errc::invalid_type);
    EXPECT_EQ(crier::validate_event_type(std::string(crier::max_type_bytes + 1, 'a')),
              crier::errc::invalid_type);
    EXPECT_EQ(crier::validate_event_type("a\nb"), crier::errc::invalid_field);
    EXPECT_EQ(crier::validate_event_type("a\rb"), crier::errc::invalid_field);
    EXPECT_EQ(crier::validate_event_type(std::string_view("a\0b", 3)), crier::errc::invalid_field);
    for (std::string_view reserved : {"connected", "resync", "batch"}) {
        EXPECT_TRUE(crier::is_reserved_type(reserved));
        EXPECT_EQ(crier::validate_event_type(reserved), crier::errc::reserved_type) << reserved;
    }
    EXPECT_FALSE(crier::is_reserved_type("batches"));
}

TEST(names, type_filters) {
    for (std::string_view ok : {"*", "horses:*", "horses:created"}) {
        EXPECT_FALSE(crier::validate_type_filter(ok)) << ok;
    }
    for (std::string_view bad : {"", "**", "h*s", "a b"}) {
        EXPECT_EQ(crier::validate_type_filter(bad), crier::errc::invalid_type) << bad;
    }
}

TEST(names, matching) {
    EXPECT_TRUE(crier::matches("stable:*", "stable:1"));
    EXPECT_TRUE(crier::matches("stable:*", "stable:1:2"));
    EXPECT_FALSE(crier::matches("stable:*", "stable:"));
    EXPECT_FALSE(crier::matches("stable:*", "stable"));
    EXPECT_FALSE(crier::matches("stable:*", "stables:1"));
    EXPECT_TRUE(crier::matches("*", "anything"));
    EXPECT_TRUE(crier::matches("global", "global"));
    EXPECT_FALSE(crier::matches("global", "global2"));
    EXPECT_TRUE(crier::matches("horses:*", "horses:created"));
    EXPECT_FALSE(crier::matches("horses:*", "breeding:created"));
}

TEST(names, user_channel) {
    EXPECT_EQ(crier::user_channel("42"), "user:42");
}

}  // namespace
