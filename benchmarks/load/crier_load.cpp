// SPDX-License-Identifier: MIT
// crier-load: an epoll load client that measures any SSE server's fan-out over loopback.
//
// One thread, one epoll set: N subscriber connections parse real SSE streams (chunked or not),
// K keep-alive publisher connections POST events whose payload carries a CLOCK_MONOTONIC send
// time and a per-stream sequence number. The report gives delivered events/s, publish→receive
// latency, lost/duplicated/reordered events and the server's RSS per idle connection.
// Deliberately independent of crier's own parser, so it checks crier rather than trusting it.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;

/// The one clock: it stamps payloads at publish and deliveries at receipt.
std::int64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * ns_per_s + ts.tv_nsec;
}

std::int64_t to_ns(double seconds) noexcept {
    return static_cast<std::int64_t>(seconds * static_cast<double>(ns_per_s));
}

double to_s(std::int64_t ns) noexcept {
    return static_cast<double>(ns) / static_cast<double>(ns_per_s);
}

[[noreturn]] void die(std::string_view message) {
    fmt::print(stderr, "crier-load: {}\n", message);
    std::exit(2);
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

bool icontains(std::string_view haystack, std::string_view needle) noexcept {
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
        if (iequals(haystack.substr(i, needle.size()), needle)) return true;
    }
    return false;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// Options

/// Command-line options; usage() documents each one and its default.
struct options {
    std::string sub_url = "http://127.0.0.1:8080/sub/{ch}";
    std::string pub_url = "http://127.0.0.1:8080/pub?id={ch}";
    std::string pub_body = "{data}";
    std::string pub_content_type = "application/json";
    std::vector<std::string> sub_headers;
    std::vector<std::string> pub_headers;
    bool per_user = false;
    std::string channel = "bench";
    std::string user_channel = "user:{i}";
    std::size_t connections = 100;
    double rate = 0;  // events/s; 0 = as fast as the server accepts
    std::size_t publishers = 1;
    std::size_t pipeline = 1;
    double duration = 5;
    double warmup = 1;
    double idle = 1;
    double drain = 5;
    double connect_timeout = 30;
    std::size_t connect_batch = 256;
    std::size_t payload_bytes = 100;
    double backoff_ms = 1;  // first wait after a 503/429; doubles up to the Retry-After
    std::vector<int> server_pids;
    std::string label;
    bool json = false;
};

constexpr std::string_view usage_text = R"(usage: crier-load [options]

Drives an SSE server over loopback: N subscribers, K publishers, then reports delivered events/s,
publish->receive latency, lost/duplicated/reordered events and server RSS per idle connection.
Only 127.0.0.0/8, localhost and ::1 are accepted as targets.

Subscribers
  --sub-url URL            SSE URL; {ch} = subscriber's channel, {i} = subscriber index
                           (default http://127.0.0.1:8080/sub/{ch})
  --connections N          subscribers (default 100)
  --mode fanout|per-user   fanout: all on one channel; per-user: subscriber i on its own channel
  --channel NAME           the fan-out channel (default bench)
  --user-channel TEMPLATE  per-user channel name, {i} = index (default user:{i})
  --sub-header 'N: v'      extra request header (repeatable)
  --connect-timeout S      the whole connection setup must finish within S s (default 30)
  --connect-batch N        connection attempts in flight at once (default 256)
  --idle S                 idle time after setup, before the second RSS reading (default 1)

Publishers
  --pub-url URL            POST URL; {ch} = target channel, {i} = its index
                           (default http://127.0.0.1:8080/pub?id={ch})
  --pub-body TEMPLATE      {ch}, {data} = raw payload, {data_json} = payload escaped for a JSON
                           string (default {data})
  --pub-content-type T     (default application/json)
  --pub-header 'N: v'      extra request header (repeatable)
  --publishers K           keep-alive publisher connections (default 1)
  --pipeline D             requests in flight per publisher connection (default 1)
  --rate max|R             as fast as the server answers, or R events/s (default max)
  --payload-bytes B        payload size (default 100)
  --backoff-ms MS          after a 503 or 429 answer, resend that event after MS ms, doubling
                           per refusal in a row up to the Retry-After (else 1 s); the event keeps
                           its first send time, so the wait counts in its latency (default 1)

Run
  --warmup S               publishing before measurement starts (default 1)
  --duration S             measured publishing time (default 5)
  --drain S                after publishing, wait up to S s for the last deliveries (default 5)
  --server-pid PID[,PID]   read VmRSS and CPU time of these processes (e.g. the nginx worker)
  --label TEXT             copied into the report
  --json                   also print the report as one JSON line
)";

[[noreturn]] void usage_error(std::string_view message) {
    fmt::print(stderr, "crier-load: {}\n\n{}", message, usage_text);
    std::exit(2);
}

double parse_seconds(std::string_view name, const std::string& value, double max) {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (end == value.c_str() || *end != '\0' || !(v >= 0) || v > max) {
        usage_error(
            fmt::format("{}: expected a number of seconds in [0, {}], got '{}'", name, max, value));
    }
    return v;
}

std::size_t parse_count(std::string_view name, const std::string& value, std::size_t min,
                        std::size_t max) {
    std::size_t v = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || p != value.data() + value.size() || v < min || v > max) {
        usage_error(
            fmt::format("{}: expected an integer in [{}, {}], got '{}'", name, min, max, value));
    }
    return v;
}

options parse_args(int argc, char** argv) {
    options o;
    for (int a = 1; a < argc; ++a) {
        std::string_view arg = argv[a];
        if (arg == "--help" || arg == "-h") {
            fmt::print("{}", usage_text);
            std::exit(0);
        }
        if (arg == "--json") {
            o.json = true;
            continue;
        }
        if (!arg.starts_with("--")) usage_error(fmt::format("unexpected argument '{}'", arg));
        std::string value;
        if (const auto eq = arg.find('='); eq != std::string_view::npos) {
            value = std::string(arg.substr(eq + 1));
            arg = arg.substr(0, eq);
        } else if (a + 1 < argc) {
            value = argv[++a];
        } else {
            usage_error(fmt::format("{} needs a value", arg));
        }
        if (arg == "--sub-url") {
            o.sub_url = value;
        } else if (arg == "--pub-url") {
            o.pub_url = value;
        } else if (arg == "--pub-body") {
            o.pub_body = value;
        } else if (arg == "--pub-content-type") {
            o.pub_content_type = value;
        } else if (arg == "--sub-header" || arg == "--pub-header") {
            if (value.find(':') == std::string::npos ||
                value.find_first_of("\r\n") != std::string::npos) {
                usage_error(fmt::format("{}: expected 'Name: value', got '{}'", arg, value));
            }
            (arg == "--sub-header" ? o.sub_headers : o.pub_headers).push_back(value);
        } else if (arg == "--mode") {
            if (value != "fanout" && value != "per-user") {
                usage_error("--mode: expected fanout or per-user");
            }
            o.per_user = value == "per-user";
        } else if (arg == "--channel") {
            o.channel = value;
        } else if (arg == "--user-channel") {
            o.user_channel = value;
        } else if (arg == "--connections") {
            o.connections = parse_count(arg, value, 1, 1'000'000);
        } else if (arg == "--rate") {
            o.rate = value == "max" ? 0 : parse_seconds(arg, value, 10'000'000);
            if (value != "max" && o.rate <= 0) usage_error("--rate: expected max or R > 0");
        } else if (arg == "--publishers") {
            o.publishers = parse_count(arg, value, 1, 64);
        } else if (arg == "--pipeline") {
            o.pipeline = parse_count(arg, value, 1, 1024);
        } else if (arg == "--duration") {
            o.duration = parse_seconds(arg, value, 3600);
            if (o.duration <= 0) usage_error("--duration must be > 0");
        } else if (arg == "--warmup") {
            o.warmup = parse_seconds(arg, value, 600);
        } else if (arg == "--idle") {
            o.idle = parse_seconds(arg, value, 600);
        } else if (arg == "--drain") {
            o.drain = parse_seconds(arg, value, 600);
        } else if (arg == "--connect-timeout") {
            o.connect_timeout = parse_seconds(arg, value, 3600);
        } else if (arg == "--connect-batch") {
            o.connect_batch = parse_count(arg, value, 1, 100'000);
        } else if (arg == "--backoff-ms") {
            o.backoff_ms = parse_seconds(arg, value, 60000);
        } else if (arg == "--payload-bytes") {
            o.payload_bytes = parse_count(arg, value, 0, 1 << 20);
        } else if (arg == "--server-pid") {
            std::string_view rest = value;
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                o.server_pids.push_back(static_cast<int>(
                    parse_count(arg, std::string(rest.substr(0, comma)), 1, 1u << 30)));
                rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
            }
        } else if (arg == "--label") {
            o.label = value;
        } else {
            usage_error(fmt::format("unknown option {}", arg));
        }
    }
    return o;
}

// ---------------------------------------------------------------------------------------------
// URLs and templates

/// An http:// URL resolved for connecting; `target` keeps its {placeholders}.
struct url {
    sockaddr_storage addr{};
    socklen_t addr_len = 0;
    std::string host_header;
    std::string target;
};

/// Parses `http://host[:port]/target`, accepting loopback hosts only: this tool must never
/// send load anywhere but this machine.
url parse_url(std::string_view text) {
    constexpr std::string_view scheme = "http://";
    if (!text.starts_with(scheme)) die(fmt::format("only http:// URLs are supported: {}", text));
    text.remove_prefix(scheme.size());
    const auto slash = text.find('/');
    const std::string_view authority = text.substr(0, slash);
    url u;
    u.target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
    u.host_header = std::string(authority);
    std::string_view host = authority;
    std::string_view port = "80";
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) die(fmt::format("bad IPv6 host in {}", text));
        host = authority.substr(1, close - 1);
        if (authority.size() > close + 1 && authority[close + 1] == ':') {
            port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    unsigned port_number = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
    if (ec != std::errc{} || p != port.data() + port.size() || port_number == 0 ||
        port_number > 65535) {
        die(fmt::format("bad port in {}", text));
    }
    const std::string host_text = host == "localhost" ? "127.0.0.1" : std::string(host);
    sockaddr_in v4{};
    sockaddr_in6 v6{};
    if (inet_pton(AF_INET, host_text.c_str(), &v4.sin_addr) == 1) {
        if ((ntohl(v4.sin_addr.s_addr) >> 24) != 127) {
            die(fmt::format("refusing non-loopback target {}", host_text));
        }
        v4.sin_family = AF_INET;
        v4.sin_port = htons(static_cast<std::uint16_t>(port_number));
        std::memcpy(&u.addr, &v4, sizeof v4);
        u.addr_len = sizeof v4;
    } else if (inet_pton(AF_INET6, host_text.c_str(), &v6.sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr)) {
            die(fmt::format("refusing non-loopback target {}", host_text));
        }
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(static_cast<std::uint16_t>(port_number));
        std::memcpy(&u.addr, &v6, sizeof v6);
        u.addr_len = sizeof v6;
    } else {
        die(fmt::format("host must be a loopback address or localhost: {}", host_text));
    }
    return u;
}

void append_json_escaped(std::string& out, std::string_view s) {
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
                } else {
                    out += c;
                }
        }
    }
}

void append_url_encoded(std::string& out, std::string_view s) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' ||
            c == '@') {
            out += c;
        } else {
            fmt::format_to(std::back_inserter(out), "%{:02X}", u);
        }
    }
}

/// A text with {ch}, {i}, {data} and {data_json} holes, split once so that expanding it is a
/// few appends. Any other brace is literal text (JSON bodies are full of them).
class text_template {
public:
    /// What a hole is filled with.
    struct values {
        std::string_view ch;
        std::size_t i = 0;
        std::string_view data;
    };

    explicit text_template(std::string_view text) {
        constexpr std::array<std::pair<std::string_view, hole>, 4> names{{
            {"{ch}", hole::ch},
            {"{i}", hole::index},
            {"{data}", hole::data},
            {"{data_json}", hole::data_json},
        }};
        std::string literal;
        while (!text.empty()) {
            bool matched = false;
            for (const auto& [name, h] : names) {
                if (text.starts_with(name)) {
                    parts_.push_back({std::exchange(literal, {}), h});
                    text.remove_prefix(name.size());
                    matched = true;
                    break;
                }
            }
            if (!matched) {
                literal += text.front();
                text.remove_prefix(1);
            }
        }
        parts_.push_back({std::move(literal), hole::none});
    }

    /// Appends the expansion to `out`; `in_url` percent-encodes the channel name.
    void expand(std::string& out, const values& v, bool in_url) const {
        for (const auto& p : parts_) {
            out += p.literal;
            switch (p.h) {
                case hole::none:
                    break;
                case hole::ch:
                    if (in_url) {
                        append_url_encoded(out, v.ch);
                    } else {
                        out += v.ch;
                    }
                    break;
                case hole::index:
                    fmt::format_to(std::back_inserter(out), "{}", v.i);
                    break;
                case hole::data:
                    out += v.data;
                    break;
                case hole::data_json:
                    append_json_escaped(out, v.data);
                    break;
            }
        }
    }

    [[nodiscard]] std::string expand(const values& v, bool in_url) const {
        std::string out;
        expand(out, v, in_url);
        return out;
    }

private:
    enum class hole : std::uint8_t { none, ch, index, data, data_json };
    struct part {
        std::string literal;
        hole h = hole::none;
    };
    std::vector<part> parts_;
};

// ---------------------------------------------------------------------------------------------
// Payload marker

/// What a payload carries: send time, sequence within its stream, publisher and channel index.
struct marker {
    std::uint64_t ts = 0;
    std::uint64_t seq = 0;
    std::uint64_t pub = 0;
    std::uint64_t ch = 0;
};

constexpr std::string_view marker_prefix = "@cl.";

/// `{"m":"@cl.<ts>.<seq>.<pub>.<ch>","pad":"xx…"}`, padded to `bytes`. The marker needs no JSON
/// escaping, so it is found whether a server relays the payload raw, as a JSON string, or
/// inside an envelope or batch of its own.
void make_payload(std::string& out, const marker& m, std::size_t bytes) {
    out.clear();
    fmt::format_to(std::back_inserter(out), R"({{"m":"{}{}.{}.{}.{}","pad":")", marker_prefix, m.ts,
                   m.seq, m.pub, m.ch);
    constexpr std::size_t tail = 2;
    if (out.size() + tail < bytes) out.append(bytes - out.size() - tail, 'x');
    out += "\"}";
}

/// Calls `f(marker)` for each marker in an event's data (a batching server may pack several).
/// Returns how many it found.
template <class F>
std::size_t for_each_marker(std::string_view data, F&& f) {
    std::size_t found = 0;
    std::size_t pos = 0;
    while ((pos = data.find(marker_prefix, pos)) != std::string_view::npos) {
        pos += marker_prefix.size();
        std::array<std::uint64_t, 4> v{};
        bool ok = true;
        for (std::size_t k = 0; k < v.size() && ok; ++k) {
            const auto [p, ec] =
                std::from_chars(data.data() + pos, data.data() + data.size(), v[k]);
            pos = static_cast<std::size_t>(p - data.data());
            ok = ec == std::errc{};
            if (ok && k + 1 < v.size()) {
                ok = pos < data.size() && data[pos] == '.';
                ++pos;
            }
        }
        if (ok) {
            f(marker{.ts = v[0], .seq = v[1], .pub = v[2], .ch = v[3]});
            ++found;
        }
    }
    return found;
}

// ---------------------------------------------------------------------------------------------
// Wire parsing: HTTP response heads, chunked bodies, SSE

/// The parts of an HTTP/1.1 response head this tool acts on.
struct response_head {
    int status = 0;
    bool chunked = false;
    std::optional<std::uint64_t> content_length;
    bool close = false;
    std::optional<std::uint32_t> retry_after_s;  ///< Retry-After in seconds (a date is ignored)
};

std::optional<response_head> parse_head(std::string_view head) {
    response_head h;
    const auto eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) return std::nullopt;
    const auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, h.status);
    if (ec != std::errc{} || p != status_line.data() + 12) return std::nullopt;
    h.close = status_line.starts_with("HTTP/1.0");
    std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
    while (!rest.empty()) {
        const auto end = rest.find("\r\n");
        const std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? "" : rest.substr(end + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "transfer-encoding")) {
            h.chunked = icontains(value, "chunked");
        } else if (iequals(name, "content-length")) {
            std::uint64_t n = 0;
            if (std::from_chars(value.data(), value.data() + value.size(), n).ec != std::errc{}) {
                return std::nullopt;
            }
            h.content_length = n;
        } else if (iequals(name, "retry-after")) {
            std::uint32_t n = 0;
            const auto r = std::from_chars(value.data(), value.data() + value.size(), n);
            if (r.ec == std::errc{} && r.ptr == value.data() + value.size()) h.retry_after_s = n;
        } else if (iequals(name, "connection")) {
            if (icontains(value, "close")) h.close = true;
            if (icontains(value, "keep-alive")) h.close = false;
        }
    }
    return h;
}

/// Incremental decoder for HTTP/1.1 chunked bodies (RFC 9112 §7.1); extensions and trailers
/// are skipped. Bytes may arrive split anywhere.
class chunk_decoder {
public:
    /// Passes body bytes to `sink(const char*, std::size_t)`. Returns the bytes consumed, fewer
    /// than `n` only once the body has ended (done()) or is malformed (failed()).
    template <class Sink>
    std::size_t feed(const char* p, std::size_t n, Sink&& sink) {
        std::size_t i = 0;
        while (i < n && state_ != state::done && state_ != state::error) {
            const char c = p[i];
            switch (state_) {
                case state::size:
                    if (const int d = hex_digit(c); d >= 0) {
                        if (size_ > (std::uint64_t{1} << 40)) state_ = state::error;
                        size_ = size_ * 16 + static_cast<std::uint64_t>(d);
                        digits_ = true;
                    } else if (!digits_) {
                        state_ = state::error;
                    } else if (c == ';' || c == ' ' || c == '\t') {
                        state_ = state::extension;
                    } else if (c == '\r') {
                        state_ = state::size_lf;
                    } else if (c == '\n') {
                        end_size_line();
                    } else {
                        state_ = state::error;
                    }
                    ++i;
                    break;
                case state::extension:
                    if (c == '\n') end_size_line();
                    ++i;
                    break;
                case state::size_lf:
                    if (c == '\n') {
                        end_size_line();
                    } else {
                        state_ = state::error;
                    }
                    ++i;
                    break;
                case state::data: {
                    const std::size_t take =
                        static_cast<std::size_t>(std::min<std::uint64_t>(left_, n - i));
                    sink(p + i, take);
                    i += take;
                    left_ -= take;
                    if (left_ == 0) state_ = state::data_cr;
                    break;
                }
                case state::data_cr:
                    state_ = c == '\r' ? state::data_lf : c == '\n' ? next_chunk() : state::error;
                    ++i;
                    break;
                case state::data_lf:
                    state_ = c == '\n' ? next_chunk() : state::error;
                    ++i;
                    break;
                case state::trailer_start:
                    if (c == '\n') {
                        state_ = state::done;
                    } else if (c != '\r') {
                        state_ = state::trailer;
                    }
                    ++i;
                    break;
                case state::trailer:
                    if (c == '\n') state_ = state::trailer_start;
                    ++i;
                    break;
                case state::done:
                case state::error:
                    break;
            }
        }
        return i;
    }

    [[nodiscard]] bool done() const noexcept { return state_ == state::done; }
    [[nodiscard]] bool failed() const noexcept { return state_ == state::error; }
    void reset() noexcept { *this = chunk_decoder{}; }

private:
    enum class state : std::uint8_t {
        size,
        extension,
        size_lf,
        data,
        data_cr,
        data_lf,
        trailer_start,
        trailer,
        done,
        error
    };

    static int hex_digit(char c) noexcept {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    void end_size_line() noexcept {
        state_ = size_ == 0 ? state::trailer_start : state::data;
        left_ = size_;
    }
    state next_chunk() noexcept {
        size_ = 0;
        digits_ = false;
        return state::size;
    }

    state state_ = state::size;
    bool digits_ = false;
    std::uint64_t size_ = 0;
    std::uint64_t left_ = 0;
};

/// Incremental `text/event-stream` parser after WHATWG HTML §9.2.6: lines end in CRLF, LF or
/// CR; `data:` lines accumulate, joined by LF; a blank line dispatches; comments and other
/// fields are ignored (this tool only needs the data). Memory is bounded by `max_line`.
class sse_parser {
public:
    static constexpr std::size_t max_line = 1 << 20;

    /// Feeds stream bytes; calls `on_event(std::string_view data)` per dispatched event.
    /// Returns false when a line or event grew past `max_line`.
    template <class OnEvent>
    bool feed(const char* p, std::size_t n, OnEvent&& on_event) {
        if (bom_ < 3) {
            constexpr std::string_view bom = "\xEF\xBB\xBF";
            while (n > 0 && bom_ < 3 && *p == bom[bom_]) {
                ++p;
                --n;
                ++bom_;
            }
            if (n > 0) bom_ = 3;  // a partial BOM followed by anything else is not a BOM
        }
        while (n > 0) {
            if (skip_lf_) {
                skip_lf_ = false;
                if (*p == '\n') {
                    ++p;
                    --n;
                    continue;
                }
            }
            const auto* lf = static_cast<const char*>(std::memchr(p, '\n', n));
            const std::size_t lf_at = lf ? static_cast<std::size_t>(lf - p) : n;
            const auto* cr = static_cast<const char*>(std::memchr(p, '\r', lf_at));
            const std::size_t end = cr ? static_cast<std::size_t>(cr - p) : lf_at;
            if (end == n) {
                if (line_.size() + n > max_line) return false;
                line_.append(p, n);
                return true;
            }
            if (line_.empty()) {
                if (!line(std::string_view(p, end), on_event)) return false;
            } else {
                if (line_.size() + end > max_line) return false;
                line_.append(p, end);
                const bool ok = line(line_, on_event);
                line_.clear();
                if (!ok) return false;
            }
            skip_lf_ = p[end] == '\r';
            p += end + 1;
            n -= end + 1;
        }
        return true;
    }

private:
    template <class OnEvent>
    bool line(std::string_view l, OnEvent&& on_event) {
        if (l.empty()) {
            if (has_data_) on_event(std::string_view(data_));
            data_.clear();
            has_data_ = false;
            return true;
        }
        if (l.front() == ':') return true;  // comment (heartbeats)
        const auto colon = l.find(':');
        const std::string_view field = l.substr(0, colon);
        std::string_view value = colon == std::string_view::npos ? "" : l.substr(colon + 1);
        if (value.starts_with(' ')) value.remove_prefix(1);
        if (field == "data") {
            if (data_.size() + value.size() + 1 > max_line) return false;
            if (has_data_) data_ += '\n';
            data_ += value;
            has_data_ = true;
        }
        return true;
    }

    std::string line_;
    std::string data_;
    bool has_data_ = false;
    bool skip_lf_ = false;
    std::uint8_t bom_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Statistics

/// Log-linear latency histogram in nanoseconds: exact below 128 ns, then 128 sub-buckets per
/// power of two (under 0.8 % error), constant memory whatever the run length.
class histogram {
public:
    void record(std::uint64_t v) noexcept {
        ++counts_[index(v)];
        ++total_;
        max_ = std::max(max_, v);
    }

    /// The value below which a fraction `q` of the samples lie (bucket upper bound).
    [[nodiscard]] std::uint64_t percentile(double q) const noexcept {
        if (total_ == 0) return 0;
        const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(upper(i), max_);
        }
        return max_;
    }
    [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
    [[nodiscard]] std::uint64_t count() const noexcept { return total_; }

private:
    static constexpr int sub_bits = 7;
    static constexpr std::size_t sub = std::size_t{1} << sub_bits;

    static std::size_t index(std::uint64_t v) noexcept {
        if (v < sub) return static_cast<std::size_t>(v);
        const int shift = static_cast<int>(std::bit_width(v)) - 1 - sub_bits;
        return static_cast<std::size_t>(shift + 1) * sub +
               static_cast<std::size_t>((v >> shift) & (sub - 1));
    }
    static std::uint64_t upper(std::size_t i) noexcept {
        if (i < sub) return i;
        const std::size_t shift = i / sub - 1;
        return (((i % sub) + sub + 1) << shift) - 1;
    }

    std::array<std::uint64_t, (64 - sub_bits + 1) * sub> counts_{};
    std::uint64_t total_ = 0;
    std::uint64_t max_ = 0;
};

/// Delivery bookkeeping for one (subscriber, publisher) stream. `next` is one past the highest
/// sequence seen; `gaps` are the holes below it, so a late arrival is told from a duplicate.
struct stream_state {
    static constexpr std::size_t max_gaps = 4096;  // past this the oldest holes are forgotten
    std::uint32_t next = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> gaps;  // [first, last), sorted

    enum class verdict : std::uint8_t { fresh, late, duplicate };

    verdict receive(std::uint32_t seq) {
        if (seq >= next) {
            if (seq > next) {
                if (gaps.size() == max_gaps) gaps.erase(gaps.begin());
                gaps.emplace_back(next, seq);
            }
            next = seq + 1;
            return verdict::fresh;
        }
        auto it = std::upper_bound(gaps.begin(), gaps.end(), seq,
                                   [](std::uint32_t s, const auto& g) { return s < g.first; });
        if (it == gaps.begin()) return verdict::duplicate;
        --it;
        auto& [first, last] = *it;
        if (seq >= last) return verdict::duplicate;
        if (first + 1 == last) {
            gaps.erase(it);
        } else if (seq == first) {
            ++first;
        } else if (seq + 1 == last) {
            --last;
        } else {
            const std::uint32_t old_last = last;
            last = seq;
            gaps.insert(it + 1, {seq + 1, old_last});
        }
        return verdict::late;
    }
};

/// VmRSS of `pid` in bytes, or 0 when unreadable.
std::uint64_t read_rss(int pid) {
    std::ifstream f(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(f, line)) {
        if (line.starts_with("VmRSS:")) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
    }
    return 0;
}

/// utime + stime of `pid` in nanoseconds, or 0 when unreadable.
std::int64_t read_cpu_ns(int pid) {
    std::ifstream f(fmt::format("/proc/{}/stat", pid));
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const auto paren = stat.rfind(')');
    if (paren == std::string::npos) return 0;
    // Fields after the command: state(3) ... utime(14) stime(15).
    const char* p = stat.c_str() + paren + 2;
    for (int field = 3; field < 14 && *p; ++field) {
        p = std::strchr(p, ' ');
        if (!p) return 0;
        ++p;
    }
    char* end = nullptr;
    const auto utime = std::strtoll(p, &end, 10);
    const auto stime = std::strtoll(end, nullptr, 10);
    return (utime + stime) * (ns_per_s / sysconf(_SC_CLK_TCK));
}

/// Busy (non-idle, non-iowait) time of each CPU in ticks, from /proc/stat. Unlike a process's
/// CPU time it includes softirq work, which loopback TCP does a lot of on both sides.
std::vector<std::uint64_t> read_core_busy() {
    std::vector<std::uint64_t> busy;
    std::ifstream f("/proc/stat");
    std::string line;
    while (std::getline(f, line)) {
        if (!line.starts_with("cpu") || line.size() < 4 || line[3] == ' ') continue;
        std::array<std::uint64_t, 8> v{};  // user nice system idle iowait irq softirq steal
        char* cursor = line.data() + line.find(' ');
        for (auto& x : v) x = std::strtoull(cursor, &cursor, 10);
        busy.push_back(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
    }
    return busy;
}

/// The one CPU `pid` (0: this process) is pinned to, or -1 when it may run on several.
int pinned_cpu(int pid) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(pid, sizeof set, &set) != 0 || CPU_COUNT(&set) != 1) return -1;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) return c;
    }
    return -1;
}

std::int64_t self_cpu_ns() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const auto tv_ns = [](const timeval& tv) {
        return std::int64_t{tv.tv_sec} * ns_per_s + std::int64_t{tv.tv_usec} * 1000;
    };
    return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
}

// ---------------------------------------------------------------------------------------------
// Connections

enum class sub_state : std::uint8_t { waiting, connecting, head, streaming, closed };
enum class body_mode : std::uint8_t { none, length, chunked, until_close };

/// One SSE subscriber connection.
struct subscriber {
    int fd = -1;
    sub_state state = sub_state::waiting;
    bool established = false;
    body_mode body = body_mode::until_close;
    std::uint32_t channel = 0;
    std::uint64_t body_left = 0;
    std::string head;
    chunk_decoder chunks;
    sse_parser sse;
    std::vector<stream_state> streams;  // by publisher; allocated at the first event
};

/// One publish: its channel and its marker (kept to resend it unchanged after a refusal).
struct sent_event {
    std::uint32_t ch = 0;
    marker m;
};

/// One keep-alive publisher connection and its in-flight requests.
struct publisher {
    int fd = -1;
    std::uint32_t id = 0;
    std::vector<std::uint32_t> channels;  // channel indices this publisher serves, in turn
    std::vector<std::uint32_t> seq;       // next sequence number, by position in `channels`
    std::size_t next = 0;                 // position in `channels` of the next publish
    std::deque<sent_event> inflight;      // each unanswered request
    std::deque<sent_event> retry;         // refused (503/429): resent first, from resume_at
    std::int64_t resume_at = 0;           // no request before this (CLOCK_MONOTONIC ns)
    std::int64_t backoff_ns = 0;          // the last wait; 0 after an accepted publish
    std::string out;
    std::size_t out_off = 0;
    std::string in;
    bool in_body = false;
    body_mode body = body_mode::none;
    std::uint64_t body_left = 0;
    response_head head;
    chunk_decoder chunks;
    int reconnects = 0;
};

constexpr std::uint64_t tag_sub = 1;
constexpr std::uint64_t tag_pub = 2;
constexpr std::uint64_t tag_timer = 3;

constexpr std::uint64_t make_tag(std::uint64_t kind, std::size_t index) {
    return kind << 32 | index;
}

/// Why a subscriber never got its stream.
enum class failure : std::uint8_t { connect, timeout, status, closed, protocol };

void abort_close(int fd) {
    // RST instead of FIN: tens of thousands of client sockets must not sit in TIME_WAIT, eating
    // the ephemeral ports that the next scenario needs.
    const linger l{.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/// The run: setup, idle, publish, drain, report.
class runner {
public:
    explicit runner(options o)
        : opt_(std::move(o)),
          sub_url_(parse_url(opt_.sub_url)),
          pub_url_(parse_url(opt_.pub_url)),
          sub_target_(sub_url_.target),
          pub_target_(pub_url_.target),
          pub_body_(opt_.pub_body),
          user_channel_(opt_.user_channel) {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) die(fmt::format("epoll_create1: {}", std::strerror(errno)));
        const std::size_t nchannels = opt_.per_user ? opt_.connections : 1;
        for (std::size_t c = 0; c < nchannels; ++c) {
            channel_names_.push_back(
                opt_.per_user ? user_channel_.expand({.ch = {}, .i = c, .data = {}}, false)
                              : opt_.channel);
        }
        subs_on_channel_.assign(nchannels, 0);
        subs_.resize(opt_.connections);
        for (std::size_t i = 0; i < subs_.size(); ++i) {
            subs_[i].channel = opt_.per_user ? static_cast<std::uint32_t>(i) : 0;
        }
        // Per-user: channel c is always published by publisher c % K, so each channel's events
        // leave on one connection, in order. Fan-out: every publisher is its own stream.
        const std::size_t k =
            opt_.per_user ? std::min(opt_.publishers, nchannels) : opt_.publishers;
        pubs_.resize(k);
        for (std::size_t p = 0; p < k; ++p) {
            pubs_[p].id = static_cast<std::uint32_t>(p);
            for (std::size_t c = opt_.per_user ? p : 0; c < nchannels; c += opt_.per_user ? k : 1) {
                pubs_[p].channels.push_back(static_cast<std::uint32_t>(c));
            }
            pubs_[p].seq.assign(pubs_[p].channels.size(), 0);
        }
    }

    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;
    ~runner() {
        for (auto& s : subs_) {
            if (s.fd >= 0) abort_close(s.fd);
        }
        for (auto& p : pubs_) {
            if (p.fd >= 0) close(p.fd);
        }
        if (timer_ >= 0) close(timer_);
        close(ep_);
    }

    int run() {
        for (auto& p : pubs_) {
            if (!connect_publisher(p)) {
                fmt::print(stderr, "crier-load: cannot connect publisher to {}\n", opt_.pub_url);
                return 2;
            }
        }
        rss_before_ = server_rss();

        // Setup: a bounded number of attempts in flight; each must finish by the deadline.
        const std::int64_t setup_start = now_ns();
        const std::int64_t setup_deadline = setup_start + to_ns(opt_.connect_timeout);
        std::size_t next_sub = 0;
        while ((next_sub < subs_.size() || in_setup_ > 0) && now_ns() < setup_deadline) {
            while (next_sub < subs_.size() && in_setup_ < opt_.connect_batch) {
                start_subscriber(next_sub++);
            }
            poll_once(10);
        }
        for (auto& s : subs_) {
            if (s.state == sub_state::waiting || s.state == sub_state::connecting ||
                s.state == sub_state::head) {
                fail(s, failure::timeout);
            }
        }
        setup_s_ = to_s(now_ns() - setup_start);

        // Idle: let the server settle (crier sends `connected`), then read its RSS again.
        const std::int64_t idle_end = now_ns() + to_ns(opt_.idle);
        while (now_ns() < idle_end) poll_once(10);
        rss_after_ = server_rss();
        for (const auto& s : subs_) {
            if (s.established && s.state == sub_state::streaming) ++subs_on_channel_[s.channel];
        }

        if (established_ > 0) publish_phase();
        report();
        if (established_ == 0) return 2;
        return established_ < subs_.size() ? 3 : 0;
    }

private:
    // --- setup ------------------------------------------------------------------------------

    bool connect_publisher(publisher& p) {
        const int fd = open_socket(pub_url_);
        if (fd < 0) return false;
        pollfd pfd{.fd = fd, .events = POLLOUT, .revents = 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (poll(&pfd, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
            err != 0) {
            close(fd);
            return false;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        epoll_event ev{.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                       .data = {.u64 = make_tag(tag_pub, p.id)}};
        epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
        p.fd = fd;
        p.in.clear();
        p.in_body = false;
        p.out.clear();
        p.out_off = 0;
        return true;
    }

    int open_socket(const url& u) {
        const int fd =
            socket(u.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd < 0) return -1;
        if (connect(fd, reinterpret_cast<const sockaddr*>(&u.addr), u.addr_len) != 0 &&
            errno != EINPROGRESS) {
            close(fd);
            return -1;
        }
        return fd;
    }

    void start_subscriber(std::size_t i) {
        subscriber& s = subs_[i];
        s.fd = open_socket(sub_url_);
        if (s.fd < 0) {
            fail(s, failure::connect);
            return;
        }
        epoll_event ev{.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                       .data = {.u64 = make_tag(tag_sub, i)}};
        epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd, &ev);
        s.state = sub_state::connecting;
        ++in_setup_;
    }

    void send_subscribe(std::size_t i) {
        subscriber& s = subs_[i];
        std::string req = "GET ";
        sub_target_.expand(req, {.ch = channel_names_[s.channel], .i = i, .data = {}}, true);
        req += " HTTP/1.1\r\nHost: ";
        req += sub_url_.host_header;
        req += "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n";
        for (const auto& h : opt_.sub_headers) req += h + "\r\n";
        req += "\r\n";
        // A fresh socket's send buffer always takes a request this small in one go.
        if (send(s.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
            fail(s, failure::connect);
            return;
        }
        s.state = sub_state::head;
    }

    void fail(subscriber& s, failure why) {
        if (s.fd >= 0) abort_close(s.fd);
        s.fd = -1;
        if (s.state != sub_state::waiting && in_setup_ > 0) --in_setup_;
        s.state = sub_state::closed;
        ++failures_[static_cast<std::size_t>(why)];
    }

    // --- subscribers --------------------------------------------------------------------------

    void on_subscriber(std::size_t i, std::uint32_t events) {
        subscriber& s = subs_[i];
        if (s.state == sub_state::connecting) {
            if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
                fail(s, failure::connect);
                return;
            }
            send_subscribe(i);
            if (s.state != sub_state::head) return;
        }
        if (s.state != sub_state::head && s.state != sub_state::streaming) return;
        if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
        const bool hangup = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
        for (;;) {
            const ssize_t n = read(s.fd, buf_.data(), buf_.size());
            if (n > 0) {
                if (!feed(s, buf_.data(), static_cast<std::size_t>(n), now_ns())) return;
                // Edge-triggered: a short read means the socket is drained for now.
                if (static_cast<std::size_t>(n) < buf_.size() && !hangup) return;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                lost_stream(s);
                return;
            } else if (errno == EAGAIN) {
                return;
            }
        }
    }

    void lost_stream(subscriber& s) {
        if (s.state == sub_state::head) {
            fail(s, failure::closed);
            return;
        }
        ++disconnected_;
        abort_close(s.fd);
        s.fd = -1;
        s.state = sub_state::closed;
    }

    /// Feeds received bytes through head, transfer decoding and SSE; false if the stream ended.
    bool feed(subscriber& s, const char* p, std::size_t n, std::int64_t now) {
        if (s.state == sub_state::head) {
            const std::size_t scan_from = s.head.size() < 3 ? 0 : s.head.size() - 3;
            s.head.append(p, n);
            const auto end = s.head.find("\r\n\r\n", scan_from);
            if (end == std::string::npos) {
                if (s.head.size() > 16384) fail(s, failure::protocol);
                return s.state == sub_state::head;
            }
            const auto h = parse_head(std::string_view(s.head).substr(0, end + 2));
            if (!h) {
                fail(s, failure::protocol);
                return false;
            }
            if (h->status != 200) {
                last_bad_status_ = h->status;
                fail(s, failure::status);
                return false;
            }
            s.body = h->chunked          ? body_mode::chunked
                     : h->content_length ? body_mode::length
                                         : body_mode::until_close;
            s.body_left = h->content_length.value_or(0);
            s.state = sub_state::streaming;
            s.established = true;
            ++established_;
            --in_setup_;
            const std::string rest = s.head.substr(end + 4);
            std::string().swap(s.head);
            return rest.empty() || feed(s, rest.data(), rest.size(), now);
        }
        const auto on_event = [&](std::string_view data) { event(s, data, now); };
        bool ok = true;
        switch (s.body) {
            case body_mode::chunked: {
                s.chunks.feed(p, n, [&](const char* d, std::size_t m) {
                    ok = ok && s.sse.feed(d, m, on_event);
                });
                if (s.chunks.done() || s.chunks.failed()) ok = false;
                break;
            }
            case body_mode::length: {
                const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(n, s.body_left));
                ok = s.sse.feed(p, take, on_event);
                s.body_left -= take;
                if (s.body_left == 0) ok = false;
                break;
            }
            case body_mode::until_close:
            case body_mode::none:
                ok = s.sse.feed(p, n, on_event);
                break;
        }
        if (!ok) lost_stream(s);
        return ok;
    }

    void event(subscriber& s, std::string_view data, std::int64_t now) {
        const std::size_t found = for_each_marker(data, [&](const marker& m) {
            if (m.ch != s.channel || m.pub >= pubs_.size() ||
                m.seq > std::numeric_limits<std::uint32_t>::max()) {
                ++misrouted_;
                return;
            }
            if (s.streams.empty()) s.streams.resize(pubs_.size());
            switch (s.streams[m.pub].receive(static_cast<std::uint32_t>(m.seq))) {
                case stream_state::verdict::duplicate:
                    ++duplicated_;
                    return;
                case stream_state::verdict::late:
                    ++reordered_;
                    break;
                case stream_state::verdict::fresh:
                    break;
            }
            ++delivered_;
            if (now >= window_start_ && now < window_end_) ++delivered_window_;
            const auto ts = static_cast<std::int64_t>(m.ts);
            if (ts >= window_start_ && now >= ts)
                latency_.record(static_cast<std::uint64_t>(now - ts));
        });
        if (found == 0) ++other_events_;
    }

    // --- publishers ---------------------------------------------------------------------------

    void publish_phase() {
        const std::int64_t start = now_ns();
        window_start_ = start + to_ns(opt_.warmup);
        window_end_ = window_start_ + to_ns(opt_.duration);
        // A server short of connections may have closed an idle publisher during setup.
        for (auto& p : pubs_) {
            if (p.fd < 0 && p.reconnects < 100) {
                ++p.reconnects;
                ++reconnects_;
                connect_publisher(p);
            }
        }
        if (opt_.rate > 0) {
            timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
            const auto tick = std::max<std::int64_t>(
                50'000, static_cast<std::int64_t>(static_cast<double>(ns_per_s) / opt_.rate));
            const timespec ts{.tv_sec = tick / ns_per_s, .tv_nsec = tick % ns_per_s};
            const itimerspec its{.it_interval = ts, .it_value = ts};
            timerfd_settime(timer_, 0, &its, nullptr);
            epoll_event ev{.events = EPOLLIN, .data = {.u64 = make_tag(tag_timer, 0)}};
            epoll_ctl(ep_, EPOLL_CTL_ADD, timer_, &ev);
        }
        bool in_window = false;
        std::int64_t now = start;
        while (now < window_end_) {
            if (!in_window && now >= window_start_) {
                in_window = true;
                usage_start_ = take_usage();
                accepted_at_window_start_ = accepted_;
            }
            if (opt_.rate > 0) {
                // Event k is due at start + k/R. One that leaves late keeps its real send time
                // in the payload; the lag is reported so a server that slows its publishers
                // down cannot hide it.
                scheduled_due_ = static_cast<std::uint64_t>(to_s(now - start) * opt_.rate) + 1;
                while (scheduled_ < scheduled_due_) {
                    publisher& p = pubs_[scheduled_ % pubs_.size()];
                    if (!can_send(p, now)) break;
                    const auto due_ns = start + static_cast<std::int64_t>(
                                                    static_cast<double>(scheduled_) *
                                                    static_cast<double>(ns_per_s) / opt_.rate);
                    schedule_lag_max_ns_ = std::max(schedule_lag_max_ns_, now - due_ns);
                    queue_publish(p);
                    ++scheduled_;
                }
            } else {
                for (auto& p : pubs_) {
                    while (can_send(p, now)) queue_publish(p);
                }
            }
            flush_all();
            // A publisher backing off must not sleep past its resume time.
            std::int64_t wake = std::min(window_end_, now + 10'000'000);
            for (const auto& p : pubs_) {
                if (p.fd >= 0 && p.resume_at > now) wake = std::min(wake, p.resume_at);
            }
            poll_once(
                static_cast<int>(std::max<std::int64_t>(0, (wake - now + 999'999) / 1'000'000)));
            now = now_ns();
        }
        if (!in_window) usage_start_ = take_usage();
        usage_end_ = take_usage();
        accepted_window_ = accepted_ - accepted_at_window_start_;
        if (timer_ >= 0) {
            const itimerspec off{};
            timerfd_settime(timer_, 0, &off, nullptr);
        }
        draining_ = true;

        // Drain: the last answers and deliveries, bounded.
        const std::int64_t drain_end = now_ns() + to_ns(opt_.drain);
        const std::int64_t drain_start = now_ns();
        while (now_ns() < drain_end) {
            flush_all();
            const bool answered = std::all_of(pubs_.begin(), pubs_.end(), [](const publisher& p) {
                return p.inflight.empty() || p.fd < 0;
            });
            if (answered && delivered_ >= expected_) break;
            poll_once(10);
        }
        drain_s_ = to_s(now_ns() - drain_start);
        for (auto& p : pubs_) unanswered_ += p.inflight.size();
    }

    [[nodiscard]] bool can_send(const publisher& p, std::int64_t now) const {
        return p.fd >= 0 && p.inflight.size() < opt_.pipeline && now >= p.resume_at;
    }

    /// Sends the next event, or first a refused one again (same marker: same stream position
    /// and send time).
    void queue_publish(publisher& p) {
        sent_event e;
        if (!p.retry.empty()) {
            e = p.retry.front();
            p.retry.pop_front();
            ++retried_;
        } else {
            e.ch = p.channels[p.next];
            e.m = {.ts = static_cast<std::uint64_t>(now_ns()),
                   .seq = p.seq[p.next]++,
                   .pub = p.id,
                   .ch = e.ch};
            p.next = (p.next + 1) % p.channels.size();
            ++sent_;
        }
        const std::uint32_t c = e.ch;
        make_payload(payload_, e.m, opt_.payload_bytes);
        body_.clear();
        pub_body_.expand(body_, {.ch = channel_names_[c], .i = c, .data = payload_}, false);
        p.out += "POST ";
        pub_target_.expand(p.out, {.ch = channel_names_[c], .i = c, .data = payload_}, true);
        fmt::format_to(std::back_inserter(p.out),
                       " HTTP/1.1\r\nHost: {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
                       pub_url_.host_header, opt_.pub_content_type, body_.size());
        for (const auto& h : opt_.pub_headers) {
            p.out += h;
            p.out += "\r\n";
        }
        p.out += "\r\n";
        p.out += body_;
        p.inflight.push_back(e);
    }

    void flush_all() {
        for (auto& p : pubs_) {
            if (p.fd >= 0 && p.out_off < p.out.size()) flush(p);
        }
    }

    void flush(publisher& p) {
        while (p.out_off < p.out.size()) {
            const ssize_t n =
                send(p.fd, p.out.data() + p.out_off, p.out.size() - p.out_off, MSG_NOSIGNAL);
            if (n > 0) {
                p.out_off += static_cast<std::size_t>(n);
            } else if (n < 0 && errno == EAGAIN) {
                return;  // EPOLLOUT resumes
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else {
                publisher_broken(p);
                return;
            }
        }
        p.out.clear();
        p.out_off = 0;
    }

    void on_publisher(std::size_t i, std::uint32_t events) {
        publisher& p = pubs_[i];
        if (p.fd < 0) return;
        if (events & EPOLLOUT) flush(p);
        if (p.fd < 0 || !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
        bool eof = false;
        for (;;) {
            const ssize_t n = read(p.fd, buf_.data(), buf_.size());
            if (n > 0) {
                p.in.append(buf_.data(), static_cast<std::size_t>(n));
                if (static_cast<std::size_t>(n) < buf_.size() &&
                    !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
                    break;
                }
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else {
                eof = n == 0 || errno != EAGAIN;
                break;
            }
        }
        if (!responses(p) || eof) {
            if (eof && p.in_body && p.body == body_mode::until_close) complete(p);
            publisher_broken(p);
        }
    }

    /// Consumes complete responses from `p.in`; false when the connection must be dropped.
    bool responses(publisher& p) {
        std::size_t off = 0;
        bool keep = true;
        while (keep) {
            if (!p.in_body) {
                const auto end = p.in.find("\r\n\r\n", off);
                if (end == std::string::npos) {
                    if (p.in.size() - off > 65536) keep = false;
                    break;
                }
                const auto h = parse_head(std::string_view(p.in).substr(off, end + 2 - off));
                off = end + 4;
                if (!h) {
                    keep = false;
                    break;
                }
                if (h->status >= 100 && h->status < 200) continue;  // interim response
                p.head = *h;
                p.in_body = true;
                p.chunks.reset();
                p.body_left = h->content_length.value_or(0);
                p.body = (h->status == 204 || h->status == 304) ? body_mode::none
                         : h->chunked                           ? body_mode::chunked
                         : h->content_length                    ? body_mode::length
                                                                : body_mode::until_close;
            }
            const std::size_t avail = p.in.size() - off;
            if (p.body == body_mode::length) {
                const auto take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(avail, p.body_left));
                off += take;
                p.body_left -= take;
                if (p.body_left > 0) break;
            } else if (p.body == body_mode::chunked) {
                off += p.chunks.feed(p.in.data() + off, avail, [](const char*, std::size_t) {});
                if (p.chunks.failed()) keep = false;
                if (!p.chunks.done()) break;
            } else if (p.body == body_mode::until_close) {
                off = p.in.size();
                break;
            }
            complete(p);
            if (p.head.close) keep = false;
        }
        p.in.erase(0, off);
        return keep;
    }

    void complete(publisher& p) {
        p.in_body = false;
        if (p.inflight.empty()) return;  // an answer to nothing: ignore
        const sent_event e = p.inflight.front();
        p.inflight.pop_front();
        if (p.head.status >= 200 && p.head.status < 300) {
            ++accepted_;
            expected_ += subs_on_channel_[e.ch];
            p.backoff_ns = 0;
        } else if (p.head.status == 503 || p.head.status == 429) {
            // Backpressure: wait, then send the same event again, as a well-behaved publisher
            // does (not once the window is over). Refusals are counted apart from errors; the
            // event owes no delivery yet.
            ++refused_;
            if (draining_) return;
            const std::int64_t cap =
                p.head.retry_after_s ? std::int64_t{*p.head.retry_after_s} * ns_per_s : ns_per_s;
            const auto first = static_cast<std::int64_t>(opt_.backoff_ms * 1e6);
            p.backoff_ns = std::min(cap, p.backoff_ns == 0 ? first : p.backoff_ns * 2);
            p.resume_at = now_ns() + p.backoff_ns;
            p.retry.push_back(e);
        } else {
            ++rejected_;
            last_pub_status_ = p.head.status;
        }
    }

    void publisher_broken(publisher& p) {
        epoll_ctl(ep_, EPOLL_CTL_DEL, p.fd, nullptr);
        close(p.fd);
        p.fd = -1;
        unanswered_ += p.inflight.size();
        p.inflight.clear();
        if (!draining_ && p.reconnects < 100) {
            ++p.reconnects;
            ++reconnects_;
            connect_publisher(p);
        }
    }

    // --- loop ---------------------------------------------------------------------------------

    void poll_once(int timeout_ms) {
        std::array<epoll_event, 1024> events{};
        const int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), timeout_ms);
        // Publishers first: their answers release the next publishes while subscribers read.
        for (int k = 0; k < n; ++k) {
            const std::uint64_t tag = events[k].data.u64;
            if (tag >> 32 == tag_pub) on_publisher(tag & 0xffffffffu, events[k].events);
            if (tag >> 32 == tag_timer) {
                std::uint64_t ticks = 0;
                [[maybe_unused]] const auto r = read(timer_, &ticks, sizeof ticks);
            }
        }
        for (int k = 0; k < n; ++k) {
            const std::uint64_t tag = events[k].data.u64;
            if (tag >> 32 == tag_sub) on_subscriber(tag & 0xffffffffu, events[k].events);
        }
    }

    /// CPU use at one instant, so the window's use is a difference of two.
    struct usage {
        std::int64_t wall_ns = 0;
        std::int64_t self_ns = 0;
        std::int64_t server_ns = 0;
        std::vector<std::uint64_t> core_ticks;
    };

    usage take_usage() const {
        return {.wall_ns = now_ns(),
                .self_ns = self_cpu_ns(),
                .server_ns = server_cpu_ns(),
                .core_ticks = read_core_busy()};
    }

    /// Busy share of `cpu` during the window in %, or -1 when unknown.
    double core_busy_pct(int cpu) const {
        const auto c = static_cast<std::size_t>(cpu);
        if (cpu < 0 || c >= usage_start_.core_ticks.size() || c >= usage_end_.core_ticks.size()) {
            return -1;
        }
        const double ticks =
            static_cast<double>(usage_end_.core_ticks[c] - usage_start_.core_ticks[c]);
        return 100.0 * ticks / static_cast<double>(sysconf(_SC_CLK_TCK)) /
               to_s(usage_end_.wall_ns - usage_start_.wall_ns);
    }

    std::uint64_t server_rss() const {
        std::uint64_t total = 0;
        for (const int pid : opt_.server_pids) total += read_rss(pid);
        return total;
    }

    std::int64_t server_cpu_ns() const {
        std::int64_t total = 0;
        for (const int pid : opt_.server_pids) total += read_cpu_ns(pid);
        return total;
    }

    // --- report -------------------------------------------------------------------------------

    void report() const {
        const double duration = opt_.duration;
        const std::uint64_t lost = expected_ > delivered_ ? expected_ - delivered_ : 0;
        const double per_s = static_cast<double>(delivered_window_) / duration;
        const double pub_per_s = static_cast<double>(accepted_window_) / duration;
        const auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
        const double p50 = us(latency_.percentile(0.50));
        const double p99 = us(latency_.percentile(0.99));
        const double pmax = us(latency_.max());
        const std::uint64_t failed = subs_.size() - established_;
        const bool have_rss = !opt_.server_pids.empty() && rss_before_ > 0 && established_ > 0;
        const double rss_per_conn =
            have_rss ? (static_cast<double>(rss_after_) - static_cast<double>(rss_before_)) /
                           static_cast<double>(established_)
                     : 0.0;
        // A run that never reached its window (no subscriber connected) has no CPU figures:
        // 0, not NaN, which JSON cannot carry.
        const double window_s = to_s(usage_end_.wall_ns - usage_start_.wall_ns);
        const auto pct = [&](std::int64_t ns) {
            return window_s > 0 ? 100.0 * to_s(ns) / window_s : 0.0;
        };
        const double cpu_client = pct(usage_end_.self_ns - usage_start_.self_ns);
        const double cpu_server = pct(usage_end_.server_ns - usage_start_.server_ns);
        const int client_core = pinned_cpu(0);
        const int server_core = opt_.server_pids.empty() ? -1 : pinned_cpu(opt_.server_pids[0]);
        const double client_core_busy = core_busy_pct(client_core);
        const double server_core_busy = core_busy_pct(server_core);
        std::string cores;
        for (std::size_t c = 0; c < usage_end_.core_ticks.size(); ++c) {
            cores += fmt::format("{}cpu{} {:.0f}%", c ? ", " : "", c,
                                 core_busy_pct(static_cast<int>(c)));
        }
        const std::string rate = opt_.rate > 0 ? fmt::format("{:g}", opt_.rate) : "max";
        const auto f = failures_;

        fmt::print(
            "crier-load {}: {} subscribers{}, {} publisher(s) x pipeline {}, rate {}, "
            "{:g} s measured after {:g} s warmup, payload {} B\n",
            opt_.label.empty() ? "" : "[" + opt_.label + "]", subs_.size(),
            opt_.per_user ? " each on its own channel" : " on one channel", pubs_.size(),
            opt_.pipeline, rate, duration, opt_.warmup, opt_.payload_bytes);
        fmt::print(
            "  connections   {} established, {} failed (connect {}, timeout {}, HTTP "
            "status {}{}, closed {}, protocol {}) in {:.2f} s\n",
            established_, failed, f[0], f[1], f[2],
            last_bad_status_ ? fmt::format(" [last {}]", last_bad_status_) : "", f[3], f[4],
            setup_s_);
        fmt::print(
            "  published     {} sent, {} accepted (2xx), {:.0f}/s in window; {} refused "
            "(503/429, resent after a backoff: {} resends); {} rejected{}, "
            "{} unanswered, {} reconnects{}\n",
            sent_, accepted_, pub_per_s, refused_, retried_, rejected_,
            last_pub_status_ ? fmt::format(" [last {}]", last_pub_status_) : "", unanswered_,
            reconnects_,
            opt_.rate > 0
                ? fmt::format(", {} of {} scheduled sent, lag max {:.0f} us", scheduled_,
                              scheduled_due_, static_cast<double>(schedule_lag_max_ns_) / 1000.0)
                : "");
        fmt::print(
            "  delivery      expected {}, delivered {}, lost {}, duplicated {}, reordered "
            "{}, misrouted {}, other events {}, streams closed by server {}\n",
            expected_, delivered_, lost, duplicated_, reordered_, misrouted_, other_events_,
            disconnected_);
        fmt::print("  throughput    {:.0f} delivered events/s (window), drain {:.2f} s\n", per_s,
                   drain_s_);
        fmt::print("  latency       p50 {:.1f} us, p99 {:.1f} us, max {:.1f} us ({} samples)\n",
                   p50, p99, pmax, latency_.count());
        if (have_rss) {
            fmt::print(
                "  server RSS    {:.1f} MiB idle -> {:.1f} MiB with {} streams: {:.0f} B "
                "per idle connection\n",
                static_cast<double>(rss_before_) / 1048576.0,
                static_cast<double>(rss_after_) / 1048576.0, established_, rss_per_conn);
        }
        fmt::print(
            "  cpu           client {:.0f}% of a core{}; cores busy (incl. softirq): {}\n",
            cpu_client,
            opt_.server_pids.empty() ? "" : fmt::format(", server {:.0f}% of a core", cpu_server),
            cores);
        // Busy time on a pinned core beyond what its process used is someone else's work (or
        // softirq): say so, since it makes this run's numbers noisy.
        const auto warn_other = [](std::string_view who, int core, double busy, double used) {
            if (core >= 0 && busy - used > 25) {
                fmt::print(
                    "  warning       cpu{} ({}) was {:.0f}% busy but its process used only "
                    "{:.0f}%: other load on that core, numbers are noisy\n",
                    core, who, busy, used);
            }
        };
        warn_other("client", client_core, client_core_busy, cpu_client);
        if (cpu_client >= 90) {
            fmt::print(
                "  warning       crier-load used {:.0f}% of a core: it may be the bottleneck "
                "of this run\n",
                cpu_client);
        }
        if (!opt_.server_pids.empty())
            warn_other("server", server_core, server_core_busy, cpu_server);
        if (opt_.json) {
            std::string label;
            append_json_escaped(label, opt_.label);
            fmt::print(
                R"({{"label":"{}","mode":"{}","connections":{},"established":{},"failed":{},)"
                R"("publishers":{},"pipeline":{},"rate":"{}","duration_s":{:g},"warmup_s":{:g},)"
                R"("payload_bytes":{},"setup_s":{:.3f},"published":{},"published_per_s":{:.1f},)"
                R"("pub_refused":{},"pub_rejected":{},"pub_unanswered":{},"expected":{},"delivered":{},)"
                R"("delivered_per_s":{:.1f},"lost":{},"duplicated":{},"reordered":{},)"
                R"("misrouted":{},"disconnected":{},"latency_us_p50":{:.1f},)"
                R"("latency_us_p99":{:.1f},"latency_us_max":{:.1f},"latency_samples":{},)"
                R"("rss_before_bytes":{},"rss_after_bytes":{},"rss_per_conn_bytes":{:.0f},)"
                R"("pub_lag_us_max":{:.1f},"client_cpu_pct":{:.1f},"server_cpu_pct":{:.1f},"client_core":{},)"
                R"("client_core_busy_pct":{:.1f},"server_core":{},"server_core_busy_pct":{:.1f}}})"
                "\n",
                label, opt_.per_user ? "per-user" : "fanout", subs_.size(), established_, failed,
                pubs_.size(), opt_.pipeline, rate, duration, opt_.warmup, opt_.payload_bytes,
                setup_s_, accepted_, pub_per_s, refused_, rejected_, unanswered_, expected_,
                delivered_, per_s, lost, duplicated_, reordered_, misrouted_, disconnected_, p50,
                p99, pmax, latency_.count(), rss_before_, rss_after_, rss_per_conn,
                static_cast<double>(schedule_lag_max_ns_) / 1000.0, cpu_client,
                opt_.server_pids.empty() ? 0.0 : cpu_server, client_core, client_core_busy,
                server_core, server_core_busy);
        }
        std::fflush(stdout);
    }

    options opt_;
    url sub_url_;
    url pub_url_;
    text_template sub_target_;
    text_template pub_target_;
    text_template pub_body_;
    text_template user_channel_;
    std::vector<std::string> channel_names_;
    std::vector<subscriber> subs_;
    std::vector<publisher> pubs_;
    std::vector<std::uint64_t> subs_on_channel_;
    std::array<char, 256 * 1024> buf_{};
    std::string payload_;
    std::string body_;
    histogram latency_;
    int ep_ = -1;
    int timer_ = -1;
    bool draining_ = false;

    std::size_t in_setup_ = 0;
    std::size_t established_ = 0;
    std::array<std::uint64_t, 5> failures_{};
    int last_bad_status_ = 0;
    int last_pub_status_ = 0;
    double setup_s_ = 0;
    double drain_s_ = 0;
    std::uint64_t rss_before_ = 0;
    std::uint64_t rss_after_ = 0;

    std::int64_t window_start_ = std::numeric_limits<std::int64_t>::max();
    std::int64_t window_end_ = std::numeric_limits<std::int64_t>::max();
    usage usage_start_;
    usage usage_end_;
    std::uint64_t scheduled_ = 0;
    std::uint64_t scheduled_due_ = 0;
    std::int64_t schedule_lag_max_ns_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t accepted_ = 0;
    std::uint64_t accepted_at_window_start_ = 0;
    std::uint64_t accepted_window_ = 0;
    std::uint64_t rejected_ = 0;
    std::uint64_t refused_ = 0;  // 503/429 answers, each resent after a backoff
    std::uint64_t retried_ = 0;
    std::uint64_t unanswered_ = 0;
    std::uint64_t reconnects_ = 0;
    std::uint64_t expected_ = 0;
    std::uint64_t delivered_ = 0;
    std::uint64_t delivered_window_ = 0;
    std::uint64_t duplicated_ = 0;
    std::uint64_t reordered_ = 0;
    std::uint64_t misrouted_ = 0;
    std::uint64_t other_events_ = 0;
    std::uint64_t disconnected_ = 0;
};

extern "C" void on_deadline(int) {
    constexpr std::string_view msg = "crier-load: hard deadline passed, exiting\n";
    [[maybe_unused]] const auto r = write(STDERR_FILENO, msg.data(), msg.size());
    _exit(4);
}

}  // namespace

int main(int argc, char** argv) {
    const options opt = parse_args(argc, argv);
    signal(SIGPIPE, SIG_IGN);

    rlimit fds{};
    getrlimit(RLIMIT_NOFILE, &fds);
    fds.rlim_cur = fds.rlim_max;
    setrlimit(RLIMIT_NOFILE, &fds);
    if (opt.connections + opt.publishers + 16 > fds.rlim_cur) {
        die(
            fmt::format("{} connections need more file descriptors than the limit of {} (ulimit "
                        "-n); use at most {}",
                        opt.connections, fds.rlim_cur, fds.rlim_cur - opt.publishers - 16));
    }

    // Every phase is bounded; this is the backstop in case something is not.
    const double budget = opt.connect_timeout + opt.idle + opt.warmup + opt.duration + opt.drain;
    signal(SIGALRM, on_deadline);
    alarm(static_cast<unsigned>(budget) + 30);

    runner r(opt);
    return r.run();
}
