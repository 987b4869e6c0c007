// SPDX-License-Identifier: MIT
// UTF-8 validation (simdjson) and WHATWG-style repair of invalid sequences. Private.
#ifndef CRIER_DETAIL_UTF8_HPP
#define CRIER_DETAIL_UTF8_HPP

#include <crier/config.hpp>

#include <string>
#include <string_view>

namespace crier::detail {

/// True when `text` is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
[[nodiscard]] CRIER_DECL bool is_valid_utf8(std::string_view text) noexcept;

/// Appends `text` to `out` with each maximal invalid subpart replaced by U+FFFD, as the WHATWG
/// "UTF-8 decode" algorithm does.
CRIER_DECL void append_utf8_replacing_invalid(std::string& out, std::string_view text);

}  // namespace crier::detail

#if defined(CRIER_HEADER_ONLY)
#    include <crier/detail/impl/utf8.ipp>
#endif

#endif
