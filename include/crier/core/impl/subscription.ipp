// SPDX-License-Identifier: MIT
// Definitions for crier/core/subscription.hpp.
#ifndef CRIER_CORE_IMPL_SUBSCRIPTION_IPP
#define CRIER_CORE_IMPL_SUBSCRIPTION_IPP

#include <crier/core/detail/hub_core.hpp>
#include <crier/core/subscription.hpp>

#include <iterator>

namespace crier {
namespace detail {

/// Unregisters `s` from its hub (if the hub still exists). Idempotent.
inline void unsubscribe(subscription_state& s) noexcept {
    if (auto core = s.hub.lock()) core->unsubscribe(s);
}

}  // namespace detail

CRIER_DECL subscription& subscription::operator=(subscription&& other) noexcept {
    if (this != &other) {
        subscription old(std::move(*this));
        state_ = std::move(other.state_);
    }
    return *this;
}

CRIER_DECL subscription::~subscription() {
    if (!state_) return;
    detail::unsubscribe(*state_);
    // Waits for an on_ready call in flight on another thread: none starts after this.
    std::lock_guard lock(state_->callback_mutex);
    state_->detached = true;
}

CRIER_DECL std::size_t subscription::drain(std::vector<sse::frame>& out) {
    if (!state_) return 0;
    std::lock_guard lock(state_->mutex);
    const std::size_t n = state_->queue.size();
    if (out.empty()) {
        out.swap(state_->queue);
    } else {
        out.insert(out.end(), std::make_move_iterator(state_->queue.begin()),
                   std::make_move_iterator(state_->queue.end()));
    }
    state_->queue.clear();
    state_->queued_bytes = 0;
    state_->signalled = false;
    state_->uncount();
    return n;
}

CRIER_DECL bool subscription::wait_for(std::chrono::milliseconds timeout) {
    if (!state_) return true;
    std::unique_lock lock(state_->mutex);
    ++state_->waiters;  // before the predicate is checked: see subscription_state::signal()
    const bool ready = state_->cv.wait_for(
        lock, timeout, [&] { return !state_->queue.empty() || static_cast<bool>(state_->closed); });
    --state_->waiters;
    return ready;
}

CRIER_DECL std::error_code subscription::closed() const {
    if (!state_) return errc::closed;
    std::lock_guard lock(state_->mutex);
    return state_->closed;
}

CRIER_DECL std::vector<std::string> subscription::channels() const {
    if (!state_) return {};
    std::lock_guard lock(state_->mutex);
    return state_->names;
}

CRIER_DECL std::error_code subscription::add_channel(std::string_view channel) {
    if (!state_) return errc::closed;
    auto core = state_->hub.lock();
    if (!core) return errc::closed;
    return core->add_channel(*state_, channel);
}

CRIER_DECL std::error_code subscription::remove_channel(std::string_view channel) {
    if (!state_) return errc::closed;
    auto core = state_->hub.lock();
    if (!core) return errc::closed;
    return core->remove_channel(*state_, channel);
}

CRIER_DECL std::size_t subscription::queued_frames() const {
    if (!state_) return 0;
    std::lock_guard lock(state_->mutex);
    return state_->queue.size();
}

CRIER_DECL std::size_t subscription::queued_bytes() const {
    if (!state_) return 0;
    std::lock_guard lock(state_->mutex);
    return state_->queued_bytes;
}

CRIER_DECL sse::event_id subscription::start_id() const {
    return state_ ? state_->start : sse::event_id{};
}

CRIER_DECL std::string subscription::user_id() const {
    return state_ ? state_->user_id : std::string();
}

CRIER_DECL void subscription::close() noexcept {
    if (!state_) return;
    detail::unsubscribe(*state_);
    {
        std::lock_guard lock(state_->mutex);
        if (!state_->closed) state_->closed = errc::closed;
    }
    state_->cv.notify_all();  // a thread blocked in wait_for() must see the close now
}

}  // namespace crier

#endif
