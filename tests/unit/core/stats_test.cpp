// SPDX-License-Identifier: MIT
// hub_stats::to_json: the seed's stats document, valid JSON whatever the channel names hold.
#include <crier/core/stats.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

namespace {

TEST(stats, to_json_is_the_seed_document_and_more) {
    crier::hub_stats st;
    st.subscriptions = 42;
    st.users = 40;
    st.channel_names = {"global", R"(odd"name\with)", "user:1"};
    st.channels = 3;
    st.history_events = 150;
    st.published = 7;
    st.current_id = {0x3f9a1c, 1042};
    const std::string json = st.to_json();
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_FALSE(p.parse(json).get(doc)) << json;
    EXPECT_EQ(std::uint64_t(doc["connectedClients"]), 42u);
    EXPECT_EQ(std::uint64_t(doc["eventHistorySize"]), 150u);
    simdjson::dom::array channels = doc["channels"];
    ASSERT_EQ(channels.size(), 3u);
    EXPECT_EQ(std::string_view(channels.at(1)), R"(odd"name\with)");
    EXPECT_EQ(std::uint64_t(doc["users"]), 40u);
    EXPECT_EQ(std::uint64_t(doc["published"]), 7u);
    EXPECT_EQ(std::string_view(doc["currentId"]), "3f9a1c-1042");
    for (const char* key :
         {"historyBytes", "queuedFrames", "queuedBytes", "heldEvents", "dedupKeys", "delivered",
          "deduplicated", "resyncs", "overflows", "rateLimited", "batched"}) {
        EXPECT_FALSE(doc[key].error()) << key;
    }
}

}  // namespace
