// SPDX-License-Identifier: MIT
// detail::channel_index: which subscriptions hear which channel — channel memberships, pattern
// subscriptions, the registry of live subscriptions and the per-user connection counts.
#ifndef CRIER_CORE_DETAIL_CHANNEL_INDEX_HPP
#define CRIER_CORE_DETAIL_CHANNEL_INDEX_HPP

#include <crier/core/detail/presence.hpp>
#include <crier/core/detail/record.hpp>
#include <crier/core/detail/ring.hpp>
#include <crier/core/detail/subscription_state.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace crier::detail {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

/// One channel: its subscribers, and its history ring (kept by history_index). It exists
/// while it has either.
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

/// Channels, patterns, live subscriptions and users. Memberships are kept dense on both sides
/// (channel->subs[i] and sub->memberships[j] point at each other), so joining and leaving cost
/// O(1) and fan-out walks a plain vector.
///
/// @par Thread Safety
/// None of its own: the hub's sequencer lock guards it.
class channel_index {
public:
    using channel_map =
        std::unordered_map<std::string, channel_state, string_hash, std::equal_to<>>;

    /// `presence` receives (channel, 1) and (channel, 0) changes when `report` is true.
    channel_index(presence_dispatcher& presence, bool report)
        : presence_(presence), report_(report) {}

    [[nodiscard]] channel_map& channels() noexcept { return channels_; }
    [[nodiscard]] std::vector<pattern_state>& patterns() noexcept { return patterns_; }
    [[nodiscard]] const std::vector<state_ptr>& registry() const noexcept { return registry_; }
    [[nodiscard]] std::size_t users() const noexcept { return users_.size(); }

    /// Live subscriptions of `user`.
    [[nodiscard]] std::size_t connections(std::string_view user) const {
        auto it = users_.find(user);
        return it == users_.end() ? 0 : it->second;
    }

    /// A channel forgotten (no subscribers, no history) may have had events up to this seq.
    [[nodiscard]] std::uint64_t removed_watermark() const noexcept { return removed_watermark_; }

    [[nodiscard]] channel_state* find(std::string_view name) {
        auto it = channels_.find(name);
        return it == channels_.end() ? nullptr : &it->second;
    }

    /// The channel, created if needed.
    channel_state& get(std::string_view name) {
        auto it = channels_.find(name);
        if (it == channels_.end()) {
            it = channels_.emplace(std::string(name), channel_state{}).first;
            it->second.name = it->first;
            // It may have existed, been evicted and been forgotten: assume the worst.
            it->second.evicted_through = removed_watermark_;
        }
        return it->second;
    }

    /// Forgets a channel with neither subscribers nor history.
    void maybe_erase(channel_state& ch) {
        if (!ch.subs.empty() || !ch.history.empty()) return;
        removed_watermark_ = std::max(removed_watermark_, ch.evicted_through);
        channels_.erase(channels_.find(ch.name));
    }

    /// Registers a subscription and counts its user. On a throw, unregister() undoes it.
    void enroll(const state_ptr& s) {
        s->registry_index = registry_.size();
        registry_.push_back(s);
        s->registered = true;
        if (!s->user_id.empty()) {
            ++users_[s->user_id];
            s->counts_user = true;
        }
    }

    /// Adds a channel or pattern to a registered subscription.
    void add(subscription_state& s, std::string_view name) {
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
        channel_state& ch = get(name);
        ch.subs.push_back({&s, s.memberships.size()});
        s.memberships.push_back({&ch, ch.subs.size() - 1});
        if (ch.subs.size() == 1 && report_) presence_.push(std::string(name), 1);
    }

    /// Removes a channel or pattern from a subscription.
    void remove(subscription_state& s, std::string_view name) {
        if (name.back() == '*') {
            auto pit = std::find(s.patterns.begin(), s.patterns.end(), name);
            if (pit != s.patterns.end()) s.patterns.erase(pit);
            drop_pattern(s, name);
            return;
        }
        for (std::size_t i = 0; i < s.memberships.size(); ++i) {
            if (s.memberships[i].channel->name != name) continue;
            leave(s, i);
            // Keep the memberships dense: move the last one into slot i.
            if (i != s.memberships.size() - 1) {
                s.memberships[i] = s.memberships.back();
                s.memberships[i].channel->subs[s.memberships[i].index].slot = i;
            }
            s.memberships.pop_back();
            return;
        }
    }

    /// Removes a subscription from everything. Idempotent.
    void unregister(subscription_state& s) {
        if (!s.registered) return;
        s.registered = false;
        for (std::size_t i = 0; i < s.memberships.size(); ++i) leave(s, i);
        s.memberships.clear();
        for (const std::string& p : s.patterns) drop_pattern(s, p);
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

private:
    /// Removes s from the channel of membership i (the membership itself stays).
    void leave(subscription_state& s, std::size_t i) {
        channel_state& ch = *s.memberships[i].channel;
        const std::size_t at = s.memberships[i].index;
        if (at != ch.subs.size() - 1) {
            ch.subs[at] = ch.subs.back();
            ch.subs[at].sub->memberships[ch.subs[at].slot].index = at;
        }
        ch.subs.pop_back();
        if (ch.subs.empty()) {
            if (report_) presence_.push(std::string(ch.name), 0);
            maybe_erase(ch);
        }
    }

    void drop_pattern(subscription_state& s, std::string_view pattern) {
        auto it = std::find_if(patterns_.begin(), patterns_.end(),
                               [&](const pattern_state& p) { return p.pattern == pattern; });
        if (it == patterns_.end()) return;
        std::erase(it->subs, &s);
        if (it->subs.empty()) patterns_.erase(it);
    }

    presence_dispatcher& presence_;
    const bool report_;
    channel_map channels_;
    std::vector<pattern_state> patterns_;
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> users_;
    std::vector<state_ptr> registry_;
    std::uint64_t removed_watermark_ = 0;
};

}  // namespace crier::detail

#endif
