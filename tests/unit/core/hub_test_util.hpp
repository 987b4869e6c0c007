// SPDX-License-Identifier: MIT
// Helpers for the hub tests: decode drained frames with crier's own spec-exact SSE parser.
#ifndef CRIER_TESTS_UNIT_CORE_HUB_TEST_UTIL_HPP
#define CRIER_TESTS_UNIT_CORE_HUB_TEST_UTIL_HPP

#include <crier/core/hub.hpp>
#include <crier/sse/parser.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

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

/// One delivered event with `batch` events unpacked into their items, in stream order.
struct delivered {
    std::uint64_t seq = 0;
    std::string type;
    std::string data;
};

/// `events` with every `batch` replaced by its items (their own ids, types and data).
inline std::vector<delivered> unpack(const std::vector<received>& events) {
    std::vector<delivered> out;
    simdjson::dom::parser p;
    for (const received& e : events) {
        if (e.type != "batch") {
            out.push_back({e.seq(), e.type, e.data});
            continue;
        }
        simdjson::dom::array items;
        EXPECT_FALSE(p.parse(e.data).get_array().get(items)) << e.data;
        for (simdjson::dom::element item : items) {
            std::string_view id;
            std::string_view type;
            std::string_view data;
            EXPECT_FALSE(item["id"].get(id));
            EXPECT_FALSE(item["type"].get(type));
            EXPECT_FALSE(item["data"].get(data));
            auto parsed = crier::sse::parse_event_id(id);
            out.push_back({parsed ? parsed->seq : 0, std::string(type), std::string(data)});
        }
    }
    return out;
}

/// The seqs of unpacked events, in order.
inline std::vector<std::uint64_t> seqs(const std::vector<delivered>& events) {
    std::vector<std::uint64_t> out;
    for (const auto& e : events) out.push_back(e.seq);
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
