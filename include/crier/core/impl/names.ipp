// SPDX-License-Identifier: MIT
// Definitions for crier/core/names.hpp.
#ifndef CRIER_CORE_IMPL_NAMES_IPP
#define CRIER_CORE_IMPL_NAMES_IPP

#include <crier/core/names.hpp>

#include <array>

namespace crier {
namespace detail {

inline bool is_channel_char(char c) noexcept {
    return c >= '!' && c <= '~' && c != '*';
}

inline bool is_user_id_char(char c) noexcept {
    return c >= '!' && c <= '~' && c != '*' && c != '?' && c != ':';
}

inline bool is_type_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || c == '/';
}

/// Checks `text` as a name made of `ok` characters, optionally with one trailing `*`.
template <class Pred>
std::error_code validate_name(std::string_view text, std::size_t max, bool allow_star, Pred ok,
                              errc bad) noexcept {
    if (text.empty() || text.size() > max) return bad;
    if (allow_star && text.back() == '*') text.remove_suffix(1);
    for (char c : text) {
        if (!ok(c)) return bad;
    }
    return {};
}

inline bool has_cr_lf_nul(std::string_view s) noexcept {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace detail

CRIER_DECL std::error_code validate_channel(std::string_view name) noexcept {
    return detail::validate_name(name, max_channel_bytes, false, detail::is_channel_char,
                                 errc::invalid_channel);
}

CRIER_DECL std::error_code validate_channel_pattern(std::string_view pattern) noexcept {
    return detail::validate_name(pattern, max_channel_bytes, true, detail::is_channel_char,
                                 errc::invalid_channel);
}

CRIER_DECL std::error_code validate_user_id(std::string_view user_id) noexcept {
    return detail::validate_name(user_id, max_user_id_bytes, false, detail::is_user_id_char,
                                 errc::invalid_user_id);
}

CRIER_DECL bool is_reserved_type(std::string_view type) noexcept {
    return type == "connected" || type == "resync" || type == "batch";
}

CRIER_DECL std::error_code validate_event_type(std::string_view type) noexcept {
    if (auto ec = detail::validate_name(type, max_type_bytes, false, detail::is_type_char,
                                        errc::invalid_type)) {
        // The more precise error for what could inject a field into the stream.
        return detail::has_cr_lf_nul(type) ? errc::invalid_field : ec;
    }
    if (is_reserved_type(type)) return errc::reserved_type;
    return {};
}

CRIER_DECL std::error_code validate_type_filter(std::string_view filter) noexcept {
    if (filter == "*") return {};
    return detail::validate_name(filter, max_type_bytes, true, detail::is_type_char,
                                 errc::invalid_type);
}

CRIER_DECL bool matches(std::string_view pattern, std::string_view name) noexcept {
    if (!pattern.empty() && pattern.back() == '*') {
        pattern.remove_suffix(1);
        return name.size() > pattern.size() && name.starts_with(pattern);
    }
    return pattern == name;
}

CRIER_DECL std::string user_channel(std::string_view user_id) {
    std::string name;
    name.reserve(5 + user_id.size());
    name.append("user:").append(user_id);
    return name;
}

}  // namespace crier

#endif
