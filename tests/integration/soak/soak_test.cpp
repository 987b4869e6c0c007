// SPDX-License-Identifier: MIT
// The chaos soak: the embedded server under rate-limited publishers (hub and HTTP), subscribers
// that reconnect with Last-Event-ID, read slowly, stall or vanish, a proxy that cuts streams
// mid-frame, and server restarts; a checker that holds every connection to crier's promises
// (order, no duplicate, no silent gap, bounded memory and sockets, stalled sockets closed by
// the write deadline). CRIER_SOAK_SECONDS sets the chaos phase (default 60 s, 30 s under TSan).
#include <crier/adapters/http_server.hpp>
#include <crier/client/batch.hpp>
#include <crier/sse/parser.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <support/chaos_proxy.hpp>
#include <support/raw_client.hpp>

#if defined(__SANITIZE_THREAD__)
#    define CRIER_SOAK_TSAN 1
#elif defined(__has_feature)
#    if __has_feature(thread_sanitizer)
#        define CRIER_SOAK_TSAN 1
#    endif
#endif
#if !defined(CRIER_SOAK_TSAN)
#    define CRIER_SOAK_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#    define CRIER_SOAK_ASAN 1
#elif defined(__has_feature)
#    if __has_feature(address_sanitizer)
#        define CRIER_SOAK_ASAN 1
#    endif
#endif
#if !defined(CRIER_SOAK_ASAN)
#    define CRIER_SOAK_ASAN 0
#endif

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// -- Scale ------------------------------------------------------------------------------------

struct soak_scale {
    std::chrono::seconds chaos{};
    int publishers = 0;
    int subscribers = 0;
    std::size_t big_payload = 0;
    std::chrono::microseconds publish_pause{};
    std::size_t io_threads = 0;
};

soak_scale scale() {
    soak_scale s;
    // TSan runs everything 5–15 times slower: fewer threads and events, same kinds of chaos.
    s.chaos = CRIER_SOAK_TSAN ? 30s : 60s;
    s.publishers = CRIER_SOAK_TSAN ? 2 : 3;
    s.subscribers = CRIER_SOAK_TSAN ? 5 : 10;
    s.big_payload = CRIER_SOAK_TSAN ? 32 * 1024 : 96 * 1024;
    s.publish_pause = CRIER_SOAK_TSAN ? 6000us : 2000us;
    s.io_threads = CRIER_SOAK_TSAN ? 2 : 3;
    if (const char* env = std::getenv("CRIER_SOAK_SECONDS")) {
        const long v = std::strtol(env, nullptr, 10);
        if (v > 0) s.chaos = std::chrono::seconds(v);
    }
    return s;
}

const std::vector<std::string> module_channels = {"horses", "breeding", "stable:1", "stable:2"};
constexpr auto write_timeout = 1s;

std::uint64_t seq_of(std::string_view id) {
    const auto parsed = crier::sse::parse_event_id(id);
    return parsed ? parsed->seq : 0;
}

std::size_t hash_of(std::string_view data) {
    return std::hash<std::string_view>{}(data);
}

// -- Process figures --------------------------------------------------------------------------

std::size_t rss_kib() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
    }
    return 0;
}

std::size_t open_fds() {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++n;
    }
    return n;
}

// The bytes queued in the server's socket of the TCP connection 127.0.0.1:server_port <->
// 127.0.0.1:client_port, while the server holds that socket: its /proc/net/tcp entry exists
// with an inode (a socket the process closed is gone, or lingers as an orphan with inode 0
// while the kernel flushes it). nullopt once it closed the socket.
std::optional<unsigned long> server_socket_queue(std::uint16_t server_port,
                                                 std::uint16_t client_port) {
    std::ifstream in("/proc/self/net/tcp");
    std::string line;
    std::getline(in, line);  // header
    char local[64];
    char remote[64];
    while (std::getline(in, line)) {
        unsigned long inode = 0;
        int slot = 0;
        unsigned st = 0;
        unsigned long tx = 0;
        unsigned long rx = 0;
        unsigned tr = 0;
        unsigned long when = 0;
        unsigned long retr = 0;
        unsigned uid = 0;
        unsigned timeout = 0;
        if (std::sscanf(line.c_str(), " %d: %63s %63s %x %lx:%lx %x:%lx %lx %u %u %lu", &slot,
                        local, remote, &st, &tx, &rx, &tr, &when, &retr, &uid, &timeout,
                        &inode) != 12) {
            continue;
        }
        const auto port_of = [](const char* addr) {
            const char* colon = std::strchr(addr, ':');
            return colon == nullptr ? 0u
                                    : static_cast<unsigned>(std::strtoul(colon + 1, nullptr, 16));
        };
        if (port_of(local) == server_port && port_of(remote) == client_port) {
            if (inode == 0) return std::nullopt;
            return tx;
        }
    }
    return std::nullopt;
}

// -- What was published -----------------------------------------------------------------------

// Every channel a publish can reach, as a bit: modules, `global`, then `user:sub<i>`.
struct channel_bits {
    std::unordered_map<std::string, std::uint64_t> bits;
    explicit channel_bits(int subscribers) {
        std::uint64_t b = 1;
        for (const auto& c : module_channels) bits[c] = b, b <<= 1;
        bits["global"] = b, b <<= 1;
        for (int i = 0; i < subscribers; ++i) bits["user:sub" + std::to_string(i)] = b, b <<= 1;
    }
    std::uint64_t mask(const std::vector<std::string>& channels) const {
        std::uint64_t m = 0;
        for (const auto& c : channels) {
            const auto it = bits.find(c);
            if (it != bits.end()) m |= it->second;
        }
        return m;
    }
};

struct published {
    std::uint64_t seq = 0;       // 0 for a held event until the checker finds the id its batch gave
    std::uint64_t channels = 0;  // channel_bits mask
    bool held = false;
    std::size_t hash = 0;
};

class ledger {
public:
    void add(const published& p) {
        std::lock_guard lock(mutex_);
        entries_.push_back(p);
    }
    std::vector<published> take() {
        std::lock_guard lock(mutex_);
        return entries_;
    }

    // Which `batch` event carried each held event, and the item's id by its data (a held event
    // has no id when it is published: it takes one when its batch is flushed), as seen by the
    // observer or any subscriber. Every publish's data is unique.
    void carried(std::uint64_t item, std::uint64_t envelope, std::size_t hash) {
        std::lock_guard lock(mutex_);
        envelopes_.emplace(item, envelope);
        items_.emplace(hash, item);
    }
    std::unordered_map<std::uint64_t, std::uint64_t> envelopes() {
        std::lock_guard lock(mutex_);
        return envelopes_;
    }
    std::unordered_map<std::size_t, std::uint64_t> items() {
        std::lock_guard lock(mutex_);
        return items_;
    }

private:
    std::mutex mutex_;
    std::vector<published> entries_;
    std::unordered_map<std::uint64_t, std::uint64_t> envelopes_;
    std::unordered_map<std::size_t, std::uint64_t> items_;  // data hash -> item seq
};

// -- Shared run state -------------------------------------------------------------------------

struct soak_run {
    soak_scale sc = scale();
    channel_bits bits{sc.subscribers};
    ledger book;
    std::atomic<bool> chaos_over{false};
    std::atomic<std::uint64_t> marker{0};  // seq of the final `global` event, once published
    std::atomic<int> restarts{0};
    std::uint16_t server_port = 0;
    std::uint16_t proxy_port = 0;

    // Figures.
    std::atomic<std::size_t> http_publishes{0};
    std::atomic<std::size_t> http_failures{0};
    std::atomic<std::size_t> stalls{0};
    std::atomic<std::size_t> stalls_closed{0};
    std::atomic<std::size_t> stalls_not_closed{0};
    std::atomic<std::size_t> stalls_by_restart{0};
    std::atomic<std::size_t> late_fills{0};
    std::atomic<long> stall_max_ms{0};
    std::atomic<std::size_t> quiet_stalls_closed{0};
    std::atomic<long> quiet_stall_max_ms{0};
    std::atomic<long> quiet_stall_min_ms{1'000'000};
    std::atomic<std::size_t> vanished{0};
    std::atomic<std::size_t> observer_overflows{0};
};

// -- Subscribers ------------------------------------------------------------------------------

// One stretch of a logical subscriber's life over which crier promises every event on its
// channels whose delivery position is in (lo, hi]: it starts at a fresh `connected` or at a
// `resync`, and lasts across every Last-Event-ID reconnect until the next one.
struct interval {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    bool fresh = false;             // started by a connection without Last-Event-ID
    std::uint64_t first_frame = 0;  // first event after a fresh `connected` (0: none yet)
};

// A logical subscriber: one user, one channel set, many connections in a row.
class subscriber {
    soak_run& run_;
    std::mt19937_64 rng_;

public:
    subscriber(soak_run& run, int index, std::uint64_t seed)
        : run_(run), rng_(seed), user_("sub" + std::to_string(index)) {
        channels_ = {"global", "user:" + user_};
        for (const auto& c : module_channels) {
            if (rng_() % 2 == 0) channels_.push_back(c);
        }
        mask_ = run.bits.mask(channels_);
    }

    void run() {
        while (!run_.chaos_over.load()) connection(true);
        // Final catch-up, straight to the server: read until the end marker arrives.
        const auto deadline = clock_type::now() + (CRIER_SOAK_TSAN ? 60s : 30s);
        while (!reached_marker() && clock_type::now() < deadline) connection(false);
        reached_marker_ = reached_marker();
    }

    // Figures and findings, read after the thread ended.
    std::string user_;
    std::vector<std::string> channels_;
    std::uint64_t mask_ = 0;
    std::vector<interval> intervals_;
    struct arrival {
        std::uint64_t seq;
        std::size_t hash;
        std::size_t segment;  // bumped by each fresh start: order holds within one
    };
    std::vector<arrival> contents_;  // in arrival order
    std::unordered_set<std::uint64_t> seen_;
    std::size_t connections_ = 0;
    std::size_t server_closed_ = 0;
    std::size_t refused_ = 0;
    std::size_t resyncs_ = 0;
    std::map<std::string, std::size_t> resync_reasons_;
    std::size_t duplicates_ = 0;
    std::size_t inversions_ = 0;  // any two events out of seq order, shared channel or not
    std::size_t frame_order_violations_ = 0;
    std::size_t bad_batches_ = 0;
    std::size_t protocol_errors_ = 0;
    std::size_t resume_mismatches_ = 0;
    std::vector<std::string> notes_;
    bool reached_marker_ = false;

private:
    std::uint64_t resynced_through_ = 0;  // the newest `resync` id this subscriber received

    void note(std::string what) {
        if (notes_.size() < 4) notes_.push_back(user_ + ": " + std::move(what));
    }

    // The marker is stored only after it was published: it may have arrived before. A `resync`
    // at or past it also ends the wait: a reader that fell behind history is told to refetch
    // and then gets only what is published after its reconnect, which the marker is not.
    bool reached_marker() const {
        const auto m = run_.marker.load();
        return m != 0 && (seen_.contains(m) || resynced_through_ >= m);
    }

    bool coin(double p) { return std::bernoulli_distribution(p)(rng_); }

    void content(std::uint64_t seq, std::size_t hash) {
        if (!seen_.insert(seq).second) {
            ++duplicates_;
            note("duplicate " + std::to_string(seq));
            return;
        }
        if (seq <= last_content_) ++inversions_;
        last_content_ = std::max(last_content_, seq);
        contents_.push_back({seq, hash, segment_});
    }

    // One connection: open, read under the chosen behaviour, end it one way or another.
    void connection(bool chaos) {
        const bool proxied = chaos && coin(0.5);
        const bool slow = chaos && coin(0.25);
        const auto lifetime = chaos ? std::chrono::milliseconds(500 + rng_() % 6000) : 60s;
        const std::uint16_t port = proxied ? run_.proxy_port : run_.server_port;

        std::unique_ptr<crier::test::raw_connection> conn;
        try {
            conn = std::make_unique<crier::test::raw_connection>(port);
        } catch (const std::exception&) {
            std::this_thread::sleep_for(50ms);  // restarting
            return;
        }
        if (slow) {
            int small = 8 * 1024;
            ::setsockopt(conn->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        }
        std::string target = "/api/realtime/events?";
        for (std::size_t i = 2; i < channels_.size(); ++i)
            target += "channel=" + channels_[i] + "&";
        target.pop_back();
        const bool resuming = !fresh_ && !resume_.empty();
        std::string req =
            "GET " + target + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + user_ + "\r\n";
        if (resuming) req += "Last-Event-ID: " + resume_ + "\r\n";
        req += "\r\n";
        if (!conn->send(req)) return;

        std::string buffer;
        std::optional<crier::test::response_head> head;
        conn->read_until(
            buffer, [&](std::string& b) { return (head = crier::test::take_head(b)).has_value(); },
            3s);
        if (!head) return;  // cut before the head: try again
        if (head->status != 200) {
            ++refused_;  // 429 while an earlier connection of ours is not released yet, 503
            std::this_thread::sleep_for(100ms);
            return;
        }
        ++connections_;

        crier::sse::parser parser;
        std::uint64_t last_frame = 0;
        bool got_connected = false;
        auto on_event = [&](const crier::sse::event& e) {
            const std::uint64_t id = seq_of(e.last_event_id);
            if (e.type == "connected") {
                got_connected = true;
                last_frame = id;
                if (resuming) {
                    if (e.last_event_id != resume_) {
                        ++resume_mismatches_;
                        note("connected " + std::string(e.last_event_id) + " != " + resume_);
                    }
                } else {
                    intervals_.push_back({.lo = id, .hi = id, .fresh = true});
                    last_content_ = 0;  // a fresh start promises nothing about what came before
                    ++segment_;
                    fresh_ = false;
                }
                resume_ = std::string(e.last_event_id);
                return;
            }
            if (!got_connected || intervals_.empty()) {
                ++protocol_errors_;
                note("event before connected: " + std::string(e.type));
                return;
            }
            if (e.type == "resync") {
                ++resyncs_;
                const auto at = e.data.find(R"("reason":")");
                if (at != std::string_view::npos) {
                    const auto from = at + 10;
                    ++resync_reasons_[std::string(
                        e.data.substr(from, e.data.find('"', from) - from))];
                }
                intervals_.push_back({.lo = id, .hi = id});
                resynced_through_ = std::max(resynced_through_, id);
                last_frame = std::max(last_frame, id);
                resume_ = std::string(e.last_event_id);
                return;
            }
            if (id <= last_frame) {
                ++frame_order_violations_;
                note("frame " + std::to_string(id) + " after " + std::to_string(last_frame));
            }
            last_frame = std::max(last_frame, id);
            auto& iv = intervals_.back();
            if (iv.fresh && iv.first_frame == 0) iv.first_frame = id;
            iv.hi = std::max(iv.hi, id);
            if (e.type == "batch") {
                std::vector<crier::client::batch_item> items;
                if (crier::client::parse_batch(e.data, items)) {
                    ++bad_batches_;
                    note("unparsable batch " + std::string(e.last_event_id));
                }
                for (const auto& item : items) {
                    const std::uint64_t s = seq_of(item.id);
                    run_.book.carried(s, id, hash_of(item.data));
                    content(s, hash_of(item.data));
                }
            } else {
                content(id, hash_of(e.data));
            }
            resume_ = std::string(e.last_event_id);
        };

        bool eof = false;
        const auto until = clock_type::now() + lifetime;
        std::string chunk = std::move(buffer);
        while (true) {
            if (!chunk.empty()) {
                if (auto ec = parser.feed(chunk, on_event)) {
                    ++protocol_errors_;
                    note("parser: " + ec.message());
                    break;
                }
                chunk.clear();
            }
            if (chaos ? (run_.chaos_over.load() || clock_type::now() >= until)
                      : (reached_marker() || clock_type::now() >= until)) {
                break;
            }
            if (slow) {
                std::this_thread::sleep_for(10ms);
                pollfd p{conn->fd(), POLLIN, 0};
                if (::poll(&p, 1, 20) > 0) {
                    char buf[1024];
                    const auto n = ::recv(conn->fd(), buf, sizeof buf, 0);
                    if (n <= 0) {
                        eof = true;
                        break;
                    }
                    chunk.assign(buf, static_cast<std::size_t>(n));
                }
            } else if (!conn->read_some(chunk, 50ms)) {
                eof = true;
                break;
            }
        }
        if (eof) {
            ++server_closed_;  // a cut, an overflow, a restart: resume from the last event
            return;
        }
        if (!chaos) return;
        // How this connection ends, as the client chose.
        const auto ending = rng_() % 10;
        if (ending < 2) {
            linger l{1, 0};  // vanish: RST, no FIN
            ::setsockopt(conn->fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
        } else if (ending == 2) {
            fresh_ = true;  // come back as a new page load: no Last-Event-ID
        } else if (ending == 3) {
            conn.reset();  // leave for a while, then come back with Last-Event-ID
            std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng_() % 1200));
        }
    }

    std::string resume_;
    bool fresh_ = true;
    std::uint64_t last_content_ = 0;
    std::size_t segment_ = 0;
};

// -- Publishers -------------------------------------------------------------------------------

void publisher(soak_run& run, crier::hub& hub, int index) {
    std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(index));
    const auto user = [&] {
        return "sub" + std::to_string(rng() % static_cast<std::uint64_t>(run.sc.subscribers));
    };
    for (std::uint64_t n = 0; !run.chaos_over.load(); ++n) {
        std::string data = R"({"p":)" + std::to_string(index) + R"(,"n":)" + std::to_string(n);
        crier::publish_result r;
        std::vector<std::string> channels;
        const auto op = rng() % 200;
        if (op == 0) {  // a large payload (a few per second): fills slow readers' queues
            data += R"(,"pad":")" + std::string(run.sc.big_payload, 'x') + "\"}";
            channels = {"horses"};
            r = hub.publish("horses", "horses:big", data);
        } else if (op < 80) {
            data += "}";
            std::vector<std::string> pool = module_channels;
            pool.push_back("global");
            std::shuffle(pool.begin(), pool.end(), rng);
            channels.assign(pool.begin(), pool.begin() + static_cast<long>(1 + rng() % 3));
            r = hub.publish(std::span<const std::string>(channels), "soak:event", data);
        } else if (op < 150) {
            data += "}";
            const std::string module = module_channels[rng() % 2];
            const std::string u = user();
            channels = {module, "user:" + u};
            r = hub.publish_module_event(module, "updated", data, u);
        } else {
            data += "}";
            const std::string u = user();
            channels = {"user:" + u};
            r = hub.publish_to_user(u, "soak:private", data);
        }
        if (r.error) {
            ADD_FAILURE() << "publish refused: " << r.error.message();
        } else {
            run.book.add({r.id.seq, run.bits.mask(channels), r.held, hash_of(data)});
        }
        std::this_thread::sleep_for(run.sc.publish_pause);
    }
}

// `POST publish` over HTTP, straight to the server (refusals while it restarts are counted).
void http_publisher(soak_run& run) {
    std::mt19937_64 rng(77);
    for (std::uint64_t n = 0; !run.chaos_over.load(); ++n) {
        const std::string u =
            "sub" + std::to_string(rng() % static_cast<std::uint64_t>(run.sc.subscribers));
        const std::string data = "http " + std::to_string(n);
        std::string body;
        std::vector<std::string> channels;
        if (n % 2 == 0) {
            channels = {"stable:1", "user:" + u};
            body = R"({"channels":["stable:1","user:)" + u + R"("],"type":"soak:http","data":")" +
                   data + "\"}";
        } else {
            channels = {"breeding", "user:" + u};
            body = R"({"module":"breeding","action":"foaled","data":")" + data +
                   R"(","user_id":")" + u + "\"}";
        }
        try {
            const auto reply = crier::test::request(
                run.server_port, "POST", "/api/realtime/publish",
                {"Authorization: Bearer publisher", "Content-Type: application/json"}, body);
            const auto at = reply.body.find(R"("id":")");
            // A held event's id is null: it takes one when its batch is flushed.
            const bool held =
                reply.body.find(R"("id":null,"duplicate":false,"held":true)") != std::string::npos;
            if (reply.status() == 200 && (at != std::string::npos || held)) {
                std::uint64_t id = 0;
                if (!held) {
                    const auto end = reply.body.find('"', at + 6);
                    id = seq_of(std::string_view(reply.body).substr(at + 6, end - at - 6));
                }
                run.book.add({id, run.bits.mask(channels), held, hash_of(data)});
                ++run.http_publishes;
            } else {
                ++run.http_failures;
            }
        } catch (const std::exception&) {
            ++run.http_failures;  // the server is restarting, or cut the reply short
        }
        std::this_thread::sleep_for(15ms);
    }
}

// -- The in-process observer: every event once, for the batch envelopes and hub-level order --

struct observer_result {
    std::vector<std::uint64_t> contents;  // in arrival order
    std::size_t inversions = 0;
    std::atomic<bool> saw_marker{false};
};

void observer(soak_run& run, crier::hub& hub, std::atomic<bool>& done, observer_result& out) {
    std::string last;
    std::uint64_t last_content = 0;
    std::vector<crier::sse::frame> frames;
    while (!done.load()) {
        auto sub = hub.subscribe({.channels = {"*"}, .last_event_id = last});
        crier::sse::parser parser;
        while (!done.load() && !sub.closed()) {
            // The marker is the newest event: once it is published, seeing any seq as large
            // means the observer has everything.
            const auto m = run.marker.load();
            if (m != 0 && last_content >= m) out.saw_marker.store(true);
            sub.wait_for(100ms);
            frames.clear();
            sub.drain(frames);
            for (const auto& f : frames) {
                (void)parser.feed(*f, [&](const crier::sse::event& e) {
                    last = std::string(e.last_event_id);
                    const auto id = seq_of(e.last_event_id);
                    std::vector<std::uint64_t> items;
                    if (e.type == "batch") {
                        std::vector<crier::client::batch_item> parsed;
                        (void)crier::client::parse_batch(e.data, parsed);
                        for (const auto& item : parsed) {
                            items.push_back(seq_of(item.id));
                            run.book.carried(items.back(), id, hash_of(item.data));
                        }
                    } else if (e.type != "resync") {
                        items.push_back(id);
                    }
                    for (auto s : items) {
                        if (s <= last_content) ++out.inversions;
                        last_content = std::max(last_content, s);
                        out.contents.push_back(s);
                    }
                });
            }
        }
        if (sub.closed() == crier::errc::subscriber_overflow) ++run.observer_overflows;
    }
}

// -- Stallers and vanishers -------------------------------------------------------------------

// Opens streams that stop reading after `connected` and watches the server's side of each in
// /proc/net/tcp until the server closes it. Two kinds, taking turns:
// - flooded (`horses`, with its large events): closed by whichever comes first, the queue
//   overflow or the write deadline; only the total time is bounded. Each also reads a channel
//   of its own: one still open when the publishers stop (chaos over) may not be full yet, and
//   nothing is owed to a stream whose writes all fit, so this thread then fills it as below and
//   the bound counts from that fill;
// - quiet (a channel of its own, which this thread fills with 700 KB events just until the
//   server's send queue stops growing, so the hub queue never overflows): only the write
//   deadline can close it, at most write_timeout after the server's last write progress
//   (sooner is right too: the server's TCP_USER_TIMEOUT counts from when the peer's window
//   closed, while the server's send buffer may still take bytes for a while).
void staller(soak_run& run, crier::hub& hub) {
    struct stall {
        std::unique_ptr<crier::test::raw_connection> conn;
        bool quiet = false;
        std::string channel;
        std::uint16_t client_port = 0;
        clock_type::time_point since;
        clock_type::time_point progress;  // when the server's send queue last changed
        unsigned long queued = 0;
        bool filling = false;
        unsigned long queued_at_fill = 0;
        int fills = 0;
        clock_type::time_point next_fill;
        int restarts = 0;
        bool late_fill = false;  // flooded, filled by this thread after the publishers stopped
    };
    std::vector<stall> active;
    auto next = clock_type::now();
    const std::string fill(700 * 1024, 'f');
    // Flooded: fill time (a few MB into the socket buffers and the hub queue) plus the deadline
    // plus the ticker's granularity.
    const auto bound = write_timeout + (CRIER_SOAK_TSAN ? 15s : 6s);
    // Quiet: from the last byte the peer took to the close, the deadline, the ticker's
    // granularity (a quarter of the shortest timeout) and this loop's 50 ms polling.
    const auto deadline_late = write_timeout + (CRIER_SOAK_TSAN ? 2000ms : 600ms);
    const auto record_max = [](std::atomic<long>& max, long ms) {
        long prev = max.load();
        while (ms > prev && !max.compare_exchange_weak(prev, ms)) {
        }
    };
    for (int k = 0; !run.chaos_over.load() || !active.empty(); ++k) {
        if (!run.chaos_over.load() && clock_type::now() >= next && active.size() < 3) {
            next = clock_type::now() + 1500ms;
            try {
                stall s;
                s.quiet = k % 2 == 1;
                s.channel = "stall:" + std::to_string(k);
                s.conn = std::make_unique<crier::test::raw_connection>(run.server_port);
                int small = 4096;
                ::setsockopt(s.conn->fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
                s.conn->send("GET /api/realtime/events?channel=" + s.channel +
                             (s.quiet ? "" : "&channel=horses") +
                             " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer stall" +
                             std::to_string(k) + "\r\n\r\n");
                std::string buffer;
                if (s.conn->read_until(
                        buffer,
                        [](const std::string& b) {
                            return b.find("event: connected") != std::string::npos;
                        },
                        3s)) {
                    sockaddr_in addr{};
                    socklen_t len = sizeof addr;
                    ::getsockname(s.conn->fd(), reinterpret_cast<sockaddr*>(&addr), &len);
                    s.client_port = ntohs(addr.sin_port);
                    s.since = clock_type::now();
                    s.progress = s.since;
                    s.filling = s.quiet;
                    s.next_fill = s.since;
                    s.restarts = run.restarts.load();
                    ++run.stalls;
                    active.push_back(std::move(s));
                }
            } catch (const std::exception&) {  // restarting
            }
        }
        for (auto it = active.begin(); it != active.end();) {
            const auto now = clock_type::now();
            const auto waited = now - it->since;
            const auto queued = server_socket_queue(run.server_port, it->client_port);
            const bool held = queued.has_value();
            if (held && *queued != it->queued) {
                it->queued = *queued;
                it->progress = now;
            }
            if (held && !it->quiet && !it->late_fill && run.chaos_over.load()) {
                it->late_fill = true;  // no more `horses`: fill it here, and bound from now
                ++run.late_fills;
                it->filling = true;
                it->since = now;
                it->next_fill = now;
            }
            if (held && it->filling && now >= it->next_fill) {
                if (it->fills > 0 && *queued <= it->queued_at_fill) {
                    it->filling = false;  // stuck: one event at most waits in the hub queue
                } else if (it->fills == 12) {
                    it->filling = false;
                } else {
                    it->queued_at_fill = *queued;
                    ++it->fills;
                    (void)hub.publish(it->channel, "soak:fill", fill);
                    it->next_fill = now + 200ms;
                }
            }
            if (held && waited < bound + 5s) {
                ++it;
                continue;
            }
            if (it->restarts != run.restarts.load()) {
                ++run.stalls_by_restart;
            } else if (held) {
                ++run.stalls_not_closed;
                std::fprintf(
                    stderr,
                    "[soak] stall %s (%s) still open %lld ms after %s: %lu bytes in the "
                    "server's send queue, unchanged for %lld ms, %d fills\n",
                    it->channel.c_str(), it->quiet ? "quiet" : "flooded",
                    static_cast<long long>(
                        std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()),
                    it->late_fill ? "its late fill began" : "it stopped reading", *queued,
                    static_cast<long long>(
                        std::chrono::duration_cast<std::chrono::milliseconds>(now - it->progress)
                            .count()),
                    it->fills);
            } else if (it->quiet) {
                const auto stuck = now - it->progress;
                const auto ms =
                    std::chrono::duration_cast<std::chrono::milliseconds>(stuck).count();
                ++run.quiet_stalls_closed;
                record_max(run.quiet_stall_max_ms, ms);
                long prev_min = run.quiet_stall_min_ms.load();
                while (ms < prev_min &&
                       !run.quiet_stall_min_ms.compare_exchange_weak(prev_min, ms)) {
                }
                if (stuck > deadline_late) ++run.stalls_not_closed;
            } else {
                const auto ms =
                    std::chrono::duration_cast<std::chrono::milliseconds>(waited).count();
                ++run.stalls_closed;
                record_max(run.stall_max_ms, ms);
                if (waited > bound) ++run.stalls_not_closed;
            }
            linger l{1, 0};
            ::setsockopt(it->conn->fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
            it = active.erase(it);
        }
        std::this_thread::sleep_for(50ms);
    }
}

// Clients that vanish: RST mid-stream, half a request head, connect-and-close.
void vanisher(soak_run& run) {
    std::mt19937_64 rng(4242);
    while (!run.chaos_over.load()) {
        const std::uint16_t port = rng() % 2 == 0 ? run.server_port : run.proxy_port;
        try {
            crier::test::raw_connection c(port);
            const auto what = rng() % 4;
            if (what == 0 || what == 1) {
                c.send(
                    "GET /api/realtime/events?channel=stable:2 HTTP/1.1\r\nHost: t\r\n"
                    "Authorization: Bearer van" +
                    std::to_string(rng() % 4) + "\r\n\r\n");
                std::string sink;
                c.read_some(sink, std::chrono::milliseconds(rng() % 200));
            } else if (what == 2) {
                c.send("GET /api/realtime/ev");
            }
            if (what != 1) {
                linger l{1, 0};
                ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
            }
            ++run.vanished;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 150));
    }
}

// -- The server -------------------------------------------------------------------------------

crier::adapters::server_options server_options(std::uint16_t port, std::size_t threads) {
    return {.port = port,
            .threads = threads,
            .request_timeout = 2s,
            .keep_alive_timeout = 2s,
            .write_timeout = write_timeout,
            .heartbeat = 500ms,
            .shutdown_deadline = 1s,
            .shutdown_retry_min = 50ms,
            .shutdown_retry_max = 150ms,
            .authenticate =
                [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
                const auto auth = r.header("authorization");
                if (!auth || !auth->starts_with("Bearer ")) return std::nullopt;
                const std::string user(auth->substr(7));
                return crier::adapters::principal{.user_id = user,
                                                  .publisher = user == "publisher"};
            }};
}

TEST(soak, chaos_keeps_every_promise) {
    soak_run run;
    const auto& sc = run.sc;
    crier::hub hub({.history_size = 200,
                    .history_bytes = std::size_t{4} << 20,
                    .history_total_bytes = std::size_t{32} << 20,
                    .queue_frames = 2048,
                    .queue_bytes = std::size_t{2} << 20,
                    .rate_limit = 50,
                    .rate_window = 1s,
                    .max_batch_events = 50,
                    .max_held_bytes = std::size_t{4} << 20});
    auto server =
        std::make_unique<crier::adapters::http_server>(hub, server_options(0, sc.io_threads));
    server->start();
    run.server_port = server->port();
    const std::size_t fds_baseline = open_fds();

    std::atomic<bool> observer_done{false};
    observer_result observed;
    std::thread observer_thread([&] { observer(run, hub, observer_done, observed); });

    std::size_t proxy_accepted = 0;
    std::size_t proxy_cuts = 0;
    std::vector<std::unique_ptr<subscriber>> subscribers;
    std::size_t fds_max = 0;
    std::size_t rss_baseline = 0;
    std::size_t rss_max = 0;
    {
        crier::test::chaos_proxy proxy(run.server_port, {.seed = 99});
        run.proxy_port = proxy.port();

        std::vector<std::thread> threads;
        for (int i = 0; i < sc.subscribers; ++i) {
            subscribers.push_back(
                std::make_unique<subscriber>(run, i, 500 + static_cast<std::uint64_t>(i)));
        }
        for (auto& s : subscribers) threads.emplace_back([&s] { s->run(); });
        for (int i = 0; i < sc.publishers; ++i)
            threads.emplace_back([&, i] { publisher(run, hub, i); });
        threads.emplace_back([&] { http_publisher(run); });
        threads.emplace_back([&] { staller(run, hub); });
        threads.emplace_back([&] { vanisher(run); });

        // The chaos phase: watch memory and sockets, restart the server twice.
        const auto start = clock_type::now();
        const auto warm_up = start + std::min<std::chrono::seconds>(10s, sc.chaos / 5);
        int restarted = 0;
        while (clock_type::now() < start + sc.chaos) {
            std::this_thread::sleep_for(250ms);
            const auto now = clock_type::now();
            fds_max = std::max(fds_max, open_fds());
            const auto rss = rss_kib();
            if (now >= warm_up) {
                if (rss_baseline == 0) rss_baseline = rss;
                rss_max = std::max(rss_max, rss);
            }
            if (restarted < 2 && now >= start + sc.chaos * (restarted + 1) / 3) {
                ++restarted;
                run.restarts.fetch_add(1);
                server->stop();  // streams get `retry:` and close; the hub keeps publishing
                server.reset();
                server = std::make_unique<crier::adapters::http_server>(
                    hub, server_options(run.server_port, sc.io_threads));
                std::error_code ec;
                for (int tries = 0; tries < 50; ++tries) {
                    server->start(ec);
                    if (!ec) break;
                    std::this_thread::sleep_for(100ms);
                }
                if (ec) {  // no ASSERT here: the threads must be joined first
                    ADD_FAILURE() << "restart on port " << run.server_port << ": " << ec.message();
                    break;
                }
            }
        }
        run.chaos_over.store(true);
        for (std::size_t i = sc.subscribers; i < threads.size(); ++i) threads[i].join();

        // Everything held goes out, then one last event on `global` that every subscriber reads
        // before it stops: after it, nothing is in flight.
        hub.flush_batches();
        const auto marker = hub.publish("global", "soak:end", "end");
        EXPECT_FALSE(marker.error) << marker.error.message();
        hub.flush_batches();
        // Held, it takes its id in that flush: the only item (nothing else publishes now) of the
        // newest batch, just below the batch's id.
        const std::uint64_t marker_seq = marker.held ? hub.current_id().seq - 1 : marker.id.seq;
        run.book.add({marker_seq, run.bits.mask({"global"}), marker.held, hash_of("end")});
        run.marker.store(marker_seq);
        for (int i = 0; i < sc.subscribers; ++i) threads[static_cast<std::size_t>(i)].join();
        proxy_accepted = proxy.accepted();
        proxy_cuts = proxy.cuts();
    }
    const auto observer_deadline = clock_type::now() + 10s;
    while (clock_type::now() < observer_deadline && !observed.saw_marker.load()) {
        std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(300ms);  // anything after the marker is a finding, not lost
    observer_done.store(true);
    observer_thread.join();

    // Sockets back to the baseline once every client is gone.
    std::size_t fds_final = open_fds();
    for (int i = 0; i < 100 && (fds_final > fds_baseline + 2 || server->connections() != 0); ++i) {
        std::this_thread::sleep_for(50ms);
        fds_final = open_fds();
    }

    // -- The checker --------------------------------------------------------------------------
    auto entries = run.book.take();
    const auto envelopes = run.book.envelopes();
    {
        // A held publish learns its id from the batch that carried it, matched by its data.
        const auto items = run.book.items();
        for (auto& p : entries) {
            if (p.seq != 0 || !p.held) continue;
            if (const auto it = items.find(p.hash); it != items.end()) p.seq = it->second;
        }
    }
    std::unordered_map<std::uint64_t, const published*> by_seq;
    for (const auto& p : entries) by_seq.emplace(p.seq, &p);
    // Each publish at its delivery position: its own id, or its `batch` event's when held.
    std::vector<std::pair<std::uint64_t, const published*>> by_position;
    std::size_t unplaced = 0;
    for (const auto& p : entries) {
        if (!p.held) {
            by_position.emplace_back(p.seq, &p);
        } else if (const auto it = envelopes.find(p.seq); p.seq != 0 && it != envelopes.end()) {
            by_position.emplace_back(it->second, &p);
        } else {
            ++unplaced;
        }
    }
    std::sort(by_position.begin(), by_position.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });

    // Order as crier promises it: every connection sees strictly increasing ids over all its
    // channels, batch items included (a held event takes its id when its batch is flushed).
    // Counted here per shared channel, and below over everything ("across channels").
    const auto channel_inversions =
        [&](const std::vector<std::pair<std::uint64_t, std::size_t>>& arrivals, std::uint64_t mask,
            const std::string& who, std::vector<std::string>& notes) {
            std::size_t n = 0;
            std::array<std::uint64_t, 64> last{};
            std::size_t segment = 0;
            for (const auto& [seq, seg] : arrivals) {
                if (seg != segment) last.fill(0), segment = seg;
                const auto it = by_seq.find(seq);
                if (it == by_seq.end()) continue;
                const std::uint64_t shared = it->second->channels & mask;
                bool bad = false;
                std::uint64_t after = 0;
                for (std::size_t b = 0; b < 64; ++b) {
                    if ((shared >> b & 1) == 0) continue;
                    if (seq <= last[b]) bad = true, after = std::max(after, last[b]);
                    last[b] = std::max(last[b], seq);
                }
                if (bad) {
                    if (++n <= 3 && notes.size() < 40) {
                        notes.push_back(who + ": order: " + std::to_string(seq) + " after " +
                                        std::to_string(after) + " on a shared channel");
                    }
                }
            }
            return n;
        };

    std::size_t received = 0, reconnects = 0, resyncs = 0, duplicates = 0, order = 0,
                inversions = 0, ended_by_peer = 0, frame_order = 0, gaps = 0, start_window = 0,
                mismatched = 0, unknown = 0, refused = 0, bad_batches = 0, resume_mismatches = 0,
                unfinished = 0;
    std::vector<std::string> notes;
    std::map<std::string, std::size_t> resync_reasons;
    for (const auto& s : subscribers) {
        for (const auto& [reason, n] : s->resync_reasons_) resync_reasons[reason] += n;
        received += s->contents_.size();
        reconnects += s->connections_ > 0 ? s->connections_ - 1 : 0;
        resyncs += s->resyncs_;
        duplicates += s->duplicates_;
        inversions += s->inversions_;
        {
            std::vector<std::pair<std::uint64_t, std::size_t>> arrivals;
            for (const auto& a : s->contents_) arrivals.emplace_back(a.seq, a.segment);
            order += channel_inversions(arrivals, s->mask_, s->user_, notes);
        }
        frame_order += s->frame_order_violations_;
        refused += s->refused_;
        bad_batches += s->bad_batches_ + s->protocol_errors_;
        ended_by_peer += s->server_closed_;
        resume_mismatches += s->resume_mismatches_;
        if (!s->reached_marker_) {
            ++unfinished;
            notes.push_back(s->user_ + ": never saw the end marker");
        }
        notes.insert(notes.end(), s->notes_.begin(), s->notes_.end());
        for (const auto& [seq, hash, segment] : s->contents_) {
            const auto it = by_seq.find(seq);
            if (it == by_seq.end()) {
                ++unknown;  // only an HTTP publish whose reply was lost may be unrecorded
            } else if (it->second->hash != hash) {
                ++mismatched;
                if (notes.size() < 40)
                    notes.push_back(s->user_ + ": data differs for " + std::to_string(seq));
            } else if ((it->second->channels & s->mask_) == 0) {
                ++mismatched;
                if (notes.size() < 40)
                    notes.push_back(s->user_ + ": not subscribed to " + std::to_string(seq));
            }
        }
        for (const auto& iv : s->intervals_) {
            auto it = std::upper_bound(by_position.begin(), by_position.end(), iv.lo,
                                       [](std::uint64_t v, const auto& e) { return v < e.first; });
            for (; it != by_position.end() && it->first <= iv.hi; ++it) {
                const published& p = *it->second;
                if ((p.channels & s->mask_) == 0 || s->seen_.contains(p.seq)) continue;
                if (iv.fresh && (iv.first_frame == 0 || it->first < iv.first_frame)) {
                    ++start_window;  // published between `connected` and the subscription
                    continue;
                }
                ++gaps;
                if (notes.size() < 40) {
                    notes.push_back(s->user_ + ": gap, missed " + std::to_string(p.seq) + " (at " +
                                    std::to_string(it->first) + ") in (" + std::to_string(iv.lo) +
                                    ", " + std::to_string(iv.hi) + "]");
                }
            }
        }
    }
    const std::size_t observer_order = [&] {
        std::vector<std::pair<std::uint64_t, std::size_t>> arrivals;
        for (auto seq : observed.contents) arrivals.emplace_back(seq, 0);
        return channel_inversions(arrivals, ~std::uint64_t{0}, "observer", notes);
    }();
    const std::size_t observer_missing = [&] {
        std::unordered_set<std::uint64_t> got(observed.contents.begin(), observed.contents.end());
        std::size_t n = 0;
        for (const auto& p : entries) {
            if (got.contains(p.seq)) continue;
            ++n;
            if (notes.size() < 40) {
                const auto e = envelopes.find(p.seq);
                notes.push_back("observer never saw " + std::to_string(p.seq) +
                                (p.held ? " (held, batch " +
                                              (e == envelopes.end() ? std::string("unknown")
                                                                    : std::to_string(e->second)) +
                                              ")"
                                        : ""));
            }
        }
        return n;
    }();
    // Every event leaves before the marker, which was published after the last flush: one
    // delivered after it was held past flush_batches() (no interval covers it).
    std::size_t late = 0;
    const std::uint64_t marker_position = [&] {
        const auto it = by_seq.find(run.marker.load());
        if (it == by_seq.end() || !it->second->held) return run.marker.load();
        const auto e = envelopes.find(run.marker.load());
        return e == envelopes.end() ? run.marker.load() : e->second;
    }();
    for (const auto& [position, p] : by_position) {
        if (position <= marker_position) continue;
        ++late;
        if (notes.size() < 40) {
            notes.push_back("delivered after the marker: " + std::to_string(p->seq) + " at " +
                            std::to_string(position));
        }
    }

    // What the options allow to be held at once: history (32 MiB), held batches (4 MiB) and a
    // full 2 MiB queue for every stream that can be open (subscribers, 3 stalls, 4 vanishing
    // users at 3 streams each), plus room for the allocator. The sanitizers add their own:
    // TSan's shadow memory, ASan's 256 MiB quarantine of freed blocks.
    const double rss_bound_mib = 32 + 4 + 2.0 * (sc.subscribers + 3 + 12) + 64 +
                                 (CRIER_SOAK_TSAN ? 384 : 0) + (CRIER_SOAK_ASAN ? 320 : 0);
    const double rss_growth_mib =
        rss_baseline == 0
            ? 0.0
            : (static_cast<double>(rss_max) - static_cast<double>(rss_baseline)) / 1024.0;
    std::printf(
        "[soak] %llds%s: published %zu (http %zu, http failures %zu), received %zu, "
        "reconnects %zu (refused %zu, ended by server or proxy %zu), proxy cuts %zu of %zu, "
        "resyncs %zu, stalls %zu (closed: %zu flooded, max %ld ms; %zu quiet, %ld..%ld ms after "
        "the last byte taken; late or never %zu; by restart %zu; flooded ones filled after the "
        "publishers stopped %zu), "
        "vanished %zu, restarts %d, "
        "rss growth %.1f MiB (bound %.0f, baseline %.1f MiB), fds baseline %zu max %zu final %zu, "
        "gaps %zu (start window %zu, unplaced %zu, late %zu), duplicates %zu, order violations "
        "%zu (frames %zu, observer %zu; across channels %zu, observer %zu), data mismatches %zu, "
        "unknown %zu, observer overflows %zu, observer missing %zu\n",
        static_cast<long long>(sc.chaos.count()), CRIER_SOAK_TSAN ? " tsan" : "", entries.size(),
        run.http_publishes.load(), run.http_failures.load(), received, reconnects, refused,
        ended_by_peer, proxy_cuts, proxy_accepted, resyncs, run.stalls.load(),
        run.stalls_closed.load(), run.stall_max_ms.load(), run.quiet_stalls_closed.load(),
        run.quiet_stall_min_ms.load(), run.quiet_stall_max_ms.load(), run.stalls_not_closed.load(),
        run.stalls_by_restart.load(), run.late_fills.load(), run.vanished.load(),
        run.restarts.load(), rss_growth_mib, rss_bound_mib, rss_baseline / 1024.0, fds_baseline,
        fds_max, fds_final, gaps, start_window, unplaced, late, duplicates, order, frame_order,
        observer_order, inversions, observed.inversions, mismatched, unknown,
        run.observer_overflows.load(), observer_missing);
    std::string reasons;
    for (const auto& [reason, n] : resync_reasons)
        reasons += " " + reason + "=" + std::to_string(n);
    std::printf("[soak]   resync reasons:%s\n", reasons.c_str());
    for (std::size_t i = 0; i < notes.size() && i < 30; ++i) {
        std::printf("[soak]   %s\n", notes[i].c_str());
    }
    std::fflush(stdout);

    // The run did what it says: real volume, real chaos.
    EXPECT_GT(entries.size(),
              static_cast<std::size_t>(sc.chaos.count()) * (CRIER_SOAK_TSAN ? 50 : 200));
    EXPECT_GT(run.http_publishes.load(), 0u);
    EXPECT_GT(received, entries.size());
    EXPECT_GT(reconnects, static_cast<std::size_t>(sc.subscribers) * 3);
    EXPECT_GT(proxy_cuts, 0u);
    EXPECT_EQ(run.restarts.load(), 2);
    EXPECT_GT(run.stalls.load(), 0u);
    EXPECT_GT(run.vanished.load(), 0u);

    // Promises.
    EXPECT_EQ(unfinished, 0u);
    EXPECT_EQ(duplicates, 0u);
    EXPECT_EQ(frame_order, 0u);
    EXPECT_EQ(order, 0u) << "per-connection seq order through batches (issue 8, defect 1)";
    EXPECT_EQ(observer_order, 0u) << "hub-level seq order through batches (defect 1)";
    EXPECT_EQ(inversions, 0u) << "per-connection seq order across all channels (defect 1)";
    EXPECT_EQ(observed.inversions, 0u) << "hub-level seq order across all channels (defect 1)";
    EXPECT_EQ(late, 0u);
    EXPECT_EQ(gaps, 0u);
    EXPECT_EQ(mismatched, 0u);
    EXPECT_LE(unknown, run.http_failures.load());
    EXPECT_EQ(bad_batches, 0u) << "unparsable batches, parser errors, events before connected";
    EXPECT_EQ(resume_mismatches, 0u);
    EXPECT_EQ(run.observer_overflows.load() == 0 ? unplaced : 0u, 0u);
    EXPECT_EQ(run.observer_overflows.load() == 0 ? observer_missing : 0u, 0u);
    EXPECT_GT(run.stalls_closed.load(), 0u);
    EXPECT_GT(run.quiet_stalls_closed.load(), 0u);
    EXPECT_EQ(run.stalls_not_closed.load(), 0u)
        << "stalled streams closed by the write deadline (issue 8, defect 3)";
    EXPECT_LT(rss_growth_mib, rss_bound_mib) << "RSS bound";
    EXPECT_LE(fds_final, fds_baseline + 2);
    EXPECT_LT(fds_max, fds_baseline + 400);

    server->stop();
}

}  // namespace
