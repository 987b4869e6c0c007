// SPDX-License-Identifier: MIT
// crier::hub_options: every hub limit and policy, with its default, in one place.
#ifndef CRIER_CORE_HUB_OPTIONS_HPP
#define CRIER_CORE_HUB_OPTIONS_HPP

#include <crier/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace crier {

class backplane;

/// What a subscription's queue does when a slow reader fills it.
enum class overflow_policy {
    /// Close the subscription with errc::subscriber_overflow and free its queue. The client
    /// reconnects with its Last-Event-ID and replays from history. (Default.)
    disconnect,
    /// Drop the queued events and queue one `resync` event in their place (its id is the newest
    /// dropped event's). Every queued event is dropped, oldest first, not only enough to make
    /// room: the client answers `resync` by refetching its state, which supersedes them, and an
    /// old event applied after that refetch would undo newer state.
    drop_oldest,
};

/// What publish does with an event over its channel's rate limit.
enum class rate_limit_policy {
    /// Hold it (publish_result::held, with a zero id) and deliver it later as an item of a
    /// `batch` event (data: a JSON array of `{"id","type","data"}`) to its exact channel set,
    /// as soon as the channels' rate allows again. Nothing is dropped. (Default.)
    ///
    /// Ids: a held event takes its id when its batch is flushed, not when it is published:
    /// the items of one `batch` event have consecutive ids just below the batch's own.
    ///
    /// Order: every connection sees strictly increasing ids over all its channels, batch items
    /// included. An event published while held ones wait takes a lower id than they will, on
    /// any channel. While a channel has held events, every event published to it is held too
    /// (whatever its other channels' rate), and held events of overlapping channel sets are
    /// flushed in publish order: when sets interleave (`{horses, user:7}`, `{user:7}`, ...)
    /// each run of one set becomes its own batch.
    ///
    /// Size: a backlog is split into several `batch` events of at most 1/8 of the smallest of
    /// queue_bytes, history_bytes and max_payload_bytes each (an item larger than that goes
    /// alone), and everything held is flushed at once when it passes max_held_bytes, a quarter
    /// of queue_bytes or half of history_bytes, whichever is least. So a flush fits the queue
    /// of a subscriber that drains between flushes and the history a reconnecting client
    /// replays.
    batch,
    /// Refuse it with errc::rate_limited.
    reject,
};

/// The hub's limits and policies. Use designated initializers: `hub_options{.history_size = 100}`.
/// Every default below is the seed system's where it names one.
///
/// @par Thread Safety
/// A plain value; the hub keeps its own copy.
struct hub_options {
    // -- History (per channel; an event stored for several channels is stored once) ----------

    /// Events kept per channel for replay and history(). 0 keeps none. Default: 50.
    std::size_t history_size = 50;
    /// Bytes of encoded frames kept per channel. Default: 1 MiB.
    std::size_t history_bytes = std::size_t{1} << 20;
    /// Age past which an event leaves history. Zero or negative: no age bound. Default: 1 hour.
    std::chrono::milliseconds history_max_age = std::chrono::hours(1);
    /// Bytes of history the whole hub keeps, across channels (the globally oldest events go
    /// first). Bounds memory however many channels exist. Default: 64 MiB.
    std::size_t history_total_bytes = std::size_t{64} << 20;

    // -- Subscription queues -------------------------------------------------------------------

    /// Frames a subscription may hold undrained. At least 1. Default: 4096.
    std::size_t queue_frames = 4096;
    /// Bytes a subscription may hold undrained. Default: 4 MiB.
    std::size_t queue_bytes = std::size_t{4} << 20;
    /// What a full queue does. Default: overflow_policy::disconnect.
    overflow_policy overflow = overflow_policy::disconnect;

    // -- Backpressure on publishers (opt-in) ---------------------------------------------------

    /// Bound on the delivery backlog: frames queued on subscriptions and not yet drained by a
    /// transport, as an average per live subscription (the hub's total over its subscription
    /// count). Past it a publish waits up to backlog_wait for transports to catch up, then is
    /// refused with errc::overloaded (HTTP 503 with `Retry-After` on the publish route): a
    /// publisher faster than delivery gets a bounded publish→receive latency instead of a
    /// growing queue. A refused event is not sequenced or delivered; an accepted one is
    /// delivered as always; a repeat of an accepted one (its dedup key still in the window) is
    /// answered at once as a duplicate. The average is what sets latency under load (each stream's
    /// next write carries that many events); a single slow reader adds only its share and meets its
    /// own queue bounds instead. 0: no bound, publish never waits (default: a hub cannot tell an
    /// application's undrained subscription from an overloaded transport, and a bounded hub refuses
    /// publishes while one holds frames). 8–16 keeps most of the throughput that coalescing many
    /// events per write buys (see benchmarks/README.md).
    std::size_t backlog_limit = 0;
    /// How long hub::publish waits for the backlog to fall under backlog_limit before it
    /// refuses (publish_options::backlog_wait overrides it per call; the embedded server's
    /// publish route never waits). Zero: refuse at once. Default: 0.
    std::chrono::milliseconds backlog_wait{0};

    // -- Rate limit (per channel) --------------------------------------------------------------

    /// Individual events a channel carries per rate_window (token bucket: bursts of up to this
    /// many, refilled evenly). 0: unlimited. Default: 100.
    std::size_t rate_limit = 100;
    /// The window of rate_limit. Default: 1 minute.
    std::chrono::milliseconds rate_window = std::chrono::minutes(1);
    /// What happens over the limit. Default: rate_limit_policy::batch.
    rate_limit_policy rate_policy = rate_limit_policy::batch;
    /// A held batch is flushed early once it holds this many events; also bounds how many
    /// batches (channel-set groups) are held at once, with a quarter of queue_frames and 256.
    /// Default: 1000.
    std::size_t max_batch_events = 1000;
    /// Bytes held for batching across the whole hub (the items' JSON); past it, or past a
    /// quarter of queue_bytes or half of history_bytes, everything held is flushed at once.
    /// Default: 16 MiB.
    std::size_t max_held_bytes = std::size_t{16} << 20;

    // -- Dedup (publisher side) ----------------------------------------------------------------

    /// How long a dedup key is remembered. Default: 60 s.
    std::chrono::milliseconds dedup_window = std::chrono::seconds(60);
    /// How many dedup keys are remembered at most (oldest forgotten first). 0 disables dedup.
    /// Default: 10000.
    std::size_t dedup_capacity = 10000;
    /// Top-level JSON fields of the payload that form the dedup key when publish_options has
    /// none, e.g. `{"id", "updatedAt"}`. The key is the event type, the channels and each
    /// field's JSON value; a payload that is not a JSON object or lacks a field has no key.
    /// Default: none (only explicit keys dedup).
    std::vector<std::string> dedup_fields = {};

    // -- Limits --------------------------------------------------------------------------------

    /// Largest data a publish accepts (errc::payload_too_large past it). Default: 1 MiB.
    std::size_t max_payload_bytes = std::size_t{1} << 20;
    /// Channels one event may target. Default: 16.
    std::size_t max_channels_per_event = 16;
    /// Channels and patterns one subscription may hold. Default: 64.
    std::size_t max_channels_per_subscription = 64;
    /// Live subscriptions per user id (errc::too_many_connections past it). Subscriptions
    /// without a user id are not counted. 0: unlimited. Default: 3.
    std::size_t max_connections_per_user = 3;

    // -- Transport timing (the hub does not use these; transports read them) ------------------

    /// Interval of `:` heartbeat comments on idle streams. Default: 30 s.
    std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(30);
    /// A stream that delivered no event for this long is closed (the client reconnects and
    /// replays). Default: 5 minutes.
    std::chrono::milliseconds idle_timeout = std::chrono::minutes(5);

    // -- Hooks and seams -----------------------------------------------------------------------

    /// Presence hook: called with (channel, 1) when a channel gets its first subscriber and
    /// (channel, 0) when its last one leaves. Patterns are not channels and do not count.
    /// Calls are serialised and in order, made on a subscribing or unsubscribing thread with no
    /// hub lock held, so the hook may call the hub (e.g. publish). Default: none.
    std::function<void(std::string_view channel, std::size_t subscribers)> on_presence = {};
    /// Orders and carries events between machines. Null: a private in_process_backplane with a
    /// random epoch. A backplane serves one hub. Default: null.
    std::shared_ptr<crier::backplane> backplane = {};
};

}  // namespace crier

#endif
