// SPDX-License-Identifier: MIT
// Definitions for crier/client/url.hpp.
#ifndef CRIER_CLIENT_IMPL_URL_IPP
#define CRIER_CLIENT_IMPL_URL_IPP

#include <crier/client/detail/http_text.hpp>
#include <crier/client/url.hpp>

#include <charconv>
#include <vector>

namespace crier::client {
namespace detail {

inline std::uint16_t default_port(std::string_view scheme) noexcept {
    return scheme == "https" ? 443 : 80;
}

/// Appends `s`, percent-encoding what may not appear raw in a request target.
inline void append_target_bytes(std::string& out, std::string_view s) {
    constexpr char hex[] = "0123456789ABCDEF";
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
            c == '`' || c == '{' || c == '|' || c == '}') {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        } else {
            out.push_back(ch);
        }
    }
}

/// RFC 3986 §5.2.4, on a path without query.
inline std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> segments;
    const bool absolute = !path.empty() && path.front() == '/';
    if (absolute) path.remove_prefix(1);
    bool trailing_slash = false;
    while (true) {
        const auto slash = path.find('/');
        const std::string_view seg = path.substr(0, slash);
        const bool last = slash == std::string_view::npos;
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
            trailing_slash = true;
        } else if (seg == ".") {
            trailing_slash = true;
        } else {
            segments.push_back(seg);
            trailing_slash = false;
        }
        if (last) break;
        path.remove_prefix(slash + 1);
    }
    std::string out;
    for (const auto seg : segments) {
        out.push_back('/');
        out.append(seg);
    }
    if (trailing_slash || out.empty()) out.push_back('/');
    if (!absolute && !out.empty()) out.erase(0, 1);
    return out;
}

inline bool valid_host_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7F && c != '/' && c != '?' && c != '#' && c != '@' && c != '[' &&
           c != ']' && c != ':' && c != '\\' && c != '%';
}

inline std::error_code parse_authority(std::string_view authority, std::string_view scheme,
                                       url& out) {
    if (authority.find('@') != std::string_view::npos) return errc::invalid_url;  // user info
    std::string_view host;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return errc::invalid_url;
        host = authority.substr(1, close - 1);
        const std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return errc::invalid_url;
            port = rest.substr(1);
        }
        if (host.empty()) return errc::invalid_url;
        for (const char c : host) {
            const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                            (c >= 'A' && c <= 'F') || c == ':' || c == '.';
            if (!ok) return errc::invalid_url;
        }
    } else {
        const auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
        if (host.empty()) return errc::invalid_url;
        for (const char c : host) {
            if (!valid_host_char(c)) return errc::invalid_url;
        }
    }
    out.port = default_port(scheme);
    if (!port.empty()) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
            return errc::invalid_url;
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    out.host = lowercase(host);
    return {};
}

}  // namespace detail

CRIER_DECL std::string url::authority() const {
    std::string out;
    if (host.find(':') != std::string::npos) {
        out.append("[").append(host).append("]");
    } else {
        out.append(host);
    }
    if (port != detail::default_port(scheme)) out.append(":").append(std::to_string(port));
    return out;
}

CRIER_DECL std::string url::to_string() const {
    return scheme + "://" + authority() + target;
}

CRIER_DECL bool url::same_origin(const url& other) const noexcept {
    return scheme == other.scheme && port == other.port && detail::iequals(host, other.host);
}

CRIER_DECL std::error_code parse_url(std::string_view text, url& out) {
    // Browsers strip leading and trailing C0 controls and spaces from a URL.
    while (!text.empty() && static_cast<unsigned char>(text.front()) <= 0x20) text.remove_prefix(1);
    while (!text.empty() && static_cast<unsigned char>(text.back()) <= 0x20) text.remove_suffix(1);
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) return errc::invalid_url;
    url result;
    result.scheme = detail::lowercase(text.substr(0, sep));
    if (result.scheme != "http" && result.scheme != "https") return errc::invalid_url;
    std::string_view rest = text.substr(sep + 3);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
        rest = rest.substr(0, hash);
    }
    const auto path_start = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path_start);
    if (auto ec = detail::parse_authority(authority, result.scheme, result)) return ec;
    std::string_view path_and_query =
        path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
    if (path_and_query.empty() || path_and_query.front() != '/') result.target.push_back('/');
    detail::append_target_bytes(result.target, path_and_query);
    out = std::move(result);
    return {};
}

CRIER_DECL std::error_code resolve_url(const url& base, std::string_view reference, url& out) {
    while (!reference.empty() && static_cast<unsigned char>(reference.front()) <= 0x20) {
        reference.remove_prefix(1);
    }
    while (!reference.empty() && static_cast<unsigned char>(reference.back()) <= 0x20) {
        reference.remove_suffix(1);
    }
    if (const auto hash = reference.find('#'); hash != std::string_view::npos) {
        reference = reference.substr(0, hash);
    }
    // A scheme is letters, digits, `+`, `-`, `.` before the first colon, and no `/?` before it.
    const auto colon = reference.find(':');
    const auto delim = reference.find_first_of("/?");
    if (colon != std::string_view::npos && colon > 0 &&
        (delim == std::string_view::npos || colon < delim)) {
        return parse_url(reference, out);
    }
    if (reference.starts_with("//")) {
        return parse_url(base.scheme + ":" + std::string(reference), out);
    }
    url result = base;
    const std::string_view base_target = base.target;
    const std::string_view base_path = base_target.substr(0, base_target.find('?'));
    std::string target;
    if (reference.empty()) {
        target = base_path;  // same document: the query is kept only by an explicit `?`
        target.append(base_target.substr(base_path.size()));
    } else if (reference.front() == '?') {
        target.append(base_path);
        target.append(reference);
    } else {
        const auto query = reference.find('?');
        std::string path;
        if (reference.front() == '/') {
            path = reference.substr(0, query);
        } else {
            path = base_path.substr(0, base_path.rfind('/') + 1);
            path.append(reference.substr(0, query));
        }
        target = detail::remove_dot_segments(path);
        if (query != std::string_view::npos) target.append(reference.substr(query));
    }
    result.target.clear();
    detail::append_target_bytes(result.target, target);
    out = std::move(result);
    return {};
}

}  // namespace crier::client

#endif
