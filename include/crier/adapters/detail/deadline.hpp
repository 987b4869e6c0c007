// SPDX-License-Identifier: MIT
// The one deadline a connection or stream has at a time, armed on its executor and swept by the
// shared timer, and the kernel's side of the write deadline (TCP_USER_TIMEOUT). Private.
#ifndef CRIER_ADAPTERS_DETAIL_DEADLINE_HPP
#define CRIER_ADAPTERS_DETAIL_DEADLINE_HPP

#include <crier/adapters/detail/registry.hpp>

#if defined(__linux__)
#    include <netinet/in.h>
#    include <netinet/tcp.h>
#    include <sys/socket.h>
#endif

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace crier::adapters::detail {

/// The current phase's deadline. arm(), clear() and expired() run on the owner's executor;
/// due() on the shared timer's thread, which then posts a check (expired()) to the owner.
class phase_deadline {
public:
    void arm(std::chrono::milliseconds after) noexcept {
        armed_ns_ = now_ns() + std::chrono::nanoseconds(after).count();
        mirror_ns_.store(armed_ns_, std::memory_order_relaxed);
    }

    void clear() noexcept {
        armed_ns_ = 0;
        mirror_ns_.store(0, std::memory_order_relaxed);
    }

    /// The shared timer's test: true once per passed deadline. A compare-exchange, not a store:
    /// the owner may arm a new deadline between the load and here (a write made progress), and
    /// that one must survive.
    [[nodiscard]] bool due(clock::time_point now) noexcept {
        auto deadline = mirror_ns_.load(std::memory_order_relaxed);
        return deadline != 0 && now.time_since_epoch().count() >= deadline &&
               mirror_ns_.compare_exchange_strong(deadline, 0, std::memory_order_relaxed);
    }

    /// The owner's check after due(): true (and cleared) when the deadline it holds has really
    /// passed; false when it was re-armed or cleared meanwhile (the phase moved on).
    [[nodiscard]] bool expired() noexcept {
        if (armed_ns_ == 0 || now_ns() < armed_ns_) {
            mirror_ns_.store(armed_ns_, std::memory_order_relaxed);
            return false;
        }
        clear();
        return true;
    }

private:
    static std::int64_t now_ns() noexcept { return clock::now().time_since_epoch().count(); }

    std::int64_t armed_ns_ = 0;               // 0: none; the owner's executor only
    std::atomic<std::int64_t> mirror_ns_{0};  // what the shared timer reads
};

/// The kernel's side of the write deadline: with TCP_USER_TIMEOUT, data the peer does not
/// acknowledge for that long (a peer gone without FIN or RST) aborts the connection even while
/// nothing more is written, e.g. a heartbeat stuck in the socket. Not TCP, or not Linux: does
/// nothing, and the write deadline still holds.
template <class Socket>
void set_user_timeout(Socket& socket, std::chrono::milliseconds timeout) {
#if defined(TCP_USER_TIMEOUT)
    const auto ms = timeout.count();
    if (ms <= 0 || !socket.is_open()) return;
    const unsigned int value = ms > std::numeric_limits<int>::max()
                                   ? std::numeric_limits<int>::max()
                                   : static_cast<unsigned int>(ms);
    (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &value, sizeof value);
#else
    (void)socket;
    (void)timeout;
#endif
}

}  // namespace crier::adapters::detail

#endif
