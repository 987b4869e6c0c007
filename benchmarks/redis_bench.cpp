// SPDX-License-Identifier: MIT
// Three crier nodes on one Redis versus one in-process hub, measured in the same run: events/s,
// publish→receive latency (p50, p99) and Redis's CPU per event. Starts its own redis-server on a
// free port (the tests' fixture); `--events N` per run, `--publishers P` threads per node.
#include <crier/backplane/redis.hpp>
#include <crier/core/hub.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "integration/support/redis_server.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct result {
    double events_per_second = 0;
    double p50_us = 0;
    double p99_us = 0;
    std::size_t sent = 0;
    std::size_t received = 0;  ///< by all subscribers together
};

/// CPU seconds (user + system) the process `pid` used so far.
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt
    double utime = 0;
    double stime = 0;
    fields >> utime >> stime;
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

/// `publishers` threads per hub publish `events` in all, as fast as they can (`rate` 0) or at
/// `rate` events/s together; one subscriber per hub receives them. Each event's data is its
/// publish time; latency is measured on the receiving side.
result run(std::vector<crier::hub*> hubs, std::size_t publishers, std::size_t events,
           double rate = 0) {
    std::vector<crier::subscription> subs;
    for (crier::hub* h : hubs) subs.push_back(h->subscribe({.channels = {"bench"}}));
    std::vector<std::vector<double>> latencies(hubs.size());
    const std::size_t per_thread = events / (hubs.size() * publishers);
    const std::size_t sent = per_thread * hubs.size() * publishers;
    std::vector<std::thread> readers;
    for (std::size_t i = 0; i < hubs.size(); ++i) {
        readers.emplace_back([&, i] {
            std::vector<crier::sse::frame> frames;
            const auto deadline = clock_type::now() + std::chrono::seconds(60);
            while (latencies[i].size() < sent && clock_type::now() < deadline) {
                subs[i].wait_for(std::chrono::milliseconds(50));
                frames.clear();
                subs[i].drain(frames);
                const auto now = clock_type::now().time_since_epoch().count();
                for (const auto& f : frames) {
                    const std::string_view bytes = *f;
                    const std::size_t at = bytes.find("data: ");
                    if (at == std::string_view::npos) continue;
                    const long long at_publish = std::atoll(bytes.data() + at + 6);
                    latencies[i].push_back(static_cast<double>(now - at_publish) / 1000.0);
                }
            }
        });
    }
    const auto started = clock_type::now();
    std::vector<std::thread> writers;
    for (crier::hub* h : hubs) {
        for (std::size_t p = 0; p < publishers; ++p) {
            const double threads = static_cast<double>(hubs.size() * publishers);
            const auto interval = std::chrono::duration_cast<clock_type::duration>(
                std::chrono::duration<double>(rate > 0 ? threads / rate : 0));
            writers.emplace_back([h, per_thread, interval] {
                auto next = clock_type::now();
                for (std::size_t n = 0; n < per_thread; ++n) {
                    if (interval.count() > 0) {
                        next += interval;
                        std::this_thread::sleep_until(next);
                    }
                    const auto now = clock_type::now().time_since_epoch().count();
                    static_cast<void>(h->publish("bench", "bench:tick", std::to_string(now)));
                }
            });
        }
    }
    for (auto& w : writers) w.join();
    for (auto& r : readers) r.join();
    const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    std::vector<double> all;
    for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    result r;
    r.sent = sent;
    r.received = all.size();
    r.events_per_second = static_cast<double>(sent) / seconds;
    if (!all.empty()) {
        r.p50_us = all[all.size() / 2];
        r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
    }
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t events = 30000;
    std::size_t publishers = 2;
    double rate = 2000;  // events/s of the latency runs
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        if (arg == "--events") {
            events = static_cast<std::size_t>(std::atoll(argv[i + 1]));
        } else if (arg == "--rate") {
            rate = std::atof(argv[i + 1]);
        } else if (arg == "--publishers") {
            publishers = static_cast<std::size_t>(std::atoll(argv[i + 1]));
        } else {
            fmt::print(stderr, "usage: {} [--events N] [--publishers P] [--rate EVENTS_PER_S]\n",
                       argv[0]);
            return 2;
        }
    }
    const crier::hub_options options{
        .queue_frames = std::size_t{1} << 20, .queue_bytes = std::size_t{1} << 30, .rate_limit = 0};

    crier::hub alone(options);
    const result local = run({&alone}, publishers * 3, events);
    const std::size_t paced = std::max<std::size_t>(static_cast<std::size_t>(rate), 300);
    const result local_paced = run({&alone}, publishers * 3, paced, rate);

    crier_test::redis_server redis;
    std::vector<std::unique_ptr<crier::hub>> nodes;
    for (const char* name : {"a", "b", "c"}) {
        crier::hub_options o = options;
        o.backplane = std::make_shared<crier::redis_backplane>(
            crier::redis_options{.url = redis.url(), .node_name = name});
        nodes.push_back(std::make_unique<crier::hub>(std::move(o)));
    }
    const double cpu_before = cpu_seconds(redis.pid());
    const result cluster =
        run({nodes[0].get(), nodes[1].get(), nodes[2].get()}, publishers, events);
    const double cpu = cpu_seconds(redis.pid()) - cpu_before;
    const result cluster_paced =
        run({nodes[0].get(), nodes[1].get(), nodes[2].get()}, publishers, paced, rate);

    fmt::print(
        "| setup | events/s | publish→receive p50 | p99 | received |\n|---|---|---|---|---|\n");
    fmt::print(
        "| one in-process hub, {} publisher threads | {:.0f} | {:.1f} µs | {:.1f} µs | {} |\n",
        publishers * 3, local.events_per_second, local.p50_us, local.p99_us, local.received);
    fmt::print(
        "| 3 nodes on one Redis, {} publisher threads each | {:.0f} | {:.1f} µs | {:.1f} µs "
        "| {} |\n",
        publishers, cluster.events_per_second, cluster.p50_us, cluster.p99_us, cluster.received);
    fmt::print("| one in-process hub at {:.0f} events/s | | {:.1f} µs | {:.1f} µs | {} |\n", rate,
               local_paced.p50_us, local_paced.p99_us, local_paced.received);
    fmt::print("| 3 nodes on one Redis at {:.0f} events/s | | {:.1f} µs | {:.1f} µs | {} |\n", rate,
               cluster_paced.p50_us, cluster_paced.p99_us, cluster_paced.received);
    fmt::print(
        "ratio: the cluster orders {:.2f}× the events/s of one hub; Redis used {:.1f} µs "
        "of CPU per event ({:.0f}% of a core)\n",
        cluster.events_per_second / local.events_per_second,
        cpu * 1e6 / static_cast<double>(events),
        100.0 * cpu * cluster.events_per_second / static_cast<double>(events));
    // Every node received every event, and the lone hub all of its own.
    const bool all = cluster.received == 3 * cluster.sent && local.received == local.sent &&
                     cluster_paced.received == 3 * cluster_paced.sent &&
                     local_paced.received == local_paced.sent;
    return all ? 0 : 1;
}
