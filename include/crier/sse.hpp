// SPDX-License-Identifier: MIT
// The SSE wire layer: encoder, incremental parser and event ids. Pure; no I/O, no threads.
#ifndef CRIER_SSE_HPP
#define CRIER_SSE_HPP

#include <crier/sse/encoder.hpp>
#include <crier/sse/event_id.hpp>
#include <crier/sse/frame.hpp>
#include <crier/sse/parser.hpp>

#endif
