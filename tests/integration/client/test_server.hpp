// SPDX-License-Identifier: MIT
// Test support for the EventSource client: a scripted HTTP/1.1 server on 127.0.0.1 (C++20
// coroutines on its own io_context and thread), a runner for the client's io_context, and a
// thread-safe recorder with bounded waits.
#ifndef CRIER_TESTS_INTEGRATION_CLIENT_TEST_SERVER_HPP
#define CRIER_TESTS_INTEGRATION_CLIENT_TEST_SERVER_HPP

#include <crier/sse/encoder.hpp>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace crier_test {

using namespace std::chrono_literals;
using steady_clock = std::chrono::steady_clock;

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

/// A request as the server received it.
struct request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    steady_clock::time_point at;  // when its head had arrived

    /// The value of the header named `name` (case-insensitive); nullopt when absent.
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (iequals(n, name)) return v;
        }
        return std::nullopt;
    }
};

/// One accepted connection, as a script sees it.
class connection {
public:
    connection(asio::ip::tcp::socket socket, request req, std::size_t index)
        : socket_(std::move(socket)), request_(std::move(req)), index_(index) {}

    /// The request that opened this connection.
    [[nodiscard]] const request& req() const { return request_; }
    /// 0 for the first connection the server accepted, 1 for the second, ...
    [[nodiscard]] std::size_t index() const { return index_; }

    /// Writes all bytes; throws when the client is gone.
    asio::awaitable<void> write(std::string bytes) {
        co_await asio::async_write(socket_, asio::buffer(bytes), asio::use_awaitable);
    }

    /// Writes one byte at a time, pausing between them, so the client's reads split everywhere.
    asio::awaitable<void> write_bytewise(std::string bytes,
                                         std::chrono::microseconds pause = 300us) {
        for (const char c : bytes) {
            co_await asio::async_write(socket_, asio::buffer(&c, 1), asio::use_awaitable);
            co_await sleep(pause);
        }
    }

    asio::awaitable<void> sleep(std::chrono::microseconds d) {
        asio::steady_timer timer(socket_.get_executor(), d);
        co_await timer.async_wait(asio::use_awaitable);
    }

    /// Returns once the client has closed the connection (or the server stops).
    asio::awaitable<void> wait_closed() {
        char buffer[256];
        try {
            for (;;) co_await socket_.async_read_some(asio::buffer(buffer), asio::use_awaitable);
        } catch (const std::exception&) {
        }
    }

    asio::ip::tcp::socket& socket() { return socket_; }

private:
    asio::ip::tcp::socket socket_;
    request request_;
    std::size_t index_;
};

/// What the server does with each connection after reading its request.
using script = std::function<asio::awaitable<void>(connection&)>;

/// The head of a 200 text/event-stream response.
inline std::string sse_head(std::string_view extra_fields = "") {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n" +
           std::string(extra_fields) + "\r\n";
}

/// One SSE frame.
inline std::string frame(std::string_view id, std::string_view type, std::string_view data) {
    std::string out;
    const auto ec = crier::sse::append_event(out, {.id = id, .type = type, .data = data});
    if (ec) throw std::system_error(ec, "frame");
    return out;
}

/// A scripted HTTP server on an ephemeral port of a loopback address.
class test_server {
public:
    explicit test_server(script s, std::string_view address = "127.0.0.1")
        : script_(std::move(s)), acceptor_(ioc_, {asio::ip::make_address(address), 0}) {
        asio::co_spawn(ioc_, accept_loop(), asio::detached);  // before run(): it needs work
        thread_ = std::thread([this] { ioc_.run(); });
    }

    ~test_server() {
        ioc_.stop();
        thread_.join();
    }

    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }

    /// `http://127.0.0.1:<port><target>` (brackets for IPv6).
    [[nodiscard]] std::string url(std::string_view target = "/events") const {
        const auto address = acceptor_address_;
        const std::string host =
            address.find(':') != std::string::npos ? "[" + address + "]" : address;
        return "http://" + host + ":" + std::to_string(port_) + std::string(target);
    }

    /// Every request received so far, in order of arrival.
    [[nodiscard]] std::vector<request> requests() const {
        const std::lock_guard lock(mutex_);
        return requests_;
    }

    [[nodiscard]] std::size_t request_count() const {
        const std::lock_guard lock(mutex_);
        return requests_.size();
    }

    /// Waits until at least `n` requests have arrived; false on timeout.
    bool wait_requests(std::size_t n, std::chrono::milliseconds timeout = 5s) const {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    }

private:
    asio::awaitable<void> accept_loop() {
        for (std::size_t index = 0;; ++index) {
            asio::ip::tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
            asio::co_spawn(ioc_, handle(std::move(socket), index), asio::detached);
        }
    }

    asio::awaitable<void> handle(asio::ip::tcp::socket socket, std::size_t index) {
        try {
            socket.set_option(asio::ip::tcp::no_delay(true));
            std::string buffer;
            const std::size_t n = co_await asio::async_read_until(
                socket, asio::dynamic_buffer(buffer), "\r\n\r\n", asio::use_awaitable);
            request req = parse(std::string_view(buffer).substr(0, n));
            {
                const std::lock_guard lock(mutex_);
                requests_.push_back(req);
                cv_.notify_all();
            }
            connection conn(std::move(socket), std::move(req), index);
            co_await script_(conn);
            std::error_code ignored;
            conn.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
            conn.socket().close(ignored);
        } catch (const std::exception&) {
            // The client went away: that is how most scripts end.
        }
    }

    static request parse(std::string_view head) {
        request r;
        r.at = steady_clock::now();
        auto next_line = [&head] {
            const auto end = head.find("\r\n");
            const auto line = head.substr(0, end);
            head.remove_prefix(end == std::string_view::npos ? head.size() : end + 2);
            return line;
        };
        const auto request_line = next_line();
        const auto sp1 = request_line.find(' ');
        const auto sp2 = request_line.rfind(' ');
        r.method = request_line.substr(0, sp1);
        r.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
        for (auto line = next_line(); !line.empty(); line = next_line()) {
            const auto colon = line.find(':');
            auto value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            r.headers.emplace_back(line.substr(0, colon), value);
        }
        return r;
    }

    script script_;
    asio::io_context ioc_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t port_ = acceptor_.local_endpoint().port();
    std::string acceptor_address_ = acceptor_.local_endpoint().address().to_string();
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::vector<request> requests_;
    std::thread thread_;
};

/// Runs an io_context for the client on `threads` threads until destroyed.
class client_runner {
public:
    explicit client_runner(int threads = 1) {
        for (int i = 0; i < threads; ++i) {
            threads_.emplace_back([this] {
                ioc.run();
                ++finished_;
            });
        }
    }

    /// Lets the pending operations finish (a closed client cancels its own), bounded; then stops.
    ~client_runner() {
        guard_.reset();
        const auto deadline = steady_clock::now() + 5s;
        while (finished_ < threads_.size() && steady_clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
        }
        ioc.stop();
        for (auto& t : threads_) t.join();
    }

    asio::io_context ioc;

private:
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(ioc);
    std::atomic<std::size_t> finished_{0};
    std::vector<std::thread> threads_;
};

/// Collects values from handler threads; waits are bounded.
template <class T>
class recorder {
public:
    void add(T value) {
        // Notify under the lock: a waiter that wakes may destroy the recorder right away.
        const std::lock_guard lock(mutex_);
        values_.push_back(std::move(value));
        cv_.notify_all();
    }

    [[nodiscard]] std::vector<T> values() const {
        const std::lock_guard lock(mutex_);
        return values_;
    }

    [[nodiscard]] std::size_t size() const {
        const std::lock_guard lock(mutex_);
        return values_.size();
    }

    /// Waits until `pred(values)` holds; false on timeout.
    template <class Pred>
    bool wait(Pred pred, std::chrono::milliseconds timeout = 5s) const {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return pred(values_); });
    }

    /// Waits until at least `n` values were recorded; false on timeout.
    bool wait_count(std::size_t n, std::chrono::milliseconds timeout = 5s) const {
        return wait([n](const std::vector<T>& v) { return v.size() >= n; }, timeout);
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    std::vector<T> values_;
};

}  // namespace crier_test

#endif
