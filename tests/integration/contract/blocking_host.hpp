// SPDX-License-Identifier: MIT
// A thread-per-connection host on plain POSIX sockets that pulls its streams with
// crier::adapters::blocking_stream: the pull mode under the contract, with no framework around
// it. Its write deadline is the socket's SO_SNDTIMEO, as a blocking server's would be.
#ifndef CRIER_TESTS_CONTRACT_BLOCKING_HOST_HPP
#define CRIER_TESTS_CONTRACT_BLOCKING_HOST_HPP

#include <crier/adapters/blocking_stream.hpp>
#include <crier/adapters/router.hpp>
#include <crier/adapters/stream_service.hpp>

#include <atomic>
#include <charconv>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "contract/transport.hpp"
#include "support/raw_client.hpp"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace crier::test {

class blocking_host final : public transport {
public:
    explicit blocking_host(const contract_config& c)
        : hub_(c.hub), streams_(hub_, c.streams), router_(streams_, contract_router_options()) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_, 512) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            throw std::runtime_error("blocking_host: cannot listen");
        }
        port_ = ntohs(addr.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~blocking_host() override {
        stopping_ = true;
        ::shutdown(listener_, SHUT_RDWR);
        acceptor_.join();
        streams_.close_all();
        {
            std::lock_guard lock(mutex_);
            for (auto& c : connections_) {
                if (c.open) ::shutdown(c.fd, SHUT_RDWR);  // wakes a thread blocked in recv
            }
        }
        for (auto& c : connections_) c.thread.join();  // the acceptor is gone: no more entries
        ::close(listener_);
    }

    std::uint16_t port() const override { return port_; }
    crier::hub& hub() override { return hub_; }
    std::size_t active_streams() const override { return streams_.active(); }

private:
    void accept_loop() {
        for (;;) {
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0) {
                if (stopping_) return;
                continue;
            }
            std::lock_guard lock(mutex_);
            auto& c = connections_.emplace_back(fd);
            c.thread = std::thread([this, &c] { serve(c); });
        }
    }

    static bool send_all(int fd, std::string_view bytes) {
        while (!bytes.empty()) {
            const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;  // the peer left, or SO_SNDTIMEO: the write deadline
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    struct connection {
        explicit connection(int f) : fd(f) {}
        int fd;
        bool open = true;  // guarded by mutex_
        std::thread thread;
    };

    void serve(connection& c) {
        const int fd = c.fd;
        const auto ms = streams_.settings().write_timeout.count();
        const timeval deadline{.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &deadline, sizeof deadline);
        const timeval read_deadline{.tv_sec = 5, .tv_usec = 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &read_deadline, sizeof read_deadline);
        handle(fd);
        std::lock_guard lock(mutex_);  // never closed while the destructor shuts it down
        ::close(fd);
        c.open = false;
    }

    void handle(int fd) {
        // The host's own request reading: head, then a Content-Length body.
        std::string in;
        char buf[4096];
        std::size_t head_end;
        while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
            const auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0 || in.size() > 16384) return;
            in.append(buf, static_cast<std::size_t>(n));
        }
        const std::string head = in.substr(0, head_end);
        std::string body = in.substr(head_end + 4);
        const auto line_end = head.find("\r\n");
        const std::string line = head.substr(0, line_end);
        const auto sp1 = line.find(' ');
        const auto sp2 = line.rfind(' ');
        if (sp1 == std::string::npos || sp2 <= sp1) return;
        std::vector<std::pair<std::string_view, std::string_view>> headers;
        std::optional<std::string_view> authorization;
        std::size_t length = 0;
        for (std::size_t pos = line_end + 2; pos < head.size() && line_end != std::string::npos;) {
            auto end = head.find("\r\n", pos);
            if (end == std::string::npos) end = head.size();
            const std::string_view h = std::string_view(head).substr(pos, end - pos);
            pos = end + 2;
            const auto colon = h.find(':');
            if (colon == std::string_view::npos) continue;
            std::string_view value = h.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            headers.emplace_back(h.substr(0, colon), value);
            if (lower(h.substr(0, colon)) == "authorization") authorization = value;
            if (lower(h.substr(0, colon)) == "content-length") {
                std::from_chars(value.data(), value.data() + value.size(), length);
            }
        }
        while (body.size() < length) {
            const auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) return;
            body.append(buf, static_cast<std::size_t>(n));
        }
        const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string out;
        crier::http::response r;
        if (target == "/hello") {
            r.content_type = "text/plain";
            r.body = "hello";
            crier::http::serialize(out, r, false);
            send_all(fd, out);
            return;
        }
        const auto user = user_of(authorization);
        if (!user) {
            crier::http::serialize(out, crier::http::json_error(401, "unauthorized", "no"), false);
            send_all(fd, out);
            return;
        }
        auto routed = router_.route(
            crier::http::request::from(line.substr(0, sp1), target, headers, std::move(body)),
            principal_for(*user));
        if (!routed.stream) {
            crier::http::serialize(out, routed.response, false);
            send_all(fd, out);
            return;
        }
        crier::adapters::blocking_stream stream(streams_, std::move(*routed.stream));
        if (stream.error()) {
            crier::http::serialize(out, stream.refusal(), false);
            send_all(fd, out);
            return;
        }
        crier::http::serialize_stream_head(out, stream.head());
        if (!send_all(fd, out)) return;
        for (;;) {
            const auto chunk = stream.next(std::chrono::milliseconds(500));
            if (!chunk.bytes.empty() && !send_all(fd, chunk.bytes)) {
                stream.abandon();
                return;
            }
            if (chunk.end) return;
        }
    }

    crier::hub hub_;
    crier::adapters::stream_service streams_;
    crier::adapters::router router_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex mutex_;
    std::list<connection> connections_;  // guarded by mutex_ (list nodes never move)
};

}  // namespace crier::test

#endif
