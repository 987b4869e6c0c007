// SPDX-License-Identifier: MIT
// Definitions for crier/core/stats.hpp.
#ifndef CRIER_CORE_IMPL_STATS_IPP
#define CRIER_CORE_IMPL_STATS_IPP

#include <crier/core/stats.hpp>
#include <crier/detail/json.hpp>

#include <fmt/format.h>

#include <iterator>

namespace crier {

CRIER_DECL std::string hub_stats::to_json() const {
    std::string out;
    auto it = std::back_inserter(out);
    fmt::format_to(it, R"({{"connectedClients":{},"channels":[)", subscriptions);
    for (std::size_t i = 0; i < channel_names.size(); ++i) {
        if (i != 0) out.push_back(',');
        detail::append_json_string(out, channel_names[i]);
    }
    fmt::format_to(it, R"(],"eventHistorySize":{},"subscriptions":{},"users":{},)", history_events,
                   subscriptions, users);
    fmt::format_to(it, R"("channelCount":{},"historyEvents":{},"historyBytes":{},)", channels,
                   history_events, history_bytes);
    fmt::format_to(it, R"("queuedFrames":{},"queuedBytes":{},"heldEvents":{},"heldBytes":{},)",
                   queued_frames, queued_bytes, held_events, held_bytes);
    fmt::format_to(it, R"("dedupKeys":{},"published":{},"delivered":{},"deduplicated":{},)",
                   dedup_keys, published, delivered, deduplicated);
    fmt::format_to(it, R"("resyncs":{},"overflows":{},"rateLimited":{},"batched":{},)", resyncs,
                   overflows, rate_limited, batched);
    fmt::format_to(it, R"("backlogFrames":{},"overloaded":{},)", backlog_frames, overloaded);
    fmt::format_to(it, R"("backplane":{{"connected":{},"lag":{},"errors":{})", backplane_connected,
                   backplane_lag, backplane_errors);
    if (!backplane_when_away.empty()) {
        out.append(R"(,"whenAway":)");
        detail::append_json_string(out, backplane_when_away);
        fmt::format_to(it, R"(,"localPublishes":{})", backplane_local_publishes);
    }
    out.append("},");
    fmt::format_to(it, R"("currentId":"{}"}})", sse::to_string(current_id));
    return out;
}

}  // namespace crier

#endif
