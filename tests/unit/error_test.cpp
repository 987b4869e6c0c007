// SPDX-License-Identifier: MIT
// crier::errc and its category.
#include <crier/error.hpp>

#include <gtest/gtest.h>

namespace {

TEST(error, category_and_messages) {
    const std::error_code ec = crier::errc::reserved_type;
    EXPECT_STREQ(ec.category().name(), "crier");
    EXPECT_EQ(ec.message(), "event type is reserved (connected, resync, batch)");
    EXPECT_EQ(ec, crier::errc::reserved_type);
    EXPECT_NE(ec, crier::errc::invalid_type);
    for (int v = 1; v <= static_cast<int>(crier::errc::overloaded); ++v) {
        EXPECT_NE(crier::make_error_code(static_cast<crier::errc>(v)).message(),
                  "unknown crier error")
            << v;
    }
}

TEST(error, throw_error_carries_the_code) {
    try {
        crier::detail::throw_error(crier::errc::closed, "op");
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), crier::errc::closed);
        return;
    }
    FAIL();
}

}  // namespace
