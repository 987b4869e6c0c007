// SPDX-License-Identifier: MIT
// crier::hub: channels, subscriptions, history, replay, dedup, limits and stats, in memory.
#ifndef CRIER_CORE_HUB_HPP
#define CRIER_CORE_HUB_HPP

#include <crier/config.hpp>
#include <crier/core/backplane.hpp>
#include <crier/core/history.hpp>
#include <crier/core/hub_options.hpp>
#include <crier/core/names.hpp>
#include <crier/core/publish_result.hpp>
#include <crier/core/stats.hpp>
#include <crier/core/subscription.hpp>
#include <crier/error.hpp>
#include <crier/sse/event_id.hpp>

#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace crier {

namespace detail {
class hub_core;
}  // namespace detail

/// How hub::disconnect_user() and hub::close_channel() end streams.
struct disconnect_options {
    /// Also refuse new subscriptions of that user (or naming that channel) for this long:
    /// subscribe() fails with errc::reconnect_refused, which crier's transports answer with HTTP
    /// 204, the status on which a browser's EventSource stops reconnecting. At most 10000 users
    /// and 10000 channels are refused at once (past that, the refusal ending first is
    /// forgotten). Zero (default): clients may reconnect at once.
    std::chrono::milliseconds refuse_reconnect{0};
};

/// The pub/sub hub: publishers hand it events, it gives each an id, keeps bounded history per
/// channel and queues a pointer to the event's one encoded frame on every matching subscription.
/// It knows nothing of sockets: transports drain subscriptions.
///
/// Every accepted event gets the id `{epoch, seq}`: seq grows by one per accepted event across
/// all channels. Assigning seq, appending to history and queuing to subscriptions happen in one
/// short critical section, so every subscription sees events in seq order, each at most once
/// (even through several of its channels).
///
/// Event frames are `event: <type>`, the `data:` lines, then `id: <id>` (the id comes last so
/// it can be stamped on a frame encoded before the critical section).
///
/// Reserved frames the hub emits: `resync` (data `{"reason":"...","id":"<current id>"}`, id the
/// current id; reasons `unknown_id`, `evicted`, `replay_overflow`, `overflow`, or the
/// backplane's) when it cannot promise a complete stream, and `batch` (data a JSON array of
/// `{"id":"...","type":"...","data":"<the event's data as a JSON string>"}`) for events held by
/// the rate limit (their ids are assigned at the flush: consecutive, just below the batch's).
///
/// @par Thread Safety
/// Every member function may be called from any thread concurrently. Publishing never throws
/// and never blocks on a subscriber, except that with hub_options::backlog_limit and a
/// backlog_wait it waits, at most that long, for transports to drain the backlog. The hub must
/// outlive its subscriptions' use of it; a handle destroyed after the hub is harmless.
class hub {
public:
    /// A hub with these limits. Takes the backplane in `options` (or makes an in-process one).
    CRIER_DECL explicit hub(hub_options options = {});
    /// stop()s, then releases everything.
    CRIER_DECL ~hub();
    hub(const hub&) = delete;
    hub& operator=(const hub&) = delete;

    /// The options it was made with.
    [[nodiscard]] CRIER_DECL const hub_options& options() const noexcept;

    // -- Publishing (noexcept, any thread; waits only for hub_options::backlog_wait) ----------

    /// Publishes one event to one channel.
    CRIER_DECL publish_result publish(std::string_view channel, std::string_view type,
                                      std::string_view data,
                                      const publish_options& options = {}) noexcept;
    /// Publishes one event to several channels: one id, one frame, each subscription gets it at
    /// most once. Duplicate names count once.
    CRIER_DECL publish_result publish(std::span<const std::string> channels, std::string_view type,
                                      std::string_view data,
                                      const publish_options& options = {}) noexcept;
    /// As above, from views.
    CRIER_DECL publish_result publish(std::span<const std::string_view> channels,
                                      std::string_view type, std::string_view data,
                                      const publish_options& options = {}) noexcept;
    /// As above, from a braced list: `hub.publish({"global", "horses"}, "horses:created", d)`.
    CRIER_DECL publish_result publish(std::initializer_list<std::string_view> channels,
                                      std::string_view type, std::string_view data,
                                      const publish_options& options = {}) noexcept;

    /// Publishes to the user's private channel `user:{user_id}`.
    CRIER_DECL publish_result publish_to_user(std::string_view user_id, std::string_view type,
                                              std::string_view data,
                                              const publish_options& options = {}) noexcept;

    /// Publishes `module:action` (e.g. `horses:created`) as one event on the module channel
    /// (`horses`) and, when `user_id` is not empty, on `user:{user_id}` too.
    CRIER_DECL publish_result publish_module_event(std::string_view module, std::string_view action,
                                                   std::string_view data,
                                                   std::string_view user_id = {},
                                                   const publish_options& options = {}) noexcept;

    /// Publishes one event whose data is the JSON array of `items` (each a JSON text, checked:
    /// errc::invalid_json). For bulk changes: one event instead of many.
    CRIER_DECL publish_result publish_batch(std::string_view channel, std::string_view type,
                                            std::span<const std::string> items,
                                            const publish_options& options = {}) noexcept;
    /// As above, from views.
    CRIER_DECL publish_result publish_batch(std::string_view channel, std::string_view type,
                                            std::span<const std::string_view> items,
                                            const publish_options& options = {}) noexcept;

    /// Delivers every held batch now instead of waiting for the rate to allow (stop() does
    /// this too).
    CRIER_DECL void flush_batches() noexcept;

    // -- Subscribing ---------------------------------------------------------------------------

    /// Registers a subscription, queues its replay (or `resync`), then lets live events in: no
    /// gap and no double between them. Errors: errc::invalid_channel (bad name or pattern),
    /// errc::too_many_channels (past hub_options::max_channels_per_subscription),
    /// errc::invalid_type (bad filter), errc::too_many_connections, errc::hub_stopped.
    /// Throws std::system_error.
    [[nodiscard]] CRIER_DECL subscription subscribe(subscribe_options options);
    /// As above; on error returns an empty handle and sets `ec`.
    [[nodiscard]] CRIER_DECL subscription subscribe(subscribe_options options, std::error_code& ec);

    // -- Queries -------------------------------------------------------------------------------

    /// Retained events on `channels` (names or patterns; empty: every channel) with a seq
    /// greater than `since_id` (empty: all retained), in seq order, at most `limit`.
    /// `complete` is false when `since_id` is foreign or history was evicted past it.
    [[nodiscard]] CRIER_DECL history_result history(std::string_view since_id,
                                                    std::span<const std::string> channels = {},
                                                    std::size_t limit = 100) const;

    /// Gauges and counters.
    [[nodiscard]] CRIER_DECL hub_stats stats() const;

    /// The id of the newest accepted event ({epoch, 0} before the first).
    [[nodiscard]] CRIER_DECL sse::event_id current_id() const noexcept;

    /// Live subscriptions of `user_id`.
    [[nodiscard]] CRIER_DECL std::size_t connections(std::string_view user_id) const;

    /// Subscriptions on the channel `channel` by name (pattern subscriptions not counted).
    [[nodiscard]] CRIER_DECL std::size_t subscribers(std::string_view channel) const;

    // -- Ending streams from the host -----------------------------------------------------------

    /// Closes every subscription of `user_id` (logout, revoked access) with errc::disconnected:
    /// each transport writes what is queued and ends the stream. Returns how many were closed.
    CRIER_DECL std::size_t disconnect_user(std::string_view user_id,
                                           const disconnect_options& options = {}) noexcept;
    /// Closes every subscription that holds the channel `channel` by name (a deleted resource)
    /// with errc::disconnected; pattern subscriptions that merely match it stay open. Returns
    /// how many were closed.
    CRIER_DECL std::size_t close_channel(std::string_view channel,
                                         const disconnect_options& options = {}) noexcept;
    /// Lifts a refuse_reconnect of disconnect_user() early; true when there was one.
    CRIER_DECL bool allow_user(std::string_view user_id) noexcept;
    /// Lifts a refuse_reconnect of close_channel() early; true when there was one.
    CRIER_DECL bool reopen_channel(std::string_view channel) noexcept;

    // -- Shutdown ------------------------------------------------------------------------------

    /// Flushes held batches, then closes every subscription with errc::hub_stopped (their
    /// queued frames stay drainable; on_ready is called once each). Later publishes and
    /// subscribes fail with errc::hub_stopped. Idempotent.
    CRIER_DECL void stop() noexcept;

    /// True after stop().
    [[nodiscard]] CRIER_DECL bool stopped() const noexcept;

private:
    std::shared_ptr<detail::hub_core> core_;
};

}  // namespace crier

#if defined(CRIER_HEADER_ONLY)
#    include <crier/core/impl/hub.ipp>
#endif

#endif
