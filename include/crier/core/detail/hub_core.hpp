// SPDX-License-Identifier: MIT
// detail::hub_core: the sequencer. It validates, deduplicates and rate-limits a publish, takes
// its seq from the backplane, and in one short critical section hands the event to the history
// and to every matching subscription, in seq order. Each policy it composes has its own file:
// dedup.hpp, rate_limiter.hpp (with batching and its flusher), history_index.hpp,
// channel_index.hpp (memberships, patterns, users), subscription_state.hpp (queues and
// overflow), presence.hpp.
#ifndef CRIER_CORE_DETAIL_HUB_CORE_HPP
#define CRIER_CORE_DETAIL_HUB_CORE_HPP

#include <crier/core/backplane.hpp>
#include <crier/core/detail/backlog.hpp>
#include <crier/core/detail/batch_items.hpp>
#include <crier/core/detail/channel_index.hpp>
#include <crier/core/detail/dedup.hpp>
#include <crier/core/detail/history_index.hpp>
#include <crier/core/detail/presence.hpp>
#include <crier/core/detail/rate_limiter.hpp>
#include <crier/core/detail/record.hpp>
#include <crier/core/detail/refusals.hpp>
#include <crier/core/detail/subscription_state.hpp>
#include <crier/core/history.hpp>
#include <crier/core/hub_options.hpp>
#include <crier/core/names.hpp>
#include <crier/core/publish_result.hpp>
#include <crier/core/stats.hpp>
#include <crier/core/subscription.hpp>
#include <crier/detail/json.hpp>
#include <crier/detail/utf8.hpp>
#include <crier/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crier::detail {

/// What a local publish hands through the backplane to its own sink.
struct publish_context {
    record_ptr record;
    notify_list* notify;
};

enum class publish_kind {
    application,  ///< validated, deduplicated, rate limited
    flush,        ///< a `batch` of held events: none of that
};

inline std::error_code out_of_memory() noexcept {
    return std::make_error_code(std::errc::not_enough_memory);
}

/// The hub. Lock order: the dedup window's → the rate limiter's → the backplane's → mutex_ (the
/// sequencer's, which also guards channels_ and history_) → a subscription's mutex → the
/// presence queue's. Callbacks (on_ready, presence) run with none of them held.
class hub_core final : public backplane_sink, public std::enable_shared_from_this<hub_core> {
public:
    explicit hub_core(hub_options o)
        : options_(normalise(std::move(o))),
          backplane_(options_.backplane ? options_.backplane
                                        : std::make_shared<in_process_backplane>()),
          epoch_(backplane_->epoch()),
          id_prefix_(id_prefix(epoch_)),
          dedup_(options_.dedup_window, options_.dedup_capacity),
          rate_(options_.rate_limit, options_.rate_window, options_.max_batch_events,
                held_bytes_bound(options_),
                std::min(options_.max_batch_events, options_.queue_frames / 4)),
          backlog_(std::make_shared<backlog_gauge>(options_.backlog_limit)),
          batch_chunk_bytes_(batch_chunk_bound(options_)),
          system_base_(std::chrono::system_clock::now()),
          steady_base_(steady_clock::now()),
          channels_(presence_, static_cast<bool>(options_.on_presence)),
          history_(options_) {
        current_seq_.store(backplane_->last_id().seq, std::memory_order_relaxed);
        history_floor_ = current_seq_.load(std::memory_order_relaxed);
        backplane_->attach(this);
    }

    hub_core(const hub_core&) = delete;
    hub_core& operator=(const hub_core&) = delete;

    ~hub_core() {
        // Normally already stopped and detached by ~hub; a core kept alive by a racing
        // unsubscribe must still not leave the backplane pointing at it.
        stop();
        backplane_->attach(nullptr);
    }

    void detach_backplane() noexcept { backplane_->attach(nullptr); }

    [[nodiscard]] const hub_options& options() const noexcept { return options_; }
    [[nodiscard]] sse::event_id current_id() const noexcept {
        return id_of(current_seq_.load(std::memory_order_acquire));
    }
    [[nodiscard]] bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }

    // -- Publishing ----------------------------------------------------------------------------

    publish_result publish(std::span<const std::string_view> channels, std::string_view type,
                           std::string_view data, const publish_options& options) noexcept {
        notify_buffer buffer;
        notify_list& notify = buffer.list();
        const std::chrono::milliseconds wait =
            options.backlog_wait.count() < 0 ? options_.backlog_wait : options.backlog_wait;
        publish_result r = publish_core(channels, type, data, options.dedup_key,
                                        publish_kind::application, 0, notify, wait);
        after_unlock(notify);
        return r;
    }

    void flush_batches() noexcept {
        notify_buffer buffer;
        notify_list& notify = buffer.list();
        {
            auto lock = rate_.lock();
            flush_locked(rate_.take(steady_clock::now(), true), notify);
        }
        after_unlock(notify);
    }

    // -- backplane_sink ------------------------------------------------------------------------

    void deliver(const backplane_event& ev) noexcept override {
        // An event from another node: this thread's list (a local publish brings its own).
        notify_buffer buffer;
        notify_list& own = buffer.list();
        publish_context local{nullptr, &own};
        auto* ctx = ev.origin != nullptr ? static_cast<publish_context*>(ev.origin) : &local;
        bool encoded = true;
        try {
            ctx->record = encode_event(ev, std::move(ctx->record));
        } catch (...) {
            encoded = false;
        }
        {
            std::lock_guard lock(mutex_);
            if (ev.id.epoch != epoch_ && foreign_from_.load(std::memory_order_relaxed) == 0) {
                // The backplane is away and publishes locally: from here until it says it lost
                // continuity, seqs are of its node-local epoch, not the cluster's.
                foreign_epoch_.store(ev.id.epoch, std::memory_order_relaxed);
                foreign_from_.store(ev.id.seq - ev.items, std::memory_order_release);
            }
            current_seq_.store(ev.id.seq, std::memory_order_release);
            published_ += 1 + ev.items;  // the held events count when their batch is
            if (ev.type == "batch") ++batched_;
            if (encoded) {
                fan_out(ctx->record, ev.channels, ev.type, *ctx->notify);
            } else {
                resync_all_locked("out_of_memory", *ctx->notify);  // loud, never silent, loss
            }
        }
        if (ctx == &local) after_unlock(own);
    }

    void lost_continuity(std::string_view reason) noexcept override {
        notify_list notify;
        {
            std::lock_guard lock(mutex_);
            history_floor_ = current_seq_.load(std::memory_order_relaxed);
            // The backplane is back (its seqs are above every local one): ids are the
            // cluster's again, the resyncs below included (a position the cluster replays from).
            foreign_from_.store(0, std::memory_order_release);
            resync_all_locked(reason, notify);
        }
        after_unlock(notify);
    }

    // -- Subscribing ---------------------------------------------------------------------------

    state_ptr subscribe(subscribe_options&& o, std::error_code& ec) {
        ec = {};
        if (o.channels.size() > options_.max_channels_per_subscription) {
            ec = errc::too_many_channels;
            return nullptr;
        }
        std::vector<std::string> names;
        names.reserve(o.channels.size());
        for (std::string& c : o.channels) {
            if (auto e = validate_channel_pattern(c)) {
                ec = e;
                return nullptr;
            }
            if (std::find(names.begin(), names.end(), c) == names.end()) {
                names.push_back(std::move(c));
            }
        }
        for (const std::string& t : o.types) {
            if (auto e = validate_type_filter(t)) {
                ec = e;
                return nullptr;
            }
        }
        // What the Last-Event-ID asks for: nothing (empty), a replay after `since`, or resync.
        std::uint64_t since = 0;
        bool replay = false;
        const char* resync_reason = nullptr;
        if (!o.last_event_id.empty()) {
            auto id = sse::parse_event_id(o.last_event_id);
            if (!id || id->epoch != epoch_) {
                resync_reason = "unknown_id";
            } else {
                since = id->seq;
                replay = true;
            }
        }

        // An id from a node ahead of this one (same epoch): wait for it here, not resync.
        bool caught_up = false;
        if (replay && since > current_seq_.load(std::memory_order_acquire)) {
            caught_up = backplane_->catch_up(since);
        }
        // Fetched before the sequencer's lock: reading a shared log may wait on the network.
        remote_replay remote;
        if (replay && resync_reason == nullptr) remote = fetch_remote(since, names);

        auto s = std::make_shared<subscription_state>();
        s->hub = weak_from_this();
        s->user_id = std::move(o.user_id);
        s->types = std::move(o.types);
        s->filtered = !s->types.empty();
        s->on_ready = std::move(o.on_ready);
        s->max_frames = options_.queue_frames;
        s->max_bytes = options_.queue_bytes;
        s->backlog = backlog_;

        {
            std::lock_guard lock(mutex_);
            if (stopped()) {
                ec = errc::hub_stopped;
                return nullptr;
            }
            if (refusals_.refused(s->user_id, names, steady_clock::now())) {
                ec = errc::reconnect_refused;
                return nullptr;
            }
            if (!s->user_id.empty() && options_.max_connections_per_user != 0 &&
                channels_.connections(s->user_id) >= options_.max_connections_per_user) {
                ec = errc::too_many_connections;
                return nullptr;
            }
            try {
                channels_.enroll(s);
                for (const std::string& n : names) channels_.add(*s, n);
                s->names = names;
                const std::uint64_t current = current_seq_.load(std::memory_order_relaxed);
                // Invariant: live events have seq > current; replay covers seq <= current.
                s->last_seq = current;
                s->start = id_of(current);
                // Still ahead once the backplane passed it: a seq no event took (a node that
                // published alone took it, e.g. a resync's position there). Nothing to replay.
                if (replay && since > current && !caught_up) resync_reason = "unknown_id";
                // A cluster id past the last cluster event here, while the backplane is away:
                // its seq names another event in this node's local epoch.
                const std::uint64_t foreign = foreign_from_.load(std::memory_order_relaxed);
                if (replay && foreign != 0 && since >= foreign) resync_reason = "unknown_id";
                if (resync_reason == nullptr && replay) {
                    resync_reason = remote.used ? replay_remote_locked(*s, since, names, remote)
                                                : replay_locked(*s, since, names);
                }
                std::lock_guard slock(s->mutex);
                if (resync_reason != nullptr) push_resync_locked(*s, resync_reason, current);
                backlog_->add(s->recount());
            } catch (...) {
                channels_.unregister(*s);  // never leave a half-registered subscription behind
                count_subscriptions_locked();
                throw;
            }
            count_subscriptions_locked();
        }
        dispatch_presence();
        return s;
    }

    void unsubscribe(subscription_state& s) noexcept {
        {
            std::lock_guard lock(mutex_);
            channels_.unregister(s);
            count_subscriptions_locked();
        }
        dispatch_presence();
    }

    std::error_code add_channel(subscription_state& s, std::string_view name) {
        if (auto ec = validate_channel_pattern(name)) return ec;
        {
            std::lock_guard lock(mutex_);
            if (!s.registered) return errc::closed;
            {
                std::lock_guard slock(s.mutex);
                if (std::find(s.names.begin(), s.names.end(), name) != s.names.end()) return {};
                if (s.names.size() >= options_.max_channels_per_subscription) {
                    return errc::too_many_channels;
                }
                s.names.emplace_back(name);
            }
            channels_.add(s, name);
        }
        dispatch_presence();
        return {};
    }

    std::error_code remove_channel(subscription_state& s, std::string_view name) {
        if (auto ec = validate_channel_pattern(name)) return ec;
        {
            std::lock_guard lock(mutex_);
            if (!s.registered) return errc::closed;
            {
                std::lock_guard slock(s.mutex);
                auto it = std::find(s.names.begin(), s.names.end(), name);
                if (it == s.names.end()) return {};
                s.names.erase(it);
            }
            channels_.remove(s, name);
        }
        dispatch_presence();
        return {};
    }

    // -- Queries -------------------------------------------------------------------------------

    history_result history(std::string_view since_text, std::span<const std::string> channels,
                           std::size_t limit) {
        history_result out;
        std::uint64_t since = 0;
        if (!since_text.empty()) {
            auto id = sse::parse_event_id(since_text);
            if (id && id->epoch == epoch_) {
                since = id->seq;
            } else {
                out.complete = false;
            }
        }
        std::vector<record_ptr> found;
        {
            std::lock_guard lock(mutex_);
            out.current = current_id();
            const std::uint64_t foreign = foreign_from_.load(std::memory_order_relaxed);
            if (since > out.current.seq || (foreign != 0 && since >= foreign)) {
                out.complete = false;
                since = 0;
            }
            std::vector<const record_ptr*> refs;
            bool complete = true;
            if (channels.empty()) {
                std::array<std::string_view, 1> all{"*"};
                complete = collect_locked(since, all, refs);
            } else {
                std::vector<std::string_view> views(channels.begin(), channels.end());
                complete = collect_locked(since, views, refs);
            }
            if (!since_text.empty() && !complete) out.complete = false;
            const std::size_t n = std::min(limit, refs.size());
            out.more = refs.size() > n;
            found.reserve(n);
            for (std::size_t i = 0; i < n; ++i) found.push_back(*refs[i]);
        }
        out.events.reserve(found.size());
        for (const record_ptr& r : found) {
            history_event e;
            e.id = {r->epoch != 0 ? r->epoch : epoch_, r->seq};
            e.type = std::string(r->type());
            e.data = decode_data(*r);
            std::string_view names = r->channels;
            while (!names.empty()) {
                const std::size_t lf = names.find('\n');
                e.channels.emplace_back(names.substr(0, lf));
                names.remove_prefix(lf + 1);
            }
            e.time = system_of(r->accepted);
            e.frame = frame_of(r);
            out.events.push_back(std::move(e));
        }
        return out;
    }

    hub_stats stats() {
        hub_stats st;
        const backplane_status bs = backplane_->status();
        st.backplane_connected = bs.connected;
        st.backplane_lag = bs.lag;
        st.backplane_errors = bs.errors;
        st.backplane_when_away = bs.when_away;
        st.backplane_local_publishes = bs.local_publishes;
        {
            auto lock = dedup_.lock();
            st.dedup_keys = dedup_.size();
        }
        {
            auto lock = rate_.lock();
            st.held_events = rate_.held_events();
            st.held_bytes = rate_.held_bytes();
        }
        std::lock_guard lock(mutex_);
        st.subscriptions = channels_.registry().size();
        st.users = channels_.users();
        st.channels = channels_.channels().size();
        st.channel_names.reserve(st.channels);
        for (const auto& [name, ch] : channels_.channels()) st.channel_names.push_back(name);
        std::sort(st.channel_names.begin(), st.channel_names.end());
        st.history_events = history_.events();
        st.history_bytes = history_.bytes();
        for (const state_ptr& s : channels_.registry()) {
            std::lock_guard slock(s->mutex);
            st.queued_frames += s->queue.size();
            st.queued_bytes += s->queued_bytes;
        }
        st.published = published_;
        st.delivered = delivered_;
        st.deduplicated = deduplicated_.load(std::memory_order_relaxed);
        st.resyncs = resyncs_;
        st.overflows = overflows_;
        st.rate_limited = rate_limited_.load(std::memory_order_relaxed);
        st.batched = batched_;
        st.backlog_frames = backlog_->frames();
        st.overloaded = overloaded_.load(std::memory_order_relaxed);
        st.current_id = current_id();
        return st;
    }

    std::size_t connections(std::string_view user) {
        std::lock_guard lock(mutex_);
        return channels_.connections(user);
    }

    std::size_t subscribers(std::string_view channel) {
        std::lock_guard lock(mutex_);
        const channel_state* ch = channels_.find(channel);
        return ch == nullptr ? 0 : ch->subs.size();
    }

    // -- Ending streams from the host ------------------------------------------------------

    /// Closes every subscription of `user` (by_user) or holding the channel name `name`, with
    /// errc::disconnected, and refuses new ones for `refuse`. Returns how many were closed.
    std::size_t disconnect(refusals::kind by, std::string_view name,
                           std::chrono::milliseconds refuse) noexcept {
        notify_list notify;
        try {
            std::lock_guard lock(mutex_);
            refusals_.refuse(by, name, refuse, steady_clock::now());
            for (const state_ptr& s : channels_.registry()) {
                const bool hit =
                    by == refusals::kind::user
                        ? s->user_id == name
                        : std::find(s->names.begin(), s->names.end(), name) != s->names.end();
                if (hit) notify.push_back(s);
            }
            for (const state_ptr& s : notify) {
                {
                    std::lock_guard slock(s->mutex);
                    if (!s->closed) s->closed = errc::disconnected;
                }
                channels_.unregister(*s);
            }
            count_subscriptions_locked();
        } catch (...) {  // out of memory: what was collected is closed below
        }
        const std::size_t closed = notify.size();
        after_unlock(notify);
        return closed;
    }

    bool allow(refusals::kind by, std::string_view name) noexcept {
        std::lock_guard lock(mutex_);
        return refusals_.allow(by, name);
    }

    // -- Shutdown ------------------------------------------------------------------------------

    void stop() noexcept {
        if (stopped_.exchange(true, std::memory_order_acq_rel)) return;
        // Nothing held is dropped: flush it while the backplane still delivers.
        notify_list notify;
        {
            auto lock = rate_.lock();
            flush_locked(rate_.take(steady_clock::now(), true), notify);
        }
        rate_.stop();  // from a flush callback: detached, and it keeps this core alive till done
        {
            std::lock_guard lock(mutex_);
            while (!channels_.registry().empty()) {
                state_ptr s = channels_.registry().back();
                {
                    std::lock_guard slock(s->mutex);
                    if (!s->closed) s->closed = errc::hub_stopped;
                }
                notify.push_back(s);
                channels_.unregister(*s);
            }
            count_subscriptions_locked();
        }
        backlog_->stop();  // publishers waiting for the backlog get hub_stopped now
        fire(notify);
        dispatch_presence();
    }

    static void fire(notify_list& notify) noexcept {
        for (const state_ptr& s : notify) s->signal();
        notify.clear();
    }

    /// What follows every critical section: ready callbacks, then presence changes (an overflow
    /// closes subscriptions during a publish, which can empty a channel).
    void after_unlock(notify_list& notify) noexcept {
        fire(notify);
        dispatch_presence();
    }

private:
    /// The backlog bound is an average over the live subscriptions. Caller holds mutex_.
    void count_subscriptions_locked() noexcept {
        backlog_->set_subscriptions(channels_.registry().size());
    }

    static hub_options normalise(hub_options o) {
        o.queue_frames = std::max<std::size_t>(o.queue_frames, 1);
        o.max_channels_per_event = std::max<std::size_t>(o.max_channels_per_event, 1);
        if (o.dedup_window <= std::chrono::milliseconds::zero()) o.dedup_capacity = 0;
        if (o.rate_window <= std::chrono::milliseconds::zero()) o.rate_limit = 0;
        o.max_batch_events = std::max<std::size_t>(o.max_batch_events, 1);
        return o;
    }

    /// Held bytes past which everything flushes at once: a flush must fit a queue that is
    /// drained normally (a quarter of it) and a channel's history (half of it), so a backlog
    /// never overflows readers or evicts what a reconnecting client replays.
    static std::size_t held_bytes_bound(const hub_options& o) noexcept {
        return std::min({o.max_held_bytes, o.queue_bytes / 4, o.history_bytes / 2});
    }

    /// Largest data of one `batch` event (a backlog is split into several): well inside the
    /// queue, history and payload bounds. A single larger item still goes alone.
    static std::size_t batch_chunk_bound(const hub_options& o) noexcept {
        return std::max<std::size_t>(
            std::min({o.queue_bytes, o.history_bytes, o.max_payload_bytes}) / 8, 1);
    }

    /// The id of the event `seq` delivered here: the hub's epoch, or the backplane's local one
    /// while it is away and publishes locally.
    [[nodiscard]] sse::event_id id_of(std::uint64_t seq) const noexcept {
        const std::uint64_t foreign = foreign_from_.load(std::memory_order_acquire);
        if (foreign != 0 && seq >= foreign) {
            return {foreign_epoch_.load(std::memory_order_relaxed), seq};
        }
        return {epoch_, seq};
    }

    [[nodiscard]] std::chrono::system_clock::time_point system_of(
        steady_clock::time_point t) const noexcept {
        return system_base_ +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(t - steady_base_);
    }
    [[nodiscard]] steady_clock::time_point steady_of(
        std::chrono::system_clock::time_point t) const noexcept {
        return steady_base_ + std::chrono::duration_cast<steady_clock::duration>(t - system_base_);
    }

    publish_result publish_core(std::span<const std::string_view> channels_in,
                                std::string_view type, std::string_view data,
                                std::string_view dedup_key, publish_kind kind, std::uint32_t items,
                                notify_list& notify,
                                std::chrono::milliseconds backlog_wait = {}) noexcept {
        try {
            const bool app = kind == publish_kind::application;
            if (app) {
                if (stopped()) return {.error = errc::hub_stopped};
                if (auto ec = validate_event_type(type)) return {.error = ec};
            }
            if (channels_in.empty() || channels_in.size() > options_.max_channels_per_event) {
                return {.error = errc::invalid_channel};
            }
            // Sorted and duplicate-free: one history entry and one rate bucket per channel, and
            // the same set always gives the same dedup and batch key.
            std::array<std::string_view, 16> small;
            std::vector<std::string_view> large;
            std::span<std::string_view> sorted;
            if (channels_in.size() <= small.size()) {
                std::copy(channels_in.begin(), channels_in.end(), small.begin());
                sorted = std::span(small.data(), channels_in.size());
            } else {
                large.assign(channels_in.begin(), channels_in.end());
                sorted = large;
            }
            for (std::string_view c : sorted) {
                if (auto ec = validate_channel(c)) return {.error = ec};
            }
            if (sorted.size() > 1) {
                std::sort(sorted.begin(), sorted.end());
                sorted = sorted.first(static_cast<std::size_t>(
                    std::unique(sorted.begin(), sorted.end()) - sorted.begin()));
            }
            if (app && data.size() > options_.max_payload_bytes) {
                return {.error = errc::payload_too_large};
            }
            if (!is_valid_utf8(data)) return {.error = errc::invalid_utf8};

            std::string built_key;
            const bool dedups = app && options_.dedup_capacity != 0;
            if (dedups && dedup_key.empty() && !options_.dedup_fields.empty()) {
                if (auto k = dedup_key_from_fields(options_.dedup_fields, type, sorted, data)) {
                    built_key = std::move(*k);
                    dedup_key = built_key;
                }
            }

            // Backpressure: before any lock, so a waiting publisher holds up no other publish
            // and no drain. A flush is not refused: its events were accepted when held. A
            // repeat of an accepted publish (a retry whose answer was lost) is answered as the
            // duplicate it is, at once, rather than refused or kept waiting.
            if (app && backlog_->over()) {
                if (dedups && !dedup_key.empty()) {
                    auto peek = dedup_.lock();
                    if (auto first = dedup_.find(dedup_key, coarse_now())) {
                        deduplicated_.fetch_add(1, std::memory_order_relaxed);
                        return {.id = *first, .duplicate = true};
                    }
                }
                const bool under =
                    backlog_wait.count() > 0 &&
                    backlog_->wait_until(std::chrono::steady_clock::now() + backlog_wait);
                if (stopped()) return {.error = errc::hub_stopped};
                if (!under) {
                    overloaded_.fetch_add(1, std::memory_order_relaxed);
                    return {.error = errc::overloaded};
                }
            }

            const auto now = coarse_now();

            // Dedup: check, publish and remember under one lock, so racing duplicates publish once.
            std::unique_lock<std::mutex> dedup_lock;
            if (dedups && !dedup_key.empty()) {
                dedup_lock = dedup_.lock();
                if (auto first = dedup_.find(dedup_key, now)) {
                    deduplicated_.fetch_add(1, std::memory_order_relaxed);
                    return {.id = *first, .duplicate = true};
                }
            }

            publish_context ctx{nullptr, &notify};
            // Outside the locks below; a batch's items get their ids in deliver(), where its
            // seq is known.
            if (items == 0) ctx.record = encode_record(type, data, sorted, now);

            // Rate limit: every event is admitted or held under the limiter's lock, and an
            // admitted one is sequenced under it, so the flusher (which takes the same lock)
            // never misses or reorders one. A held event is not sequenced now: its batch's
            // flush gives it a seq above every event admitted meanwhile, on any channel.
            std::unique_lock<std::mutex> rate_lock;
            if (app && rate_.enabled()) {
                rate_lock = rate_.lock();
                if (stopped()) return {.error = errc::hub_stopped};
                if (!rate_.admit(sorted, now)) {
                    rate_limited_.fetch_add(1, std::memory_order_relaxed);
                    if (options_.rate_policy == rate_limit_policy::reject) {
                        return {.error = errc::rate_limited};
                    }
                    rate_.hold(sorted, type, data, now);
                    // A full batch or the bounds flush here, not later: held memory stays
                    // bounded however far the flusher lags.
                    auto due = rate_.take(now, rate_.over_bounds());
                    if (!due.empty()) flush_locked(std::move(due), notify);
                    start_flusher_locked();
                    rate_.wake();
                    // A repeat is still suppressed; it reports the zero id too.
                    if (dedup_lock.owns_lock()) dedup_.insert(dedup_key, {}, now);
                    return {.held = true};
                }
            }

            backplane_event ev{.channels = sorted,
                               .type = type,
                               .data = data,
                               .time = system_of(now),
                               .items = items,
                               .origin = &ctx};
            if (dedup_lock.owns_lock()) {
                ev.dedup_key = dedup_key;
                ev.dedup_window = options_.dedup_window;
            }
            if (auto ec = backplane_->publish(ev)) return {.error = ec};
            if (dedup_lock.owns_lock()) dedup_.insert(dedup_key, ev.id, now);
            if (ev.duplicate) {  // seen on another node
                deduplicated_.fetch_add(1, std::memory_order_relaxed);
                return {.id = ev.id, .duplicate = true};
            }
            return {.id = ev.id, .scope = ev.local ? publish_scope::local : publish_scope::cluster};
        } catch (const std::bad_alloc&) {
            return {.error = out_of_memory()};
        } catch (const std::system_error& e) {
            return {.error = e.code()};
        } catch (...) {
            return {.error = out_of_memory()};
        }
    }

    // -- Batches -------------------------------------------------------------------------------

    /// Publishes each group's items, in order, as `batch` events whose data stays within
    /// batch_chunk_bytes_. Caller holds the rate limiter's lock.
    void flush_locked(std::vector<rate_limiter::group> groups, notify_list& notify) noexcept {
        for (rate_limiter::group& g : groups) {
            try {
                std::vector<std::string_view> channels(g.channels.begin(), g.channels.end());
                std::string data;
                data.reserve(std::min(g.bytes + g.items.size() + 2, batch_chunk_bytes_ + 2));
                for (std::size_t i = 0; i < g.items.size();) {
                    // The chunk's bound counts the ids deliver() writes into its items.
                    const std::size_t start = i;
                    std::size_t ids = item_id_bytes_;
                    data.assign(1, '[');
                    data.append(g.items[i++]);  // at least one item, however large
                    while (i < g.items.size() &&
                           data.size() + ids + 1 + g.items[i].size() + item_id_bytes_ + 1 <=
                               batch_chunk_bytes_) {
                        data.push_back(',');
                        data.append(g.items[i++]);
                        ids += item_id_bytes_;
                    }
                    data.push_back(']');
                    // One publish: the backplane gives its items the seqs just below its own.
                    auto r = publish_core(channels, "batch", data, {}, publish_kind::flush,
                                          static_cast<std::uint32_t>(i - start), notify);
                    if (!r) throw std::system_error(r.error);
                }
            } catch (...) {  // the items are lost, loudly
                std::lock_guard lock(mutex_);
                resync_all_locked("out_of_memory", notify);
            }
        }
    }

    /// Caller holds the rate limiter's lock.
    void start_flusher_locked() {
        rate_.start_flusher(weak_from_this(), [this](std::vector<rate_limiter::group>&& groups,
                                                     std::unique_lock<std::mutex>& lock) {
            notify_buffer buffer;
            notify_list& notify = buffer.list();
            flush_locked(std::move(groups), notify);
            lock.unlock();
            after_unlock(notify);
            lock.lock();
        });
    }

    // -- Replay (mutex_ held) -----------------------------------------------------------------

    bool collect_locked(std::uint64_t since, std::span<const std::string_view> names,
                        std::vector<const record_ptr*>& out) {
        const bool complete = history_.collect(
            channels_, since, current_seq_.load(std::memory_order_relaxed), names, out);
        return complete && since >= history_floor_;
    }

    /// Queues the replay after `since`; returns the resync reason when it cannot be complete.
    const char* replay_locked(subscription_state& s, std::uint64_t since,
                              const std::vector<std::string>& names) {
        std::vector<std::string_view> views(names.begin(), names.end());
        std::vector<const record_ptr*> refs;
        if (!collect_locked(since, views, refs)) return "evicted";
        return queue_replay_locked(s, refs);
    }

    /// Queues these records as the replay; returns the resync reason when they do not fit.
    const char* queue_replay_locked(subscription_state& s,
                                    std::span<const record_ptr* const> refs) {
        std::lock_guard slock(s.mutex);
        std::size_t frames = 0;
        std::size_t bytes = 0;
        for (const record_ptr* r : refs) {
            if (!s.accepts((*r)->type())) continue;
            ++frames;
            bytes += (*r)->bytes.size();
        }
        if (frames > s.max_frames || bytes > s.max_bytes) return "replay_overflow";
        s.queue.reserve(frames);
        for (const record_ptr* r : refs) {
            if (!s.accepts((*r)->type())) continue;
            s.queue.push_back(frame_of(*r));
        }
        s.queued_bytes = bytes;
        delivered_ += frames;
        return nullptr;
    }

    // -- Replay from the backplane's log (a shared log: other nodes, or before this hub) -------

    /// The frame of an event from the backplane, its id stamped (`record`: already encoded by
    /// the publishing call, or null). A `batch`'s items get the seqs just below its own, written
    /// in here (the same on every node, whoever published it).
    record_ptr encode_event(const backplane_event& ev, record_ptr record) const {
        const std::string other = ev.id.epoch == epoch_ ? std::string() : id_prefix(ev.id.epoch);
        // A backplane that changed epoch under us still gets correct ids.
        const std::string_view prefix = ev.id.epoch == epoch_ ? id_prefix_ : other;
        if (!record && ev.items != 0) {
            std::string data;
            insert_batch_item_ids(ev.data, prefix, ev.id.seq - ev.items, data);
            record = encode_record(ev.type, data, ev.channels, steady_of(ev.time));
        } else if (!record) {
            record = encode_record(ev.type, ev.data, ev.channels, steady_of(ev.time));
        }
        stamp(*record, prefix, ev.id.seq);
        record->epoch = ev.id.epoch == epoch_ ? 0 : ev.id.epoch;
        return record;
    }

    /// A replay's events read from the backplane's log (outside the locks).
    struct remote_replay {
        bool used = false;  ///< local history could not serve it; these are the log's events
        backplane_log log;
        std::vector<record_ptr> records;  ///< on the subscription's channels, in seq order
    };

    remote_replay fetch_remote(std::uint64_t since, const std::vector<std::string>& names) {
        remote_replay out;
        {
            std::lock_guard lock(mutex_);
            std::vector<std::string_view> views(names.begin(), names.end());
            std::vector<const record_ptr*> refs;
            if (collect_locked(since, views, refs)) return out;
        }
        out.used = true;
        bool failed = false;
        out.log = backplane_->read_log(since, [&](const backplane_event& ev) {
            if (failed) return;
            try {
                for (std::string_view c : ev.channels) {
                    for (const std::string& n : names) {
                        if (!matches(n, c)) continue;
                        out.records.push_back(encode_event(ev, nullptr));
                        return;
                    }
                }
            } catch (...) {
                failed = true;  // an incomplete replay: resync
            }
        });
        if (failed) out.log.complete = false;
        return out;
    }

    /// Queues the log's events up to the current seq, then local history after the log's end.
    const char* replay_remote_locked(subscription_state& s, std::uint64_t since,
                                     const std::vector<std::string>& names,
                                     const remote_replay& remote) {
        if (!remote.log.complete) return "evicted";
        const std::uint64_t current = current_seq_.load(std::memory_order_relaxed);
        std::vector<const record_ptr*> refs;
        for (const record_ptr& r : remote.records) {
            if (r->seq > since && r->seq <= current) refs.push_back(&r);
        }
        if (remote.log.until < current) {  // delivered here after the read: local history
            std::vector<std::string_view> views(names.begin(), names.end());
            const std::uint64_t from = std::max(remote.log.until, since);
            if (!collect_locked(from, views, refs)) return "evicted";
        }
        return queue_replay_locked(s, refs);
    }

    // -- Fan-out (mutex_ held) ----------------------------------------------------------------

    void fan_out(const record_ptr& r, std::span<const std::string_view> channels,
                 std::string_view type, notify_list& notify) {
        const std::size_t size = r->bytes.size();
        std::size_t queued = 0;  // the backlog gauge is shared with drains: one add per event
        const bool keep = history_.enabled();
        for (std::string_view name : channels) {
            channel_state* ch = nullptr;
            if (keep) {
                ch = &channels_.get(name);
                history_.retain(*ch, r);
            } else {
                ch = channels_.find(name);
            }
            if (ch == nullptr) continue;
            for (const channel_state::entry& e : ch->subs) {
                offer(*e.sub, type, r, size, notify, queued);
            }
            if (keep) channels_.maybe_erase(*ch);  // an event larger than the ring's byte bound
        }
        for (pattern_state& p : channels_.patterns()) {
            for (std::string_view name : channels) {
                if (!matches(p.pattern, name)) continue;
                for (subscription_state* s : p.subs) offer(*s, type, r, size, notify, queued);
                break;
            }
        }
        backlog_->add(queued);
        history_.enforce_total(channels_);
        if (!overflowed_.empty()) {
            for (subscription_state* s : overflowed_) channels_.unregister(*s);
            overflowed_.clear();
            count_subscriptions_locked();
        }
    }

    void offer(subscription_state& s, std::string_view type, const record_ptr& r, std::size_t size,
               notify_list& notify, std::size_t& queued) {
        const std::uint64_t seq = r->seq;
        if (s.last_seq >= seq) return;  // already offered through another channel
        s.last_seq = seq;
        if (!s.accepts(type)) return;
        std::lock_guard slock(s.mutex);
        if (s.closed) return;
        bool wake = false;
        auto resync = [&] { return resync_frame("overflow", id_of(seq)); };
        const auto outcome = s.offer(frame_of(r), size, options_.overflow, resync, wake);
        queued += s.recount();
        switch (outcome) {
            case subscription_state::offer_outcome::queued:
                ++delivered_;
                break;
            case subscription_state::offer_outcome::resynced:
                ++overflows_;
                ++resyncs_;
                break;
            case subscription_state::offer_outcome::closed:
                ++overflows_;
                overflowed_.push_back(&s);
                break;
        }
        if (wake) notify.push_back(s.shared_from_this());
    }

    /// Queues a `resync` whose id is `seq`. Caller holds mutex_ and s.mutex.
    void push_resync_locked(subscription_state& s, std::string_view reason, std::uint64_t seq) {
        s.push(resync_frame(reason, id_of(seq)));
        ++resyncs_;
    }

    void resync_all_locked(std::string_view reason, notify_list& notify) noexcept {
        const std::uint64_t seq = current_seq_.load(std::memory_order_relaxed);
        for (const state_ptr& s : channels_.registry()) {
            std::lock_guard slock(s->mutex);
            if (s->closed) continue;
            try {
                s->queue.clear();
                s->queued_bytes = 0;
                push_resync_locked(*s, reason, seq);
                backlog_->add(s->recount());
                if (s->mark_signalled()) notify.push_back(s);
            } catch (...) {  // NOLINT(bugprone-empty-catch): nothing more can be done
            }
        }
    }

    void dispatch_presence() noexcept {
        if (options_.on_presence) presence_.dispatch(options_.on_presence);
    }

    const hub_options options_;
    const std::shared_ptr<backplane> backplane_;
    const std::uint64_t epoch_;
    const std::string id_prefix_;

    dedup_window dedup_;
    rate_limiter rate_;
    const std::shared_ptr<backlog_gauge> backlog_;
    const std::size_t batch_chunk_bytes_;
    /// Most bytes an item's id adds (`"id":"<prefix><seq>",`): counted in batch_chunk_bytes_.
    const std::size_t item_id_bytes_ = id_prefix_.size() + 28;
    presence_dispatcher presence_;

    const std::chrono::system_clock::time_point system_base_;
    const steady_clock::time_point steady_base_;

    std::atomic<bool> stopped_{false};
    std::atomic<std::uint64_t> current_seq_{0};
    std::atomic<std::uint64_t> deduplicated_{0};
    std::atomic<std::uint64_t> rate_limited_{0};
    std::atomic<std::uint64_t> overloaded_{0};
    /// While the backplane is away and publishes locally: the first seq it delivered under its
    /// local epoch (0: none since it last lost continuity), and that epoch. Written under
    /// mutex_; atomics so current_id() reads them without it.
    std::atomic<std::uint64_t> foreign_from_{0};
    std::atomic<std::uint64_t> foreign_epoch_{0};

    // The sequencer's state, guarded by mutex_:
    mutable std::mutex mutex_;
    channel_index channels_;
    history_index history_;
    std::vector<subscription_state*> overflowed_;
    refusals refusals_;
    std::uint64_t published_ = 0;
    std::uint64_t delivered_ = 0;
    std::uint64_t resyncs_ = 0;
    std::uint64_t overflows_ = 0;
    std::uint64_t batched_ = 0;
    /// Replays after a seq below this are not known complete here: this hub started later, or
    /// the backplane lost continuity since (both ask the backplane's log instead).
    std::uint64_t history_floor_ = 0;
};

}  // namespace crier::detail

#endif
