// SPDX-License-Identifier: MIT
// Hub costs: publish with 0 to 200 000 subscribers on its channel (per publish and per delivery),
// per-user publishing among 1 000 to 200 000 subscriptions (with and without history, to show
// where the cost grows), replaying 1000 events, and the dedup check. Baselines
// measured in the same run: a publish with no subscriber, and std::vector<std::shared_ptr>::
// push_back (`x_push_back` = per-delivery cost / push_back cost).
#include <crier/core.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

const std::string payload =
    R"({"id":12345,"name":"Bucephalus","stable":"north","updatedAt":"2024-05-01T10:00:00Z"})";

crier::hub_options bench_options(crier::hub_options o = {}) {
    o.rate_limit = 0;  // measure delivery, not the limiter
    return o;
}

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// ns per std::vector<std::shared_ptr<const std::string>>::push_back of a shared frame.
double push_back_ns() {
    auto f = std::make_shared<const std::string>(payload);
    std::vector<std::shared_ptr<const std::string>> v;
    v.reserve(4096);
    constexpr int rounds = 500;
    const auto t0 = clock_type::now();
    for (int r = 0; r < rounds; ++r) {
        for (int i = 0; i < 4096; ++i) v.push_back(f);
        benchmark::DoNotOptimize(v.data());
        v.clear();
    }
    return seconds_since(t0) * 1e9 / (rounds * 4096.0);
}

/// ns per publish on a channel nobody subscribes to.
double bare_publish_ns() {
    crier::hub h(bench_options());
    constexpr int n = 200000;
    const auto t0 = clock_type::now();
    for (int i = 0; i < n; ++i)
        benchmark::DoNotOptimize(h.publish("bench", "horses:updated", payload));
    return seconds_since(t0) * 1e9 / n;
}

void baseline_push_back(benchmark::State& state) {
    auto f = std::make_shared<const std::string>(payload);
    std::vector<std::shared_ptr<const std::string>> v;
    v.reserve(4096);
    for (auto _ : state) {
        if (v.size() == 4096) v.clear();
        v.push_back(f);
        benchmark::DoNotOptimize(v.data());
    }
}

void publish_fanout(benchmark::State& state) {
    const auto subscribers = static_cast<std::size_t>(state.range(0));
    crier::hub h(bench_options({.queue_frames = 8192, .queue_bytes = std::size_t{64} << 20}));
    std::vector<crier::subscription> subs;
    subs.reserve(subscribers);
    for (std::size_t i = 0; i < subscribers; ++i)
        subs.push_back(h.subscribe({.channels = {"bench"}}));
    // Drain outside the timed part, often enough that queues never overflow.
    const std::size_t batch = subscribers == 0
                                  ? std::size_t{1} << 30
                                  : std::clamp<std::size_t>(2048 / subscribers, 16, 256);
    std::vector<crier::sse::frame> out;
    double timed = 0;
    std::size_t published = 0;
    auto t0 = clock_type::now();
    for (auto _ : state) {
        benchmark::DoNotOptimize(h.publish("bench", "horses:updated", payload));
        if (++published % batch == 0) {
            timed += seconds_since(t0);
            state.PauseTiming();
            for (auto& s : subs) {
                out.clear();
                s.drain(out);
            }
            state.ResumeTiming();
            t0 = clock_type::now();
        }
    }
    timed += seconds_since(t0);
    const double per_publish = timed * 1e9 / static_cast<double>(published);
    state.counters["ns_per_publish"] = per_publish;
    if (subscribers > 0) {
        const double bare = bare_publish_ns();
        const double per_delivery = (per_publish - bare) / static_cast<double>(subscribers);
        state.counters["ns_bare_publish"] = bare;
        state.counters["ns_per_delivery"] = per_delivery;
        state.counters["x_push_back"] = per_delivery / push_back_ns();
    }
    state.counters["deliveries"] = benchmark::Counter(static_cast<double>(published * subscribers),
                                                      benchmark::Counter::kIsRate);
}

/// Per-user publishing: range(0) subscriptions, two per user (the seed's "a user with two tabs"),
/// each publish to one user's channel; range(1) = 0 turns history off. range(2) = 1 visits the
/// users in a scattered order, as requests from many users arrive; 0 in index order, which
/// touches the same state in the order it was allocated (what the hardware prefetcher likes):
/// the difference between the two is the cost of cache misses, not of work.
void publish_per_user(benchmark::State& state) {
    const auto subscriptions = static_cast<std::size_t>(state.range(0));
    const std::size_t users = subscriptions / 2;
    const bool history = state.range(1) != 0;
    const bool scattered = state.range(2) != 0;
    crier::hub h(bench_options({.history_size = history ? std::size_t{50} : 0}));
    std::vector<crier::subscription> subs;
    subs.reserve(subscriptions);
    for (std::size_t i = 0; i < subscriptions; ++i) {
        const std::string user = std::to_string(i % users);
        subs.push_back(h.subscribe({.channels = {"user:" + user}, .user_id = user}));
    }
    std::vector<std::string> ids;
    for (std::size_t u = 0; u < users; ++u) ids.push_back(std::to_string(u));
    std::size_t i = 0;
    std::vector<crier::sse::frame> out;
    for (auto _ : state) {
        // 7919 is prime: every user once per round, scattered.
        const std::size_t u = scattered ? (i * 7919) % users : i % users;
        ++i;
        benchmark::DoNotOptimize(h.publish_to_user(ids[u], "notes:created", payload));
        if (i % 100000 == 0) {
            state.PauseTiming();
            for (auto& s : subs) {
                out.clear();
                s.drain(out);
            }
            state.ResumeTiming();
        }
    }
    state.counters["subscriptions"] = static_cast<double>(subscriptions);
    const auto st = h.stats();
    state.counters["history_events"] = static_cast<double>(st.history_events);
    state.counters["history_MiB"] = static_cast<double>(st.history_bytes) / 1048576.0;
    state.counters["ns_bare_publish"] = bare_publish_ns();
}

void replay_1000(benchmark::State& state) {
    crier::hub h(bench_options({.history_size = 1000, .queue_frames = 2048}));
    for (int i = 0; i < 1000; ++i) (void)h.publish("stable:1", "horses:updated", payload);
    const std::string since = crier::sse::to_string({h.current_id().epoch, 0});
    std::vector<crier::sse::frame> out;
    out.reserve(1000);
    std::size_t replayed = 0;
    for (auto _ : state) {
        auto s = h.subscribe({.channels = {"stable:1", "global"}, .last_event_id = since});
        out.clear();
        replayed += s.drain(out);
    }
    if (replayed != 1000 * static_cast<std::size_t>(state.iterations())) {
        state.SkipWithError("replay incomplete");
    }
    state.counters["events"] = 1000;
}

void dedup_duplicate_key(benchmark::State& state) {
    crier::hub h(bench_options());
    (void)h.publish("horses", "horses:updated", payload, {.dedup_key = "horse:12345:v7"});
    for (auto _ : state) {
        auto r = h.publish("horses", "horses:updated", payload, {.dedup_key = "horse:12345:v7"});
        if (!r.duplicate) state.SkipWithError("not a duplicate");
        benchmark::DoNotOptimize(r);
    }
}

void dedup_new_key(benchmark::State& state) {
    crier::hub h(bench_options({.history_size = 1}));
    std::vector<std::string> keys;
    for (int i = 0; i < 100000; ++i) keys.push_back("horse:" + std::to_string(i));
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(
            h.publish("horses", "horses:updated", payload, {.dedup_key = keys[i++ % keys.size()]}));
    }
    state.counters["ns_bare_publish"] = bare_publish_ns();
}

void dedup_from_json_fields(benchmark::State& state) {
    crier::hub h(bench_options({.dedup_fields = {"id", "updatedAt"}}));
    (void)h.publish("horses", "horses:updated", payload);
    for (auto _ : state) {
        auto r = h.publish("horses", "horses:updated", payload);
        if (!r.duplicate) state.SkipWithError("not a duplicate");
        benchmark::DoNotOptimize(r);
    }
}

}  // namespace

BENCHMARK(baseline_push_back);
BENCHMARK(publish_fanout)
    ->Arg(0)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(100000)
    ->Arg(200000)
    ->MinTime(0.3)
    ->UseRealTime();
BENCHMARK(publish_per_user)
    ->ArgsProduct({{1000, 10000, 100000, 200000}, {1, 0}, {1, 0}})
    ->ArgNames({"subs", "history", "scattered"})
    ->MinTime(0.3)
    ->UseRealTime();
BENCHMARK(replay_1000)->Unit(benchmark::kMicrosecond)->MinTime(0.2);
BENCHMARK(dedup_duplicate_key);
BENCHMARK(dedup_new_key);
BENCHMARK(dedup_from_json_fields);

BENCHMARK_MAIN();
