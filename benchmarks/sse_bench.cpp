// SPDX-License-Identifier: MIT
// Encode and parse throughput for 100 B and 64 KiB events, with memcpy of the same bytes as the
// in-run baseline (the `x_memcpy` counter is time relative to copying the frame once).
#include <crier/sse.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

std::string payload(std::size_t size) {
    // JSON-like text with a line break every ~80 bytes, so the encoder splits lines as in life.
    std::string s;
    s.reserve(size);
    const std::string_view word = R"({"id":12345,"name":"Bucephalus","stable":"north"},)";
    while (s.size() < size) {
        s.append(word.substr(0, std::min(word.size(), size - s.size())));
        if (s.size() % 80 < word.size() && s.size() < size) s.back() = '\n';
    }
    return s;
}

double memcpy_seconds(std::size_t bytes) {
    // Baseline in the same run: copy `bytes` many times, take the per-copy time.
    std::vector<char> a(bytes, 'x');
    std::vector<char> b(bytes);
    const int reps = static_cast<int>(std::max<std::size_t>(1, (64u << 20) / bytes));
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) {
        std::memcpy(b.data(), a.data(), bytes);
        benchmark::DoNotOptimize(b.data());
        benchmark::ClobberMemory();
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

void encode(benchmark::State& state) {
    const std::string data = payload(static_cast<std::size_t>(state.range(0)));
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto f = crier::sse::encode({.id = "3f9a1c-1042", .type = "horses:updated", .data = data});
        bytes += f->size();
        benchmark::DoNotOptimize(f);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
    const double per_op = memcpy_seconds(bytes / static_cast<std::size_t>(state.iterations()));
    state.counters["memcpy_ns"] = per_op * 1e9;
}

void parse(benchmark::State& state) {
    const std::string data = payload(static_cast<std::size_t>(state.range(0)));
    std::string stream;
    for (int i = 0; i < 64; ++i) {
        (void)crier::sse::append_event(
            stream, {.id = "3f9a1c-1042", .type = "horses:updated", .data = data});
    }
    crier::sse::parser p;
    std::size_t events = 0;
    for (auto _ : state) {
        // Socket-sized reads, as a client gets them.
        for (std::size_t i = 0; i < stream.size(); i += 16384) {
            (void)p.feed(std::string_view(stream).substr(i, 16384),
                         [&](const crier::sse::event& e) {
                             benchmark::DoNotOptimize(e.data.data());
                             ++events;
                         });
        }
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(stream.size() * state.iterations()));
    state.SetItemsProcessed(static_cast<std::int64_t>(events));
    state.counters["memcpy_ns"] = memcpy_seconds(stream.size()) * 1e9;
}

BENCHMARK(encode)->Arg(100)->Arg(64 * 1024);
BENCHMARK(parse)->Arg(100)->Arg(64 * 1024);

}  // namespace

BENCHMARK_MAIN();
