// SPDX-License-Identifier: MIT
// ASCII helpers for HTTP text: case-insensitive comparison, tokens, optional whitespace.
#ifndef CRIER_CLIENT_DETAIL_HTTP_TEXT_HPP
#define CRIER_CLIENT_DETAIL_HTTP_TEXT_HPP

#include <string>
#include <string_view>

namespace crier::client::detail {

constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

/// Case-insensitive equality of ASCII text (header names, schemes, host names).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

/// RFC 9110 `tchar`: what a header name is made of.
constexpr bool is_token_char(char c) noexcept {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// `s` without leading and trailing spaces and tabs (RFC 9110 OWS).
constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace crier::client::detail

#endif
