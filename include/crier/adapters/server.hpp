// SPDX-License-Identifier: MIT
// The embedded server in one include: http_server, its options and the auth types.
#ifndef CRIER_ADAPTERS_SERVER_HPP
#define CRIER_ADAPTERS_SERVER_HPP

#include <crier/adapters/http_server.hpp>
#include <crier/adapters/server_options.hpp>

#endif
