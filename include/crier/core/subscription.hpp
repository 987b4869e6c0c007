// SPDX-License-Identifier: MIT
// crier::subscription: one connection's live view of a hub, drained by its transport.
#ifndef CRIER_CORE_SUBSCRIPTION_HPP
#define CRIER_CORE_SUBSCRIPTION_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>
#include <crier/sse/event_id.hpp>
#include <crier/sse/frame.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace crier {

namespace detail {
struct subscription_state;
}  // namespace detail

/// What hub::subscribe() takes.
struct subscribe_options {
    /// Channel names (`global`, `user:42`) and patterns (`stable:*`, `*`) to receive. The hub
    /// does not authorize: the transport passes only what the principal may read.
    std::vector<std::string> channels = {};
    /// The client's Last-Event-ID (header or query); empty for a first connection. Events on
    /// `channels` with a greater seq are replayed, in seq order, before live events. An id
    /// that cannot be honoured completely (not crier's, another epoch, history evicted past
    /// it) yields one `resync` event instead of the replay.
    std::string last_event_id = {};
    /// The user the connection belongs to; counts against max_connections_per_user. Empty:
    /// anonymous, not counted.
    std::string user_id = {};
    /// Event-type filter (`horses:*`, `horses:created`, `*`); empty means every type.
    /// `resync` and `batch` events always pass (a batch's items are filtered by the client).
    std::vector<std::string> types = {};
    /// Called when the queue goes from empty to non-empty, and once when the hub closes the
    /// subscription (overflow, stop). It may run on any publishing thread, with no hub lock
    /// held, as soon as subscribe() has registered the subscription (possibly before subscribe()
    /// returns), and never after the handle is destroyed. It must be cheap and must not block:
    /// post to the transport's executor. What subscribe() itself queues (replay, `resync`) is
    /// not signalled: drain once after subscribe() returns.
    std::function<void()> on_ready = {};
};

/// A live subscription: a bounded queue of frames that the hub fills and a transport drains.
/// Move-only; destroying (or close()-ing) it unsubscribes and frees the user's connection slot.
/// A default-constructed or moved-from handle is empty: closed() is errc::closed, drain()
/// returns nothing, wait_for() returns at once.
///
/// @par Thread Safety
/// Distinct objects: safe. Shared object: drain(), wait_for(), closed(), channels(),
/// add_channel(), remove_channel() and close() may be called from any thread concurrently with
/// each other and with the hub's publishers (close() wakes a thread blocked in wait_for());
/// destruction and assignment must not race other calls.
class subscription {
public:
    /// An empty handle.
    subscription() noexcept = default;
    /// Takes `other`'s subscription; `other` becomes an empty handle.
    subscription(subscription&& other) noexcept = default;
    /// Unsubscribes the current subscription (if any), then takes `other`'s.
    CRIER_DECL subscription& operator=(subscription&& other) noexcept;
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    /// Unsubscribes.
    CRIER_DECL ~subscription();

    /// True when the handle holds a subscription (even a closed one).
    [[nodiscard]] explicit operator bool() const noexcept { return state_ != nullptr; }

    /// Moves every queued frame, in order, to the end of `out` (swaps when `out` is empty, so
    /// buffers are recycled) for one gathered write; returns how many. Re-arms on_ready.
    CRIER_DECL std::size_t drain(std::vector<sse::frame>& out);

    /// Blocks until a frame is queued or the subscription is closed (true), or `timeout`
    /// passes (false). For thread-per-connection servers.
    CRIER_DECL bool wait_for(std::chrono::milliseconds timeout);

    /// Why the hub closed the subscription: errc::subscriber_overflow (its queue was dropped),
    /// errc::hub_stopped (queued frames remain drainable), errc::closed after close(); empty
    /// while open. A closed subscription receives nothing more.
    [[nodiscard]] CRIER_DECL std::error_code closed() const;

    /// The channels and patterns it receives now.
    [[nodiscard]] CRIER_DECL std::vector<std::string> channels() const;

    /// Adds a channel or pattern while live. Its history is NOT replayed: only events published
    /// after the call arrive (at most once, even if another of its channels carries them too).
    /// Errors: errc::invalid_channel, errc::too_many_channels (past
    /// hub_options::max_channels_per_subscription), errc::closed. Adding one it already has
    /// does nothing.
    CRIER_DECL std::error_code add_channel(std::string_view channel);

    /// Removes a channel or pattern while live; events on it already queued stay queued.
    /// Removing one it does not have does nothing.
    CRIER_DECL std::error_code remove_channel(std::string_view channel);

    /// Frames waiting to be drained.
    [[nodiscard]] CRIER_DECL std::size_t queued_frames() const;
    /// Bytes of the frames waiting to be drained (what subscribe_options' byte bound counts).
    [[nodiscard]] CRIER_DECL std::size_t queued_bytes() const;

    /// The hub's position when the subscription was registered: every event with a greater seq
    /// on its channels reaches it (replayed or live), none at or below it arrives live. A
    /// transport announces it to a fresh client (crier's `connected` event carries it), so a
    /// client that drops before its first event resumes exactly here. Zero for an empty handle.
    [[nodiscard]] CRIER_DECL sse::event_id start_id() const;

    /// The user id it was opened with.
    [[nodiscard]] CRIER_DECL std::string user_id() const;

    /// Unsubscribes now; closed() becomes errc::closed (unless the hub closed it first).
    /// Frames still queued can be drained. Idempotent.
    CRIER_DECL void close() noexcept;

private:
    friend class hub;
    explicit subscription(std::shared_ptr<detail::subscription_state> state) noexcept
        : state_(std::move(state)) {}

    std::shared_ptr<detail::subscription_state> state_;
};

}  // namespace crier

#if defined(CRIER_HEADER_ONLY)
#    include <crier/core/impl/subscription.ipp>
#endif

#endif
