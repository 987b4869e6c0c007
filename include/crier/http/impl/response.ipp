// SPDX-License-Identifier: MIT
// Definitions for crier/http/response.hpp.
#ifndef CRIER_HTTP_IMPL_RESPONSE_IPP
#define CRIER_HTTP_IMPL_RESPONSE_IPP

#include <crier/detail/json.hpp>
#include <crier/http/response.hpp>

#include <fmt/format.h>

namespace crier::http {

CRIER_DECL std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 100:
            return "Continue";
        case 101:
            return "Switching Protocols";
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 202:
            return "Accepted";
        case 203:
            return "Non-Authoritative Information";
        case 204:
            return "No Content";
        case 205:
            return "Reset Content";
        case 206:
            return "Partial Content";
        case 300:
            return "Multiple Choices";
        case 301:
            return "Moved Permanently";
        case 302:
            return "Found";
        case 303:
            return "See Other";
        case 304:
            return "Not Modified";
        case 307:
            return "Temporary Redirect";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 402:
            return "Payment Required";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 406:
            return "Not Acceptable";
        case 407:
            return "Proxy Authentication Required";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 410:
            return "Gone";
        case 411:
            return "Length Required";
        case 412:
            return "Precondition Failed";
        case 413:
            return "Content Too Large";
        case 414:
            return "URI Too Long";
        case 415:
            return "Unsupported Media Type";
        case 416:
            return "Range Not Satisfiable";
        case 417:
            return "Expectation Failed";
        case 421:
            return "Misdirected Request";
        case 422:
            return "Unprocessable Content";
        case 425:
            return "Too Early";
        case 426:
            return "Upgrade Required";
        case 428:
            return "Precondition Required";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 451:
            return "Unavailable For Legal Reasons";
        case 500:
            return "Internal Server Error";
        case 501:
            return "Not Implemented";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Unknown";
    }
}

CRIER_DECL response json_error(int status, std::string_view code, std::string_view message) {
    response r;
    r.status = status;
    r.body =
        fmt::format(R"({{"error":{{"status":{},"code":{},"message":{}}}}})"
                    "\n",
                    status, crier::detail::json_string(code), crier::detail::json_string(message));
    return r;
}

namespace detail {

// Everything up to the framing headers, which differ between a complete response and a stream.
// `HTTP/1.1 200 OK\r\n`: every response's first line, interim ones included.
inline void append_status_line(std::string& out, int status) {
    // Plain appends: every publish's answer goes through here, and formatting through a
    // back_insert_iterator cost more than the rest of the head together.
    out.append("HTTP/1.1 ").append(fmt::format_int(status).c_str());
    out.push_back(' ');
    out.append(reason_phrase(status)).append("\r\n");
}

// The last header and the blank line that ends the head.
inline void append_connection(std::string& out, bool keep_alive) {
    out.append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
}

inline void append_head_start(std::string& out, const response& r) {
    append_status_line(out, r.status);
    bool has_cache_control = false;
    for (const auto& [name, value] : r.headers) {
        out.append(name).append(": ").append(value).append("\r\n");
        has_cache_control = has_cache_control || name == "Cache-Control";
    }
    if (!has_cache_control) out.append("Cache-Control: no-store\r\n");
    if (!r.content_type.empty()) out.append("Content-Type: ").append(r.content_type).append("\r\n");
}

}  // namespace detail

CRIER_DECL void serialize(std::string& out, const response& r, bool keep_alive, bool head_only) {
    detail::append_head_start(out, r);
    // 204 and 304 have no body, and a 204 must not say Content-Length (RFC 9110, 8.6).
    const bool bodiless = r.status == 204 || r.status == 304;
    if (!bodiless) {
        out.append("Content-Length: ").append(fmt::format_int(r.body.size()).c_str());
        out.append("\r\n");
    }
    detail::append_connection(out, keep_alive && !r.close);
    if (!bodiless && !head_only) out.append(r.body);
}

CRIER_DECL void serialize_interim(std::string& out, int status) {
    detail::append_status_line(out, status);
    out.append("\r\n");
}

CRIER_DECL void serialize_stream_head(std::string& out, const response& r, bool keep_alive) {
    detail::append_head_start(out, r);
    detail::append_connection(out, keep_alive);
}

}  // namespace crier::http

#endif
