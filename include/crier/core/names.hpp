// SPDX-License-Identifier: MIT
// The rules for channel names, channel patterns and event types, and how patterns match.
#ifndef CRIER_CORE_NAMES_HPP
#define CRIER_CORE_NAMES_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace crier {

/// Longest channel name or pattern, in bytes.
inline constexpr std::size_t max_channel_bytes = 200;

/// Longest user id, in bytes.
inline constexpr std::size_t max_user_id_bytes = 128;

/// Longest event type or type filter, in bytes.
inline constexpr std::size_t max_type_bytes = 128;

/// Checks a channel name: 1 to max_channel_bytes bytes of printable ASCII other than space and
/// `*` (e.g. `global`, `user:42`, `stable:123`). errc::invalid_channel otherwise.
[[nodiscard]] CRIER_DECL std::error_code validate_channel(std::string_view name) noexcept;

/// Checks a channel name or pattern: a pattern is a name prefix followed by one trailing `*`
/// (`stable:*`), or `*` alone (every channel). errc::invalid_channel otherwise.
[[nodiscard]] CRIER_DECL std::error_code validate_channel_pattern(
    std::string_view pattern) noexcept;

/// Checks a user id (a principal's id, e.g. a JWT `sub`): 1 to max_user_id_bytes bytes of
/// printable ASCII other than space, `*`, `?` and `:`. So `user:{id}` is always one exact channel
/// name, never a pattern and never another user's channel; control bytes, whitespace and
/// non-ASCII bytes are refused (map such ids to a safe form, e.g. a number, before crier sees
/// them). errc::invalid_user_id otherwise. An anonymous principal has no id, and no `user:`
/// channel: callers decide that before asking.
[[nodiscard]] CRIER_DECL std::error_code validate_user_id(std::string_view user_id) noexcept;

/// Checks an event type an application may publish: 1 to max_type_bytes bytes of ASCII letters,
/// digits and `_ - . : /` (the convention is `module:action[:subtype]`).
/// Errors: errc::invalid_field (CR, LF or NUL), errc::invalid_type (empty, too long, other
/// characters), errc::reserved_type (`connected`, `resync`, `batch`).
[[nodiscard]] CRIER_DECL std::error_code validate_event_type(std::string_view type) noexcept;

/// Checks an event-type filter: a type, a type prefix with one trailing `*` (`horses:*`), or `*`.
[[nodiscard]] CRIER_DECL std::error_code validate_type_filter(std::string_view filter) noexcept;

/// True for the types only the hub or the transport emit: `connected`, `resync` and `batch`.
[[nodiscard]] CRIER_DECL bool is_reserved_type(std::string_view type) noexcept;

/// True when `name` matches `pattern`: equal, or `pattern` ends in `*` and `name` starts with
/// what precedes it (`stable:*` matches `stable:1`, not `stable`; `*` matches everything).
/// Used for channel patterns and event-type filters alike.
[[nodiscard]] CRIER_DECL bool matches(std::string_view pattern, std::string_view name) noexcept;

/// The private channel of a user: `user:{user_id}`.
[[nodiscard]] CRIER_DECL std::string user_channel(std::string_view user_id);

}  // namespace crier

#if defined(CRIER_HEADER_ONLY)
#    include <crier/core/impl/names.ipp>
#endif

#endif
