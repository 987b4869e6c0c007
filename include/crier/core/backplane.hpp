// SPDX-License-Identifier: MIT
// crier::backplane: the seam that orders events and carries them between machines, and the
// in-process implementation a single hub uses by default.
#ifndef CRIER_CORE_BACKPLANE_HPP
#define CRIER_CORE_BACKPLANE_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>
#include <crier/sse/event_id.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>
#include <system_error>

namespace crier {

/// One event as it crosses the backplane. Views: valid for the duration of the call only.
struct backplane_event {
    /// Assigned by the backplane (backplane::publish) before the event reaches any sink.
    sse::event_id id = {};
    /// The channels it is published to (names, never patterns).
    std::span<const std::string_view> channels = {};
    /// Its type (an application type, or `batch`).
    std::string_view type = {};
    /// Its data.
    std::string_view data = {};
    /// When the publishing hub accepted it.
    std::chrono::system_clock::time_point time = {};
    /// For a `batch` of events held over their rate limit (rate_limit_policy::batch): how many
    /// held events it carries (its data is then a JSON array of that many
    /// `{"type":..,"data":..}` items, without ids). The backplane assigns them the seqs just
    /// below the batch's own id (id.seq - items .. id.seq - 1) in the same ordering step, so
    /// nothing is sequenced between them; the sink writes each item's id into it. Every
    /// backplane must do so (a networked one too: reserve items + 1 seqs atomically). Zero for
    /// any other event.
    std::uint32_t items = 0;
    /// The publishing hub's private context, handed back unchanged to that hub's sink by a
    /// backplane that delivers synchronously (saves re-encoding). Never carried between
    /// machines: events from other nodes arrive with null.
    void* origin = nullptr;
    /// The publisher's dedup key (empty: none). A backplane shared by several nodes checks it
    /// cluster-wide: a key it saw within `dedup_window` is not published again, and publish()
    /// sets `duplicate` and `id` (the first one's id) instead. The hub checked it locally first.
    std::string_view dedup_key = {};
    /// How long a dedup key is remembered (the hub's hub_options::dedup_window).
    std::chrono::milliseconds dedup_window = {};
    /// Set by publish(): the key was seen on another node; nothing was published.
    bool duplicate = false;
    /// Set by publish(): the backplane was away and delivered the event to this node's sink
    /// only, under an id of a node-local epoch (publish_scope::local).
    bool local = false;
};

/// A backplane's health, for stats, `/metrics` and `/health`.
struct backplane_status {
    /// False while the backplane cannot order events: the node is degraded, and its publishes
    /// fail or reach its own subscribers only (when_away).
    bool connected = true;
    /// Events ordered cluster-wide that this node has not delivered yet.
    std::uint64_t lag = 0;
    /// Failures so far: lost connections, timed-out or failed commands.
    std::uint64_t errors = 0;
    /// Connections re-established so far.
    std::uint64_t reconnects = 0;
    /// What publish() does while not connected: "refuse" or "local" (e.g.
    /// redis_options::when_away). Empty for a backplane that is never away (in-process).
    std::string_view when_away = {};
    /// Events published while away and delivered to this node's subscribers only.
    std::uint64_t local_publishes = 0;
};

/// What backplane::read_log() handed over.
struct backplane_log {
    /// True when it handed over every event after `since` that was ordered up to `until`
    /// (false: some are gone from the log, or the log cannot be read).
    bool complete = false;
    /// The newest seq the read covered (`since` when it handed over nothing).
    std::uint64_t until = 0;
};

/// Where a backplane delivers ordered events: the hub's local fan-out (history, subscriptions).
class backplane_sink {
public:
    /// Delivers one event with its id. Called for every event, local or remote, exactly once,
    /// in seq order, never concurrently with itself. Does not block on subscribers.
    virtual void deliver(const backplane_event& event) noexcept = 0;
    /// The backplane may have lost events (e.g. it was unreachable and came back): every
    /// subscription gets `resync` with this reason.
    virtual void lost_continuity(std::string_view reason) noexcept = 0;

protected:
    ~backplane_sink() = default;
};

/// The seam between a hub and whatever orders its events. It gives the epoch, assigns each
/// event's seq (ordering), carries events published here to other nodes, and delivers every
/// event — published here or remotely — to the attached sink in seq order.
///
/// The in-process implementation does all of this synchronously inside publish(). A networked
/// one (e.g. Redis Streams) appends the event to a shared log in publish() and delivers what it
/// reads back from that log, its own events included, from a reader thread.
///
/// @par Thread Safety
/// publish(), epoch() and last_id() may be called from any thread concurrently.
class backplane {
public:
    virtual ~backplane() = default;

    /// The epoch of the ids it assigns: the life of the history that seq counts in.
    [[nodiscard]] virtual std::uint64_t epoch() const noexcept = 0;

    /// The id of the newest event ordered so far ({epoch, 0} before the first).
    [[nodiscard]] virtual sse::event_id last_id() const noexcept = 0;

    /// Connects the hub's fan-out (null disconnects). Called by the hub before its first
    /// publish and when it is destroyed; deliveries stop once a null attach() returns.
    virtual void attach(backplane_sink* sink) noexcept = 0;

    /// Orders one event published on this node: sets `event.id` to the next id (after
    /// reserving `event.items` seqs just below it) and hands the event to the sink (and to
    /// other nodes). Returns an error (errc::backplane_unavailable)
    /// when it cannot; the event is then not published. A networked backplane that is away may
    /// instead deliver it to this node's sink only, under an id whose epoch is not epoch()
    /// (seq still above every seq delivered here), and set `event.local`.
    virtual std::error_code publish(backplane_event& event) noexcept = 0;

    /// Its health. The default: always connected (an in-process backplane).
    [[nodiscard]] virtual backplane_status status() const noexcept { return {}; }

    /// Waits (bounded) until the event `seq` has been delivered here, for a client that saw it
    /// on a node ahead of this one. False when no such event was ordered, or on timeout. True
    /// also when `seq` was passed without an event (a seq reserved but never published): the
    /// hub then has nothing to replay up to it. The default: nothing to wait for.
    virtual bool catch_up(std::uint64_t seq) noexcept {
        static_cast<void>(seq);
        return false;
    }

    /// Hands every event after `since` still in a shared log to `each`, in seq order, on the
    /// calling thread (channels, type, data, items and id set; origin null). The hub calls it
    /// outside its locks when its own history cannot serve a replay (a node that started
    /// after those events, or a client coming from another node). The default has no log.
    virtual backplane_log read_log(
        std::uint64_t since, const std::function<void(const backplane_event&)>& each) noexcept {
        static_cast<void>(each);
        return {.complete = false, .until = since};
    }
};

/// The backplane of a hub alone in its process: a counter under a mutex, delivering each event
/// to the sink inside publish(), before publish() returns.
///
/// @par Thread Safety
/// Safe from any thread.
class in_process_backplane final : public backplane {
public:
    /// An epoch from a random source (so ids from an earlier process are recognised as foreign).
    CRIER_DECL in_process_backplane();
    /// A fixed epoch; seq continues after `last_seq` (tests, or restoring a persisted counter).
    CRIER_DECL explicit in_process_backplane(std::uint64_t epoch, std::uint64_t last_seq = 0);

    [[nodiscard]] CRIER_DECL std::uint64_t epoch() const noexcept override;
    [[nodiscard]] CRIER_DECL sse::event_id last_id() const noexcept override;
    CRIER_DECL void attach(backplane_sink* sink) noexcept override;
    CRIER_DECL std::error_code publish(backplane_event& event) noexcept override;

private:
    const std::uint64_t epoch_;
    mutable std::mutex mutex_;
    std::uint64_t seq_;               // guarded by mutex_
    backplane_sink* sink_ = nullptr;  // guarded by mutex_
};

}  // namespace crier

#if defined(CRIER_HEADER_ONLY)
#    include <crier/core/impl/backplane.ipp>
#endif

#endif
