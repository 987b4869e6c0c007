// SPDX-License-Identifier: MIT
// Definitions for crier/http/request.hpp.
#ifndef CRIER_HTTP_IMPL_REQUEST_IPP
#define CRIER_HTTP_IMPL_REQUEST_IPP

#include <crier/http/request.hpp>

#include <algorithm>
#include <cstring>

namespace crier::http {
namespace detail {

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

inline bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Calls f(name, value) for each `name=value` pair of a query string, in order.
template <class F>
void for_each_param(std::string_view query, F&& f) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        if (!f(pair.substr(0, eq),
               eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1))) {
            return;
        }
    }
}

constexpr std::size_t max_headers = 100;

}  // namespace detail

CRIER_DECL std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            const int hi = detail::hex_value(text[i + 1]);
            const int lo = detail::hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

CRIER_DECL std::string_view request::path() const noexcept {
    const std::string_view t = target();
    return t.substr(0, t.find('?'));
}

CRIER_DECL std::string_view request::query() const noexcept {
    const std::string_view t = target();
    const auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

CRIER_DECL std::optional<std::string_view> request::header(std::string_view name) const noexcept {
    for (const auto& [n, v] : headers_) {
        if (detail::iequals(view(n), name)) return view(v);
    }
    return std::nullopt;
}

CRIER_DECL std::vector<std::pair<std::string_view, std::string_view>> request::headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    out.reserve(headers_.size());
    for (const auto& [n, v] : headers_) out.emplace_back(view(n), view(v));
    return out;
}

CRIER_DECL std::optional<std::string> request::query_param(std::string_view name) const {
    std::optional<std::string> found;
    detail::for_each_param(query(), [&](std::string_view n, std::string_view v) {
        if (percent_decode(n) != name) return true;
        found = percent_decode(v);
        return !found.has_value();  // stop at the first well-formed value
    });
    return found;
}

CRIER_DECL std::vector<std::string> request::query_params(std::string_view name) const {
    std::vector<std::string> out;
    detail::for_each_param(query(), [&](std::string_view n, std::string_view v) {
        if (percent_decode(n) == name) {
            if (auto value = percent_decode(v)) out.push_back(std::move(*value));
        }
        return true;
    });
    return out;
}

CRIER_DECL std::size_t request::query_param_count(std::string_view name) const {
    std::size_t n = 0;
    detail::for_each_param(query(), [&](std::string_view key, std::string_view) {
        if (percent_decode(key) == name) ++n;
        return true;
    });
    return n;
}

CRIER_DECL std::optional<std::string_view> request::cookie(std::string_view name) const noexcept {
    for (const auto& [n, v] : headers_) {
        if (!detail::iequals(view(n), "cookie")) continue;
        std::string_view rest = view(v);
        while (!rest.empty()) {
            const auto semi = rest.find(';');
            const std::string_view pair = detail::trim(rest.substr(0, semi));
            rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
            const auto eq = pair.find('=');
            if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
                std::string_view value = pair.substr(eq + 1);
                if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                    value = value.substr(1, value.size() - 2);
                }
                return value;
            }
        }
    }
    return std::nullopt;
}

CRIER_DECL bool request::keep_alive() const noexcept {
    const auto connection = header("connection");
    if (version_minor_ == 0) return connection && detail::iequals(*connection, "keep-alive");
    return !(connection && detail::iequals(*connection, "close"));
}

CRIER_DECL bool request::content_type_is(std::string_view media_type) const noexcept {
    const auto type = header("content-type");
    return type && detail::iequals(detail::trim(type->substr(0, type->find(';'))), media_type);
}

CRIER_DECL bool request::expects_continue() const noexcept {
    if (version_minor_ == 0 || (content_length_ == 0 && !chunked_)) return false;
    const auto expect = header("expect");
    return expect && detail::iequals(*expect, "100-continue");
}

CRIER_DECL parse_result request_parser::parse(std::string_view buffer, request& out) {
    // The head ends at the first empty line; bare LF line ends are tolerated (RFC 9112 §2.2).
    std::size_t end = std::string_view::npos;
    std::size_t head_len = 0;
    for (std::size_t i = buffer.find('\n'); i != std::string_view::npos;
         i = buffer.find('\n', i + 1)) {
        if (i + 1 < buffer.size() && buffer[i + 1] == '\n') {
            end = i + 1;
            head_len = i + 2;
            break;
        }
        if (i + 2 < buffer.size() && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') {
            end = i + 1;
            head_len = i + 3;
            break;
        }
        if (i > max_head_) break;
    }
    if (end == std::string_view::npos) {
        if (buffer.size() > max_head_) return fail(431, "request head too large");
        return parse_result::incomplete;
    }
    if (head_len > max_head_) return fail(431, "request head too large");

    const parse_result result = parse_head(buffer.substr(0, end), out);
    if (result == parse_result::complete) {
        consumed_ = head_len;
    } else {
        out.clear();  // no half-parsed request, and no span past its head
    }
    return result;
}

CRIER_DECL parse_result request_parser::parse_head(std::string_view text, request& r) {
    // Into `r`'s own buffers: a keep-alive connection parses every request into one object, so
    // its head and header vector keep their capacity and a request allocates neither.
    r.clear();
    r.head_.assign(text);
    const std::string_view head = r.head_;
    if (head.find('\0') != std::string_view::npos) return fail(400, "NUL byte in request head");

    std::size_t pos = 0;
    auto next_line = [&]() -> std::optional<std::pair<std::size_t, std::size_t>> {
        if (pos >= head.size()) return std::nullopt;
        std::size_t nl = head.find('\n', pos);
        if (nl == std::string_view::npos) nl = head.size();
        std::size_t len = nl - pos;
        if (len > 0 && head[pos + len - 1] == '\r') --len;
        const std::pair<std::size_t, std::size_t> line{pos, len};
        pos = nl + 1;
        return line;
    };

    // Request line: method SP target SP HTTP/1.x
    auto first = next_line();
    while (first && first->second == 0) first = next_line();  // tolerate leading empty lines
    if (!first) return fail(400, "empty request");
    const std::string_view line = head.substr(first->first, first->second);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || sp1 == 0 ||
        sp2 == sp1 + 1 || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return fail(400, "malformed request line");
    }
    const std::string_view method = line.substr(0, sp1);
    if (!std::all_of(method.begin(), method.end(), detail::is_tchar)) {
        return fail(400, "malformed method");
    }
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    for (char c : target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return fail(400, "control character in request target");
        }
    }
    // origin-form (`/path?query`), `*`, or the absolute-form a server must accept too
    // (`http://host/path?query`, RFC 9112 §3.2.2): routed by its path and query.
    std::size_t target_pos = first->first + sp1 + 1;
    std::size_t target_len = target.size();
    bool rooted = false;  // an absolute-form target with no path: its path is `/`
    if (target.front() != '/' && target != "*") {
        const auto scheme_end = target.find("://");
        const std::string_view scheme = target.substr(0, scheme_end);
        if (scheme_end == std::string_view::npos ||
            !(detail::iequals(scheme, "http") || detail::iequals(scheme, "https"))) {
            return fail(400, "request target must be a path or an absolute http(s) URI");
        }
        const std::size_t authority = scheme_end + 3;
        const std::size_t path = std::min(target.find_first_of("/?", authority), target.size());
        if (path == authority) return fail(400, "absolute URI without a host");
        target_pos += path;
        target_len -= path;
        rooted = target_len == 0 || target[path] == '?';
    }
    const std::string_view version = line.substr(sp2 + 1);
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
        return fail(400, "malformed HTTP version");
    }
    if (version[5] != '1') return fail(505, "only HTTP/1.x is supported");
    r.version_minor_ = version[7] == '0' ? 0 : 1;
    r.method_ = {first->first, sp1};
    r.target_ = {target_pos, target_len};

    bool have_length = false;
    while (auto l = next_line()) {
        if (l->second == 0) continue;
        const std::string_view h = head.substr(l->first, l->second);
        if (h.front() == ' ' || h.front() == '\t') return fail(400, "obsolete header folding");
        const auto colon = h.find(':');
        if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header");
        const std::string_view name = h.substr(0, colon);
        if (!std::all_of(name.begin(), name.end(), detail::is_tchar)) {
            return fail(400, "malformed header name");
        }
        const std::string_view value = detail::trim(h.substr(colon + 1));
        if (value.find('\r') != std::string_view::npos) return fail(400, "CR in header value");
        if (r.headers_.size() == detail::max_headers) return fail(431, "too many headers");
        const std::size_t value_pos = value.empty()
                                          ? l->first + colon + 1
                                          : static_cast<std::size_t>(value.data() - head.data());
        r.headers_.push_back({{l->first, colon}, {value_pos, value.size()}});
        if (detail::iequals(name, "content-length")) {
            if (value.empty() || value.size() > 15 ||
                !std::all_of(value.begin(), value.end(),
                             [](char c) { return c >= '0' && c <= '9'; })) {
                return fail(400, "malformed Content-Length");
            }
            std::size_t n = 0;
            for (char c : value) n = n * 10 + static_cast<std::size_t>(c - '0');
            if (have_length && n != r.content_length_)
                return fail(400, "conflicting Content-Length");
            have_length = true;
            r.content_length_ = n;
        } else if (detail::iequals(name, "transfer-encoding")) {
            // Only `chunked`, alone and once: any other coding is one this server cannot
            // decode (501), and a second field could frame the body differently for a proxy.
            if (r.chunked_) return fail(400, "more than one Transfer-Encoding field");
            if (!detail::iequals(value, "chunked")) {
                return fail(501, "only the chunked Transfer-Encoding is supported in requests");
            }
            r.chunked_ = true;
        }
    }
    // Two framings for one body is how requests are smuggled past proxies (RFC 9112 §6.1);
    // HTTP/1.0 has no chunked framing at all.
    if (r.chunked_ && have_length) {
        return fail(400, "both Transfer-Encoding and Content-Length");
    }
    if (r.chunked_ && r.version_minor_ == 0) return fail(400, "Transfer-Encoding in HTTP/1.0");
    if (rooted) {
        // `/` and the query, after the head: spans are offsets into head_, so appending moves
        // none of them (and `head` is not used after this).
        r.target_ = {r.head_.size(), target_len + 1};
        const std::string query = r.head_.substr(target_pos, target_len);
        r.head_.push_back('/');
        r.head_.append(query);
    }
    return parse_result::complete;
}

CRIER_DECL request request::from(
    std::string_view method, std::string_view target,
    const std::vector<std::pair<std::string_view, std::string_view>>& headers, std::string body) {
    request r;
    std::size_t size = method.size() + target.size() + 1;
    for (const auto& [name, value] : headers) size += name.size() + value.size() + 1;
    r.head_.reserve(size);
    auto add = [&](std::string_view text) {
        const span where{r.head_.size(), text.size()};
        r.head_.append(text);
        return where;
    };
    r.method_ = add(method);
    r.target_ = add(target);
    for (const auto& [name, value] : headers) {
        const span n = add(name);
        const span v = add(detail::trim(value));
        r.headers_.push_back({n, v});
    }
    r.content_length_ = body.size();
    r.body_ = std::move(body);
    return r;
}

}  // namespace crier::http

#endif
