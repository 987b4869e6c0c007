// SPDX-License-Identifier: MIT
// The hub's rules: ids, encoding once, validation, channels, replay, resync, overflow, limits,
// dedup, rate-limit batches, history queries, stats, presence and stop.
#include <crier/core/hub.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "unit/core/hub_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using crier::errc;
using crier::hub;
using crier::hub_options;
using crier::subscribe_options;
using crier_test::drain;
using crier_test::seqs;
using crier_test::test_options;
using crier_test::unlimited;

using seq_list = std::vector<std::uint64_t>;

crier::subscription sub(hub& h, std::vector<std::string> channels, std::string last_id = {},
                        std::string user = {}) {
    return h.subscribe(subscribe_options{.channels = std::move(channels),
                                         .last_event_id = std::move(last_id),
                                         .user_id = std::move(user)});
}

TEST(hub, ids_are_epoch_and_a_global_seq) {
    hub h(unlimited());
    EXPECT_EQ(h.current_id(), (crier::sse::event_id{0xabc, 0}));
    auto a = h.publish("a", "t:x", "1");
    auto b = h.publish("b", "t:x", "2");
    auto c = h.publish({"a", "b"}, "t:x", "3");
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(a.id, (crier::sse::event_id{0xabc, 1}));
    EXPECT_EQ(b.id, (crier::sse::event_id{0xabc, 2}));
    EXPECT_EQ(c.id, (crier::sse::event_id{0xabc, 3}));
    EXPECT_EQ(c.id_text(), "abc-3");
    EXPECT_FALSE(c.duplicate);
    EXPECT_FALSE(c.held);
    EXPECT_EQ(h.current_id(), c.id);
    EXPECT_EQ(h.stats().published, 3u);
}

TEST(hub, default_epoch_is_random_per_hub) {
    hub h1;
    hub h2;
    EXPECT_NE(h1.current_id().epoch, 0u);
    EXPECT_NE(h1.current_id().epoch, h2.current_id().epoch);
}

TEST(hub, frame_is_encoded_once_and_shared) {
    hub h(unlimited());
    auto s1 = sub(h, {"horses"});
    auto s2 = sub(h, {"horses", "global"});
    ASSERT_TRUE(h.publish("horses", "horses:created", R"({"id":1})"));
    std::vector<crier::sse::frame> f1;
    std::vector<crier::sse::frame> f2;
    ASSERT_EQ(s1.drain(f1), 1u);
    ASSERT_EQ(s2.drain(f2), 1u);
    EXPECT_EQ(f1[0].get(), f2[0].get());  // the same buffer, not a copy
    EXPECT_EQ(*f1[0], "event: horses:created\ndata: {\"id\":1}\nid: abc-1\n\n");
    auto hist = h.history("", {}, 10);
    ASSERT_EQ(hist.events.size(), 1u);
    EXPECT_EQ(hist.events[0].frame.get(), f1[0].get());
}

TEST(hub, multi_line_data_becomes_several_data_lines) {
    hub h(unlimited());
    auto s = sub(h, {"a"});
    ASSERT_TRUE(h.publish("a", "t", "one\ntwo\r\nthree\rfour\n"));
    std::vector<crier::sse::frame> frames;
    s.drain(frames);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(*frames[0],
              "event: t\ndata: one\ndata: two\ndata: three\ndata: four\ndata:\nid: abc-1\n\n");
    auto got = crier_test::parse(frames);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, "one\ntwo\nthree\nfour\n");
    EXPECT_EQ(h.history("", {}, 10).events.at(0).data, "one\ntwo\nthree\nfour\n");
}

TEST(hub, invalid_publishes_are_refused_and_take_no_id) {
    hub h(unlimited({.max_payload_bytes = 8, .max_channels_per_event = 2}));
    auto s = sub(h, {"a"});
    EXPECT_EQ(h.publish("a", "connected", "x").error, errc::reserved_type);
    EXPECT_EQ(h.publish("a", "resync", "x").error, errc::reserved_type);
    EXPECT_EQ(h.publish("a", "batch", "x").error, errc::reserved_type);
    EXPECT_EQ(h.publish("a", "", "x").error, errc::invalid_type);
    EXPECT_EQ(h.publish("a", "a b", "x").error, errc::invalid_type);
    EXPECT_EQ(h.publish("a", "a\nid: 9", "x").error, errc::invalid_field);
    EXPECT_EQ(h.publish("a", std::string_view("a\0b", 3), "x").error, errc::invalid_field);
    EXPECT_EQ(h.publish("a", "t", "\xff\xfe").error, errc::invalid_utf8);
    EXPECT_EQ(h.publish("a", "t", "\xed\xa0\x80").error, errc::invalid_utf8);  // surrogate
    EXPECT_EQ(h.publish("a", "t", "123456789").error, errc::payload_too_large);
    EXPECT_EQ(h.publish("", "t", "x").error, errc::invalid_channel);
    EXPECT_EQ(h.publish("a*", "t", "x").error, errc::invalid_channel);
    EXPECT_EQ(h.publish({"a", "b", "c"}, "t", "x").error, errc::invalid_channel);
    EXPECT_EQ(h.publish(std::span<const std::string>{}, "t", "x").error, errc::invalid_channel);
    auto r = h.publish("a", "t", "12345678");
    ASSERT_TRUE(r);
    EXPECT_EQ(r.id.seq, 1u);  // nothing refused took a seq
    EXPECT_EQ(seqs(drain(s)), (seq_list{1}));
}

TEST(hub, channel_overloads_and_duplicate_names) {
    hub h(unlimited());
    auto s = sub(h, {"a", "b", "c"});
    const std::vector<std::string> strings{"a", "b"};
    const std::vector<std::string_view> views{"b", "c", "b"};
    ASSERT_TRUE(h.publish(strings, "t", "1"));
    ASSERT_TRUE(h.publish(views, "t", "2"));
    ASSERT_TRUE(h.publish({"c", "c"}, "t", "3"));
    EXPECT_EQ(seqs(drain(s)), (seq_list{1, 2, 3}));
    auto hist = h.history("", {}, 10);
    ASSERT_EQ(hist.events.size(), 3u);
    EXPECT_EQ(hist.events[0].channels, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(hist.events[1].channels, (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(hist.events[2].channels, (std::vector<std::string>{"c"}));
    EXPECT_EQ(h.stats().history_events, 3u);  // stored once, whatever the channel count
}

TEST(hub, user_and_module_events) {
    hub h(unlimited());
    auto mine = sub(h, {"user:42"});
    auto other = sub(h, {"user:7"});
    auto module = sub(h, {"horses"});
    auto both = sub(h, {"horses", "user:42"});
    ASSERT_TRUE(h.publish_to_user("42", "note:created", "hi"));
    auto r = h.publish_module_event("horses", "created", R"({"id":5})", "42");
    ASSERT_TRUE(r);
    ASSERT_TRUE(h.publish_module_event("horses", "deleted", R"({"id":6})"));
    auto m = drain(mine);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m[0].type, "note:created");
    EXPECT_EQ(m[1].type, "horses:created");
    EXPECT_EQ(m[1].id, r.id_text());
    EXPECT_TRUE(drain(other).empty());
    auto mod = drain(module);
    ASSERT_EQ(mod.size(), 2u);
    EXPECT_EQ(mod[0].id, r.id_text());
    EXPECT_EQ(mod[1].type, "horses:deleted");
    EXPECT_EQ(seqs(drain(both)), (seq_list{1, 2, 3}));  // the module event once, not twice
    EXPECT_EQ(h.history("", {}, 10).events.at(1).channels,
              (std::vector<std::string>{"horses", "user:42"}));
    EXPECT_EQ(h.publish_module_event("hor ses", "x", "1").error, errc::invalid_type);
}

TEST(hub, publish_batch_is_one_event_with_a_json_array) {
    hub h(unlimited());
    auto s = sub(h, {"horses"});
    const std::vector<std::string> items{R"({"id":1})", R"({"id":2})", "3"};
    auto r = h.publish_batch("horses", "horses:imported", items);
    ASSERT_TRUE(r);
    auto got = drain(s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "horses:imported");
    EXPECT_EQ(got[0].data, R"([{"id":1},{"id":2},3])");
    const std::vector<std::string_view> bad{R"({"id":1})", R"({"id":)"};
    EXPECT_EQ(h.publish_batch("horses", "horses:imported", bad).error, errc::invalid_json);
    EXPECT_EQ(h.publish_batch("horses", "batch", items).error, errc::reserved_type);
    EXPECT_TRUE(drain(s).empty());
}

TEST(hub, at_most_once_across_overlapping_channels_and_patterns) {
    hub h(unlimited());
    auto s = sub(h, {"stable:1", "stable:*", "global", "*"});
    ASSERT_TRUE(h.publish({"stable:1", "global", "stable:2"}, "t", "x"));
    ASSERT_TRUE(h.publish("stable:2", "t", "y"));
    ASSERT_TRUE(h.publish("other", "t", "z"));
    EXPECT_EQ(seqs(drain(s)), (seq_list{1, 2, 3}));
}

TEST(hub, patterns_match_prefixes) {
    hub h(unlimited());
    auto s = sub(h, {"stable:*"});
    ASSERT_TRUE(h.publish("stable:1", "t", "x"));
    ASSERT_TRUE(h.publish("stable", "t", "x"));
    ASSERT_TRUE(h.publish("stables:1", "t", "x"));
    ASSERT_TRUE(h.publish("stable:22:box", "t", "x"));
    EXPECT_EQ(seqs(drain(s)), (seq_list{1, 4}));
    EXPECT_EQ(h.subscribers("stable:1"), 0u);  // patterns are not channel members
}

TEST(hub, event_type_filter) {
    hub h(unlimited());
    auto s = h.subscribe({.channels = {"a"}, .types = {"horses:*", "report:generated"}});
    auto all = h.subscribe({.channels = {"a"}, .types = {"*"}});
    ASSERT_TRUE(h.publish("a", "horses:created", "1"));
    ASSERT_TRUE(h.publish("a", "breeding:created", "2"));
    ASSERT_TRUE(h.publish("a", "report:generated", "3"));
    ASSERT_TRUE(h.publish("a", "report:generated:pdf", "4"));
    EXPECT_EQ(seqs(drain(s)), (seq_list{1, 3}));
    EXPECT_EQ(seqs(drain(all)), (seq_list{1, 2, 3, 4}));
    std::error_code ec;
    auto bad = h.subscribe({.channels = {"a"}, .types = {"bad type"}}, ec);
    EXPECT_EQ(ec, errc::invalid_type);
    EXPECT_FALSE(bad);
}

TEST(hub, replay_after_last_event_id_then_live_without_gap_or_double) {
    hub h(unlimited());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.publish("a", "t", std::to_string(i)));  // 1..5
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.publish("b", "t", std::to_string(i)));  // 6..8
    ASSERT_TRUE(h.publish({"a", "b"}, "t", "both"));                                  // 9
    ASSERT_TRUE(h.publish("c", "t", "elsewhere"));                                    // 10
    auto s = sub(h, {"a", "b"}, "abc-3");
    ASSERT_TRUE(h.publish("a", "t", "live"));  // 11
    auto got = drain(s);
    EXPECT_EQ(seqs(got), (seq_list{4, 5, 6, 7, 8, 9, 11}));
    EXPECT_EQ(got[0].data, "3");
    EXPECT_EQ(h.stats().resyncs, 0u);
    // Up to date: nothing replayed.
    auto fresh = sub(h, {"a"}, "abc-11");
    EXPECT_TRUE(drain(fresh).empty());
    // No Last-Event-ID: live only.
    auto first = sub(h, {"a"});
    EXPECT_TRUE(drain(first).empty());
}

TEST(hub, replay_respects_patterns_and_filters) {
    hub h(unlimited());
    ASSERT_TRUE(h.publish("stable:1", "horses:moved", "1"));
    ASSERT_TRUE(h.publish("stable:2", "breeding:x", "2"));
    ASSERT_TRUE(h.publish("global", "horses:moved", "3"));
    ASSERT_TRUE(h.publish("stable:3", "horses:moved", "4"));
    auto s =
        h.subscribe({.channels = {"stable:*"}, .last_event_id = "abc-0", .types = {"horses:*"}});
    EXPECT_EQ(seqs(drain(s)), (seq_list{1, 4}));
}

void expect_resync(const crier_test::received& e, std::string_view reason, std::string_view id) {
    EXPECT_EQ(e.type, "resync");
    EXPECT_EQ(e.id, id);
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_FALSE(p.parse(e.data).get(doc)) << e.data;
    std::string_view r;
    std::string_view i;
    ASSERT_FALSE(doc["reason"].get(r));
    ASSERT_FALSE(doc["id"].get(i));
    EXPECT_EQ(r, reason);
    EXPECT_EQ(i, id);
}

TEST(hub, unusable_last_event_id_gives_resync_with_current_id) {
    hub h(unlimited());
    ASSERT_TRUE(h.publish("a", "t", "1"));
    ASSERT_TRUE(h.publish("a", "t", "2"));
    for (std::string bad : {"garbage", "def-1", "abc-99", "ABC-1"}) {
        const std::string current = crier::sse::to_string(h.current_id());
        auto s = sub(h, {"a"}, bad);
        auto got = drain(s);
        ASSERT_EQ(got.size(), 1u) << bad;
        expect_resync(got[0], "unknown_id", current);
        ASSERT_TRUE(h.publish("b", "t", "x"));  // not on its channels
        ASSERT_TRUE(h.publish("a", "t", "live"));
        auto live = drain(s);
        ASSERT_EQ(live.size(), 1u);
        EXPECT_EQ(live[0].data, "live");
    }
    EXPECT_EQ(h.stats().resyncs, 4u);
}

TEST(hub, replay_past_evicted_history_gives_resync) {
    hub h(unlimited({.history_size = 3}));
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(h.publish("a", "t", std::to_string(i)));  // 1..6
    auto ok = sub(h, {"a"}, "abc-3");  // 4, 5, 6 retained: complete
    EXPECT_EQ(seqs(drain(ok)), (seq_list{4, 5, 6}));
    auto late = sub(h, {"a"}, "abc-2");  // 3 was evicted
    auto got = drain(late);
    ASSERT_EQ(got.size(), 1u);
    expect_resync(got[0], "evicted", "abc-6");
    auto unknown_channel = sub(h, {"never"}, "abc-1");  // nothing there was ever evicted
    EXPECT_TRUE(drain(unknown_channel).empty());
}

TEST(hub, replay_larger_than_the_queue_gives_resync) {
    hub h(unlimited({.history_size = 50, .queue_frames = 4}));
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(h.publish("a", "t", "x"));
    auto s = sub(h, {"a"}, "abc-0");
    auto got = drain(s);
    ASSERT_EQ(got.size(), 1u);
    expect_resync(got[0], "replay_overflow", "abc-6");
    EXPECT_FALSE(s.closed());
}

TEST(hub, history_age_bound) {
    hub h(unlimited({.history_max_age = 30ms}));
    ASSERT_TRUE(h.publish("a", "t", "old"));
    std::this_thread::sleep_for(60ms);
    ASSERT_TRUE(h.publish("a", "t", "new"));
    auto hist = h.history("abc-0", {}, 10);
    ASSERT_EQ(hist.events.size(), 1u);
    EXPECT_EQ(hist.events[0].data, "new");
    EXPECT_FALSE(hist.complete);
    auto s = sub(h, {"a"}, "abc-0");
    expect_resync(drain(s).at(0), "evicted", "abc-2");
}

TEST(hub, history_byte_bounds) {
    hub h(unlimited({.history_size = 100, .history_bytes = 200, .history_total_bytes = 2000}));
    const std::string data(50, 'x');
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.publish("a", "t", data));
    auto st = h.stats();
    EXPECT_LE(st.history_events, 200u / 70u + 1);  // each frame is ~70 bytes
    EXPECT_GE(st.history_events, 1u);
    // append(), not "c" + std::string: GCC 12 at -O3 reports a false -Wrestrict on that.
    for (int c = 0; c < 40; ++c)
        ASSERT_TRUE(h.publish(std::string("c").append(std::to_string(c)), "t", data));
    st = h.stats();
    EXPECT_LE(st.history_bytes, 2000u);
    EXPECT_GE(st.history_events, 1u);
    // The newest events survive the hub-wide bound; the oldest go first.
    auto hist = h.history("", {}, 100);
    ASSERT_FALSE(hist.events.empty());
    EXPECT_EQ(hist.events.back().id.seq, 60u);
    EXPECT_FALSE(h.history("abc-1", {}, 100).complete);
}

// The hub-wide bound evicts the globally oldest event whether it was stored for one channel
// (found through its ring, no lookup) or several (found by name), and channels it empties are
// erased and can be recreated: what is retained is always exactly the newest events.
TEST(hub, history_total_bound_keeps_the_newest_across_single_and_multi_channel_events) {
    constexpr std::size_t bound = 3000;
    hub h(unlimited({.history_size = 100, .history_bytes = 100000, .history_total_bytes = bound}));
    const std::string data(50, 'x');
    std::uint64_t last = 0;
    std::uint64_t last_multi = 0;
    std::size_t smallest_kept = SIZE_MAX;
    for (int i = 0; i < 300; ++i) {
        const auto r = i % 3 == 2
                           ? h.publish({"m1", "m2"}, "t", data)
                           : h.publish(std::string("u:").append(std::to_string(i % 7)), "t", data);
        ASSERT_TRUE(r) << r.error.message();
        last = r.id.seq;
        if (i % 3 == 2) last_multi = last;
        const auto st = h.stats();
        ASSERT_LE(st.history_bytes, bound) << "after publish " << i;
        if (i >= 100) smallest_kept = std::min(smallest_kept, st.history_events);
        // Every retained event, in seq order: exactly the newest ones, none missing between.
        const auto all = h.history("", {}, 1000);
        ASSERT_EQ(all.events.size(), st.history_events) << "after publish " << i;
        ASSERT_FALSE(all.events.empty());
        for (std::size_t k = 0; k < all.events.size(); ++k) {
            ASSERT_EQ(all.events[k].id.seq, last - all.events.size() + 1 + k) << "after " << i;
        }
    }
    EXPECT_GE(smallest_kept, 10u);  // the bound holds many events, not just the newest
    // Per channel: only retained events, the newest last.
    const std::uint64_t first_kept = last - h.stats().history_events + 1;
    const std::vector<std::string> m2{"m2"};
    const std::vector<std::string> u5{"u:5"};
    const auto m = h.history("", m2, 1000);
    ASSERT_FALSE(m.events.empty());
    EXPECT_EQ(m.events.back().id.seq, last_multi);
    for (const auto& e : m.events) EXPECT_GE(e.id.seq, first_kept);
    for (const auto& e : h.history("", u5, 1000).events) EXPECT_GE(e.id.seq, first_kept);
}

TEST(hub, adding_a_channel_does_not_replay_it) {
    hub h(unlimited());
    ASSERT_TRUE(h.publish("b", "t", "before"));  // 1
    auto s = sub(h, {"a"});
    ASSERT_TRUE(h.publish("a", "t", "x"));  // 2
    ASSERT_FALSE(s.add_channel("b"));
    ASSERT_FALSE(s.add_channel("b"));                 // idempotent
    ASSERT_TRUE(h.publish("b", "t", "after"));        // 3
    ASSERT_TRUE(h.publish({"a", "b"}, "t", "both"));  // 4
    EXPECT_EQ(seqs(drain(s)), (seq_list{2, 3, 4}));
    EXPECT_EQ(s.channels(), (std::vector<std::string>{"a", "b"}));
    ASSERT_FALSE(s.remove_channel("a"));
    ASSERT_FALSE(s.remove_channel("zzz"));
    ASSERT_TRUE(h.publish("a", "t", "gone"));   // 5
    ASSERT_TRUE(h.publish("b", "t", "still"));  // 6
    EXPECT_EQ(seqs(drain(s)), (seq_list{6}));
    ASSERT_FALSE(s.add_channel("s:*"));
    ASSERT_TRUE(h.publish("s:1", "t", "p"));  // 7
    ASSERT_FALSE(s.remove_channel("s:*"));
    ASSERT_TRUE(h.publish("s:1", "t", "p"));  // 8
    EXPECT_EQ(seqs(drain(s)), (seq_list{7}));
    EXPECT_EQ(s.add_channel("bad channel"), errc::invalid_channel);
    EXPECT_EQ(s.channels(), (std::vector<std::string>{"b"}));
}

TEST(hub, connections_per_user) {
    hub h(unlimited());  // default: 3
    std::vector<crier::subscription> subs;
    for (int i = 0; i < 3; ++i) subs.push_back(sub(h, {"global"}, {}, "42"));
    EXPECT_EQ(h.connections("42"), 3u);
    std::error_code ec;
    auto fourth = h.subscribe({.channels = {"global"}, .user_id = "42"}, ec);
    EXPECT_EQ(ec, errc::too_many_connections);
    EXPECT_FALSE(fourth);
    try {
        (void)sub(h, {"global"}, {}, "42");
        ADD_FAILURE() << "expected std::system_error";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), errc::too_many_connections);
    }
    auto other_user = sub(h, {"global"}, {}, "7");
    auto anonymous = sub(h, {"global"});
    EXPECT_EQ(h.stats().users, 2u);
    subs.pop_back();  // destroying the handle frees the slot
    EXPECT_EQ(h.connections("42"), 2u);
    subs.push_back(h.subscribe({.channels = {"global"}, .user_id = "42"}, ec));
    EXPECT_FALSE(ec);
    subs.front().close();
    EXPECT_EQ(h.connections("42"), 2u);
    EXPECT_EQ(subs.front().closed(), errc::closed);
}

TEST(hub, overflow_disconnects_by_default) {
    hub h(unlimited({.queue_frames = 3}));
    std::atomic<int> ready{0};
    auto s = h.subscribe({.channels = {"a"}, .user_id = "u", .on_ready = [&] { ++ready; }});
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.publish("a", "t", "x"));
    EXPECT_EQ(ready.load(), 1);
    EXPECT_FALSE(s.closed());
    ASSERT_TRUE(h.publish("a", "t", "x"));  // the 4th does not fit
    EXPECT_EQ(s.closed(), errc::subscriber_overflow);
    EXPECT_EQ(ready.load(), 2);        // told once about the close
    EXPECT_EQ(s.queued_frames(), 0u);  // memory freed at once
    std::vector<crier::sse::frame> frames;
    EXPECT_EQ(s.drain(frames), 0u);
    EXPECT_TRUE(s.wait_for(0ms));
    EXPECT_EQ(h.connections("u"), 0u);  // the reconnection is not refused
    EXPECT_EQ(h.subscribers("a"), 0u);
    auto st = h.stats();
    EXPECT_EQ(st.overflows, 1u);
    EXPECT_EQ(st.subscriptions, 0u);
    // The client reconnects with its last id and replays what it missed.
    auto again = sub(h, {"a"}, "abc-1", "u");
    EXPECT_EQ(seqs(drain(again)), (seq_list{2, 3, 4}));
}

TEST(hub, overflow_drop_oldest_then_resync) {
    hub h(unlimited({.queue_frames = 3, .overflow = crier::overflow_policy::drop_oldest}));
    auto s = sub(h, {"a"});
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.publish("a", "t", std::to_string(i)));
    EXPECT_FALSE(s.closed());
    auto got = drain(s);
    ASSERT_EQ(got.size(), 2u);
    expect_resync(got[0], "overflow", "abc-4");
    EXPECT_EQ(got[1].seq(), 5u);
    EXPECT_EQ(h.stats().overflows, 1u);
}

TEST(hub, queue_byte_bound) {
    hub h(unlimited({.queue_bytes = 300}));
    auto s = sub(h, {"a"});
    const std::string data(100, 'x');
    ASSERT_TRUE(h.publish("a", "t", data));
    ASSERT_TRUE(h.publish("a", "t", data));
    EXPECT_FALSE(s.closed());
    EXPECT_LE(s.queued_bytes(), 300u);
    ASSERT_TRUE(h.publish("a", "t", data));
    EXPECT_EQ(s.closed(), errc::subscriber_overflow);
}

TEST(hub, on_ready_once_per_empty_to_non_empty_transition) {
    hub h(unlimited());
    std::atomic<int> ready{0};
    auto s = h.subscribe({.channels = {"a"}, .on_ready = [&] { ++ready; }});
    EXPECT_EQ(ready.load(), 0);
    ASSERT_TRUE(h.publish("a", "t", "1"));
    ASSERT_TRUE(h.publish("a", "t", "2"));
    EXPECT_EQ(ready.load(), 1);
    EXPECT_EQ(drain(s).size(), 2u);
    ASSERT_TRUE(h.publish("b", "t", "elsewhere"));
    EXPECT_EQ(ready.load(), 1);
    ASSERT_TRUE(h.publish("a", "t", "3"));
    EXPECT_EQ(ready.load(), 2);
    // Destroyed: never called again.
    s = {};
    ASSERT_TRUE(h.publish("a", "t", "4"));
    EXPECT_EQ(ready.load(), 2);
}

TEST(hub, on_ready_may_drain_and_publish) {
    hub h(unlimited());
    crier::subscription s;
    std::vector<crier::sse::frame> frames;
    std::atomic<bool> inside{false};
    s = h.subscribe({.channels = {"a"}, .on_ready = [&] {
                         inside = true;
                         (void)h.publish("b", "t", "from the callback");  // no deadlock
                     }});
    ASSERT_TRUE(h.publish("a", "t", "1"));
    EXPECT_TRUE(inside.load());
    EXPECT_EQ(h.current_id().seq, 2u);
    EXPECT_EQ(s.drain(frames), 1u);
}

TEST(hub, wait_for_blocks_until_an_event_or_timeout) {
    hub h(unlimited());
    auto s = sub(h, {"a"});
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(s.wait_for(30ms));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 25ms);
    std::thread publisher([&] {
        std::this_thread::sleep_for(20ms);
        (void)h.publish("a", "t", "x");
    });
    EXPECT_TRUE(s.wait_for(5s));
    publisher.join();
    EXPECT_EQ(seqs(drain(s)), (seq_list{1}));
}

TEST(hub, history_query) {
    hub h(unlimited({.history_size = 3}));
    ASSERT_TRUE(h.publish("a", "t:1", "one"));                // 1
    ASSERT_TRUE(h.publish("b", "t:2", "two\nlines"));         // 2
    ASSERT_TRUE(h.publish({"a", "b"}, "t:3", R"({"x":1})"));  // 3
    ASSERT_TRUE(h.publish("c", "t:4", "four"));               // 4
    const std::vector<std::string> ab{"a", "b"};
    auto r = h.history("abc-1", ab, 10);
    EXPECT_TRUE(r.complete);
    EXPECT_FALSE(r.more);
    EXPECT_EQ(r.current, (crier::sse::event_id{0xabc, 4}));
    ASSERT_EQ(r.events.size(), 2u);
    EXPECT_EQ(r.events[0].id.seq, 2u);
    EXPECT_EQ(r.events[0].type, "t:2");
    EXPECT_EQ(r.events[0].data, "two\nlines");
    EXPECT_EQ(r.events[0].channels, (std::vector<std::string>{"b"}));
    EXPECT_EQ(r.events[1].id.seq, 3u);
    EXPECT_EQ(r.events[1].data, R"({"x":1})");
    EXPECT_LE(r.events[0].time, std::chrono::system_clock::now());
    // Limit and paging.
    auto page = h.history("", {}, 2);
    EXPECT_TRUE(page.more);
    EXPECT_EQ(page.events.size(), 2u);
    auto rest = h.history(crier::sse::to_string(page.events.back().id), {}, 2);
    EXPECT_FALSE(rest.more);
    ASSERT_EQ(rest.events.size(), 2u);
    EXPECT_EQ(rest.events[1].id.seq, 4u);
    // Patterns.
    const std::vector<std::string> pattern{"*"};
    EXPECT_EQ(h.history("abc-0", pattern, 10).events.size(), 4u);
    // Foreign or garbage ids: incomplete.
    EXPECT_FALSE(h.history("fff-1", ab, 10).complete);
    EXPECT_FALSE(h.history("nonsense", ab, 10).complete);
    EXPECT_FALSE(h.history("abc-77", ab, 10).complete);
    // Evicted past since.
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(h.publish("a", "t", "more"));
    const std::vector<std::string> a{"a"};
    EXPECT_FALSE(h.history("abc-1", a, 10).complete);
    EXPECT_TRUE(h.history("abc-3", a, 10).complete);
}

TEST(hub, dedup_explicit_key) {
    hub h(unlimited());
    auto s = sub(h, {"a"});
    auto first = h.publish("a", "t", "1", {.dedup_key = "k1"});
    auto again = h.publish("a", "t", "1 again", {.dedup_key = "k1"});
    auto other = h.publish("a", "t", "2", {.dedup_key = "k2"});
    ASSERT_TRUE(first && again && other);
    EXPECT_FALSE(first.duplicate);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.id, first.id);
    EXPECT_FALSE(other.duplicate);
    EXPECT_EQ(seqs(drain(s)), (seq_list{1, 2}));
    auto st = h.stats();
    EXPECT_EQ(st.deduplicated, 1u);
    EXPECT_EQ(st.dedup_keys, 2u);
    // A long key works too (stored as a fingerprint).
    const std::string long_key(1000, 'k');
    auto l1 = h.publish("a", "t", "x", {.dedup_key = long_key});
    auto l2 = h.publish("a", "t", "x", {.dedup_key = long_key});
    auto l3 = h.publish("a", "t", "x", {.dedup_key = long_key + "!"});
    EXPECT_TRUE(l2.duplicate);
    EXPECT_EQ(l2.id, l1.id);
    EXPECT_FALSE(l3.duplicate);
}

TEST(hub, dedup_window_is_bounded_in_time_and_count) {
    hub h(unlimited({.dedup_window = 40ms, .dedup_capacity = 2}));
    EXPECT_FALSE(h.publish("a", "t", "x", {.dedup_key = "k1"}).duplicate);
    EXPECT_FALSE(h.publish("a", "t", "x", {.dedup_key = "k2"}).duplicate);
    EXPECT_FALSE(h.publish("a", "t", "x", {.dedup_key = "k3"}).duplicate);  // forgets k1
    EXPECT_EQ(h.stats().dedup_keys, 2u);
    EXPECT_FALSE(h.publish("a", "t", "x", {.dedup_key = "k1"}).duplicate);
    EXPECT_TRUE(h.publish("a", "t", "x", {.dedup_key = "k3"}).duplicate);
    std::this_thread::sleep_for(80ms);
    EXPECT_FALSE(h.publish("a", "t", "x", {.dedup_key = "k3"}).duplicate);  // expired
}

TEST(hub, dedup_key_from_json_fields) {
    hub h(unlimited({.dedup_fields = {"id", "updatedAt"}}));
    auto s = sub(h, {"horses", "user:1"});
    auto a = h.publish("horses", "horses:updated", R"({"id":5,"updatedAt":"t1","name":"A"})");
    auto b = h.publish("horses", "horses:updated", R"({"name":"B", "updatedAt":"t1","id":5})");
    auto c = h.publish("horses", "horses:updated", R"({"id":5,"updatedAt":"t2"})");
    auto d = h.publish("horses", "horses:created", R"({"id":5,"updatedAt":"t2"})");
    auto e = h.publish("user:1", "horses:updated", R"({"id":5,"updatedAt":"t2"})");
    auto f = h.publish("horses", "horses:updated", R"({"id":5})");  // lacks a field: no key
    auto g = h.publish("horses", "horses:updated", R"({"id":5})");
    auto n = h.publish("horses", "horses:updated", "not json");
    EXPECT_TRUE(b.duplicate);
    EXPECT_EQ(b.id, a.id);
    for (const auto* r : {&a, &c, &d, &e, &f, &g, &n}) EXPECT_FALSE(r->duplicate);
    EXPECT_EQ(drain(s).size(), 7u);
    // An explicit key wins over the fields.
    auto x = h.publish("horses", "horses:updated", R"({"id":9,"updatedAt":"z"})",
                       {.dedup_key = "explicit"});
    auto y = h.publish("horses", "horses:updated", R"({"id":9,"updatedAt":"z"})",
                       {.dedup_key = "other"});
    EXPECT_FALSE(x.duplicate);
    EXPECT_FALSE(y.duplicate);
}

struct batch_item {
    std::string id;
    std::string type;
    std::string data;
};

std::vector<batch_item> batch_items(std::string_view json) {
    std::vector<batch_item> out;
    simdjson::dom::parser p;
    simdjson::dom::array arr;
    EXPECT_FALSE(p.parse(json).get_array().get(arr)) << json;
    for (simdjson::dom::element e : arr) {
        std::string_view id;
        std::string_view type;
        std::string_view data;
        EXPECT_FALSE(e["id"].get(id));
        EXPECT_FALSE(e["type"].get(type));
        EXPECT_FALSE(e["data"].get(data));
        out.push_back({std::string(id), std::string(type), std::string(data)});
    }
    return out;
}

TEST(hub, rate_limit_batches_over_limit_events_and_drops_nothing) {
    // 3 per 600 ms: a token every 200 ms.
    hub h(test_options({.rate_limit = 3, .rate_window = 600ms}));
    auto s = sub(h, {"a"});
    auto other = sub(h, {"b"});
    std::vector<crier::publish_result> results;
    for (int i = 0; i < 10; ++i) {
        results.push_back(h.publish("a", "t:x", "line " + std::to_string(i) + "\n\"q\""));
    }
    ASSERT_TRUE(h.publish("b", "t:y", "other channel"));  // its own bucket
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(results[static_cast<std::size_t>(i)]);
        EXPECT_EQ(results[static_cast<std::size_t>(i)].held, i >= 3) << i;
        // A held event has no id yet: it takes one when its batch is flushed.
        EXPECT_EQ(results[static_cast<std::size_t>(i)].id.seq,
                  i >= 3 ? 0u : static_cast<std::uint64_t>(i + 1));
    }
    EXPECT_EQ(seqs(drain(other)), (seq_list{4}));
    auto first = drain(s);
    EXPECT_EQ(seqs(first), (seq_list{1, 2, 3}));
    // The held 7 arrive as one batch once a token is back.
    ASSERT_TRUE(s.wait_for(3s));
    auto got = drain(s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "batch");
    EXPECT_EQ(got[0].seq(), 12u);
    auto items = batch_items(got[0].data);
    ASSERT_EQ(items.size(), 7u);
    for (std::size_t i = 0; i < items.size(); ++i) {
        // The seqs just below the batch's own, in publish order.
        EXPECT_EQ(items[i].id, crier::sse::to_string({0xabc, 5 + i}));
        EXPECT_EQ(items[i].type, "t:x");
        EXPECT_EQ(items[i].data, "line " + std::to_string(i + 3) + "\n\"q\"");
    }
    auto st = h.stats();
    EXPECT_EQ(st.rate_limited, 7u);
    EXPECT_EQ(st.batched, 1u);
    EXPECT_EQ(st.held_events, 0u);
    EXPECT_EQ(h.history("", {}, 100).events.back().type, "batch");
}

TEST(hub, rate_limit_batch_keeps_channel_sets_apart) {
    hub h(test_options({.rate_limit = 1, .rate_window = 10s}));
    auto a = sub(h, {"a"});
    auto b = sub(h, {"b"});
    ASSERT_FALSE(h.publish("a", "t", "1").held);
    ASSERT_FALSE(h.publish("b", "t", "2").held);
    EXPECT_TRUE(h.publish("a", "t", "3").held);
    EXPECT_TRUE(h.publish({"a", "b"}, "t", "4").held);
    EXPECT_TRUE(h.publish("b", "t", "5").held);
    h.flush_batches();
    auto got_a = drain(a);
    auto got_b = drain(b);
    ASSERT_EQ(got_a.size(), 3u);  // 1, batch{3}, batch{4}
    ASSERT_EQ(got_b.size(), 3u);  // 2, batch{4}, batch{5}
    std::vector<std::string> a_items;
    std::vector<std::string> b_items;
    for (std::size_t i = 1; i < 3; ++i) {
        for (auto& it : batch_items(got_a[i].data)) a_items.push_back(it.data);
        for (auto& it : batch_items(got_b[i].data)) b_items.push_back(it.data);
    }
    // In publish order, not sorted: held events on overlapping sets keep their order.
    EXPECT_EQ(a_items, (std::vector<std::string>{"3", "4"}));
    EXPECT_EQ(b_items, (std::vector<std::string>{"4", "5"}));
}

/// The data of each delivered event, in order.
std::vector<std::string> data_of(const std::vector<crier_test::delivered>& got) {
    std::vector<std::string> out;
    for (const auto& e : got) out.push_back(e.data);
    return out;
}

/// Every seq in `got` is greater than the one before: no reordering, no double.
void expect_strictly_increasing(const std::vector<crier_test::delivered>& got) {
    for (std::size_t i = 1; i < got.size(); ++i) {
        ASSERT_LT(got[i - 1].seq, got[i].seq) << "at " << i << " of " << got.size();
    }
}

TEST(hub, rate_limit_keeps_seq_order_across_overlapping_channel_sets) {
    // publish_module_event goes to {horses, user:7}, publish_to_user to {user:7}: a connection
    // of user 7 on the horses page holds both and must see every id in order, held or not.
    hub h(test_options({.rate_limit = 3, .rate_window = 60s}));
    auto both = sub(h, {"horses", "user:7"});
    auto user = sub(h, {"user:7"});
    auto horses = sub(h, {"horses"});
    // Held events have no id at publish time: each publish is told apart by its data.
    std::vector<std::string> to_both;
    std::vector<std::string> to_user;
    std::vector<std::string> to_horses;
    std::vector<crier_test::delivered> got_both;
    std::vector<crier_test::delivered> got_user;
    std::vector<crier_test::delivered> got_horses;
    auto collect = [&] {
        for (auto& e : crier_test::unpack(drain(both))) got_both.push_back(e);
        for (auto& e : crier_test::unpack(drain(user))) got_user.push_back(e);
        for (auto& e : crier_test::unpack(drain(horses))) got_horses.push_back(e);
    };
    for (int i = 0; i < 60; ++i) {
        crier::publish_result r;
        if (i % 3 == 1) {
            r = h.publish_to_user("7", "note:sent", std::to_string(i));
            to_user.push_back(std::to_string(i));
        } else {
            r = h.publish_module_event("horses", "created", std::to_string(i), "7");
            to_user.push_back(std::to_string(i));
            to_horses.push_back(std::to_string(i));
        }
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r.held, r.id.seq == 0) << i;
        to_both.push_back(std::to_string(i));
        if (i % 7 == 6) collect();
        if (i % 20 == 19) h.flush_batches();
    }
    h.flush_batches();
    collect();
    expect_strictly_increasing(got_both);
    expect_strictly_increasing(got_user);
    expect_strictly_increasing(got_horses);
    EXPECT_EQ(data_of(got_both), to_both);
    EXPECT_EQ(data_of(got_user), to_user);
    EXPECT_EQ(data_of(got_horses), to_horses);
    EXPECT_GT(h.stats().rate_limited, 0u);
}

TEST(hub, rate_limit_keeps_seq_order_across_three_way_overlaps) {
    // {a,b}, {b,c}, {a,c}, {a,b,c}: every pair overlaps, and each channel runs out of tokens at
    // a different time, so groups of different sets hold interleaved ids.
    hub h(test_options({.rate_limit = 4, .rate_window = 60s}));
    auto all = sub(h, {"a", "b", "c"});
    auto ab = sub(h, {"a", "b"});
    const std::vector<std::vector<std::string_view>> sets = {
        {"a", "b"}, {"b", "c"}, {"a", "b"}, {"a", "c"}, {"a", "b", "c"}, {"b", "c"}, {"a", "c"}};
    std::vector<std::string> sent;
    std::vector<crier_test::delivered> got_all;
    std::vector<crier_test::delivered> got_ab;
    for (int i = 0; i < 70; ++i) {
        const auto& set = sets[static_cast<std::size_t>(i) % sets.size()];
        auto r = h.publish(std::span<const std::string_view>(set), "t", std::to_string(i));
        ASSERT_TRUE(r) << i;
        sent.push_back(std::to_string(i));
        if (i % 5 == 4) {
            for (auto& e : crier_test::unpack(drain(all))) got_all.push_back(e);
            for (auto& e : crier_test::unpack(drain(ab))) got_ab.push_back(e);
        }
        if (i % 23 == 22) h.flush_batches();
    }
    h.flush_batches();
    for (auto& e : crier_test::unpack(drain(all))) got_all.push_back(e);
    for (auto& e : crier_test::unpack(drain(ab))) got_ab.push_back(e);
    expect_strictly_increasing(got_all);
    expect_strictly_increasing(got_ab);
    EXPECT_EQ(data_of(got_all), sent);      // none missing, none doubled, in publish order
    EXPECT_EQ(got_ab.size(), sent.size());  // every set touches a or b
    EXPECT_GT(h.stats().rate_limited, 0u);
}

TEST(hub, rate_limit_keeps_seq_order_across_disjoint_channels) {
    // A held event takes its id when its batch is flushed: an event admitted meanwhile on a
    // disjoint channel gets a lower id, so a connection on both still sees ids in order.
    hub h(test_options({.rate_limit = 2, .rate_window = 60s}));
    auto both = sub(h, {"a", "b"});
    auto only_a = sub(h, {"a"});
    ASSERT_FALSE(h.publish("a", "t", "a1").held);
    ASSERT_FALSE(h.publish("a", "t", "a2").held);
    auto held = h.publish("a", "t", "a3");
    ASSERT_TRUE(held);
    EXPECT_TRUE(held.held);
    EXPECT_EQ(held.id, crier::sse::event_id{}) << "a held event has no id until its flush";
    auto admitted = h.publish("b", "t", "b1");
    ASSERT_FALSE(admitted.held);
    EXPECT_EQ(admitted.id.seq, 3u);
    h.flush_batches();
    auto got = crier_test::unpack(drain(both));
    expect_strictly_increasing(got);
    EXPECT_EQ(crier_test::seqs(got), (seq_list{1, 2, 3, 4}));
    std::vector<std::string> data;
    for (const auto& e : got) data.push_back(e.data);
    EXPECT_EQ(data, (std::vector<std::string>{"a1", "a2", "b1", "a3"}));
    EXPECT_EQ(crier_test::seqs(crier_test::unpack(drain(only_a))), (seq_list{1, 2, 4}));
    EXPECT_EQ(h.current_id().seq, 5u);  // the item 4, then its batch 5
    EXPECT_EQ(h.stats().published, 5u);
}

TEST(hub, rate_limit_keeps_seq_order_across_disjoint_and_overlapping_sets) {
    // Module events ({horses, user:7}), user events ({user:7}) and a disjoint channel
    // ({prices}), each run out of tokens at its own time: a connection on all three sees
    // every id in order, batch items included, and each publish exactly once.
    hub h(test_options({.rate_limit = 2, .rate_window = 60s}));
    auto all = sub(h, {"horses", "user:7", "prices"});
    std::vector<std::string> sent;
    for (int i = 0; i < 40; ++i) {
        const std::string d = std::to_string(i);
        crier::publish_result r;
        switch (i % 4) {
            case 0:
                r = h.publish_module_event("horses", "created", d, "7");
                break;
            case 1:
                r = h.publish_to_user("7", "note:sent", d);
                break;
            case 2:
                r = h.publish("prices", "tick", d);
                break;
            default:
                r = h.publish("prices", "tick", d);
                break;
        }
        ASSERT_TRUE(r) << i;
        if (r.held) {
            EXPECT_EQ(r.id, crier::sse::event_id{}) << i;
        }
        sent.push_back(d);
        if (i % 13 == 12) h.flush_batches();
    }
    h.flush_batches();
    auto got = crier_test::unpack(drain(all));
    expect_strictly_increasing(got);
    ASSERT_EQ(got.size(), sent.size());
    EXPECT_GT(h.stats().rate_limited, 0u);
}

TEST(hub, a_duplicate_of_a_held_event_is_suppressed_and_has_no_id) {
    hub h(test_options({.rate_limit = 1, .rate_window = 60s}));
    auto s = sub(h, {"a"});
    ASSERT_FALSE(h.publish("a", "t", "1").held);
    auto held = h.publish("a", "t", "2", {.dedup_key = "k"});
    ASSERT_TRUE(held.held);
    auto again = h.publish("a", "t", "2", {.dedup_key = "k"});
    ASSERT_TRUE(again);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.id, crier::sse::event_id{});
    h.flush_batches();
    auto got = crier_test::unpack(drain(s));
    EXPECT_EQ(crier_test::seqs(got), (seq_list{1, 2}));
    EXPECT_EQ(h.stats().deduplicated, 1u);
}

TEST(hub, held_backlog_larger_than_the_queue_reaches_a_draining_reader_with_defaults) {
    // 1 000 events of 5 KB on one channel with the default 100/min: 900 are held, far more
    // than a subscriber queue (4 MiB) or a channel's history (1 MiB) holds.
    const hub_options defaults;
    hub h(test_options());
    auto s = sub(h, {"horses"});
    const std::string payload(5000, 'h');
    std::vector<crier_test::received> frames;
    auto collect = [&] {
        for (auto& e : drain(s)) frames.push_back(std::move(e));
    };
    for (int i = 0; i < 1000; ++i) {
        auto r = h.publish("horses", "horses:updated", std::to_string(i) + payload);
        ASSERT_TRUE(r) << i;
        collect();  // a reader that keeps up
    }
    h.flush_batches();
    collect();
    EXPECT_FALSE(s.closed());
    auto st = h.stats();
    EXPECT_EQ(st.overflows, 0u);
    EXPECT_EQ(st.resyncs, 0u);
    // 900 held, less the tokens a slow run (TSan) gets back: one every 600 ms.
    EXPECT_LE(st.rate_limited, 900u);
    EXPECT_GE(st.rate_limited, 880u);
    EXPECT_GT(st.batched, 1u);  // split, not one 5 MB event
    for (const auto& f : frames) {
        EXPECT_NE(f.type, "resync");
        EXPECT_LE(f.data.size(), defaults.history_bytes / 4) << "a batch must fit every bound";
    }
    auto got = crier_test::unpack(frames);
    expect_strictly_increasing(got);
    ASSERT_EQ(got.size(), 1000u);                       // every event once, in order
    EXPECT_EQ(h.current_id().seq, 1000u + st.batched);  // a seq per event, one per batch
    for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].data, std::to_string(i) + payload) << i;
    }
}

TEST(hub, flushed_backlog_replays_from_before_the_flush_with_defaults) {
    hub h(test_options());
    const std::string payload(5000, 'h');
    for (int i = 0; i < 100; ++i) ASSERT_FALSE(h.publish("horses", "t", payload).held);
    const std::string before = h.current_id().seq == 0 ? "" : crier::sse::to_string(h.current_id());
    std::vector<std::string> held;
    for (int i = 0; i < 80; ++i) {  // ~400 KB held: under every flush bound
        auto r = h.publish("horses", "t", std::to_string(i) + payload);
        ASSERT_TRUE(r.held) << i;
        held.push_back(std::to_string(i) + payload);
    }
    h.flush_batches();
    EXPECT_GT(h.stats().batched, 1u);
    auto fresh = sub(h, {"horses"}, before);
    auto frames = drain(fresh);
    for (const auto& f : frames) EXPECT_EQ(f.type, "batch");
    auto got = crier_test::unpack(frames);
    expect_strictly_increasing(got);
    EXPECT_EQ(data_of(got), held);
    EXPECT_EQ(h.stats().resyncs, 0u);
}

TEST(hub, rate_limit_reject_policy) {
    hub h(test_options({.rate_limit = 2, .rate_policy = crier::rate_limit_policy::reject}));
    EXPECT_TRUE(h.publish("a", "t", "1"));
    EXPECT_TRUE(h.publish("a", "t", "2"));
    auto r = h.publish("a", "t", "3");
    EXPECT_EQ(r.error, errc::rate_limited);
    EXPECT_TRUE(h.publish("b", "t", "other channel"));
    EXPECT_EQ(h.current_id().seq, 3u);
    EXPECT_EQ(h.stats().rate_limited, 1u);
}

TEST(hub, default_rate_limit_is_100_per_minute_per_channel) {
    hub h(test_options());
    int held = 0;
    for (int i = 0; i < 105; ++i) held += h.publish("a", "t", "x").held ? 1 : 0;
    EXPECT_EQ(held, 5);
}

TEST(hub, stop_closes_everything) {
    hub h(test_options({.rate_limit = 1}));
    std::atomic<int> ready{0};
    auto s = h.subscribe({.channels = {"a"}, .user_id = "u", .on_ready = [&] { ++ready; }});
    ASSERT_TRUE(h.publish("a", "t", "1"));
    ASSERT_TRUE(h.publish("a", "t", "2").held);
    EXPECT_EQ(ready.load(), 1);
    h.stop();
    EXPECT_TRUE(h.stopped());
    EXPECT_EQ(s.closed(), errc::hub_stopped);
    EXPECT_EQ(ready.load(), 2);
    auto got = drain(s);  // what was queued (the held event flushed as a batch) stays drainable
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].type, "batch");
    EXPECT_EQ(h.publish("a", "t", "3").error, errc::hub_stopped);
    std::error_code ec;
    auto late = h.subscribe({.channels = {"a"}}, ec);
    EXPECT_EQ(ec, errc::hub_stopped);
    EXPECT_EQ(h.connections("u"), 0u);
    EXPECT_EQ(h.stats().subscriptions, 0u);
    h.stop();  // idempotent
}

TEST(hub, handles_outliving_the_hub_are_harmless) {
    crier::subscription s;
    {
        hub h(unlimited());
        s = sub(h, {"a"});
        ASSERT_TRUE(h.publish("a", "t", "x"));
    }
    EXPECT_EQ(s.closed(), errc::hub_stopped);
    EXPECT_EQ(drain(s).size(), 1u);
    EXPECT_EQ(s.add_channel("b"), errc::closed);
}

TEST(hub, empty_subscription_handle) {
    crier::subscription s;
    EXPECT_FALSE(s);
    std::vector<crier::sse::frame> frames;
    EXPECT_EQ(s.drain(frames), 0u);
    EXPECT_EQ(s.closed(), errc::closed);
    EXPECT_TRUE(s.channels().empty());
    EXPECT_EQ(s.add_channel("a"), errc::closed);
    s.close();
}

TEST(hub, subscription_moves) {
    hub h(unlimited());
    auto a = sub(h, {"a"}, {}, "u");
    crier::subscription b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from handles are empty
    ASSERT_TRUE(b);
    auto c = sub(h, {"a"}, {}, "u");
    EXPECT_EQ(h.connections("u"), 2u);
    b = std::move(c);  // unsubscribes b's old subscription
    EXPECT_EQ(h.connections("u"), 1u);
    ASSERT_TRUE(h.publish("a", "t", "x"));
    EXPECT_EQ(drain(b).size(), 1u);
}

TEST(hub, invalid_subscriptions) {
    hub h(unlimited({.max_channels_per_subscription = 2}));
    std::error_code ec;
    (void)h.subscribe({.channels = {"a", "b", "c"}}, ec);
    EXPECT_EQ(ec, errc::too_many_channels);  // the real reason, not a bad name
    (void)h.subscribe({.channels = {"a b"}}, ec);
    EXPECT_EQ(ec, errc::invalid_channel);
    (void)h.subscribe({.channels = {"a*b"}}, ec);
    EXPECT_EQ(ec, errc::invalid_channel);
    auto ok = h.subscribe({.channels = {"a", "a"}}, ec);  // duplicates count once
    EXPECT_FALSE(ec);
    EXPECT_EQ(ok.channels(), (std::vector<std::string>{"a"}));
    EXPECT_FALSE(ok.add_channel("b"));
    EXPECT_EQ(ok.add_channel("c"), errc::too_many_channels);
    EXPECT_EQ(ok.add_channel("c*"), errc::too_many_channels);
    EXPECT_FALSE(ok.add_channel("b"));  // one it has is not one more
    EXPECT_EQ(ok.channels(), (std::vector<std::string>{"a", "b"}));
}

TEST(hub, close_wakes_a_thread_blocked_in_wait_for) {
    hub h(unlimited());
    auto s = sub(h, {"a"});
    std::atomic<bool> woke{false};
    bool result = false;
    std::error_code seen;
    const auto start = std::chrono::steady_clock::now();
    std::thread waiter([&] {
        result = s.wait_for(30s);
        seen = s.closed();
        woke = true;
    });
    std::this_thread::sleep_for(50ms);  // let it block
    s.close();
    waiter.join();
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(woke);
    EXPECT_TRUE(result);  // woken by the close, not by the timeout
    EXPECT_EQ(seen, errc::closed);
    EXPECT_LT(took, 5s);
}

TEST(hub, stop_and_destroy_from_a_flush_callback_on_the_flusher_thread) {
    // on_ready runs on the flusher thread (a held event is flushed there), drops its handle,
    // stops the hub, and the hub is destroyed while the callback still runs. With no handle
    // left, nothing keeps the hub's memory: when the callback returns the flusher must not
    // touch it (ASan reports a heap-use-after-free if it does).
    const auto main_id = std::this_thread::get_id();
    auto h = std::make_unique<hub>(test_options({.rate_limit = 1, .rate_window = 100ms}));
    hub* raw = h.get();
    std::atomic<int> phase{0};
    std::optional<crier::subscription> s;
    s.emplace(h->subscribe({.channels = {"a"}, .on_ready = [&] {
                                if (std::this_thread::get_id() == main_id) return;
                                int expected = 0;
                                if (!phase.compare_exchange_strong(expected, 1)) return;
                                s.reset();
                                raw->stop();
                                phase = 2;
                                for (int i = 0; i < 500 && phase.load() != 3; ++i) {
                                    std::this_thread::sleep_for(1ms);
                                }
                                std::this_thread::sleep_for(20ms);  // the hub is gone now
                                phase = 4;  // last touch of this test's state
                            }}));
    ASSERT_FALSE(h->publish("a", "t", "1").held);
    EXPECT_EQ(drain(*s).size(), 1u);  // re-arms on_ready
    ASSERT_TRUE(h->publish("a", "t", "2").held);
    for (int i = 0; i < 5000 && phase.load() != 2; ++i) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(phase.load(), 2) << "the flusher never called back";
    h.reset();
    phase = 3;
    for (int i = 0; i < 10000 && phase.load() != 4; ++i) std::this_thread::sleep_for(1ms);
    ASSERT_EQ(phase.load(), 4);
    std::this_thread::sleep_for(100ms);  // the flusher returns from the callback meanwhile
    EXPECT_FALSE(s.has_value());
}

TEST(hub, stats_and_seed_document) {
    hub h(unlimited());
    auto s1 = sub(h, {"global", "user:1"}, {}, "1");
    auto s2 = sub(h, {"global", "user:2"}, {}, "2");
    auto s3 = sub(h, {"global", "user:2"}, {}, "2");
    ASSERT_TRUE(h.publish("global", "t", "x"));
    ASSERT_TRUE(h.publish("horses", "t", "y"));
    (void)h.publish("horses", "t", "z", {.dedup_key = "k"});
    (void)h.publish("horses", "t", "z", {.dedup_key = "k"});
    auto st = h.stats();
    EXPECT_EQ(st.subscriptions, 3u);
    EXPECT_EQ(st.users, 2u);
    EXPECT_EQ(st.channels, 4u);
    EXPECT_EQ(st.channel_names, (std::vector<std::string>{"global", "horses", "user:1", "user:2"}));
    EXPECT_EQ(st.history_events, 3u);
    EXPECT_GT(st.history_bytes, 0u);
    EXPECT_EQ(st.queued_frames, 3u);
    EXPECT_EQ(st.published, 3u);
    EXPECT_EQ(st.delivered, 3u);
    EXPECT_EQ(st.deduplicated, 1u);
    EXPECT_EQ(st.current_id, h.current_id());
    EXPECT_EQ(h.connections("2"), 2u);
    EXPECT_EQ(h.connections("nobody"), 0u);
    EXPECT_EQ(h.subscribers("global"), 3u);
    EXPECT_EQ(h.subscribers("user:2"), 2u);
    const std::string json = st.to_json();
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_FALSE(p.parse(json).get(doc)) << json;
    EXPECT_EQ(std::uint64_t(doc["connectedClients"]), 3u);
    EXPECT_EQ(std::uint64_t(doc["eventHistorySize"]), 3u);
    EXPECT_EQ(simdjson::dom::array(doc["channels"]).size(), 4u);
    EXPECT_EQ(std::string_view(doc["currentId"]), "abc-3");
    EXPECT_EQ(std::uint64_t(doc["deduplicated"]), 1u);
}

TEST(hub, presence_hook) {
    std::mutex m;
    std::vector<std::pair<std::string, std::size_t>> calls;
    hub* self = nullptr;
    hub h(unlimited({.on_presence = [&](std::string_view channel, std::size_t n) {
        {
            std::lock_guard lock(m);
            calls.emplace_back(channel, n);
        }
        (void)self->publish("presence", "presence:changed", std::string(channel));  // may publish
    }}));
    self = &h;
    auto s1 = sub(h, {"a", "b"});
    auto s2 = sub(h, {"a"});
    auto p = sub(h, {"x:*"});  // patterns are not channels
    s1 = {};
    EXPECT_EQ(h.subscribers("a"), 1u);
    s2.close();
    EXPECT_EQ(h.subscribers("a"), 0u);
    std::lock_guard lock(m);
    EXPECT_EQ(calls, (std::vector<std::pair<std::string, std::size_t>>{
                         {"a", 1}, {"b", 1}, {"b", 0}, {"a", 0}}));
    EXPECT_EQ(h.current_id().seq, 4u);
}

TEST(hub, presence_hook_sees_overflow_closing_the_last_subscriber) {
    std::mutex m;
    std::vector<std::pair<std::string, std::size_t>> calls;
    hub h(unlimited({.queue_frames = 1, .on_presence = [&](std::string_view c, std::size_t n) {
                         std::lock_guard lock(m);
                         calls.emplace_back(c, n);
                     }}));
    auto s = sub(h, {"a"});
    ASSERT_TRUE(h.publish("a", "t", "1"));
    ASSERT_TRUE(h.publish("a", "t", "2"));  // overflows: the only subscriber is closed
    EXPECT_EQ(s.closed(), errc::subscriber_overflow);
    std::lock_guard lock(m);
    EXPECT_EQ(calls, (std::vector<std::pair<std::string, std::size_t>>{{"a", 1}, {"a", 0}}));
}

TEST(hub, without_history_a_behind_client_gets_resync) {
    hub h(unlimited({.history_size = 0}));
    ASSERT_TRUE(h.publish("a", "t", "1"));
    auto behind = sub(h, {"a"}, "abc-0");
    expect_resync(drain(behind).at(0), "evicted", "abc-1");
    auto current = sub(h, {"a"}, "abc-1");
    EXPECT_TRUE(drain(current).empty());
    EXPECT_EQ(h.stats().history_events, 0u);
    EXPECT_FALSE(h.history("abc-0", {}, 10).complete);
}

TEST(hub, held_batches_flush_early_at_their_bounds) {
    hub h(test_options({.rate_limit = 1, .rate_window = 60s, .max_batch_events = 3}));
    auto s = sub(h, {"a"});
    ASSERT_FALSE(h.publish("a", "t", "1").held);
    EXPECT_EQ(drain(s).size(), 1u);
    for (int i = 2; i <= 4; ++i) ASSERT_TRUE(h.publish("a", "t", std::to_string(i)).held);
    ASSERT_TRUE(s.wait_for(5s));  // not a minute: the batch is full
    auto got = drain(s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(batch_items(got[0].data).size(), 3u);
    // The hub-wide byte bound flushes every batch.
    hub b(test_options({.rate_limit = 1, .rate_window = 60s, .max_held_bytes = 100}));
    auto t = sub(b, {"x", "y"});
    ASSERT_FALSE(b.publish("x", "t", "1").held);
    ASSERT_FALSE(b.publish("y", "t", "1").held);
    ASSERT_TRUE(b.publish("x", "t", std::string(30, 'x')).held);
    ASSERT_TRUE(b.publish("y", "t", std::string(80, 'y')).held);
    // The flush may run before or after this thread drains: collect until both batches came.
    std::vector<crier_test::received> all;
    for (int tries = 0; tries < 100 && all.size() < 4; ++tries) {
        auto more = drain(t);
        all.insert(all.end(), more.begin(), more.end());
        if (all.size() < 4) std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0].type, "t");
    EXPECT_EQ(all[1].type, "t");
    EXPECT_EQ(all[2].type, "batch");
    EXPECT_EQ(all[3].type, "batch");
    EXPECT_EQ(b.stats().held_events, 0u);
    EXPECT_EQ(b.stats().batched, 2u);
}

}  // namespace

TEST(hub, disconnect_user_closes_exactly_that_users_subscriptions_after_their_queue) {
    hub h(unlimited());
    std::atomic<int> woken{0};
    auto a1 =
        h.subscribe({.channels = {"global"}, .user_id = "alice", .on_ready = [&] { ++woken; }});
    auto a2 = sub(h, {"horses"}, {}, "alice");
    auto b = sub(h, {"global"}, {}, "bob");
    ASSERT_TRUE(h.publish("global", "t:x", "queued before"));
    EXPECT_EQ(h.disconnect_user("alice"), 2u);
    EXPECT_EQ(a1.closed(), errc::disconnected);
    EXPECT_EQ(a2.closed(), errc::disconnected);
    EXPECT_FALSE(b.closed());
    EXPECT_GE(woken.load(), 1);  // the transport is told, so it can end the stream
    // What was queued before the kick is still drained; nothing after it arrives.
    ASSERT_TRUE(h.publish("global", "t:x", "after"));
    const auto got = drain(a1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, "queued before");
    EXPECT_EQ(drain(b).size(), 2u);
    EXPECT_EQ(h.connections("alice"), 0u);
    EXPECT_EQ(h.disconnect_user("alice"), 0u);
    // Without refuse_reconnect the user may come straight back.
    std::error_code ec;
    auto again = h.subscribe({.channels = {"global"}, .user_id = "alice"}, ec);
    EXPECT_FALSE(ec);
}

TEST(hub, close_channel_closes_exact_holders_and_refuses_reconnects_for_a_while) {
    hub h(unlimited());
    auto exact = sub(h, {"global", "stable:7"});
    auto other = sub(h, {"stable:8"});
    auto pattern = sub(h, {"stable:*"});
    EXPECT_EQ(h.close_channel("stable:7", {.refuse_reconnect = 150ms}), 1u);
    EXPECT_EQ(exact.closed(), errc::disconnected);
    EXPECT_FALSE(other.closed());
    EXPECT_FALSE(pattern.closed());  // a pattern that matches stays: other stables live on
    std::error_code ec;
    auto refused = h.subscribe({.channels = {"global", "stable:7"}}, ec);
    EXPECT_EQ(ec, errc::reconnect_refused);
    EXPECT_FALSE(refused);
    auto unrelated = h.subscribe({.channels = {"stable:8"}}, ec);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(h.reopen_channel("stable:7"));
    EXPECT_FALSE(h.reopen_channel("stable:7"));
    auto back = h.subscribe({.channels = {"stable:7"}}, ec);
    EXPECT_FALSE(ec);
    // A refusal ends by itself.
    EXPECT_EQ(h.close_channel("stable:7", {.refuse_reconnect = 100ms}), 1u);
    (void)h.subscribe({.channels = {"stable:7"}}, ec);
    EXPECT_EQ(ec, errc::reconnect_refused);
    std::this_thread::sleep_for(150ms);
    auto later = h.subscribe({.channels = {"stable:7"}}, ec);
    EXPECT_FALSE(ec);
}

TEST(hub, refused_user_gets_reconnect_refused_until_allowed) {
    hub h(unlimited());
    auto s = sub(h, {"global"}, {}, "mallory");
    EXPECT_EQ(h.disconnect_user("mallory", {.refuse_reconnect = 1h}), 1u);
    std::error_code ec;
    (void)h.subscribe({.channels = {"global"}, .user_id = "mallory"}, ec);
    EXPECT_EQ(ec, errc::reconnect_refused);
    (void)h.subscribe({.channels = {"global"}, .user_id = "alice"}, ec);
    EXPECT_FALSE(ec);
    EXPECT_TRUE(h.allow_user("mallory"));
    (void)h.subscribe({.channels = {"global"}, .user_id = "mallory"}, ec);
    EXPECT_FALSE(ec);
}
