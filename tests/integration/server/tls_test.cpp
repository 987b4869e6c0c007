// SPDX-License-Identifier: MIT
// HTTPS: the TLS listener handshakes and hands streams to the embedded server; a TLS client
// receives the `connected` event and a published event. The certificate is made in the test.
#include <crier/adapters/tls.hpp>

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "integration/support/test_certificate.hpp"

namespace {

using namespace std::chrono_literals;

using crier::test::certificate;
using crier::test::make_certificate;

// A server-side TLS context presenting `cert`.
asio::ssl::context server_context(const certificate& cert) {
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.use_certificate_chain(asio::buffer(cert.cert_pem));
    ctx.use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
    return ctx;
}

TEST(tls_listener, serves_sse_over_https) {
    asio::ssl::context server_ctx = server_context(make_certificate());

    crier::hub hub;
    crier::adapters::http_server server(hub, {.port = 0, .threads = 2});
    server.start();
    crier::adapters::tls_listener tls(server, server_ctx, {.port = 0});
    tls.start();

    asio::io_context io;
    asio::ssl::context client_ctx(asio::ssl::context::tls_client);
    client_ctx.set_verify_mode(asio::ssl::verify_none);
    asio::ssl::stream<asio::ip::tcp::socket> client(io, client_ctx);
    client.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), tls.port()});
    client.handshake(asio::ssl::stream_base::client);
    const std::string request =
        "GET /api/realtime/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n";
    asio::write(client, asio::buffer(request));

    std::string received;
    char buf[4096];
    // Read asynchronously, bounded in time, until `text` shows up.
    auto read_until = [&](std::string_view text) {
        bool done = received.find(text) != std::string::npos;
        std::function<void()> next = [&] {
            client.async_read_some(asio::buffer(buf), [&](std::error_code ec, std::size_t n) {
                received.append(buf, n);
                if (ec || received.find(text) != std::string::npos) {
                    done = true;
                    return;
                }
                next();
            });
        };
        if (!done) next();
        io.restart();
        io.run_for(5s);
        return received.find(text) != std::string::npos;
    };
    ASSERT_TRUE(read_until("event: connected")) << received;
    EXPECT_EQ(received.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
    EXPECT_NE(received.find("Content-Type: text/event-stream\r\n"), std::string::npos);
    ASSERT_FALSE(hub.publish("global", "system:notice", "over tls").error);
    ASSERT_TRUE(read_until("data: over tls\n")) << received;

    tls.stop();
    server.stop();
}

TEST(tls_listener, a_stalled_handshake_is_dropped) {
    asio::ssl::context server_ctx = server_context(make_certificate());
    crier::hub hub;
    crier::adapters::http_server server(hub, {.port = 0, .threads = 1});
    server.start();
    crier::adapters::tls_listener tls(server, server_ctx, {.port = 0, .handshake_timeout = 200ms});
    tls.start();
    asio::io_context io;
    asio::ip::tcp::socket plain(io);
    plain.connect({asio::ip::make_address("127.0.0.1"), tls.port()});
    // Say nothing: the server must give up on us.
    char byte;
    std::error_code ec;
    bool closed = false;
    plain.async_read_some(asio::buffer(&byte, 1), [&](std::error_code e, std::size_t) {
        ec = e;
        closed = true;
    });
    io.run_for(3s);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    tls.stop();
    server.stop();
}

}  // namespace
