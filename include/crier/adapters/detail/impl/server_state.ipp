// SPDX-License-Identifier: MIT
// Definitions for crier/adapters/detail/server_state.hpp.
#ifndef CRIER_ADAPTERS_DETAIL_IMPL_SERVER_STATE_IPP
#define CRIER_ADAPTERS_DETAIL_IMPL_SERVER_STATE_IPP

#include <crier/adapters/detail/http_errors.hpp>
#include <crier/adapters/detail/server_state.hpp>
#include <crier/core/names.hpp>
#include <crier/detail/json.hpp>
#include <crier/sse/encoder.hpp>

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace crier::adapters::detail {
namespace {

using crier::detail::append_json_string;
using crier::detail::json_string;

constexpr std::size_t max_history_limit = 1000;
constexpr std::size_t max_static_file_bytes = 8u << 20;

std::int64_t to_ns(std::chrono::milliseconds ms) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(ms).count();
}

// Every JSON body ends with a newline, so `curl` output does not run into the shell prompt.
http::response json_ok(std::string body) {
    http::response r;
    r.body = std::move(body);
    r.body.push_back('\n');
    return r;
}

// A pattern (`prefix*`) or name that could reach someone's private `user:` channel.
bool reaches_user_channels(std::string_view channel) {
    if (channel.empty() || channel.back() != '*') return channel.starts_with("user:");
    const std::string_view prefix = channel.substr(0, channel.size() - 1);
    return std::string_view("user:").starts_with(prefix) || prefix.starts_with("user:");
}

// A `?channel=` or `?type=` whose value has a malformed `%` escape is refused, never silently
// dropped: the client would believe it subscribed, or filtered.
std::optional<http::response> refuse_malformed(const http::request& request, std::string_view name,
                                               std::size_t decoded) {
    if (request.query_param_count(name) == decoded) return std::nullopt;
    return http::json_error(400, name == "type" ? "invalid_type" : "invalid_channel",
                            fmt::format("a ?{}= value has a malformed %-escape", name));
}

// A POST body must be JSON: a Content-Type other than application/json (any case, any
// parameters) is refused; none at all is taken as JSON.
std::optional<http::response> refuse_non_json(const http::request& request) {
    const auto type = request.header("content-type");
    if (!type || request.content_type_is("application/json")) return std::nullopt;
    return http::json_error(415, "unsupported_media_type",
                            fmt::format("send Content-Type: application/json, not '{}'", *type));
}

std::string_view content_type_for(std::string_view path) {
    const auto dot = path.rfind('.');
    const std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
    if (ext == "html") return "text/html; charset=utf-8";
    if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
    if (ext == "css") return "text/css; charset=utf-8";
    if (ext == "json") return "application/json";
    if (ext == "svg") return "image/svg+xml";
    if (ext == "png") return "image/png";
    if (ext == "ico") return "image/x-icon";
    return "application/octet-stream";
}

}  // namespace

CRIER_DECL server_state::server_state(crier::hub& hub, server_options options,
                                      std::shared_ptr<stream_state> streams)
    : hub_(hub), options_(std::move(options)), streams_(std::move(streams)) {
    if (!options_.prefix.empty() && options_.prefix.back() == '/') options_.prefix.pop_back();
    if (streams_) return;  // a host's stream_service: its settings and timer
    streams_ = std::make_shared<stream_state>(
        hub, stream_settings{.retry = options_.retry,
                             .connected_event = options_.connected_event,
                             .heartbeat = options_.heartbeat,
                             .idle_timeout = options_.idle_timeout,
                             .write_timeout = options_.write_timeout,
                             .shutdown_retry_min = options_.shutdown_retry_min,
                             .shutdown_retry_max = options_.shutdown_retry_max});
    streams_->set_external_ticks();  // the server's own timer sweeps them
    streams_->on_error = [this](std::string_view what) { report_error(what); };
}

CRIER_DECL std::chrono::milliseconds server_state::tick_interval() const noexcept {
    const std::int64_t shortest = std::min(
        {to_ns(options_.request_timeout), to_ns(options_.keep_alive_timeout),
         std::chrono::duration_cast<std::chrono::nanoseconds>(streams_->tick_interval()).count() *
             4});
    const auto quarter = std::chrono::milliseconds(shortest / 4'000'000);
    return std::clamp(quarter, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
}

CRIER_DECL bool server_state::connection_opened() noexcept {
    if (open_.fetch_add(1, std::memory_order_relaxed) >= options_.max_connections) {
        open_.fetch_sub(1, std::memory_order_relaxed);
        refused_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    return true;
}

CRIER_DECL std::size_t server_state::max_channels_per_stream() const noexcept {
    return std::min(options_.max_channels_per_stream, hub_.options().max_channels_per_subscription);
}

CRIER_DECL http::response server_state::too_many_channels_error(std::size_t limit) const {
    // json_error's shape, plus the limit as a number (as the 429 for connections gives it).
    http::response r;
    r.status = 400;
    r.body = fmt::format(
        R"({{"error":{{"status":400,"code":"too_many_channels","message":{},"limit":{}}}}})"
        "\n",
        json_string(fmt::format(
            "at most {} channels per request ('global' and the user's own channel count)", limit)),
        limit);
    return r;
}

CRIER_DECL void server_state::add_cors(http::response& r) const {
    if (options_.cors_origin.empty()) return;
    r.headers.emplace_back("Access-Control-Allow-Origin", options_.cors_origin);
    if (options_.cors_origin != "*") {
        r.headers.emplace_back("Access-Control-Allow-Credentials", "true");
        r.headers.emplace_back("Vary", "Origin");
    }
}

CRIER_DECL server_state::auth_result server_state::authenticate(const http::request& request,
                                                                const principal* given) const {
    std::optional<principal> who;
    if (given != nullptr) {
        who = *given;  // the host authenticated the request itself
    } else if (!options_.authenticate) {
        return {principal{}, std::nullopt};
    } else {
        // What the hook throws is handled by route(), like every other hook's.
        who = options_.authenticate(request);
    }
    if (!who) {
        auto r = http::json_error(401, "unauthorized", "authentication required");
        r.headers.emplace_back("WWW-Authenticate", "Bearer");
        return {std::nullopt, std::move(r)};
    }
    // The id names the principal's own `user:` channel: one that could read as a pattern or as
    // someone else's channel is refused on every route, before anything uses it. Empty is the
    // anonymous principal.
    if (!who->user_id.empty() && validate_user_id(who->user_id)) {
        return {std::nullopt,
                http::json_error(400, "invalid_user_id",
                                 fmt::format("the principal's user id is not a valid user id "
                                             "(1 to {} bytes of printable ASCII other than "
                                             "space, '*', '?' and ':')",
                                             max_user_id_bytes))};
    }
    return {std::move(who), std::nullopt};
}

CRIER_DECL std::optional<http::response> server_state::check_channel(
    const principal& who, std::string_view channel) const {
    if (channel.empty()) return http::json_error(400, "invalid_channel", "empty channel name");
    if (channel == "global") return std::nullopt;
    if (!who.user_id.empty() && channel == "user:" + who.user_id) return std::nullopt;
    if (reaches_user_channels(channel)) {
        return http::json_error(403, "forbidden",
                                fmt::format("channel '{}' is another user's", channel));
    }
    if (options_.authorize && !options_.authorize(who, channel)) {
        return http::json_error(403, "forbidden",
                                fmt::format("channel '{}' is not allowed", channel));
    }
    return std::nullopt;
}

CRIER_DECL route_result server_state::route(const http::request& request, const principal* given) {
    requests_.fetch_add(1, std::memory_order_relaxed);
    // Host hooks run inside: whatever they throw ends this request only.
    try {
        return route_unguarded(request, given);
    } catch (const std::exception& e) {
        report_error(
            fmt::format("{} {}: host code threw: {}", request.method(), request.path(), e.what()));
    } catch (...) {
        report_error(fmt::format("{} {}: host code threw an unknown exception", request.method(),
                                 request.path()));
    }
    route_result failed;
    failed.response = http::json_error(500, "internal_error", "the request could not be handled");
    add_cors(failed.response);
    return failed;
}

CRIER_DECL void server_state::report_error(std::string_view what) const noexcept {
    try {
        if (options_.on_error) {
            options_.on_error(what);
        } else {
            fmt::print(stderr, "crier: {}\n", what);
        }
    } catch (...) {
        // Nowhere left to report to; the failure it described is contained already.
    }
}

CRIER_DECL route_result server_state::route_unguarded(const http::request& request,
                                                      const principal* given) {
    route_result result;
    const std::string_view method = request.method();
    const std::string_view path = request.path();
    const bool cors = !options_.cors_origin.empty();

    if (cors && method == "OPTIONS") {
        result.response.status = 204;
        result.response.content_type.clear();
        result.response.headers = {
            {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
            {"Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID"},
            {"Access-Control-Max-Age", "600"}};
        add_cors(result.response);
        return result;
    }

    struct route_entry {
        std::string_view name;
        std::string_view method;
    };
    static constexpr route_entry routes[] = {
        {"/events", "GET"},  {"/history", "GET"}, {"/stats", "GET"},      {"/publish", "POST"},
        {"/metrics", "GET"}, {"/health", "GET"},  {"/disconnect", "POST"}};
    const std::string_view prefix = options_.prefix;
    if (path.starts_with(prefix) && path.size() > prefix.size() && path[prefix.size()] == '/') {
        const std::string_view name = path.substr(prefix.size());
        const auto it = std::find_if(std::begin(routes), std::end(routes),
                                     [&](const route_entry& e) { return e.name == name; });
        if (it == std::end(routes)) {
            result.response = http::json_error(404, "not_found", fmt::format("no route {}", path));
        } else if (method != it->method) {
            result.response = http::json_error(405, "method_not_allowed",
                                               fmt::format("{} takes {}", path, it->method));
            result.response.headers.emplace_back("Allow", std::string(it->method));
        } else if (name == "/events") {
            result = route_events(request, given);
        } else if (name == "/history") {
            result.response = route_history(request, given);
        } else if (name == "/stats") {
            result.response = route_stats(request, given);
        } else if (name == "/publish") {
            result.response = route_publish(request, given);
        } else if (name == "/disconnect") {
            result.response = route_disconnect(request, given);
        } else if (name == "/metrics") {
            result.response = route_metrics(request, given);
        } else {
            result.response = route_health();
        }
    } else if (auto answered = options_.handler ? options_.handler(request) : std::nullopt) {
        result.response = std::move(*answered);
    } else if (!options_.static_dir.empty() && method == "GET") {
        result.response = route_static(request);
    } else {
        result.response = http::json_error(404, "not_found", fmt::format("no route {}", path));
    }
    if (!result.stream) add_cors(result.response);
    return result;
}

CRIER_DECL route_result server_state::route_events(const http::request& request,
                                                   const principal* given) {
    route_result result;
    auto [who, error] = authenticate(request, given);
    if (error) {
        result.response = std::move(*error);
        return result;
    }
    stream_request plan;
    plan.subscription.user_id = who->user_id;
    plan.subscription.channels.emplace_back("global");
    if (!who->user_id.empty()) plan.subscription.channels.push_back("user:" + who->user_id);
    auto requested = request.query_params("channel");
    if (auto refused = refuse_malformed(request, "channel", requested.size())) {
        result.response = std::move(*refused);
        return result;
    }
    // The automatic `global` and `user:{id}` count: the limit is what the stream holds. The loop
    // stops at the first channel past it, so the work stays bounded however many are named.
    const std::size_t limit = max_channels_per_stream();
    auto too_many = [&] {
        result.response = too_many_channels_error(limit);
        return std::move(result);
    };
    for (auto& channel : requested) {
        if (auto refused = check_channel(*who, channel)) {
            result.response = std::move(*refused);
            return result;
        }
        if (std::find(plan.subscription.channels.begin(), plan.subscription.channels.end(),
                      channel) == plan.subscription.channels.end()) {
            if (plan.subscription.channels.size() == limit) return too_many();
            plan.subscription.channels.push_back(std::move(channel));
        }
    }
    plan.subscription.types = request.query_params("type");
    if (auto refused = refuse_malformed(request, "type", plan.subscription.types.size())) {
        result.response = std::move(*refused);
        return result;
    }

    // Last-Event-ID: the header a browser sends, or the query for clients that cannot set it.
    std::string last_id(request.header("last-event-id").value_or(std::string_view{}));
    // Clients that cannot set a header on reconnect send it in the query: crier.js and
    // EventSource polyfills (`lastEventId`, their default), Mercure's clients (`lastEventID`).
    for (const char* name : {"last_event_id", "lastEventId", "lastEventID"}) {
        if (!last_id.empty()) break;
        last_id = request.query_param(name).value_or(std::string{});
    }
    if (!sse::is_valid_last_event_id(last_id)) last_id = "invalid";  // the hub answers resync
    plan.subscription.last_event_id = last_id;

    http::response cors;
    add_cors(cors);
    plan.headers = std::move(cors.headers);
    result.stream = std::move(plan);
    return result;
}

CRIER_DECL http::response server_state::route_history(const http::request& request,
                                                      const principal* given) {
    auto [who, error] = authenticate(request, given);
    if (error) return std::move(*error);
    std::vector<std::string> channels = request.query_params("channel");
    if (auto refused = refuse_malformed(request, "channel", channels.size())) {
        return std::move(*refused);
    }
    // Bounded like a stream's channels, before any per-channel work (each costs a hook call
    // and a history scan).
    std::sort(channels.begin(), channels.end());
    channels.erase(std::unique(channels.begin(), channels.end()), channels.end());
    if (channels.size() > max_channels_per_stream()) {
        return too_many_channels_error(max_channels_per_stream());
    }
    for (const auto& channel : channels) {
        if (auto refused = check_channel(*who, channel)) return std::move(*refused);
    }
    if (channels.empty()) {
        channels.emplace_back("global");
        if (!who->user_id.empty()) channels.push_back("user:" + who->user_id);
    }
    std::size_t limit = 100;
    if (auto text = request.query_param("limit")) {
        const auto [end, err] = std::from_chars(text->data(), text->data() + text->size(), limit);
        if (err != std::errc{} || end != text->data() + text->size() || limit == 0 ||
            limit > max_history_limit) {
            return http::json_error(
                400, "invalid_limit",
                fmt::format("limit must be a whole number from 1 to {}", max_history_limit));
        }
    }
    std::string since = request.query_param("since").value_or(std::string{});
    if (since.empty()) since = std::string(request.header("last-event-id").value_or(""));

    const history_result h = hub_.history(since, channels, limit);
    std::string body = R"({"events":[)";
    bool more = h.more;
    for (std::size_t i = 0; i < h.events.size(); ++i) {
        const auto& e = h.events[i];
        const std::size_t before = body.size();
        if (i != 0) body.push_back(',');
        body += R"({"id":)" + json_string(sse::to_string(e.id)) + R"(,"type":)" +
                json_string(e.type) + R"(,"data":)" + json_string(e.data) + R"(,"channels":[)";
        for (std::size_t c = 0; c < e.channels.size(); ++c) {
            if (c != 0) body.push_back(',');
            append_json_string(body, e.channels[c]);
        }
        body += fmt::format(
            R"(],"time":{}}})",
            std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch())
                .count());
        // Past the byte cap, this event waits for the next page (the first always goes, so
        // paging advances); escaping made it at most one event's worth of wasted work.
        if (body.size() > options_.max_history_response_bytes && i != 0) {
            body.resize(before);
            more = true;
            break;
        }
    }
    body += fmt::format(R"(],"complete":{},"more":{},"id":{}}})", h.complete, more,
                        json_string(sse::to_string(h.current)));
    return json_ok(std::move(body));
}

CRIER_DECL std::optional<http::response> server_state::check_admin(const http::request& request,
                                                                   const principal* given,
                                                                   std::string_view what) const {
    auto [who, error] = authenticate(request, given);
    if (error) return error;
    const bool allowed = options_.authorize_stats ? options_.authorize_stats(*who) : who->admin;
    if (!allowed) {
        return http::json_error(403, "forbidden", fmt::format("{} need admin rights", what));
    }
    return std::nullopt;
}

CRIER_DECL http::response server_state::route_stats(const http::request& request,
                                                    const principal* given) {
    if (auto refused = check_admin(request, given, "stats")) return std::move(*refused);
    std::string body = hub_.stats().to_json();
    if (!body.empty() && body.back() == '}') {
        body.pop_back();
        body += fmt::format(
            R"(,"server":{{"connections":{},"requests":{},"streamsOpened":{},"framesWritten":{},"refused":{}}}}})",
            open_.load(), requests_.load(), streams_->streams_opened(), streams_->frames_written(),
            refused_.load());
    }
    return json_ok(std::move(body));
}

CRIER_DECL http::response server_state::route_publish(const http::request& request,
                                                      const principal* given) {
    auto [who, error] = authenticate(request, given);
    if (error) return std::move(*error);
    if (auto refused = refuse_non_json(request)) return std::move(*refused);
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (auto e = parser.parse(request.body().data(), request.body().size()).get(doc)) {
        return http::json_error(400, "invalid_json",
                                fmt::format("body is not JSON: {}", simdjson::error_message(e)));
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) {
        return http::json_error(400, "invalid_json", "body must be a JSON object");
    }
    auto string_field = [&](const char* key, std::string& out) -> std::optional<http::response> {
        simdjson::dom::element v;
        if (obj[key].get(v)) return std::nullopt;  // absent
        std::string_view s;
        if (v.get_string().get(s)) {
            return http::json_error(400, "invalid_json", fmt::format("'{}' must be a string", key));
        }
        out.assign(s);
        return std::nullopt;
    };
    std::string type, module, action, user_id, dedup_key, channel;
    for (auto [key, out] : {std::pair{"type", &type}, std::pair{"module", &module},
                            std::pair{"action", &action}, std::pair{"user_id", &user_id},
                            std::pair{"dedup_key", &dedup_key}, std::pair{"channel", &channel}}) {
        if (auto bad = string_field(key, *out)) return std::move(*bad);
    }
    std::vector<std::string> channels;
    if (!channel.empty()) channels.push_back(channel);
    simdjson::dom::element list;
    if (!obj["channels"].get(list)) {
        simdjson::dom::array array;
        if (list.get_array().get(array)) {
            return http::json_error(400, "invalid_json", "'channels' must be an array of strings");
        }
        for (auto item : array) {
            std::string_view s;
            if (item.get_string().get(s)) {
                return http::json_error(400, "invalid_json",
                                        "'channels' must be an array of strings");
            }
            channels.emplace_back(s);
        }
    }
    // `data`: a JSON string is the data itself; any other JSON value is sent as its JSON text.
    // A string is used where the parser decoded it: this thread's parser parses nothing else
    // before the publish below has encoded it.
    std::string minified;
    std::string_view data;
    simdjson::dom::element d;
    if (obj["data"].get(d)) return http::json_error(400, "invalid_json", "'data' is required");
    if (d.get_string().get(data)) {
        minified = simdjson::minify(d);
        data = minified;
    }

    const bool module_event = !module.empty() || !action.empty();
    if (module_event) {
        if (module.empty() || action.empty()) {
            return http::json_error(400, "invalid_json", "'module' and 'action' go together");
        }
        channels = {module};
        if (!user_id.empty()) channels.push_back("user:" + user_id);
    } else {
        if (type.empty()) return http::json_error(400, "invalid_json", "'type' is required");
        if (channels.empty()) {
            return http::json_error(400, "invalid_json", "'channel' or 'channels' is required");
        }
    }
    const bool allowed = options_.authorize_publish
                             ? options_.authorize_publish(*who, std::span(channels))
                             : who->publisher;
    if (!allowed) return http::json_error(403, "forbidden", "not allowed to publish there");

    // Never wait for the backlog here: this is an I/O thread, maybe the one that drains it.
    const publish_options opts{.dedup_key = dedup_key, .backlog_wait = {}};
    const publish_result r =
        module_event ? hub_.publish_module_event(module, action, data, user_id, opts)
                     : hub_.publish(std::span<const std::string>(channels), type, data, opts);
    if (r.error) {
        auto response =
            http::json_error(status_for(r.error), errc_code_name(r.error), r.error.message());
        // Over the backlog bound, or a backplane away (it reconnects with backoff): a retry soon
        // may succeed.
        if (r.error == errc::rate_limited || r.error == errc::overloaded ||
            r.error == errc::backplane_unavailable) {
            response.headers.emplace_back("Retry-After", "1");
        }
        return response;
    }
    // By appends into one reserved string: this answers every publish, and fmt::format took
    // ~1 200 instructions of the route's ~10 000. A held event (or a duplicate of one) has no id
    // yet: it takes one when its batch flushes. An id is hex digits, '-' and decimal digits:
    // nothing to escape.
    std::string body;
    body.reserve(80);
    body.append(R"({"id":)");
    if (r.id == sse::event_id{}) {
        body.append("null");
    } else {
        std::array<char, sse::max_event_id_chars> id{};
        body.push_back('"');
        body.append(id.data(),
                    static_cast<std::size_t>(sse::to_chars(id.data(), r.id) - id.data()));
        body.push_back('"');
    }
    body.append(R"(,"duplicate":)").append(r.duplicate ? "true" : "false");
    body.append(R"(,"held":)").append(r.held ? "true" : "false");
    // Delivered, to this node's subscribers only (the backplane was away): 200, and the body
    // says so; without "scope" it reached every node.
    if (r.scope == publish_scope::local) body.append(R"(,"scope":"local")");
    body.push_back('}');
    return json_ok(std::move(body));
}

CRIER_DECL http::response server_state::route_disconnect(const http::request& request,
                                                         const principal* given) {
    if (auto refused = check_admin(request, given, "disconnect")) return std::move(*refused);
    if (auto refused = refuse_non_json(request)) return std::move(*refused);
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::object obj;
    if (parser.parse(request.body().data(), request.body().size()).get(doc) ||
        doc.get_object().get(obj)) {
        return http::json_error(400, "invalid_json", "body must be a JSON object");
    }
    std::string_view user, channel;
    const bool has_user = !obj["user_id"].get_string().get(user);
    const bool has_channel = !obj["channel"].get_string().get(channel);
    if (has_user == has_channel) {
        return http::json_error(400, "invalid_json",
                                "give exactly one of 'user_id' and 'channel', as a string");
    }
    // How long to answer that user's or channel's reconnects with 204 (EventSource stops).
    std::int64_t refuse_ms = 0;
    if (simdjson::dom::element v; !obj["refuse_reconnect_ms"].get(v)) {
        if (v.get_int64().get(refuse_ms) || refuse_ms < 0) {
            return http::json_error(400, "invalid_json",
                                    "'refuse_reconnect_ms' must be a whole number >= 0");
        }
    }
    if (has_user ? user.empty() : channel.empty()) {
        return http::json_error(400, "invalid_json", "the name is empty");
    }
    const disconnect_options how{.refuse_reconnect = std::chrono::milliseconds(refuse_ms)};
    const std::size_t closed =
        has_user ? hub_.disconnect_user(user, how) : hub_.close_channel(channel, how);
    return json_ok(fmt::format(R"({{"closed":{}}})", closed));
}

CRIER_DECL http::response server_state::route_metrics(const http::request& request,
                                                      const principal* given) {
    if (auto refused = check_admin(request, given, "metrics")) return std::move(*refused);
    const hub_stats s = hub_.stats();
    std::string body;
    auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                      auto value) {
        fmt::format_to(std::back_inserter(body),
                       "# HELP crier_{} {}\n# TYPE crier_{} {}\ncrier_{} {}\n", name, help, name,
                       type, name, value);
    };
    metric("subscriptions", "gauge", "Live subscriptions.", s.subscriptions);
    metric("users", "gauge", "Distinct users with a live subscription.", s.users);
    metric("channels", "gauge", "Channels with a subscriber or retained history.", s.channels);
    metric("history_events", "gauge", "Events retained for replay.", s.history_events);
    metric("history_bytes", "gauge", "Bytes retained for replay.", s.history_bytes);
    metric("queued_frames", "gauge", "Frames waiting in subscription queues.", s.queued_frames);
    metric("queued_bytes", "gauge", "Bytes waiting in subscription queues.", s.queued_bytes);
    metric("held_events", "gauge", "Events held by rate limits for batching.", s.held_events);
    metric("published_total", "counter", "Events accepted.", s.published);
    metric("delivered_total", "counter", "Frames queued to subscriptions.", s.delivered);
    metric("deduplicated_total", "counter", "Publishes refused as duplicates.", s.deduplicated);
    metric("resyncs_total", "counter", "Resync events sent.", s.resyncs);
    metric("overflows_total", "counter", "Subscription queue overflows.", s.overflows);
    metric("rate_limited_total", "counter", "Events over a rate limit.", s.rate_limited);
    metric("batches_total", "counter", "Batch events flushed.", s.batched);
    metric("backlog_frames", "gauge", "Frames queued and not yet drained (backlog_limit).",
           s.backlog_frames);
    metric("overloaded_total", "counter", "Publishes refused over the backlog limit.",
           s.overloaded);
    metric("backplane_connected", "gauge", "1 while the backplane orders events.",
           s.backplane_connected ? 1 : 0);
    metric("backplane_lag", "gauge", "Events ordered cluster-wide, not delivered here yet.",
           s.backplane_lag);
    metric("backplane_errors_total", "counter", "Backplane failures.", s.backplane_errors);
    if (!s.backplane_when_away.empty()) {
        metric("backplane_local_publishes_total", "counter",
               "Events published while the backplane was away, delivered to this node only.",
               s.backplane_local_publishes);
        // The policy as an info-style gauge: one series, its value 1, the mode in a label.
        fmt::format_to(std::back_inserter(body),
                       "# HELP crier_backplane_when_away What a publish does while the "
                       "backplane is away.\n# TYPE crier_backplane_when_away gauge\n"
                       "crier_backplane_when_away{{mode=\"{}\"}} 1\n",
                       s.backplane_when_away);
    }
    metric("http_connections", "gauge", "Open HTTP connections.", open_.load());
    metric("http_requests_total", "counter", "HTTP requests routed.", requests_.load());
    metric("http_streams_opened_total", "counter", "SSE streams opened.",
           streams_->streams_opened());
    metric("http_frames_written_total", "counter", "Event frames written to sockets.",
           streams_->frames_written());
    metric("http_refused_total", "counter", "Connections refused at max_connections.",
           refused_.load());
    http::response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = std::move(body);
    return r;
}

CRIER_DECL http::response server_state::route_health() const {
    const bool up = !stopping() && !hub_.stopped();
    // Degraded, not down: local streams are still served while the backplane is away.
    const bool degraded = up && !hub_.stats().backplane_connected;
    const char* status = !up ? R"("stopping")" : degraded ? R"("degraded")" : R"("ok")";
    http::response r = json_ok(fmt::format(R"({{"status":{},"currentId":{}}})", status,
                                           json_string(sse::to_string(hub_.current_id()))));
    r.status = up ? 200 : 503;
    return r;
}

CRIER_DECL http::response server_state::route_static(const http::request& request) const {
    std::string rel = http::percent_decode(request.path()).value_or(std::string{});
    if (rel.empty() || rel.front() != '/') {
        return http::json_error(400, "bad_request", "malformed path");
    }
    if (rel.back() == '/') rel += "index.html";
    // No way out of static_dir: refuse `..` segments, backslashes and NUL outright.
    if (rel.find("/..") != std::string::npos || rel.find('\\') != std::string::npos ||
        rel.find('\0') != std::string::npos) {
        return http::json_error(404, "not_found", "no such file");
    }
    const std::string full = options_.static_dir + rel;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(full, ec)) {
        return http::json_error(404, "not_found", "no such file");
    }
    std::ifstream file(full, std::ios::binary);
    if (!file) return http::json_error(404, "not_found", "no such file");
    std::ostringstream content;
    content << file.rdbuf();
    http::response r;
    r.body = std::move(content).str();
    if (r.body.size() > max_static_file_bytes) {
        return http::json_error(500, "too_large", "static file too large");
    }
    r.content_type = content_type_for(rel);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

}  // namespace crier::adapters::detail

#endif
