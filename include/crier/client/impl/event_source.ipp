// SPDX-License-Identifier: MIT
// Definitions for crier/client/event_source.hpp.
#ifndef CRIER_CLIENT_IMPL_EVENT_SOURCE_IPP
#define CRIER_CLIENT_IMPL_EVENT_SOURCE_IPP

#include <crier/client/backoff.hpp>
#include <crier/client/batch.hpp>
#include <crier/client/chunked_decoder.hpp>
#include <crier/client/detail/http_text.hpp>
#include <crier/client/event_source.hpp>
#include <crier/client/recent_ids.hpp>
#include <crier/client/response_head.hpp>
#include <crier/client/url.hpp>
#include <crier/sse/event_id.hpp>
#include <crier/sse/parser.hpp>

#include <asio/connect.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#if defined(CRIER_ENABLE_SSL)
#    include <asio/ssl.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <random>

namespace crier::client {
namespace detail {

using tcp = asio::ip::tcp;
using strand_type = asio::strand<asio::any_io_executor>;
using steady_clock = std::chrono::steady_clock;

inline std::string user_agent() {
    return "crier/" + std::to_string(CRIER_VERSION_MAJOR) + "." +
           std::to_string(CRIER_VERSION_MINOR) + "." + std::to_string(CRIER_VERSION_PATCH);
}

inline bool is_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

inline bool valid_header(std::string_view name, std::string_view value) noexcept {
    if (name.empty()) return false;
    for (const char c : name) {
        if (!is_token_char(c)) return false;
    }
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

/// The source whose handlers this thread is running, if any: close() from inside a handler must
/// not wait for that handler to finish.
inline thread_local const void* dispatching_source = nullptr;

/// One connection attempt: its socket and buffers. Completions carry the connection they were
/// started for and compare it with the current one, so the late completion of an abandoned
/// attempt is recognised and dropped.
struct connection {
    explicit connection(const strand_type& strand) : socket(strand) {}

    tcp::socket socket;
#if defined(CRIER_ENABLE_SSL)
    std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;  // declared after the socket it uses
#endif
    url target;
    std::string request;
    std::string head;  // the response head as it arrives
    std::vector<char> buffer = std::vector<char>(16 * 1024);
    body_framing framing = body_framing::until_close;
    std::uint64_t remaining = 0;  // content_length: body bytes still to come
    chunked_decoder chunked;
    bool timed_out = false;
    bool open = false;  // a text/event-stream response was accepted
    steady_clock::time_point opened_at{};

    template <class Handler>
    void async_read_some(Handler&& handler) {
#if defined(CRIER_ENABLE_SSL)
        if (tls) {
            tls->async_read_some(asio::buffer(buffer), std::forward<Handler>(handler));
            return;
        }
#endif
        socket.async_read_some(asio::buffer(buffer), std::forward<Handler>(handler));
    }

    template <class Handler>
    void async_write_request(Handler&& handler) {
#if defined(CRIER_ENABLE_SSL)
        if (tls) {
            asio::async_write(*tls, asio::buffer(request), std::forward<Handler>(handler));
            return;
        }
#endif
        asio::async_write(socket, asio::buffer(request), std::forward<Handler>(handler));
    }

    void close() noexcept {
        std::error_code ignored;
        socket.close(ignored);  // a TLS session ends with its socket: no close_notify is needed
    }
};

using connection_ptr = std::shared_ptr<connection>;

// Every member below except closed_, state_ and handler_mutex_ is touched only on strand_ (or
// before start(), which happens-before the strand's first handler).
class event_source_impl : public std::enable_shared_from_this<event_source_impl> {
public:
    struct type_handler {
        std::string type;  // an exact type, or a prefix ending in `:` when `prefix`
        bool prefix = false;
        event_source::event_handler fn;
    };

    event_source_impl(const asio::any_io_executor& executor, std::string_view url_text,
                      event_source_options options)
        : executor_(executor),
          options_(std::move(options)),
          strand_(executor),
          resolver_(strand_),
          watchdog_(strand_),
          retry_timer_(strand_),
          parser_(sse::parser_options{.max_event_bytes = options_.max_event_bytes}),
          seen_(options_.dedup_capacity) {
        config_error_ = parse_url(url_text, origin_);
#if !defined(CRIER_ENABLE_SSL)
        if (!config_error_ && origin_.scheme == "https") config_error_ = errc::tls_unavailable;
#endif
        for (const auto& [name, value] : options_.headers) {
            if (!config_error_ && !valid_header(name, value)) config_error_ = errc::invalid_field;
        }
        if (!sse::is_valid_last_event_id(options_.last_event_id)) {
            if (!config_error_) config_error_ = errc::invalid_event_id;
        } else {
            parser_.set_last_event_id(options_.last_event_id);
        }
        if (!options_.jitter) {
            std::random_device device;
            rng_.seed(device());
        }
    }

    // --- registration (before start()) -----------------------------------------------------

    void add_type_handler(std::string type, event_source::event_handler fn) {
        if (type == "*") {
            all_handlers_.push_back(std::move(fn));
        } else if (type.size() >= 2 && type.ends_with(":*")) {
            type.pop_back();
            type_handlers_.push_back({std::move(type), true, std::move(fn)});
        } else {
            type_handlers_.push_back({std::move(type), false, std::move(fn)});
        }
    }
    void add_module_handler(std::string module, event_source::module_handler fn) {
        module_handlers_.emplace_back(std::move(module), std::move(fn));
    }
    void add_resync_handler(event_source::event_handler fn) {
        resync_handlers_.push_back(std::move(fn));
    }
    void add_state_handler(event_source::state_handler fn) {
        state_handlers_.push_back(std::move(fn));
    }

    // --- any thread --------------------------------------------------------------------------

    void start() {
        if (started_.exchange(true) || closed_) return;
        asio::post(strand_,
                   [self = shared_from_this()] { self->guarded([&] { self->on_start(); }); });
    }

    void close() noexcept {
        if (dispatching_source == this) {
            closed_ = true;  // inside our own handler: it holds the mutex, on this very thread
        } else {
            const std::lock_guard lock(handler_mutex_);  // waits for a handler on another thread
            closed_ = true;
        }
        state_ = ready_state::closed;  // final: set_state() never leaves it
        if (teardown_posted_.exchange(true)) return;
        try {
            asio::post(strand_, [self = shared_from_this()] { self->teardown(); });
        } catch (...) {
            // Out of memory: the pending operations still see closed_ and end by themselves.
        }
    }

    [[nodiscard]] ready_state state() const noexcept {
        return state_;
    }
    [[nodiscard]] const asio::any_io_executor& executor() const noexcept {
        return executor_;
    }

private:
    /// Runs `f`, which may call handlers: a handler that throws closes the source before the
    /// exception leaves the executor's run(), rather than leaving a stream half-read.
    template <class F>
    void guarded(F&& f) {
        try {
            f();
        } catch (...) {
            close();
            throw;
        }
    }

    /// A completion handler for an operation of connection `c` that calls `(this->*member)(c,
    /// args...)` on the strand, keeping this source alive until then.
    template <class... Args>
    auto completion(const connection_ptr& c,
                    void (event_source_impl::*member)(const connection_ptr&, Args...)) {
        // Not a generic lambda: overloads such as async_connect's probe the handler's signature.
        return [self = shared_from_this(), c, member](Args... args) {
            self->guarded([&] { ((*self).*member)(c, std::move(args)...); });
        };
    }

    void set_state(ready_state s) noexcept {
        auto current = state_.load();
        while (current != ready_state::closed && !state_.compare_exchange_weak(current, s)) {
        }
    }

    // --- lifecycle (strand) -------------------------------------------------------------------

    void on_start() {
        if (closed_) return;
        if (config_error_) {
            stop(config_error_, 0);
            return;
        }
        notify({.state = ready_state::connecting});
        begin_attempt();
    }

    void teardown() {
        resolver_.cancel();
        if (conn_) release(conn_);
        disarm_watchdog();
        retry_timer_.cancel();
        // Release what the handlers captured now rather than when the last operation completes.
        type_handlers_.clear();
        module_handlers_.clear();
        all_handlers_.clear();
        resync_handlers_.clear();
        state_handlers_.clear();
    }

    /// Stops for good and says why.
    void stop(std::error_code ec, int status) {
        if (conn_) release(conn_);
        parser_.end_of_stream();
        set_state(ready_state::closed);
        notify({.state = ready_state::closed, .error = ec, .http_status = status});
        closed_ = true;
    }

    /// A network error or end of stream: reconnect after the backoff.
    void fail(const connection_ptr& c, std::error_code ec) {
        if (c != conn_) return;
        release(c);
        parser_.end_of_stream();
        if (closed_) return;
        if (c->open && steady_clock::now() - c->opened_at >= options_.healthy_after) failures_ = 0;
        const auto base = parser_.reconnection_time().value_or(options_.initial_retry);
        const auto delay = backoff_delay(base, options_.max_retry, failures_, next_jitter());
        if (failures_ < 64) ++failures_;  // the delay is capped long before
        set_state(ready_state::connecting);
        notify({.state = ready_state::connecting, .error = ec, .retry_in = delay});
        if (closed_) return;
        retry_timer_.expires_after(delay);
        retry_timer_.async_wait([self = shared_from_this()](std::error_code wait_ec) {
            if (!wait_ec && !self->closed_) self->guarded([&] { self->begin_attempt(); });
        });
    }

    void release(const connection_ptr& c) {
        c->close();
        if (conn_ == c) conn_.reset();
        disarm_watchdog();
    }

    double next_jitter() {
        if (!options_.jitter) return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
        const dispatch_scope scope(*this);  // user code: the same guarantee as handlers
        return closed_ ? 1.0 : options_.jitter();
    }

    // --- one connection attempt (strand) -------------------------------------------------------

    void begin_attempt() {
        redirects_ = 0;
        cross_origin_ = false;
        connect(origin_);
    }

    void connect(const url& target) {
        if (target.scheme == "https") {
#if defined(CRIER_ENABLE_SSL)
            if (auto ec = ensure_tls_context()) {
                stop(ec, 0);
                return;
            }
#else
            stop(errc::tls_unavailable, 0);
            return;
#endif
        }
        auto c = std::make_shared<connection>(strand_);
        c->target = target;
        conn_ = c;
        arm_watchdog(c, options_.connect_timeout);
        resolver_.async_resolve(c->target.host, std::to_string(c->target.port),
                                tcp::resolver::numeric_service,
                                completion(c, &event_source_impl::on_resolve));
    }

    void on_resolve(const connection_ptr& c, std::error_code ec,
                    tcp::resolver::results_type results) {
        if (c != conn_ || closed_) return;
        if (c->timed_out) ec = errc::timeout;
        if (ec) return fail(c, ec);
        asio::async_connect(c->socket, results, completion(c, &event_source_impl::on_connect));
    }

    void on_connect(const connection_ptr& c, std::error_code ec, tcp::endpoint) {
        if (c != conn_ || closed_) return;
        if (c->timed_out) ec = errc::timeout;
        if (ec) return fail(c, ec);
        c->socket.set_option(tcp::no_delay(true), ec);
#if defined(CRIER_ENABLE_SSL)
        if (c->target.scheme == "https") return start_handshake(c);
#endif
        send_request(c);
    }

#if defined(CRIER_ENABLE_SSL)
    std::error_code ensure_tls_context() {
        if (tls_context_) return {};
        auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        std::error_code ec;
        if (options_.tls_ca_file.empty()) {
            context->set_default_verify_paths(ec);
        } else {
            context->load_verify_file(options_.tls_ca_file, ec);
        }
        if (!ec) {
            context->set_verify_mode(
                options_.tls_verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none, ec);
        }
        if (ec) return ec;
        tls_context_ = std::move(context);
        return {};
    }

    void start_handshake(const connection_ptr& c) {
        c->tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(c->socket, *tls_context_);
        std::error_code ec;
        asio::ip::make_address(c->target.host, ec);
        if (ec) {  // SNI carries host names only, never IP literals
            std::string host = c->target.host;
            SSL_set_tlsext_host_name(c->tls->native_handle(), host.data());
        }
        if (options_.tls_verify_peer) {
            c->tls->set_verify_callback(asio::ssl::host_name_verification(c->target.host));
        }
        c->tls->async_handshake(asio::ssl::stream_base::client,
                                completion(c, &event_source_impl::on_handshake));
    }

    void on_handshake(const connection_ptr& c, std::error_code ec) {
        if (c != conn_ || closed_) return;
        if (c->timed_out) ec = errc::timeout;
        if (ec) return fail(c, ec);
        send_request(c);
    }
#endif

    void send_request(const connection_ptr& c) {
        c->request = build_request(c->target);
        arm_watchdog(c, options_.read_timeout);
        c->async_write_request(completion(c, &event_source_impl::on_write));
    }

    void on_write(const connection_ptr& c, std::error_code ec, std::size_t) {
        if (c != conn_ || closed_) return;
        if (c->timed_out) ec = errc::timeout;
        if (ec) return fail(c, ec);
        read_head(c);
    }

    std::string build_request(const url& target) const {
        bool has_accept = false;
        bool has_cache_control = false;
        bool has_user_agent = false;
        for (const auto& [name, value] : options_.headers) {
            has_accept = has_accept || iequals(name, "accept");
            has_cache_control = has_cache_control || iequals(name, "cache-control");
            has_user_agent = has_user_agent || iequals(name, "user-agent");
        }
        std::string r;
        r.append("GET ").append(target.target).append(" HTTP/1.1\r\nHost: ");
        r.append(target.authority()).append("\r\n");
        if (!has_accept) r.append("Accept: text/event-stream\r\n");
        if (!has_cache_control) r.append("Cache-Control: no-cache\r\n");
        if (!has_user_agent) r.append("User-Agent: ").append(user_agent()).append("\r\n");
        if (const auto id = parser_.last_event_id();
            !id.empty() && sse::is_valid_last_event_id(id)) {
            r.append("Last-Event-ID: ").append(id).append("\r\n");
        }
        for (const auto& [name, value] : options_.headers) {
            if (iequals(name, "host") || iequals(name, "last-event-id")) continue;
            if (cross_origin_ && (iequals(name, "authorization") || iequals(name, "cookie") ||
                                  iequals(name, "proxy-authorization"))) {
                continue;
            }
            r.append(name).append(": ").append(value).append("\r\n");
        }
        r.append("\r\n");
        return r;
    }

    void read_head(const connection_ptr& c) {
        c->async_read_some(completion(c, &event_source_impl::on_head_read));
    }

    void on_head_read(const connection_ptr& c, std::error_code ec, std::size_t n) {
        if (c != conn_ || closed_) return;
        if (c->timed_out) ec = errc::timeout;
        if (ec) return fail(c, ec);
        arm_watchdog(c, options_.read_timeout);
        const std::size_t searched = c->head.size();
        c->head.append(c->buffer.data(), n);
        const std::size_t end = find_head_end(c->head, searched);
        if (end == 0) {
            if (c->head.size() > options_.max_response_head_bytes) {
                return fail(c, errc::protocol_error);
            }
            return read_head(c);
        }
        response_head head;
        if (end > options_.max_response_head_bytes ||
            parse_response_head(std::string_view(c->head).substr(0, end), head)) {
            return fail(c, errc::protocol_error);
        }
        const std::string body = c->head.substr(end);
        c->head = std::string();
        on_response(c, head, body);
    }

    void on_response(const connection_ptr& c, const response_head& head, std::string_view body) {
        if (is_redirect(head.status)) {
            const auto location = head.find("location");
            if (!location) return stop(errc::unexpected_status, head.status);
            if (redirects_ >= options_.max_redirects) {
                return stop(errc::too_many_redirects, head.status);
            }
            url next;
            if (resolve_url(c->target, *location, next)) {
                return stop(errc::invalid_url, head.status);
            }
            ++redirects_;
            if (!next.same_origin(c->target)) cross_origin_ = true;
            release(c);
            return connect(next);
        }
        if (head.status != 200) return stop(errc::unexpected_status, head.status);
        const auto content_type = head.find("content-type");
        if (!content_type || !has_media_type(*content_type, "text/event-stream")) {
            return stop(errc::wrong_content_type, head.status);
        }
        if (auto ec = head.framing(c->framing, c->remaining)) return fail(c, ec);
        c->open = true;
        c->opened_at = steady_clock::now();
        parser_.begin_stream();
        stream_last_id_.clear();
        set_state(ready_state::open);
        notify({.state = ready_state::open, .http_status = head.status});
        if (closed_) return;
        process_body(c, body);
    }

    void read_body(const connection_ptr& c) {
        c->async_read_some(completion(c, &event_source_impl::on_body_read));
    }

    void on_body_read(const connection_ptr& c, std::error_code ec, std::size_t n) {
        if (c != conn_ || closed_) return;
        if (ec) {
            bool eof = ec == asio::error::eof;
#if defined(CRIER_ENABLE_SSL)
            eof = eof || ec == asio::ssl::error::stream_truncated;
#endif
            if (c->timed_out) {
                ec = errc::timeout;
            } else if (eof && c->framing == body_framing::until_close) {
                ec = errc::end_of_stream;
            }
            return fail(c, ec);
        }
        arm_watchdog(c, options_.read_timeout);
        process_body(c, std::string_view(c->buffer.data(), n));
    }

    /// Feeds body bytes to the parser (handlers run from here), then reads on.
    void process_body(const connection_ptr& c, std::string_view data) {
        std::error_code ec;
        bool ended = false;
        switch (c->framing) {
            case body_framing::until_close:
                ec = feed(data);
                break;
            case body_framing::content_length: {
                const auto take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(c->remaining, data.size()));
                ec = feed(data.substr(0, take));
                c->remaining -= take;
                ended = c->remaining == 0;
                break;
            }
            case body_framing::chunked: {
                std::size_t consumed = 0;
                const auto decode_ec =
                    c->chunked.decode(data, consumed, [&](std::string_view piece) {
                        if (!ec && !closed_) ec = feed(piece);
                    });
                if (!ec) ec = decode_ec;
                ended = c->chunked.done();
                break;
            }
        }
        if (closed_) return;
        if (ec) return fail(c, ec);
        if (ended) return fail(c, errc::end_of_stream);
        read_body(c);
    }

    std::error_code feed(std::string_view data) {
        return parser_.feed(data, [this](const sse::event& e) { on_sse_event(e); });
    }

    // --- delivery (strand) --------------------------------------------------------------------

    void on_sse_event(const sse::event& e) {
        // The parser repeats the last id for an event without an `id:` line, so only an id that
        // differs from the previous event's is an id of this event, to deduplicate by.
        const bool new_id = !e.last_event_id.empty() && e.last_event_id != stream_last_id_;
        stream_last_id_.assign(e.last_event_id);
        if (e.type != "connected") failures_ = 0;  // the stream carries news: it is healthy
        if (e.type == "resync") return deliver_resync({e.type, e.data, e.last_event_id});
        if (e.type == "batch") return deliver_batch(e);
        // Reserved events may share an id with an application event (`connected` carries the
        // current position), so only application events are deduplicated.
        if (e.type != "connected" && new_id && !seen_.insert(e.last_event_id)) return;
        deliver({e.type, e.data, e.last_event_id});
    }

    void deliver_batch(const sse::event& e) {
        batch_items_.clear();
        if (parse_batch(e.data, batch_items_)) {
            return deliver({e.type, e.data, e.last_event_id});  // not crier's format: pass it on
        }
        for (const auto& item : batch_items_) {
            if (closed_) return;
            const event ev{item.type, item.data, item.id};
            if (item.type == "resync") {
                deliver_resync(ev);
                continue;
            }
            if (!item.id.empty() && !seen_.insert(item.id)) continue;
            deliver(ev);
        }
    }

    /// Holds the handler mutex for one delivery and marks this thread as dispatching for this
    /// source, so close() from a handler neither deadlocks nor waits for itself.
    class dispatch_scope {
    public:
        explicit dispatch_scope(event_source_impl& source)
            : lock_(source.handler_mutex_), previous_(dispatching_source) {
            dispatching_source = &source;
        }
        ~dispatch_scope() { dispatching_source = previous_; }
        dispatch_scope(const dispatch_scope&) = delete;
        dispatch_scope& operator=(const dispatch_scope&) = delete;

    private:
        std::lock_guard<std::mutex> lock_;
        const void* previous_;
    };

    // closed_ is checked under the mutex before every handler: close() on another thread either
    // waits for the handler running now or is seen by the next check.
    void deliver(const event& ev) {
        const dispatch_scope scope(*this);
        for (const auto& h : type_handlers_) {
            if (closed_) return;
            if (h.prefix ? ev.type.starts_with(h.type) : ev.type == h.type) h.fn(ev);
        }
        if (const auto colon = ev.type.find(':'); colon != std::string_view::npos) {
            const std::string_view module = ev.type.substr(0, colon);
            const std::string_view action = ev.type.substr(colon + 1);
            for (const auto& [name, fn] : module_handlers_) {
                if (closed_) return;
                if (name == module) fn(action, ev);
            }
        }
        for (const auto& fn : all_handlers_) {
            if (closed_) return;
            fn(ev);
        }
    }

    void deliver_resync(const event& ev) {
        const dispatch_scope scope(*this);
        for (const auto& fn : resync_handlers_) {
            if (closed_) return;
            fn(ev);
        }
    }

    void notify(const state_change& change) {
        const dispatch_scope scope(*this);
        for (const auto& fn : state_handlers_) {
            if (closed_) return;
            fn(change);
        }
    }

    // --- the watchdog: one timer enforces every phase's deadline (strand) ----------------------

    void arm_watchdog(const connection_ptr& c, std::chrono::milliseconds timeout) {
        deadline_ = steady_clock::now() + timeout;
        // A running wait that ends no later than the new deadline re-checks it when it fires:
        // moving the deadline forward on every read costs no timer operation.
        if (watchdog_armed_ && watchdog_expiry_ <= deadline_) return;
        start_watchdog(c);
    }

    void start_watchdog(const connection_ptr& c) {
        watchdog_armed_ = true;
        watchdog_expiry_ = deadline_;
        watchdog_.expires_at(deadline_);  // cancels a pending wait, whose generation is then stale
        watchdog_.async_wait([self = shared_from_this(), c,
                              generation = ++watchdog_generation_](std::error_code ec) {
            self->on_watchdog(c, generation, ec);  // calls no handler
        });
    }

    void on_watchdog(const connection_ptr& c, std::uint64_t generation, std::error_code ec) {
        if (generation != watchdog_generation_) return;
        watchdog_armed_ = false;
        if (ec || closed_ || c != conn_) return;
        if (steady_clock::now() < deadline_) return start_watchdog(c);
        // The pending operation completes with an error and sees timed_out.
        c->timed_out = true;
        resolver_.cancel();
        c->close();
    }

    void disarm_watchdog() {
        ++watchdog_generation_;
        watchdog_armed_ = false;
        watchdog_.cancel();
    }

    const asio::any_io_executor executor_;
    const event_source_options options_;
    strand_type strand_;
    tcp::resolver resolver_;
    asio::steady_timer watchdog_;
    asio::steady_timer retry_timer_;
#if defined(CRIER_ENABLE_SSL)
    std::unique_ptr<asio::ssl::context> tls_context_;
#endif

    url origin_;
    std::error_code config_error_;
    connection_ptr conn_;  // the current attempt, if any
    unsigned redirects_ = 0;
    bool cross_origin_ = false;  // this attempt was redirected to another origin
    unsigned failures_ = 0;      // consecutive failed or short-lived connections
    std::mt19937 rng_;

    steady_clock::time_point deadline_{};
    steady_clock::time_point watchdog_expiry_{};
    bool watchdog_armed_ = false;
    std::uint64_t watchdog_generation_ = 0;

    sse::parser parser_;
    std::string stream_last_id_;  // the id of the previous event of this stream
    recent_ids seen_;
    std::vector<batch_item> batch_items_;

    std::vector<type_handler> type_handlers_;
    std::vector<std::pair<std::string, event_source::module_handler>> module_handlers_;
    std::vector<event_source::event_handler> all_handlers_;
    std::vector<event_source::event_handler> resync_handlers_;
    std::vector<event_source::state_handler> state_handlers_;

    std::mutex handler_mutex_;  // held while a handler runs; see deliver()
    std::atomic<bool> closed_{false};
    std::atomic<bool> started_{false};
    std::atomic<bool> teardown_posted_{false};
    std::atomic<ready_state> state_{ready_state::connecting};
};

}  // namespace detail

CRIER_DECL event_source::event_source(const executor_type& executor, std::string_view url,
                                      event_source_options options)
    : impl_(std::make_shared<detail::event_source_impl>(executor, url, std::move(options))) {}

CRIER_DECL event_source::event_source(event_source&& other) noexcept = default;

CRIER_DECL event_source& event_source::operator=(event_source&& other) noexcept {
    if (this != &other) {
        close();
        impl_ = std::move(other.impl_);
    }
    return *this;
}

CRIER_DECL event_source::~event_source() {
    close();
}

CRIER_DECL void event_source::on(std::string type, event_handler handler) {
    if (impl_) impl_->add_type_handler(std::move(type), std::move(handler));
}

CRIER_DECL void event_source::on_module(std::string module, module_handler handler) {
    if (impl_) impl_->add_module_handler(std::move(module), std::move(handler));
}

CRIER_DECL void event_source::on_resync(event_handler handler) {
    if (impl_) impl_->add_resync_handler(std::move(handler));
}

CRIER_DECL void event_source::on_state(state_handler handler) {
    if (impl_) impl_->add_state_handler(std::move(handler));
}

CRIER_DECL void event_source::start() {
    if (impl_) impl_->start();
}

CRIER_DECL void event_source::close() noexcept {
    if (impl_) impl_->close();
}

CRIER_DECL ready_state event_source::state() const noexcept {
    return impl_ ? impl_->state() : ready_state::closed;
}

CRIER_DECL event_source::executor_type event_source::get_executor() const noexcept {
    return impl_ ? impl_->executor() : executor_type();
}

}  // namespace crier::client

#endif
