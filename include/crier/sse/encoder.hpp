// SPDX-License-Identifier: MIT
// The SSE frame encoder: event fields in, spec-exact `text/event-stream` bytes out. Pure; no I/O.
#ifndef CRIER_SSE_ENCODER_HPP
#define CRIER_SSE_ENCODER_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>
#include <crier/sse/event_id.hpp>
#include <crier/sse/frame.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace crier::sse {

/// The fields of one event, as views the caller keeps alive for the duration of the call.
struct event_fields {
    /// The `id:` line; empty means no id line. Must not contain CR, LF or NUL.
    std::string_view id{};
    /// The `event:` line; empty means none (the receiver then sees type `message`).
    /// Must not contain CR, LF or NUL.
    std::string_view type{};
    /// The payload. CR, LF and CRLF split it into several `data:` lines so the receiver gets the
    /// text back (with every line break as LF: the SSE format itself normalises them); an empty
    /// string is one empty `data:` line. Must be valid UTF-8.
    std::string_view data{};
    /// The `retry:` line (reconnection delay), if any.
    std::optional<std::chrono::milliseconds> retry{};
};

/// Checks the fields without encoding: errc::invalid_field for CR/LF/NUL in id or type,
/// errc::invalid_utf8 for any field that is not valid UTF-8.
[[nodiscard]] CRIER_DECL std::error_code validate(const event_fields& fields) noexcept;

/// The exact number of bytes append_event() writes for these fields.
[[nodiscard]] CRIER_DECL std::size_t encoded_size(const event_fields& fields) noexcept;

/// Validates, then appends one complete frame (ending in a blank line) to `out`. On error `out`
/// is unchanged. May throw std::bad_alloc.
CRIER_DECL std::error_code append_event(std::string& out, const event_fields& fields);

/// Room an id line takes at most: `id: `, an event id, LF and the blank line that ends the
/// frame. append_event_without_id() reserves it.
inline constexpr std::size_t id_slot_size = 4 + max_event_id_chars + 2;

/// Appends `event: <type>` and the `data:` lines of an event whose id is not known yet (a hub
/// assigns it later), and reserves id_slot_size more bytes of capacity, so that stamp_id()
/// completes the frame without reallocating. The id line comes last, where it can be written
/// last. No validation (see validate()); `type` must not be empty. May throw std::bad_alloc.
CRIER_DECL void append_event_without_id(std::string& out, std::string_view type,
                                        std::string_view data);

/// Completes a frame begun by append_event_without_id(): `id: <prefix><seq>`, LF, blank line.
/// `prefix` is the id's fixed part (e.g. `3f9a1c-`); prefix and seq fit the reserved slot
/// (prefix at most max_event_id_chars - 20 bytes).
CRIER_DECL void stamp_id(std::string& out, std::string_view prefix, std::uint64_t seq) noexcept;

/// Appends comment lines: each line of `text` becomes `: line`. Receivers ignore comments; they
/// keep proxies and idle timers from closing a quiet stream (heartbeats). CR, LF and CRLF in
/// `text` start new comment lines, so a comment can never inject a field.
CRIER_DECL void append_comment(std::string& out, std::string_view text);

/// Appends a frame that only sets the receiver's reconnection delay.
CRIER_DECL void append_retry(std::string& out, std::chrono::milliseconds delay);

/// Encodes one event into a new immutable frame. On error returns null and sets `ec`.
[[nodiscard]] CRIER_DECL frame encode(const event_fields& fields, std::error_code& ec) noexcept;

/// Encodes one event into a new immutable frame; throws std::system_error on invalid fields.
[[nodiscard]] CRIER_DECL frame encode(const event_fields& fields);

}  // namespace crier::sse

#if defined(CRIER_HEADER_ONLY)
#    include <crier/sse/impl/encoder.ipp>
#endif

#endif
