// SPDX-License-Identifier: MIT
// crier's version: the one place it is defined (CMake and packaging read it from here).
#ifndef CRIER_VERSION_HPP
#define CRIER_VERSION_HPP

#define CRIER_VERSION_MAJOR 0
#define CRIER_VERSION_MINOR 1
#define CRIER_VERSION_PATCH 0

/// The version as one number: major * 10000 + minor * 100 + patch.
#define CRIER_VERSION \
    (CRIER_VERSION_MAJOR * 10000 + CRIER_VERSION_MINOR * 100 + CRIER_VERSION_PATCH)

#endif
