// SPDX-License-Identifier: MIT
// detail::insert_batch_item_ids: gives a flushed `batch` event's items their ids. A held event
// takes its seq only when its batch is flushed (the backplane assigns the items the seqs just
// below the batch's own), so the batch crosses the backplane without item ids and the sink
// writes them in when it encodes the frame: every node encodes the same frame.
#ifndef CRIER_CORE_DETAIL_BATCH_ITEMS_HPP
#define CRIER_CORE_DETAIL_BATCH_ITEMS_HPP

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace crier::detail {

/// Appends to `out` the JSON array `data` (a batch's items, each `{"type":..,"data":..}`) with
/// `"id":"<prefix><seq>",` inserted after the `{` of each top-level item, seqs counting up by
/// one from `first_seq`; returns how many ids it inserted. A JSON-aware scan: braces inside
/// strings (escapes included) and inside nested values are not items. Written so that the
/// frame has the exact shape of `{"id":"...","type":...,"data":...}` that crier's client and
/// browsers parse. An empty object item gets the id alone. May throw std::bad_alloc.
inline std::size_t insert_batch_item_ids(std::string_view data, std::string_view prefix,
                                         std::uint64_t first_seq, std::string& out) {
    out.reserve(out.size() + data.size() + (prefix.size() + 28) * 4);
    std::size_t inserted = 0;
    std::size_t depth = 0;  // of arrays and objects; the items are objects at depth 1
    bool in_string = false;
    for (std::size_t i = 0; i < data.size(); ++i) {
        const char c = data[i];
        out.push_back(c);
        if (in_string) {
            if (c == '\\' && i + 1 < data.size()) {
                out.push_back(data[++i]);  // the escaped character cannot end the string
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        switch (c) {
            case '"':
                in_string = true;
                break;
            case '[':
                ++depth;
                break;
            case ']':
            case '}':
                if (depth != 0) --depth;
                break;
            case '{': {
                if (depth++ != 1) break;
                char buf[24];
                const auto res = std::to_chars(buf, buf + sizeof buf, first_seq + inserted);
                out.append(R"("id":")").append(prefix).append(buf, res.ptr).push_back('"');
                ++inserted;
                std::size_t next = i + 1;
                while (next < data.size() && (data[next] == ' ' || data[next] == '\t' ||
                                              data[next] == '\n' || data[next] == '\r')) {
                    ++next;
                }
                if (next < data.size() && data[next] != '}') out.push_back(',');
                break;
            }
            default:
                break;
        }
    }
    return inserted;
}

}  // namespace crier::detail

#endif
