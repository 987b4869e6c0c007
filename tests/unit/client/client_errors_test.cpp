// SPDX-License-Identifier: MIT
// The error codes the EventSource client adds to crier::errc all have messages.
#include <crier/error.hpp>

#include <gtest/gtest.h>

namespace {

TEST(client_errors, every_code_has_a_message) {
    for (int v = static_cast<int>(crier::errc::end_of_stream);
         v <= static_cast<int>(crier::errc::tls_unavailable); ++v) {
        EXPECT_NE(crier::make_error_code(static_cast<crier::errc>(v)).message(),
                  "unknown crier error")
            << v;
    }
    EXPECT_EQ(std::error_code(crier::errc::unexpected_status).message(), "unexpected HTTP status");
}

}  // namespace
