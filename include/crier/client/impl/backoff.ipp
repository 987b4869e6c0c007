// SPDX-License-Identifier: MIT
// Definitions for crier/client/backoff.hpp.
#ifndef CRIER_CLIENT_IMPL_BACKOFF_IPP
#define CRIER_CLIENT_IMPL_BACKOFF_IPP

#include <crier/client/backoff.hpp>

#include <algorithm>
#include <cmath>

namespace crier::client {

CRIER_DECL std::chrono::milliseconds backoff_delay(std::chrono::milliseconds base,
                                                   std::chrono::milliseconds cap, unsigned failures,
                                                   double jitter) noexcept {
    using rep = std::chrono::milliseconds::rep;
    const rep b = std::max<rep>(base.count(), 0);
    const rep limit = std::max(cap.count(), b);
    rep ceiling = b;
    // Doubling saturates at the limit; no shift can overflow.
    for (unsigned i = 0; i < failures && ceiling < limit; ++i) {
        ceiling = ceiling > limit / 2 ? limit : std::max<rep>(ceiling * 2, 1);
    }
    ceiling = std::min(ceiling, limit);
    if (!(jitter >= 0.0)) jitter = 0.0;  // also catches NaN
    if (jitter > 1.0) jitter = 1.0;
    return std::chrono::milliseconds(
        static_cast<rep>(std::llround(static_cast<double>(ceiling) * jitter)));
}

}  // namespace crier::client

#endif
