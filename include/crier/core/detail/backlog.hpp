// SPDX-License-Identifier: MIT
// detail::backlog_gauge: the hub's delivery backlog (frames queued on subscriptions and not yet
// drained by a transport) and the wait of a publish held by hub_options::backlog_limit.
#ifndef CRIER_CORE_DETAIL_BACKLOG_HPP
#define CRIER_CORE_DETAIL_BACKLOG_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace crier::detail {

/// Shared by the hub and its subscriptions (a subscription may outlive its hub), so a drain
/// lowers the gauge without touching the hub's lock. The bound is the *average* backlog per
/// subscription: the work queued for the transports divided by the streams it is spread over,
/// i.e. how many events each stream's next write carries. That is what sets publish→receive
/// latency under load (one pass of the transports over every ready stream delivers them all);
/// one slow reader adds only its own share, and its queue bound (hub_options::queue_frames)
/// handles it.
///
/// @par Thread Safety
/// Every member may be called from any thread.
class backlog_gauge {
public:
    /// `limit`: frames per subscription on average (0: no bound).
    explicit backlog_gauge(std::size_t limit) noexcept : limit_(limit) {}

    /// Frames queued and not drained, over all live subscriptions.
    [[nodiscard]] std::size_t frames() const noexcept {
        const std::int64_t n = frames_.load(std::memory_order_relaxed);
        return n < 0 ? 0 : static_cast<std::size_t>(n);
    }

    /// True when a publish must wait or be refused: the backlog is over the bound.
    [[nodiscard]] bool over() const noexcept {
        if (limit_ == 0) return false;
        const std::size_t subs = subscriptions_.load(std::memory_order_seq_cst);
        return frames_.load(std::memory_order_seq_cst) >
               static_cast<std::int64_t>(limit_ * (subs == 0 ? 1 : subs));
    }

    /// Counts `n` more frames (a publish's fan-out or a replay).
    void add(std::size_t n) noexcept {
        if (n != 0) frames_.fetch_add(static_cast<std::int64_t>(n), std::memory_order_relaxed);
    }

    /// Forgets `n` frames (drained, dropped by an overflow, or freed with their subscription),
    /// and wakes publishers waiting for the backlog to fall.
    void release(std::size_t n) noexcept {
        if (n == 0) return;
        frames_.fetch_sub(static_cast<std::int64_t>(n), std::memory_order_seq_cst);
        wake_if_under();
    }

    /// The live subscriptions the bound is spread over.
    void set_subscriptions(std::size_t n) noexcept {
        subscriptions_.store(n, std::memory_order_seq_cst);
        wake_if_under();
    }

    /// Waits until the backlog is under the bound, stop() is called, or `deadline` passes;
    /// true when it is under the bound.
    bool wait_until(std::chrono::steady_clock::time_point deadline) {
        // Invariant: a waiter is counted before it checks, and release() checks the waiters
        // after it lowers the gauge (both seq_cst), so a wake-up between them is never lost.
        waiters_.fetch_add(1, std::memory_order_seq_cst);
        bool under = false;
        {
            std::unique_lock lock(mutex_);
            under = cv_.wait_until(lock, deadline, [&] { return stopped_ || !over(); });
            under = under && !over();
        }
        waiters_.fetch_sub(1, std::memory_order_seq_cst);
        return under;
    }

    /// Wakes every waiter for good (the hub stops).
    void stop() noexcept {
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
        cv_.notify_all();
    }

private:
    void wake_if_under() noexcept {
        if (waiters_.load(std::memory_order_seq_cst) == 0 || over()) return;
        { std::lock_guard lock(mutex_); }  // a waiter between its check and its wait sees us
        cv_.notify_all();
    }

    const std::size_t limit_;
    // Signed: a fan-out adds its frames once, after its loop, so a transport that drains one of
    // them first takes the gauge briefly below the truth, even below zero; that must read as
    // "under", never wrap to "over".
    std::atomic<std::int64_t> frames_{0};
    std::atomic<std::size_t> subscriptions_{0};
    std::atomic<int> waiters_{0};
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopped_ = false;  // guarded by mutex_
};

}  // namespace crier::detail

#endif
