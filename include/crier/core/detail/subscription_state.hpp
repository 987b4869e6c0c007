// SPDX-License-Identifier: MIT
// detail::subscription_state: one subscription's queue, its overflow policy, its filters and
// its ready signal, shared by the handle and the hub's registry.
#ifndef CRIER_CORE_DETAIL_SUBSCRIPTION_STATE_HPP
#define CRIER_CORE_DETAIL_SUBSCRIPTION_STATE_HPP

#include <crier/core/detail/backlog.hpp>
#include <crier/core/hub_options.hpp>
#include <crier/core/names.hpp>
#include <crier/error.hpp>
#include <crier/sse/event_id.hpp>
#include <crier/sse/frame.hpp>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace crier::detail {

class hub_core;
struct channel_state;

/// A subscription's state, shared by its handle and the hub's registry.
struct subscription_state : std::enable_shared_from_this<subscription_state> {
    // What every delivery touches comes first, in as few cache lines as possible: fan-out to
    // thousands of subscriptions is bound by cache misses.

    // Guarded by the hub's lock:
    std::uint64_t last_seq = 0;  ///< at-most-once: the newest seq offered to this subscription
    // Immutable after subscribe():
    std::size_t max_frames = 0;
    std::size_t max_bytes = 0;
    bool filtered = false;  ///< types is not empty
    // Guarded by mutex:
    bool signalled = false;  ///< on_ready is due or was called since the queue was last emptied
    std::size_t queued_bytes = 0;
    std::vector<sse::frame> queue;
    std::error_code closed;
    mutable std::mutex mutex;
    std::size_t counted = 0;  ///< queue.size() as the hub's backlog gauge last counted it

    // Immutable after subscribe():
    std::weak_ptr<hub_core> hub;
    std::shared_ptr<backlog_gauge> backlog;  ///< shared: this state may outlive its hub
    sse::event_id start{};  ///< the hub's position at registration (see subscription::start_id)
    std::string user_id;
    std::vector<std::string> types;
    std::function<void()> on_ready;

    // Guarded by the hub's lock:
    struct membership {
        channel_state* channel;
        std::size_t index;  ///< position in channel->subs
    };
    std::vector<membership> memberships;
    std::vector<std::string> patterns;
    bool registered = false;
    bool counts_user = false;
    std::size_t registry_index = 0;

    // Guarded by mutex:
    std::condition_variable cv;
    /// Threads in subscription::wait_for(). Changed under `mutex`; read by signal() without it.
    std::atomic<int> waiters{0};
    std::vector<std::string> names;  ///< channels() in the order they were added

    // Guarded by callback_mutex (recursive: on_ready may destroy the handle):
    std::recursive_mutex callback_mutex;
    bool detached = false;

    subscription_state() = default;
    subscription_state(const subscription_state&) = delete;
    subscription_state& operator=(const subscription_state&) = delete;
    /// A subscription freed with frames undrained no longer holds the backlog up.
    ~subscription_state() {
        if (backlog) backlog->release(counted);
    }

    /// Brings this queue's share of the backlog gauge up to date after the queue changed:
    /// returns the frames the caller must add (a fan-out adds them once, for every
    /// subscription), and releases dropped ones at once. Caller holds `mutex`.
    std::size_t recount() noexcept {
        const std::size_t now = queue.size();
        std::size_t added = 0;
        if (now >= counted) {
            added = now - counted;
        } else if (backlog) {
            backlog->release(counted - now);
        }
        counted = now;
        return added;
    }

    /// Empties the queue's share of the gauge (it was drained). Caller holds `mutex`.
    void uncount() noexcept {
        if (backlog) backlog->release(counted);
        counted = 0;
    }

    /// What offer() did with a frame.
    enum class offer_outcome {
        queued,    ///< queued
        resynced,  ///< the queue was full: dropped, and a `resync` queued in its place
        closed,    ///< the queue was full: dropped, and the subscription closed
    };

    /// Queues `f` (`size` bytes), or applies `policy` when the queue is full: everything
    /// queued is dropped, then `resync()` is queued (drop_oldest; if it throws, disconnect
    /// instead) or the subscription closes with errc::subscriber_overflow (disconnect).
    /// `wake` becomes true when on_ready is due. Caller holds `mutex`; `closed` is not set.
    template <class Resync>
    offer_outcome offer(sse::frame f, std::size_t size, overflow_policy policy, Resync&& resync,
                        bool& wake) {
        if (queue.size() < max_frames && queued_bytes + size <= max_bytes) {
            queue.push_back(std::move(f));
            queued_bytes += size;
            wake = mark_signalled();
            return offer_outcome::queued;
        }
        queue.clear();
        queued_bytes = 0;
        if (policy == overflow_policy::drop_oldest) {
            try {
                push(resync());
                wake = mark_signalled();
                return offer_outcome::resynced;
            } catch (...) {  // NOLINT(bugprone-empty-catch): no memory: disconnect instead
            }
        }
        closed = errc::subscriber_overflow;
        wake = true;
        return offer_outcome::closed;
    }

    /// Queues `f` whatever the bounds (replay and resync frames). Caller holds `mutex`.
    void push(sse::frame f) {
        queued_bytes += f->size();
        queue.push_back(std::move(f));
    }

    /// Marks on_ready as due; true when it was not already (the caller then signals).
    /// Caller holds `mutex`.
    bool mark_signalled() noexcept {
        if (signalled) return false;
        signalled = true;
        return true;
    }

    [[nodiscard]] bool accepts(std::string_view type) const noexcept {
        if (!filtered || type == "resync" || type == "batch") return true;
        for (const std::string& filter : types) {
            if (filter == "*" || matches(filter, type)) return true;
        }
        return false;
    }

    /// Wakes waiters and calls on_ready, unless the handle is gone. No hub lock may be held.
    void signal() noexcept {
        // Most subscriptions never have a waiter (a stream session drains on on_ready): skip the
        // notify then. No wake-up is lost: a waiter counts itself under `mutex` before it waits,
        // and whoever calls signal() changed the state under `mutex` first, so either the waiter
        // saw that change and did not wait, or this load sees the waiter.
        if (waiters.load(std::memory_order_relaxed) != 0) cv.notify_all();
        std::lock_guard lock(callback_mutex);
        if (detached || !on_ready) return;
        try {
            on_ready();
        } catch (...) {  // NOLINT(bugprone-empty-catch): a throwing callback must not kill publish
        }
    }
};

using state_ptr = std::shared_ptr<subscription_state>;
using notify_list = std::vector<state_ptr>;

/// The notify_list of one critical section: this thread's reused list, whose capacity is kept so
/// that publishing in the steady state allocates none, or a list of its own when this thread's
/// is already in use further up the stack (an on_ready callback that publishes).
class notify_buffer {
public:
    notify_buffer() noexcept {
        slot& s = this_thread();
        if (!s.busy) {
            s.busy = true;
            list_ = &s.list;
        }
    }
    ~notify_buffer() {
        if (list_ == &own_) return;
        list_->clear();  // fire() emptied it, unless an error path left it early
        // A fan-out to very many subscriptions costs far more than one allocation: past this,
        // the thread does not keep the memory.
        if (list_->capacity() > max_kept) notify_list().swap(*list_);
        this_thread().busy = false;
    }
    notify_buffer(const notify_buffer&) = delete;
    notify_buffer& operator=(const notify_buffer&) = delete;

    [[nodiscard]] notify_list& list() noexcept { return *list_; }

private:
    static constexpr std::size_t max_kept = 65536;

    struct slot {
        notify_list list;
        bool busy = false;
    };
    static slot& this_thread() noexcept {
        thread_local slot s;
        return s;
    }

    notify_list own_;
    notify_list* list_ = &own_;
};

}  // namespace crier::detail

#endif
