// SPDX-License-Identifier: MIT
// crier::hub_stats: a snapshot of a hub's gauges and counters.
#ifndef CRIER_CORE_STATS_HPP
#define CRIER_CORE_STATS_HPP

#include <crier/config.hpp>
#include <crier/sse/event_id.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace crier {

/// A snapshot of a hub (hub::stats()). Gauges are values at the time of the call; counters count
/// since the hub was made.
struct hub_stats {
    // Gauges
    std::size_t subscriptions = 0;           ///< live subscriptions (the seed's `connectedClients`)
    std::size_t users = 0;                   ///< distinct user ids among them
    std::size_t channels = 0;                ///< channels with a subscriber or retained history
    std::vector<std::string> channel_names;  ///< those channels, sorted (the seed's `channels`)
    std::size_t history_events = 0;  ///< retained events, each counted once (`eventHistorySize`)
    std::size_t history_bytes = 0;   ///< bytes they take, frames and bookkeeping
    std::size_t queued_frames = 0;   ///< frames waiting in subscription queues
    std::size_t queued_bytes = 0;    ///< bytes of those frames (shared frames count each time)
    std::size_t held_events = 0;     ///< events held for batching
    std::size_t held_bytes = 0;      ///< bytes of their data
    std::size_t dedup_keys = 0;      ///< keys in the dedup window
    std::size_t backlog_frames =
        0;  ///< frames queued and not yet drained (hub_options::backlog_limit)
    // Counters
    std::uint64_t published = 0;     ///< events sequenced: batches, and held ones when flushed
    std::uint64_t delivered = 0;     ///< frames queued to subscriptions (replay included)
    std::uint64_t deduplicated = 0;  ///< publishes refused as duplicates
    std::uint64_t resyncs = 0;       ///< `resync` events queued
    std::uint64_t overflows = 0;     ///< subscription queue overflows (either policy)
    std::uint64_t rate_limited = 0;  ///< events over a rate limit (held or rejected)
    std::uint64_t batched = 0;       ///< `batch` events flushed
    std::uint64_t overloaded = 0;    ///< publishes refused with errc::overloaded
    sse::event_id current_id = {};   ///< the newest event's id
    // Backplane (backplane::status(); an in-process one is always connected)
    bool backplane_connected = true;     ///< false: degraded (see backplane_when_away)
    std::uint64_t backplane_lag = 0;     ///< events ordered cluster-wide, not delivered here yet
    std::uint64_t backplane_errors = 0;  ///< lost connections, failed or timed-out commands
    /// What a publish does while the backplane is away ("refuse", "local"); empty: never away.
    std::string backplane_when_away;
    /// Events published while the backplane was away, delivered to this node only.
    std::uint64_t backplane_local_publishes = 0;

    /// The seed's stats document and the rest of these fields, as one JSON object:
    /// `{"connectedClients":42,"channels":["global",...],"eventHistorySize":150,
    ///   "subscriptions":42,"users":...,"currentId":"3f9a1c-1042",...}`.
    [[nodiscard]] CRIER_DECL std::string to_json() const;
};

}  // namespace crier

#if defined(CRIER_HEADER_ONLY)
#    include <crier/core/impl/stats.ipp>
#endif

#endif
