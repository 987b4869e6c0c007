// SPDX-License-Identifier: MIT
// crier::redis_backplane: several crier nodes on one Redis 7 behave as one hub. One Redis Stream
// carries every event with its channels; a Lua script takes the next seq (INCRBY) and appends
// the event under it (XADD, stream id `<seq>-0`) in one atomic step, so the stream's order is the
// cluster's order and seqs are consecutive. Each node reads the stream (XREAD BLOCK) and hands
// every event, its own included, to its hub in that order. Needs the crier::redis target
// (hiredis); never included by <crier/crier.hpp>.
#ifndef CRIER_BACKPLANE_REDIS_HPP
#define CRIER_BACKPLANE_REDIS_HPP

#include <crier/core/backplane.hpp>
#include <crier/error.hpp>
#include <crier/sse/event_id.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace crier {

/// A parsed `redis://[[user]:password@]host[:port][/db]` URL.
struct redis_url {
    std::string host = "127.0.0.1";  ///< name or address (IPv6 in brackets in the URL)
    std::uint16_t port = 6379;       ///< TCP port
    std::string user = {};           ///< ACL user (Redis 6+); empty: the default user
    std::string password = {};       ///< empty: no AUTH
    unsigned db = 0;                 ///< SELECTed database
};

/// Parses a Redis URL (percent-escapes in user and password are decoded); nullopt when `text` is
/// not one.
[[nodiscard]] inline std::optional<redis_url> parse_redis_url(std::string_view text);

/// What a node does with a publish while Redis cannot be reached (redis_options::when_away).
enum class away_mode : std::uint8_t {
    /// The publish fails at once with errc::backplane_unavailable (the publish route answers
    /// 503 with Retry-After): nothing is delivered, not even here. For publishers that retry,
    /// or that must never reach only part of the cluster.
    refuse,
    /// The publish is delivered to this node's subscribers at once, under an id of an epoch of
    /// this node's own for the outage, and reported as publish_scope::local (the route answers
    /// 200 with `"scope":"local"`). It is never forwarded to the other nodes, not even when
    /// Redis returns; its id is foreign on every node, so a resume from it gets `resync`.
    local,
};

/// How a redis_backplane connects and what it keeps in Redis.
struct redis_options {
    /// `redis://[[user]:password@]host[:port][/db]`. Default: redis://127.0.0.1:6379.
    std::string url = "redis://127.0.0.1:6379";
    /// Keys are `{prefix}:epoch`, `{prefix}:seq`, `{prefix}:life`, `{prefix}:log` (the stream)
    /// and `{prefix}:dedup:<key>` (one hash slot, so Redis Cluster takes them). Nodes with the
    /// same prefix on the same Redis form one hub. Default: "crier".
    std::string key_prefix = "crier";
    /// This node's name: CLIENT SETNAME (letters, digits, `.`, `_`, `-`), logs. Default: none.
    std::string node_name = {};
    /// Connecting (TCP, AUTH, SELECT, the epoch) must finish within this. Default: 2 s.
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(2);
    /// A command without a reply for this long fails, and the connection is dropped and made
    /// again (a Redis that stopped answering). Default: 2 s.
    std::chrono::milliseconds command_timeout = std::chrono::seconds(2);
    /// First wait before reconnecting; doubles up to reconnect_max. Default: 100 ms.
    std::chrono::milliseconds reconnect_min = std::chrono::milliseconds(100);
    /// Longest wait before reconnecting. Default: 5 s.
    std::chrono::milliseconds reconnect_max = std::chrono::seconds(5);
    /// Events the stream keeps at least (XADD MAXLEN ~; Redis trims whole blocks past it): the
    /// history any node can replay from Redis. There is no byte bound: Redis holds about this
    /// many times the average event. Default: 10000.
    std::size_t log_events = 10000;
    /// Events older than this are not replayed from the stream (the local rings' age bound).
    /// Default: 1 hour.
    std::chrono::milliseconds log_max_age = std::chrono::hours(1);
    /// Events read per XREAD. Default: 512.
    std::size_t read_count = 512;
    /// How long one XREAD waits for new events before it is sent again. Default: 1 s.
    std::chrono::milliseconds read_block = std::chrono::seconds(1);
    /// What a publish does while Redis is away (see redis_backplane, "Failure"). Default:
    /// away_mode::local. A node's own users keep working through a Redis outage (the scale-out
    /// promise: each node keeps serving its local connections and local publishes), and the
    /// publisher is told its event reached this node only; away_mode::refuse for publishers
    /// that would rather retry than reach part of the cluster.
    away_mode when_away = away_mode::local;
};

namespace detail {

/// hiredis's event hooks on an Asio descriptor: hiredis says when it wants to read or write,
/// the descriptor's async_wait tells it when it can. hiredis owns the socket (it closes it);
/// the descriptor only watches it, and is released in hiredis's cleanup hook.
class redis_watch : public std::enable_shared_from_this<redis_watch> {
public:
    redis_watch(asio::io_context& io, redisAsyncContext* ac) : descriptor_(io), ac_(ac) {}

    /// Installs the hooks on `ac`; false when its socket cannot be watched.
    static bool attach(redisAsyncContext* ac, asio::io_context& io) noexcept {
        try {
            auto watch = std::make_shared<redis_watch>(io, ac);
            watch->descriptor_.assign(ac->c.fd);
            ac->ev.data = new std::shared_ptr<redis_watch>(std::move(watch));
        } catch (...) {
            return false;
        }
        ac->ev.addRead = [](void* p) {
            get(p).want_read_ = true;
            get(p).arm(true);
        };
        ac->ev.delRead = [](void* p) { get(p).want_read_ = false; };
        ac->ev.addWrite = [](void* p) {
            get(p).want_write_ = true;
            get(p).arm(false);
        };
        ac->ev.delWrite = [](void* p) { get(p).want_write_ = false; };
        ac->ev.cleanup = [](void* p) {
            auto* holder = static_cast<std::shared_ptr<redis_watch>*>(p);
            (*holder)->close();
            delete holder;
        };
        return true;
    }

private:
    static redis_watch& get(void* p) { return **static_cast<std::shared_ptr<redis_watch>*>(p); }

    void arm(bool reading) {
        bool& waiting = reading ? reading_ : writing_;
        if (waiting || ac_ == nullptr) return;
        waiting = true;
        descriptor_.async_wait(
            reading ? asio::posix::descriptor_base::wait_read
                    : asio::posix::descriptor_base::wait_write,
            [self = shared_from_this(), reading](const std::error_code& ec) {
                (reading ? self->reading_ : self->writing_) = false;
                const bool wanted = reading ? self->want_read_ : self->want_write_;
                if (ec || self->ac_ == nullptr || !wanted) return;
                // May free the context: cleanup then clears ac_.
                if (reading) {
                    redisAsyncHandleRead(self->ac_);
                } else {
                    redisAsyncHandleWrite(self->ac_);
                }
                if (self->ac_ != nullptr && (reading ? self->want_read_ : self->want_write_)) {
                    self->arm(reading);
                }
            });
    }

    void close() noexcept {
        ac_ = nullptr;
        want_read_ = want_write_ = false;
        std::error_code ignored;
        descriptor_.cancel(ignored);
        static_cast<void>(descriptor_.release());  // hiredis closes the socket itself
    }

    asio::posix::stream_descriptor descriptor_;
    redisAsyncContext* ac_;
    bool want_read_ = false;
    bool want_write_ = false;
    bool reading_ = false;  // an async_wait for reading is in flight
    bool writing_ = false;
};

/// One command in flight: its completion runs exactly once, with the reply, or with null when
/// the connection went away or the command timed out.
struct redis_op {
    explicit redis_op(asio::io_context& io) : timer(io) {}
    std::function<void(redisReply*)> done;
    asio::steady_timer timer;
    bool finished = false;

    void finish(redisReply* reply) {
        if (finished) return;
        finished = true;
        timer.cancel();
        auto d = std::move(done);
        d(reply);
    }
};

/// A caller's thread waiting for the I/O thread's answer.
template <typename T>
class redis_wait {
public:
    void set(T value) {
        {
            std::lock_guard lock(mutex_);
            if (value_) return;
            value_ = std::move(value);
        }
        cv_.notify_all();
    }
    /// The answer (moved out: call once), or nullopt past `timeout`.
    std::optional<T> get(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, timeout, [&] { return value_.has_value(); });
        return std::move(value_);
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::optional<T> value_;
};

/// One stream entry, parsed (views into the reply, or into an owned copy).
struct redis_entry {
    std::uint64_t seq = 0;
    std::uint32_t items = 0;
    std::int64_t ms = 0;
    std::string_view channels;  // names, each followed by '\n'
    std::string_view type;
    std::string_view data;
    /// A marker, not an event: seqs (seq - items .. seq) reserved by a node that published
    /// locally while Redis was away, so that no cluster id repeats one of its local seqs.
    bool skip = false;
};

inline std::string_view reply_text(const redisReply* r) {
    if (r == nullptr || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS &&
                         r->type != REDIS_REPLY_ERROR)) {
        return {};
    }
    return {r->str, r->len};
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

/// `[id, [field, value, ...]]` of XREAD or XRANGE; false when it is not one of crier's.
inline bool parse_entry(const redisReply* e, redis_entry& out) {
    if (e == nullptr || e->type != REDIS_REPLY_ARRAY || e->elements != 2) return false;
    const std::string_view id = reply_text(e->element[0]);
    const std::size_t dash = id.find('-');
    if (dash == std::string_view::npos || !parse_number(id.substr(0, dash), out.seq)) return false;
    const redisReply* fields = e->element[1];
    if (fields == nullptr || fields->type != REDIS_REPLY_ARRAY) return false;
    bool has_type = false;
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
        const std::string_view name = reply_text(fields->element[i]);
        const std::string_view value = reply_text(fields->element[i + 1]);
        if (name == "c") {
            out.channels = value;
        } else if (name == "t") {
            out.type = value;
            has_type = true;
        } else if (name == "d") {
            out.data = value;
        } else if (name == "ms") {
            if (!parse_number(value, out.ms)) return false;
        } else if (name == "n") {
            if (!parse_number(value, out.items) || out.items >= out.seq) return false;
        } else if (name == "skip") {
            out.skip = value == "1";
        }
    }
    return out.skip || (has_type && !out.channels.empty() && out.channels.back() == '\n');
}

/// Splits `a\nb\n` into its names.
inline void split_channels(std::string_view joined, std::vector<std::string_view>& out) {
    out.clear();
    while (!joined.empty()) {
        const std::size_t lf = joined.find('\n');
        out.push_back(joined.substr(0, lf));
        joined.remove_prefix(lf + 1);
    }
}

inline std::string percent_decode_credential(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned v = 0;
        if (text[i] == '%' && i + 2 < text.size() &&
            std::from_chars(text.data() + i + 1, text.data() + i + 3, v, 16).ptr ==
                text.data() + i + 3) {
            out.push_back(static_cast<char>(v));
            i += 2;
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

// Orders one event: the cluster-wide dedup check, the next seq (a batch reserves its items'
// seqs below its own) and the append under that seq, atomically. KEYS: seq, log, dedup,
// epoch. ARGV: epoch, items, channels, type, data, ms, log_events, dedup (0/1), window ms.
inline constexpr std::string_view redis_publish_script = R"lua(
if redis.call('GET', KEYS[4]) ~= ARGV[1] then
  return redis.error_reply('CRIEREPOCH the epoch in Redis changed')
end
if ARGV[8] == '1' then
  local first = redis.call('GET', KEYS[3])
  if first then return {0, tonumber(first)} end
end
local seq = redis.call('INCRBY', KEYS[1], tonumber(ARGV[2]) + 1)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], string.format('%d-0', seq),
           'c', ARGV[3], 't', ARGV[4], 'd', ARGV[5], 'ms', ARGV[6], 'n', ARGV[2])
if ARGV[8] == '1' then redis.call('SET', KEYS[3], string.format('%d', seq), 'PX', ARGV[9]) end
return {1, seq}
)lua";

// Joins the cluster: reads the epoch, or sets it (a fresh Redis, or one that lost its data:
// then the counter moves past what this node saw, plus a margin for ids handed out that no
// node read, so no id is ever reused). `life` changes with every such restart, so the other
// nodes learn that events may be gone. A node that published locally while away has seqs past
// the counter: the counter moves past them, and a `skip` marker in the stream covers the seqs
// it jumps, so the other nodes see no gap. KEYS: epoch, seq, life, log. ARGV: epoch candidate,
// the newest seq used here, life candidate, margin, log_events, now (ms).
inline constexpr std::string_view redis_hello_script = R"lua(
local e = redis.call('GET', KEYS[1])
local l = redis.call('GET', KEYS[3])
local known = tonumber(ARGV[2])
local fresh = not e
if fresh then
  e = ARGV[1]
  l = ARGV[3]
  redis.call('SET', KEYS[1], e)
  redis.call('SET', KEYS[3], l)
  if known > 0 then known = known + tonumber(ARGV[4]) end
end
local s = tonumber(redis.call('GET', KEYS[2]) or '0')
if s < known then
  if not fresh then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], string.format('%d-0', known),
               'skip', '1', 'n', string.format('%d', known - s - 1), 'ms', ARGV[6])
  end
  s = known
  redis.call('SET', KEYS[2], string.format('%d', s))
end
return {e, string.format('%d', s), l}
)lua";

}  // namespace detail

/// A backplane on Redis 7 (hiredis's async API on an Asio I/O thread of its own): every node
/// with the same Redis and key prefix shares one epoch, one seq and one order.
///
/// - **Ordering:** publish() runs one Lua script (next seq, XADD `<seq>-0`) and waits for its
///   reply (a loopback round trip); the event reaches every node's hub, this one's included,
///   through the node's reader (XREAD BLOCK), in stream order, which is seq order.
/// - **History:** the stream keeps redis_options::log_events events; read_log() serves the
///   hub's replays that local history cannot (XRANGE).
/// - **Dedup:** a publisher's dedup key is `SET ... PX window` in the same script: a key seen on
///   any node suppresses the same key on every other node within the window.
/// - **Status:** connected, errors, reconnects, and lag: the newest seq this node knows was
///   ordered (its own publishes, its reads, a catch_up()) minus the newest it delivered.
/// - **Failure:** while Redis is unreachable status() says disconnected (stats, `/metrics`;
///   `/health` says "degraded", not down), local streams stay open, and the connection is made
///   again with backoff. What a publish does meanwhile is the node's redis_options::when_away:
///
///   - away_mode::local (the default). *While away:* the event reaches this node's
///     subscribers at once, under an id of a node-local epoch for the outage; it is never
///     forwarded. *The publisher is told:* success with publish_scope::local (the route: 200
///     with `"scope":"local"`), counted in stats (`localPublishes`) and `/metrics`
///     (`crier_backplane_local_publishes_total`). *On return:* every stream on this node gets
///     one `resync` ("backplane_rejoined": it may have missed cluster events, and its position
///     is local); ids are the cluster's again; nothing from the outage is replayed across.
///   - away_mode::refuse. *While away:* nothing is delivered anywhere. *The publisher is
///     told:* errc::backplane_unavailable (the route: 503 with Retry-After: 1). *On return:*
///     the events ordered meanwhile are read in order: a complete replay, no `resync`.
///
///   In both modes, when events are gone on return (Redis restarted without them, or trimmed
///   them before this node read them) every stream gets `resync` ("backplane_lost",
///   "backplane_gap"), exactly once. A publish whose reply does not come within
///   command_timeout is reported failed although Redis may have ordered it: publish with a
///   dedup key to retry it safely. A publish in the instant the node rejoins (between Redis
///   answering and the node being up) is refused in both modes, never lost.
///
///   While away in local mode, dedup and rate limits are this node's alone: a dedup key is
///   remembered here (a repeat here is a duplicate, a repeat on another node is published),
///   and nothing is told to Redis on return. A Last-Event-ID from the outage is foreign on
///   every node, this one included: `resync`, never a replay; so is a cluster id past the
///   last cluster event this node delivered (a client from a node that is still connected).
///
/// @par Thread Safety
/// Every member function may be called from any thread, except that publish(), read_log() and
/// catch_up() fail at once when called on its own I/O thread: from inside the hub's delivery,
/// e.g. a subscription's on_ready or a presence hook that publishes. Deliveries and `resync`s
/// reach the hub on that thread.
class redis_backplane final : public backplane {
public:
    /// Connects (waiting up to connect_timeout) and joins the cluster's epoch. Throws
    /// std::system_error: errc::invalid_url, or errc::backplane_unavailable when Redis cannot
    /// be reached and joined in time.
    explicit redis_backplane(redis_options options = {})
        : options_(std::move(options)),
          url_(parse_redis_url(options_.url)),
          seq_key_("{" + options_.key_prefix + "}:seq"),
          log_key_("{" + options_.key_prefix + "}:log"),
          epoch_key_("{" + options_.key_prefix + "}:epoch"),
          life_key_("{" + options_.key_prefix + "}:life"),
          dedup_prefix_("{" + options_.key_prefix + "}:dedup:"),
          work_(asio::make_work_guard(io_)),
          connect_timer_(io_),
          retry_timer_(io_),
          backoff_(options_.reconnect_min) {
        if (!url_) detail::throw_error(errc::invalid_url, "redis_backplane");
        thread_ = std::thread([this] { io_.run(); });
        asio::post(io_, [this] { connect(); });
        auto joined = first_up_.get(options_.connect_timeout + std::chrono::milliseconds(500));
        if (!joined || !*joined) {
            shutdown();
            detail::throw_error(errc::backplane_unavailable, "redis_backplane: cannot join");
        }
    }

    /// Closes the connections and stops the I/O thread.
    ~redis_backplane() override { shutdown(); }

    redis_backplane(const redis_backplane&) = delete;
    redis_backplane& operator=(const redis_backplane&) = delete;

    [[nodiscard]] std::uint64_t epoch() const noexcept override { return epoch_; }

    /// The newest event delivered here (a hub made now continues from it).
    [[nodiscard]] sse::event_id last_id() const noexcept override {
        return {epoch_, last_read_.load(std::memory_order_acquire)};
    }

    void attach(backplane_sink* sink) noexcept override {
        {
            std::lock_guard lock(sink_mutex_);
            sink_ = sink;
        }
        if (sink != nullptr) {
            // Reading starts with the first sink: until then last_id() stays where a new hub
            // starts, so it misses nothing.
            asio::post(io_, [this] {
                want_read_ = true;
                start_read();
            });
        }
    }

    std::error_code publish(backplane_event& ev) noexcept override {
        if (on_io_thread()) return errc::backplane_unavailable;
        if (!up_.load(std::memory_order_acquire)) return publish_away(ev);
        try {
            std::string channels;
            for (std::string_view c : ev.channels) channels.append(c).push_back('\n');
            const auto ms =
                std::chrono::duration_cast<std::chrono::milliseconds>(ev.time.time_since_epoch())
                    .count();
            const bool dedup = !ev.dedup_key.empty();
            std::vector<std::string> args{
                "EVALSHA",
                publish_sha_,
                "4",
                seq_key_,
                log_key_,
                dedup ? dedup_prefix_ + std::string(ev.dedup_key) : seq_key_,
                epoch_key_,
                epoch_text_,
                std::to_string(ev.items),
                std::move(channels),
                std::string(ev.type),
                std::string(ev.data),
                std::to_string(ms),
                std::to_string(std::max<std::size_t>(options_.log_events, 1)),
                dedup ? "1" : "0",
                std::to_string(std::max<std::int64_t>(ev.dedup_window.count(), 1))};
            struct outcome {
                std::uint64_t seq = 0;
                bool duplicate = false;
                bool ok = false;
                bool unsent = false;  // Redis went away before it was sent: not ordered
            };
            auto wait = std::make_shared<detail::redis_wait<outcome>>();
            asio::post(io_, [this, wait, args = std::move(args)] {
                if (phase_ != phase::up) return wait->set({.unsent = true});
                send(cmd_, args, options_.command_timeout, [this, wait](redisReply* r) {
                    outcome o;
                    if (r != nullptr && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                        r->element[0]->type == REDIS_REPLY_INTEGER &&
                        r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer > 0) {
                        o.ok = true;
                        o.duplicate = r->element[0]->integer == 0;
                        o.seq = static_cast<std::uint64_t>(r->element[1]->integer);
                        raise_head(o.seq);
                    } else if (r != nullptr) {
                        fail();  // the epoch changed, or a script error: join again
                    }
                    wait->set(o);
                });
            });
            const auto got = wait->get(options_.command_timeout + std::chrono::milliseconds(500));
            if (got && got->unsent) return publish_away(ev);
            if (!got || !got->ok) return errc::backplane_unavailable;
            ev.id = {epoch_, got->seq};
            ev.duplicate = got->duplicate;
            return {};
        } catch (...) {
            return std::make_error_code(std::errc::not_enough_memory);
        }
    }

    bool catch_up(std::uint64_t seq) noexcept override {
        if (last_read_.load(std::memory_order_acquire) >= seq) return true;
        if (!up_.load(std::memory_order_acquire) || on_io_thread()) return false;
        try {
            // Ordered at all? (A foreign or made-up id must not make the client wait.)
            auto wait = std::make_shared<detail::redis_wait<std::uint64_t>>();
            asio::post(io_, [this, wait] {
                if (phase_ != phase::up) return wait->set(0);
                send(cmd_, {"GET", seq_key_}, options_.command_timeout, [wait](redisReply* r) {
                    std::uint64_t head = 0;
                    if (!detail::parse_number(detail::reply_text(r), head)) head = 0;
                    wait->set(head);
                });
            });
            const auto head = wait->get(options_.command_timeout + std::chrono::milliseconds(500));
            if (!head || *head < seq) return false;
            raise_head(*head);
            std::unique_lock lock(read_mutex_);
            return read_cv_.wait_for(lock, options_.command_timeout, [&] {
                return last_read_.load(std::memory_order_acquire) >= seq;
            });
        } catch (...) {
            return false;
        }
    }

    [[nodiscard]] backplane_status status() const noexcept override {
        const std::uint64_t read = last_read_.load(std::memory_order_acquire);
        const std::uint64_t head = head_.load(std::memory_order_acquire);
        return {.connected = up_.load(std::memory_order_acquire),
                .lag = head > read ? head - read : 0,
                .errors = errors_.load(std::memory_order_relaxed),
                .reconnects = reconnects_.load(std::memory_order_relaxed),
                .when_away = options_.when_away == away_mode::local ? "local" : "refuse",
                .local_publishes = local_publishes_.load(std::memory_order_relaxed)};
    }

    backplane_log read_log(
        std::uint64_t since,
        const std::function<void(const backplane_event&)>& each) noexcept override {
        backplane_log out{.complete = true, .until = since};
        if (!up_.load(std::memory_order_acquire) || on_io_thread()) return {false, since};
        try {
            const auto oldest = std::chrono::system_clock::now() - options_.log_max_age;
            const std::int64_t oldest_ms =
                options_.log_max_age > std::chrono::milliseconds::zero()
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(
                          oldest.time_since_epoch())
                          .count()
                    : 0;
            constexpr std::size_t page = 1000;
            std::vector<std::string_view> channels;
            std::uint64_t from = since;
            bool first = true;
            // The stream holds about log_events: never read much past that.
            for (std::size_t total = 0; total <= options_.log_events + page;) {
                auto entries = read_page(from, page);
                if (!entries) return {false, since};
                for (const owned_entry& o : *entries) {
                    const detail::redis_entry e = o.entry();
                    // The first event after `since` must still be there, and young enough.
                    if (first && e.seq - e.items > since + 1) return {false, since};
                    first = false;
                    if (e.ms < oldest_ms) return {false, since};
                    out.until = e.seq;
                    if (e.skip) continue;  // seqs no event took
                    detail::split_channels(e.channels, channels);
                    const backplane_event ev{.id = {epoch_, e.seq},
                                             .channels = channels,
                                             .type = e.type,
                                             .data = e.data,
                                             .time = time_of(e.ms),
                                             .items = e.items};
                    each(ev);
                }
                total += entries->size();
                if (entries->size() < page) break;
                from = entries->back().fields.seq;
            }
            return out;
        } catch (...) {
            return {false, since};
        }
    }

    /// The node name it was given.
    [[nodiscard]] const std::string& node_name() const noexcept { return options_.node_name; }

private:
    enum class phase { down, connecting, up, stopping };

    struct link {
        redisAsyncContext* ac = nullptr;
        bool ready = false;  // handshake done
    };

    /// An entry that owns its text (read_log hands it to another thread): sizes, not views,
    /// so it can be moved and copied.
    struct owned_entry {
        std::string text;  // channels, type, data
        detail::redis_entry fields;
        std::size_t channels_size = 0;
        std::size_t type_size = 0;

        [[nodiscard]] detail::redis_entry entry() const {
            const std::string_view t = text;
            detail::redis_entry e = fields;
            e.channels = t.substr(0, channels_size);
            e.type = t.substr(channels_size, type_size);
            e.data = t.substr(channels_size + type_size);
            return e;
        }
    };

    /// A publish while Redis is away: refused, or (away_mode::local) delivered to this node's
    /// sink only. Its seq is above every seq delivered here or known ordered, so the hub's order
    /// and its subscriptions' positions hold and no cluster id names it; its epoch is the
    /// outage's, so its id means nothing elsewhere.
    std::error_code publish_away(backplane_event& ev) noexcept {
        if (options_.when_away != away_mode::local) return errc::backplane_unavailable;
        std::lock_guard lock(sink_mutex_);
        // Rejoining: the cluster's counter is being moved past the local seqs; none may follow.
        if (up_.load(std::memory_order_acquire) || rejoining_ || sink_ == nullptr) {
            return errc::backplane_unavailable;
        }
        if (outage_epoch_ == 0) {
            try {
                std::random_device random;
                do {
                    outage_epoch_ =
                        ((std::uint64_t{random()} << 32) ^ random()) & 0xffff'ffff'ffffu;
                } while (outage_epoch_ == 0 || outage_epoch_ == epoch_);
            } catch (...) {  // no entropy source: refuse rather than reuse an epoch
                outage_epoch_ = 0;
                return errc::backplane_unavailable;
            }
        }
        // Above every seq known ordered too: an event this node published just before Redis
        // went away may not have been read back yet, and its seq is the cluster's.
        const std::uint64_t seq =
            std::max({last_read_.load(), head_.load(), local_top_}) + ev.items + 1;
        ev.id = {outage_epoch_, seq};
        ev.local = true;
        local_top_ = seq;
        local_publishes_.fetch_add(1, std::memory_order_relaxed);
        sink_->deliver(ev);
        return {};
    }

    [[nodiscard]] bool on_io_thread() const noexcept {
        return std::this_thread::get_id() == thread_.get_id();
    }

    static std::chrono::system_clock::time_point time_of(std::int64_t ms) {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::milliseconds(ms)));
    }

    void raise_head(std::uint64_t seq) noexcept {
        std::uint64_t head = head_.load(std::memory_order_relaxed);
        while (head < seq && !head_.compare_exchange_weak(head, seq)) {
        }
    }

    // -- I/O thread: connections -------------------------------------------------------------

    /// Sends one command; `done` runs once, with the reply or null (failure, timeout).
    void send(link& l, const std::vector<std::string>& args, std::chrono::milliseconds timeout,
              std::function<void(redisReply*)> done) {
        auto op = std::make_shared<detail::redis_op>(io_);
        op->done = std::move(done);
        if (l.ac == nullptr) return op->finish(nullptr);
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        argv.reserve(args.size());
        lens.reserve(args.size());
        for (const std::string& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* holder = new std::shared_ptr<detail::redis_op>(op);
        if (redisAsyncCommandArgv(l.ac, &on_reply, holder, static_cast<int>(argv.size()),
                                  argv.data(), lens.data()) != REDIS_OK) {
            delete holder;
            return op->finish(nullptr);
        }
        op->timer.expires_after(timeout);
        op->timer.async_wait([this, op](const std::error_code& ec) {
            if (ec || op->finished) return;
            op->finish(nullptr);
            fail();  // a Redis that does not answer: drop the connection, make it again
        });
    }

    static void on_reply(redisAsyncContext* /*ac*/, void* reply, void* privdata) {
        auto* holder = static_cast<std::shared_ptr<detail::redis_op>*>(privdata);
        const std::shared_ptr<detail::redis_op> op = std::move(*holder);
        delete holder;
        op->finish(static_cast<redisReply*>(reply));
    }

    static void on_connect(const redisAsyncContext* ac, int status) {
        if (status == REDIS_OK) return;
        auto* self = static_cast<redis_backplane*>(ac->data);
        self->forget(ac);  // hiredis frees it after this returns
        self->fail();
    }

    static void on_disconnect(const redisAsyncContext* ac, int /*status*/) {
        auto* self = static_cast<redis_backplane*>(ac->data);
        if (self->forget(ac)) self->fail();  // else: freed by fail() itself
    }

    bool forget(const redisAsyncContext* ac) {
        for (link* l : {&cmd_, &rd_}) {
            if (l->ac == ac) {
                l->ac = nullptr;
                return true;
            }
        }
        return false;
    }

    void connect() {
        if (phase_ == phase::stopping) return;
        phase_ = phase::connecting;
        const std::uint64_t gen = ++gen_;
        for (link* l : {&cmd_, &rd_}) {
            redisAsyncContext* ac = redisAsyncConnect(url_->host.c_str(), url_->port);
            if (ac == nullptr) return fail();
            if (ac->err != 0 || !detail::redis_watch::attach(ac, io_)) {
                redisAsyncFree(ac);
                return fail();
            }
            ac->data = this;
            redisAsyncSetConnectCallback(ac, &on_connect);
            redisAsyncSetDisconnectCallback(ac, &on_disconnect);
            *l = {.ac = ac, .ready = false};
        }
        connect_timer_.expires_after(options_.connect_timeout);
        connect_timer_.async_wait([this, gen](const std::error_code& ec) {
            if (!ec && gen == gen_ && phase_ == phase::connecting) fail();
        });
        // Commands queue in hiredis until the socket connects.
        handshake(cmd_, gen, [this, gen] { hello(gen); });
        handshake(rd_, gen, [this, gen] {
            rd_.ready = true;
            maybe_up(gen);
        });
    }

    /// AUTH, SELECT, CLIENT SETNAME as configured, then PING; `next` after the PING's reply.
    void handshake(link& l, std::uint64_t gen, std::function<void()> next) {
        auto check = [this, gen](redisReply* r) {
            if (gen != gen_) return false;
            if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
                fail();
                return false;
            }
            return true;
        };
        auto step = [check](redisReply* r) { check(r); };
        if (!url_->password.empty()) {
            if (url_->user.empty()) {
                send(l, {"AUTH", url_->password}, options_.connect_timeout, step);
            } else {
                send(l, {"AUTH", url_->user, url_->password}, options_.connect_timeout, step);
            }
        }
        if (url_->db != 0) {
            send(l, {"SELECT", std::to_string(url_->db)}, options_.connect_timeout, step);
        }
        const std::string& name = options_.node_name;
        if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' ||
                       c == '-';
            })) {
            send(l, {"CLIENT", "SETNAME", "crier-" + name}, options_.connect_timeout, step);
        }
        send(l, {"PING"}, options_.connect_timeout, [check, next = std::move(next)](redisReply* r) {
            if (check(r)) next();
        });
    }

    void hello(std::uint64_t gen) {
        // Publishes send the script's SHA1, not its text (a Redis that restarted has no scripts:
        // loaded again on every connect; the SHA1 of the same text never changes).
        send(cmd_, {"SCRIPT", "LOAD", std::string(detail::redis_publish_script)},
             options_.connect_timeout, [this, gen](redisReply* r) {
                 if (gen != gen_) return;
                 const std::string_view sha = detail::reply_text(r);
                 if (r == nullptr || r->type != REDIS_REPLY_STRING || sha.empty()) return fail();
                 if (publish_sha_.empty()) publish_sha_ = sha;  // before the first up_
             });
        const std::uint64_t candidate = epoch_ != 0 ? epoch_ : random_bits() & 0xffff'ffff'ffffu;
        // The newest seq used here, local ones included: the counter moves past it. No local
        // publish may follow until this node is up (or fails again).
        std::uint64_t known = 0;
        {
            std::lock_guard lock(sink_mutex_);
            rejoining_ = true;
            known = std::max(last_read_.load(), local_top_);
        }
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        send(
            cmd_,
            {"EVAL", std::string(detail::redis_hello_script), "4", epoch_key_, seq_key_, life_key_,
             log_key_, std::to_string(candidate == 0 ? 1 : candidate), std::to_string(known),
             std::to_string(random_bits()), std::to_string(std::uint64_t{1} << 20),
             std::to_string(std::max<std::size_t>(options_.log_events, 1)), std::to_string(now_ms)},
            options_.connect_timeout, [this, gen, known](redisReply* r) {
                if (gen != gen_) return;
                std::uint64_t epoch = 0;
                std::uint64_t seq = 0;
                if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
                    !detail::parse_number(detail::reply_text(r->element[0]), epoch) ||
                    !detail::parse_number(detail::reply_text(r->element[1]), seq) ||
                    (epoch_ != 0 && epoch != epoch_)) {
                    // A different epoch: this node's hub cannot change its own; it stays
                    // degraded until restarted.
                    return fail();
                }
                const std::string life(detail::reply_text(r->element[2]));
                if (epoch_ == 0) {
                    epoch_ = epoch;
                    epoch_text_ = std::to_string(epoch);
                    last_read_.store(seq, std::memory_order_release);
                } else if (life != life_) {
                    lost_ = true;  // Redis lost its data: events may be gone
                }
                life_ = life;
                // Cluster events up to the local seqs were ordered while this node published
                // alone: not delivered here (their seqs are taken); its streams get `resync`.
                skip_through_ = std::max(skip_through_, known);
                raise_head(seq);
                cmd_.ready = true;
                maybe_up(gen);
            });
    }

    void maybe_up(std::uint64_t gen) {
        if (gen != gen_ || !cmd_.ready || !rd_.ready) return;
        connect_timer_.cancel();
        phase_ = phase::up;
        backoff_ = options_.reconnect_min;
        if (ever_up_) reconnects_.fetch_add(1, std::memory_order_relaxed);
        ever_up_ = true;
        {
            std::lock_guard lock(sink_mutex_);
            up_.store(true, std::memory_order_release);
            rejoining_ = false;
            // Local publishes while away: the streams here may have missed cluster events, and
            // their positions are in the outage's epoch. One `resync` each, whichever the cause.
            const bool published_alone = std::exchange(outage_epoch_, 0) != 0;
            const char* reason = lost_             ? "backplane_lost"
                                 : published_alone ? "backplane_rejoined"
                                                   : nullptr;
            if (lost_) {
                lost_ = false;
                skip_gap_ = true;  // the first event after it is not a second loss
            }
            if (reason != nullptr && sink_ != nullptr) sink_->lost_continuity(reason);
        }
        first_up_.set(true);
        start_read();
    }

    /// Drops both connections (their pending commands complete with null) and schedules the
    /// next attempt.
    void fail() {
        if (phase_ == phase::stopping) return;
        if (phase_ == phase::down) return;
        errors_.fetch_add(1, std::memory_order_relaxed);
        close_links();
        phase_ = phase::down;
        {
            std::lock_guard lock(sink_mutex_);
            rejoining_ = false;  // local publishes (away_mode::local) resume in the same outage
        }
        std::uniform_int_distribution<long long> jitter(0, backoff_.count() / 2);
        retry_timer_.expires_after(backoff_ + std::chrono::milliseconds(jitter(rng_)));
        backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
        retry_timer_.async_wait([this](const std::error_code& ec) {
            if (!ec) connect();
        });
    }

    void close_links() {
        ++gen_;  // every reply from here on belongs to the old connections
        up_.store(false, std::memory_order_release);
        reading_ = false;
        for (link* l : {&cmd_, &rd_}) {
            redisAsyncContext* ac = std::exchange(l->ac, nullptr);
            l->ready = false;
            if (ac != nullptr) redisAsyncFree(ac);  // deferred by hiredis inside its callback
        }
    }

    void shutdown() {
        asio::post(io_, [this] {
            phase_ = phase::stopping;
            connect_timer_.cancel();
            retry_timer_.cancel();
            close_links();
        });
        work_.reset();
        if (thread_.joinable()) thread_.join();
    }

    std::uint64_t random_bits() { return (std::uint64_t{rng_()} << 32) ^ rng_(); }

    // -- I/O thread: reading the stream --------------------------------------------------------

    void start_read() {
        if (phase_ != phase::up || !want_read_ || reading_) return;
        reading_ = true;
        const std::uint64_t gen = gen_;
        send(rd_,
             {"XREAD", "COUNT", std::to_string(std::max<std::size_t>(options_.read_count, 1)),
              "BLOCK", std::to_string(options_.read_block.count()), "STREAMS", log_key_,
              std::to_string(last_read_.load()) + "-0"},
             options_.read_block + options_.command_timeout, [this, gen](redisReply* r) {
                 if (gen != gen_) return;
                 reading_ = false;
                 if (r == nullptr || r->type == REDIS_REPLY_ERROR) return fail();
                 if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                     r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
                     const redisReply* entries = r->element[0]->element[1];
                     for (std::size_t i = 0; entries != nullptr && i < entries->elements; ++i) {
                         deliver(entries->element[i]);
                     }
                 }
                 start_read();
             });
    }

    void deliver(const redisReply* raw) {
        detail::redis_entry e;
        if (!detail::parse_entry(raw, e)) {
            // Not crier's (or damaged): skipping it silently would hide a loss.
            errors_.fetch_add(1, std::memory_order_relaxed);
            std::lock_guard lock(sink_mutex_);
            if (sink_ != nullptr) sink_->lost_continuity("backplane_gap");
            if (e.seq > last_read_.load()) advance(e.seq);
            return;
        }
        std::lock_guard lock(sink_mutex_);
        const std::uint64_t last = last_read_.load(std::memory_order_relaxed);
        if (e.seq <= last) return;  // read again after a reconnect
        raise_head(e.seq);
        if (e.seq <= skip_through_) {  // its seq was used locally; the streams were resynced
            advance(e.seq);
            return;
        }
        const std::uint64_t expected = std::max(last, skip_through_) + 1;
        const bool gap = e.seq - e.items > expected && !std::exchange(skip_gap_, false);
        skip_gap_ = false;
        if (sink_ == nullptr || e.skip) {
            if (gap && sink_ != nullptr) sink_->lost_continuity("backplane_gap");
            advance(e.seq);
            return;
        }
        detail::split_channels(e.channels, channels_);
        const backplane_event ev{.id = {epoch_, e.seq},
                                 .channels = channels_,
                                 .type = e.type,
                                 .data = e.data,
                                 .time = time_of(e.ms),
                                 .items = e.items};
        sink_->deliver(ev);
        // After the event: the hub's history is then known complete from it on.
        if (gap) sink_->lost_continuity("backplane_gap");
        advance(e.seq);
    }

    /// The event `seq` is delivered: wakes catch_up() waiters.
    void advance(std::uint64_t seq) {
        {
            std::lock_guard lock(read_mutex_);
            last_read_.store(seq, std::memory_order_release);
        }
        read_cv_.notify_all();
    }

    /// One XRANGE page after `from`, copied out of the reply; nullopt on failure.
    std::optional<std::vector<owned_entry>> read_page(std::uint64_t from, std::size_t count) {
        auto wait = std::make_shared<detail::redis_wait<std::optional<std::vector<owned_entry>>>>();
        std::vector<std::string> args{"XRANGE", log_key_, "(" + std::to_string(from) + "-0",
                                      "+",      "COUNT",  std::to_string(count)};
        asio::post(io_, [this, wait, args = std::move(args)] {
            if (phase_ != phase::up) return wait->set(std::nullopt);
            send(cmd_, args, options_.command_timeout, [wait](redisReply* r) {
                if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return wait->set(std::nullopt);
                std::vector<owned_entry> out;
                out.reserve(r->elements);
                for (std::size_t i = 0; i < r->elements; ++i) {
                    detail::redis_entry e;
                    if (!detail::parse_entry(r->element[i], e)) return wait->set(std::nullopt);
                    owned_entry& o = out.emplace_back();
                    o.text.reserve(e.channels.size() + e.type.size() + e.data.size());
                    o.text.append(e.channels).append(e.type).append(e.data);
                    o.channels_size = e.channels.size();
                    o.type_size = e.type.size();
                    o.fields = e;
                    o.fields.channels = o.fields.type = o.fields.data = {};
                }
                wait->set(std::move(out));
            });
        });
        auto got = wait->get(options_.command_timeout + std::chrono::milliseconds(500));
        if (!got) return std::nullopt;
        return std::move(*got);
    }

    const redis_options options_;
    const std::optional<redis_url> url_;
    const std::string seq_key_;
    const std::string log_key_;
    const std::string epoch_key_;
    const std::string life_key_;
    const std::string dedup_prefix_;

    // Set once, on the I/O thread, before up_ first becomes true (the constructor waits for it).
    std::uint64_t epoch_ = 0;
    std::string epoch_text_;
    std::string publish_sha_;

    std::atomic<bool> up_{false};
    std::atomic<std::uint64_t> last_read_{0};  // the newest seq delivered (or skipped)
    std::atomic<std::uint64_t> head_{0};       // the newest seq known ordered
    std::atomic<std::uint64_t> errors_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::uint64_t> local_publishes_{0};
    detail::redis_wait<bool> first_up_;

    std::mutex read_mutex_;  // with read_cv_: catch_up() waits for last_read_
    std::condition_variable read_cv_;
    std::mutex sink_mutex_;  // guards sink_ and the outage below; held while delivering
    backplane_sink* sink_ = nullptr;
    // The outage (away_mode::local), guarded by sink_mutex_:
    std::uint64_t outage_epoch_ = 0;  // of the local publishes since the last rejoin; 0: none
    std::uint64_t local_top_ = 0;     // the newest seq a local publish took (never lowered)
    bool rejoining_ = false;          // the counter is being moved past local_top_

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;

    // I/O thread only:
    phase phase_ = phase::down;
    std::uint64_t gen_ = 0;  // connection attempt; callbacks of older ones are ignored
    link cmd_;               // publishes, XRANGE, the handshake's script
    link rd_;                // XREAD BLOCK only (it occupies its connection)
    asio::steady_timer connect_timer_;
    asio::steady_timer retry_timer_;
    std::chrono::milliseconds backoff_;
    std::mt19937 rng_{std::random_device{}()};
    std::string life_;
    bool ever_up_ = false;
    bool lost_ = false;
    bool skip_gap_ = false;
    std::uint64_t skip_through_ = 0;  // stream events up to it are not delivered (seqs taken)
    bool want_read_ = false;
    bool reading_ = false;
    std::vector<std::string_view> channels_;
};

inline std::optional<redis_url> parse_redis_url(std::string_view text) {
    constexpr std::string_view scheme = "redis://";
    if (text.substr(0, scheme.size()) != scheme) return std::nullopt;
    text.remove_prefix(scheme.size());
    redis_url u;
    const std::size_t slash = text.find('/');
    std::string_view authority = text.substr(0, slash);
    if (slash != std::string_view::npos) {
        const std::string_view db = text.substr(slash + 1);
        if (!db.empty() && !detail::parse_number(db, u.db)) return std::nullopt;
    }
    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        const std::string_view credentials = authority.substr(0, at);
        authority.remove_prefix(at + 1);
        const std::size_t colon = credentials.find(':');
        if (colon == std::string_view::npos) return std::nullopt;  // user without password
        u.user = detail::percent_decode_credential(credentials.substr(0, colon));
        u.password = detail::percent_decode_credential(credentials.substr(colon + 1));
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        u.host = std::string(authority.substr(1, close - 1));
        const std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
        }
    } else {
        const std::size_t colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (u.host.empty()) return std::nullopt;
    if (!port.empty() && (!detail::parse_number(port, u.port) || u.port == 0)) {
        return std::nullopt;
    }
    return u;
}

}  // namespace crier

#endif
