// SPDX-License-Identifier: MIT
// The hub concurrency checker, cluster-wide: publishers on three nodes of one Redis, subscribers
// that join a random node, leave, resume with Last-Event-ID on another node and overflow. The
// truth is Redis's own stream, read at the end: every stream is in seq order, gapless unless it
// says `resync`, and free of duplicates, with the rate limit off and on (batch items unpacked).
#include <crier/backplane/redis.hpp>
#include <crier/core/hub.hpp>

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <simdjson.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "integration/support/redis_server.hpp"
#include "unit/core/hub_test_util.hpp"

namespace {

using namespace std::chrono_literals;

constexpr int channel_count = 6;
constexpr std::uint32_t all_channels = (1u << channel_count) - 1;

std::string channel_name(int i) {
    return "c" + std::to_string(i);
}

struct session {
    int node = 0;
    std::uint32_t mask = 0;
    std::optional<std::uint64_t> since;
    bool garbage_id = false;
    std::vector<crier_test::received> events;
    std::vector<crier_test::delivered> unpacked;
    std::error_code closed;
};

struct ordered_entry {
    std::uint32_t mask = 0;
    std::string data;  ///< the publisher's token; empty for a `batch` itself
};

/// Every event in Redis's stream, by seq (batch items at the seqs below their batch).
std::map<std::uint64_t, ordered_entry> read_stream(std::uint16_t port) {
    std::map<std::uint64_t, ordered_entry> out;
    redisContext* c = redisConnect("127.0.0.1", port);
    if (c == nullptr || c->err != 0) {
        ADD_FAILURE() << "cannot read the stream";
        if (c != nullptr) redisFree(c);
        return out;
    }
    auto* r = static_cast<redisReply*>(redisCommand(c, "XRANGE {crier}:log - +"));
    simdjson::dom::parser parser;
    for (std::size_t i = 0; r != nullptr && i < r->elements; ++i) {
        crier::detail::redis_entry e;
        if (!crier::detail::parse_entry(r->element[i], e)) {
            ADD_FAILURE() << "an entry crier did not write";
            continue;
        }
        std::uint32_t mask = 0;
        std::vector<std::string_view> channels;
        crier::detail::split_channels(e.channels, channels);
        for (std::string_view ch : channels) mask |= 1u << (ch[1] - '0');
        if (e.items == 0) {
            out[e.seq] = {mask, std::string(e.data)};
            continue;
        }
        out[e.seq] = {mask, {}};
        simdjson::dom::array items;
        if (parser.parse(e.data).get_array().get(items)) {
            ADD_FAILURE() << "a batch that is not an array";
            continue;
        }
        std::uint64_t seq = e.seq - e.items;
        for (simdjson::dom::element item : items) {
            std::string_view data;
            EXPECT_FALSE(item["data"].get(data));
            out[seq++] = {mask, std::string(data)};
        }
        EXPECT_EQ(seq, e.seq);
    }
    if (r != nullptr) freeReplyObject(r);
    redisFree(c);
    return out;
}

/// (overflow policy, rate limit on)
class redis_concurrency
    : public ::testing::TestWithParam<std::tuple<crier::overflow_policy, bool>> {};

TEST_P(redis_concurrency, streams_on_any_node_are_ordered_gapless_unless_resync_and_at_most_once) {
    constexpr int nodes_count = 3;
    constexpr int subscribers = 3;
    constexpr int per_publisher = 3000;
    constexpr std::size_t queue_frames = 128;
    const auto [policy, batching] = GetParam();
    crier_test::redis_server redis;
    std::vector<std::unique_ptr<crier::hub>> nodes;
    for (int n = 0; n < nodes_count; ++n) {
        auto bp = std::make_shared<crier::redis_backplane>(crier::redis_options{
            .url = redis.url(), .node_name = "n" + std::to_string(n), .log_events = 1000000});
        nodes.push_back(std::make_unique<crier::hub>(
            crier::hub_options{.history_size = 64,  // small: resumes often need Redis's stream
                               .queue_frames = queue_frames,
                               .overflow = policy,
                               .rate_limit = batching ? 20u : 0u,
                               .rate_window = 100ms,
                               .max_batch_events = 64,
                               .max_connections_per_user = 0,
                               .backplane = bp}));
    }

    std::mutex truth_mutex;
    std::map<std::string, std::uint32_t> published;
    std::atomic<int> publishing{nodes_count};
    std::vector<std::thread> threads;
    for (int p = 0; p < nodes_count; ++p) {
        threads.emplace_back([&, p] {
            std::mt19937 rng(static_cast<unsigned>(p + 1));
            std::vector<std::pair<std::string, std::uint32_t>> mine;
            for (int i = 0; i < per_publisher; ++i) {
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
                std::string token = "p";
                token.append(std::to_string(p)).append("-").append(std::to_string(i));
                auto r = nodes[static_cast<std::size_t>(p)]->publish(channels, "load:tick", token);
                if (!r) {
                    ADD_FAILURE() << r.error.message();
                    continue;
                }
                mine.emplace_back(std::move(token), mask);
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
                ses.node = static_cast<int>(rng() % nodes_count);  // resume anywhere
                crier::hub& h = *nodes[static_cast<std::size_t>(ses.node)];
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
                    last_id = ses.events.back().id;
                    last_seen =
                        ses.unpacked.empty() ? ses.events.back().seq() : ses.unpacked.back().seq;
                }
                std::lock_guard lock(sessions_mutex);
                sessions.push_back(std::move(ses));
            }
        });
    }
    for (auto& t : threads) t.join();
    for (auto& n : nodes) n->flush_batches();

    ASSERT_EQ(published.size(), static_cast<std::size_t>(nodes_count * per_publisher));
    const auto ordered = read_stream(redis.port());
    ASSERT_FALSE(ordered.empty());
    EXPECT_EQ(ordered.rbegin()->first - ordered.begin()->first + 1, ordered.size())
        << "seq: +1 per event or batch, no holes";
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
        SCOPED_TRACE("session " + std::to_string(i) + " on node " + std::to_string(ses.node));
        if (ses.garbage_id) {
            if (ses.events.empty()) {
                EXPECT_EQ(ses.closed, crier::errc::subscriber_overflow);
            } else {
                EXPECT_EQ(ses.events.front().type, "resync");
            }
        }
        bool has_baseline = ses.since.has_value();
        std::uint64_t baseline = ses.since.value_or(0);
        if (ses.since && !ses.events.empty() && ses.events.front().type != "resync") ++replays;
        std::uint64_t previous = 0;
        std::set<std::uint64_t> seen;
        for (const auto& e : ses.unpacked) {
            const std::uint64_t seq = e.seq;
            if (e.type == "resync") {
                ++resyncs;
                ASSERT_GT(seq, previous) << "out of order";
                previous = seq;
                baseline = seq;
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
    EXPECT_GT(delivered, 0u);
    EXPECT_GT(replays, 0u);
    std::uint64_t held = 0;
    for (auto& n : nodes) held += n->stats().rate_limited;
    if (batching) {
        EXPECT_GT(held, 0u);
    }
    std::cout << "sessions " << sessions.size() << ", replays " << replays << ", delivered "
              << delivered << ", resyncs " << resyncs << ", held " << held << "\n";
}

std::string variant_name(
    const ::testing::TestParamInfo<std::tuple<crier::overflow_policy, bool>>& p) {
    const bool drop = std::get<0>(p.param) == crier::overflow_policy::drop_oldest;
    return std::string(drop ? "drop_oldest" : "disconnect") +
           (std::get<1>(p.param) ? "_rate_limited" : "_unlimited");
}

INSTANTIATE_TEST_SUITE_P(policies, redis_concurrency,
                         ::testing::Combine(::testing::Values(crier::overflow_policy::drop_oldest,
                                                              crier::overflow_policy::disconnect),
                                            ::testing::Bool()),
                         variant_name);

}  // namespace
