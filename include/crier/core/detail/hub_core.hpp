// SPDX-License-Identifier: MIT
// detail::hub_core and detail::subscription_state: the hub's private state and algorithms.
#ifndef CRIER_CORE_DETAIL_HUB_CORE_HPP
#define CRIER_CORE_DETAIL_HUB_CORE_HPP

#include <crier/core/backplane.hpp>
#include <crier/core/detail/dedup.hpp>
#include <crier/core/detail/presence.hpp>
#include <crier/core/detail/rate_limiter.hpp>
#include <crier/core/detail/record.hpp>
#include <crier/core/detail/ring.hpp>
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
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace crier::detail {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

/// One channel: its subscribers and its history ring.
struct channel_state {
    struct entry {
        subscription_state* sub;
        std::size_t slot;  ///< index in sub->memberships
    };
    std::string_view name;  ///< the map key
    std::vector<entry> subs;
    ring<record_ptr> history;
    std::size_t history_bytes = 0;
    /// Replay from any seq below this is incomplete: events up to it were evicted.
    std::uint64_t evicted_through = 0;
};

/// Subscriptions to one pattern (`stable:*`), matched against every published channel.
struct pattern_state {
    std::string pattern;
    std::vector<subscription_state*> subs;
};

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

/// The hub. Lock order: the dedup window's → the rate limiter's → the backplane's → mutex_ → a
/// subscription's mutex. Callbacks (on_ready, presence) run with none of them held.
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
          batch_chunk_bytes_(batch_chunk_bound(options_)),
          system_base_(std::chrono::system_clock::now()),
          steady_base_(steady_clock::now()) {
        current_seq_.store(backplane_->last_id().seq, std::memory_order_relaxed);
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
        return {epoch_, current_seq_.load(std::memory_order_acquire)};
    }
    [[nodiscard]] bool stopped() const noexcept { return stopped_.load(std::memory_order_acquire); }

    // -- Publishing ----------------------------------------------------------------------------

    publish_result publish(std::span<const std::string_view> channels, std::string_view type,
                           std::string_view data, std::string_view dedup_key) noexcept {
        notify_list notify;
        publish_result r =
            publish_core(channels, type, data, dedup_key, publish_kind::application, notify);
        after_unlock(notify);
        return r;
    }

    void flush_batches() noexcept {
        notify_list notify;
        {
            auto lock = rate_.lock();
            flush_locked(rate_.take(steady_clock::now(), true), notify);
        }
        after_unlock(notify);
    }

    // -- backplane_sink ------------------------------------------------------------------------

    void deliver(const backplane_event& ev) noexcept override {
        notify_list own;
        publish_context local{nullptr, &own};
        auto* ctx = ev.origin != nullptr ? static_cast<publish_context*>(ev.origin) : &local;
        if (ev.held) {
            std::lock_guard lock(mutex_);
            current_seq_.store(ev.id.seq, std::memory_order_release);
            ++published_;
            return;
        }
        bool encoded = true;
        try {
            if (!ctx->record) {
                ctx->record = encode_record(ev.type, ev.data, ev.channels, steady_of(ev.time));
            }
            if (ev.id.epoch == epoch_) {
                stamp(*ctx->record, id_prefix_, ev.id.seq);
            } else {  // a backplane that changed epoch under us: still a correct id
                stamp(*ctx->record, id_prefix(ev.id.epoch), ev.id.seq);
            }
        } catch (...) {
            encoded = false;
        }
        {
            std::lock_guard lock(mutex_);
            current_seq_.store(ev.id.seq, std::memory_order_release);
            ++published_;
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

        auto s = std::make_shared<subscription_state>();
        s->hub = weak_from_this();
        s->user_id = std::move(o.user_id);
        s->types = std::move(o.types);
        s->filtered = !s->types.empty();
        s->on_ready = std::move(o.on_ready);
        s->max_frames = options_.queue_frames;
        s->max_bytes = options_.queue_bytes;

        {
            std::lock_guard lock(mutex_);
            if (stopped()) {
                ec = errc::hub_stopped;
                return nullptr;
            }
            if (!s->user_id.empty() && options_.max_connections_per_user != 0) {
                auto it = users_.find(s->user_id);
                if (it != users_.end() && it->second >= options_.max_connections_per_user) {
                    ec = errc::too_many_connections;
                    return nullptr;
                }
            }
            s->registry_index = registry_.size();
            registry_.push_back(s);
            s->registered = true;
            try {
                if (!s->user_id.empty()) {
                    ++users_[s->user_id];
                    s->counts_user = true;
                }
                for (const std::string& n : names) add_locked(*s, n);
                s->names = names;
                const std::uint64_t current = current_seq_.load(std::memory_order_relaxed);
                // Invariant: live events have seq > current; replay covers seq <= current.
                s->last_seq = current;
                if (replay && since > current) resync_reason = "unknown_id";
                if (resync_reason == nullptr && replay) {
                    resync_reason = replay_locked(*s, since, names);
                }
                if (resync_reason != nullptr) {
                    std::lock_guard slock(s->mutex);
                    push_resync_locked(*s, resync_reason, current);
                }
            } catch (...) {
                unregister_locked(*s);  // never leave a half-registered subscription behind
                throw;
            }
        }
        dispatch_presence();
        return s;
    }

    void unsubscribe(subscription_state& s) noexcept {
        {
            std::lock_guard lock(mutex_);
            unregister_locked(s);
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
            add_locked(s, name);
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
            remove_locked(s, name);
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
            if (since > out.current.seq) {
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
            e.id = {epoch_, r->seq};
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
        st.subscriptions = registry_.size();
        st.users = users_.size();
        st.channels = channels_.size();
        st.channel_names.reserve(channels_.size());
        for (const auto& [name, ch] : channels_) st.channel_names.push_back(name);
        std::sort(st.channel_names.begin(), st.channel_names.end());
        st.history_events = history_events_;
        st.history_bytes = history_bytes_;
        for (const state_ptr& s : registry_) {
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
        st.current_id = current_id();
        return st;
    }

    std::size_t connections(std::string_view user) {
        std::lock_guard lock(mutex_);
        auto it = users_.find(user);
        return it == users_.end() ? 0 : it->second;
    }

    std::size_t subscribers(std::string_view channel) {
        std::lock_guard lock(mutex_);
        auto it = channels_.find(channel);
        return it == channels_.end() ? 0 : it->second.subs.size();
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
            while (!registry_.empty()) {
                state_ptr s = registry_.back();
                {
                    std::lock_guard slock(s->mutex);
                    if (!s->closed) s->closed = errc::hub_stopped;
                }
                notify.push_back(s);
                unregister_locked(*s);
            }
        }
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
    using channel_map =
        std::unordered_map<std::string, channel_state, string_hash, std::equal_to<>>;

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
                                std::string_view dedup_key, publish_kind kind,
                                notify_list& notify) noexcept {
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

            const auto now = coarse_now();

            // Dedup: check, publish and remember under one lock, so racing duplicates publish once.
            std::string built_key;
            std::unique_lock<std::mutex> dedup_lock;
            if (app && options_.dedup_capacity != 0) {
                if (dedup_key.empty() && !options_.dedup_fields.empty()) {
                    if (auto k = dedup_key_from_fields(options_.dedup_fields, type, sorted, data)) {
                        built_key = std::move(*k);
                        dedup_key = built_key;
                    }
                }
                if (!dedup_key.empty()) {
                    dedup_lock = dedup_.lock();
                    if (auto first = dedup_.find(dedup_key, now)) {
                        deduplicated_.fetch_add(1, std::memory_order_relaxed);
                        return {.id = *first, .duplicate = true};
                    }
                }
            }

            publish_context ctx{nullptr, &notify};
            ctx.record = encode_record(type, data, sorted, now);  // outside the locks below

            // Rate limit: every event is admitted or held, and sequenced, under the limiter's
            // lock, so an admitted event never takes a seq below a held one on its channels and
            // the flusher (which takes the same lock) never misses or reorders one.
            bool held = false;
            std::unique_lock<std::mutex> rate_lock;
            if (app && rate_.enabled()) {
                rate_lock = rate_.lock();
                if (stopped()) return {.error = errc::hub_stopped};
                if (!rate_.admit(sorted, now)) {
                    rate_limited_.fetch_add(1, std::memory_order_relaxed);
                    if (options_.rate_policy == rate_limit_policy::reject) {
                        return {.error = errc::rate_limited};
                    }
                    held = true;
                    ctx.record.reset();
                }
            }

            backplane_event ev{.channels = sorted,
                               .type = type,
                               .data = data,
                               .time = system_of(now),
                               .held = held,
                               .origin = &ctx};
            if (auto ec = backplane_->publish(ev)) return {.error = ec};
            if (held) {
                rate_.hold(sorted, ev.id, type, data, now);
                // A full batch or the bounds flush here, not later: held memory stays bounded
                // however far the flusher lags.
                auto due = rate_.take(now, rate_.over_bounds());
                if (!due.empty()) flush_locked(std::move(due), notify);
                start_flusher_locked();
                rate_.wake();
            }
            if (dedup_lock.owns_lock()) dedup_.insert(dedup_key, ev.id, now);
            return {.id = ev.id, .held = held};
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
                    data.assign(1, '[');
                    data.append(g.items[i++]);  // at least one item, however large
                    while (i < g.items.size() &&
                           data.size() + 1 + g.items[i].size() + 1 <= batch_chunk_bytes_) {
                        data.push_back(',');
                        data.append(g.items[i++]);
                    }
                    data.push_back(']');
                    auto r = publish_core(channels, "batch", data, {}, publish_kind::flush, notify);
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
            notify_list notify;
            flush_locked(std::move(groups), notify);
            lock.unlock();
            after_unlock(notify);
            lock.lock();
        });
    }

    // -- Channels and membership (mutex_ held) ------------------------------------------------

    channel_state& channel_locked(std::string_view name) {
        auto it = channels_.find(name);
        if (it == channels_.end()) {
            it = channels_.emplace(std::string(name), channel_state{}).first;
            it->second.name = it->first;
            // It may have existed, been evicted and been forgotten: assume the worst.
            it->second.evicted_through = removed_watermark_;
        }
        return it->second;
    }

    void maybe_erase_locked(channel_state& ch) {
        if (!ch.subs.empty() || !ch.history.empty()) return;
        removed_watermark_ = std::max(removed_watermark_, ch.evicted_through);
        channels_.erase(channels_.find(ch.name));
    }

    void add_locked(subscription_state& s, std::string_view name) {
        if (name.back() == '*') {
            auto it = std::find_if(patterns_.begin(), patterns_.end(),
                                   [&](const pattern_state& p) { return p.pattern == name; });
            if (it == patterns_.end()) {
                patterns_.push_back({std::string(name), {}});
                it = patterns_.end() - 1;
            }
            it->subs.push_back(&s);
            s.patterns.emplace_back(name);
            return;
        }
        channel_state& ch = channel_locked(name);
        ch.subs.push_back({&s, s.memberships.size()});
        s.memberships.push_back({&ch, ch.subs.size() - 1});
        if (ch.subs.size() == 1 && options_.on_presence) presence_.push(std::string(name), 1);
    }

    void remove_locked(subscription_state& s, std::string_view name) {
        if (name.back() == '*') {
            auto pit = std::find(s.patterns.begin(), s.patterns.end(), name);
            if (pit != s.patterns.end()) s.patterns.erase(pit);
            drop_pattern_locked(s, name);
            return;
        }
        for (std::size_t i = 0; i < s.memberships.size(); ++i) {
            if (s.memberships[i].channel->name != name) continue;
            leave_locked(s, i);
            // Keep the memberships dense: move the last one into slot i.
            if (i != s.memberships.size() - 1) {
                s.memberships[i] = s.memberships.back();
                s.memberships[i].channel->subs[s.memberships[i].index].slot = i;
            }
            s.memberships.pop_back();
            return;
        }
    }

    /// Removes s from the channel of membership i (the membership itself stays).
    void leave_locked(subscription_state& s, std::size_t i) {
        channel_state& ch = *s.memberships[i].channel;
        const std::size_t at = s.memberships[i].index;
        if (at != ch.subs.size() - 1) {
            ch.subs[at] = ch.subs.back();
            ch.subs[at].sub->memberships[ch.subs[at].slot].index = at;
        }
        ch.subs.pop_back();
        if (ch.subs.empty()) {
            if (options_.on_presence) presence_.push(std::string(ch.name), 0);
            maybe_erase_locked(ch);
        }
    }

    void drop_pattern_locked(subscription_state& s, std::string_view pattern) {
        auto it = std::find_if(patterns_.begin(), patterns_.end(),
                               [&](const pattern_state& p) { return p.pattern == pattern; });
        if (it == patterns_.end()) return;
        std::erase(it->subs, &s);
        if (it->subs.empty()) patterns_.erase(it);
    }

    void unregister_locked(subscription_state& s) {
        if (!s.registered) return;
        s.registered = false;
        for (std::size_t i = 0; i < s.memberships.size(); ++i) leave_locked(s, i);
        s.memberships.clear();
        for (const std::string& p : s.patterns) drop_pattern_locked(s, p);
        s.patterns.clear();
        if (s.counts_user) {
            s.counts_user = false;
            auto it = users_.find(s.user_id);
            if (--it->second == 0) users_.erase(it);
        }
        // Last: the registry may hold the last reference.
        const std::size_t at = s.registry_index;
        state_ptr keep = std::move(registry_[at]);
        if (at != registry_.size() - 1) {
            registry_[at] = std::move(registry_.back());
            registry_[at]->registry_index = at;
        }
        registry_.pop_back();
    }

    // -- History (mutex_ held) ----------------------------------------------------------------

    void evict_front_locked(channel_state& ch) {
        event_record& r = *ch.history.front();
        ch.history_bytes -= r.bytes.size();
        ch.evicted_through = std::max(ch.evicted_through, r.seq);
        if (--r.rings == 0) {
            (r.older != nullptr ? r.older->newer : oldest_) = r.newer;
            (r.newer != nullptr ? r.newer->older : newest_) = r.older;
            r.older = r.newer = nullptr;
            --history_events_;
            history_bytes_ -= r.footprint;
        }
        ch.history.pop_front();
        if (ch.history.empty()) ch.history.shrink_if_empty();
    }

    void expire_locked(channel_state& ch, steady_clock::time_point now) {
        if (options_.history_max_age <= std::chrono::milliseconds::zero()) return;
        while (!ch.history.empty() &&
               now - ch.history.front()->accepted >= options_.history_max_age) {
            evict_front_locked(ch);
        }
    }

    void retain_locked(channel_state& ch, const record_ptr& r) {
        if (r->rings++ == 0) {
            r->older = newest_;
            (newest_ != nullptr ? newest_->newer : oldest_) = r.get();
            newest_ = r.get();
            ++history_events_;
            history_bytes_ += r->footprint;
        }
        ch.history.push_back(r);
        ch.history_bytes += r->bytes.size();
        while (ch.history.size() > options_.history_size ||
               (ch.history_bytes > options_.history_bytes && !ch.history.empty())) {
            evict_front_locked(ch);
        }
        expire_locked(ch, r->accepted);
    }

    /// Evicts the globally oldest events until the hub-wide byte bound holds. The oldest
    /// retained event is at the front of every ring that holds it.
    void enforce_total_locked() {
        while (history_bytes_ > options_.history_total_bytes && oldest_ != nullptr) {
            const event_record* victim = oldest_;
            record_ptr keep;  // the record dies with its last ring; its names are read below
            std::string_view rest = victim->channels;
            while (!rest.empty()) {
                const std::size_t lf = rest.find('\n');
                auto it = channels_.find(rest.substr(0, lf));
                rest.remove_prefix(lf + 1);
                if (it == channels_.end()) continue;
                channel_state& ch = it->second;
                if (ch.history.empty() || ch.history.front().get() != victim) continue;
                if (!keep) keep = ch.history.front();
                evict_front_locked(ch);
                maybe_erase_locked(ch);
            }
            if (!keep) break;  // unreachable while the invariant holds; never spin
        }
    }

    /// Gathers retained records with seq > since on these channels/patterns, in seq order,
    /// once each. Returns false when history on one of them was evicted past `since`.
    bool collect_locked(std::uint64_t since, std::span<const std::string_view> names,
                        std::vector<const record_ptr*>& out) {
        const auto now = coarse_now();
        // Without history nothing can be replayed: only an up-to-date client is complete.
        bool complete =
            options_.history_size != 0 || since >= current_seq_.load(std::memory_order_relaxed);
        std::size_t contributing = 0;
        std::vector<std::string> emptied;
        auto visit = [&](channel_state& ch) {
            expire_locked(ch, now);
            if (since < ch.evicted_through) complete = false;
            if (ch.history.empty()) {
                emptied.emplace_back(ch.name);
                return;
            }
            // Binary search: the ring is in seq order.
            std::size_t lo = 0;
            std::size_t hi = ch.history.size();
            while (lo < hi) {
                const std::size_t mid = (lo + hi) / 2;
                if (ch.history[mid]->seq <= since) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if (lo == ch.history.size()) return;
            ++contributing;
            for (std::size_t i = lo; i < ch.history.size(); ++i) out.push_back(&ch.history[i]);
        };
        for (std::string_view n : names) {
            if (n.back() == '*') {
                if (since < removed_watermark_) complete = false;
                for (auto& [name, ch] : channels_) {
                    if (matches(n, name)) visit(ch);
                }
            } else if (auto it = channels_.find(n); it != channels_.end()) {
                visit(it->second);
            } else if (since < removed_watermark_) {
                complete = false;
            }
        }
        if (contributing > 1) {
            std::sort(out.begin(), out.end(), [](const record_ptr* a, const record_ptr* b) {
                return (*a)->seq < (*b)->seq;
            });
            out.erase(std::unique(out.begin(), out.end(),
                                  [](const record_ptr* a, const record_ptr* b) {
                                      return a->get() == b->get();
                                  }),
                      out.end());
        }
        for (const std::string& name : emptied) {
            if (auto it = channels_.find(name); it != channels_.end())
                maybe_erase_locked(it->second);
        }
        return complete;
    }

    /// Queues the replay after `since`; returns the resync reason when it cannot be complete.
    const char* replay_locked(subscription_state& s, std::uint64_t since,
                              const std::vector<std::string>& names) {
        std::vector<std::string_view> views(names.begin(), names.end());
        std::vector<const record_ptr*> refs;
        if (!collect_locked(since, views, refs)) return "evicted";
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

    // -- Fan-out (mutex_ held) ----------------------------------------------------------------

    void fan_out(const record_ptr& r, std::span<const std::string_view> channels,
                 std::string_view type, notify_list& notify) {
        const std::size_t size = r->bytes.size();
        const bool keep = options_.history_size != 0;
        for (std::string_view name : channels) {
            channel_state* ch = nullptr;
            if (keep) {
                ch = &channel_locked(name);
                retain_locked(*ch, r);
            } else if (auto it = channels_.find(name); it != channels_.end()) {
                ch = &it->second;
            }
            if (ch == nullptr) continue;
            for (const channel_state::entry& e : ch->subs) offer(*e.sub, type, r, size, notify);
            if (keep) maybe_erase_locked(*ch);  // an event larger than the ring's byte bound
        }
        for (pattern_state& p : patterns_) {
            for (std::string_view name : channels) {
                if (!matches(p.pattern, name)) continue;
                for (subscription_state* s : p.subs) offer(*s, type, r, size, notify);
                break;
            }
        }
        enforce_total_locked();
        for (subscription_state* s : overflowed_) unregister_locked(*s);
        overflowed_.clear();
    }

    void offer(subscription_state& s, std::string_view type, const record_ptr& r, std::size_t size,
               notify_list& notify) {
        const std::uint64_t seq = r->seq;
        if (s.last_seq >= seq) return;  // already offered through another channel
        s.last_seq = seq;
        if (!s.accepts(type)) return;
        std::lock_guard slock(s.mutex);
        if (s.closed) return;
        bool wake = false;
        auto resync = [&] { return resync_frame("overflow", {epoch_, seq}); };
        switch (s.offer(frame_of(r), size, options_.overflow, resync, wake)) {
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
        s.push(resync_frame(reason, {epoch_, seq}));
        ++resyncs_;
    }

    void resync_all_locked(std::string_view reason, notify_list& notify) noexcept {
        const std::uint64_t seq = current_seq_.load(std::memory_order_relaxed);
        for (const state_ptr& s : registry_) {
            std::lock_guard slock(s->mutex);
            if (s->closed) continue;
            try {
                s->queue.clear();
                s->queued_bytes = 0;
                push_resync_locked(*s, reason, seq);
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
    const std::size_t batch_chunk_bytes_;
    presence_dispatcher presence_;

    const std::chrono::system_clock::time_point system_base_;
    const steady_clock::time_point steady_base_;

    std::atomic<bool> stopped_{false};
    std::atomic<std::uint64_t> current_seq_{0};
    std::atomic<std::uint64_t> deduplicated_{0};
    std::atomic<std::uint64_t> rate_limited_{0};

    // The sequencer's state, guarded by mutex_:
    mutable std::mutex mutex_;
    channel_map channels_;
    std::vector<pattern_state> patterns_;
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> users_;
    std::vector<state_ptr> registry_;
    std::vector<subscription_state*> overflowed_;
    event_record* oldest_ = nullptr;
    event_record* newest_ = nullptr;
    std::size_t history_events_ = 0;
    std::size_t history_bytes_ = 0;
    std::uint64_t removed_watermark_ = 0;
    std::uint64_t published_ = 0;
    std::uint64_t delivered_ = 0;
    std::uint64_t resyncs_ = 0;
    std::uint64_t overflows_ = 0;
    std::uint64_t batched_ = 0;
};

}  // namespace crier::detail

#endif
