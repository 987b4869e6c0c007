// SPDX-License-Identifier: MIT
// hub_options::backlog_limit: a publish over the delivery backlog's bound is refused (or waits
// for it, with a deadline), one under it is accepted, and nothing accepted is lost.
#include <crier/core/detail/backlog.hpp>
#include <crier/core/hub.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "hub_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using crier_test::drain;

crier::hub_options bounded(std::size_t limit, std::chrono::milliseconds wait = {}) {
    return {.backlog_limit = limit, .backlog_wait = wait, .rate_limit = 0};
}

TEST(hub_backlog, off_by_default_publish_never_refused) {
    EXPECT_EQ(crier::hub_options{}.backlog_limit, 0u);
    EXPECT_EQ(crier::hub_options{}.backlog_wait, 0ms);
    crier::hub hub({.rate_limit = 0});
    auto sub = hub.subscribe({.channels = {"c"}});
    for (int i = 0; i < 500; ++i) ASSERT_FALSE(hub.publish("c", "t", std::to_string(i)).error);
    EXPECT_EQ(hub.stats().backlog_frames, 500u);
    EXPECT_EQ(hub.stats().overloaded, 0u);
    EXPECT_EQ(drain(sub).size(), 500u);
    EXPECT_EQ(hub.stats().backlog_frames, 0u);
}

TEST(hub_backlog, over_the_bound_is_refused_and_counted_under_it_accepted) {
    crier::hub hub(bounded(3));
    auto sub = hub.subscribe({.channels = {"c"}});
    std::vector<std::string> accepted;
    // The bound is "more than 3 queued": the 4th publish still sees 3 and is accepted.
    for (int i = 0; i < 4; ++i) {
        const auto r = hub.publish("c", "t", std::to_string(i));
        ASSERT_FALSE(r.error) << i << ": " << r.error.message();
        accepted.push_back(r.id_text());
    }
    for (int i = 0; i < 3; ++i) {
        const auto r = hub.publish("c", "t", "refused");
        EXPECT_EQ(r.error, crier::errc::overloaded);
        EXPECT_EQ(r.id, crier::sse::event_id{});
    }
    auto st = hub.stats();
    EXPECT_EQ(st.backlog_frames, 4u);
    EXPECT_EQ(st.overloaded, 3u);
    EXPECT_EQ(st.published, 4u);  // refused events are not sequenced
    EXPECT_EQ(hub.current_id().seq, 4u);

    const auto got = drain(sub);
    ASSERT_EQ(got.size(), 4u);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].id, accepted[i]);
        EXPECT_EQ(got[i].data, std::to_string(i));
    }
    EXPECT_EQ(hub.stats().backlog_frames, 0u);
    const auto after = hub.publish("c", "t", "after the drain");
    ASSERT_FALSE(after.error);
    EXPECT_EQ(after.id.seq, 5u);  // consecutive: nothing was sequenced for the refusals
    EXPECT_EQ(drain(sub).at(0).data, "after the drain");
}

TEST(hub_backlog, the_bound_is_an_average_over_subscriptions) {
    crier::hub hub(bounded(2));
    auto solo = hub.subscribe({.channels = {"solo"}});
    std::vector<crier::subscription> subs;
    for (int i = 0; i < 10; ++i) subs.push_back(hub.subscribe({.channels = {"c"}}));
    // 11 subscriptions: the bound is 22 frames. A slow reader holding 5 counts only those 5.
    for (int i = 0; i < 5; ++i) ASSERT_FALSE(hub.publish("solo", "t", "x").error);
    EXPECT_FALSE(hub.publish("c", "t", "fan-out 1").error);  // 5 ≤ 22, then 15
    EXPECT_FALSE(hub.publish("c", "t", "fan-out 2").error);  // 15 ≤ 22, then 25
    EXPECT_EQ(hub.publish("c", "t", "refused").error, crier::errc::overloaded);
    EXPECT_EQ(hub.publish("solo", "t", "refused").error, crier::errc::overloaded);
    for (auto& s : subs) {
        const auto got = drain(s);
        ASSERT_EQ(got.size(), 2u);
        EXPECT_EQ(got[1].data, "fan-out 2");
    }
    EXPECT_EQ(hub.stats().backlog_frames, 5u);
    EXPECT_FALSE(hub.publish("c", "t", "fan-out 3").error);
    EXPECT_EQ(drain(solo).size(), 5u);
}

TEST(hub_backlog, a_freed_or_overflowed_subscription_releases_its_share) {
    crier::hub hub({.queue_frames = 8, .backlog_limit = 100, .rate_limit = 0});
    {
        auto gone = hub.subscribe({.channels = {"c"}});
        for (int i = 0; i < 5; ++i) ASSERT_FALSE(hub.publish("c", "t", "x").error);
        EXPECT_EQ(hub.stats().backlog_frames, 5u);
    }
    EXPECT_EQ(hub.stats().backlog_frames, 0u);
    auto slow = hub.subscribe({.channels = {"c"}});
    for (int i = 0; i < 9; ++i) ASSERT_FALSE(hub.publish("c", "t", "x").error);  // 9 > 8
    EXPECT_EQ(slow.closed(), crier::errc::subscriber_overflow);
    EXPECT_EQ(hub.stats().backlog_frames, 0u);
}

TEST(hub_backlog, a_waiting_publish_is_accepted_when_a_drain_lowers_the_backlog) {
    crier::hub hub(bounded(1, 5s));
    auto sub = hub.subscribe({.channels = {"c"}});
    ASSERT_FALSE(hub.publish("c", "t", "1").error);
    ASSERT_FALSE(hub.publish("c", "t", "2").error);  // 2 > 1: the next one waits
    std::atomic<bool> drained{false};
    std::thread reader([&] {
        std::this_thread::sleep_for(100ms);
        drained = true;
        EXPECT_EQ(drain(sub).size(), 2u);
    });
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = hub.publish("c", "t", "3");
    const auto waited = std::chrono::steady_clock::now() - t0;
    reader.join();
    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_TRUE(drained.load());
    EXPECT_GE(waited, 90ms);
    EXPECT_LT(waited, 4s);
    const auto got = drain(sub);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, "3");
    EXPECT_EQ(hub.stats().overloaded, 0u);
}

TEST(hub_backlog, a_wait_ends_at_its_deadline_and_a_call_can_refuse_at_once) {
    crier::hub hub(bounded(1, 150ms));
    auto sub = hub.subscribe({.channels = {"c"}});
    ASSERT_FALSE(hub.publish("c", "t", "1").error);
    ASSERT_FALSE(hub.publish("c", "t", "2").error);
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(hub.publish("c", "t", "late").error, crier::errc::overloaded);
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 140ms);
    EXPECT_LT(waited, 3s);

    t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(hub.publish("c", "t", "now", {.backlog_wait = 0ms}).error, crier::errc::overloaded);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);
    EXPECT_EQ(hub.stats().overloaded, 2u);
    EXPECT_EQ(drain(sub).size(), 2u);
}

TEST(hub_backlog, a_repeat_of_an_accepted_publish_is_a_duplicate_at_once_not_overloaded) {
    crier::hub_options options = bounded(1, 10s);
    options.dedup_fields = {"orderId"};
    crier::hub hub(options);
    auto sub = hub.subscribe({.channels = {"c"}});
    const auto first = hub.publish("c", "t", "1", {.dedup_key = "k1"});
    ASSERT_FALSE(first.error);
    const auto by_fields = hub.publish("c", "t", R"({"orderId":7})");
    ASSERT_FALSE(by_fields.error);
    ASSERT_EQ(hub.stats().backlog_frames, 2u);  // over the bound of 1

    // Retries whose first answer was lost: the same id, at once, though a new event would wait
    // up to 10 s and then be refused.
    const auto t0 = std::chrono::steady_clock::now();
    const auto again = hub.publish("c", "t", "1, sent again", {.dedup_key = "k1"});
    const auto again_fields = hub.publish("c", "t", R"({"orderId":7,"retry":1})");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_FALSE(again.error) << again.error.message();
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.id, first.id);
    EXPECT_FALSE(again_fields.error) << again_fields.error.message();
    EXPECT_TRUE(again_fields.duplicate);
    EXPECT_EQ(again_fields.id, by_fields.id);

    // A new key is still held to the bound.
    EXPECT_EQ(hub.publish("c", "t", "2", {.dedup_key = "k2", .backlog_wait = 0ms}).error,
              crier::errc::overloaded);
    const auto st = hub.stats();
    EXPECT_EQ(st.deduplicated, 2u);
    EXPECT_EQ(st.overloaded, 1u);
    EXPECT_EQ(st.published, 2u);
    const auto got = drain(sub);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].data, "1");
    EXPECT_EQ(got[1].data, R"({"orderId":7})");
}

TEST(hub_backlog, stop_wakes_a_waiting_publisher) {
    crier::hub hub(bounded(1, 10s));
    auto sub = hub.subscribe({.channels = {"c"}});
    ASSERT_FALSE(hub.publish("c", "t", "1").error);
    ASSERT_FALSE(hub.publish("c", "t", "2").error);
    std::thread stopper([&] {
        std::this_thread::sleep_for(100ms);
        hub.stop();
    });
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = hub.publish("c", "t", "3");
    stopper.join();
    EXPECT_EQ(r.error, crier::errc::hub_stopped);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST(hub_backlog, concurrent_publishers_and_a_reader_lose_nothing_accepted) {
    crier::hub hub(bounded(16, 2s));
    auto sub = hub.subscribe({.channels = {"c"}});
    constexpr int per_thread = 2000;
    std::atomic<int> accepted{0};
    std::atomic<bool> done{false};
    std::vector<crier_test::received> got;
    std::thread reader([&] {
        while (!done.load() || sub.queued_frames() != 0) {
            static_cast<void>(sub.wait_for(10ms));
            auto part = drain(sub);
            got.insert(got.end(), part.begin(), part.end());
        }
    });
    std::vector<std::thread> publishers;
    for (int t = 0; t < 3; ++t) {
        publishers.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i) {
                if (!hub.publish("c", "t", "x").error) ++accepted;
            }
        });
    }
    for (auto& p : publishers) p.join();
    done = true;
    reader.join();
    EXPECT_EQ(static_cast<int>(got.size()), accepted.load());
    EXPECT_EQ(accepted.load() + static_cast<int>(hub.stats().overloaded), 3 * per_thread);
    const auto seqs = crier_test::seqs(got);
    for (std::size_t i = 1; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], seqs[i - 1] + 1);
    EXPECT_EQ(hub.stats().backlog_frames, 0u);
}

TEST(hub_backlog, a_drain_counted_before_its_fan_out_reads_as_under_never_over) {
    // A transport may drain a frame between its queuing and the fan-out's single add.
    crier::detail::backlog_gauge gauge(2);
    gauge.set_subscriptions(1);
    gauge.release(1);
    EXPECT_FALSE(gauge.over());
    EXPECT_EQ(gauge.frames(), 0u);
    gauge.add(1);
    EXPECT_EQ(gauge.frames(), 0u);
    gauge.add(3);
    EXPECT_TRUE(gauge.over());  // 3 > 2
    gauge.release(1);
    EXPECT_FALSE(gauge.over());
}

}  // namespace
