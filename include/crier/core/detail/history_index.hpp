// SPDX-License-Identifier: MIT
// detail::history_index: the events kept for replay — each channel's ring (count, byte and age
// bounds), the hub-wide list of retained records (oldest first, for the total byte bound), and
// the watermarks that tell when a replay cannot be complete.
#ifndef CRIER_CORE_DETAIL_HISTORY_INDEX_HPP
#define CRIER_CORE_DETAIL_HISTORY_INDEX_HPP

#include <crier/core/detail/channel_index.hpp>
#include <crier/core/detail/record.hpp>
#include <crier/core/hub_options.hpp>
#include <crier/core/names.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace crier::detail {

/// An event stored for several channels is stored once: each ring holds a reference, and the
/// record counts its rings. Rings are in seq order, so the oldest retained record is at the
/// front of every ring that holds it.
///
/// @par Thread Safety
/// None of its own: the hub's sequencer lock guards it (and the channel_index it works on).
class history_index {
public:
    explicit history_index(const hub_options& o)
        : size_(o.history_size),
          bytes_bound_(o.history_bytes),
          max_age_(o.history_max_age),
          total_bound_(o.history_total_bytes) {}

    /// False when history_size is 0: nothing is kept.
    [[nodiscard]] bool enabled() const noexcept { return size_ != 0; }
    [[nodiscard]] std::size_t events() const noexcept { return events_; }
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

    /// Appends a stamped record to a channel's ring, then applies the ring's bounds.
    void retain(channel_state& ch, const record_ptr& r) {
        r->ring = r->rings == 0 ? &ch : nullptr;  // a second channel: evicted by name
        if (r->rings++ == 0) {
            r->older = newest_;
            (newest_ != nullptr ? newest_->newer : oldest_) = r.get();
            newest_ = r.get();
            ++events_;
            bytes_ += r->footprint;
        }
        ch.history.push_back(r);
        ch.history_bytes += r->bytes.size();
        while (ch.history.size() > size_ ||
               (ch.history_bytes > bytes_bound_ && !ch.history.empty())) {
            evict_front(ch);
        }
        expire(ch, r->accepted);
    }

    /// Evicts the globally oldest events until the hub-wide byte bound holds.
    void enforce_total(channel_index& channels) {
        while (bytes_ > total_bound_ && oldest_ != nullptr) {
            const event_record* victim = oldest_;
            record_ptr keep;  // the record dies with its last ring; its names are read below
            auto evict_from = [&](channel_state* ch) {
                if (ch == nullptr) return;
                if (ch->history.empty() || ch->history.front().get() != victim) return;
                if (!keep) keep = ch->history.front();
                evict_front(*ch);
                channels.maybe_erase(*ch);
            };
            if (victim->ring != nullptr) {
                // Stored for one channel (the per-user case): the globally oldest record is
                // the front of that channel's ring, found without hashing a name.
                evict_from(victim->ring);
            } else {
                std::string_view rest = victim->channels;
                while (!rest.empty()) {
                    const std::size_t lf = rest.find('\n');
                    evict_from(channels.find(rest.substr(0, lf)));
                    rest.remove_prefix(lf + 1);
                }
            }
            if (!keep) break;  // unreachable while the invariant holds; never spin
        }
    }

    /// Gathers retained records with seq > since on these channels/patterns, in seq order,
    /// once each. Returns false when history on one of them was evicted past `since` (or,
    /// with history off, when `since` is not `current`).
    bool collect(channel_index& channels, std::uint64_t since, std::uint64_t current,
                 std::span<const std::string_view> names, std::vector<const record_ptr*>& out) {
        const auto now = coarse_now();
        // Without history nothing can be replayed: only an up-to-date client is complete.
        bool complete = size_ != 0 || since >= current;
        std::size_t contributing = 0;
        std::vector<std::string> emptied;
        auto visit = [&](channel_state& ch) {
            expire(ch, now);
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
                if (since < channels.removed_watermark()) complete = false;
                for (auto& [name, ch] : channels.channels()) {
                    if (matches(n, name)) visit(ch);
                }
            } else if (channel_state* ch = channels.find(n)) {
                visit(*ch);
            } else if (since < channels.removed_watermark()) {
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
            if (channel_state* ch = channels.find(name)) channels.maybe_erase(*ch);
        }
        return complete;
    }

private:
    void evict_front(channel_state& ch) {
        event_record& r = *ch.history.front();
        ch.history_bytes -= r.bytes.size();
        ch.evicted_through = std::max(ch.evicted_through, r.seq);
        if (--r.rings == 0) {
            r.ring = nullptr;
            (r.older != nullptr ? r.older->newer : oldest_) = r.newer;
            (r.newer != nullptr ? r.newer->older : newest_) = r.older;
            r.older = r.newer = nullptr;
            --events_;
            bytes_ -= r.footprint;
        }
        ch.history.pop_front();
        if (ch.history.empty()) ch.history.shrink_if_empty();
    }

    void expire(channel_state& ch, steady_clock::time_point now) {
        if (max_age_ <= std::chrono::milliseconds::zero()) return;
        while (!ch.history.empty() && now - ch.history.front()->accepted >= max_age_) {
            evict_front(ch);
        }
    }

    const std::size_t size_;
    const std::size_t bytes_bound_;
    const std::chrono::milliseconds max_age_;
    const std::size_t total_bound_;
    event_record* oldest_ = nullptr;  ///< retained records, oldest first, linked by seq
    event_record* newest_ = nullptr;
    std::size_t events_ = 0;
    std::size_t bytes_ = 0;
};

}  // namespace crier::detail

#endif
