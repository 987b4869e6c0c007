// SPDX-License-Identifier: MIT
// One client connection of the embedded server, over any Asio stream: it reads HTTP/1.1
// requests (keep-alive), answers them, and on `GET events` hands the socket to the one stream
// session every transport uses. Private.
#ifndef CRIER_ADAPTERS_DETAIL_CONNECTION_HPP
#define CRIER_ADAPTERS_DETAIL_CONNECTION_HPP

#include <crier/adapters/detail/asio_net.hpp>
#include <crier/adapters/detail/async_session.hpp>
#include <crier/adapters/detail/deadline.hpp>
#include <crier/adapters/detail/server_state.hpp>
#include <crier/client/chunked_decoder.hpp>
#include <crier/http/request.hpp>
#include <crier/http/response.hpp>

#include <asio/buffer.hpp>
#include <asio/completion_condition.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>
#include <asio/write.hpp>

#include <atomic>
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
    /// `shard`: the flusher of the I/O loop that runs the stream's executor.
    connection(Stream stream, std::shared_ptr<server_state> state, std::size_t shard = 0)
        : stream_(std::move(stream)),
          state_(std::move(state)),
          parser_(state_->options().max_head_bytes),
          shard_(shard) {}

    ~connection() override { state_->connection_closed(); }

    /// Starts reading requests.
    void start() {
        set_user_timeout(stream_.lowest_layer(), state_->options().write_timeout);
        state_->connections().add(this->shared_from_this());
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
            self->deadline_.arm(self->state_->options().keep_alive_timeout);
            self->do_read();
        });
    }

    void on_tick(clock::time_point now) override {
        if (deadline_.due(now)) post_member(&connection::on_deadline);
    }

    void on_shutdown(std::chrono::milliseconds retry) override {
        asio::post(stream_.get_executor(),
                   [self = this->shared_from_this(), retry] { self->begin_shutdown(retry); });
    }

    void on_force_close() override { post_member(&connection::close); }

    void drain_now() override {}  // a streaming connection's session drains

private:
    enum class phase { reading, responding, streaming, lingering, closed };

    void post_member(void (connection::*member)()) {
        asio::post(stream_.get_executor(),
                   [self = this->shared_from_this(), member] { ((*self).*member)(); });
    }

    // Every write runs under the write deadline, renewed each time the peer accepts bytes: a
    // slow reader that keeps reading is served, one that stops is closed.
    template <class Buffers, class Handler>
    void write(const Buffers& buffers, Handler&& handler) {
        deadline_.arm(state_->options().write_timeout);
        asio::async_write(
            stream_, buffers,
            [this](const std::error_code& ec, std::size_t n) -> std::size_t {
                if (!ec && n != 0) deadline_.arm(state_->options().write_timeout);
                return asio::transfer_all()(ec, n);
            },
            std::forward<Handler>(handler));
    }

    // ---- HTTP requests --------------------------------------------------------------------

    void do_read() {
        switch (parse_next()) {
            case next::request:
                return handle_requests();
            case next::refused:
            case next::interim:
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
            deadline_.arm(state_->options().request_timeout);
        }
        do_read();
    }

    // refused: a refusal is in out_; interim: `100 Continue` is in out_, the body is to come.
    enum class next { incomplete, request, refused, interim };

    // Takes the next complete request out of in_ into request_, or appends the refusal of a
    // malformed one to out_. A body comes with Content-Length or chunked, each bounded by
    // max_body_bytes.
    next parse_next() {
        if (!have_head_) {
            if (in_.empty()) return next::incomplete;
            switch (parser_.parse(in_, request_)) {
                case http::parse_result::incomplete:
                    return next::incomplete;
                case http::parse_result::error: {
                    const int status = parser_.error_status();
                    refuse(http::json_error(status,
                                            status == 431   ? "head_too_large"
                                            : status == 501 ? "not_implemented"
                                            : status == 505 ? "version_not_supported"
                                                            : "bad_request",
                                            parser_.error_message()));
                    return next::refused;
                }
                case http::parse_result::complete:
                    break;
            }
            have_head_ = true;
            in_.erase(0, parser_.consumed());
            if (request_.content_length() > max_body()) {
                refuse(body_too_large());
                return next::refused;
            }
            continue_due_ = request_.expects_continue();
            if (request_.chunked()) {
                chunked_.reset();
                chunked_body_.clear();
            }
        }
        if (request_.chunked()) {
            if (!in_.empty()) {
                bool over = false;
                std::size_t consumed = 0;
                const auto ec = chunked_.decode(in_, consumed, [&](std::string_view data) {
                    if (over || data.size() > max_body() - chunked_body_.size()) {
                        over = true;
                    } else {
                        chunked_body_.append(data);
                    }
                });
                in_.erase(0, consumed);
                if (over) {
                    refuse(body_too_large());
                    return next::refused;
                }
                if (ec) {
                    refuse(http::json_error(400, "bad_request", "malformed chunked request body"));
                    return next::refused;
                }
            }
            if (!chunked_.done()) return await_body();
            request_.assign_body(chunked_body_);
            // A large body's buffer goes back; a small one is kept for the next request.
            if (chunked_body_.capacity() > read_chunk) std::string().swap(chunked_body_);
        } else {
            const std::size_t length = request_.content_length();
            if (in_.size() < length) return await_body();
            request_.assign_body(std::string_view(in_).substr(0, length));
            in_.erase(0, length);
        }
        have_head_ = false;
        continue_due_ = false;
        return next::request;
    }

    // The body is not all here: a client that sent `Expect: 100-continue` is told to send it
    // (once; a client may also send it without waiting).
    next await_body() {
        if (!continue_due_) return next::incomplete;
        continue_due_ = false;
        http::serialize_interim(out_, 100);
        return next::interim;
    }

    std::size_t max_body() const { return state_->options().max_body_bytes; }

    http::response body_too_large() const {
        return http::json_error(413, "body_too_large",
                                "request body exceeds " + std::to_string(max_body()) + " bytes");
    }

    // Answers request_ and every pipelined request already read after it, then writes all the
    // responses at once: one syscall for a burst of publishes, not one each.
    void handle_requests() {
        deadline_.clear();
        for (std::size_t answered = 1;; ++answered) {
            request_.set_remote_address(peer());
            const bool head = request_.method() == "HEAD";
            route_result result = head ? route_head() : state_->route(request_);
            if (result.stream && !head) return begin_stream(std::move(*result.stream));
            const bool keep_alive =
                request_.keep_alive() && !result.response.close && !state_->stopping();
            if (result.stream) {  // HEAD of a stream: its head, and no stream is opened
                http::serialize_stream_head(
                    out_, stream_state::stream_head(std::move(result.stream->headers)), keep_alive);
            } else {
                http::serialize(out_, result.response, keep_alive, head);
            }
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

    // HEAD is answered as GET would be, without the body (RFC 9110 §9.3.2): every route, the
    // host's handler and static files see a GET. Rare enough for the copy.
    route_result route_head() {
        http::request get = http::request::from("GET", request_.target(), request_.headers());
        get.set_remote_address(peer());
        return state_->route(get);
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
        request_started_ = have_head_ || !in_.empty();  // a body may still be to come
        deadline_.arm(request_started_ ? state_->options().request_timeout
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
        deadline_.arm(std::chrono::milliseconds(2000));
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
        if (!deadline_.expired()) return;  // re-armed or cleared since: the phase moved on
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
            case phase::streaming:  // the session keeps its own deadlines
            case phase::closed:
                return;
        }
    }

    // ---- SSE stream -----------------------------------------------------------------------

    // The socket now belongs to the stream session (which writes the answers to any requests
    // pipelined before this one first); this connection only keeps it alive until it ends.
    void begin_stream(stream_request request) {
        phase_ = phase::streaming;
        deadline_.clear();
        state_->connections().remove(this);  // the session is swept as a stream from now on
        // A stream reads nothing more: give the request's memory back (idle streams are many).
        std::string().swap(in_);
        std::string().swap(chunked_body_);
        request_ = http::request{};
        auto done = [self = this->shared_from_this()](std::error_code) {
            self->phase_ = phase::closed;  // the session closed the socket
        };
        using session = async_session<asio_net, Stream, decltype(done)>;
        std::make_shared<session>(stream_, state_->streams_ptr(), std::move(done), std::move(out_),
                                  shard_)
            ->start(std::move(request));
    }

    void begin_shutdown(std::chrono::milliseconds /*retry*/) {
        // Streams belong to their session, which the server shuts down with the others.
        if (phase_ == phase::reading && !request_started_) close();  // else answer with close
    }

    void close() {
        if (phase_ == phase::closed) return;
        phase_ = phase::closed;
        deadline_.clear();
        std::error_code ignored;
        auto& socket = stream_.lowest_layer();
        socket.shutdown(asio::socket_base::shutdown_both, ignored);
        socket.close(ignored);
        state_->connections().remove(this);
    }

    // The peer of a connection never changes: one getpeername() and one formatting per
    // connection, not per request (a publisher's keep-alive connection carries thousands).
    const std::string& peer() {
        if (!peer_known_) {
            peer_known_ = true;
            std::error_code ec;
            const auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
            if (!ec) peer_ = endpoint.address().to_string();
        }
        return peer_;
    }

    static constexpr std::size_t read_chunk = 4096;
    static constexpr std::size_t max_pipelined = 64;  // responses gathered into one write
    static constexpr std::size_t max_pipelined_bytes = 64 * 1024;

    Stream stream_;
    std::shared_ptr<server_state> state_;
    http::request_parser parser_;
    http::request request_;
    std::string in_;
    std::string out_;   // responses to send next
    std::string peer_;  // the peer's address, once asked for
    bool peer_known_ = false;
    phase phase_ = phase::reading;
    bool have_head_ = false;
    bool continue_due_ = false;  // the request asked for `100 Continue`, not sent yet
    client::chunked_decoder chunked_;
    std::string chunked_body_;  // a chunked body, decoded so far
    bool request_started_ = false;
    bool close_after_write_ = false;
    phase_deadline deadline_;
    const std::size_t shard_;
};

}  // namespace crier::adapters::detail

#endif
