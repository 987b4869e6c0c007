// SPDX-License-Identifier: MIT
// Writing JSON strings (escaping) for every layer: the hub's frames and documents, the server's
// endpoints. Private; it depends only on crier's UTF-8 helpers, so any layer may include it.
#ifndef CRIER_DETAIL_JSON_HPP
#define CRIER_DETAIL_JSON_HPP

#include <crier/detail/utf8.hpp>

#include <string>
#include <string_view>

namespace crier::detail {

/// Appends `text` as a JSON string literal, quotes included. Escapes `"`, `\` and control
/// characters; everything else is copied as is, except invalid UTF-8 (a request's bytes echoed
/// in an error, say), which becomes U+FFFD so the document stays valid JSON.
inline void append_json_string(std::string& out, std::string_view text) {
    if (!is_valid_utf8(text)) {
        std::string repaired;
        append_utf8_replacing_invalid(repaired, text);
        append_json_string(out, repaired);
        return;
    }
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the pending run of bytes that need no escape
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(text.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            default:
                out.append("\\u00");
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0xf]);
        }
    }
    out.append(text.data() + run, text.size() - run);
    out.push_back('"');
}

/// `text` as a JSON string literal (see append_json_string).
[[nodiscard]] inline std::string json_string(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    append_json_string(out, text);
    return out;
}

}  // namespace crier::detail

#endif
