// SPDX-License-Identifier: MIT
// Definitions for crier/sse/event_id.hpp.
#ifndef CRIER_SSE_IMPL_EVENT_ID_IPP
#define CRIER_SSE_IMPL_EVENT_ID_IPP

#include <crier/sse/event_id.hpp>

#include <charconv>

namespace crier::sse {

CRIER_DECL char* to_chars(char* out, event_id id) noexcept {
    char* end = out + max_event_id_chars;
    auto r = std::to_chars(out, end, id.epoch, 16);
    *r.ptr++ = '-';
    return std::to_chars(r.ptr, end, id.seq).ptr;
}

CRIER_DECL std::string to_string(event_id id) {
    char buf[max_event_id_chars];
    return std::string(buf, to_chars(buf, id));
}

CRIER_DECL std::optional<event_id> parse_event_id(std::string_view text) noexcept {
    const auto dash = text.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash > 16) return std::nullopt;
    const std::string_view epoch = text.substr(0, dash);
    const std::string_view seq = text.substr(dash + 1);
    if (seq.empty() || seq.size() > 20) return std::nullopt;
    // One id has one text: the wire form has no leading zeros (to_chars writes none) and
    // lowercase hex only (from_chars would accept uppercase).
    if ((epoch[0] == '0' && epoch.size() > 1) || (seq[0] == '0' && seq.size() > 1)) {
        return std::nullopt;
    }
    for (char c : epoch) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    }
    for (char c : seq) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    event_id id;
    auto e = std::from_chars(epoch.data(), epoch.data() + epoch.size(), id.epoch, 16);
    auto s = std::from_chars(seq.data(), seq.data() + seq.size(), id.seq);
    if (e.ec != std::errc{} || s.ec != std::errc{}) return std::nullopt;  // overflow
    return id;
}

CRIER_DECL bool is_valid_last_event_id(std::string_view value) noexcept {
    if (value.size() > CRIER_MAX_EVENT_ID_BYTES) return false;
    for (char c : value) {
        if (c < '!' || c > '~') return false;
    }
    return true;
}

}  // namespace crier::sse

#endif
