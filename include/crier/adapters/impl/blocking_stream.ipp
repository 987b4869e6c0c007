// SPDX-License-Identifier: MIT
// Definitions for crier/adapters/blocking_stream.hpp.
#ifndef CRIER_ADAPTERS_IMPL_BLOCKING_STREAM_IPP
#define CRIER_ADAPTERS_IMPL_BLOCKING_STREAM_IPP

#include <crier/adapters/blocking_stream.hpp>
#include <crier/adapters/detail/stream_state.hpp>
#include <crier/sse/encoder.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace crier::adapters {
namespace detail {

/// The state of one blocking stream. The driving thread owns everything but the atomics,
/// which the service sets from its own threads (shutdown, force close).
class blocking_session final : public tracked,
                               public std::enable_shared_from_this<blocking_session> {
public:
    explicit blocking_session(std::shared_ptr<stream_state> state) : state_(std::move(state)) {}

    ~blocking_session() override { finish({}); }

    void open(stream_request&& request) {
        stream_opening o = state_->open(std::move(request), nullptr);
        error_ = o.error;
        if (error_) {
            refusal_ = std::move(o.refusal);
            return;
        }
        sub_ = std::move(o.sub);
        head_ = std::move(o.head);
        pending_ = std::move(o.preamble);
        last_write_ = last_delivery_ = clock::now();
        state_->streams().add(shared_from_this());
    }

    blocking_stream::chunk next(std::chrono::milliseconds max_wait) {
        if (error_ || ended_) return {{}, true, error_ ? error_ : reason_};
        const auto until = clock::now() + max_wait;
        buffer_.swap(pending_);  // the preamble, on the first call
        pending_.clear();
        for (;;) {
            drain_into_buffer();
            const auto now = clock::now();
            if (const long long retry = shutdown_retry_ms_.load(); retry >= 0) {
                if (retry > 0) sse::append_retry(buffer_, std::chrono::milliseconds(retry));
                return end_with(errc::hub_stopped);
            }
            if (!buffer_.empty()) {
                last_write_ = now;
                return {buffer_, false, {}};
            }
            if (auto why = sub_.closed()) return end_with(why);  // kicked, overflow, stopped
            const auto idle_at = last_delivery_ + std::chrono::nanoseconds(state_->idle_ns());
            if (now >= idle_at) return end_with(errc::idle_timeout);
            const auto beat_at = last_write_ + std::chrono::nanoseconds(state_->heartbeat_ns());
            if (now >= beat_at) {
                buffer_.assign(":\n");
                last_write_ = now;
                return {buffer_, false, {}};
            }
            if (now >= until) return {};
            const auto wake = std::min({until, idle_at, beat_at});
            (void)sub_.wait_for(std::chrono::ceil<std::chrono::milliseconds>(wake - clock::now()));
        }
    }

    void finish(std::error_code why) noexcept {
        if (ended_) return;
        ended_ = true;
        reason_ = why;
        subscription gone;
        {
            std::lock_guard lock(sub_mutex_);  // the service may be closing it right now
            gone = std::move(sub_);
        }
        gone = subscription{};  // unsubscribes and frees the per-user slot now
        state_->streams().remove(this);
    }

    // Only the service's threads call these: they touch atomics and the subscription's
    // thread-safe close(), which wakes the driving thread.
    void on_tick(clock::time_point) override {}
    void drain_now() override {}
    void on_shutdown(std::chrono::milliseconds retry) override {
        long long none = -1;
        shutdown_retry_ms_.compare_exchange_strong(none, std::max<long long>(retry.count(), 1));
        std::lock_guard lock(sub_mutex_);
        sub_.close();
    }
    void on_force_close() override {
        shutdown_retry_ms_.store(0);
        std::lock_guard lock(sub_mutex_);
        sub_.close();
    }

    std::error_code error_;
    http::response refusal_;
    http::response head_;

private:
    void drain_into_buffer() {
        frames_.clear();
        sub_.drain(frames_);
        if (frames_.empty()) return;
        last_delivery_ = clock::now();
        for (const auto& f : frames_) buffer_.append(*f);
        state_->count_delivered(frames_.size());
        frames_.clear();
    }

    blocking_stream::chunk end_with(std::error_code why) {
        finish(why);
        return {buffer_, true, why};
    }

    std::shared_ptr<stream_state> state_;
    std::mutex sub_mutex_;  // guards replacing sub_ against the service's close()
    subscription sub_;
    std::string pending_;
    std::string buffer_;
    std::vector<sse::frame> frames_;
    clock::time_point last_write_{};
    clock::time_point last_delivery_{};
    bool ended_ = false;
    std::error_code reason_;
    std::atomic<long long> shutdown_retry_ms_{-1};  // -1: none; 0: force close; else retry
};

}  // namespace detail

CRIER_DECL blocking_stream::blocking_stream(stream_service& service, stream_request request)
    : session_(std::make_shared<detail::blocking_session>(service.state())) {
    session_->open(std::move(request));
}

CRIER_DECL blocking_stream::~blocking_stream() {
    if (session_) session_->finish({});
}

CRIER_DECL std::error_code blocking_stream::error() const noexcept {
    return session_ ? session_->error_ : std::error_code(errc::closed);
}

CRIER_DECL const http::response& blocking_stream::refusal() const noexcept {
    static const http::response none{};
    return session_ ? session_->refusal_ : none;
}

CRIER_DECL const http::response& blocking_stream::head() const noexcept {
    static const http::response none{};
    return session_ ? session_->head_ : none;
}

CRIER_DECL blocking_stream::chunk blocking_stream::next(std::chrono::milliseconds max_wait) {
    if (!session_) return {{}, true, errc::closed};
    return session_->next(max_wait);
}

CRIER_DECL void blocking_stream::abandon(std::error_code why) noexcept {
    if (session_) session_->finish(why);
}

}  // namespace crier::adapters

#endif
