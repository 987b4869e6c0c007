// SPDX-License-Identifier: MIT
// detail::rate_limiter: per-channel token buckets and the held batches of over-limit events.
#ifndef CRIER_CORE_DETAIL_RATE_LIMITER_HPP
#define CRIER_CORE_DETAIL_RATE_LIMITER_HPP

#include <crier/sse/event_id.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace crier::detail {

/// Per channel, a token bucket in its GCRA form (one time point per channel): bursts of up to
/// `limit` events, refilled at one per `window / limit`. Events held over the limit are grouped
/// by their exact channel set, so a batch never reaches a subscriber of a channel that an item
/// was not published to. Not thread-safe by itself: the hub holds `mutex`.
class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    struct item {
        sse::event_id id;
        std::string type;
        std::string data;
    };

    struct group {
        std::vector<std::string> channels;
        std::vector<item> items;
        std::size_t bytes = 0;
        clock::time_point due;
    };

    rate_limiter(std::size_t limit, std::chrono::milliseconds window)
        : limit_(limit),
          interval_(limit == 0 ? clock::duration::zero()
                               : std::chrono::duration_cast<clock::duration>(window) /
                                     static_cast<long>(limit)),
          burst_(limit == 0 ? clock::duration::zero() : interval_ * static_cast<long>(limit - 1)) {}

    std::mutex mutex;
    std::condition_variable wake;  // the flusher waits on it (with mutex)

    [[nodiscard]] bool enabled() const noexcept { return limit_ != 0; }

    /// The key of a sorted, duplicate-free channel set.
    static std::string key_of(std::span<const std::string_view> sorted_channels) {
        std::string key;
        for (std::string_view c : sorted_channels) key.append(c).push_back('\n');
        return key;
    }

    /// Takes one token from every channel if each has one and nothing is held for this channel
    /// set (so held events are not overtaken); otherwise takes none and returns false.
    bool admit(std::span<const std::string_view> channels, const std::string& key,
               clock::time_point now) {
        if (auto g = groups_.find(key); g != groups_.end() && !g->second.items.empty()) {
            return false;
        }
        for (std::string_view c : channels) {
            auto it = tat_.find(c);
            if (it != tat_.end() && it->second > now + burst_) return false;
        }
        for (std::string_view c : channels) {
            auto it = tat_.find(c);
            if (it == tat_.end()) it = tat_.emplace(std::string(c), now).first;
            it->second = std::max(it->second, now) + interval_;
        }
        maybe_sweep(now);
        return true;
    }

    /// Holds one event for its channel set. A group that reaches `max_events` is due at once,
    /// and every group is when the held bytes pass `max_bytes`: memory stays bounded.
    void hold(std::span<const std::string_view> channels, const std::string& key, item it,
              clock::time_point now, std::size_t max_events, std::size_t max_bytes) {
        auto [g, fresh] = groups_.try_emplace(key);
        if (fresh || g->second.items.empty()) {
            g->second.channels.assign(channels.begin(), channels.end());
            // Due when every channel has a token again.
            clock::time_point due = now;
            for (std::string_view c : channels) {
                if (auto t = tat_.find(c); t != tat_.end()) due = std::max(due, t->second - burst_);
            }
            g->second.due = due;
        }
        const std::size_t bytes = it.type.size() + it.data.size();
        g->second.items.push_back(std::move(it));
        g->second.bytes += bytes;
        held_bytes_ += bytes;
        ++held_events_;
        if (g->second.items.size() >= max_events) g->second.due = now;
        if (held_bytes_ > max_bytes) {
            for (auto& [k, other] : groups_) other.due = std::min(other.due, now);
        }
    }

    /// Removes and returns the groups due by `now` (all of them with `everything`).
    std::vector<group> take(clock::time_point now, bool everything) {
        std::vector<group> out;
        for (auto it = groups_.begin(); it != groups_.end();) {
            if (!it->second.items.empty() && (everything || it->second.due <= now)) {
                held_bytes_ -= it->second.bytes;
                held_events_ -= it->second.items.size();
                out.push_back(std::move(it->second));
                it = groups_.erase(it);
            } else {
                ++it;
            }
        }
        return out;
    }

    /// When the earliest group is due (time_point::max() when nothing is held).
    [[nodiscard]] clock::time_point next_due() const noexcept {
        clock::time_point due = clock::time_point::max();
        for (const auto& [key, g] : groups_) {
            if (!g.items.empty()) due = std::min(due, g.due);
        }
        return due;
    }

    [[nodiscard]] std::size_t held_events() const noexcept { return held_events_; }
    [[nodiscard]] std::size_t held_bytes() const noexcept { return held_bytes_; }
    [[nodiscard]] std::size_t groups() const noexcept { return groups_.size(); }

private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    /// Forgets buckets that are full again (their time point is past): bounded memory however
    /// many channels publishers use.
    void maybe_sweep(clock::time_point now) {
        if (tat_.size() < sweep_at_) return;
        std::erase_if(tat_, [&](const auto& kv) { return kv.second <= now; });
        sweep_at_ = std::max<std::size_t>(1024, tat_.size() * 2);
    }

    std::size_t limit_;
    clock::duration interval_;
    clock::duration burst_;
    std::unordered_map<std::string, clock::time_point, string_hash, std::equal_to<>> tat_;
    std::unordered_map<std::string, group> groups_;
    std::size_t sweep_at_ = 1024;
    std::size_t held_bytes_ = 0;
    std::size_t held_events_ = 0;
};

}  // namespace crier::detail

#endif
