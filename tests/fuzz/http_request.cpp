// SPDX-License-Identifier: MIT
// The HTTP request-head parser fed as the server feeds it (a buffer that accumulates reads, heads
// then Content-Length or chunked bodies, pipelined) under arbitrary chunking. Oracle: the same
// requests and the same error as one whole read, nothing read past the bytes received, and no
// body over its bound.
#include <crier/client/chunked_decoder.hpp>
#include <crier/http/request.hpp>

#include <string>

#include "fuzz_support.hpp"

namespace {

struct seen {
    std::string method, target, body;
    int version_minor = 0;
    bool keep_alive = false;
    std::vector<std::pair<std::string, std::string>> headers;
    friend bool operator==(const seen&, const seen&) = default;
};

struct outcome {
    std::vector<seen> requests;
    int error_status = 0;
    std::string error_message;
};

// What connection.hpp's parse_next() does with the bytes a connection reads.
outcome run(std::size_t max_head, std::size_t max_body,
            const std::vector<std::string_view>& reads) {
    crier::http::request_parser parser(max_head);
    crier::http::request request;
    crier::client::chunked_decoder chunked;
    std::string chunked_body;
    outcome out;
    std::string in;
    bool have_head = false;
    for (const auto read : reads) {
        in.append(read);
        for (;;) {
            if (!have_head) {
                if (in.empty()) break;
                const auto r = parser.parse(in, request);
                if (r == crier::http::parse_result::incomplete) break;
                if (r == crier::http::parse_result::error) {
                    CRIER_FUZZ_CHECK(parser.error_status() >= 400 && parser.error_status() < 600);
                    out.error_status = parser.error_status();
                    out.error_message = parser.error_message();
                    return out;
                }
                CRIER_FUZZ_CHECK(parser.consumed() > 0 && parser.consumed() <= in.size());
                CRIER_FUZZ_CHECK(parser.consumed() <= max_head);
                have_head = true;
                in.erase(0, parser.consumed());
                if (request.content_length() > max_body) {
                    out.error_status = 413;
                    return out;
                }
                CRIER_FUZZ_CHECK(!request.chunked() || request.content_length() == 0);
                chunked.reset();
                chunked_body.clear();
            }
            if (request.chunked()) {
                bool over = false;
                std::size_t consumed = 0;
                const auto ec = chunked.decode(in, consumed, [&](std::string_view d) {
                    if (over || d.size() > max_body - chunked_body.size()) {
                        over = true;
                    } else {
                        chunked_body.append(d);
                    }
                });
                CRIER_FUZZ_CHECK(consumed <= in.size());
                in.erase(0, consumed);
                if (over) {
                    out.error_status = 413;
                    return out;
                }
                if (ec) {
                    out.error_status = 400;
                    return out;
                }
                if (!chunked.done()) break;
                request.set_body(chunked_body);
            } else {
                if (in.size() < request.content_length()) break;
                request.set_body(in.substr(0, request.content_length()));
                in.erase(0, request.content_length());
            }
            CRIER_FUZZ_CHECK(request.body().size() <= max_body);
            have_head = false;
            seen s{std::string(request.method()), std::string(request.target()),
                   std::string(request.body()),   request.version_minor(),
                   request.keep_alive(),          {}};
            for (const auto& [n, v] : request.headers()) s.headers.emplace_back(n, v);
            // Accessors must stay within the request's own bytes whatever it holds.
            (void)request.path();
            (void)request.query();
            (void)request.query_params("channel");
            (void)request.cookie("token");
            out.requests.push_back(std::move(s));
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider fdp(data, size);
    const std::size_t max_head = fdp.ConsumeBool() ? 8192 : fdp.ConsumeIntegralInRange(16, 512);
    const std::size_t max_body = fdp.ConsumeIntegralInRange<std::size_t>(0, 4096);
    const std::string bytes = fdp.ConsumeRandomLengthString(size);
    const auto reads = crier::fuzz::split(bytes, fdp);
    const outcome whole = run(max_head, max_body, {bytes});
    for (const outcome& o :
         {run(max_head, max_body, reads), run(max_head, max_body, crier::fuzz::bytewise(bytes))}) {
        CRIER_FUZZ_CHECK(o.requests == whole.requests);
        CRIER_FUZZ_CHECK(o.error_status == whole.error_status);
        CRIER_FUZZ_CHECK(o.error_message == whole.error_message);
    }
    return 0;
}
