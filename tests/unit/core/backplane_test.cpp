// SPDX-License-Identifier: MIT
// The backplane seam: the in-process implementation, and a hub ordering, carrying and receiving
// events through a backplane of the test's own.
#include <crier/core/backplane.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "unit/core/hub_test_util.hpp"

namespace {

struct recording_sink final : crier::backplane_sink {
    std::vector<crier::sse::event_id> ids;
    std::vector<std::string> types;
    std::vector<std::string> lost;
    void deliver(const crier::backplane_event& e) noexcept override {
        ids.push_back(e.id);
        types.emplace_back(e.type);
    }
    void lost_continuity(std::string_view reason) noexcept override { lost.emplace_back(reason); }
};

TEST(backplane, in_process_orders_and_delivers_synchronously) {
    crier::in_process_backplane bp(0x5eed, 41);
    EXPECT_EQ(bp.epoch(), 0x5eedu);
    EXPECT_EQ(bp.last_id(), (crier::sse::event_id{0x5eed, 41}));
    recording_sink sink;
    bp.attach(&sink);
    crier::backplane_event a{.type = "t:a"};
    crier::backplane_event b{.type = "t:b"};
    EXPECT_FALSE(bp.publish(a));
    EXPECT_FALSE(bp.publish(b));
    EXPECT_EQ(a.id, (crier::sse::event_id{0x5eed, 42}));
    EXPECT_EQ(b.id, (crier::sse::event_id{0x5eed, 43}));
    EXPECT_EQ(sink.ids, (std::vector<crier::sse::event_id>{a.id, b.id}));
    EXPECT_EQ(sink.types, (std::vector<std::string>{"t:a", "t:b"}));
    bp.attach(nullptr);
    crier::backplane_event c{.type = "t:c"};
    EXPECT_FALSE(bp.publish(c));
    EXPECT_EQ(c.id.seq, 44u);
    EXPECT_EQ(sink.ids.size(), 2u);
}

TEST(backplane, a_batch_takes_the_seqs_of_its_items_just_below_its_own) {
    crier::in_process_backplane bp(0x5eed, 10);
    recording_sink sink;
    bp.attach(&sink);
    crier::backplane_event batch{.type = "batch", .items = 3};
    crier::backplane_event next{.type = "t"};
    EXPECT_FALSE(bp.publish(batch));
    EXPECT_FALSE(bp.publish(next));
    EXPECT_EQ(batch.id, (crier::sse::event_id{0x5eed, 14}));  // items 11, 12, 13
    EXPECT_EQ(next.id, (crier::sse::event_id{0x5eed, 15}));
    EXPECT_EQ(bp.last_id(), next.id);
    bp.attach(nullptr);
}

TEST(backplane, random_epochs_differ) {
    crier::in_process_backplane a;
    crier::in_process_backplane b;
    EXPECT_NE(a.epoch(), 0u);
    EXPECT_NE(a.epoch(), b.epoch());
}

/// A stand-in for a networked backplane: orders like the in-process one, records what it carries
/// and lets the test inject events "from another node".
class test_backplane final : public crier::backplane {
public:
    std::uint64_t epoch() const noexcept override { return 0x77; }
    crier::sse::event_id last_id() const noexcept override {
        std::lock_guard lock(mutex_);
        return {0x77, seq_};
    }
    void attach(crier::backplane_sink* sink) noexcept override {
        std::lock_guard lock(mutex_);
        sink_ = sink;
    }
    std::error_code publish(crier::backplane_event& e) noexcept override {
        std::lock_guard lock(mutex_);
        if (down) return crier::errc::backplane_unavailable;
        if (alone) {  // away, publishing locally: a node-local epoch, the seqs go on above
            e.id = {0x99, ++seq_};
            e.local = true;
        } else {
            e.id = {0x77, ++seq_};
            carried.emplace_back(e.type);
        }
        if (sink_ != nullptr) sink_->deliver(e);
        return {};
    }
    /// An event published on another node arrives: no origin, the backplane's id.
    void remote(std::vector<std::string_view> channels, std::string_view type,
                std::string_view data) {
        std::lock_guard lock(mutex_);
        crier::backplane_event e{.id = {0x77, ++seq_},
                                 .channels = channels,
                                 .type = type,
                                 .data = data,
                                 .time = std::chrono::system_clock::now()};
        sink_->deliver(e);
    }
    /// A `batch` of `items` held events published on another node, its data without item ids.
    void remote_batch(std::vector<std::string_view> channels, std::string_view data,
                      std::uint32_t items) {
        std::lock_guard lock(mutex_);
        seq_ += items;
        crier::backplane_event e{.id = {0x77, ++seq_},
                                 .channels = channels,
                                 .type = "batch",
                                 .data = data,
                                 .time = std::chrono::system_clock::now(),
                                 .items = items};
        sink_->deliver(e);
    }
    void lose(std::string_view reason) {
        std::lock_guard lock(mutex_);
        sink_->lost_continuity(reason);
    }

    bool down = false;
    bool alone = false;
    std::vector<std::string> carried;

private:
    mutable std::mutex mutex_;
    std::uint64_t seq_ = 100;
    crier::backplane_sink* sink_ = nullptr;
};

TEST(backplane, hub_orders_carries_and_receives_through_it) {
    auto bp = std::make_shared<test_backplane>();
    crier::hub h({.rate_limit = 0, .backplane = bp});
    EXPECT_EQ(h.current_id(), (crier::sse::event_id{0x77, 100}));
    auto s = h.subscribe({.channels = {"a", "b"}});
    auto r = h.publish("a", "t:local", "here");
    ASSERT_TRUE(r);
    EXPECT_EQ(r.id, (crier::sse::event_id{0x77, 101}));
    bp->remote({"b", "z"}, "t:remote", "from\nafar");
    bp->remote({"z"}, "t:remote", "not for s");
    EXPECT_EQ(bp->carried, (std::vector<std::string>{"t:local"}));
    EXPECT_EQ(h.current_id(), (crier::sse::event_id{0x77, 103}));
    auto got = crier_test::drain(s);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].id, "77-102");
    EXPECT_EQ(got[1].type, "t:remote");
    EXPECT_EQ(got[1].data, "from\nafar");
    // Remote events are history too: a reconnecting client replays them.
    auto again = h.subscribe({.channels = {"b"}, .last_event_id = "77-100"});
    EXPECT_EQ(crier_test::seqs(crier_test::drain(again)), (std::vector<std::uint64_t>{102}));
    // Unreachable: publish fails, nothing is delivered.
    bp->down = true;
    EXPECT_EQ(h.publish("a", "t:x", "lost").error, crier::errc::backplane_unavailable);
    bp->down = false;
    // Continuity lost: every subscription gets resync.
    bp->lose("backplane_reconnected");
    got = crier_test::drain(s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "resync");
    EXPECT_EQ(got[0].id, "77-103");
    EXPECT_NE(got[0].data.find("backplane_reconnected"), std::string::npos);
}

TEST(backplane, a_remote_batch_gets_its_item_ids_from_the_sink) {
    // The batch crosses the backplane without item ids; every node's sink writes the same ones.
    auto bp = std::make_shared<test_backplane>();
    crier::hub h({.rate_limit = 0, .backplane = bp});
    auto s = h.subscribe({.channels = {"a"}});
    bp->remote_batch({"a"}, R"([{"type":"t:x","data":"1"},{"type":"t:y","data":"{\"}"}])", 2);
    auto got = crier_test::drain(s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, "77-103");
    EXPECT_EQ(got[0].type, "batch");
    EXPECT_EQ(
        got[0].data,
        R"([{"id":"77-101","type":"t:x","data":"1"},{"id":"77-102","type":"t:y","data":"{\"}"}])");
    EXPECT_EQ(h.current_id().seq, 103u);
    EXPECT_EQ(h.stats().published, 3u);  // the two held events and their batch
    // History keeps the frame as delivered.
    auto hist = h.history("", {}, 10);
    ASSERT_EQ(hist.events.size(), 1u);
    EXPECT_EQ(hist.events[0].data, got[0].data);
}

TEST(backplane, hub_detaches_when_destroyed) {
    auto bp = std::make_shared<test_backplane>();
    {
        crier::hub h({.backplane = bp});
        ASSERT_TRUE(h.publish("a", "t", "x"));
    }
    crier::backplane_event e{.type = "t"};
    EXPECT_FALSE(bp->publish(e));  // no sink: nothing dangles
}

TEST(backplane, a_hub_does_not_claim_history_from_before_its_start_or_a_lost_continuity) {
    auto bp = std::make_shared<test_backplane>();  // seq 100 when the hub starts
    crier::hub h({.rate_limit = 0, .backplane = bp});
    // Events 1..100 were ordered before this hub: it cannot know what they held.
    auto before = h.subscribe({.channels = {"a"}, .last_event_id = "77-90"});
    auto got = crier_test::drain(before);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "resync");
    EXPECT_NE(got[0].data.find("evicted"), std::string::npos);
    ASSERT_TRUE(h.publish("a", "t:x", "1"));  // 101
    auto since_start = h.subscribe({.channels = {"a"}, .last_event_id = "77-100"});
    EXPECT_EQ(crier_test::seqs(crier_test::drain(since_start)), (std::vector<std::uint64_t>{101}));
    // The backplane lost events after 101: replays from before the loss are not complete.
    bp->lose("backplane_gap");
    ASSERT_TRUE(h.publish("a", "t:x", "2"));  // 102
    auto across = h.subscribe({.channels = {"a"}, .last_event_id = "77-100"});
    got = crier_test::drain(across);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "resync");
    auto after = h.subscribe({.channels = {"a"}, .last_event_id = "77-101"});
    EXPECT_EQ(crier_test::seqs(crier_test::drain(after)), (std::vector<std::uint64_t>{102}));
}

TEST(backplane, stats_carry_the_backplane_status) {
    crier::hub h({.rate_limit = 0});
    const crier::hub_stats st = h.stats();
    EXPECT_TRUE(st.backplane_connected);
    EXPECT_NE(st.to_json().find(R"("backplane":{"connected":true,"lag":0,"errors":0})"),
              std::string::npos);
}

TEST(backplane, events_a_backplane_delivers_locally_keep_their_own_epoch_until_it_rejoins) {
    auto bp = std::make_shared<test_backplane>();
    crier::hub h({.queue_frames = 4,
                  .overflow = crier::overflow_policy::drop_oldest,
                  .rate_limit = 0,
                  .backplane = bp});
    auto s = h.subscribe({.channels = {"a"}});
    ASSERT_TRUE(h.publish("a", "t:x", "cluster"));  // 77-101
    bp->alone = true;
    auto r = h.publish("a", "t:x", "alone");
    ASSERT_TRUE(r);
    EXPECT_EQ(r.scope, crier::publish_scope::local);
    EXPECT_EQ(r.id, (crier::sse::event_id{0x99, 102}));
    EXPECT_EQ(h.current_id(), (crier::sse::event_id{0x99, 102}));
    auto got = crier_test::drain(s);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].id, "77-101");
    EXPECT_EQ(got[1].id, "99-102");
    EXPECT_EQ(bp->carried, (std::vector<std::string>{"t:x"}));  // the local one was not carried
    // The cluster's 102 is another event: resync. The local id is foreign: resync.
    for (const char* id : {"77-102", "99-102"}) {
        auto resumed = h.subscribe({.channels = {"a"}, .last_event_id = id});
        got = crier_test::drain(resumed);
        ASSERT_EQ(got.size(), 1u) << id;
        EXPECT_EQ(got[0].type, "resync");
        EXPECT_NE(got[0].data.find("unknown_id"), std::string::npos);
        EXPECT_EQ(got[0].id, "99-102");  // the position here, in the outage's epoch
    }
    // After the last cluster event: what this hub delivered since, local ids and all.
    auto resumed = h.subscribe({.channels = {"a"}, .last_event_id = "77-101"});
    got = crier_test::drain(resumed);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, "99-102");
    // An overflow's resync while alone carries the local position.
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(h.publish("a", "t:x", std::to_string(i)));
    got = crier_test::drain(s);
    const auto overflow =
        std::find_if(got.begin(), got.end(), [](const auto& e) { return e.type == "resync"; });
    ASSERT_NE(overflow, got.end());
    EXPECT_EQ(overflow->id.substr(0, 3), "99-");
    auto history = h.history("", {}, 100);
    ASSERT_EQ(history.events.size(), 8u);
    EXPECT_EQ(history.events[0].id, (crier::sse::event_id{0x77, 101}));
    EXPECT_EQ(history.events[1].id, (crier::sse::event_id{0x99, 102}));
    EXPECT_FALSE(h.history("77-102").complete);

    // Back: the backplane says continuity was lost; ids are the cluster's again, everywhere.
    bp->alone = false;
    bp->lose("backplane_rejoined");
    got = crier_test::drain(s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "resync");
    EXPECT_EQ(got[0].id, "77-108");
    EXPECT_EQ(h.current_id(), (crier::sse::event_id{0x77, 108}));
    auto back = h.publish("a", "t:x", "back");
    ASSERT_TRUE(back);
    EXPECT_EQ(back.scope, crier::publish_scope::cluster);
    EXPECT_EQ(back.id, (crier::sse::event_id{0x77, 109}));
    got = crier_test::drain(s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].id, "77-109");
    // The outage's history keeps its own epoch; a replay never crosses into it.
    history = h.history("", {}, 100);
    EXPECT_EQ(history.events[1].id, (crier::sse::event_id{0x99, 102}));
    EXPECT_EQ(history.events.back().id, (crier::sse::event_id{0x77, 109}));
    auto across = h.subscribe({.channels = {"a"}, .last_event_id = "77-101"});
    got = crier_test::drain(across);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "resync");
    auto after = h.subscribe({.channels = {"a"}, .last_event_id = "77-108"});
    EXPECT_EQ(crier_test::seqs(crier_test::drain(after)), (std::vector<std::uint64_t>{109}));
}

}  // namespace
