// SPDX-License-Identifier: MIT
// crier::client::backoff_delay: exponential reconnection backoff with full jitter. Pure.
#ifndef CRIER_CLIENT_BACKOFF_HPP
#define CRIER_CLIENT_BACKOFF_HPP

#include <crier/config.hpp>

#include <chrono>

namespace crier::client {

/// The delay before reconnection attempt number `failures + 1` after `failures` consecutive failed
/// or short-lived connections: full jitter (AWS's "exponential backoff and jitter") over the
/// ceiling `min(base * 2^failures, max(cap, base))`, i.e. `jitter * ceiling`.
///
/// `base` is the server's `retry:` value or the client's default; the server's value is honoured
/// even when it exceeds `cap`, only the growth stops at `cap`. `jitter` is a uniform random number
/// in [0, 1] (clamped); with jitter 1 the result is the ceiling itself. Spreading reconnections
/// over the whole interval keeps a restarted server from being hit by every client at once.
[[nodiscard]] CRIER_DECL std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base,
                                                                 std::chrono::milliseconds cap,
                                                                 unsigned failures,
                                                                 double jitter) noexcept;

}  // namespace crier::client

#if defined(CRIER_HEADER_ONLY)
#    include <crier/client/impl/backoff.ipp>
#endif

#endif
