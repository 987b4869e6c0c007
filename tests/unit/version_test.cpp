// SPDX-License-Identifier: MIT
// crier's version at compile time and at run time.
#include <crier/version.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

TEST(version, text_matches_the_numbers) {
    const std::string expected = std::to_string(CRIER_VERSION_MAJOR) + "." +
                                 std::to_string(CRIER_VERSION_MINOR) + "." +
                                 std::to_string(CRIER_VERSION_PATCH);
    EXPECT_EQ(crier::version_string, expected);
    EXPECT_EQ(crier::version_string, "0.2.0");
    EXPECT_EQ(CRIER_VERSION, 200);
}

TEST(version, runtime_version_is_the_headers) {
    // In compiled mode version() comes from the library built in this tree; header-only, from
    // the header: either way, the same release as the headers here.
    EXPECT_EQ(crier::version(), crier::header_version);
    EXPECT_EQ(crier::version().major, CRIER_VERSION_MAJOR);
    EXPECT_EQ(crier::version().minor, CRIER_VERSION_MINOR);
    EXPECT_EQ(crier::version().patch, CRIER_VERSION_PATCH);
}

TEST(version, orders_by_major_then_minor_then_patch) {
    static_assert(crier::version_info{0, 2, 0} < crier::version_info{0, 2, 1});
    static_assert(crier::version_info{0, 2, 9} < crier::version_info{0, 10, 0});
    static_assert(crier::version_info{0, 99, 99} < crier::version_info{1, 0, 0});
    EXPECT_GT(crier::header_version, (crier::version_info{0, 1, 0}));
}

}  // namespace
