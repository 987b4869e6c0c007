// SPDX-License-Identifier: MIT
// Unpacking crier's reserved `batch` event.
#include <crier/client/batch.hpp>

#include <gtest/gtest.h>

#include <ostream>
#include <vector>

namespace crier::client {
// For readable failures.
void PrintTo(const batch_item& b, std::ostream* os) {
    *os << "{id=" << b.id << " type=" << b.type << " data=" << testing::PrintToString(b.data)
        << "}";
}
}  // namespace crier::client

namespace {

using crier::client::batch_item;

std::vector<batch_item> parsed(std::string_view json) {
    std::vector<batch_item> items;
    EXPECT_FALSE(crier::client::parse_batch(json, items)) << json;
    return items;
}

TEST(batch, string_data_is_taken_verbatim) {
    // The JSON escapes of the string are undone once: the data's own `\n` escape stays.
    EXPECT_EQ(
        parsed(R"([{"id":"e-5","type":"horses:created","data":"{\"id\":1,\"n\":\"A\\nB\"}"}])"),
        (std::vector<batch_item>{{"e-5", "horses:created", R"({"id":1,"n":"A\nB"})"}}));
    EXPECT_EQ(parsed(R"([{"type":"a:b","data":"line\nbreak \u00e9"}])")[0].data,
              "line\nbreak \xC3\xA9");
}

TEST(batch, other_data_is_its_raw_json_text) {
    const auto items = parsed(
        R"([ {"type":"a:b", "data": {"id": 2, "tags": [1, 2.50]} , "id":"x-1"},)"
        R"( {"data":[1, "two"],"type":"a:c"}, {"type":"a:d","data":12.50e1 },)"
        R"( {"type":"a:e","data":true}, {"type":"a:f","data":null}, {"type":"a:g","id":7} ])");
    ASSERT_EQ(items.size(), 6u);
    EXPECT_EQ(items[0], (batch_item{"x-1", "a:b", R"({"id": 2, "tags": [1, 2.50]})"}));
    EXPECT_EQ(items[1], (batch_item{"", "a:c", R"([1, "two"])"}));
    EXPECT_EQ(items[2], (batch_item{"", "a:d", "12.50e1"}));
    EXPECT_EQ(items[3], (batch_item{"", "a:e", "true"}));
    EXPECT_EQ(items[4], (batch_item{"", "a:f", "null"}));
    EXPECT_EQ(items[5], (batch_item{"7", "a:g", ""}));
}

TEST(batch, empty_batch) {
    EXPECT_TRUE(parsed("[]").empty());
}

TEST(batch, rejects_other_documents) {
    const std::string_view bad[] = {
        "",
        "{}",
        "[1]",
        R"([{"data":"x"}])",             // no type
        R"([{"type":""}])",              // empty type
        R"([{"type":7}])",               // type not a string
        R"([{"type":"a","id":{}}])",     // id not a string or number
        R"([{"type":"a","data":tru}])",  // invalid literal
        R"([{"type":"a"})",              // truncated
        R"([{"type":"a"}] [])",          // trailing content
        R"([{"type":"a"}] x)",
    };
    for (const auto json : bad) {
        std::vector<batch_item> items{{"keep", "me", ""}};
        EXPECT_EQ(crier::client::parse_batch(json, items), crier::errc::invalid_json) << json;
        EXPECT_EQ(items.size(), 1u) << json;
    }
}

}  // namespace
