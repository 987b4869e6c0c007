// SPDX-License-Identifier: MIT
// Publishers on several threads, subscribers joining, leaving, reconnecting with Last-Event-ID
// and overflowing; a checker proves every stream is in seq order, gapless unless it says
// `resync`, and free of duplicates, with the rate limit off and on (batch items unpacked).
// Run it under the tsan preset.
#include <crier/core/hub.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "unit/core/hub_test_util.hpp"

namespace {

using namespace std::chrono_literals;

constexpr int channel_count = 6;
constexpr std::uint32_t all_channels = (1u << channel_count) - 1;

std::string channel_name(int i) {
    return "c" + std::to_string(i);
}

struct session {
    std::uint32_t mask = 0;              // channels it subscribed to
    std::optional<std::uint64_t> since;  // the newest event seen before: where it resumes
    bool garbage_id = false;
    std::vector<crier_test::received> events;
    std::vector<crier_test::delivered> unpacked;  // `batch` replaced by its items
    std::error_code closed;
};

/// The hub's own in-process backplane, seen through a window: it records what each seq is (a
/// held event has no id when it is published; it takes one when its batch is ordered, so the
/// truth of which seq carries which event comes from the ordering step itself).
class recording_backplane final : public crier::backplane {
public:
    struct entry {
        std::uint32_t mask = 0;
        std::string data;  ///< the publisher's unique token; empty for a `batch` itself
    };

    [[nodiscard]] std::uint64_t epoch() const noexcept override { return inner_.epoch(); }
    [[nodiscard]] crier::sse::event_id last_id() const noexcept override {
        return inner_.last_id();
    }
    void attach(crier::backplane_sink* sink) noexcept override { inner_.attach(sink); }
    std::error_code publish(crier::backplane_event& e) noexcept override {
        if (auto ec = inner_.publish(e)) return ec;
        std::uint32_t mask = 0;
        for (std::string_view c : e.channels) mask |= 1u << (c[1] - '0');
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
    [[nodiscard]] std::map<std::uint64_t, entry> seqs() const {
        std::lock_guard lock(mutex_);
        return seqs_;
    }

private:
    crier::in_process_backplane inner_{0xabc};
    mutable std::mutex mutex_;
    simdjson::dom::parser parser_;         // guarded by mutex_
    std::map<std::uint64_t, entry> seqs_;  // guarded by mutex_
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

    std::mutex truth_mutex;
    std::map<std::string, std::uint32_t> published;  // unique token -> channel mask
    std::atomic<int> publishing{publishers};
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            std::mt19937 rng(static_cast<unsigned>(p + 1));
            std::vector<std::pair<std::string, std::uint32_t>> mine;
            for (int i = 0; i < per_publisher; ++i) {
                std::uint32_t mask = 0;
                std::vector<std::string> channels;
                if (batching && i % 2 == 0) {
                    // Half the sets share c0 (as module events share their module's channel);
                    // the others may be disjoint: a stream is in seq order either way.
                    mask = 1;
                    channels.push_back(channel_name(0));
                }
                const int n = 1 + static_cast<int>(rng() % 3);
                for (int k = 0; k < n; ++k) {
                    const int c = static_cast<int>(rng() % channel_count);
                    if (mask & (1u << c)) continue;
                    mask |= 1u << c;
                    channels.push_back(channel_name(c));
                }
                // append(), not "p" + std::string: GCC 12's -O3 -Wrestrict false positive.
                std::string token = "p";
                token.append(std::to_string(p)).append("-").append(std::to_string(i));
                auto r = h.publish(channels, "load:tick", token);
                if (!r) {
                    ADD_FAILURE() << r.error.message();
                    continue;
                }
                // A held event has no id until its batch is flushed.
                EXPECT_EQ(r.held, r.id.seq == 0);
                mine.emplace_back(std::move(token), mask);
                if (i % 64 == 0) std::this_thread::yield();
            }
            std::lock_guard lock(truth_mutex);
            published.insert(mine.begin(), mine.end());
            --publishing;
        });
    }

    std::mutex sessions_mutex;
    std::vector<session> sessions;
    for (int s = 0; s < subscribers; ++s) {
        threads.emplace_back([&, s] {
            std::mt19937 rng(static_cast<unsigned>(100 + s));
            std::string last_id;
            std::optional<std::uint64_t> last_seen;
            std::vector<crier::sse::frame> frames;
            while (publishing.load() > 0) {
                session ses;
                crier::subscribe_options o;
                const bool stall = rng() % 4 == 0;
                if (stall || rng() % 5 == 0) {
                    o.channels = {"c*"};
                    ses.mask = all_channels;
                } else {
                    const int n = 1 + static_cast<int>(rng() % 3);
                    for (int k = 0; k < n; ++k) {
                        const int c = static_cast<int>(rng() % channel_count);
                        if (ses.mask & (1u << c)) continue;
                        ses.mask |= 1u << c;
                        o.channels.push_back(channel_name(c));
                    }
                }
                if (rng() % 10 == 0) {
                    o.last_event_id = "garbage";
                    ses.garbage_id = true;
                } else {
                    o.last_event_id = last_id;
                    ses.since = last_seen;
                }
                o.user_id = "user" + std::to_string(s);
                auto sub = h.subscribe(std::move(o));
                const int rounds = 1 + static_cast<int>(rng() % 20);
                for (int r = 0; r < rounds && !sub.closed(); ++r) {
                    if (stall) {
                        // Fall behind by more than the queue holds.
                        const auto start = h.current_id().seq;
                        while (publishing.load() > 0 &&
                               h.current_id().seq < start + 2 * queue_frames) {
                            std::this_thread::sleep_for(1ms);
                        }
                    }
                    (void)sub.wait_for(2ms);
                    frames.clear();
                    sub.drain(frames);
                    auto got = crier_test::parse(frames);
                    ses.events.insert(ses.events.end(), got.begin(), got.end());
                }
                frames.clear();
                sub.drain(frames);
                auto got = crier_test::parse(frames);
                ses.events.insert(ses.events.end(), got.begin(), got.end());
                ses.closed = sub.closed();
                ses.unpacked = crier_test::unpack(ses.events);
                if (!ses.events.empty()) {
                    last_id = ses.events.back().id;  // a batch's own id when it ends in one
                    last_seen =
                        ses.unpacked.empty() ? ses.events.back().seq() : ses.unpacked.back().seq;
                }
                std::lock_guard lock(sessions_mutex);
                sessions.push_back(std::move(ses));
            }
        });
    }
    for (auto& t : threads) t.join();
    h.flush_batches();

    // seq -> mask of every published event; batches' own seqs are not in it.
    ASSERT_EQ(published.size(), static_cast<std::size_t>(publishers * per_publisher));
    const auto ordered = backplane->seqs();
    ASSERT_FALSE(ordered.empty());
    EXPECT_EQ(ordered.begin()->first, 1u);
    EXPECT_EQ(ordered.rbegin()->first, ordered.size());  // seq: +1 per event or batch, no holes
    std::map<std::uint64_t, std::uint32_t> truth;
    std::map<std::uint64_t, std::string> token_of;
    std::set<std::string> sequenced;
    for (const auto& [seq, e] : ordered) {
        if (e.data.empty()) continue;  // a batch
        auto p = published.find(e.data);
        ASSERT_NE(p, published.end()) << "an event nobody published: " << e.data;
        ASSERT_EQ(p->second, e.mask) << e.data;
        ASSERT_TRUE(sequenced.insert(e.data).second) << "sequenced twice: " << e.data;
        truth[seq] = e.mask;
        token_of[seq] = e.data;
    }
    EXPECT_EQ(sequenced.size(), published.size()) << "every publish is sequenced once";

    std::size_t delivered = 0;
    std::size_t resyncs = 0;
    std::size_t replays = 0;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        const session& ses = sessions[i];
        SCOPED_TRACE("session " + std::to_string(i));
        if (ses.garbage_id) {
            // resync first, unless an overflow closed the stream and dropped its queue
            if (ses.events.empty()) {
                EXPECT_EQ(ses.closed, crier::errc::subscriber_overflow);
            } else {
                EXPECT_EQ(ses.events.front().type, "resync");
            }
        }
        // Where continuity is checked from (a plain pair: GCC 12 at -O2 warns on the optional).
        bool has_baseline = ses.since.has_value();
        std::uint64_t baseline = ses.since.value_or(0);
        if (ses.since && !ses.events.empty() && ses.events.front().type != "resync") ++replays;
        std::uint64_t previous = 0;
        std::set<std::uint64_t> seen;
        for (const auto& e : ses.unpacked) {
            const std::uint64_t seq = e.seq;
            if (e.type == "resync") {
                // Held events take their seqs when flushed, above any resync's id: order holds
                // across a resync, batching or not.
                ++resyncs;
                ASSERT_GT(seq, previous) << "out of order";
                previous = seq;
                baseline = seq;  // continuity restarts after the resync's id
                has_baseline = true;
                continue;
            }
            ASSERT_GT(seq, previous) << "out of order or duplicate";
            previous = seq;
            ASSERT_TRUE(seen.insert(seq).second) << "duplicate " << seq;
            ++delivered;
            ASSERT_EQ(e.type, "load:tick");
            auto it = truth.find(seq);
            ASSERT_NE(it, truth.end()) << "an id nobody published: " << seq;
            ASSERT_EQ(e.data, token_of[seq]) << "an item with another event's id: " << seq;
            ASSERT_NE(it->second & ses.mask, 0u) << "an event of another channel: " << seq;
            if (has_baseline) {
                // No event of its channels may lie strictly between the previous one and this.
                const std::uint64_t from = baseline;
                for (auto g = truth.upper_bound(from); g != it; ++g) {
                    ASSERT_EQ(g->second & ses.mask, 0u)
                        << "gap: missed " << g->first << " between " << from << " and " << seq
                        << " (session mask " << ses.mask << ")";
                }
            }
            baseline = seq;
            has_baseline = true;
        }
        if (ses.closed) {
            EXPECT_EQ(ses.closed, crier::errc::subscriber_overflow);
        }
    }
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
