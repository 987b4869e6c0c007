// SPDX-License-Identifier: MIT
// The umbrella header: everything crier offers that needs no optional dependency.
#ifndef CRIER_CRIER_HPP
#define CRIER_CRIER_HPP

#include <crier/core.hpp>
#include <crier/error.hpp>
#include <crier/sse.hpp>
#include <crier/version.hpp>

#endif
