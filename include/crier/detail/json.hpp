// SPDX-License-Identifier: MIT
// JSON writing helpers for crier's endpoints, on top of the hub's string escaping. Private.
#ifndef CRIER_DETAIL_JSON_HPP
#define CRIER_DETAIL_JSON_HPP

#include <crier/core/detail/json.hpp>

#include <string>
#include <string_view>

namespace crier::detail {

/// `text` (valid UTF-8) as a JSON string literal.
[[nodiscard]] inline std::string json_string(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    append_json_string(out, text);
    return out;
}

}  // namespace crier::detail

#endif
