// SPDX-License-Identifier: MIT
// Definitions for crier/detail/utf8.hpp.
#ifndef CRIER_DETAIL_IMPL_UTF8_IPP
#define CRIER_DETAIL_IMPL_UTF8_IPP

#include <crier/detail/utf8.hpp>

#include <simdjson.h>

namespace crier::detail {

CRIER_DECL bool is_valid_utf8(std::string_view text) noexcept {
    return simdjson::validate_utf8(text.data(), text.size());
}

CRIER_DECL void append_utf8_replacing_invalid(std::string& out, std::string_view text) {
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        // Expected length and the allowed range of the second byte (Unicode table 3-7).
        std::size_t len = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            out.append(replacement);
            ++i;
            continue;
        }
        // Consume the longest valid prefix; a broken sequence becomes one U+FFFD (maximal subpart).
        std::size_t j = 1;
        while (j < len && i + j < n) {
            const unsigned char b = p[i + j];
            const unsigned char min = (j == 1) ? lo : 0x80;
            const unsigned char max = (j == 1) ? hi : 0xBF;
            if (b < min || b > max) break;
            ++j;
        }
        if (j == len) {
            out.append(text.substr(i, len));
        } else {
            out.append(replacement);
        }
        i += j;
    }
}

}  // namespace crier::detail

#endif
