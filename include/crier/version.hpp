// SPDX-License-Identifier: MIT
// crier's version: the one place it is defined (CMake and packaging read it from here).
#ifndef CRIER_VERSION_HPP
#define CRIER_VERSION_HPP

/// Incompatible API changes (from 1.0 on).
#define CRIER_VERSION_MAJOR 0
/// New features; before 1.0, also incompatible changes.
#define CRIER_VERSION_MINOR 2
/// Fixes only.
#define CRIER_VERSION_PATCH 0

/// The version as one number: major * 10000 + minor * 100 + patch.
#define CRIER_VERSION \
    (CRIER_VERSION_MAJOR * 10000 + CRIER_VERSION_MINOR * 100 + CRIER_VERSION_PATCH)

/// Detail of CRIER_VERSION_STRING: `x` as a string literal, unexpanded.
#define CRIER_DETAIL_STRINGIZE2(x) #x
/// Detail of CRIER_VERSION_STRING: `x` as a string literal, after macro expansion.
#define CRIER_DETAIL_STRINGIZE(x) CRIER_DETAIL_STRINGIZE2(x)
/// The version as text, "major.minor.patch".
#define CRIER_VERSION_STRING                    \
    CRIER_DETAIL_STRINGIZE(CRIER_VERSION_MAJOR) \
    "." CRIER_DETAIL_STRINGIZE(CRIER_VERSION_MINOR) "." CRIER_DETAIL_STRINGIZE(CRIER_VERSION_PATCH)

// After the macros: config.hpp includes this header too, and needs only what is above.
#include <crier/config.hpp>

#include <compare>
#include <string_view>

namespace crier {

/// A crier version. Semantic versioning: until 1.0, a new minor version may change the API, so
/// crier's CMake package accepts only the same major.minor (SameMinorVersion).
struct version_info {
    int major;  ///< incompatible changes (from 1.0 on)
    int minor;  ///< features; before 1.0, also incompatible changes
    int patch;  ///< fixes only

    /// Versions order by major, then minor, then patch.
    friend constexpr auto operator<=>(const version_info&, const version_info&) = default;
};

/// The version of the crier headers this translation unit was compiled with.
inline constexpr version_info header_version{CRIER_VERSION_MAJOR, CRIER_VERSION_MINOR,
                                             CRIER_VERSION_PATCH};

/// header_version as text, "major.minor.patch".
inline constexpr std::string_view version_string = CRIER_VERSION_STRING;

/// The version of the crier that was compiled into the program: with
/// CRIER_SEPARATE_COMPILATION, the library's (a program can compare it with header_version to
/// catch headers and library from different releases); header-only, always header_version.
[[nodiscard]] CRIER_DECL version_info version() noexcept;

}  // namespace crier

#if defined(CRIER_HEADER_ONLY)
#    include <crier/impl/version.ipp>
#endif

#endif
