// SPDX-License-Identifier: MIT
// Definitions for crier/version.hpp: compiled into the library in CRIER_SEPARATE_COMPILATION
// mode, so version() reports the library's version, not the includer's.
#ifndef CRIER_IMPL_VERSION_IPP
#define CRIER_IMPL_VERSION_IPP

#include <crier/version.hpp>

namespace crier {

CRIER_DECL version_info version() noexcept {
    return header_version;
}

}  // namespace crier

#endif
