// SPDX-License-Identifier: MIT
// The compiled half of crier (CRIER_SEPARATE_COMPILATION=ON): every non-template definition.
#include <crier/impl/src.hpp>
