// SPDX-License-Identifier: MIT
// Minimal JSON writing helpers (string escaping) shared by crier's endpoints. Private.
#ifndef CRIER_DETAIL_JSON_HPP
#define CRIER_DETAIL_JSON_HPP

#include <string>
#include <string_view>

namespace crier::detail {

/// Appends `text` as a JSON string literal (with quotes). `text` must be valid UTF-8; control
/// characters, `"` and `\` are escaped, everything else is copied as is.
inline void append_json_string(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;  // start of the pending run of bytes that need no escaping
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(text.substr(run, i - run));
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
    out.append(text.substr(run));
    out.push_back('"');
}

/// `text` as a JSON string literal.
[[nodiscard]] inline std::string json_string(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    append_json_string(out, text);
    return out;
}

}  // namespace crier::detail

#endif
