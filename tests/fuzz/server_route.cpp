// SPDX-License-Identifier: MIT
// The embedded server's routing, without sockets: POST publish with the fuzz input as its JSON
// body, GET history and GET events with fuzzed queries. Oracles: never crashes; every response
// serialises to one well-formed HTTP/1.1 message whose Content-Length is its body's size; every
// refusal carries a JSON error body naming its status.
#include <crier/adapters/detail/server_state.hpp>
#include <crier/core/hub.hpp>
#include <crier/http/request.hpp>
#include <crier/http/response.hpp>

#include <simdjson.h>

#include <charconv>
#include <cstdio>
#include <string>

#include "fuzz_support.hpp"

namespace {

crier::adapters::detail::server_state& state() {
    // One hub for the whole run, as a server has: history, dedup and ids carry across inputs.
    static crier::hub hub({.history_size = 16, .rate_limit = 0});
    static crier::adapters::detail::server_state s(
        hub, {.authenticate =
                  [](const crier::http::request& r) -> std::optional<crier::adapters::principal> {
            // The input picks who calls: the anonymous, a publisher, or someone refused.
            const auto who = r.header("x-who").value_or("");
            if (who == "nobody") return std::nullopt;
            if (who == "anon") return crier::adapters::principal{};
            return crier::adapters::principal{.user_id = "u1", .admin = true, .publisher = true};
        }});
    return s;
}

void check_response(const crier::http::response& r) {
    std::string wire;
    crier::http::serialize(wire, r, true);
    const auto head_end = wire.find("\r\n\r\n");
    CRIER_FUZZ_CHECK(head_end != std::string::npos);
    CRIER_FUZZ_CHECK(wire.starts_with("HTTP/1.1 " + std::to_string(r.status) + " "));
    const std::string_view head = std::string_view(wire).substr(0, head_end + 2);
    const std::string_view body = std::string_view(wire).substr(head_end + 4);
    CRIER_FUZZ_CHECK(body == r.body);
    // At most one Content-Length, equal to the body's size; no bare CR or LF inside the head.
    std::size_t lengths = 0;
    for (std::size_t pos = head.find("\r\n") + 2; pos < head.size();) {
        const auto eol = head.find("\r\n", pos);
        CRIER_FUZZ_CHECK(eol != std::string_view::npos);
        const std::string_view line = head.substr(pos, eol - pos);
        CRIER_FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos);
        const auto colon = line.find(':');
        CRIER_FUZZ_CHECK(colon != std::string_view::npos && colon > 0);
        std::string name(line.substr(0, colon));
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name == "content-length") {
            ++lengths;
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            std::size_t n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            CRIER_FUZZ_CHECK(ec == std::errc{} && end == value.data() + value.size());
            CRIER_FUZZ_CHECK(n == body.size());
        }
        pos = eol + 2;
    }
    // 204 and 304 carry none (RFC 9110, 8.6); every other response exactly one.
    CRIER_FUZZ_CHECK(lengths == (r.status == 204 || r.status == 304 ? 0u : 1u));
    if (r.status >= 400) {
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        if (parser.parse(r.body).get(doc)) {
            std::fprintf(stderr, "status %d, body not JSON: %s\n", r.status, r.body.c_str());
            CRIER_FUZZ_CHECK(!"a refusal's body is JSON");
        }
        std::int64_t status = 0;
        CRIER_FUZZ_CHECK(!doc["error"]["status"].get_int64().get(status) && status == r.status);
        CRIER_FUZZ_CHECK(!doc["error"]["code"].get_string().error());
    }
}

// A request as the server's parser would make it; nullopt when the head itself is refused.
std::optional<crier::http::request> make_request(const std::string& head, std::string body) {
    crier::http::request_parser parser;
    crier::http::request r;
    if (parser.parse(head, r) != crier::http::parse_result::complete) return std::nullopt;
    r.set_body(std::move(body));
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    const char* who[] = {"admin", "anon", "nobody"};
    const std::string caller = who[fdp.ConsumeIntegralInRange(0, 2)];
    const std::string query = fdp.ConsumeRandomLengthString(256);
    const std::string body = fdp.ConsumeRemainingBytesAsString();
    auto& s = state();

    if (const auto publish = make_request(
            "POST /api/realtime/publish HTTP/1.1\r\nContent-Type: application/json\r\nX-Who: " +
                caller + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n",
            body)) {
        auto result = s.route(*publish);
        CRIER_FUZZ_CHECK(!result.stream);
        check_response(result.response);
    }
    for (const char* route : {"history", "events"}) {
        const auto get = make_request(std::string("GET /api/realtime/") + route + "?" + query +
                                          " HTTP/1.1\r\nX-Who: " + caller + "\r\n\r\n",
                                      "");
        if (!get) continue;
        auto result = s.route(*get);
        if (result.stream) {
            // Opened as every transport opens it: the head is a response too (no
            // Content-Length, no CR or LF smuggled in), and a refusal a complete response.
            auto opened = s.streams().open(std::move(*result.stream), nullptr);
            if (opened.error) {
                check_response(opened.refusal);
            } else {
                std::string head;
                crier::http::serialize_stream_head(head, opened.head);
                CRIER_FUZZ_CHECK(head.starts_with("HTTP/1.1 200 "));
                CRIER_FUZZ_CHECK(head.find("Content-Length") == std::string::npos);
                CRIER_FUZZ_CHECK(opened.preamble.starts_with("retry: 3000\n"));
            }
        } else {
            check_response(result.response);
        }
    }
    return 0;
}
