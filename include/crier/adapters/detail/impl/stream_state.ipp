// SPDX-License-Identifier: MIT
// Definitions for crier/adapters/detail/stream_state.hpp.
#ifndef CRIER_ADAPTERS_DETAIL_IMPL_STREAM_STATE_IPP
#define CRIER_ADAPTERS_DETAIL_IMPL_STREAM_STATE_IPP

#include <crier/adapters/detail/http_errors.hpp>
#include <crier/adapters/detail/stream_state.hpp>
#include <crier/detail/json.hpp>
#include <crier/sse/encoder.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace crier::adapters::detail {
namespace {

std::int64_t stream_ns(std::chrono::milliseconds ms) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
}

// A header the host adds must not break the head it goes into.
bool valid_header(const std::pair<std::string, std::string>& h) {
    auto clean = [](const std::string& s) {
        return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos;
    };
    return !h.first.empty() && clean(h.first) && clean(h.second) &&
           h.first.find(':') == std::string::npos;
}

}  // namespace

CRIER_DECL stream_state::stream_state(crier::hub& hub, stream_settings settings)
    : hub_(hub),
      settings_(std::move(settings)),
      heartbeat_ns_(stream_ns(settings_.heartbeat.value_or(hub.options().heartbeat_interval))),
      idle_ns_(stream_ns(settings_.idle_timeout.value_or(hub.options().idle_timeout))),
      random_(std::random_device{}()) {}

CRIER_DECL stream_state::~stream_state() {
    stop_ticker();
}

CRIER_DECL stream_opening stream_state::open(stream_request&& request,
                                             std::function<void()> on_ready) {
    stream_opening o;
    auto refuse = [&](std::error_code ec) {
        o.error = ec;
        o.sub = subscription{};
        o.refusal = refusal(ec);
        for (const auto& h : request.headers) {
            if (valid_header(h)) o.refusal.headers.push_back(h);
        }
        return std::move(o);
    };
    try {
        if (stopping()) return refuse(errc::hub_stopped);
        if (!std::all_of(request.headers.begin(), request.headers.end(), valid_header)) {
            return refuse(errc::invalid_field);
        }
        const std::string last_id = request.subscription.last_event_id;
        request.subscription.on_ready = std::move(on_ready);
        std::error_code ec;
        o.sub = hub_.subscribe(std::move(request.subscription), ec);
        if (ec) return refuse(ec);
        opened_.fetch_add(1, std::memory_order_relaxed);

        o.head = stream_head(std::move(request.headers));
        if (settings_.retry) sse::append_retry(o.preamble, *settings_.retry);
        if (settings_.connected_event) {
            // The `connected` event carries an id, so a client that drops before any other
            // event still resumes from the right place. A fresh client's id is the
            // subscription's start, not the hub's position read earlier: an event published in
            // between would otherwise be neither delivered nor replayed, and nothing would say.
            const std::string start = sse::to_string(o.sub.start_id());
            std::string data = fmt::format(R"({{"clientId":"c{}","channels":[)",
                                           next_client_.fetch_add(1, std::memory_order_relaxed));
            const auto channels = o.sub.channels();
            for (std::size_t i = 0; i < channels.size(); ++i) {
                if (i != 0) data.push_back(',');
                crier::detail::append_json_string(data, channels[i]);
            }
            data += R"(],"id":)";
            crier::detail::append_json_string(data, start);
            data.push_back('}');
            (void)sse::append_event(
                o.preamble,
                {.id = last_id.empty() ? start : last_id, .type = "connected", .data = data});
        }
    } catch (...) {
        return refuse(std::make_error_code(std::errc::not_enough_memory));
    }
    return o;
}

CRIER_DECL http::response stream_state::refusal(std::error_code ec) const {
    const int status = status_for(ec);
    if (status == 204) {
        // EventSource stops reconnecting on 204: the host closed this user or channel.
        http::response r;
        r.status = 204;
        r.content_type.clear();
        return r;
    }
    if (ec == errc::invalid_field) {
        return http::json_error(500, "internal_error", "the host set an invalid response header");
    }
    auto r = http::json_error(status, errc_code_name(ec), ec.message());
    if (ec == errc::too_many_connections) {
        const auto limit = hub_.options().max_connections_per_user;
        r.body = fmt::format(
            R"({{"error":{{"status":429,"code":"too_many_connections","message":"at most {} connections per user","limit":{}}}}})"
            "\n",
            limit, limit);
        r.headers.emplace_back("Retry-After", "5");
    } else if (ec == errc::hub_stopped) {
        r.headers.emplace_back("Retry-After", "5");
    }
    return r;
}

CRIER_DECL http::response stream_state::stream_head(
    std::vector<std::pair<std::string, std::string>> headers) {
    http::response head;
    head.content_type = "text/event-stream";
    head.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
    for (auto& h : headers) {
        if (valid_header(h)) head.headers.push_back(std::move(h));
    }
    return head;
}

CRIER_DECL std::chrono::milliseconds stream_state::tick_interval() const noexcept {
    const std::int64_t shortest =
        std::min({heartbeat_ns_, idle_ns_, stream_ns(settings_.write_timeout)});
    const auto quarter = std::chrono::milliseconds(shortest / 4'000'000);
    return std::clamp(quarter, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
}

CRIER_DECL std::chrono::milliseconds stream_state::shutdown_retry() {
    const auto lo = settings_.shutdown_retry_min.count();
    const auto hi = std::max(lo, settings_.shutdown_retry_max.count());
    std::lock_guard lock(random_mutex_);
    return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(lo, hi)(random_));
}

CRIER_DECL void stream_state::ensure_ticker() {
    if (external_ticks_) return;
    std::lock_guard lock(ticker_mutex_);
    if (ticker_.joinable() || ticker_stop_) return;
    ticker_ = std::thread([this] { run_ticker(); });
}

CRIER_DECL void stream_state::run_ticker() {
    std::unique_lock lock(ticker_mutex_);
    const auto interval = tick_interval();
    while (!ticker_cv_.wait_for(lock, interval, [this] { return ticker_stop_; })) {
        lock.unlock();
        tick(clock::now());
        lock.lock();
    }
}

CRIER_DECL void stream_state::stop_ticker() noexcept {
    std::thread ticker;
    {
        std::lock_guard lock(ticker_mutex_);
        ticker_stop_ = true;
        ticker.swap(ticker_);
    }
    ticker_cv_.notify_all();
    if (!ticker.joinable()) return;
    // The last stream may release this state from the timer thread itself.
    if (ticker.get_id() == std::this_thread::get_id()) {
        ticker.detach();
    } else {
        ticker.join();
    }
}

CRIER_DECL void stream_state::tick(clock::time_point now) {
    streams_.for_each([now](tracked& t) { t.on_tick(now); });
}

CRIER_DECL void stream_state::shutdown() noexcept {
    stopping_.store(true);
    try {
        streams_.for_each([this](tracked& t) { t.on_shutdown(shutdown_retry()); });
    } catch (...) {  // out of memory: close_all() is the caller's fallback
    }
}

CRIER_DECL void stream_state::close_all() noexcept {
    try {
        streams_.for_each([](tracked& t) { t.on_force_close(); });
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing more can be done
    }
}

CRIER_DECL void stream_state::report_error(std::string_view what) const noexcept {
    try {
        if (on_error) {
            on_error(what);
        } else {
            fmt::print(stderr, "crier: {}\n", what);
        }
    } catch (...) {  // NOLINT(bugprone-empty-catch): nowhere left to report to
    }
}

CRIER_DECL void stream_state::set_flushers(std::vector<post_function> posts) {
    shards_.clear();
    for (auto& post : posts) {
        shards_.push_back(std::make_unique<ready_shard>());
        shards_.back()->post = std::move(post);
    }
}

CRIER_DECL void stream_state::mark_ready(std::size_t shard, std::shared_ptr<tracked> stream) {
    ready_shard& s = *shards_[shard < shards_.size() ? shard : 0];
    std::unique_lock lock(s.mutex);
    if (s.closed) return;  // the flusher's executor is stopping: nothing may be posted
    s.ready.push_back(std::move(stream));
    // Posted under the lock, so close_ready() cannot slip in between the check and the post.
    if (!std::exchange(s.scheduled, true)) {
        s.post([self = shared_from_this(), &s] { self->flush(s); });
    }
}

CRIER_DECL void stream_state::close_ready() {
    for (auto& s : shards_) {
        std::vector<std::shared_ptr<tracked>> forgotten;
        {
            std::lock_guard lock(s->mutex);
            s->closed = true;
            forgotten.swap(s->ready);  // the streams they name hold this state: break the cycle
        }
        // Destroyed outside the lock: a last reference may close a stream, which may call back.
    }
}

CRIER_DECL void stream_state::release_ready() {
    for (auto& s : shards_) {
        std::vector<std::shared_ptr<tracked>> forgotten;
        {
            std::lock_guard lock(s->mutex);
            forgotten.swap(s->ready);
            s->scheduled = false;
        }
        s->flushing.clear();  // only the flusher touches it, and its threads are gone
        s->flushed = 0;
    }
}

CRIER_DECL void stream_state::flush(ready_shard& s) {
    // Streams per slice: enough to amortise the slice, few enough that a publish waiting in the
    // reactor is read soon.
    constexpr std::size_t slice = 128;
    if (s.flushed == s.flushing.size()) {
        s.flushing.clear();
        s.flushed = 0;
        std::lock_guard lock(s.mutex);
        if (s.ready.empty() || s.closed) {
            s.scheduled = false;
            return;
        }
        s.flushing.swap(s.ready);
    }
    const std::size_t end = std::min(s.flushing.size(), s.flushed + slice);
    for (; s.flushed < end; ++s.flushed) {
        s.flushing[s.flushed]->drain_now();
        s.flushing[s.flushed].reset();
    }
    if (s.flushed == s.flushing.size()) {
        // All written: stop here unless more became ready meanwhile, rather than coming back
        // once more to find nothing (one post per publish saved when events are sparse).
        s.flushing.clear();
        s.flushed = 0;
        std::lock_guard lock(s.mutex);
        if (s.ready.empty() || s.closed) {
            s.scheduled = false;
            return;
        }
    }
    // More to write: yield to the reactor first, so a publish waiting there is read soon.
    s.post([self = shared_from_this(), &s] { self->flush(s); });
}

}  // namespace crier::adapters::detail

#endif
