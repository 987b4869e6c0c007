// SPDX-License-Identifier: MIT
// crier::client::event_source over https:// (CRIER_ENABLE_SSL): certificate and host name
// verification against a local TLS server with a self-signed certificate.
#include <crier/client/event_source.hpp>

#include <asio/ssl.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "../test_server.hpp"

#if !defined(CRIER_ENABLE_SSL)
#    error "this test is built with CRIER_ENABLE_SSL"
#endif

namespace {

namespace client = crier::client;
using namespace crier_test;

// Self-signed for DNS:localhost and IP:127.0.0.1, valid 2000-2199 (openssl ca -selfsign).
constexpr const char* certificate = R"(-----BEGIN CERTIFICATE-----
MIIBczCCARqgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjE5OTEyMzEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOwvXzTVqvJGWIpv
7vnYys7l6Fw9n32t3E4X9s4EeUinih9BS5ZfjapnjALRCnMvv1N776NMKWg0grFY
/vajIJGjWzBZMBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAPBgNVHRMBAf8E
BTADAQH/MAsGA1UdDwQEAwIChDAdBgNVHQ4EFgQUZqpuWaZmmINPGntHSaDw9oIU
9FowCgYIKoZIzj0EAwIDRwAwRAIgb8j5GttIU+mEZIBAFun7xjpzA2EFQOsbIVVZ
39YJX5ICIDauYcn8JQjM3DVgJHf7Hz+LW1Ddb3NDcRd7KO6m7WuR
-----END CERTIFICATE-----
)";
constexpr const char* private_key = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEz9R25ofynWZ6tU/
ANSQZK2AgveYZfTYSkE+W81cRz2hRANCAATsL1801aryRliKb+752MrO5ehcPZ99
rdxOF/bOBHlIp4ofQUuWX42qZ4wC0QpzL79Te++jTCloNIKxWP72oyCR
-----END PRIVATE KEY-----
)";

/// Answers every TLS connection with one event carrying the request's Host header.
class tls_server {
public:
    explicit tls_server(std::string_view address = "127.0.0.1")
        : tls_(asio::ssl::context::tls_server),
          acceptor_(ioc_, {asio::ip::make_address(address), 0}) {
        tls_.use_certificate_chain(asio::buffer(std::string_view(certificate)));
        tls_.use_private_key(asio::buffer(std::string_view(private_key)), asio::ssl::context::pem);
        asio::co_spawn(ioc_, accept_loop(), asio::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~tls_server() {
        ioc_.stop();
        thread_.join();
    }
    [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    recorder<std::string> hosts;  // the Host header of each request served

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto socket = co_await acceptor_.async_accept(asio::use_awaitable);
            asio::co_spawn(ioc_, serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
        try {
            asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), tls_);
            co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
            std::string head;
            co_await asio::async_read_until(stream, asio::dynamic_buffer(head), "\r\n\r\n",
                                            asio::use_awaitable);
            std::string host;
            if (const auto at = head.find("\r\nHost: "); at != std::string::npos) {
                host = head.substr(at + 8, head.find("\r\n", at + 8) - at - 8);
            }
            hosts.add(host);
            const std::string response = sse_head() + frame("s-1", "secure:hello", host);
            co_await asio::async_write(stream, asio::buffer(response), asio::use_awaitable);
            char buffer[64];
            for (;;) co_await stream.async_read_some(asio::buffer(buffer), asio::use_awaitable);
        } catch (const std::exception&) {
        }
    }

    asio::io_context ioc_;
    asio::ssl::context tls_;
    asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
};

/// The certificate in a temporary file, for options.tls_ca_file.
class ca_file {
public:
    ca_file()
        : path_(std::filesystem::temp_directory_path() /
                ("crier-test-ca-" + std::to_string(std::random_device{}()) + ".pem")) {
        std::ofstream(path_) << certificate;
    }
    ~ca_file() {
        std::error_code ignored;
        std::filesystem::remove(path_, ignored);
    }
    [[nodiscard]] std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

struct outcome {
    std::vector<std::string> data;
    std::vector<client::state_change> states;
};

/// Connects to `url` until one event (or, with `states_wanted`, that many state changes)
/// arrived, or `wait` passes.
outcome listen(const std::string& url, client::event_source_options options,
               std::chrono::milliseconds wait = 5s, std::size_t states_wanted = 0) {
    client_runner runner;
    recorder<std::string> data;
    recorder<client::state_change> states;
    options.initial_retry = 10ms;
    options.jitter = [] { return 1.0; };
    client::event_source es(runner.ioc, url, std::move(options));
    es.on("*", [&](const client::event& e) { data.add(std::string(e.data)); });
    es.on_state([&](const client::state_change& s) { states.add(s); });
    es.start();
    if (states_wanted != 0) {
        states.wait_count(states_wanted, wait);
    } else {
        data.wait_count(1, wait);
    }
    es.close();
    return {data.values(), states.values()};
}

TEST(event_source_tls, verifies_the_certificate_and_host_name) {
    tls_server server;
    const ca_file ca;
    const std::string port = std::to_string(server.port());
    const auto by_name =
        listen("https://localhost:" + port + "/events", {.tls_ca_file = ca.path()});
    EXPECT_EQ(by_name.data, (std::vector<std::string>{"localhost:" + port}));
    const auto by_ip = listen("https://127.0.0.1:" + port + "/events", {.tls_ca_file = ca.path()});
    EXPECT_EQ(by_ip.data, (std::vector<std::string>{"127.0.0.1:" + port}));
}

TEST(event_source_tls, an_untrusted_certificate_is_a_network_error) {
    tls_server server;
    const std::string port = std::to_string(server.port());
    // The system's trust store does not know the test certificate.
    // Waits for the failed attempt itself, not a fixed time: a loaded machine or TSan can take
    // longer than a few hundred milliseconds for the handshake.
    const auto result = listen("https://localhost:" + port + "/events", {}, 10s, 2);
    EXPECT_TRUE(result.data.empty());
    EXPECT_EQ(server.hosts.size(), 0u);  // no request was sent
    ASSERT_GE(result.states.size(), 2u);
    EXPECT_EQ(result.states[1].state, client::ready_state::connecting);
    EXPECT_TRUE(result.states[1].error) << "handshake should fail";
    EXPECT_STREQ(result.states[1].error.category().name(), "asio.ssl");
}

TEST(event_source_tls, a_wrong_host_name_is_refused) {
    // The certificate names localhost and 127.0.0.1, not 127.0.0.2 (also loopback on Linux).
    std::unique_ptr<tls_server> server;
    try {
        server = std::make_unique<tls_server>("127.0.0.2");
    } catch (const std::exception&) {
        GTEST_SKIP() << "127.0.0.2 is not a loopback address here";
    }
    const ca_file ca;
    const auto result = listen("https://127.0.0.2:" + std::to_string(server->port()) + "/events",
                               {.tls_ca_file = ca.path()}, 300ms);
    EXPECT_TRUE(result.data.empty());
    EXPECT_EQ(server->hosts.size(), 0u);
    ASSERT_GE(result.states.size(), 2u);
    EXPECT_STREQ(result.states[1].error.category().name(), "asio.ssl");
}

TEST(event_source_tls, verification_can_be_turned_off) {
    tls_server server;
    const auto result = listen("https://localhost:" + std::to_string(server.port()) + "/events",
                               {.tls_verify_peer = false});
    EXPECT_EQ(result.data.size(), 1u);
}

}  // namespace
