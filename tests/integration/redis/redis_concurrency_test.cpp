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
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "integration/support/redis_server.hpp"
#include "unit/core/concurrency_checker.hpp"

namespace {

using namespace std::chrono_literals;

using crier_test::concurrency::ordered_entry;
using crier_test::concurrency::published_events;
using crier_test::concurrency::session;

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
        std::vector<std::string_view> channels;
        crier::detail::split_channels(e.channels, channels);
        const std::uint32_t mask = crier_test::concurrency::mask_of(channels);
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

    published_events published;
    std::atomic<int> publishing{nodes_count};
    std::vector<std::thread> threads;
    for (int p = 0; p < nodes_count; ++p) {
        threads.emplace_back([&, p] {
            crier::hub& node = *nodes[static_cast<std::size_t>(p)];
            crier_test::concurrency::run_publisher(
                p, per_publisher, batching,
                [&](const std::vector<std::string>& channels, std::string token) {
                    return node.publish(channels, "load:tick", std::move(token));
                },
                published);
            --publishing;
        });
    }
    std::mutex sessions_mutex;
    std::vector<session> sessions;
    for (int s = 0; s < subscribers; ++s) {
        threads.emplace_back([&, s] {
            // Each session joins a random node: resuming anywhere.
            crier_test::concurrency::run_subscriber(
                s, publishing, queue_frames,
                [&](std::mt19937& rng) {
                    const int n = static_cast<int>(rng() % nodes_count);
                    return std::pair{nodes[static_cast<std::size_t>(n)].get(), n};
                },
                sessions_mutex, sessions);
        });
    }
    for (auto& t : threads) t.join();
    for (auto& n : nodes) n->flush_batches();

    ASSERT_EQ(published.tokens.size(), static_cast<std::size_t>(nodes_count * per_publisher));
    const auto ordered = read_stream(redis.port());
    crier_test::concurrency::totals counted;
    crier_test::concurrency::check(ordered, published, sessions, counted);
    if (HasFatalFailure()) return;
    const auto [delivered, resyncs, replays] = counted;
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
