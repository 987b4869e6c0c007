// SPDX-License-Identifier: MIT
// The EventSource client: crier::client::event_source and the pieces it is built from.
#ifndef CRIER_CLIENT_HPP
#define CRIER_CLIENT_HPP

#include <crier/client/backoff.hpp>
#include <crier/client/batch.hpp>
#include <crier/client/chunked_decoder.hpp>
#include <crier/client/event_source.hpp>
#include <crier/client/recent_ids.hpp>
#include <crier/client/response_head.hpp>
#include <crier/client/url.hpp>

#endif
