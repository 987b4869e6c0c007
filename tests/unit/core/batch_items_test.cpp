// SPDX-License-Identifier: MIT
// detail::insert_batch_item_ids: a flushed batch's items get their ids written in by the sink,
// with a JSON-aware scan that is not fooled by braces in strings or nested values.
#include <crier/core/detail/batch_items.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

namespace {

using crier::detail::insert_batch_item_ids;

std::string with_ids(std::string_view data, std::uint64_t first, std::size_t expected_count) {
    std::string out;
    EXPECT_EQ(insert_batch_item_ids(data, "abc-", first, out), expected_count) << data;
    return out;
}

TEST(batch_items, ids_go_first_in_each_item_in_order) {
    EXPECT_EQ(with_ids(R"([{"type":"t","data":"x"},{"type":"u","data":"y"}])", 41, 2),
              R"([{"id":"abc-41","type":"t","data":"x"},{"id":"abc-42","type":"u","data":"y"}])");
    EXPECT_EQ(with_ids(R"([{"type":"t","data":""}])", 18446744073709551615u, 1),
              R"([{"id":"abc-18446744073709551615","type":"t","data":""}])");
}

TEST(batch_items, braces_and_quotes_inside_strings_are_not_items) {
    // Data strings with braces, brackets, escaped quotes and an escaped backslash before the
    // closing quote: only the two top-level objects get ids.
    const std::string in = R"([{"type":"t","data":"{\"a\":[{}]}"},{"type":"t","data":"x\\"},)"
                           R"({"type":"t","data":"\\\"{"}])";
    const std::string out = with_ids(in, 7, 3);
    EXPECT_EQ(out, R"([{"id":"abc-7","type":"t","data":"{\"a\":[{}]}"},)"
                   R"({"id":"abc-8","type":"t","data":"x\\"},)"
                   R"({"id":"abc-9","type":"t","data":"\\\"{"}])");
    // Still valid JSON, with each item's data unchanged.
    simdjson::dom::parser p;
    simdjson::dom::array items;
    ASSERT_FALSE(p.parse(out).get_array().get(items));
    std::vector<std::string> data;
    for (auto item : items) {
        std::string_view d;
        ASSERT_FALSE(item["data"].get(d));
        data.emplace_back(d);
    }
    EXPECT_EQ(data, (std::vector<std::string>{R"({"a":[{}]})", "x\\", "\\\"{"}));
}

TEST(batch_items, nested_objects_are_not_items) {
    EXPECT_EQ(with_ids(R"([{"type":"t","data":{"k":{"n":[{}]}}}, {"type":"u"}])", 1, 2),
              R"([{"id":"abc-1","type":"t","data":{"k":{"n":[{}]}}}, {"id":"abc-2","type":"u"}])");
}

TEST(batch_items, an_empty_item_gets_the_id_alone_and_other_shapes_none) {
    EXPECT_EQ(with_ids(R"([{ },{}])", 3, 2), R"([{"id":"abc-3" },{"id":"abc-4"}])");
    EXPECT_EQ(with_ids(R"({"type":"t"})", 3, 0), R"({"type":"t"})");
    EXPECT_EQ(with_ids(R"([])", 3, 0), R"([])");
    EXPECT_EQ(with_ids("", 3, 0), "");
}

}  // namespace
