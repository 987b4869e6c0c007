// SPDX-License-Identifier: MIT
// The SSE parser under arbitrary chunking. Oracle: any chunking of the same bytes gives the same
// events, last event id and reconnection time, and the same error (limits included) reported by
// the chunk holding the byte at which the stream became invalid.
#include <crier/sse/parser.hpp>

#include <optional>
#include <string>
#include <tuple>

#include "fuzz_support.hpp"

namespace {

struct outcome {
    std::vector<std::tuple<std::string, std::string, std::string>> events;
    std::error_code error;
    std::size_t failed_at = 0;  // offset just past the chunk that reported the error
    std::string last_event_id;
    std::optional<std::chrono::milliseconds> retry;
};

outcome run(std::size_t max, const std::vector<std::string_view>& chunks) {
    crier::sse::parser p({.max_event_bytes = max});
    outcome out;
    std::size_t offset = 0;
    for (const auto chunk : chunks) {
        offset += chunk.size();
        const auto ec = p.feed(chunk, [&](const crier::sse::event& e) {
            CRIER_FUZZ_CHECK(!out.error);
            out.events.emplace_back(e.type, e.data, e.last_event_id);
        });
        if (out.error) {
            CRIER_FUZZ_CHECK(ec == out.error);  // a failed parser stays failed
        } else if (ec) {
            out.error = ec;
            out.failed_at = offset;
        }
    }
    p.end_of_stream();
    out.last_event_id = p.last_event_id();
    out.retry = p.reconnection_time();
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    // Small bounds make the limits reachable; sometimes the default.
    const std::size_t max = fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<std::size_t>(0, 64)
                                              : CRIER_SSE_MAX_EVENT_BYTES;
    const std::string bytes = fdp.ConsumeRandomLengthString(size);
    const auto chunks = crier::fuzz::split(bytes, fdp);

    const outcome whole = run(max, {bytes});
    const outcome byte_by_byte = run(max, crier::fuzz::bytewise(bytes));
    const outcome chunked = run(max, chunks);
    for (const outcome* o : {&byte_by_byte, &chunked}) {
        CRIER_FUZZ_CHECK(o->events == whole.events);
        CRIER_FUZZ_CHECK(o->error == whole.error);
        CRIER_FUZZ_CHECK(o->last_event_id == whole.last_event_id);
        CRIER_FUZZ_CHECK(o->retry == whole.retry);
    }
    if (whole.error) {
        // Byte by byte, failed_at is the offending byte's offset + 1; the chunk that reports the
        // error must be the one holding that byte.
        const std::size_t byte = byte_by_byte.failed_at;
        std::size_t end = 0;
        for (const auto chunk : chunks) {
            end += chunk.size();
            if (end >= byte) break;
        }
        CRIER_FUZZ_CHECK(chunked.failed_at == end);
    }
    return 0;
}
