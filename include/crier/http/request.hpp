// SPDX-License-Identifier: MIT
// An HTTP/1.1 request as crier's server sees it, and a bounded, incremental request-head parser.
#ifndef CRIER_HTTP_REQUEST_HPP
#define CRIER_HTTP_REQUEST_HPP

#include <crier/config.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crier::http {

/// One parsed request: method, target, headers and (for POST) body. Owns its bytes.
///
/// @par Thread Safety
/// Distinct objects: safe. Shared objects: safe for concurrent reads.
class request {
public:
    /// A request built from parts a host's own HTTP server already parsed (no parsing here):
    /// for crier's router behind Beast, cpp-httplib or any other server. `target` is the path
    /// and query as sent (`/api/realtime/history?since=...`); header names are matched
    /// case-insensitively.
    [[nodiscard]] CRIER_DECL static request from(
        std::string_view method, std::string_view target,
        const std::vector<std::pair<std::string_view, std::string_view>>& headers = {},
        std::string body = {});

    /// The method as sent, e.g. `GET`.
    [[nodiscard]] std::string_view method() const noexcept { return view(method_); }
    /// The request target as sent, e.g. `/api/realtime/events?channel=a`.
    [[nodiscard]] std::string_view target() const noexcept { return view(target_); }
    /// The target's path, percent-decoding not applied.
    [[nodiscard]] std::string_view path() const noexcept;
    /// The target's query string without `?`, or empty.
    [[nodiscard]] std::string_view query() const noexcept;
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    [[nodiscard]] int version_minor() const noexcept { return version_minor_; }

    /// The first header with this name (case-insensitive), value trimmed.
    [[nodiscard]] CRIER_DECL std::optional<std::string_view> header(
        std::string_view name) const noexcept;
    /// The first query parameter with this name, percent-decoded (`+` is a space).
    [[nodiscard]] CRIER_DECL std::optional<std::string> query_param(std::string_view name) const;
    /// Every query parameter with this name, percent-decoded, in order (a value with a
    /// malformed `%` escape left out: compare with query_param_count()).
    [[nodiscard]] CRIER_DECL std::vector<std::string> query_params(std::string_view name) const;
    /// How many query parameters have this name, those with a malformed value included.
    [[nodiscard]] CRIER_DECL std::size_t query_param_count(std::string_view name) const;
    /// True when the Content-Type's media type, before any parameters, is `media_type`
    /// (type and subtype compare case-insensitively: `Application/JSON; charset=utf-8` is
    /// `application/json`). False when there is no Content-Type.
    [[nodiscard]] CRIER_DECL bool content_type_is(std::string_view media_type) const noexcept;
    /// A cookie from the `Cookie` header, value as sent.
    [[nodiscard]] CRIER_DECL std::optional<std::string_view> cookie(
        std::string_view name) const noexcept;
    /// True unless the client asked to close (or spoke HTTP/1.0 without keep-alive).
    [[nodiscard]] CRIER_DECL bool keep_alive() const noexcept;
    /// The Content-Length, 0 when absent.
    [[nodiscard]] std::size_t content_length() const noexcept { return content_length_; }
    /// True when the body came with `Transfer-Encoding: chunked` (the embedded server decodes
    /// it, within the same max_body_bytes, before routing: body() is the decoded body).
    [[nodiscard]] bool chunked() const noexcept { return chunked_; }
    /// True when the client waits for `100 Continue` before sending its body
    /// (`Expect: 100-continue` on an HTTP/1.1 request that has one).
    [[nodiscard]] CRIER_DECL bool expects_continue() const noexcept;

    /// The body (complete: the server reads it all before routing).
    [[nodiscard]] std::string_view body() const noexcept { return body_; }
    /// Replaces the body (a host adapter filling in what its server read).
    void set_body(std::string body) { body_ = std::move(body); }
    /// Replaces the body with a copy of `body`, into the buffer the request already has (a
    /// server reading request after request into one object allocates no body each time).
    void assign_body(std::string_view body) { body_.assign(body); }

    /// The peer's address as text, set by the server.
    [[nodiscard]] const std::string& remote_address() const noexcept { return remote_; }
    /// Sets the peer's address (a host adapter, from its own socket).
    void set_remote_address(std::string address) { remote_ = std::move(address); }

    /// Headers in order, as (name, value) views into the request.
    [[nodiscard]] std::vector<std::pair<std::string_view, std::string_view>> headers() const;

private:
    friend class request_parser;
    struct span {
        std::size_t pos = 0;
        std::size_t len = 0;
    };
    [[nodiscard]] std::string_view view(span s) const noexcept {
        return std::string_view(head_).substr(s.pos, s.len);
    }
    /// Empty, as default-constructed, but keeping the buffers' capacity.
    void clear() noexcept {
        head_.clear();
        method_ = {};
        target_ = {};
        headers_.clear();
        version_minor_ = 1;
        content_length_ = 0;
        chunked_ = false;
        body_.clear();
        remote_.clear();
    }

    std::string head_;
    span method_;
    span target_;
    std::vector<std::pair<span, span>> headers_;
    int version_minor_ = 1;
    std::size_t content_length_ = 0;
    bool chunked_ = false;
    std::string body_;
    std::string remote_;
};

/// The outcome of feeding bytes to a request_parser.
enum class parse_result {
    incomplete,  ///< need more bytes
    complete,    ///< the head is complete; the request is ready (body follows separately)
    error,       ///< malformed or over a limit; see request_parser::error_status()
};

/// Parses request heads incrementally with a hard size bound.
class request_parser {
public:
    /// `max_head_bytes` bounds the request line plus headers (over it: 431).
    explicit request_parser(std::size_t max_head_bytes = 8192) noexcept
        : max_head_(max_head_bytes) {}

    /// Looks for a complete head at the start of `buffer` (which accumulates socket reads). On
    /// `complete`, fills `out` (reusing its buffers) and sets consumed() to the head's length;
    /// on `error`, empties `out`; on `incomplete`, leaves it alone.
    CRIER_DECL parse_result parse(std::string_view buffer, request& out);

    /// Bytes of `buffer` the completed head occupied.
    [[nodiscard]] std::size_t consumed() const noexcept { return consumed_; }
    /// On error: the HTTP status to answer with (400, 431, 501 or 505).
    [[nodiscard]] int error_status() const noexcept { return status_; }
    /// On error: what was wrong, for the JSON error body.
    [[nodiscard]] std::string_view error_message() const noexcept { return message_; }

private:
    /// Parses a complete head (without its final empty line) into `r`.
    CRIER_DECL parse_result parse_head(std::string_view text, request& r);
    parse_result fail(int status, std::string_view message) noexcept {
        status_ = status;
        message_ = message;
        return parse_result::error;
    }

    std::size_t max_head_;
    std::size_t consumed_ = 0;
    int status_ = 0;
    std::string_view message_;
};

/// Decodes `%XX` escapes and `+`; nullopt for a malformed escape.
[[nodiscard]] CRIER_DECL std::optional<std::string> percent_decode(std::string_view text);

}  // namespace crier::http

#if defined(CRIER_HEADER_ONLY)
#    include <crier/http/impl/request.ipp>
#endif

#endif
