// SPDX-License-Identifier: MIT
// The one stream session: everything an SSE response does once its request was accepted —
// head, `retry:`, `connected`, replay or `resync`, live frames in gathered writes, heartbeats,
// idle close, the write deadline, shutdown, release of the subscription the moment the peer
// goes — over any AsyncWriteStream of standalone Asio or Boost.Asio (through `Net`). Every
// transport uses it: the embedded server, the Beast adapter, a host's own Asio code. Private.
#ifndef CRIER_ADAPTERS_DETAIL_ASYNC_SESSION_HPP
#define CRIER_ADAPTERS_DETAIL_ASYNC_SESSION_HPP

#include <crier/adapters/detail/deadline.hpp>
#include <crier/adapters/detail/stream_state.hpp>
#include <crier/error.hpp>
#include <crier/http/response.hpp>
#include <crier/sse/encoder.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace crier::adapters::detail {

/// The socket under any stack of layers: SSL streams (`next_layer()`), Beast's tcp_stream
/// (`socket()`), or a socket itself.
template <class Stream>
auto& lowest_socket(Stream& s) {
    if constexpr (requires { s.next_layer(); }) {
        return lowest_socket(s.next_layer());
    } else if constexpr (requires { s.socket(); }) {
        return s.socket();
    } else {
        return s;
    }
}

/// One stream over `Stream&` (which the caller keeps alive until `Handler` runs). Every member
/// is touched only from the stream's executor, which must serialise its handlers (a strand, or
/// an io_context run by one thread), except the atomics, which the shared timers read.
/// Ends by closing the stream's socket and calling `handler(reason)` once no operation of its
/// own is pending, so the caller may destroy the stream from the handler.
template <class Net, class Stream, class Handler>
class async_session final
    : public tracked,
      public std::enable_shared_from_this<async_session<Net, Stream, Handler>> {
public:
    /// `shard`: the flusher of the I/O loop that runs the stream's executor (see
    /// stream_state::set_flushers).
    async_session(Stream& stream, std::shared_ptr<stream_state> state, Handler handler,
                  std::string prelude, std::size_t shard = 0)
        : stream_(stream),
          executor_(stream.get_executor()),
          state_(std::move(state)),
          handler_(std::move(handler)),
          out_(std::move(prelude)),
          shard_(shard) {}

    /// Opens the stream (on the stream's executor, never inside the caller's initiating call).
    void start(stream_request&& request) {
        Net::post(executor_,
                  [self = this->shared_from_this(), request = std::move(request)]() mutable {
                      self->open(std::move(request));
                  });
    }

    void on_tick(clock::time_point now) override {
        const auto now_ns = now.time_since_epoch().count();
        if (deadline_.due(now)) post_member(&async_session::on_deadline);
        if (!streaming_.load(std::memory_order_relaxed)) return;
        if (now_ns - last_write_ns_.load(std::memory_order_relaxed) >= state_->heartbeat_ns() &&
            !heartbeat_posted_.exchange(true, std::memory_order_relaxed)) {
            post_member(&async_session::on_heartbeat);
        }
        if (now_ns - last_delivery_ns_.load(std::memory_order_relaxed) >= state_->idle_ns() &&
            !idle_posted_.exchange(true, std::memory_order_relaxed)) {
            post_member(&async_session::on_idle);
        }
    }

    void on_shutdown(std::chrono::milliseconds retry) override {
        Net::post(executor_,
                  [self = this->shared_from_this(), retry] { self->begin_shutdown(retry); });
    }

    void on_force_close() override {
        Net::post(executor_, [self = this->shared_from_this()] { self->end(errc::hub_stopped); });
    }

    void drain_now() override {
        Net::dispatch(executor_, [self = this->shared_from_this()] { self->do_drain(); });
    }

private:
    static std::int64_t now_ns() { return clock::now().time_since_epoch().count(); }

    void post_member(void (async_session::*member)()) {
        Net::post(executor_, [self = this->shared_from_this(), member] { ((*self).*member)(); });
    }

    void open(stream_request&& request) {
        if (ended_) return;  // force-closed before it opened
        std::weak_ptr<async_session> weak = this->shared_from_this();
        std::function<void()> on_ready;
        if (state_->has_flusher()) {
            on_ready = [weak, state = state_.get(), shard = shard_] {
                if (auto self = weak.lock()) state->mark_ready(shard, std::move(self));
            };
        } else {
            on_ready = [weak, ex = executor_] {
                Net::post(ex, [weak] {
                    if (auto self = weak.lock()) self->do_drain();
                });
            };
        }
        stream_opening opening = state_->open(std::move(request), std::move(on_ready));
        set_user_timeout(lowest_socket(stream_), state_->write_timeout());
        state_->streams().add(this->shared_from_this());
        state_->ensure_ticker();  // before the first write: it enforces the write deadline
        if (opening.error) {
            // Refused (429, 204, 503): the answer, then the end.
            http::serialize(out_, opening.refusal, false);
            closing_ = true;
            closing_reason_ = opening.error;
            return do_drain();
        }
        subscription_.emplace(std::move(opening.sub));
        // After whatever the caller had to send first.
        http::serialize_stream_head(out_, opening.head);
        out_ += opening.preamble;
        const auto now = now_ns();
        last_write_ns_.store(now, std::memory_order_relaxed);
        last_delivery_ns_.store(now, std::memory_order_relaxed);
        streaming_.store(true, std::memory_order_relaxed);
        do_watch_peer();
        do_drain();
    }

    // Why a read or write on the stream failed. ETIMEDOUT is the kernel's side of the write
    // deadline (TCP_USER_TIMEOUT: the peer acknowledged nothing for that long), which can
    // beat the shared timers to it; anything else means the peer went away.
    template <class ErrorCode>
    static std::error_code failure_reason(const ErrorCode& ec) {
        return ec == Net::timed_out ? make_error_code(errc::write_timeout)
                                    : make_error_code(errc::peer_closed);
    }

    // The client never sends on an SSE stream, so a read completes only when it goes away.
    void do_watch_peer() {
        reading_ = true;
        stream_.async_read_some(typename Net::mutable_buffer(watch_, sizeof watch_),
                                [self = this->shared_from_this()](const auto& ec, std::size_t) {
                                    self->reading_ = false;
                                    if (self->ended_) return self->maybe_complete();
                                    if (ec) return self->end(failure_reason(ec));
                                    self->do_watch_peer();
                                });
    }

    void do_drain() {
        if (ended_ || writing_) return;
        batch_.clear();
        if (subscription_) subscription_->drain(batch_);
        if (!batch_.empty()) {
            last_delivery_ns_.store(now_ns(), std::memory_order_relaxed);
            idle_posted_.store(false, std::memory_order_relaxed);
        }
        out_inflight_.swap(out_);
        out_.clear();
        if (batch_.empty() && out_inflight_.empty()) {
            if (closing_) return end(closing_reason_);
            if (subscription_) {
                if (auto why = subscription_->closed()) return end(why);
            }
            return;
        }
        buffers_.clear();
        if (!out_inflight_.empty()) {
            buffers_.emplace_back(out_inflight_.data(), out_inflight_.size());
        }
        for (const auto& f : batch_) buffers_.emplace_back(f->data(), f->size());
        writing_ = true;
        deadline_.arm(state_->write_timeout());
        Net::async_write(
            stream_, buffers_,
            [this](const auto& ec, std::size_t n) -> std::size_t {
                if (ec) return 0;
                if (n != 0) deadline_.arm(state_->write_timeout());
                return 65536;
            },
            [self = this->shared_from_this()](const auto& ec, std::size_t) {
                self->on_written(ec ? failure_reason(ec) : std::error_code{});
            });
    }

    void on_written(std::error_code failure) {
        writing_ = false;
        if (ended_) return maybe_complete();
        if (failure) return end(failure);
        deadline_.clear();
        state_->count_delivered(batch_.size(), shard_);
        batch_.clear();  // release the frames now, not at the next write
        // Keep small buffers for the next write; give large ones (after a burst) back.
        if (batch_.capacity() > 1024) std::vector<sse::frame>().swap(batch_);
        if (buffers_.capacity() > 1024) std::vector<typename Net::const_buffer>().swap(buffers_);
        if (out_inflight_.capacity() > 64) {
            std::string().swap(out_inflight_);
        } else {
            out_inflight_.clear();
        }
        last_write_ns_.store(now_ns(), std::memory_order_relaxed);
        do_drain();
    }

    void on_deadline() {
        if (!deadline_.expired()) return;        // re-armed or cleared since: the phase moved on
        if (writing_) end(errc::write_timeout);  // the peer accepted no bytes for that long
    }

    void on_heartbeat() {
        heartbeat_posted_.store(false, std::memory_order_relaxed);
        if (ended_ || writing_) return;  // a write in flight is a heartbeat
        out_.append(":\n");
        do_drain();
    }

    void on_idle() {
        if (ended_ || closing_) return;
        closing_ = true;  // no event for the idle interval: close cleanly; the client replays
        closing_reason_ = errc::idle_timeout;
        do_drain();
    }

    void begin_shutdown(std::chrono::milliseconds retry) {
        if (ended_ || !streaming_.load(std::memory_order_relaxed)) return;
        closing_ = true;
        closing_reason_ = errc::hub_stopped;
        sse::append_retry(out_, retry);
        do_drain();
    }

    void end(std::error_code why) {
        if (ended_) return;
        ended_ = true;
        reason_ = why;
        streaming_.store(false, std::memory_order_relaxed);
        deadline_.clear();
        subscription_.reset();  // unsubscribes and frees the user's connection slot now
        typename Net::error_code ignored;
        auto& socket = lowest_socket(stream_);
        socket.shutdown(Net::shutdown_both, ignored);
        socket.close(ignored);  // completes the pending read (and write) at once
        state_->streams().remove(this);
        maybe_complete();
    }

    // The handler runs once nothing of ours is pending on the stream, so it may destroy it.
    void maybe_complete() {
        if (!ended_ || reading_ || writing_ || !handler_) return;
        const auto ex = Net::associated_executor(*handler_, executor_);
        Net::dispatch(ex, [h = std::move(*handler_), state = state_, ec = reason_]() mutable {
            try {
                std::move(h)(ec);
            } catch (const std::exception& e) {
                state->report_error(std::string("a stream's completion handler threw: ") +
                                    e.what());
            } catch (...) {
                state->report_error("a stream's completion handler threw");
            }
        });
        handler_.reset();
    }

    Stream& stream_;
    // A copy: the shared timers post to it even after the stream (which the caller may destroy
    // once the handler ran) is gone.
    const typename Stream::executor_type executor_;
    std::shared_ptr<stream_state> state_;
    std::optional<Handler> handler_;
    std::string out_;  // bytes to send next (head, control lines)
    const std::size_t shard_;
    std::string out_inflight_;  // control bytes being written
    std::vector<sse::frame> batch_;
    std::vector<typename Net::const_buffer> buffers_;
    std::optional<subscription> subscription_;
    char watch_[16];
    bool reading_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool ended_ = false;
    std::error_code closing_reason_;
    std::error_code reason_;
    phase_deadline deadline_;
    // Read by the shared timers.
    std::atomic<std::int64_t> last_write_ns_{0};
    std::atomic<std::int64_t> last_delivery_ns_{0};
    std::atomic<bool> streaming_{false};
    std::atomic<bool> heartbeat_posted_{false};
    std::atomic<bool> idle_posted_{false};
};

}  // namespace crier::adapters::detail

#endif
