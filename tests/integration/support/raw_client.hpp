// SPDX-License-Identifier: MIT
// Blocking POSIX-socket clients for integration tests: plain HTTP requests and SSE readers,
// every read bounded by a timeout so a broken server fails a test instead of hanging it.
#ifndef CRIER_TESTS_SUPPORT_RAW_CLIENT_HPP
#define CRIER_TESTS_SUPPORT_RAW_CLIENT_HPP

#include <crier/client/chunked_decoder.hpp>
#include <crier/sse/parser.hpp>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace crier::test {

using namespace std::chrono_literals;
using test_clock = std::chrono::steady_clock;

/// One TCP connection to 127.0.0.1:port.
class raw_connection {
public:
    /// `receive_buffer` > 0 shrinks SO_RCVBUF before connecting, so a client that stops reading
    /// fills the server's socket buffers quickly.
    explicit raw_connection(std::uint16_t port, int receive_buffer = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket() failed");
        if (receive_buffer > 0) {
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect() failed");
        }
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;
    ~raw_connection() { close(); }

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    [[nodiscard]] int fd() const { return fd_; }

    /// Sends everything (false if the peer is gone).
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Appends what arrives within `timeout` to `out`. Returns false on EOF or error, true
    /// otherwise (even when nothing arrived in time).
    bool read_some(std::string& out, std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;
        char buf[16384];
        const auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return false;
        out.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    /// Reads until `done(buffer)` or EOF or the deadline. Returns done(buffer).
    template <class Done>
    bool read_until(std::string& buffer, Done&& done, std::chrono::milliseconds timeout = 5s) {
        const auto deadline = test_clock::now() + timeout;
        while (!done(buffer)) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - test_clock::now());
            if (left <= 0ms) return false;
            if (!read_some(buffer, std::min(left, 100ms))) return done(buffer);
        }
        return true;
    }

    /// Reads until the peer closes (true) or the deadline passes (false).
    bool read_to_eof(std::string& buffer, std::chrono::milliseconds timeout = 5s) {
        const auto deadline = test_clock::now() + timeout;
        while (test_clock::now() < deadline) {
            if (!read_some(buffer, 50ms)) return true;
        }
        return false;
    }

private:
    int fd_ = -1;
};

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// A parsed HTTP response head (names lowercased).
struct response_head {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string raw;

    [[nodiscard]] std::string header(std::string_view name) const {
        const auto it = headers.find(lower(name));
        return it == headers.end() ? std::string() : it->second;
    }
};

/// Parses the head at the start of `buffer` and removes it; nullopt if incomplete.
inline std::optional<response_head> take_head(std::string& buffer) {
    const auto end = buffer.find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    response_head head;
    head.raw = buffer.substr(0, end + 4);
    buffer.erase(0, end + 4);
    std::string_view rest = head.raw;
    const auto line_end = rest.find("\r\n");
    const std::string_view status_line = rest.substr(0, line_end);
    if (status_line.size() >= 12) head.status = std::stoi(std::string(status_line.substr(9, 3)));
    rest.remove_prefix(line_end + 2);
    while (!rest.empty()) {
        const auto e = rest.find("\r\n");
        const std::string_view line = rest.substr(0, e);
        rest.remove_prefix(e + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        head.headers[lower(line.substr(0, colon))] = std::string(value);
    }
    return head;
}

/// A complete response.
struct http_reply {
    response_head head;
    std::string body;
    int status() const { return head.status; }
};

/// Reads one response with a Content-Length body from `c`.
inline std::optional<http_reply> read_reply(raw_connection& c, std::string& buffer,
                                            std::chrono::milliseconds timeout = 5s) {
    std::optional<response_head> head;
    c.read_until(
        buffer,
        [&](std::string& b) {
            if (!head) head = take_head(b);
            if (!head) return false;
            const auto len = std::stoul(
                head->header("content-length").empty() ? "0" : head->header("content-length"));
            return b.size() >= len;
        },
        timeout);
    if (!head) return std::nullopt;
    http_reply r{*head, {}};
    const auto len =
        std::stoul(head->header("content-length").empty() ? "0" : head->header("content-length"));
    if (buffer.size() < len) return std::nullopt;
    r.body = buffer.substr(0, len);
    buffer.erase(0, len);
    return r;
}

/// One request on a fresh connection (Connection: close).
inline http_reply request(std::uint16_t port, std::string_view method, std::string_view target,
                          std::vector<std::string> headers = {}, std::string_view body = {}) {
    raw_connection c(port);
    std::string req = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n";
    for (const auto& h : headers) req += h + "\r\n";
    if (!body.empty() || method == "POST")
        req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    req += "Connection: close\r\n\r\n";
    req += body;
    c.send(req);
    std::string buffer;
    auto r = read_reply(c, buffer);
    if (!r) throw std::runtime_error("no complete response to " + std::string(target));
    // The server closes after answering: whatever follows the declared body means the
    // Content-Length did not count the body.
    c.read_to_eof(buffer, 2s);
    if (!buffer.empty()) {
        throw std::runtime_error("Content-Length " + r->head.header("content-length") + " but " +
                                 std::to_string(buffer.size()) + " more bytes followed the body");
    }
    return *r;
}

/// One received SSE event, copied out of the parser.
struct received {
    std::string type;
    std::string data;
    std::string id;
};

/// An SSE stream opened with GET, read and parsed incrementally.
class sse_stream {
public:
    sse_stream(std::uint16_t port, std::string_view target, std::vector<std::string> headers = {},
               int receive_buffer = 0)
        : conn_(port, receive_buffer) {
        std::string req = "GET " + std::string(target) +
                          " HTTP/1.1\r\nHost: t\r\n"
                          "Accept: text/event-stream\r\n";
        for (const auto& h : headers) req += h + "\r\n";
        req += "\r\n";
        conn_.send(req);
        std::string buffer;
        conn_.read_until(buffer, [&](std::string& b) {
            head_ = take_head(b);
            return head_.has_value();
        });
        if (!head_) throw std::runtime_error("no response head");
        chunked_ = lower(head_->header("transfer-encoding")) == "chunked";
        if (head_->status == 200) {
            feed(buffer);
        } else {
            read_refusal_body(std::move(buffer));
        }
    }

    [[nodiscard]] const response_head& head() const { return *head_; }
    [[nodiscard]] const std::vector<received>& events() const { return events_; }
    [[nodiscard]] const std::string& raw() const { return raw_; }
    [[nodiscard]] const std::string& body() const { return body_; }
    [[nodiscard]] bool eof() const { return eof_; }
    [[nodiscard]] const crier::sse::parser& parser() const { return parser_; }
    raw_connection& connection() { return conn_; }

    /// Reads until at least `n` events arrived (true) or EOF/timeout (false).
    bool wait_for_events(std::size_t n, std::chrono::milliseconds timeout = 5s) {
        return pump([&] { return events_.size() >= n; }, timeout);
    }
    /// Reads until the raw bytes contain `text`.
    bool wait_for_raw(std::string_view text, std::chrono::milliseconds timeout = 5s) {
        return pump([&] { return raw_.find(text) != std::string::npos; }, timeout);
    }
    /// Reads until the server closes (true) or timeout.
    bool wait_for_eof(std::chrono::milliseconds timeout = 5s) {
        return pump([&] { return eof_; }, timeout);
    }
    /// Reads what has already arrived, without waiting. False once the server closed.
    bool poll() {
        std::string chunk;
        if (!conn_.read_some(chunk, 0ms)) eof_ = true;
        feed(chunk);
        return !eof_;
    }
    /// Reads whatever arrives for `duration`.
    void drain_for(std::chrono::milliseconds duration) {
        pump([] { return false; }, duration);
    }
    /// Events of one type.
    [[nodiscard]] std::vector<received> of_type(std::string_view type) const {
        std::vector<received> out;
        for (const auto& e : events_) {
            if (e.type == type) out.push_back(e);
        }
        return out;
    }

private:
    // A refusal carries a Content-Length body: read exactly it, and fail loudly when the
    // declared length and the bytes sent disagree.
    void read_refusal_body(std::string buffer) {
        const std::string declared = head_->header("content-length");
        const std::size_t length = declared.empty() ? 0 : std::stoul(declared);
        conn_.read_until(buffer, [&](std::string& b) { return b.size() >= length; });
        // Anything that arrives right after the declared body is a miscount.
        conn_.read_some(buffer, 50ms);
        if (buffer.size() != length) {
            throw std::runtime_error("Content-Length " + declared + " but the body has " +
                                     std::to_string(buffer.size()) + " bytes");
        }
        body_ = std::move(buffer);
    }

    template <class Done>
    bool pump(Done&& done, std::chrono::milliseconds timeout) {
        const auto deadline = test_clock::now() + timeout;
        while (!done()) {
            if (eof_ || test_clock::now() >= deadline) return done();
            std::string chunk;
            if (!conn_.read_some(chunk, 20ms)) eof_ = true;
            feed(chunk);
        }
        return true;
    }

    // The body's bytes, de-chunked when the server sent `Transfer-Encoding: chunked` (as
    // cpp-httplib's content providers do); raw() is what the SSE parser saw.
    void feed(std::string_view bytes) {
        if (!chunked_) return parse(bytes);
        std::size_t consumed = 0;
        std::string body;
        if (decoder_.decode(bytes, consumed, [&](std::string_view d) { body.append(d); })) {
            throw std::runtime_error("malformed chunked body");
        }
        if (decoder_.done()) eof_ = true;
        parse(body);
    }

    void parse(std::string_view chunk) {
        raw_.append(chunk);
        (void)parser_.feed(chunk, [&](const crier::sse::event& e) {
            events_.push_back(
                {std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
        });
    }

    raw_connection conn_;
    std::optional<response_head> head_;
    bool chunked_ = false;
    crier::client::chunked_decoder decoder_;
    crier::sse::parser parser_;
    std::vector<received> events_;
    std::string raw_;
    std::string body_;
    bool eof_ = false;
};

}  // namespace crier::test

#endif
