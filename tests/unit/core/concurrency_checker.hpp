// SPDX-License-Identifier: MIT
// The hub concurrency checker, shared by the one-hub test and the cluster-wide (Redis) test:
// publishers that publish unique tokens on random channel sets, subscribers that join, leave,
// resume with Last-Event-ID (on any hub) and overflow, and the check that every stream is in seq
// order, gapless unless it says `resync`, and free of duplicates (batch items unpacked), against
// the truth of what each seq carries.
#ifndef CRIER_TESTS_UNIT_CORE_CONCURRENCY_CHECKER_HPP
#define CRIER_TESTS_UNIT_CORE_CONCURRENCY_CHECKER_HPP

#include <crier/core/hub.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "unit/core/hub_test_util.hpp"

namespace crier_test::concurrency {

using namespace std::chrono_literals;

inline constexpr int channel_count = 6;
inline constexpr std::uint32_t all_channels = (1u << channel_count) - 1;

/// `c0` … `c5`: the digit is the channel's bit in a mask.
inline std::string channel_name(int i) {
    return "c" + std::to_string(i);
}

/// The mask of a channel list (names from channel_name()).
inline std::uint32_t mask_of(std::span<const std::string_view> channels) {
    std::uint32_t mask = 0;
    for (std::string_view c : channels) mask |= 1u << (c[1] - '0');
    return mask;
}

/// One subscription's life, as its subscriber saw it.
struct session {
    int hub = 0;                         // which hub it subscribed on
    std::uint32_t mask = 0;              // channels it subscribed to
    std::optional<std::uint64_t> since;  // the newest event seen before: where it resumes
    bool garbage_id = false;
    std::vector<received> events;
    std::vector<delivered> unpacked;  // `batch` replaced by its items
    std::error_code closed;
};

/// What one seq carries: its channels and the publisher's token (empty for a `batch` itself).
struct ordered_entry {
    std::uint32_t mask = 0;
    std::string data;
};

/// Token → channel mask of every event published; filled by publishers, read by check().
struct published_events {
    std::mutex mutex;
    std::map<std::string, std::uint32_t> tokens;
};

/// Publishes `count` events with unique tokens `p<p>-<i>` on 1–3 random channels through
/// `publish` (half of them sharing c0 when batching, as module events share their module's
/// channel). Records each accepted one in `out`.
inline void run_publisher(int p, int count, bool batching,
                          const std::function<crier::publish_result(const std::vector<std::string>&,
                                                                    std::string)>& publish,
                          published_events& out) {
    std::mt19937 rng(static_cast<unsigned>(p + 1));
    std::vector<std::pair<std::string, std::uint32_t>> mine;
    for (int i = 0; i < count; ++i) {
        std::uint32_t mask = 0;
        std::vector<std::string> channels;
        if (batching && i % 2 == 0) {
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
        auto r = publish(channels, token);
        if (!r) {
            ADD_FAILURE() << r.error.message();
            continue;
        }
        // A held event has no id until its batch is flushed.
        EXPECT_EQ(r.held, r.id.seq == 0);
        mine.emplace_back(std::move(token), mask);
        if (i % 64 == 0) std::this_thread::yield();
    }
    std::lock_guard lock(out.mutex);
    out.tokens.insert(mine.begin(), mine.end());
}

/// Subscriber `s`: while publishers run, subscribes on a hub chosen by `pick` (given the
/// subscriber's random source; it also returns the hub's index), on random channels or `c*`,
/// resuming from the last id it saw (sometimes a garbage id), reading for a few rounds or
/// stalling past `queue_frames` to overflow, and appends each session to `sessions`.
inline void run_subscriber(int s, const std::atomic<int>& publishing, std::size_t queue_frames,
                           const std::function<std::pair<crier::hub*, int>(std::mt19937&)>& pick,
                           std::mutex& sessions_mutex, std::vector<session>& sessions) {
    std::mt19937 rng(static_cast<unsigned>(100 + s));
    std::string last_id;
    std::optional<std::uint64_t> last_seen;
    std::vector<crier::sse::frame> frames;
    while (publishing.load() > 0) {
        session ses;
        auto [hub, index] = pick(rng);
        ses.hub = index;
        crier::hub& h = *hub;
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
                while (publishing.load() > 0 && h.current_id().seq < start + 2 * queue_frames) {
                    std::this_thread::sleep_for(1ms);
                }
            }
            (void)sub.wait_for(2ms);
            frames.clear();
            sub.drain(frames);
            auto got = parse(frames);
            ses.events.insert(ses.events.end(), got.begin(), got.end());
        }
        frames.clear();
        sub.drain(frames);
        auto got = parse(frames);
        ses.events.insert(ses.events.end(), got.begin(), got.end());
        ses.closed = sub.closed();
        ses.unpacked = unpack(ses.events);
        if (!ses.events.empty()) {
            last_id = ses.events.back().id;  // a batch's own id when it ends in one
            last_seen = ses.unpacked.empty() ? ses.events.back().seq() : ses.unpacked.back().seq;
        }
        std::lock_guard lock(sessions_mutex);
        sessions.push_back(std::move(ses));
    }
}

/// What check() counted.
struct totals {
    std::size_t delivered = 0;
    std::size_t resyncs = 0;
    std::size_t replays = 0;  // resumed sessions that got a replay, not a resync
};

/// Checks the order (seq → what it carries, every seq ordered, batches included) against what
/// was published, then every session: ids increasing, each event once, of its channels, with no
/// event of its channels skipped unless a `resync` says so; a garbage Last-Event-ID gets
/// `resync` first; a closed stream was closed for overflow. Gtest failures say which.
inline void check(const std::map<std::uint64_t, ordered_entry>& ordered,
                  const published_events& published, const std::vector<session>& sessions,
                  totals& out) {
    ASSERT_FALSE(ordered.empty());
    EXPECT_EQ(ordered.rbegin()->first - ordered.begin()->first + 1, ordered.size())
        << "seq: +1 per event or batch, no holes";
    std::map<std::uint64_t, std::uint32_t> truth;
    std::map<std::uint64_t, std::string> token_of;
    std::set<std::string> sequenced;
    for (const auto& [seq, e] : ordered) {
        if (e.data.empty()) continue;  // a batch
        auto p = published.tokens.find(e.data);
        ASSERT_NE(p, published.tokens.end()) << "an event nobody published: " << e.data;
        ASSERT_EQ(p->second, e.mask) << e.data;
        ASSERT_TRUE(sequenced.insert(e.data).second) << "sequenced twice: " << e.data;
        truth[seq] = e.mask;
        token_of[seq] = e.data;
    }
    EXPECT_EQ(sequenced.size(), published.tokens.size()) << "every publish is sequenced once";

    for (std::size_t i = 0; i < sessions.size(); ++i) {
        const session& ses = sessions[i];
        SCOPED_TRACE("session " + std::to_string(i) + " on hub " + std::to_string(ses.hub));
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
        if (ses.since && !ses.events.empty() && ses.events.front().type != "resync") ++out.replays;
        std::uint64_t previous = 0;
        std::set<std::uint64_t> seen;
        for (const auto& e : ses.unpacked) {
            const std::uint64_t seq = e.seq;
            if (e.type == "resync") {
                // Held events take their seqs when flushed, above any resync's id: order holds
                // across a resync, batching or not.
                ++out.resyncs;
                ASSERT_GT(seq, previous) << "out of order";
                previous = seq;
                baseline = seq;  // continuity restarts after the resync's id
                has_baseline = true;
                continue;
            }
            ASSERT_GT(seq, previous) << "out of order or duplicate";
            previous = seq;
            ASSERT_TRUE(seen.insert(seq).second) << "duplicate " << seq;
            ++out.delivered;
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
}

}  // namespace crier_test::concurrency

#endif
