// SPDX-License-Identifier: MIT
// Publishers on several threads, subscribers joining, leaving, reconnecting with Last-Event-ID
// and overflowing; a checker proves every stream is in seq order, gapless unless it says
// `resync`, and free of duplicates, with the rate limit off and on (batch items unpacked).
// Run it under the tsan preset.
#include <crier/core/hub.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "unit/core/concurrency_checker.hpp"

namespace {

using namespace std::chrono_literals;

using crier_test::concurrency::channel_name;
using crier_test::concurrency::ordered_entry;
using crier_test::concurrency::published_events;
using crier_test::concurrency::session;

/// The hub's own in-process backplane, seen through a window: it records what each seq is (a
/// held event has no id when it is published; it takes one when its batch is ordered, so the
/// truth of which seq carries which event comes from the ordering step itself).
class recording_backplane final : public crier::backplane {
public:
    [[nodiscard]] std::uint64_t epoch() const noexcept override { return inner_.epoch(); }
    [[nodiscard]] crier::sse::event_id last_id() const noexcept override {
        return inner_.last_id();
    }
    void attach(crier::backplane_sink* sink) noexcept override { inner_.attach(sink); }
    std::error_code publish(crier::backplane_event& e) noexcept override {
        if (auto ec = inner_.publish(e)) return ec;
        const std::uint32_t mask = crier_test::concurrency::mask_of(e.channels);
        std::lock_guard lock(mutex_);
        if (e.items == 0) {
            seqs_[e.id.seq] = {mask, std::string(e.data)};
            return {};
        }
        // The items take the seqs just below the batch's, in the array's order.
        simdjson::dom::array items;
        if (parser_.parse(e.data).get_array().get(items)) {
            ADD_FAILURE() << "a batch that is not an array: " << e.data;
            return {};
        }
        std::uint64_t seq = e.id.seq - e.items;
        for (simdjson::dom::element item : items) {
            std::string_view data;
            EXPECT_FALSE(item["data"].get(data));
            EXPECT_TRUE(item["id"].error()) << "ids are written in by the sink, not carried";
            seqs_[seq++] = {mask, std::string(data)};
        }
        EXPECT_EQ(seq, e.id.seq) << "a batch's item count and its data disagree";
        seqs_[e.id.seq] = {mask, {}};
        return {};
    }

    /// seq -> what it carries, for every seq ordered so far. Call once publishing is over.
    [[nodiscard]] std::map<std::uint64_t, ordered_entry> seqs() const {
        std::lock_guard lock(mutex_);
        return seqs_;
    }

private:
    crier::in_process_backplane inner_{0xabc};
    mutable std::mutex mutex_;
    simdjson::dom::parser parser_;                 // guarded by mutex_
    std::map<std::uint64_t, ordered_entry> seqs_;  // guarded by mutex_
};

/// (overflow policy, rate limit on)
class hub_concurrency : public ::testing::TestWithParam<std::tuple<crier::overflow_policy, bool>> {
};

TEST_P(hub_concurrency, streams_are_ordered_gapless_unless_resync_and_at_most_once) {
    constexpr int publishers = 3;
    constexpr int subscribers = 3;
    constexpr int per_publisher = 10000;
    constexpr std::size_t queue_frames = 128;
    const auto [policy, batching] = GetParam();
    auto backplane = std::make_shared<recording_backplane>();
    // With the rate limit on, a token every 2 ms per channel: most events are held, in groups
    // of interleaved, overlapping channel sets.
    crier::hub h(crier_test::test_options({.history_size = 256,
                                           .queue_frames = queue_frames,
                                           .overflow = policy,
                                           .rate_limit = batching ? 50u : 0u,
                                           .rate_window = 100ms,
                                           .max_batch_events = 64,
                                           .max_connections_per_user = 0,
                                           .backplane = backplane}));

    published_events published;
    std::atomic<int> publishing{publishers};
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            crier_test::concurrency::run_publisher(
                p, per_publisher, batching,
                [&](const std::vector<std::string>& channels, std::string token) {
                    return h.publish(channels, "load:tick", std::move(token));
                },
                published);
            --publishing;
        });
    }
    std::mutex sessions_mutex;
    std::vector<session> sessions;
    for (int s = 0; s < subscribers; ++s) {
        threads.emplace_back([&, s] {
            crier_test::concurrency::run_subscriber(
                s, publishing, queue_frames,
                [&](std::mt19937&) {
                    return std::pair{&h, 0};
                },
                sessions_mutex, sessions);
        });
    }
    for (auto& t : threads) t.join();
    h.flush_batches();

    ASSERT_EQ(published.tokens.size(), static_cast<std::size_t>(publishers * per_publisher));
    const auto ordered = backplane->seqs();
    ASSERT_FALSE(ordered.empty());
    EXPECT_EQ(ordered.begin()->first, 1u);
    crier_test::concurrency::totals counted;
    crier_test::concurrency::check(ordered, published, sessions, counted);
    if (HasFatalFailure()) return;
    const auto [delivered, resyncs, replays] = counted;
    const auto st = h.stats();
    EXPECT_GT(delivered, 0u);
    EXPECT_GT(st.overflows, 0u);
    EXPECT_GT(resyncs, 0u);
    EXPECT_EQ(st.subscriptions, 0u);
    if (batching) {
        EXPECT_GT(st.rate_limited, 0u);
        EXPECT_GT(st.batched, 0u);
    }
    std::cout << "sessions " << sessions.size() << ", replays " << replays << ", delivered "
              << delivered << ", resyncs " << resyncs << ", overflows " << st.overflows << ", held "
              << st.rate_limited << ", batches " << st.batched << "\n";
}

std::string variant_name(
    const ::testing::TestParamInfo<std::tuple<crier::overflow_policy, bool>>& p) {
    const bool drop = std::get<0>(p.param) == crier::overflow_policy::drop_oldest;
    return std::string(drop ? "drop_oldest" : "disconnect") +
           (std::get<1>(p.param) ? "_rate_limited" : "_unlimited");
}

INSTANTIATE_TEST_SUITE_P(policies, hub_concurrency,
                         ::testing::Combine(::testing::Values(crier::overflow_policy::drop_oldest,
                                                              crier::overflow_policy::disconnect),
                                            ::testing::Bool()),
                         variant_name);

}  // namespace
