// SPDX-License-Identifier: MIT
// The set of live connections that the server's shared timers sweep. Private.
#ifndef CRIER_ADAPTERS_DETAIL_REGISTRY_HPP
#define CRIER_ADAPTERS_DETAIL_REGISTRY_HPP

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace crier::adapters::detail {

using clock = std::chrono::steady_clock;

/// A connection as the shared timers see it. Every hook runs on the sweeping thread or the
/// stopping thread and must only read atomics and post work to the connection's own executor.
class tracked {
public:
    tracked() = default;
    tracked(const tracked&) = delete;
    tracked& operator=(const tracked&) = delete;
    virtual ~tracked() = default;

    /// Periodic check: request deadlines, heartbeats, idle streams.
    virtual void on_tick(clock::time_point now) = 0;
    /// Graceful shutdown: streams send `retry:` then close; idle requests close.
    virtual void on_shutdown(std::chrono::milliseconds retry) = 0;
    /// The shutdown deadline passed: close now.
    virtual void on_force_close() = 0;
    /// Its subscription has frames: write them (inline when already on its executor).
    virtual void drain_now() = 0;

private:
    friend class registry;
    std::size_t slot_ = 0;  // Invariant: registry::items_[slot_] refers to this, under the mutex
};

/// Live connections, O(1) add and remove, swept without allocating per connection.
class registry {
public:
    void add(const std::shared_ptr<tracked>& t) {
        std::lock_guard lock(mutex_);
        t->slot_ = items_.size();
        items_.push_back(t);
        raw_.push_back(t.get());
    }

    void remove(tracked* t) {
        std::lock_guard lock(mutex_);
        const std::size_t slot = t->slot_;
        if (slot >= raw_.size() || raw_[slot] != t) return;  // never added, or removed already
        items_[slot] = std::move(items_.back());
        raw_[slot] = raw_.back();
        raw_[slot]->slot_ = slot;
        items_.pop_back();
        raw_.pop_back();
    }

    [[nodiscard]] std::size_t size() const {
        std::lock_guard lock(mutex_);
        return items_.size();
    }

    /// Calls f(tracked&) for each live connection, outside the lock: a connection whose last
    /// reference is dropped here may remove itself from the registry as it is destroyed.
    template <class F>
    void for_each(F&& f) const {
        std::vector<std::shared_ptr<tracked>> live;
        {
            std::lock_guard lock(mutex_);
            live.reserve(items_.size());
            for (const auto& w : items_) {
                if (auto t = w.lock()) live.push_back(std::move(t));
            }
        }
        for (const auto& t : live) f(*t);
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::weak_ptr<tracked>> items_;
    std::vector<tracked*> raw_;  // identity of each slot, valid while the object lives
};

}  // namespace crier::adapters::detail

#endif
