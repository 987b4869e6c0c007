// SPDX-License-Identifier: MIT
// crier::client::response_head: an HTTP/1.x status line and header fields, parsed with bounds.
#ifndef CRIER_CLIENT_RESPONSE_HEAD_HPP
#define CRIER_CLIENT_RESPONSE_HEAD_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace crier::client {

/// How the body after a response head is delimited (RFC 9112 §6.3).
enum class body_framing {
    until_close,     ///< no length given: the body ends when the server closes the connection
    chunked,         ///< `Transfer-Encoding: chunked`
    content_length,  ///< exactly `Content-Length` bytes
};

/// The status line and fields of one HTTP/1.x response.
struct response_head {
    int status = 0;                                           ///< e.g. 200
    std::string reason;                                       ///< the reason phrase, possibly empty
    std::vector<std::pair<std::string, std::string>> fields;  ///< in order; values trimmed

    /// The value of the first field named `name` (case-insensitive), if any.
    [[nodiscard]] CRIER_DECL std::optional<std::string_view> find(
        std::string_view name) const noexcept;

    /// The framing of the body that follows, and for content_length the length.
    /// errc::protocol_error for a transfer coding other than chunked last, or a bad length.
    [[nodiscard]] CRIER_DECL std::error_code framing(body_framing& kind,
                                                     std::uint64_t& length) const noexcept;
};

/// The size of the head at the start of `buffer` including its terminating blank line (CRLF CRLF,
/// or LF LF from lenient servers), or 0 when the blank line has not arrived yet. `searched` is how
/// many bytes an earlier call already examined, so a growing buffer is scanned once.
[[nodiscard]] CRIER_DECL std::size_t find_head_end(std::string_view buffer,
                                                   std::size_t searched = 0) noexcept;

/// Parses a complete head as delimited by find_head_end(). errc::protocol_error for a malformed
/// status line or field, obsolete line folding, or more than 100 fields.
[[nodiscard]] CRIER_DECL std::error_code parse_response_head(std::string_view head,
                                                             response_head& out);

/// True when a Content-Type value names `media_type` (`type/subtype`, case-insensitive),
/// whatever its parameters: `text/event-stream; charset=utf-8` has media type `text/event-stream`.
[[nodiscard]] CRIER_DECL bool has_media_type(std::string_view content_type,
                                             std::string_view media_type) noexcept;

}  // namespace crier::client

#if defined(CRIER_HEADER_ONLY)
#    include <crier/client/impl/response_head.ipp>
#endif

#endif
