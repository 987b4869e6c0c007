// SPDX-License-Identifier: MIT
// HTTP/1.1 responses as crier's server writes them, and the JSON error body every error uses.
#ifndef CRIER_HTTP_RESPONSE_HPP
#define CRIER_HTTP_RESPONSE_HPP

#include <crier/config.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crier::http {

/// A complete (non-streaming) response.
struct response {
    int status = 200;                               ///< e.g. 200, 404
    std::string content_type = "application/json";  ///< the Content-Type header
    /// More headers, in order (the serializer writes the framing headers itself).
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string body{};  ///< complete; its length is counted by the serializer
    /// Close the connection after this response, whatever the request asked.
    bool close = false;
};

/// The reason phrase for a status code ("Too Many Requests" for 429).
[[nodiscard]] CRIER_DECL std::string_view reason_phrase(int status) noexcept;

/// A JSON error response: `{"error":{"status":S,"code":"...","message":"..."}}`.
[[nodiscard]] CRIER_DECL response json_error(int status, std::string_view code,
                                             std::string_view message);

/// Status line, headers (Content-Length, Connection, Cache-Control: no-store unless set) and body.
/// The one place that writes a response head: every response, the stream head included, goes
/// through it, so no length is ever counted by hand. `head_only`: the answer to a HEAD request,
/// the same head (Content-Length included) without the body.
CRIER_DECL void serialize(std::string& out, const response& r, bool keep_alive,
                          bool head_only = false);

/// An interim (1xx) response, e.g. `100 Continue` to a request that sent
/// `Expect: 100-continue`: the status line and the blank line.
CRIER_DECL void serialize_interim(std::string& out, int status);

/// The head of a streaming response (SSE): status line, `r.headers`, Content-Type, no
/// Content-Length, `Connection: keep-alive` (Cache-Control: no-store unless set). `r.body` is
/// not written: the stream's bytes follow. `keep_alive` false (the answer to a HEAD request
/// that asked to close) says `Connection: close`.
CRIER_DECL void serialize_stream_head(std::string& out, const response& r, bool keep_alive = true);

}  // namespace crier::http

#if defined(CRIER_HEADER_ONLY)
#    include <crier/http/impl/response.ipp>
#endif

#endif
