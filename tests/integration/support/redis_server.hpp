// SPDX-License-Identifier: MIT
// A real redis-server for a test: its own free port on 127.0.0.1 and its own temporary
// directory, no persistence, killed at the end; stop() and start() again for failure tests (it
// comes back empty, like a Redis restarted without persistence).
#ifndef CRIER_TESTS_INTEGRATION_SUPPORT_REDIS_SERVER_HPP
#define CRIER_TESTS_INTEGRATION_SUPPORT_REDIS_SERVER_HPP

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CRIER_TEST_REDIS_SERVER
#    define CRIER_TEST_REDIS_SERVER "/usr/bin/redis-server"
#endif

namespace crier_test {

class redis_server {
public:
    redis_server() : port_(free_port()) {
        char dir[] = "/tmp/crier-redis-XXXXXX";
        if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = dir;
        start();
    }
    ~redis_server() {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    /// Starts it (again) on the same port and waits until it answers PING (10 s at most).
    void start() {
        if (pid_ > 0) return;
        const std::string port = std::to_string(port_);
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            ::execl(CRIER_TEST_REDIS_SERVER, CRIER_TEST_REDIS_SERVER, "--port", port.c_str(),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                    dir_.c_str(), "--logfile", (dir_ + "/redis.log").c_str(), "--daemonize", "no",
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        pid_ = pid;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            if (ping()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        stop();
        throw std::runtime_error("redis-server did not start");
    }

    /// Kills it (SIGKILL: a crash, nothing saved) and reaps it.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::kill(pid_, SIGCONT);  // a paused one too
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    /// Freezes it (SIGSTOP): connections stay open, nothing is answered.
    void pause() const {
        if (pid_ > 0) ::kill(pid_, SIGSTOP);
    }
    /// Lets a frozen one run again (SIGCONT).
    void resume() const {
        if (pid_ > 0) ::kill(pid_, SIGCONT);
    }

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

    /// Runs one command on a fresh blocking connection; the reply as text (integers in
    /// decimal, arrays as their element count), or "ERR" on failure.
    std::string command(const std::vector<std::string>& args) const {
        redisContext* c = redisConnect("127.0.0.1", port_);
        if (c == nullptr) return "ERR";
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const std::string& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* r = static_cast<redisReply*>(
            redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
        std::string out = "ERR";
        if (r != nullptr) {
            if (r->type == REDIS_REPLY_INTEGER) {
                out = std::to_string(r->integer);
            } else if (r->type == REDIS_REPLY_ARRAY) {
                out = std::to_string(r->elements);
            } else if (r->type == REDIS_REPLY_NIL) {
                out = "nil";
            } else if (r->str != nullptr) {
                out.assign(r->str, r->len);
            }
            freeReplyObject(r);
        }
        redisFree(c);
        return out;
    }

    /// A port on 127.0.0.1 that was free a moment ago.
    static std::uint16_t free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            if (fd >= 0) ::close(fd);
            throw std::runtime_error("no free port");
        }
        ::close(fd);
        return ntohs(addr.sin_port);
    }

private:
    bool ping() const { return command({"PING"}) == "PONG"; }

    std::uint16_t port_;
    std::string dir_;
    pid_t pid_ = -1;
};

}  // namespace crier_test

#endif
