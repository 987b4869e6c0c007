// SPDX-License-Identifier: MIT
// crier::adapters::route_result: what crier's routes decided about one request.
#ifndef CRIER_ADAPTERS_ROUTE_RESULT_HPP
#define CRIER_ADAPTERS_ROUTE_RESULT_HPP

#include <crier/adapters/stream_settings.hpp>
#include <crier/http/response.hpp>

#include <optional>

namespace crier::adapters {

/// What routing decided: a complete response, or (for `GET events`) a stream to start with
/// async_stream() or blocking_stream.
struct route_result {
    /// The response, unless `stream` is set.
    http::response response{};
    /// The stream the request asked for, authorized; nullopt for every other route.
    std::optional<stream_request> stream{};
};

}  // namespace crier::adapters

#endif
