// SPDX-License-Identifier: MIT
// crier::detail::append_json_string: the one JSON string writer every layer uses.
#include <crier/detail/json.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

std::string quoted(std::string_view text) {
    std::string out;
    crier::detail::append_json_string(out, text);
    return out;
}

TEST(json_string, escapes_quotes_backslashes_and_controls) {
    EXPECT_EQ(quoted(""), R"("")");
    EXPECT_EQ(quoted("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(quoted("\n\r\t"), R"("\n\r\t")");
    EXPECT_EQ(quoted(std::string_view("\x00\x1f", 2)), R"("\u0000\u001f")");
    EXPECT_EQ(quoted("caf\xc3\xa9 \xf0\x9f\x90\x8e"), "\"caf\xc3\xa9 \xf0\x9f\x90\x8e\"");
}

// Found by the server_route fuzz target: a 403 echoed a channel name's raw invalid UTF-8, so
// its body was not JSON.
TEST(json_string, invalid_utf8_becomes_replacement_characters) {
    EXPECT_EQ(quoted("user:\xfa\xff"), "\"user:\xef\xbf\xbd\xef\xbf\xbd\"");
    EXPECT_EQ(quoted("a\xc3"), "\"a\xef\xbf\xbd\"");  // truncated sequence
    EXPECT_EQ(quoted("\xed\xa0\x80\""),
              "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\\\"\"");  // surrogate
}

}  // namespace
