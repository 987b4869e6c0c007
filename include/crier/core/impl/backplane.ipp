// SPDX-License-Identifier: MIT
// Definitions for crier/core/backplane.hpp.
#ifndef CRIER_CORE_IMPL_BACKPLANE_IPP
#define CRIER_CORE_IMPL_BACKPLANE_IPP

#include <crier/core/backplane.hpp>

#include <random>

namespace crier {
namespace detail {

/// 48 random bits, never zero: 12 hex digits keep ids short and still tell processes apart.
inline std::uint64_t random_epoch() {
    std::random_device rd;
    const std::uint64_t bits = (std::uint64_t{rd()} << 32) ^ rd();
    const std::uint64_t epoch = bits & 0xffff'ffff'ffffu;
    return epoch != 0 ? epoch : 1;
}

}  // namespace detail

CRIER_DECL in_process_backplane::in_process_backplane()
    : in_process_backplane(detail::random_epoch()) {}

CRIER_DECL in_process_backplane::in_process_backplane(std::uint64_t epoch, std::uint64_t last_seq)
    : epoch_(epoch), seq_(last_seq) {}

CRIER_DECL std::uint64_t in_process_backplane::epoch() const noexcept {
    return epoch_;
}

CRIER_DECL sse::event_id in_process_backplane::last_id() const noexcept {
    std::lock_guard lock(mutex_);
    return {epoch_, seq_};
}

CRIER_DECL void in_process_backplane::attach(backplane_sink* sink) noexcept {
    std::lock_guard lock(mutex_);
    sink_ = sink;
}

CRIER_DECL std::error_code in_process_backplane::publish(backplane_event& event) noexcept {
    // Invariant: ids are handed out and delivered under one lock, so the sink sees seq order.
    std::lock_guard lock(mutex_);
    seq_ += event.items;  // a batch's held events take the seqs just below its own
    event.id = {epoch_, ++seq_};
    if (sink_ != nullptr) sink_->deliver(event);
    return {};
}

}  // namespace crier

#endif
