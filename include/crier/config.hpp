// SPDX-License-Identifier: MIT
// Build mode macros and every compile-time tunable, each with its documented default.
#ifndef CRIER_CONFIG_HPP
#define CRIER_CONFIG_HPP

// A standard header before any Asio header, in every translation unit: Asio detects library
// features (e.g. std::aligned_alloc for its handler memory) from macros the standard library's
// configuration defines, and two translation units that detect differently disagree about how
// that memory is freed (an ODR violation that corrupts the heap).
#include <cstddef>

// Header-only by default: every x.hpp includes its impl/x.ipp and functions are `inline`.
// With CRIER_SEPARATE_COMPILATION the .ipp files are compiled once, by src/crier.cpp.
#if !defined(CRIER_SEPARATE_COMPILATION)
#    define CRIER_HEADER_ONLY 1
#    define CRIER_DECL inline
#else
#    if defined(_WIN32) && defined(CRIER_EXPORTS)
#        define CRIER_DECL __declspec(dllexport)
#    elif defined(_WIN32) && defined(CRIER_SHARED)
#        define CRIER_DECL __declspec(dllimport)
#    elif defined(CRIER_EXPORTS) || defined(CRIER_SHARED)
#        define CRIER_DECL __attribute__((visibility("default")))
#    else
#        define CRIER_DECL
#    endif
#endif

/// Largest event (data bytes) the SSE parser accepts before it reports errc::event_too_large.
/// Bounds a client's memory against a hostile or broken server. Default: 16 MiB.
#ifndef CRIER_SSE_MAX_EVENT_BYTES
#    define CRIER_SSE_MAX_EVENT_BYTES (16u * 1024u * 1024u)
#endif

/// Longest Last-Event-ID value crier sends or accepts. Default: 256 bytes.
#ifndef CRIER_MAX_EVENT_ID_BYTES
#    define CRIER_MAX_EVENT_ID_BYTES 256u
#endif

// Last: version.hpp declares crier::version() with CRIER_DECL, defined above.
#include <crier/version.hpp>

#endif
