// SPDX-License-Identifier: MIT
// crier::client::parse_batch: unpacks the data of crier's reserved `batch` event.
#ifndef CRIER_CLIENT_BATCH_HPP
#define CRIER_CLIENT_BATCH_HPP

#include <crier/config.hpp>
#include <crier/error.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace crier::client {

/// One event carried inside a `batch` event.
struct batch_item {
    std::string id;    ///< the item's own event id; empty when it has none
    std::string type;  ///< e.g. `horses:created`
    std::string data;  ///< the original event data
    /// Equal when id, type and data are.
    friend bool operator==(const batch_item&, const batch_item&) = default;
};

/// Parses a `batch` event's data: a JSON array of `{"id", "type", "data"}` objects. `data` is the
/// original event data: a JSON string is taken as that text (unescaped), any other JSON value as
/// its exact JSON text; a missing `data` is empty. `id` may be a string or a number; `type` must be
/// a non-empty string. Other members are ignored. errc::invalid_json when the document is not such
/// an array; `out` is then unchanged.
[[nodiscard]] CRIER_DECL std::error_code parse_batch(std::string_view json,
                                                     std::vector<batch_item>& out);

}  // namespace crier::client

#if defined(CRIER_HEADER_ONLY)
#    include <crier/client/impl/batch.ipp>
#endif

#endif
