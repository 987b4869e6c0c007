// SPDX-License-Identifier: MIT
// crier::redis_backplane against a real redis-server: three hubs on one Redis behave as one hub
// (one order, one id space, resume anywhere, dedup), and Redis going away is loud, never silent.
#include <crier/backplane/redis.hpp>
#include <crier/core/hub.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/redis_server.hpp"
#include "unit/core/hub_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using crier_test::received;

/// A crier node: a hub on its own redis_backplane.
struct node {
    std::shared_ptr<crier::redis_backplane> backplane;
    std::unique_ptr<crier::hub> hub;
};

node make_node(const crier_test::redis_server& redis, std::string name,
               crier::hub_options o = {.rate_limit = 0}, crier::redis_options r = {}) {
    r.url = redis.url();
    r.node_name = std::move(name);
    r.connect_timeout = 2s;
    r.command_timeout = 1s;
    r.reconnect_min = 20ms;
    r.reconnect_max = 200ms;
    node n;
    n.backplane = std::make_shared<crier::redis_backplane>(std::move(r));
    o.backplane = n.backplane;
    n.hub = std::make_unique<crier::hub>(std::move(o));
    return n;
}

/// Options for a node that refuses publishes while Redis is away.
crier::redis_options refuse() {
    return {.when_away = crier::away_mode::refuse};
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

/// Drains `s` until it delivered `count` events (or 5 s passed); every event, in order.
std::vector<received> collect(crier::subscription& s, std::size_t count,
                              std::chrono::milliseconds timeout = 5s) {
    std::vector<received> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
        s.wait_for(20ms);
        auto got = crier_test::drain(s);
        out.insert(out.end(), got.begin(), got.end());
    }
    return out;
}

std::vector<std::string> types(const std::vector<received>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.type);
    return out;
}

TEST(redis_url, parses_host_port_credentials_and_db) {
    auto u = crier::parse_redis_url("redis://:s%40cret@10.0.0.5:6380/2");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "10.0.0.5");
    EXPECT_EQ(u->port, 6380);
    EXPECT_EQ(u->user, "");
    EXPECT_EQ(u->password, "s@cret");
    EXPECT_EQ(u->db, 2u);
    u = crier::parse_redis_url("redis://app:pw@[::1]:7000");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 7000);
    EXPECT_EQ(u->user, "app");
    u = crier::parse_redis_url("redis://cache");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "cache");
    EXPECT_EQ(u->port, 6379);
    EXPECT_EQ(u->db, 0u);
    for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x",
                            "redis://user@h", "redis://[::1"}) {
        EXPECT_FALSE(crier::parse_redis_url(bad)) << bad;
    }
}

TEST(redis_backplane, unreachable_redis_or_a_bad_url_refuses_to_construct) {
    std::error_code ec;
    try {
        crier::redis_backplane bp({.url = "redis://127.0.0.1:1", .connect_timeout = 300ms});
    } catch (const std::system_error& e) {
        ec = e.code();
    }
    EXPECT_EQ(ec, crier::errc::backplane_unavailable);
    try {
        crier::redis_backplane bp({.url = "nope"});
    } catch (const std::system_error& e) {
        ec = e.code();
    }
    EXPECT_EQ(ec, crier::errc::invalid_url);
}

TEST(redis_backplane, publish_on_b_reaches_a_and_c_in_one_order) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a");
    node b = make_node(redis, "b");
    node c = make_node(redis, "c");
    EXPECT_EQ(a.hub->current_id().epoch, b.hub->current_id().epoch);
    EXPECT_EQ(b.hub->current_id().epoch, c.hub->current_id().epoch);
    auto sa = a.hub->subscribe({.channels = {"horses", "global"}});
    auto sb = b.hub->subscribe({.channels = {"horses", "global"}});
    auto sc = c.hub->subscribe({.channels = {"horses"}});
    std::vector<crier::sse::event_id> ids;
    for (int i = 0; i < 30; ++i) {
        node& from = i % 3 == 0 ? a : i % 3 == 1 ? b : c;
        auto r = from.hub->publish(i % 5 == 4 ? "global" : "horses", "horses:updated",
                                   "{\"n\":" + std::to_string(i) + "}");
        ASSERT_TRUE(r) << r.error.message();
        ids.push_back(r.id);
    }
    for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(ids[i].seq, ids[i - 1].seq + 1);
    auto got_a = collect(sa, 30);
    auto got_b = collect(sb, 30);
    auto got_c = collect(sc, 24);
    ASSERT_EQ(got_a.size(), 30u);
    ASSERT_EQ(got_b.size(), 30u);
    ASSERT_EQ(got_c.size(), 24u);  // not the six on `global`
    for (std::size_t i = 0; i < 30; ++i) {
        EXPECT_EQ(got_a[i].id, got_b[i].id);
        EXPECT_EQ(got_a[i].data, got_b[i].data);
        EXPECT_EQ(got_a[i].seq(), ids[i].seq);
        EXPECT_EQ(got_a[i].data, "{\"n\":" + std::to_string(i) + "}");
    }
    std::vector<received> horses;
    std::copy_if(got_a.begin(), got_a.end(), std::back_inserter(horses),
                 [](const received& e) { return e.data.find("\"n\":4}") == std::string::npos; });
    std::vector<std::uint64_t> expected;
    for (std::size_t i = 0; i < 30; ++i) {
        if (i % 5 != 4) expected.push_back(ids[i].seq);
    }
    EXPECT_EQ(crier_test::seqs(got_c), expected);
    EXPECT_TRUE(eventually([&] { return c.hub->current_id() == ids.back(); }));
    const crier::hub_stats st = a.hub->stats();
    EXPECT_TRUE(st.backplane_connected);
    EXPECT_EQ(st.published, 30u);  // every event, whoever published it
}

TEST(redis_backplane, a_restarted_node_continues_the_id_space_and_resumes_with_no_gap) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a");
    crier::sse::event_id seen{};
    std::uint64_t epoch = 0;
    {
        node b = make_node(redis, "b");
        epoch = b.hub->current_id().epoch;
        auto s = b.hub->subscribe({.channels = {"c"}});
        for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.hub->publish("c", "t:x", std::to_string(i)));
        auto got = collect(s, 5);
        ASSERT_EQ(got.size(), 5u);
        seen = *crier::sse::parse_event_id(got[2].id);  // the client saw three, then B went
    }
    for (int i = 5; i < 8; ++i) ASSERT_TRUE(a.hub->publish("c", "t:x", std::to_string(i)));
    node b = make_node(redis, "b");  // restarted: no local history
    EXPECT_EQ(b.hub->current_id().epoch, epoch);
    EXPECT_GE(b.hub->current_id().seq, seen.seq + 5);
    auto resumed =
        b.hub->subscribe({.channels = {"c"}, .last_event_id = crier::sse::to_string(seen)});
    auto got = crier_test::drain(resumed);  // replayed from Redis, before any live event
    ASSERT_EQ(got.size(), 5u);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].seq(), seen.seq + 1 + i);
        EXPECT_EQ(got[i].data, std::to_string(3 + i));
    }
    auto r = b.hub->publish("c", "t:x", "8");
    ASSERT_TRUE(r);
    EXPECT_EQ(r.id.seq, seen.seq + 6);
    got = collect(resumed, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, "8");
}

TEST(redis_backplane, resume_on_another_node_replays_exactly_the_missed_events) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a");
    node b = make_node(redis, "b");
    node c = make_node(redis, "c");
    auto on_a = a.hub->subscribe({.channels = {"stable:*", "global"}});
    auto watch_c = c.hub->subscribe({.channels = {"global"}});
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(b.hub->publish("stable:1", "t:x", std::to_string(i)));
    auto first = collect(on_a, 4);
    ASSERT_EQ(first.size(), 4u);
    on_a.close();  // the client drops from A
    std::vector<crier::sse::event_id> missed;
    for (int i = 4; i < 10; ++i) {
        auto r = b.hub->publish(i % 2 == 0 ? "stable:2" : "other", "t:x", std::to_string(i));
        ASSERT_TRUE(r);
        if (i % 2 == 0) missed.push_back(r.id);
    }
    auto last = b.hub->publish("global", "t:x", "last");
    ASSERT_TRUE(last);
    missed.push_back(last.id);
    ASSERT_EQ(collect(watch_c, 1).size(), 1u);  // C has them all now

    // From C's local history.
    auto on_c =
        c.hub->subscribe({.channels = {"stable:*", "global"}, .last_event_id = first.back().id});
    auto got = crier_test::drain(on_c);
    ASSERT_EQ(got.size(), missed.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].seq(), missed[i].seq);

    // A node started after those events: from Redis (XRANGE).
    node d = make_node(redis, "d");
    auto on_d =
        d.hub->subscribe({.channels = {"stable:*", "global"}, .last_event_id = first.back().id});
    got = crier_test::drain(on_d);
    ASSERT_EQ(got.size(), missed.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].seq(), missed[i].seq);
    EXPECT_EQ(got.back().data, "last");
    // ... and its history() is not more than it knows: none of those are local.
    EXPECT_FALSE(d.hub->history(first.back().id).complete);

    // Gone from Redis too: resync, never a silent gap.
    ASSERT_EQ(redis.command({"XTRIM", "{crier}:log", "MAXLEN", "0"}), "11");
    node e = make_node(redis, "e");
    auto on_e = e.hub->subscribe({.channels = {"stable:*"}, .last_event_id = first.back().id});
    got = crier_test::drain(on_e);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "resync");
    EXPECT_NE(got[0].data.find("evicted"), std::string::npos);
}

TEST(redis_backplane, an_id_from_a_node_ahead_is_waited_for_not_resynced) {
    crier_test::redis_server redis;
    node b = make_node(redis, "b");
    node c = make_node(redis, "c");
    for (int i = 0; i < 40; ++i) {
        // The client got this id from B; C's reader may not have delivered it yet.
        auto r = b.hub->publish("c", "t:x", std::to_string(i));
        ASSERT_TRUE(r);
        auto s = c.hub->subscribe({.channels = {"c"}, .last_event_id = r.id_text()});
        EXPECT_TRUE(crier_test::drain(s).empty()) << i;  // nothing missed, no resync
        ASSERT_TRUE(b.hub->publish("c", "t:x", "next"));
        auto got = collect(s, 1);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].data, "next");
    }
}

TEST(redis_backplane, a_dedup_key_seen_on_one_node_suppresses_it_on_the_others) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a");
    node b = make_node(redis, "b");
    node c = make_node(redis, "c");
    auto s = c.hub->subscribe({.channels = {"horses"}});
    auto first = a.hub->publish("horses", "horses:created", "{\"id\":1}", {.dedup_key = "horse-1"});
    ASSERT_TRUE(first);
    EXPECT_FALSE(first.duplicate);
    auto again = b.hub->publish("horses", "horses:created", "{\"id\":1}", {.dedup_key = "horse-1"});
    ASSERT_TRUE(again);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.id, first.id);
    auto other = b.hub->publish("horses", "horses:created", "{\"id\":2}", {.dedup_key = "horse-2"});
    ASSERT_TRUE(other);
    EXPECT_FALSE(other.duplicate);
    auto got = collect(s, 2);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].data, "{\"id\":1}");
    EXPECT_EQ(got[1].data, "{\"id\":2}");
    EXPECT_TRUE(collect(s, 1, 100ms).empty());
    EXPECT_EQ(b.hub->stats().deduplicated, 1u);
}

TEST(redis_backplane, batches_of_held_events_keep_consecutive_ids_on_every_node) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a", {.rate_limit = 2, .rate_window = 60s});
    node b = make_node(redis, "b", {.rate_limit = 0});
    auto sb = b.hub->subscribe({.channels = {"busy"}});
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(a.hub->publish("busy", "t:x", std::to_string(i)));
    a.hub->flush_batches();
    auto got = crier_test::unpack(collect(sb, 3));  // two admitted, one batch of three
    ASSERT_EQ(got.size(), 5u);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].data, std::to_string(i));
        if (i != 0) {
            EXPECT_EQ(got[i].seq, got[i - 1].seq + 1);
        }
    }
}

TEST(redis_backplane, redis_down_refuses_publishes_says_degraded_and_its_return_resyncs) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a", {.rate_limit = 0}, refuse());
    node b = make_node(redis, "b", {.rate_limit = 0}, refuse());
    auto sa = a.hub->subscribe({.channels = {"c"}});
    auto sb = b.hub->subscribe({.channels = {"c"}});
    auto before = a.hub->publish("c", "t:x", "before");
    ASSERT_TRUE(before);
    ASSERT_EQ(collect(sa, 1).size(), 1u);
    ASSERT_EQ(collect(sb, 1).size(), 1u);

    redis.stop();  // a crash: Redis comes back empty
    EXPECT_TRUE(eventually([&] { return !a.hub->stats().backplane_connected; }));
    EXPECT_TRUE(eventually([&] { return !b.hub->stats().backplane_connected; }));
    auto refused = a.hub->publish("c", "t:x", "during");
    EXPECT_EQ(refused.error, crier::errc::backplane_unavailable);
    EXPECT_EQ(a.hub->stats().backplane_when_away, "refuse");
    EXPECT_EQ(a.hub->stats().backplane_local_publishes, 0u);
    EXPECT_FALSE(sa.closed());  // local streams stay open
    EXPECT_TRUE(crier_test::drain(sa).empty());
    EXPECT_GT(a.backplane->status().errors, 0u);

    redis.start();
    EXPECT_TRUE(eventually([&] { return a.hub->stats().backplane_connected; }));
    EXPECT_TRUE(eventually([&] { return b.hub->stats().backplane_connected; }));
    // Redis lost its data: every stream on every node hears so.
    for (crier::subscription* s : {&sa, &sb}) {
        auto got = collect(*s, 1);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].type, "resync");
        EXPECT_NE(got[0].data.find("backplane_lost"), std::string::npos);
    }
    // The same epoch, and no id handed out before is handed out again.
    auto after = b.hub->publish("c", "t:x", "after");
    ASSERT_TRUE(after) << after.error.message();
    EXPECT_EQ(after.id.epoch, before.id.epoch);
    EXPECT_GT(after.id.seq, before.id.seq);
    for (crier::subscription* s : {&sa, &sb}) {
        auto got = collect(*s, 1);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0].data, "after");
    }
    EXPECT_EQ(a.backplane->status().reconnects, 1u);
}

TEST(redis_backplane, a_reconnect_that_lost_nothing_replays_instead_of_resyncing) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a");  // away_mode::local, but it publishes nothing while away
    node b = make_node(redis, "b", {.rate_limit = 0}, refuse());  // retries until it is back
    auto sa = a.hub->subscribe({.channels = {"c"}});
    ASSERT_TRUE(b.hub->publish("c", "t:x", "1"));
    ASSERT_EQ(collect(sa, 1).size(), 1u);
    // A's connections are cut; Redis keeps its data. B publishes meanwhile.
    ASSERT_NE(redis.command({"CLIENT", "KILL", "TYPE", "normal"}), "ERR");
    std::vector<std::string> sent;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (sent.size() < 3 && std::chrono::steady_clock::now() < deadline) {
        const std::string data = std::to_string(2 + sent.size());
        if (b.hub->publish("c", "t:x", data)) sent.push_back(data);
    }
    ASSERT_EQ(sent.size(), 3u);
    auto got = collect(sa, 3);
    EXPECT_EQ(types(got), (std::vector<std::string>{"t:x", "t:x", "t:x"}));
    ASSERT_EQ(got.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(got[i].data, sent[i]);
}

TEST(redis_backplane, a_redis_that_stops_answering_fails_publishes_within_the_timeout) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a", {.rate_limit = 0}, refuse());
    auto s = a.hub->subscribe({.channels = {"c"}});
    redis.pause();
    const auto started = std::chrono::steady_clock::now();
    auto r = a.hub->publish("c", "t:x", "frozen", {.dedup_key = "k1"});
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(r.error, crier::errc::backplane_unavailable);
    EXPECT_GE(took, 900ms);  // command_timeout is 1 s
    EXPECT_LT(took, 3s);
    EXPECT_TRUE(eventually([&] { return !a.backplane->status().connected; }));
    redis.resume();
    EXPECT_TRUE(eventually([&] { return a.backplane->status().connected; }));
    // The failed publish may still have been ordered (Redis read it before it froze): a retry
    // with its dedup key is then a duplicate, else it is published now. Either way: once.
    crier::publish_result retry;
    EXPECT_TRUE(eventually([&] {
        retry = a.hub->publish("c", "t:x", "frozen", {.dedup_key = "k1"});
        return static_cast<bool>(retry);
    }));
    auto got = collect(s, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, "frozen");
    EXPECT_EQ(got[0].seq(), retry.id.seq);
    EXPECT_TRUE(collect(s, 1, 200ms).empty());
}

TEST(redis_backplane, a_flushed_script_cache_costs_one_failed_publish_not_the_node) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a", {.rate_limit = 0}, refuse());
    auto s = a.hub->subscribe({.channels = {"c"}});
    ASSERT_EQ(redis.command({"SCRIPT", "FLUSH"}), "OK");
    auto first = a.hub->publish("c", "t:x", "1");
    EXPECT_EQ(first.error, crier::errc::backplane_unavailable);  // NOSCRIPT: reported, not lost
    crier::publish_result again;
    EXPECT_TRUE(eventually([&] {
        again = a.hub->publish("c", "t:x", "2");
        return static_cast<bool>(again);
    }));
    auto got = collect(s, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, "2");
    EXPECT_TRUE(collect(s, 1, 100ms).empty());
}

TEST(redis_backplane, concurrent_publishers_on_every_node_one_order_no_gap_no_duplicate) {
    crier_test::redis_server redis;
    std::vector<node> nodes;
    for (const char* name : {"a", "b", "c"}) nodes.push_back(make_node(redis, name));
    std::vector<crier::subscription> subs;
    for (node& n : nodes) subs.push_back(n.hub->subscribe({.channels = {"*"}}));
    constexpr int per_thread = 150;
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        for (int t = 0; t < 2; ++t) {
            threads.emplace_back([&, n, t] {
                for (int i = 0; i < per_thread; ++i) {
                    const std::string channel = "ch" + std::to_string((i + t) % 4);
                    const std::string data =
                        std::to_string(n) + "/" + std::to_string(t) + "/" + std::to_string(i);
                    if (!nodes[n].hub->publish(channel, "t:x", data)) failed.fetch_add(1);
                }
            });
        }
    }
    for (auto& t : threads) t.join();
    ASSERT_EQ(failed.load(), 0);
    constexpr std::size_t total = 3 * 2 * per_thread;
    std::vector<std::vector<received>> got;
    for (auto& s : subs) got.push_back(collect(s, total, 10s));
    for (const auto& g : got) {
        ASSERT_EQ(g.size(), total);
        for (std::size_t i = 1; i < g.size(); ++i) ASSERT_EQ(g[i].seq(), g[i - 1].seq() + 1);
        EXPECT_EQ(g.front().id, got[0].front().id);
        // Each publisher's events in its own order.
        std::map<std::string, int> next;
        for (const received& e : g) {
            const std::string who = e.data.substr(0, e.data.rfind('/'));
            const int i = std::stoi(e.data.substr(e.data.rfind('/') + 1));
            EXPECT_EQ(i, next[who]++) << who;
        }
    }
    for (std::size_t i = 0; i < total; ++i) {
        EXPECT_EQ(got[1][i].data, got[0][i].data);
        EXPECT_EQ(got[2][i].data, got[0][i].data);
    }
}

TEST(redis_backplane, rate_limited_publishers_on_every_node_batch_without_gaps_or_reorder) {
    crier_test::redis_server redis;
    std::vector<node> nodes;
    for (const char* name : {"a", "b", "c"}) {
        nodes.push_back(make_node(redis, name, {.rate_limit = 5, .rate_window = 1s}));
    }
    std::vector<crier::subscription> subs;
    for (node& n : nodes) subs.push_back(n.hub->subscribe({.channels = {"ch*"}}));
    constexpr int per_thread = 100;
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        threads.emplace_back([&, n] {
            for (int i = 0; i < per_thread; ++i) {
                const std::string channel = "ch" + std::to_string(i % 3);
                const std::string data = std::to_string(n) + "/" + std::to_string(i);
                if (!nodes[n].hub->publish(channel, "t:x", data)) failed.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();
    for (node& n : nodes) n.hub->flush_batches();
    ASSERT_EQ(failed.load(), 0);
    constexpr std::size_t total = 3 * per_thread;
    std::vector<std::vector<crier_test::delivered>> got;
    for (auto& s : subs) {
        std::vector<crier_test::delivered> events;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (events.size() < total && std::chrono::steady_clock::now() < deadline) {
            s.wait_for(20ms);
            auto more = crier_test::unpack(crier_test::drain(s));
            events.insert(events.end(), more.begin(), more.end());
        }
        got.push_back(std::move(events));
    }
    EXPECT_GT(nodes[0].hub->stats().batched, 0u);  // every node counts every batch
    for (const auto& g : got) {
        ASSERT_EQ(g.size(), total);
        // Increasing; the only seqs skipped are the `batch` events' own (above their items).
        for (std::size_t i = 1; i < g.size(); ++i) ASSERT_GT(g[i].seq, g[i - 1].seq);
        EXPECT_LE(g.back().seq - g.front().seq + 1, total + 3 * 100);
        std::set<std::string> distinct;
        for (const auto& e : g) distinct.insert(e.data);
        EXPECT_EQ(distinct.size(), total);  // no duplicate, so no loss either
        // Per publisher and channel, the order it published in.
        std::map<std::string, int> last;
        for (const auto& e : g) {
            const std::size_t slash = e.data.find('/');
            const int i = std::stoi(e.data.substr(slash + 1));
            const std::string key = e.data.substr(0, slash) + "@" + std::to_string(i % 3);
            auto [it, fresh] = last.emplace(key, i);
            if (!fresh) {
                EXPECT_EQ(i, it->second + 3) << key;
                it->second = i;
            }
        }
    }
    for (std::size_t i = 0; i < total; ++i) {
        EXPECT_EQ(got[1][i].data, got[0][i].data);
        EXPECT_EQ(got[2][i].seq, got[0][i].seq);
    }
}

}  // namespace

// -- Redis away, away_mode::local (the default): each node keeps publishing to itself ----------

/// The one event `s` holds is a `resync` for `reason` at a cluster position of `epoch`.
void expect_one_resync(crier::subscription& s, std::string_view reason, std::uint64_t epoch) {
    auto got = collect(s, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].type, "resync");
    EXPECT_NE(got[0].data.find(reason), std::string::npos) << got[0].data;
    const auto id = crier::sse::parse_event_id(got[0].id);
    ASSERT_TRUE(id);
    EXPECT_EQ(id->epoch, epoch);
}

/// A subscription on `n` resuming from `last_id` gets one `resync` (unknown_id), nothing else.
void expect_resume_resyncs(const node& n, const std::string& last_id) {
    auto s = n.hub->subscribe({.channels = {"c"}, .last_event_id = last_id});
    auto got = crier_test::drain(s);
    ASSERT_EQ(got.size(), 1u) << last_id;
    EXPECT_EQ(got[0].type, "resync");
    EXPECT_NE(got[0].data.find("unknown_id"), std::string::npos) << got[0].data;
}

TEST(redis_away_local, a_publish_while_away_reaches_its_own_node_only_and_is_reported_local) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a");
    node b = make_node(redis, "b");
    auto sa = a.hub->subscribe({.channels = {"c"}});
    auto sa_quiet = a.hub->subscribe({.channels = {"d"}});  // no local event: may miss cluster ones
    auto sb = b.hub->subscribe({.channels = {"c"}});
    const auto before = a.hub->publish("c", "t:x", "before");
    ASSERT_TRUE(before);
    EXPECT_EQ(before.scope, crier::publish_scope::cluster);
    const std::uint64_t epoch = before.id.epoch;
    ASSERT_EQ(collect(sa, 1).size(), 1u);
    ASSERT_EQ(collect(sb, 1).size(), 1u);

    redis.stop();  // a crash: Redis comes back empty
    ASSERT_TRUE(eventually([&] { return !a.hub->stats().backplane_connected; }));
    ASSERT_TRUE(eventually([&] { return !b.hub->stats().backplane_connected; }));

    // A's publishes reach A's subscribers at once, in order, under A's own outage epoch.
    std::vector<crier::publish_result> on_a;
    for (int i = 0; i < 3; ++i) {
        auto r = a.hub->publish("c", "t:x", "a" + std::to_string(i));
        ASSERT_TRUE(r) << r.error.message();
        EXPECT_EQ(r.scope, crier::publish_scope::local);
        EXPECT_NE(r.id.epoch, epoch);
        if (!on_a.empty()) {
            EXPECT_EQ(r.id.epoch, on_a.back().id.epoch);
            EXPECT_EQ(r.id.seq, on_a.back().id.seq + 1);
        }
        on_a.push_back(r);
    }
    EXPECT_GT(on_a.front().id.seq, before.id.seq);
    auto got = collect(sa, 3);
    ASSERT_EQ(got.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(got[i].type, "t:x");
        EXPECT_EQ(got[i].data, "a" + std::to_string(i));
        EXPECT_EQ(got[i].id, on_a[i].id_text());
    }
    // B's own publish likewise, under yet another epoch; neither reaches the other node.
    const auto on_b = b.hub->publish("c", "t:x", "b0");
    ASSERT_TRUE(on_b) << on_b.error.message();
    EXPECT_EQ(on_b.scope, crier::publish_scope::local);
    EXPECT_NE(on_b.id.epoch, epoch);
    EXPECT_NE(on_b.id.epoch, on_a.front().id.epoch);
    got = collect(sb, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, "b0");
    EXPECT_TRUE(collect(sb, 1, 100ms).empty());
    EXPECT_TRUE(collect(sa, 1, 100ms).empty());
    EXPECT_TRUE(crier_test::drain(sa_quiet).empty());

    const crier::hub_stats st = a.hub->stats();
    EXPECT_FALSE(st.backplane_connected);
    EXPECT_EQ(st.backplane_when_away, "local");
    EXPECT_EQ(st.backplane_local_publishes, 3u);
    EXPECT_NE(st.to_json().find(R"("whenAway":"local","localPublishes":3)"), std::string::npos);
    EXPECT_EQ(a.hub->current_id(), on_a.back().id);
    EXPECT_EQ(b.hub->stats().backplane_local_publishes, 1u);

    // An id from the outage is foreign on every node, this one included: resync, no replay.
    expect_resume_resyncs(a, on_a.front().id_text());
    expect_resume_resyncs(b, on_a.front().id_text());
    // A cluster id past A's last cluster event names a different event here: resync too.
    expect_resume_resyncs(a, crier::sse::to_string({epoch, on_a.front().id.seq}));
    // From A's last cluster event, A replays what it delivered since: its own local events.
    auto resumed = a.hub->subscribe({.channels = {"c"}, .last_event_id = before.id_text()});
    got = crier_test::drain(resumed);
    ASSERT_EQ(got.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(got[i].id, on_a[i].id_text());

    redis.start();
    ASSERT_TRUE(eventually([&] { return a.hub->stats().backplane_connected; }));
    ASSERT_TRUE(eventually([&] { return b.hub->stats().backplane_connected; }));
    // Every stream on both nodes: exactly one resync, at a position of the cluster's epoch.
    for (crier::subscription* s : {&sa, &sa_quiet, &sb, &resumed}) {
        expect_one_resync(*s, "backplane_lost", epoch);
    }

    // Cluster publishes reach both nodes again, in one order, with ids past every local one.
    std::vector<crier::publish_result> after;
    for (int i = 0; i < 6; ++i) {
        auto r = (i % 2 == 0 ? a : b).hub->publish("c", "t:x", "after" + std::to_string(i));
        ASSERT_TRUE(r) << r.error.message();
        EXPECT_EQ(r.scope, crier::publish_scope::cluster);
        EXPECT_EQ(r.id.epoch, epoch);
        EXPECT_GT(r.id.seq, on_a.back().id.seq);
        EXPECT_GT(r.id.seq, on_b.id.seq);
        if (!after.empty()) {
            EXPECT_EQ(r.id.seq, after.back().id.seq + 1);
        }
        after.push_back(r);
    }
    for (crier::subscription* s : {&sa, &sb, &resumed}) {
        got = collect(*s, 6);
        ASSERT_EQ(got.size(), 6u);
        for (std::size_t i = 0; i < 6; ++i) {
            EXPECT_EQ(got[i].id, after[i].id_text());
            EXPECT_EQ(got[i].data, "after" + std::to_string(i));
        }
        EXPECT_TRUE(collect(*s, 1, 100ms).empty());  // no second resync
    }
    EXPECT_TRUE(crier_test::drain(sa_quiet).empty());
    // The outage's ids stay foreign after the return, on both nodes.
    expect_resume_resyncs(a, on_a.back().id_text());
    expect_resume_resyncs(b, on_a.back().id_text());
    expect_resume_resyncs(a, on_b.id_text());
    // The history route reports the outage's events under their own epoch, never the cluster's.
    const auto h = a.hub->history({}, {}, 100);
    std::size_t local_events = 0;
    for (const auto& e : h.events) {
        if (e.id.epoch == on_a.front().id.epoch) ++local_events;
        EXPECT_TRUE(e.id.epoch == epoch || e.id.epoch == on_a.front().id.epoch) << e.data;
    }
    EXPECT_EQ(local_events, 3u);
}

TEST(redis_away_local, when_redis_kept_its_data_only_nodes_that_published_alone_resync) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a");
    node b = make_node(redis, "b");
    node c = make_node(redis, "c");
    auto sa = a.hub->subscribe({.channels = {"c"}});
    auto sb = b.hub->subscribe({.channels = {"c"}});
    auto sc = c.hub->subscribe({.channels = {"c"}});
    const auto first = c.hub->publish("c", "t:x", "first");
    ASSERT_TRUE(first);
    for (crier::subscription* s : {&sa, &sb, &sc}) ASSERT_EQ(collect(*s, 1).size(), 1u);

    // Redis stops answering, keeping its data: every node times out and is away.
    redis.pause();
    for (const node* n : {&a, &b, &c}) {
        ASSERT_TRUE(eventually([&] { return !n->backplane->status().connected; }, 10s));
    }
    std::vector<crier::publish_result> on_a;
    for (int i = 0; i < 3; ++i) {
        on_a.push_back(a.hub->publish("c", "t:x", "a" + std::to_string(i)));
        ASSERT_EQ(on_a.back().scope, crier::publish_scope::local);
    }
    const auto on_b = b.hub->publish("c", "t:x", "b0");
    ASSERT_EQ(on_b.scope, crier::publish_scope::local);
    ASSERT_EQ(collect(sa, 3).size(), 3u);
    ASSERT_EQ(collect(sb, 1).size(), 1u);

    redis.resume();
    for (const node* n : {&a, &b, &c}) {
        ASSERT_TRUE(eventually([&] { return n->backplane->status().connected; }, 10s));
    }
    // A and B published alone: their streams may have missed cluster events. C lost nothing:
    // the seqs A and B used are skipped in the stream, not a gap, so C's stream goes on.
    expect_one_resync(sa, "backplane_rejoined", first.id.epoch);
    expect_one_resync(sb, "backplane_rejoined", first.id.epoch);
    // A's resync position is past every event C delivered (a seq A used alone): C knows it was
    // passed without an event, so a client of A resuming on C from it is up to date.
    const crier::sse::event_id rejoined = a.hub->current_id();
    EXPECT_EQ(rejoined.epoch, first.id.epoch);
    EXPECT_LT(c.hub->current_id().seq, rejoined.seq);
    auto moved =
        c.hub->subscribe({.channels = {"c"}, .last_event_id = crier::sse::to_string(rejoined)});
    EXPECT_TRUE(crier_test::drain(moved).empty());
    std::vector<crier::publish_result> after;
    for (int i = 0; i < 6; ++i) {
        node& from = i % 3 == 0 ? a : i % 3 == 1 ? b : c;
        auto r = from.hub->publish("c", "t:x", "after" + std::to_string(i));
        ASSERT_TRUE(r) << r.error.message();
        EXPECT_EQ(r.scope, crier::publish_scope::cluster);
        EXPECT_GT(r.id.seq, on_a.back().id.seq);
        after.push_back(r);
    }
    for (crier::subscription* s : {&sa, &sb, &sc, &moved}) {
        auto got = collect(*s, 6);
        ASSERT_EQ(got.size(), 6u);
        for (std::size_t i = 0; i < 6; ++i) {
            EXPECT_EQ(got[i].id, after[i].id_text());
            EXPECT_EQ(got[i].data, "after" + std::to_string(i));
        }
        EXPECT_TRUE(collect(*s, 1, 100ms).empty());
    }
    for (const node* n : {&a, &b, &c}) EXPECT_EQ(n->hub->stats().resyncs, n == &c ? 0u : 1u);
    // An id past everything ordered is still unknown: resync.
    expect_resume_resyncs(c, crier::sse::to_string(crier::sse::event_id{first.id.epoch, 1u << 30}));
    // A client of C resumes on a fresh node from before the outage: the cluster's events only
    // (from Redis; the markers are no events), complete.
    node d = make_node(redis, "d");
    auto on_d = d.hub->subscribe({.channels = {"c"}, .last_event_id = first.id_text()});
    auto got = crier_test::drain(on_d);
    ASSERT_EQ(got.size(), 6u);
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(got[i].id, after[i].id_text());
}

TEST(redis_away_local, concurrent_publishers_through_two_outages_keep_every_stream_in_order) {
    crier_test::redis_server redis;
    node a = make_node(redis, "a");
    node b = make_node(redis, "b");
    const std::vector<node*> nodes{&a, &b};
    constexpr int streams_per_node = 2;
    constexpr int publishers_per_node = 2;
    struct stream {
        int node = 0;
        crier::subscription sub;
        std::vector<received> events;
    };
    std::vector<stream> streams;
    for (int n = 0; n < 2; ++n) {
        for (int i = 0; i < streams_per_node; ++i) {
            streams.push_back({n, nodes[n]->hub->subscribe({.channels = {"c"}}), {}});
        }
    }
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> finished{0};  // drainers that saw the last event
    std::vector<std::thread> threads;
    for (stream& s : streams) {
        threads.emplace_back([&stop, &finished, &s] {
            while (!stop.load()) {
                s.sub.wait_for(5ms);
                auto got = crier_test::drain(s.sub);
                s.events.insert(s.events.end(), got.begin(), got.end());
                if (!s.events.empty() && s.events.back().data == "last") break;
            }
            finished.fetch_add(1);
        });
    }
    struct outcome {
        int node = 0;
        std::string token;
        crier::publish_result result;
    };
    std::mutex outcomes_mutex;
    std::vector<outcome> outcomes;
    std::atomic<bool> publishing{true};
    std::vector<std::thread> publishers;
    for (int n = 0; n < 2; ++n) {
        for (int t = 0; t < publishers_per_node; ++t) {
            publishers.emplace_back([&, n, t] {
                for (int i = 0; publishing.load() && i < 5000; ++i) {
                    std::string token =
                        std::to_string(n) + "." + std::to_string(t) + "." + std::to_string(i);
                    auto r = nodes[n]->hub->publish("c", "t:x", token);
                    {
                        std::lock_guard lock(outcomes_mutex);
                        outcomes.push_back({n, std::move(token), r});
                    }
                    std::this_thread::sleep_for(1ms);
                }
            });
        }
    }
    auto all = [&](bool connected) {
        return eventually(
            [&] {
                return a.backplane->status().connected == connected &&
                       b.backplane->status().connected == connected;
            },
            10s);
    };
    std::this_thread::sleep_for(100ms);
    redis.stop();  // outage one: Redis comes back empty
    EXPECT_TRUE(all(false));
    std::this_thread::sleep_for(150ms);
    redis.start();
    EXPECT_TRUE(all(true));
    std::this_thread::sleep_for(100ms);
    redis.pause();  // outage two: Redis stops answering, keeps its data
    EXPECT_TRUE(all(false));
    std::this_thread::sleep_for(150ms);
    redis.resume();
    EXPECT_TRUE(all(true));
    std::this_thread::sleep_for(100ms);
    publishing.store(false);
    for (std::thread& t : publishers) t.join();
    // Every stream is still live: one last cluster event reaches all of them.
    crier::publish_result last;
    EXPECT_TRUE(eventually([&] {
        last = a.hub->publish("c", "t:x", "last");
        return last && last.scope == crier::publish_scope::cluster;
    }));
    const std::string last_id = last.id_text();
    EXPECT_TRUE(eventually([&] { return finished.load() == streams.size(); }, 10s));
    stop.store(true);
    for (std::thread& t : threads) t.join();

    std::map<std::string, const outcome*> by_token;
    std::size_t local[2] = {0, 0};
    // A node's seqs only grow, local or cluster: each publisher's accepted events in its order.
    std::map<std::string, std::uint64_t> publisher_seq;
    for (const outcome& o : outcomes) {
        by_token[o.token] = &o;
        if (!o.result) continue;
        if (o.result.scope == crier::publish_scope::local) ++local[o.node];
        std::uint64_t& previous = publisher_seq[o.token.substr(0, o.token.rfind('.'))];
        EXPECT_GT(o.result.id.seq, previous) << o.token;
        previous = o.result.id.seq;
    }
    EXPECT_GT(local[0], 0u);
    EXPECT_GT(local[1], 0u);
    EXPECT_EQ(a.hub->stats().backplane_local_publishes, local[0]);
    EXPECT_EQ(b.hub->stats().backplane_local_publishes, local[1]);
    for (const stream& s : streams) {
        std::uint64_t previous = 0;
        std::size_t resyncs = 0;
        std::set<std::string> seen;
        for (const received& e : s.events) {
            if (e.type == "resync") {
                ++resyncs;
                EXPECT_GE(e.seq(), previous);
                continue;
            }
            EXPECT_GT(e.seq(), previous) << e.id << " after seq " << previous;
            previous = e.seq();
            EXPECT_TRUE(seen.insert(e.data).second) << "twice: " << e.data;
            const auto it = by_token.find(e.data);
            if (it == by_token.end()) continue;  // "last"
            const outcome& o = *it->second;
            if (o.result && o.result.scope == crier::publish_scope::local) {
                EXPECT_EQ(o.node, s.node) << "a local event on another node: " << e.data;
                EXPECT_EQ(e.id, o.result.id_text());
            } else if (o.result) {
                EXPECT_EQ(e.id, o.result.id_text());
            } else {  // refused in the instant of a rejoin, or timed out (maybe ordered)
                EXPECT_EQ(o.result.error, crier::errc::backplane_unavailable);
            }
        }
        EXPECT_LE(resyncs, 2u);  // at most one per outage
        EXPECT_GE(resyncs, 1u);  // Redis lost its data once
        ASSERT_FALSE(s.events.empty());
        EXPECT_EQ(s.events.back().id, last_id);
    }
}
