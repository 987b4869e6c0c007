// SPDX-License-Identifier: MIT
// Helpers for the hub tests: decode drained frames with crier's own spec-exact SSE parser.
#ifndef CRIER_TESTS_UNIT_CORE_HUB_TEST_UTIL_HPP
#define CRIER_TESTS_UNIT_CORE_HUB_TEST_UTIL_HPP

#include <crier/core/hub.hpp>
#include <crier/sse/parser.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace crier_test {

/// One event as an EventSource would see it.
struct received {
    std::string id;
    std::string type;
    std::string data;

    /// The seq part of a crier id (0 when the id is not crier's).
    [[nodiscard]] std::uint64_t seq() const {
        auto parsed = crier::sse::parse_event_id(id);
        return parsed ? parsed->seq : 0;
    }
};

/// Parses frames as one stream; every frame must hold exactly one complete event.
inline std::vector<received> parse(const std::vector<crier::sse::frame>& frames) {
    std::vector<received> out;
    crier::sse::parser p;
    for (const auto& f : frames) {
        const std::size_t before = out.size();
        auto ec = p.feed(*f, [&](const crier::sse::event& e) {
            out.push_back({std::string(e.last_event_id), std::string(e.type), std::string(e.data)});
        });
        EXPECT_FALSE(ec);
        EXPECT_EQ(out.size(), before + 1) << "a frame must hold exactly one event: " << *f;
    }
    return out;
}

/// Drains everything queued on `s` and parses it.
inline std::vector<received> drain(crier::subscription& s) {
    std::vector<crier::sse::frame> frames;
    s.drain(frames);
    return parse(frames);
}

/// The seqs of `events`, in order.
inline std::vector<std::uint64_t> seqs(const std::vector<received>& events) {
    std::vector<std::uint64_t> out;
    for (const auto& e : events) out.push_back(e.seq());
    return out;
}

/// Options for deterministic tests: a fixed epoch and no rate limit.
inline crier::hub_options test_options(crier::hub_options o = {}) {
    if (!o.backplane) o.backplane = std::make_shared<crier::in_process_backplane>(0xabc);
    return o;
}

inline crier::hub_options unlimited(crier::hub_options o = {}) {
    o.rate_limit = 0;
    return test_options(std::move(o));
}

}  // namespace crier_test

#endif
