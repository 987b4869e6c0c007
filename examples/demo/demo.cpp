// SPDX-License-Identifier: MIT
// crier's demo: a small stable-management app (the seed's EquiProfile domain). An embedded
// server on 127.0.0.1:8080 serves an in-memory REST API (horses, tasks, an activity feed),
// publishes every change as a module event, and serves a page built on js/crier.js that keeps
// every open window in sync. Ctrl-C stops it gracefully (every stream gets a jittered `retry:`).
#include <crier/adapters/server.hpp>
#include <crier/crier.hpp>
#if defined(CRIER_DEMO_REDIS)
#    include <crier/backplane/redis.hpp>
#endif

#include <fmt/format.h>
#include <simdjson.h>

#include <array>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>

#ifndef CRIER_DEMO_WEB_DIR
#    define CRIER_DEMO_WEB_DIR "web"
#endif
#ifndef CRIER_DEMO_JS_DIR
#    define CRIER_DEMO_JS_DIR "js"
#endif

namespace {

using crier::http::json_error;
using crier::http::response;

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) {
    stop_requested = 1;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A JSON string literal. Names come from users, so everything JSON needs escaped is escaped
// (simdjson already refused invalid UTF-8 on the way in).
std::string quote(std::string_view text) {
    std::string out = "\"";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out.push_back(ch);
        }
    }
    out.push_back('"');
    return out;
}

// Ends the body with a newline, as crier's own JSON responses do (curl output stays readable).
response json(int status, std::string body) {
    body.push_back('\n');
    return response{.status = status, .body = std::move(body)};
}

struct horse {
    std::int64_t id = 0;
    std::string name;
    std::string breed;
    std::int64_t age = 0;
    std::int64_t updated_at = 0;

    [[nodiscard]] std::string to_json(std::string_view client_id = {}) const {
        std::string out = fmt::format(R"({{"id":{},"name":{},"breed":{},"age":{},"updatedAt":{})",
                                      id, quote(name), quote(breed), age, updated_at);
        // The page's temporary id for an optimistic row, so the event can replace that row.
        if (!client_id.empty()) out += R"(,"clientId":)" + quote(client_id);
        return out + "}";
    }
};

struct task {
    std::int64_t id = 0;
    std::string title;
    std::int64_t horse_id = 0;  // 0: not about one horse
    bool done = false;

    [[nodiscard]] std::string to_json(std::string_view client_id = {}) const {
        std::string out = fmt::format(R"({{"id":{},"title":{},"horseId":{},"done":{})", id,
                                      quote(title), horse_id, done);
        if (!client_id.empty()) out += R"(,"clientId":)" + quote(client_id);
        return out + "}";
    }
};

struct activity {
    std::int64_t id = 0;
    std::string user;
    std::string text;
    std::int64_t at = 0;

    [[nodiscard]] std::string to_json() const {
        return fmt::format(R"({{"id":{},"user":{},"text":{},"at":{}}})", id, quote(user),
                           quote(text), at);
    }
};

// What a create or update request carried, checked.
struct horse_input {
    std::string name;
    std::string breed;
    std::int64_t age = 0;
    std::string client_id;
};

// The page's JSON body as an object, or the 400 that says why not.
std::variant<simdjson::dom::object, response> parse_object(simdjson::dom::parser& parser,
                                                           std::string_view body) {
    simdjson::dom::element doc;
    if (auto e = parser.parse(body.data(), body.size()).get(doc)) {
        return json_error(400, "invalid_json",
                          fmt::format("body is not JSON: {}", simdjson::error_message(e)));
    }
    simdjson::dom::object obj;
    if (doc.get(obj)) return json_error(400, "invalid_json", "body must be a JSON object");
    return obj;
}

// A string field: absent is `fallback`, anything but a string is an error.
std::optional<std::string> string_field(simdjson::dom::object obj, std::string_view key,
                                        std::string fallback = {}) {
    simdjson::dom::element e;
    if (obj.at_key(key).get(e)) return fallback;
    std::string_view s;
    if (e.get(s)) return std::nullopt;
    return std::string(s);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::variant<horse_input, response> read_horse(std::string_view body) {
    simdjson::dom::parser parser;
    auto parsed = parse_object(parser, body);
    if (auto* error = std::get_if<response>(&parsed)) return std::move(*error);
    const auto obj = std::get<simdjson::dom::object>(parsed);
    auto name = string_field(obj, "name");
    auto breed = string_field(obj, "breed");
    auto client_id = string_field(obj, "clientId");
    if (!name || !breed || !client_id) {
        return json_error(400, "invalid_field", "name, breed and clientId must be strings");
    }
    horse_input in{.name = std::string(trim(*name)),
                   .breed = std::string(trim(*breed)),
                   .client_id = std::move(*client_id)};
    if (in.name.empty()) return json_error(400, "name_required", "A horse needs a name.");
    if (in.name.size() > 80 || in.breed.size() > 80) {
        return json_error(400, "too_long", "Name and breed are at most 80 bytes.");
    }
    if (in.client_id.size() > 64) {
        return json_error(400, "too_long", "clientId is at most 64 bytes.");
    }
    simdjson::dom::element age;
    if (!obj.at_key("age").get(age) && !age.is_null()) {
        if (age.get(in.age) || in.age < 0 || in.age > 60) {
            return json_error(400, "invalid_age", "age must be a whole number from 0 to 60.");
        }
    }
    return in;
}

// `/prefix/123` (or `/prefix/123/suffix`): the id, or nullopt when the path is anything else.
std::optional<std::int64_t> id_in(std::string_view path, std::string_view prefix,
                                  std::string_view suffix = {}) {
    if (!path.starts_with(prefix) || !path.ends_with(suffix)) return std::nullopt;
    path.remove_prefix(prefix.size());
    path.remove_suffix(suffix.size());
    std::int64_t id = 0;
    const auto [end, err] = std::from_chars(path.data(), path.data() + path.size(), id);
    if (err != std::errc{} || end != path.data() + path.size() || path.empty() || id <= 0) {
        return std::nullopt;
    }
    return id;
}

// The app: its data, guarded by one mutex (the handler runs on every server thread), and the
// hub it publishes each change to.
class stable {
public:
    explicit stable(crier::hub& hub) : hub_(hub) {
        for (const auto& [name, breed, age] :
             {std::tuple{"Bucephalus", "Thessalian", 12}, std::tuple{"Marengo", "Arabian", 9},
              std::tuple{"Copenhagen", "Thoroughbred", 7}}) {
            const std::int64_t id = next_horse_id_++;
            horses_[id] = horse{id, name, breed, age, now_ms()};
        }
        for (const auto& [title, horse_id] :
             {std::pair{"Farrier visit", 1}, std::pair{"Deworming", 2},
              std::pair{"Order hay", 0}}) {
            const std::int64_t id = next_task_id_++;
            tasks_[id] = task{id, title, horse_id, false};
        }
    }

    std::optional<response> handle(const crier::http::request& r) {
        const std::string_view path = r.path();
        const std::string_view method = r.method();
        if (!path.starts_with("/api/")) return std::nullopt;
        const std::string user = r.query_param("user").value_or("demo");
        if (crier::validate_user_id(user)) {
            return json_error(400, "invalid_user_id", "user must be 1-128 printable bytes");
        }
        if (path == "/api/horses") {
            if (method == "GET") return list(horses_);
            if (method == "POST") return create_horse(r.body(), user);
            return not_allowed();
        }
        if (auto id = id_in(path, "/api/horses/")) {
            if (method == "PUT") return update_horse(*id, r.body(), user);
            if (method == "DELETE") return delete_horse(*id, user);
            return not_allowed();
        }
        if (path == "/api/tasks") {
            if (method == "GET") return list(tasks_);
            if (method == "POST") return create_task(r.body(), user);
            return not_allowed();
        }
        if (auto id = id_in(path, "/api/tasks/", "/complete")) {
            if (method == "POST") return complete_task(*id, user);
            return not_allowed();
        }
        if (path == "/api/activity") {
            if (method != "GET") return not_allowed();
            const std::lock_guard lock(mutex_);
            std::string out = "[";
            for (auto it = activity_.rbegin(); it != activity_.rend(); ++it) {
                if (out.size() > 1) out.push_back(',');
                out += it->to_json();
            }
            return json(200, out + "]");
        }
        return json_error(404, "not_found", "no such API route");
    }

private:
    static response not_allowed() {
        return json_error(405, "method_not_allowed", "method not allowed on this route");
    }

    template <typename Map>
    response list(const Map& items) {
        const std::lock_guard lock(mutex_);
        std::string out = "[";
        for (const auto& [id, item] : items) {
            if (out.size() > 1) out.push_back(',');
            out += item.to_json();
        }
        return json(200, out + "]");
    }

    response create_horse(std::string_view body, const std::string& user) {
        auto in = read_horse(body);
        if (auto* error = std::get_if<response>(&in)) return std::move(*error);
        auto& h = std::get<horse_input>(in);
        const std::lock_guard lock(mutex_);
        const std::int64_t id = next_horse_id_++;
        const horse& made = horses_[id] = horse{id, h.name, h.breed, h.age, now_ms()};
        const std::string data = made.to_json(h.client_id);
        publish("horses", "created", data, user, fmt::format("added horse {}", made.name));
        return json(201, data);
    }

    response update_horse(std::int64_t id, std::string_view body, const std::string& user) {
        auto in = read_horse(body);
        if (auto* error = std::get_if<response>(&in)) return std::move(*error);
        auto& h = std::get<horse_input>(in);
        const std::lock_guard lock(mutex_);
        const auto it = horses_.find(id);
        if (it == horses_.end()) return json_error(404, "not_found", "no such horse");
        it->second = horse{id, h.name, h.breed, h.age, now_ms()};
        const std::string data = it->second.to_json();
        publish("horses", "updated", data, user, fmt::format("updated horse {}", h.name));
        return json(200, data);
    }

    response delete_horse(std::int64_t id, const std::string& user) {
        const std::lock_guard lock(mutex_);
        const auto it = horses_.find(id);
        if (it == horses_.end()) return json_error(404, "not_found", "no such horse");
        const std::string name = it->second.name;
        horses_.erase(it);
        const std::string data = fmt::format(R"({{"id":{}}})", id);
        publish("horses", "deleted", data, user, fmt::format("removed horse {}", name));
        return json(200, data);
    }

    response create_task(std::string_view body, const std::string& user) {
        simdjson::dom::parser parser;
        auto parsed = parse_object(parser, body);
        if (auto* error = std::get_if<response>(&parsed)) return std::move(*error);
        const auto obj = std::get<simdjson::dom::object>(parsed);
        const auto title = string_field(obj, "title");
        const auto client_id = string_field(obj, "clientId");
        if (!title || !client_id || trim(*title).empty() || title->size() > 120 ||
            client_id->size() > 64) {
            return json_error(400, "title_required", "A task needs a title (at most 120 bytes).");
        }
        std::int64_t horse_id = 0;
        simdjson::dom::element e;
        if (!obj.at_key("horseId").get(e) && !e.is_null() && e.get(horse_id)) {
            return json_error(400, "invalid_field", "horseId must be a number");
        }
        const std::lock_guard lock(mutex_);
        const std::int64_t id = next_task_id_++;
        const task& made = tasks_[id] = task{id, std::string(trim(*title)), horse_id, false};
        const std::string data = made.to_json(*client_id);
        publish("tasks", "created", data, user, fmt::format("added task {}", made.title));
        return json(201, data);
    }

    response complete_task(std::int64_t id, const std::string& user) {
        const std::lock_guard lock(mutex_);
        const auto it = tasks_.find(id);
        if (it == tasks_.end()) return json_error(404, "not_found", "no such task");
        it->second.done = true;
        const std::string data = it->second.to_json();
        publish("tasks", "completed", data, user,
                fmt::format("completed task {}", it->second.title));
        return json(200, data);
    }

    // Called with mutex_ held, so events leave in the order the store changed.
    void publish(std::string_view module, std::string_view action, std::string_view data,
                 const std::string& user, std::string text) {
        if (const auto r = hub_.publish_module_event(module, action, data, user); !r) {
            fmt::print(stderr, "publish {}:{} failed: {}\n", module, action, r.error.message());
        }
        activity_.push_back(activity{next_activity_++, user, std::move(text), now_ms()});
        if (activity_.size() > 50) activity_.pop_front();
        const auto r = hub_.publish_module_event("activity", "created", activity_.back().to_json());
        if (!r) fmt::print(stderr, "publish activity failed: {}\n", r.error.message());
    }

    crier::hub& hub_;
    std::mutex mutex_;
    std::int64_t next_horse_id_ = 1;
    std::int64_t next_task_id_ = 1;
    std::int64_t next_activity_ = 1;
    std::map<std::int64_t, horse> horses_;
    std::map<std::int64_t, task> tasks_;
    std::deque<activity> activity_;
};

// The browser module from the source tree's js/ folder, so the page imports the very file
// that js/README.md documents. Only these names are served: a request names a file, never a
// path.
std::optional<response> serve_js(std::string_view path, const std::string& js_dir) {
    static constexpr std::array files = {"crier.js", "react.js"};
    if (!path.starts_with("/js/")) return std::nullopt;
    path.remove_prefix(4);
    for (const std::string_view name : files) {
        if (path != name) continue;
        std::ifstream in(js_dir + "/" + std::string(name), std::ios::binary);
        if (!in) return json_error(404, "not_found", "js/ folder not found");
        std::ostringstream text;
        text << in.rdbuf();
        return response{.content_type = "text/javascript; charset=utf-8",
                        .headers = {{"Cache-Control", "no-cache"}},
                        .body = std::move(text).str()};
    }
    return json_error(404, "not_found", "no such file");
}

}  // namespace

int main(int argc, char** argv) {
    std::uint16_t port = 8080;
    std::string web_dir = CRIER_DEMO_WEB_DIR;
    std::string js_dir = CRIER_DEMO_JS_DIR;
    double duration = 0;  // seconds; 0 = until Ctrl-C
    std::size_t history = 50;
    std::string redis_url;  // several demo nodes on one Redis behave as one hub
    std::string node_name;
    bool refuse_while_away = false;  // --redis-away refuse: publishes fail while Redis is away
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--port" && i + 1 < argc) {
            port = static_cast<std::uint16_t>(std::atoi(argv[++i]));
        } else if (arg == "--web" && i + 1 < argc) {
            web_dir = argv[++i];
        } else if (arg == "--js" && i + 1 < argc) {
            js_dir = argv[++i];
        } else if (arg == "--duration" && i + 1 < argc) {
            duration = std::atof(argv[++i]);
        } else if (arg == "--history" && i + 1 < argc) {
            history = static_cast<std::size_t>(std::atoi(argv[++i]));
        } else if (arg == "--redis" && i + 1 < argc) {
            redis_url = argv[++i];
        } else if (arg == "--node-name" && i + 1 < argc) {
            node_name = argv[++i];
        } else if (arg == "--redis-away" && i + 1 < argc &&
                   (argv[i + 1] == std::string_view("local") ||
                    argv[i + 1] == std::string_view("refuse"))) {
            refuse_while_away = argv[++i] == std::string_view("refuse");
        } else {
            fmt::print(stderr,
                       "usage: {} [--port N (0: any free port)] [--web DIR] [--js DIR] "
                       "[--duration SECONDS] [--history EVENTS_PER_CHANNEL] "
                       "[--redis redis://[:password@]host:port[/db]] [--node-name NAME] "
                       "[--redis-away local|refuse]\n",
                       argv[0]);
            return 2;
        }
    }

    // The seed's defaults, but a generous rate limit so a person clicking fast is never batched
    // (crier.js would unpack a batch anyway), and history as asked (tests shrink it to provoke
    // `resync`).
    crier::hub_options hub_options{.history_size = history, .rate_limit = 600};
    if (!redis_url.empty()) {
#if defined(CRIER_DEMO_REDIS)
        try {
            hub_options.backplane = std::make_shared<crier::redis_backplane>(
                crier::redis_options{.url = redis_url,
                                     .node_name = node_name,
                                     .when_away = refuse_while_away ? crier::away_mode::refuse
                                                                    : crier::away_mode::local});
        } catch (const std::system_error& e) {
            fmt::print(stderr, "cannot join Redis at {}: {}\n", redis_url, e.what());
            return 1;
        }
#else
        static_cast<void>(refuse_while_away);
        fmt::print(stderr, "--redis needs crier::redis (hiredis) at build time\n");
        return 2;
#endif
    }
    crier::hub hub(std::move(hub_options));
    stable app(hub);

    crier::adapters::server_options options{
        .port = port,
        .threads = 2,
        .static_dir = web_dir,
        .handler = [&app, &js_dir](const crier::http::request& r) -> std::optional<response> {
            if (auto js = serve_js(r.path(), js_dir)) return js;
            return app.handle(r);
        },
        // Demo auth: the user is `?user=` (default "demo"). A real service checks a session or
        // a JWT here. Everyone may read stats and publish, which a real service would not allow.
        .authenticate =
            [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
            return crier::adapters::principal{.user_id = r.query_param("user").value_or("demo"),
                                              .admin = true,
                                              .publisher = true};
        },
    };
    crier::adapters::http_server server(hub, options);
    std::error_code ec;
    server.start(ec);
    if (ec) {
        fmt::print(stderr, "cannot listen on 127.0.0.1:{}: {}\n", port, ec.message());
        return 1;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    const std::string base = fmt::format("http://127.0.0.1:{}", server.port());
    fmt::print(
        "crier demo on {0}\n"
        "  app:           {0}/  (open it in two windows; ?user=NAME to be someone else)\n"
        "  REST:          curl {0}/api/horses ; curl -d '{{\"name\":\"Seabiscuit\"}}' "
        "{0}/api/horses\n"
        "  stream (curl): curl -N '{0}/api/realtime/events?channel=horses&channel=tasks'\n"
        "  stream (C++):  {1} '{0}/api/realtime/events?channel=horses'\n"
        "  stats:         curl {0}/api/realtime/stats\n"
        "Ctrl-C stops it.\n",
        base, CRIER_DEMO_LISTEN);
    std::fflush(stdout);

    const auto started = std::chrono::steady_clock::now();
    while (!stop_requested) {
        if (duration > 0 &&
            std::chrono::steady_clock::now() - started > std::chrono::duration<double>(duration)) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fmt::print("stopping: streams get a retry hint and close\n");
    server.stop();
    return 0;
}
