// SPDX-License-Identifier: MIT
// crier::client::url: the parts of an http(s) URL an HTTP/1.1 client needs, and redirect
// resolution.
#ifndef CRIER_CLIENT_URL_HPP
#define CRIER_CLIENT_URL_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace crier::client {

/// An absolute `http://` or `https://` URL, split for an HTTP/1.1 request.
struct url {
    std::string scheme;      ///< `http` or `https`, lowercase
    std::string host;        ///< a name or an IP literal; IPv6 without brackets
    std::uint16_t port = 0;  ///< explicit, or the scheme's default (80, 443)
    std::string target;      ///< path and query for the request line; never empty, starts with `/`

    /// The value of a `Host` header: host, bracketed when IPv6, with `:port` unless it is the
    /// scheme's default.
    [[nodiscard]] CRIER_DECL std::string authority() const;

    /// The URL written out again (`scheme://authority/target`).
    [[nodiscard]] CRIER_DECL std::string to_string() const;

    /// True when scheme, host (case-insensitively) and port are equal: the same origin.
    [[nodiscard]] CRIER_DECL bool same_origin(const url& other) const noexcept;

    /// Equal when every component is (case-sensitively; see same_origin()).
    friend bool operator==(const url&, const url&) = default;
};

/// Parses an absolute http(s) URL. Scheme and host are lowercased, a fragment is dropped, and
/// bytes a request line cannot carry (controls, space, non-ASCII) are percent-encoded.
/// errc::invalid_url for anything else: another scheme, user info, an empty host, a bad port.
[[nodiscard]] CRIER_DECL std::error_code parse_url(std::string_view text, url& out);

/// Resolves a `Location` value against the URL it answered (RFC 3986 §5.2): absolute,
/// scheme-relative (`//host/p`), absolute-path, query-only and relative-path references.
[[nodiscard]] CRIER_DECL std::error_code resolve_url(const url& base, std::string_view reference,
                                                     url& out);

}  // namespace crier::client

#if defined(CRIER_HEADER_ONLY)
#    include <crier/client/impl/url.ipp>
#endif

#endif
