// SPDX-License-Identifier: MIT
// crier::publish_options and crier::publish_result: what a publish call takes and reports.
#ifndef CRIER_CORE_PUBLISH_RESULT_HPP
#define CRIER_CORE_PUBLISH_RESULT_HPP

#include <crier/config.hpp>
#include <crier/sse/event_id.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace crier {

/// Which subscribers a published event reaches.
enum class publish_scope : std::uint8_t {
    /// Every node on the hub's backplane (a hub alone in its process: all of its subscribers).
    cluster,
    /// This node's subscribers only: the backplane could not be reached and is set to publish
    /// locally meanwhile (redis_options::when_away). The event's id is from an epoch of this
    /// node's own, foreign on every node (a resume from it gets `resync`); it is never
    /// forwarded to the other nodes, not even when the backplane returns.
    local,
};

/// Per-call publish options.
struct publish_options {
    /// Explicit dedup key: a second publish with the same key within the hub's dedup window is
    /// not delivered and reports the first event's id (zero if that one was held by the rate
    /// limit: see publish_result::id). Keys are global to the hub (not per
    /// channel). Empty: the key is built from hub_options::dedup_fields, if any.
    std::string_view dedup_key = {};
    /// How long this publish may wait while the delivery backlog is over
    /// hub_options::backlog_limit before it is refused with errc::overloaded. Negative: the
    /// hub's hub_options::backlog_wait. Zero: refuse at once (what the embedded server's
    /// publish route does: it never blocks an I/O thread).
    std::chrono::milliseconds backlog_wait{-1};
};

/// The outcome of a publish. Never throws; check `error` first.
struct publish_result {
    /// Why the event was refused; empty when it was accepted (or was a duplicate).
    /// errc::invalid_type, errc::invalid_field, errc::reserved_type, errc::invalid_utf8,
    /// errc::invalid_channel, errc::payload_too_large, errc::invalid_json (publish_batch),
    /// errc::rate_limited (reject policy), errc::overloaded (the delivery backlog stayed over
    /// hub_options::backlog_limit: nothing was sequenced or delivered, publish again later),
    /// errc::hub_stopped, errc::backplane_unavailable (a networked backplane that cannot be
    /// reached and refuses meanwhile: see redis_options::when_away), or
    /// std::errc::not_enough_memory.
    std::error_code error = {};
    /// The id the hub assigned; for a duplicate, the id of the first event with that key.
    /// Zero when `error` is set, and zero for a held event: its id is assigned when its batch
    /// is flushed (so a duplicate of a held event reports a zero id too).
    sse::event_id id = {};
    /// True when the dedup window already held this event's key: nothing was delivered.
    bool duplicate = false;
    /// True when the event went over its channel's rate limit under rate_limit_policy::batch:
    /// it reaches subscribers later, as an item of a `batch` event, and takes its id then.
    bool held = false;
    /// Who the event reached: publish_scope::local when the backplane was away and the event
    /// went to this node's subscribers only. publish_scope::cluster otherwise, and for errors,
    /// duplicates and held events (a held event's batch is published when it is flushed, under
    /// the scope of that moment).
    publish_scope scope = publish_scope::cluster;

    /// True when the event was accepted or recognised as a duplicate.
    [[nodiscard]] explicit operator bool() const noexcept { return !error; }
    /// The wire form of `id`.
    [[nodiscard]] std::string id_text() const { return sse::to_string(id); }
};

}  // namespace crier

#endif
