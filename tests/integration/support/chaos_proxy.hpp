// SPDX-License-Identifier: MIT
// A TCP proxy on 127.0.0.1 for chaos tests: forwards each accepted connection to a target port
// and cuts some of them after a random number of server-to-client bytes (mid-frame), with a
// FIN or an RST, so clients meet every kind of broken stream a real network gives them.
#ifndef CRIER_TESTS_SUPPORT_CHAOS_PROXY_HPP
#define CRIER_TESTS_SUPPORT_CHAOS_PROXY_HPP

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <list>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace crier::test {

/// How a chaos_proxy misbehaves.
struct chaos_options {
    /// Chance that a connection is cut at all (the others live until an end closes them).
    double cut_probability = 0.7;
    /// A cut connection forwards a uniform 0..max_cut_bytes-1 server-to-client bytes first.
    std::size_t max_cut_bytes = 64 * 1024;
    /// Chance that a cut resets the client (SO_LINGER 0) instead of closing it with a FIN.
    double reset_probability = 0.5;
    /// Seed of every random choice (a failing run can be replayed).
    std::uint64_t seed = 1;
};

/// Forwards 127.0.0.1:port() to 127.0.0.1:target, one thread, poll() over non-blocking
/// sockets. When either end closes or fails, both are closed (what was still buffered is lost,
/// which is one more cut). Destroying it closes every connection.
class chaos_proxy {
public:
    chaos_proxy(std::uint16_t target, chaos_options options)
        : target_(target), options_(options), rng_(options.seed) {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (listener_ < 0) throw std::runtime_error("chaos_proxy: socket() failed");
        int one = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr = loopback(0);
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_, 128) != 0) {
            ::close(listener_);
            throw std::runtime_error("chaos_proxy: bind/listen failed");
        }
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    chaos_proxy(const chaos_proxy&) = delete;
    chaos_proxy& operator=(const chaos_proxy&) = delete;
    ~chaos_proxy() {
        stop_.store(true);
        thread_.join();
        for (auto& p : pairs_) close_pair(p, false);
        ::close(listener_);
    }

    /// Where clients connect.
    [[nodiscard]] std::uint16_t port() const { return port_; }
    /// Connections accepted so far.
    [[nodiscard]] std::size_t accepted() const { return accepted_.load(); }
    /// Connections cut on purpose so far.
    [[nodiscard]] std::size_t cuts() const { return cuts_.load(); }
    /// Connections open now.
    [[nodiscard]] std::size_t open() const { return open_.load(); }

private:
    struct pair {
        int client = -1;
        int upstream = -1;
        std::string to_upstream;  // bytes read from the client, not yet written upstream
        std::string to_client;    // bytes read upstream, not yet written to the client
        std::size_t budget = 0;   // server-to-client bytes still allowed before the cut
        bool cut = false;         // cut once budget is spent
        bool reset = false;       // the cut is an RST
        bool dead = false;
    };

    static sockaddr_in loopback(std::uint16_t port) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return addr;
    }

    static void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

    void close_pair(pair& p, bool counted_cut) {
        if (p.dead) return;
        p.dead = true;
        if (counted_cut && p.reset) {
            linger l{1, 0};
            ::setsockopt(p.client, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        ::close(p.client);
        ::close(p.upstream);
        if (counted_cut) cuts_.fetch_add(1);
        open_.fetch_sub(1);
    }

    void accept_all() {
        for (;;) {
            const int c = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) return;
            accepted_.fetch_add(1);
            const int u = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in addr = loopback(target_);
            // A blocking connect on loopback is immediate; refused (server restarting) closes
            // the client at once, which it sees as one more broken connection.
            if (u < 0 || ::connect(u, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
                if (u >= 0) ::close(u);
                ::close(c);
                continue;
            }
            set_nonblocking(u);
            int one = 1;
            ::setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            pair p;
            p.client = c;
            p.upstream = u;
            p.cut = std::bernoulli_distribution(options_.cut_probability)(rng_);
            p.budget = std::uniform_int_distribution<std::size_t>(
                0, options_.max_cut_bytes == 0 ? 0 : options_.max_cut_bytes - 1)(rng_);
            p.reset = std::bernoulli_distribution(options_.reset_probability)(rng_);
            pairs_.push_back(std::move(p));
            open_.fetch_add(1);
        }
    }

    // Reads what `from` has (bounded by `room`); false on EOF or error.
    static bool pull(int from, std::string& into, std::size_t room) {
        char buf[65536];
        while (room > 0) {
            const auto n = ::recv(from, buf, std::min(room, sizeof buf), 0);
            if (n == 0) return false;
            if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
            into.append(buf, static_cast<std::size_t>(n));
            room -= static_cast<std::size_t>(n);
        }
        return true;
    }

    // Writes what it can of `from` (at most `limit` bytes); false on error.
    static bool push(int to, std::string& from, std::size_t limit, std::size_t* written) {
        std::size_t total = 0;
        while (!from.empty() && total < limit) {
            const auto n = ::send(to, from.data(), std::min(from.size(), limit - total),
                                  MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
                return false;
            }
            from.erase(0, static_cast<std::size_t>(n));
            total += static_cast<std::size_t>(n);
        }
        if (written != nullptr) *written = total;
        return true;
    }

    void run() {
        constexpr std::size_t max_buffered = 256 * 1024;  // backpressure: stop reading past it
        std::vector<pollfd> fds;
        while (!stop_.load()) {
            fds.clear();
            fds.push_back({listener_, POLLIN, 0});
            for (auto& p : pairs_) {
                short c_events = 0;
                short u_events = 0;
                if (p.to_upstream.size() < max_buffered) c_events |= POLLIN;
                if (!p.to_client.empty()) c_events |= POLLOUT;
                if (p.to_client.size() < max_buffered) u_events |= POLLIN;
                if (!p.to_upstream.empty()) u_events |= POLLOUT;
                // A side with nothing to do is left out (fd -1): poll() would report its hang-up
                // at once, every round, while a full buffer keeps us from reading it.
                fds.push_back({c_events != 0 ? p.client : -1, c_events, 0});
                fds.push_back({u_events != 0 ? p.upstream : -1, u_events, 0});
            }
            if (::poll(fds.data(), fds.size(), 20) < 0) continue;
            std::size_t i = 1;
            for (auto& p : pairs_) {
                const short c_rev = fds[i].revents;
                const short u_rev = fds[i + 1].revents;
                i += 2;
                bool ok = true;
                if (c_rev & (POLLIN | POLLHUP | POLLERR)) {
                    ok = pull(p.client, p.to_upstream, max_buffered - p.to_upstream.size());
                }
                if (ok && (u_rev & (POLLIN | POLLHUP | POLLERR))) {
                    ok = pull(p.upstream, p.to_client, max_buffered - p.to_client.size());
                }
                if (ok && !p.to_upstream.empty())
                    ok = push(p.upstream, p.to_upstream, SIZE_MAX, nullptr);
                if (ok && !p.to_client.empty()) {
                    std::size_t written = 0;
                    ok = push(p.client, p.to_client, p.cut ? p.budget : SIZE_MAX, &written);
                    if (p.cut) {
                        p.budget -= written;
                        if (p.budget == 0) {
                            close_pair(p, true);
                            continue;
                        }
                    }
                }
                if (!ok) close_pair(p, false);
            }
            pairs_.remove_if([](const pair& p) { return p.dead; });
            if (fds[0].revents & POLLIN) accept_all();
        }
    }

    const std::uint16_t target_;
    const chaos_options options_;
    std::mt19937_64 rng_;  // proxy thread only
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::list<pair> pairs_;  // proxy thread only (and the destructor, after the join)
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::size_t> cuts_{0};
    std::atomic<std::size_t> open_{0};
    std::thread thread_;
};

}  // namespace crier::test

#endif
