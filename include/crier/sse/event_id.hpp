// SPDX-License-Identifier: MIT
// Event ids on the wire: crier's `epoch-seq` form and the rules for any Last-Event-ID value.
#ifndef CRIER_SSE_EVENT_ID_HPP
#define CRIER_SSE_EVENT_ID_HPP

#include <crier/config.hpp>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace crier::sse {

/// The id the hub gives an event: `seq` increases by one for every accepted event across all
/// channels; `epoch` names the life of the history that `seq` counts in. Written as
/// `<epoch in lowercase hex>-<seq in decimal>`, e.g. `3f9a1c-1042`. Clients treat it as opaque.
struct event_id {
    std::uint64_t epoch = 0;  ///< the history's life; ids of different epochs are not ordered
    std::uint64_t seq = 0;    ///< position in the hub's one order, from 1

    /// Compares epoch, then seq (meaningful only within one epoch).
    friend constexpr auto operator<=>(const event_id&, const event_id&) = default;
};

/// Longest text to_chars() writes: 16 hex digits, `-`, 20 decimal digits.
inline constexpr std::size_t max_event_id_chars = 37;

/// Writes the wire form of `id` into `out` (at least max_event_id_chars long); returns the end.
CRIER_DECL char* to_chars(char* out, event_id id) noexcept;

/// The wire form of `id`.
[[nodiscard]] CRIER_DECL std::string to_string(event_id id);

/// Parses crier's wire form; nullopt for anything else (a foreign or corrupted id).
[[nodiscard]] CRIER_DECL std::optional<event_id> parse_event_id(std::string_view text) noexcept;

/// True when `value` may be used as a Last-Event-ID: at most CRIER_MAX_EVENT_ID_BYTES bytes,
/// all printable ASCII without spaces (HTTP trims spaces; controls could split headers).
/// The empty value is valid: it means "no id".
[[nodiscard]] CRIER_DECL bool is_valid_last_event_id(std::string_view value) noexcept;

}  // namespace crier::sse

#if defined(CRIER_HEADER_ONLY)
#    include <crier/sse/impl/event_id.ipp>
#endif

#endif
