// SPDX-License-Identifier: MIT
// Every .ipp in one place: compiled once by src/crier.cpp when CRIER_SEPARATE_COMPILATION is on.
#ifndef CRIER_IMPL_SRC_HPP
#define CRIER_IMPL_SRC_HPP

#if !defined(CRIER_SEPARATE_COMPILATION)
#    error "crier/impl/src.hpp is for CRIER_SEPARATE_COMPILATION builds only"
#endif

#include <crier/adapters/detail/impl/server_state.ipp>
#include <crier/adapters/detail/impl/stream_state.ipp>
#include <crier/adapters/impl/blocking_stream.ipp>
#include <crier/adapters/impl/http_server.ipp>
#include <crier/adapters/impl/router.ipp>
#include <crier/adapters/impl/stream_service.ipp>
#include <crier/client/impl/backoff.ipp>
#include <crier/client/impl/batch.ipp>
#include <crier/client/impl/chunked_decoder.ipp>
#include <crier/client/impl/event_source.ipp>
#include <crier/client/impl/recent_ids.ipp>
#include <crier/client/impl/response_head.ipp>
#include <crier/client/impl/url.ipp>
#include <crier/core/impl/backplane.ipp>
#include <crier/core/impl/hub.ipp>
#include <crier/core/impl/names.ipp>
#include <crier/core/impl/stats.ipp>
#include <crier/core/impl/subscription.ipp>
#include <crier/detail/impl/utf8.ipp>
#include <crier/http/impl/request.ipp>
#include <crier/http/impl/response.ipp>
#include <crier/impl/error.ipp>
#include <crier/impl/version.ipp>
#include <crier/sse/impl/encoder.ipp>
#include <crier/sse/impl/event_id.ipp>
#include <crier/sse/impl/parser.ipp>

#endif
