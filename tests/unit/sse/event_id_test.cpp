// SPDX-License-Identifier: MIT
// crier's event id text form and the Last-Event-ID value rules.
#include <crier/sse/event_id.hpp>

#include <gtest/gtest.h>

#include <limits>

namespace {

using crier::sse::event_id;

TEST(event_id, text_form) {
    EXPECT_EQ(crier::sse::to_string({0x3f9a1c, 1042}), "3f9a1c-1042");
    EXPECT_EQ(crier::sse::to_string({0, 0}), "0-0");
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    const std::string longest = crier::sse::to_string({max, max});
    EXPECT_EQ(longest, "ffffffffffffffff-18446744073709551615");
    EXPECT_EQ(longest.size(), crier::sse::max_event_id_chars);
}

TEST(event_id, parse_round_trip) {
    for (event_id id : {event_id{0, 0}, event_id{1, 2}, event_id{0xdeadbeef, 123456789},
                        event_id{std::numeric_limits<std::uint64_t>::max(),
                                 std::numeric_limits<std::uint64_t>::max()}}) {
        EXPECT_EQ(crier::sse::parse_event_id(crier::sse::to_string(id)), id);
    }
}

TEST(event_id, parse_rejects_foreign_ids) {
    for (std::string_view bad :
         {"", "-", "12", "a-", "-1", "A-1", "g-1", "1-x", "1-2-3", "1--2", " 1-2", "1-2 ",
          "10000000000000000-1", "1-18446744073709551616", "1-+2",
          // one id has one text: no leading zeros (found by the event_id fuzz target)
          "4-00", "04-0", "4-01", "00-1", "0a-1"}) {
        EXPECT_EQ(crier::sse::parse_event_id(bad), std::nullopt) << bad;
    }
}

TEST(event_id, zero_parts_have_one_text) {
    EXPECT_EQ(crier::sse::parse_event_id("0-0"), (crier::sse::event_id{0, 0}));
    EXPECT_EQ(crier::sse::parse_event_id("a-0"), (crier::sse::event_id{10, 0}));
}

TEST(event_id, ordering) {
    EXPECT_LT((event_id{1, 5}), (event_id{1, 6}));
    EXPECT_LT((event_id{1, 99}), (event_id{2, 0}));
}

TEST(event_id, last_event_id_rules) {
    EXPECT_TRUE(crier::sse::is_valid_last_event_id(""));
    EXPECT_TRUE(crier::sse::is_valid_last_event_id("3f9a1c-1042"));
    EXPECT_TRUE(crier::sse::is_valid_last_event_id("opaque/!~token"));
    EXPECT_TRUE(crier::sse::is_valid_last_event_id(std::string(CRIER_MAX_EVENT_ID_BYTES, 'a')));
    EXPECT_FALSE(
        crier::sse::is_valid_last_event_id(std::string(CRIER_MAX_EVENT_ID_BYTES + 1, 'a')));
    EXPECT_FALSE(crier::sse::is_valid_last_event_id("a b"));
    EXPECT_FALSE(crier::sse::is_valid_last_event_id("a\r\nX-Injected: 1"));
    EXPECT_FALSE(crier::sse::is_valid_last_event_id("caf\xC3\xA9"));
    EXPECT_FALSE(crier::sse::is_valid_last_event_id(std::string_view("a\0b", 3)));
}

}  // namespace
