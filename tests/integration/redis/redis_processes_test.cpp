// SPDX-License-Identifier: MIT
// Three crier server processes (crier-bench-server --redis) on one Redis: publish on one, stream
// from another, kill -9 a node mid-stream, restart it, and resume on it with no gap; and what
// each --redis-away mode answers a publisher while Redis is away.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "integration/support/raw_client.hpp"
#include "integration/support/redis_server.hpp"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;

/// One crier-bench-server process on its own port, joined to `redis`.
class server_process {
public:
    server_process(const crier_test::redis_server& redis, std::string name,
                   std::string away = "local")
        : url_(redis.url()),
          name_(std::move(name)),
          away_(std::move(away)),
          port_(crier_test::redis_server::free_port()) {
        start();
    }
    ~server_process() { kill(); }
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    void start() {
#if defined(CRIER_TEST_BENCH_SERVER)
        const std::string port = std::to_string(port_);
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            ::execl(CRIER_TEST_BENCH_SERVER, CRIER_TEST_BENCH_SERVER, "--port", port.c_str(),
                    "--redis", url_.c_str(), "--node-name", name_.c_str(), "--redis-away",
                    away_.c_str(), "--duration", "120", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        pid_ = pid;
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            try {
                if (crier::test::request(port_, "GET", "/api/realtime/health").status() == 200) {
                    return;
                }
            } catch (const std::exception&) {  // not listening yet
            }
            std::this_thread::sleep_for(20ms);
        }
        throw std::runtime_error("crier-bench-server did not start");
#endif
    }

    /// kill -9: nothing is flushed, nothing said goodbye.
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    [[nodiscard]] std::uint16_t port() const {
        return port_;
    }

private:
    std::string url_;
    std::string name_;
    std::string away_;
    std::uint16_t port_;
    pid_t pid_ = -1;
};

[[maybe_unused]] crier::test::http_reply publish(const server_process& n, const std::string& data) {
    return crier::test::request(
        n.port(), "POST", "/api/realtime/publish?user=pub", {"Content-Type: application/json"},
        R"({"channels":["horses"],"type":"horses:updated","data":")" + data + "\"}");
}

TEST(redis_processes, a_node_killed_mid_stream_restarts_and_its_client_resumes_with_no_gap) {
#if !defined(CRIER_TEST_BENCH_SERVER)
    GTEST_SKIP() << "needs crier-bench-server (CRIER_BUILD_BENCHMARKS)";
#else
    crier_test::redis_server redis;
    server_process a(redis, "a");
    server_process b(redis, "b");
    server_process c(redis, "c");
    const std::string path = "/api/realtime/events?user=u1&channel=horses";
    std::string last_id;
    {
        crier::test::sse_stream on_a(a.port(), path);
        ASSERT_TRUE(on_a.wait_for_events(1));  // connected
        for (int i = 0; i < 3; ++i) ASSERT_EQ(publish(b, "h" + std::to_string(i)).status(), 200);
        ASSERT_TRUE(on_a.wait_for_events(4));
        EXPECT_EQ(on_a.events()[1].data, "h0");
        EXPECT_EQ(on_a.events()[3].data, "h2");
        last_id = on_a.events()[3].id;
        a.kill();  // mid-stream
        EXPECT_TRUE(on_a.wait_for_eof(2s));
    }
    for (int i = 3; i < 5; ++i) ASSERT_EQ(publish(c, "h" + std::to_string(i)).status(), 200);
    a.start();  // a fresh process: no local history, the same ids from Redis
    crier::test::sse_stream resumed(a.port(), path, {"Last-Event-ID: " + last_id});
    ASSERT_TRUE(resumed.wait_for_events(3));
    EXPECT_EQ(resumed.events()[0].type, "connected");
    EXPECT_EQ(resumed.events()[1].data, "h3");
    EXPECT_EQ(resumed.events()[2].data, "h4");
    ASSERT_EQ(publish(b, "h5").status(), 200);
    ASSERT_TRUE(resumed.wait_for_events(4));
    EXPECT_EQ(resumed.events()[3].data, "h5");
    resumed.drain_for(100ms);
    EXPECT_EQ(resumed.events().size(), 4u);  // no duplicate
#endif
}

TEST(redis_processes, while_redis_is_away_refuse_answers_503_and_local_answers_scope_local) {
#if !defined(CRIER_TEST_BENCH_SERVER)
    GTEST_SKIP() << "needs crier-bench-server (CRIER_BUILD_BENCHMARKS)";
#else
    crier_test::redis_server redis;
    server_process refusing(redis, "refusing", "refuse");
    server_process alone(redis, "alone", "local");
    const std::string path = "/api/realtime/events?user=u1&channel=horses";
    crier::test::sse_stream on_refusing(refusing.port(), path);
    crier::test::sse_stream on_alone(alone.port(), path);
    ASSERT_TRUE(on_refusing.wait_for_events(1));
    ASSERT_TRUE(on_alone.wait_for_events(1));

    redis.stop();
    for (const server_process* n : {&refusing, &alone}) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (
            crier::test::request(n->port(), "GET", "/api/realtime/health").body.find("degraded") ==
                std::string::npos &&
            std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(10ms);
        }
    }
    const auto refused = publish(refusing, "r0");
    EXPECT_EQ(refused.status(), 503) << refused.body;
    EXPECT_EQ(refused.head.header("retry-after"), "1");
    const auto local = publish(alone, "l0");
    EXPECT_EQ(local.status(), 200) << local.body;
    EXPECT_NE(local.body.find(R"("scope":"local")"), std::string::npos) << local.body;
    ASSERT_TRUE(on_alone.wait_for_events(2));
    EXPECT_EQ(on_alone.events()[1].data, "l0");
    EXPECT_FALSE(on_refusing.wait_for_events(2, 200ms));

    redis.start();  // empty: both streams hear that events may be gone, once
    ASSERT_TRUE(on_alone.wait_for_events(3));
    EXPECT_EQ(on_alone.events()[2].type, "resync");
    ASSERT_TRUE(on_refusing.wait_for_events(2));
    EXPECT_EQ(on_refusing.events()[1].type, "resync");
#endif
}

}  // namespace
