// SPDX-License-Identifier: MIT
// One client connection of the embedded server, over any Asio stream: it reads HTTP/1.1
// requests (keep-alive), answers them, and on `GET events` turns into an SSE stream that drains
// its hub subscription with one gathered write at a time. Private.
#ifndef CRIER_ADAPTERS_DETAIL_CONNECTION_HPP
#define CRIER_ADAPTERS_DETAIL_CONNECTION_HPP

#include <crier/adapters/detail/server_state.hpp>
#include <crier/http/request.hpp>
#include <crier/http/response.hpp>

#include <asio/buffer.hpp>
#include <asio/completion_condition.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>
#include <asio/write.hpp>

#if defined(__linux__)
#    include <netinet/in.h>
#    include <netinet/tcp.h>
#    include <sys/socket.h>
#endif

#include <atomic>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace crier::adapters::detail {

/// Serves one connection. The stream's executor must serialise its handlers (a strand, or an
/// io_context run by one thread): every member below is touched only from that executor, except
/// the atomics, which the shared timers read.
template <class Stream>
class connection final : public tracked, public std::enable_shared_from_this<connection<Stream>> {
public:
    connection(Stream stream, std::shared_ptr<server_state> state)
        : stream_(std::move(stream)),
          state_(std::move(state)),
          parser_(state_->options().max_head_bytes) {}

    ~connection() override { state_->connection_closed(); }

    /// Starts reading requests.
    void start() {
        set_user_timeout();
        state_->connections().add(this->shared_from_this());
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
            self->set_deadline(self->state_->options().keep_alive_timeout);
            self->do_read();
        });
    }

    void on_tick(clock::time_point now) override {
        const auto now_ns = now.time_since_epoch().count();
        auto deadline = deadline_ns_.load(std::memory_order_relaxed);
        // Compare-exchange, not a store: the connection may arm a new deadline between the load
        // and here (a write made progress), and that one must survive. on_deadline re-checks
        // against the deadline the connection itself holds.
        if (deadline != 0 && now_ns >= deadline &&
            deadline_ns_.compare_exchange_strong(deadline, 0, std::memory_order_relaxed)) {
            post_member(&connection::on_deadline);
        }
        if (!streaming_.load(std::memory_order_relaxed)) return;
        if (now_ns - last_write_ns_.load(std::memory_order_relaxed) >= state_->heartbeat_ns() &&
            !heartbeat_posted_.exchange(true, std::memory_order_relaxed)) {
            post_member(&connection::on_heartbeat);
        }
        if (now_ns - last_delivery_ns_.load(std::memory_order_relaxed) >= state_->idle_ns() &&
            !idle_posted_.exchange(true, std::memory_order_relaxed)) {
            post_member(&connection::on_idle);
        }
    }

    void on_shutdown(std::chrono::milliseconds retry) override {
        asio::post(stream_.get_executor(),
                   [self = this->shared_from_this(), retry] { self->begin_shutdown(retry); });
    }

    void on_force_close() override { post_member(&connection::close); }

    void drain_now() override {
        asio::dispatch(stream_.get_executor(),
                       [self = this->shared_from_this()] { self->do_drain(); });
    }

private:
    enum class phase { reading, responding, streaming, lingering, closed };

    static std::int64_t now_ns() { return clock::now().time_since_epoch().count(); }

    void post_member(void (connection::*member)()) {
        asio::post(stream_.get_executor(),
                   [self = this->shared_from_this(), member] { ((*self).*member)(); });
    }

    // The connection's one deadline: the current phase (request, keep-alive, pending write,
    // linger) ends when it passes. armed_deadline_ns_ is the truth, kept on the executor;
    // deadline_ns_ mirrors it for the shared ticker.
    void set_deadline(std::chrono::milliseconds after) {
        armed_deadline_ns_ = now_ns() + std::chrono::nanoseconds(after).count();
        deadline_ns_.store(armed_deadline_ns_, std::memory_order_relaxed);
    }

    void clear_deadline() {
        armed_deadline_ns_ = 0;
        deadline_ns_.store(0, std::memory_order_relaxed);
    }

    // Every write runs under the write deadline, renewed each time the peer accepts bytes: a
    // slow reader that keeps reading is served, one that stops is closed.
    template <class Buffers, class Handler>
    void write(const Buffers& buffers, Handler&& handler) {
        set_deadline(state_->options().write_timeout);
        asio::async_write(
            stream_, buffers,
            [this](const std::error_code& ec, std::size_t n) -> std::size_t {
                if (!ec && n != 0) set_deadline(state_->options().write_timeout);
                return asio::transfer_all()(ec, n);
            },
            std::forward<Handler>(handler));
    }

    // The kernel's side of the write deadline: with TCP_USER_TIMEOUT, data the peer does not
    // acknowledge for that long (a peer gone without FIN or RST) aborts the connection even
    // while the application has nothing more to write, e.g. a heartbeat stuck in the socket.
    void set_user_timeout() {
#if defined(TCP_USER_TIMEOUT)
        const auto ms = state_->options().write_timeout.count();
        if (ms <= 0) return;
        const unsigned int value = ms > std::numeric_limits<int>::max()
                                       ? std::numeric_limits<int>::max()
                                       : static_cast<unsigned int>(ms);
        auto& socket = stream_.lowest_layer();
        if (!socket.is_open()) return;
        // Not a TCP socket (or not Linux): the option fails, and the write deadline still holds.
        (void)::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &value,
                           sizeof value);
#endif
    }

    // ---- HTTP requests --------------------------------------------------------------------

    void do_read() {
        switch (parse_next()) {
            case next::request:
                return handle_requests();
            case next::refused:
                return write_responses();
            case next::incomplete:
                break;
        }
        read_some([self = this->shared_from_this()](std::error_code ec, std::size_t n) {
            self->on_read(ec, n);
        });
    }

    template <class Handler>
    void read_some(Handler&& handler) {
        // Read straight into the tail of in_: no per-connection read buffer outlives a request.
        const std::size_t old = in_.size();
        in_.resize(old + read_chunk);
        stream_.async_read_some(asio::buffer(in_.data() + old, read_chunk),
                                [this, old, h = std::forward<Handler>(handler)](
                                    std::error_code ec, std::size_t n) mutable {
                                    in_.resize(old + (ec ? 0 : n));
                                    h(ec, n);
                                });
    }

    void on_read(std::error_code ec, std::size_t /*n*/) {
        if (phase_ != phase::reading) return;
        if (ec) return close();  // EOF between or during requests: nothing to answer
        if (!request_started_ && !in_.empty()) {
            request_started_ = true;
            set_deadline(state_->options().request_timeout);
        }
        do_read();
    }

    enum class next { incomplete, request, refused };

    // Takes the next complete request out of in_ into request_, or appends the refusal of a
    // malformed one to out_.
    next parse_next() {
        if (in_.empty()) return next::incomplete;
        if (!have_head_) {
            switch (parser_.parse(in_, request_)) {
                case http::parse_result::incomplete:
                    return next::incomplete;
                case http::parse_result::error:
                    refuse(http::json_error(
                        parser_.error_status(),
                        parser_.error_status() == 431 ? "head_too_large" : "bad_request",
                        parser_.error_message()));
                    return next::refused;
                case http::parse_result::complete:
                    break;
            }
            have_head_ = true;
            in_.erase(0, parser_.consumed());
            if (request_.content_length() > state_->options().max_body_bytes) {
                refuse(http::json_error(413, "body_too_large",
                                        "request body exceeds " +
                                            std::to_string(state_->options().max_body_bytes) +
                                            " bytes"));
                return next::refused;
            }
        }
        const std::size_t length = request_.content_length();
        if (in_.size() < length) return next::incomplete;
        request_.set_body(in_.substr(0, length));
        in_.erase(0, length);
        have_head_ = false;
        return next::request;
    }

    // Answers request_ and every pipelined request already read after it, then writes all the
    // responses at once: one syscall for a burst of publishes, not one each.
    void handle_requests() {
        clear_deadline();
        for (std::size_t answered = 1;; ++answered) {
            request_.set_remote_address(remote_address());
            route_result result = state_->route(request_);
            if (result.stream) return begin_stream(std::move(*result.stream));
            const bool keep_alive =
                request_.keep_alive() && !result.response.close && !state_->stopping();
            http::serialize(out_, result.response, keep_alive);
            if (!keep_alive) {
                close_after_write_ = true;
                break;
            }
            if (answered == max_pipelined || out_.size() >= max_pipelined_bytes) break;
            const next n = parse_next();
            if (n != next::request) break;  // refused: its answer is in out_ already
        }
        write_responses();
    }

    void write_responses() {
        phase_ = phase::responding;
        write(asio::buffer(out_),
              [self = this->shared_from_this()](std::error_code ec, std::size_t) {
                  self->on_responses_written(ec);
              });
    }

    void on_responses_written(std::error_code ec) {
        if (phase_ == phase::closed) return;
        if (ec) return close();
        out_.clear();
        if (close_after_write_) return linger();
        phase_ = phase::reading;
        request_started_ = !in_.empty();
        set_deadline(request_started_ ? state_->options().request_timeout
                                      : state_->options().keep_alive_timeout);
        do_read();  // a pipelined request may already be in in_
    }

    // Appends the answer to an unreadable request; the connection closes after it, since the
    // rest of the input cannot be trusted.
    void refuse(http::response r) {
        r.close = true;
        http::serialize(out_, r, false);
        close_after_write_ = true;
    }

    // Closes gently after a final response: stop sending, then discard input until the peer
    // closes (bounded), so the client reads our answer instead of a reset.
    void linger() {
        phase_ = phase::lingering;
        std::error_code ignored;
        stream_.lowest_layer().shutdown(asio::socket_base::shutdown_send, ignored);
        in_.clear();
        set_deadline(std::chrono::milliseconds(2000));
        do_linger_read();
    }

    void do_linger_read() {
        in_.clear();
        read_some([self = this->shared_from_this()](std::error_code ec, std::size_t) {
            if (self->phase_ != phase::lingering) return;
            if (ec) return self->close();
            self->do_linger_read();
        });
    }

    void on_deadline() {
        if (armed_deadline_ns_ == 0 || now_ns() < armed_deadline_ns_) {
            // Re-armed or cleared after the ticker saw the old deadline pass: the phase moved on.
            deadline_ns_.store(armed_deadline_ns_, std::memory_order_relaxed);
            return;
        }
        clear_deadline();
        switch (phase_) {
            case phase::reading:
                if (request_started_) {
                    refuse(http::json_error(408, "request_timeout",
                                            "the request was not completed in time"));
                    write_responses();
                } else {
                    close();  // an idle keep-alive connection: nothing to say
                }
                return;
            case phase::responding:  // the peer accepted no bytes for write_timeout
            case phase::lingering:
                return close();
            case phase::streaming:
                if (writing_) close();  // as above; quiet streams have no deadline
                return;
            case phase::closed:
                return;
        }
    }

    // ---- SSE stream -----------------------------------------------------------------------

    void begin_stream(stream_plan plan) {
        std::weak_ptr<connection> weak = this->shared_from_this();
        plan.options.on_ready = [weak, state = state_.get()] {
            if (auto self = weak.lock()) state->mark_ready(std::move(self));
        };
        std::error_code ec;
        auto sub = state_->subscribe(plan, ec);
        if (ec) {
            refuse(state_->subscribe_error(ec));
            return write_responses();
        }
        subscription_.emplace(std::move(sub));
        phase_ = phase::streaming;
        out_ += plan.preamble;  // after the answers to any requests pipelined before it
        // A stream reads nothing more: give the request's memory back (idle streams are many).
        std::string().swap(in_);
        request_ = http::request{};
        const auto now = now_ns();
        last_write_ns_.store(now, std::memory_order_relaxed);
        last_delivery_ns_.store(now, std::memory_order_relaxed);
        streaming_.store(true, std::memory_order_relaxed);
        do_watch_peer();
        do_drain();
    }

    // The client never sends on an SSE stream, so a read completes only when it goes away.
    void do_watch_peer() {
        stream_.async_read_some(asio::buffer(watch_),
                                [self = this->shared_from_this()](std::error_code ec, std::size_t) {
                                    if (self->phase_ != phase::streaming) return;
                                    if (ec) return self->close();
                                    self->do_watch_peer();
                                });
    }

    void do_drain() {
        if (phase_ != phase::streaming || writing_) return;
        batch_.clear();
        subscription_->drain(batch_);
        if (!batch_.empty()) {
            last_delivery_ns_.store(now_ns(), std::memory_order_relaxed);
            idle_posted_.store(false, std::memory_order_relaxed);
        }
        out_inflight_.swap(out_);
        out_.clear();
        if (batch_.empty() && out_inflight_.empty()) {
            if (closing_ || subscription_->closed()) close();
            return;
        }
        buffers_.clear();
        if (!out_inflight_.empty()) buffers_.push_back(asio::buffer(out_inflight_));
        for (const auto& f : batch_) buffers_.push_back(asio::buffer(*f));
        writing_ = true;
        write(buffers_, [self = this->shared_from_this()](std::error_code ec, std::size_t) {
            self->on_stream_written(ec);
        });
    }

    void on_stream_written(std::error_code ec) {
        writing_ = false;
        if (phase_ != phase::streaming) return;
        if (ec) return close();
        clear_deadline();
        state_->count_delivered(batch_.size());
        batch_.clear();  // release the frames now, not at the next write
        // Keep small buffers for the next write; give large ones (after a burst) back.
        if (batch_.capacity() > 1024) std::vector<sse::frame>().swap(batch_);
        if (buffers_.capacity() > 1024) std::vector<asio::const_buffer>().swap(buffers_);
        if (out_inflight_.capacity() > 64) {
            std::string().swap(out_inflight_);
        } else {
            out_inflight_.clear();
        }
        last_write_ns_.store(now_ns(), std::memory_order_relaxed);
        do_drain();
    }

    void on_heartbeat() {
        heartbeat_posted_.store(false, std::memory_order_relaxed);
        if (phase_ != phase::streaming || writing_) return;  // a write in flight is a heartbeat
        out_.append(":\n");
        do_drain();
    }

    void on_idle() {
        if (phase_ != phase::streaming) return;
        closing_ = true;  // no event for the idle interval: close cleanly; the client replays
        do_drain();
    }

    void begin_shutdown(std::chrono::milliseconds retry) {
        switch (phase_) {
            case phase::streaming:
                closing_ = true;
                out_.append(state_->retry_frame(retry));
                return do_drain();
            case phase::reading:
                if (!request_started_) close();  // otherwise answer it with Connection: close
                return;
            default:
                return;
        }
    }

    void close() {
        if (phase_ == phase::closed) return;
        phase_ = phase::closed;
        streaming_.store(false, std::memory_order_relaxed);
        clear_deadline();
        subscription_.reset();  // unsubscribes and frees the user's connection slot now
        std::error_code ignored;
        auto& socket = stream_.lowest_layer();
        socket.shutdown(asio::socket_base::shutdown_both, ignored);
        socket.close(ignored);
        state_->connections().remove(this);
    }

    std::string remote_address() {
        std::error_code ec;
        const auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
        return ec ? std::string() : endpoint.address().to_string();
    }

    static constexpr std::size_t read_chunk = 4096;
    static constexpr std::size_t max_pipelined = 64;  // responses gathered into one write
    static constexpr std::size_t max_pipelined_bytes = 64 * 1024;

    Stream stream_;
    std::shared_ptr<server_state> state_;
    http::request_parser parser_;
    http::request request_;
    std::string in_;
    std::string out_;           // bytes to send next (response, or stream control bytes)
    std::string out_inflight_;  // stream control bytes being written
    std::vector<sse::frame> batch_;
    std::vector<asio::const_buffer> buffers_;
    std::optional<subscription> subscription_;
    char watch_[16];
    phase phase_ = phase::reading;
    bool have_head_ = false;
    bool request_started_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool close_after_write_ = false;
    std::int64_t armed_deadline_ns_ = 0;  // 0: none; set and read on the executor only
    // Read by the shared timers.
    std::atomic<std::int64_t> deadline_ns_{0};
    std::atomic<std::int64_t> last_write_ns_{0};
    std::atomic<std::int64_t> last_delivery_ns_{0};
    std::atomic<bool> streaming_{false};
    std::atomic<bool> heartbeat_posted_{false};
    std::atomic<bool> idle_posted_{false};
};

}  // namespace crier::adapters::detail

#endif
