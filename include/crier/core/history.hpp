// SPDX-License-Identifier: MIT
// crier::history_event and crier::history_result: what hub::history() returns.
#ifndef CRIER_CORE_HISTORY_HPP
#define CRIER_CORE_HISTORY_HPP

#include <crier/config.hpp>
#include <crier/sse/event_id.hpp>
#include <crier/sse/frame.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace crier {

/// One retained event, as the JSON polling endpoint shows it.
struct history_event {
    /// Its id.
    sse::event_id id = {};
    /// Its type (`horses:created`, or `batch` for a flushed batch).
    std::string type = {};
    /// Its data, as an EventSource receives it: every line break is LF.
    std::string data = {};
    /// The channels it was published to.
    std::vector<std::string> channels = {};
    /// When the hub accepted it.
    std::chrono::system_clock::time_point time = {};
    /// Its encoded frame (the same bytes the SSE streams carried).
    sse::frame frame = {};
};

/// The answer of hub::history().
struct history_result {
    /// Retained events with a greater seq than `since`, in seq order, at most `limit`.
    std::vector<history_event> events = {};
    /// False when the answer cannot be the whole story: `since` is from another epoch or is not
    /// an id, or history on one of the channels was already evicted past it. The client's
    /// answer is to refetch its state (as for a `resync` event).
    bool complete = true;
    /// True when `limit` cut the answer short: ask again with the last returned id.
    bool more = false;
    /// The hub's current id (the newest event's id) when the query ran.
    sse::event_id current = {};
};

}  // namespace crier

#endif
