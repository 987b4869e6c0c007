// SPDX-License-Identifier: MIT
// Definitions for crier/client/response_head.hpp.
#ifndef CRIER_CLIENT_IMPL_RESPONSE_HEAD_IPP
#define CRIER_CLIENT_IMPL_RESPONSE_HEAD_IPP

#include <crier/client/detail/http_text.hpp>
#include <crier/client/response_head.hpp>

#include <charconv>

namespace crier::client {
namespace detail {

constexpr std::size_t max_response_fields = 100;

}  // namespace detail

CRIER_DECL std::optional<std::string_view> response_head::find(
    std::string_view name) const noexcept {
    for (const auto& [n, v] : fields) {
        if (detail::iequals(n, name)) return std::string_view(v);
    }
    return std::nullopt;
}

CRIER_DECL std::error_code response_head::framing(body_framing& kind,
                                                  std::uint64_t& length) const noexcept {
    // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3); several fields form one list.
    std::string_view last_coding;
    bool has_te = false;
    for (const auto& [n, v] : fields) {
        if (!detail::iequals(n, "transfer-encoding")) continue;
        std::string_view list = v;
        while (!list.empty()) {
            const auto comma = list.find(',');
            const auto item = detail::trim_ows(list.substr(0, comma));
            if (!item.empty()) {
                last_coding = item.substr(0, item.find(';'));
                last_coding = detail::trim_ows(last_coding);
                has_te = true;
            }
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
        }
    }
    if (has_te) {
        if (!detail::iequals(last_coding, "chunked")) return errc::protocol_error;
        kind = body_framing::chunked;
        length = 0;
        return {};
    }
    if (const auto cl = find("content-length")) {
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), value);
        if (ec != std::errc{} || end != cl->data() + cl->size() || cl->empty()) {
            return errc::protocol_error;
        }
        kind = body_framing::content_length;
        length = value;
        return {};
    }
    kind = body_framing::until_close;
    length = 0;
    return {};
}

CRIER_DECL std::size_t find_head_end(std::string_view buffer, std::size_t searched) noexcept {
    // Resume one byte early: the previous call may have stopped between the two line ends.
    std::size_t i = searched > 2 ? searched - 2 : 0;
    for (; i < buffer.size(); ++i) {
        if (buffer[i] != '\n') continue;
        if (i + 1 < buffer.size() && buffer[i + 1] == '\n') return i + 2;
        if (i + 2 < buffer.size() && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') return i + 3;
    }
    return 0;
}

CRIER_DECL std::error_code parse_response_head(std::string_view head, response_head& out) {
    response_head result;
    auto next_line = [&head]() {
        const auto lf = head.find('\n');
        std::string_view line = head.substr(0, lf);
        head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return line;
    };
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    const std::string_view status_line = next_line();
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ') {
        return errc::protocol_error;
    }
    const std::string_view code = status_line.substr(9, 3);
    for (const char c : code) {
        if (c < '0' || c > '9') return errc::protocol_error;
    }
    if (status_line.size() > 12 && status_line[12] != ' ') return errc::protocol_error;
    result.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (status_line.size() > 13) result.reason = status_line.substr(13);

    while (!head.empty()) {
        const std::string_view line = next_line();
        if (line.empty()) break;  // the blank line ending the head
        if (line.front() == ' ' || line.front() == '\t') return errc::protocol_error;  // obs-fold
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return errc::protocol_error;
        const std::string_view name = line.substr(0, colon);
        for (const char c : name) {
            if (!detail::is_token_char(c)) return errc::protocol_error;
        }
        const std::string_view value = detail::trim_ows(line.substr(colon + 1));
        for (const char c : value) {
            if (c == '\0' || c == '\r') return errc::protocol_error;
        }
        if (result.fields.size() == detail::max_response_fields) return errc::protocol_error;
        result.fields.emplace_back(name, value);
    }
    out = std::move(result);
    return {};
}

CRIER_DECL bool has_media_type(std::string_view content_type,
                               std::string_view media_type) noexcept {
    return detail::iequals(detail::trim_ows(content_type.substr(0, content_type.find(';'))),
                           media_type);
}

}  // namespace crier::client

#endif
