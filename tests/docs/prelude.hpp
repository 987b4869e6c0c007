// SPDX-License-Identifier: MIT
// Included before every documentation snippet: crier's Asio-free headers, and the few names of a
// host application that the snippets use without defining them.
#ifndef CRIER_TESTS_DOCS_PRELUDE_HPP
#define CRIER_TESTS_DOCS_PRELUDE_HPP

#include <crier/adapters/blocking_stream.hpp>
#include <crier/adapters/router.hpp>
#include <crier/adapters/server_options.hpp>
#include <crier/adapters/stream_service.hpp>
#include <crier/crier.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

/// The host's own session lookup, as the snippets call it: the user id behind a request.
[[maybe_unused]] inline std::optional<std::string> my_session_user(const crier::http::request& r) {
    return r.query_param("user");
}

#endif
