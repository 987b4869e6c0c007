// SPDX-License-Identifier: MIT
// detail::rate_limiter: per-channel token buckets, the held batches of over-limit events, and
// the thread that flushes them when they are due. One policy, one lock.
#ifndef CRIER_CORE_DETAIL_RATE_LIMITER_HPP
#define CRIER_CORE_DETAIL_RATE_LIMITER_HPP

#include <crier/detail/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace crier::detail {

/// Per channel, a token bucket in its GCRA form (one time point per channel): bursts of up to
/// `limit` events, refilled at one per `window / limit`. Events over the limit are held in
/// groups of one exact channel set, so a batch never reaches a subscriber of a channel that an
/// item was not published to.
///
/// Order (every connection sees events that share a channel in seq order, held or not):
/// - an event is held while any of its channels has held events, so it cannot overtake them;
/// - a group takes no more items once an overlapping group took a newer one (it is sealed and
///   the next item starts a new group), so overlapping groups never interleave their seqs;
/// - groups flush in the order they were started (a counter of the limiter's own), and a due
///   group first flushes every overlapping group started before it; a group is never due before
///   the overlapping groups it follows.
///
/// A held event has no id yet: it takes its seq when its batch is flushed (the hub publishes
/// each chunk of a group as one `batch` whose items take the seqs just below its own). So an
/// event admitted meanwhile, on any channels, gets a lower seq than every held one, and every
/// connection sees ids in order across all its channels.
///
/// Memory: held bytes (the items' encoded JSON) and the number of groups are bounded; past
/// either bound everything is due at once.
///
/// @par Thread Safety
/// Everything but enabled(), stop() and wake() requires the lock from lock(): the hub also
/// sequences held and admitted events under it, so a flush never races a publish.
class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    /// Held events of one channel set that no overlapping event separates, in publish order.
    struct group {
        std::vector<std::string> channels;  ///< sorted, duplicate-free
        /// Each one `{"type":..,"data":..}`: its id is written in when its batch is delivered.
        std::vector<std::string> items;
        std::size_t bytes = 0;      ///< the items' sizes
        std::uint64_t started = 0;  ///< when it was started, in the limiter's hold order
        clock::time_point due;
        bool sealed = false;  ///< an overlapping group took a newer item: none go here now
    };

    /// Publishes `groups` (in order) with the lock held; may unlock it to run callbacks.
    using flush_fn = std::function<void(std::vector<group>&&, std::unique_lock<std::mutex>&)>;

    /// Most groups held at once, whatever the options: the order rules above scan them.
    static constexpr std::size_t max_groups = 256;

    rate_limiter(std::size_t limit, std::chrono::milliseconds window, std::size_t max_batch_events,
                 std::size_t max_held_bytes, std::size_t group_bound)
        : limit_(limit),
          interval_(limit == 0 ? clock::duration::zero()
                               : std::chrono::duration_cast<clock::duration>(window) /
                                     static_cast<long>(limit)),
          burst_(limit == 0 ? clock::duration::zero() : interval_ * static_cast<long>(limit - 1)),
          max_batch_events_(std::max<std::size_t>(max_batch_events, 1)),
          max_held_bytes_(max_held_bytes),
          max_groups_(std::clamp<std::size_t>(group_bound, 1, max_groups)) {}

    rate_limiter(const rate_limiter&) = delete;
    rate_limiter& operator=(const rate_limiter&) = delete;
    ~rate_limiter() { stop(); }

    [[nodiscard]] bool enabled() const noexcept { return limit_ != 0; }

    /// The limiter's lock, which the members below require.
    [[nodiscard]] std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }

    /// Takes one token from every channel if each has one and none has held events (so held
    /// events are not overtaken); otherwise takes none and returns false: hold the event.
    bool admit(std::span<const std::string_view> sorted, clock::time_point now) {
        if (held_events_ != 0) {
            for (std::string_view c : sorted) {
                if (held_channels_.find(c) != held_channels_.end()) return false;
            }
        }
        for (std::string_view c : sorted) {
            auto it = tat_.find(c);
            if (it != tat_.end() && it->second > now + burst_) return false;
        }
        for (std::string_view c : sorted) {
            auto it = tat_.find(c);
            if (it == tat_.end()) it = tat_.emplace(std::string(c), now).first;
            it->second = std::max(it->second, now) + interval_;
        }
        maybe_sweep(now);
        return true;
    }

    /// Holds one event (it has no id yet) for its channel set. May throw bad_alloc.
    void hold(std::span<const std::string_view> sorted, std::string_view type,
              std::string_view data, clock::time_point now) {
        std::string item;
        item.reserve(type.size() + data.size() + 32);
        item.append(R"({"type":)");
        append_json_string(item, type);
        item.append(R"(,"data":)");
        append_json_string(item, data);
        item.push_back('}');

        group* g = nullptr;
        for (auto it = groups_.rbegin(); it != groups_.rend(); ++it) {
            if (!it->sealed && same_set(it->channels, sorted)) {
                g = &*it;
                break;
            }
        }
        // Invariant: an open group's items are the newest held on each of its channels.
        for (group& other : groups_) {
            if (&other != g && !other.sealed && overlaps(other.channels, sorted)) {
                other.sealed = true;
            }
        }
        if (g == nullptr) {
            group fresh;
            fresh.channels.assign(sorted.begin(), sorted.end());
            fresh.started = next_started_++;
            // Due when every channel has a token again, and not before the groups it follows.
            fresh.due = now;
            for (std::string_view c : sorted) {
                if (auto t = tat_.find(c); t != tat_.end()) {
                    fresh.due = std::max(fresh.due, t->second - burst_);
                }
            }
            for (const group& other : groups_) {
                if (overlaps(other.channels, sorted)) fresh.due = std::max(fresh.due, other.due);
            }
            for (std::string_view c : sorted) ++held_channels_[std::string(c)];
            g = &groups_.emplace_back(std::move(fresh));
        }
        held_bytes_ += item.size();
        g->bytes += item.size();
        g->items.push_back(std::move(item));
        ++held_events_;
        if (g->items.size() >= max_batch_events_) {
            g->due = std::min(g->due, now);
            g->sealed = true;
        }
    }

    /// True when held bytes or groups passed their bound: flush everything now.
    [[nodiscard]] bool over_bounds() const noexcept {
        return held_bytes_ > max_held_bytes_ || groups_.size() > max_groups_;
    }

    /// Removes and returns, in the order they were started, the groups due by `now` with every
    /// overlapping group started before them (all of them with `everything`).
    std::vector<group> take(clock::time_point now, bool everything) {
        std::vector<group> out;
        if (groups_.empty()) return out;
        std::vector<char> pick(groups_.size(), everything ? 1 : 0);
        if (!everything) {
            // From the newest down: what a picked group overlaps below it is picked too.
            for (std::size_t i = groups_.size(); i-- > 0;) {
                if (groups_[i].due <= now) pick[i] = 1;
                if (pick[i] == 0) continue;
                for (std::size_t j = 0; j < i; ++j) {
                    if (pick[j] == 0 && overlaps(groups_[j].channels, groups_[i].channels)) {
                        pick[j] = 1;
                    }
                }
            }
        }
        std::vector<group> kept;
        for (std::size_t i = 0; i < groups_.size(); ++i) {
            group& g = groups_[i];
            if (pick[i] == 0) {
                kept.push_back(std::move(g));
                continue;
            }
            held_bytes_ -= g.bytes;
            held_events_ -= g.items.size();
            for (const std::string& c : g.channels) {
                auto it = held_channels_.find(c);
                if (--it->second == 0) held_channels_.erase(it);
            }
            out.push_back(std::move(g));
        }
        groups_.swap(kept);
        return out;
    }

    /// When the earliest group is due (time_point::max() when nothing is held).
    [[nodiscard]] clock::time_point next_due() const noexcept {
        clock::time_point due = clock::time_point::max();
        for (const group& g : groups_) due = std::min(due, g.due);
        return due;
    }

    [[nodiscard]] std::size_t held_events() const noexcept { return held_events_; }
    [[nodiscard]] std::size_t held_bytes() const noexcept { return held_bytes_; }
    [[nodiscard]] std::size_t groups() const noexcept { return groups_.size(); }

    /// Starts the flusher thread unless it runs (lock held). While it runs, the thread holds
    /// `owner`, which owns this limiter: whoever stops it from a flush callback and drops the
    /// last other reference does not free what the thread is using.
    void start_flusher(const std::weak_ptr<void>& owner, flush_fn flush) {
        if (flusher_started_ || flusher_stop_) return;
        flush_ = std::move(flush);
        flusher_ = std::thread([this, owner] {
            if (auto keep = owner.lock()) flusher_loop();
            // `keep` is gone: nothing of this limiter may be touched from here on.
        });
        flusher_started_ = true;
    }

    /// Tells the flusher that something new is held.
    void wake() noexcept { wake_.notify_one(); }

    /// Stops the flusher and waits for it, unless called from a flush callback on the flusher
    /// itself: then it is detached and ends when the callback returns. Idempotent.
    void stop() noexcept {
        {
            std::lock_guard guard(mutex_);
            flusher_stop_ = true;
        }
        wake_.notify_all();
        if (!flusher_.joinable()) return;
        if (flusher_.get_id() == std::this_thread::get_id()) {
            flusher_.detach();  // it holds its owner: this limiter lives until it returns
        } else {
            flusher_.join();
        }
    }

private:
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    static bool same_set(const std::vector<std::string>& a, std::span<const std::string_view> b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
    }

    /// Whether two sorted channel sets share a channel.
    template <class A, class B>
    static bool overlaps(const A& a, const B& b) {
        auto i = a.begin();
        auto j = b.begin();
        while (i != a.end() && j != b.end()) {
            const int c = std::string_view(*i).compare(std::string_view(*j));
            if (c == 0) return true;
            if (c < 0) {
                ++i;
            } else {
                ++j;
            }
        }
        return false;
    }

    void flusher_loop() noexcept {
        std::unique_lock lock(mutex_);
        while (!flusher_stop_) {
            const auto due = next_due();
            if (due == clock::time_point::max()) {
                wake_.wait(lock);
            } else {
                wake_.wait_until(lock, due);
            }
            if (flusher_stop_) break;
            auto due_groups = take(clock::now(), false);
            if (!due_groups.empty()) flush_(std::move(due_groups), lock);
        }
    }

    /// Forgets buckets that are full again (their time point is past): bounded memory however
    /// many channels publishers use.
    void maybe_sweep(clock::time_point now) {
        if (tat_.size() < sweep_at_) return;
        std::erase_if(tat_, [&](const auto& kv) { return kv.second <= now; });
        sweep_at_ = std::max<std::size_t>(1024, tat_.size() * 2);
    }

    const std::size_t limit_;
    const clock::duration interval_;
    const clock::duration burst_;
    const std::size_t max_batch_events_;
    const std::size_t max_held_bytes_;
    const std::size_t max_groups_;

    std::mutex mutex_;
    std::condition_variable wake_;  // the flusher waits on it, with mutex_
    // Guarded by mutex_:
    std::unordered_map<std::string, clock::time_point, string_hash, std::equal_to<>> tat_;
    std::vector<group> groups_;  ///< in the order they were started
    std::uint64_t next_started_ = 0;
    /// Channels with held events: how many groups hold each.
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> held_channels_;
    std::size_t sweep_at_ = 1024;
    std::size_t held_bytes_ = 0;
    std::size_t held_events_ = 0;
    flush_fn flush_;
    bool flusher_started_ = false;
    bool flusher_stop_ = false;
    std::thread flusher_;  // started under mutex_; joined or detached by stop()
};

}  // namespace crier::detail

#endif
