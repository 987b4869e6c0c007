// SPDX-License-Identifier: MIT
// The Beast adapter against real Boost.Beast: the example's server (examples/beast_host) with
// the contract's Bearer auth, its own route beside crier's on one port, the completion
// handler's reasons, the translations, and streams over a plain Boost.Asio socket and over
// beast::ssl_stream.
#include <crier/adapters/beast.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "beast/beast_kind.hpp"
#include "beast_host/beast_host.hpp"
#include "support/raw_client.hpp"

#if defined(CRIER_TEST_BEAST_SSL)
#    include <boost/asio/ssl.hpp>
#    include <boost/beast/ssl.hpp>

#    include "support/test_certificate.hpp"
#endif

namespace {

using namespace std::chrono_literals;
using crier::test::raw_connection;
using crier::test::sse_stream;

// The end reasons the host's completion handler saw, in order.
class reasons {
public:
    void add(std::error_code ec) {
        std::lock_guard lock(mutex_);
        seen_.push_back(ec);
        cv_.notify_all();
    }
    // Waits for the `n`th reason (1-based); a default error_code if none came in time.
    std::error_code wait(std::size_t n, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
        return seen_.size() >= n ? seen_[n - 1] : std::error_code{};
    }
    std::size_t size() {
        std::lock_guard lock(mutex_);
        return seen_.size();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::error_code> seen_;
};

/// The example's Beast server on an ephemeral port, its io_context run by one host thread,
/// authenticated with the contract's Bearer header read from Beast's own request.
class beast_transport final : public crier::test::transport {
public:
    explicit beast_transport(const crier::test::contract_config& config)
        : hub_(config.hub),
          streams_(hub_, config.streams),
          host_(io_, streams_, crier::test::contract_router_options(), &authenticate, 0) {
        host_.on_stream_end([this](std::error_code why) { ended.add(why); });
        thread_ = std::thread([this] { io_.run(); });
    }

    ~beast_transport() override {
        host_.stop();
        streams_.close_all();
        // Every stream must have ended on its own executor before the io_context stops.
        for (int i = 0; i < 500 && streams_.active() != 0; ++i) std::this_thread::sleep_for(10ms);
        io_.stop();
        thread_.join();
    }

    [[nodiscard]] std::uint16_t port() const override { return host_.port(); }
    [[nodiscard]] crier::hub& hub() override { return hub_; }
    [[nodiscard]] std::size_t active_streams() const override { return streams_.active(); }

    reasons ended;

private:
    static std::optional<crier::adapters::principal> authenticate(
        const crier_example::beast_host::request_type& req) {
        const auto it = req.find(boost::beast::http::field::authorization);
        if (it == req.end()) return std::nullopt;
        const auto user =
            crier::test::user_of(std::string_view(it->value().data(), it->value().size()));
        if (!user) return std::nullopt;
        return crier::test::principal_for(*user);
    }

    crier::hub hub_;
    crier::adapters::stream_service streams_;
    boost::asio::io_context io_;
    crier_example::beast_host host_;
    std::thread thread_;
};

}  // namespace

crier::test::transport_kind crier::test::beast_kind() {
    return {"beast", [](const contract_config& c) -> std::unique_ptr<transport> {
                return std::make_unique<beast_transport>(c);
            }};
}

namespace {

const std::string events = "/api/realtime/events";
const std::string bearer_u1 = "Authorization: Bearer u1";

bool wait_until(auto&& done, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// The session closes and tunes the TCP socket under whatever stream it is given.
template <class Stream>
using lowest_socket_t =
    std::remove_cvref_t<decltype(crier::adapters::detail::lowest_socket(std::declval<Stream&>()))>;
static_assert(
    std::is_same_v<lowest_socket_t<boost::beast::tcp_stream>, boost::asio::ip::tcp::socket>);
static_assert(
    std::is_same_v<lowest_socket_t<boost::asio::ip::tcp::socket>, boost::asio::ip::tcp::socket>);

TEST(beast_adapter, hello_and_crier_routes_share_one_port) {
    beast_transport t({});
    sse_stream stream(t.port(), events + "?channel=news", {bearer_u1});
    ASSERT_EQ(stream.head().status, 200);
    EXPECT_EQ(stream.head().header("content-type"), "text/event-stream");
    ASSERT_TRUE(stream.wait_for_events(1));
    EXPECT_EQ(stream.events()[0].type, "connected");
    EXPECT_NE(stream.raw().find("retry: 3000\n"), std::string::npos);

    // The host's own route, on the same port, while the stream is open.
    const auto hello = crier::test::request(t.port(), "GET", "/hello");
    EXPECT_EQ(hello.status(), 200);
    EXPECT_EQ(hello.body, "hello");
    EXPECT_EQ(crier::test::request(t.port(), "GET", "/nope").status(), 404);
    EXPECT_EQ(crier::test::request(t.port(), "GET", events).status(), 401);

    // Publish through the router, as the admin, with the embedded server's JSON body.
    const auto published =
        crier::test::request(t.port(), "POST", "/api/realtime/publish",
                             {"Authorization: Bearer admin", "Content-Type: application/json"},
                             R"({"channel":"news","type":"news:posted","data":{"n":1}})");
    EXPECT_EQ(published.status(), 200) << published.body;
    ASSERT_TRUE(stream.wait_for_events(2));
    EXPECT_EQ(stream.events()[1].type, "news:posted");
    EXPECT_EQ(stream.events()[1].data, R"({"n":1})");

    const auto history =
        crier::test::request(t.port(), "GET", "/api/realtime/history?channel=news", {bearer_u1});
    EXPECT_EQ(history.status(), 200);
    EXPECT_NE(history.body.find("news:posted"), std::string::npos) << history.body;
    EXPECT_EQ(t.active_streams(), 1u);
}

TEST(beast_adapter, keep_alive_requests_then_a_stream_on_one_connection) {
    beast_transport t({});
    raw_connection c(t.port());
    std::string buffer;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
        const auto r = crier::test::read_reply(c, buffer);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->body, "hello");
    }
    ASSERT_TRUE(c.send("GET " + events + " HTTP/1.1\r\nHost: t\r\n" + bearer_u1 + "\r\n\r\n"));
    ASSERT_TRUE(c.read_until(
        buffer, [](std::string& b) { return b.find("event: connected") != std::string::npos; }));
    EXPECT_TRUE(buffer.starts_with("HTTP/1.1 200 OK\r\n")) << buffer;
}

TEST(beast_adapter, reason_is_peer_closed_when_the_client_goes) {
    beast_transport t({});
    {
        sse_stream stream(t.port(), events, {bearer_u1});
        ASSERT_TRUE(stream.wait_for_events(1));
        ASSERT_EQ(t.active_streams(), 1u);
    }
    EXPECT_EQ(t.ended.wait(1), crier::errc::peer_closed);
    EXPECT_TRUE(wait_until([&] { return t.active_streams() == 0; }));
    // The user's slot is free again: the per-user limit (3) admits three new streams.
    std::vector<std::unique_ptr<sse_stream>> again;
    for (int i = 0; i < 3; ++i) {
        again.push_back(std::make_unique<sse_stream>(t.port(), events, std::vector{bearer_u1}));
        EXPECT_EQ(again.back()->head().status, 200);
    }
}

TEST(beast_adapter, reason_is_disconnected_on_disconnect_user) {
    beast_transport t({});
    sse_stream mine(t.port(), events, {bearer_u1});
    sse_stream other(t.port(), events, {"Authorization: Bearer u2"});
    ASSERT_TRUE(mine.wait_for_events(1));
    ASSERT_TRUE(other.wait_for_events(1));
    EXPECT_EQ(t.hub().disconnect_user("u1"), 1u);
    EXPECT_TRUE(mine.wait_for_eof());
    EXPECT_EQ(t.ended.wait(1), crier::errc::disconnected);
    EXPECT_EQ(t.ended.size(), 1u);
    EXPECT_TRUE(other.poll());  // u2 is still streaming
    EXPECT_EQ(t.active_streams(), 1u);
}

TEST(beast_adapter, reason_is_write_timeout_for_a_stalled_reader) {
    crier::test::contract_config config;
    config.streams.write_timeout = 300ms;
    config.hub.queue_bytes = std::size_t{64}
                             << 20;  // the write deadline, not the queue, must end it
    beast_transport t(config);
    sse_stream stalled(t.port(), events, {bearer_u1}, 4096);
    ASSERT_TRUE(stalled.wait_for_events(1));
    const std::string payload(64 * 1024, 'x');
    // Fill the socket buffers; the reader never reads again.
    for (int i = 0; i < 200 && t.ended.size() == 0; ++i) {
        (void)t.hub().publish("global", "load:big", payload);
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(t.ended.wait(1), crier::errc::write_timeout);
    EXPECT_TRUE(wait_until([&] { return t.active_streams() == 0; }));
}

TEST(beast_adapter, to_request_carries_method_target_headers_and_body) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req(http::verb::post, "/api/realtime/publish?x=a%20b", 11);
    req.set(http::field::authorization, "Bearer ann");
    req.insert("X-Custom", "one");
    req.body() = R"({"a":1})";
    const auto r = crier::adapters::beast::to_request(req);
    EXPECT_EQ(r.method(), "POST");
    EXPECT_EQ(r.target(), "/api/realtime/publish?x=a%20b");
    EXPECT_EQ(r.path(), "/api/realtime/publish");
    EXPECT_EQ(r.query_param("x"), "a b");
    EXPECT_EQ(r.header("authorization"), "Bearer ann");
    EXPECT_EQ(r.header("x-custom"), "one");
    EXPECT_EQ(r.body(), R"({"a":1})");

    http::request<http::empty_body> get(http::verb::get, "/e", 11);
    EXPECT_EQ(crier::adapters::beast::to_request(get).body(), "");
    http::request<http::dynamic_body> dynamic(http::verb::post, "/d", 11);
    boost::beast::ostream(dynamic.body()) << "dynamic";
    EXPECT_EQ(crier::adapters::beast::to_request(dynamic).body(), "dynamic");
    http::request<http::vector_body<char>> vector(http::verb::post, "/v", 11);
    vector.body() = {'v', 'e', 'c'};
    EXPECT_EQ(crier::adapters::beast::to_request(vector).body(), "vec");
}

TEST(beast_adapter, to_response_keeps_status_headers_body_and_connection) {
    namespace http = boost::beast::http;
    crier::http::response r = crier::http::json_error(429, "too_many_connections", "limit");
    r.headers.emplace_back("Retry-After", "3");
    auto out = crier::adapters::beast::to_response(r, 11, true);
    EXPECT_EQ(out.result_int(), 429u);
    EXPECT_EQ(out[http::field::content_type], "application/json");
    EXPECT_EQ(out["Retry-After"], "3");
    EXPECT_EQ(out[http::field::cache_control], "no-store");
    EXPECT_EQ(out[http::field::content_length], std::to_string(r.body.size()));
    EXPECT_EQ(out.body(), r.body);
    EXPECT_TRUE(out.keep_alive());

    r.close = true;
    EXPECT_FALSE(crier::adapters::beast::to_response(r, 11, true).keep_alive());
    EXPECT_FALSE(crier::adapters::beast::to_response({}, 10, false).keep_alive());
}

// async_stream over streams the host accepted itself, without Beast's HTTP: the request was
// "parsed" by the test; the bytes on the wire are crier's.
class direct_server {
public:
    direct_server() : streams(hub) {}
    ~direct_server() {
        streams.close_all();
        for (int i = 0; i < 500 && streams.active() != 0; ++i) std::this_thread::sleep_for(10ms);
        work_.reset();
        if (runner_.joinable()) runner_.join();
    }
    /// Runs the io_context on one thread until destruction (after the accept was queued).
    void run() {
        runner_ = std::thread([this] { io.run(); });
    }
    [[nodiscard]] std::uint16_t port() const { return acceptor.local_endpoint().port(); }

    crier::hub hub;
    crier::adapters::stream_service streams;
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
    reasons ended;

private:
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
        boost::asio::make_work_guard(io)};
    std::thread runner_;
};

TEST(beast_adapter, stream_over_a_plain_boost_asio_socket) {
    direct_server s;
    s.acceptor.async_accept([&](boost::system::error_code ec, boost::asio::ip::tcp::socket peer) {
        ASSERT_FALSE(ec);
        // The handler owns the socket: it may destroy the stream (here, when it runs).
        auto socket = std::make_shared<boost::asio::ip::tcp::socket>(std::move(peer));
        crier::adapters::stream_request req;
        req.subscription.channels = {"global"};
        req.headers.emplace_back("X-Host", "plain");
        crier::adapters::beast::async_stream(*socket, s.streams, std::move(req),
                                             [&, socket](std::error_code why) {
                                                 EXPECT_FALSE(socket->is_open());
                                                 s.ended.add(why);
                                             });
    });
    s.run();
    {
        raw_connection c(s.port());
        std::string buffer;
        ASSERT_TRUE(c.read_until(buffer, [](std::string& b) {
            return b.find("event: connected") != std::string::npos;
        }));
        EXPECT_NE(buffer.find("X-Host: plain\r\n"), std::string::npos) << buffer;
        const auto published = s.hub.publish("global", "a:b", "one");
        ASSERT_FALSE(published.error) << published.error.message();
        ASSERT_TRUE(c.read_until(buffer, [](std::string& b) {
            return b.find("event: a:b\ndata: one\n") != std::string::npos;
        })) << buffer;
    }
    EXPECT_EQ(s.ended.wait(1), crier::errc::peer_closed);
}

#if defined(CRIER_TEST_BEAST_SSL)

using crier::test::make_certificate;

TEST(beast_adapter, stream_over_beast_ssl_stream) {
    namespace ssl = boost::asio::ssl;
    using stream_type = boost::beast::ssl_stream<boost::beast::tcp_stream>;
    const auto cert = make_certificate();
    ssl::context server_ctx(ssl::context::tls_server);
    server_ctx.use_certificate_chain(boost::asio::buffer(cert.cert_pem));
    server_ctx.use_private_key(boost::asio::buffer(cert.key_pem), ssl::context::pem);

    direct_server s;
    // lowest_socket() must find the TCP socket under ssl_stream -> tcp_stream.
    static_assert(std::is_same_v<lowest_socket_t<stream_type>, boost::asio::ip::tcp::socket>);
    s.acceptor.async_accept([&](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
        ASSERT_FALSE(ec);
        auto tls = std::make_shared<stream_type>(std::move(socket), server_ctx);
        boost::beast::get_lowest_layer(*tls).expires_after(5s);
        tls->async_handshake(ssl::stream_base::server, [&, tls](boost::system::error_code hec) {
            ASSERT_FALSE(hec) << hec.message();
            boost::beast::get_lowest_layer(*tls).expires_never();
            crier::adapters::stream_request req;
            req.subscription.channels = {"global"};
            crier::adapters::beast::async_stream(
                *tls, s.streams, std::move(req),
                [&, tls](std::error_code why) { s.ended.add(why); });
        });
    });
    s.run();

    // A blocking TLS client on its own io_context.
    boost::asio::io_context client_io;
    ssl::context client_ctx(ssl::context::tls_client);
    ssl::stream<boost::asio::ip::tcp::socket> client(client_io, client_ctx);
    client.next_layer().connect(s.acceptor.local_endpoint());
    client.handshake(ssl::stream_base::client);
    std::string received;
    auto read_until = [&](std::string_view text) {
        char chunk[4096];
        while (received.find(text) == std::string::npos) {
            boost::system::error_code ec;
            const auto n = client.read_some(boost::asio::buffer(chunk), ec);
            if (ec) return false;
            received.append(chunk, n);
        }
        return true;
    };
    ASSERT_TRUE(read_until("event: connected"));
    EXPECT_TRUE(received.starts_with("HTTP/1.1 200 OK\r\n")) << received;
    (void)s.hub.publish("global", "tls:event", "secret data");
    ASSERT_TRUE(read_until("event: tls:event\ndata: secret data\n"));
    s.streams.shutdown();
    EXPECT_EQ(s.ended.wait(1), crier::errc::hub_stopped);
}

#endif

}  // namespace
