// SPDX-License-Identifier: MIT
// Included before every documentation snippet that does not use Boost: crier's headers built on
// standalone Asio (Boost 1.74's Asio cannot share a translation unit with them).
#ifndef CRIER_TESTS_DOCS_PRELUDE_ASIO_HPP
#define CRIER_TESTS_DOCS_PRELUDE_ASIO_HPP

#include <crier/adapters/async_stream.hpp>
#include <crier/adapters/server.hpp>
#include <crier/client.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#endif
