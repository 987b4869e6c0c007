// SPDX-License-Identifier: MIT
// The parser against every rule of the WHATWG "interpret an event stream" algorithm.
#include <crier/sse/parser.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace {

struct recorded {
    std::string type;
    std::string data;
    std::string id;
    friend bool operator==(const recorded&, const recorded&) = default;
    friend std::ostream& operator<<(std::ostream& os, const recorded& r) {
        return os << "{type=" << r.type << " data=" << testing::PrintToString(r.data)
                  << " id=" << r.id << "}";
    }
};

std::vector<recorded> parse_chunks(crier::sse::parser& p, const std::vector<std::string>& chunks) {
    std::vector<recorded> out;
    for (const auto& c : chunks) {
        auto ec = p.feed(c, [&](const crier::sse::event& e) {
            out.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
        });
        EXPECT_FALSE(ec) << ec.message();
    }
    p.end_of_stream();
    return out;
}

std::vector<recorded> parse(std::string_view bytes) {
    crier::sse::parser p;
    return parse_chunks(p, {std::string(bytes)});
}

// The same bytes cut in two at every position, and fed one byte at a time, give the same events.
void expect_chunking_invariant(std::string_view bytes) {
    const auto whole = parse(bytes);
    for (std::size_t i = 0; i <= bytes.size(); ++i) {
        crier::sse::parser p;
        EXPECT_EQ(parse_chunks(p, {std::string(bytes.substr(0, i)), std::string(bytes.substr(i))}),
                  whole)
            << "split at " << i;
    }
    std::vector<std::string> bytewise;
    for (char c : bytes) bytewise.emplace_back(1, c);
    crier::sse::parser p;
    EXPECT_EQ(parse_chunks(p, bytewise), whole) << "byte by byte";
}

TEST(parser, simple_event_with_type_and_id) {
    EXPECT_EQ(parse("id: 7\nevent: horses:created\ndata: {\"id\":1}\n\n"),
              (std::vector<recorded>{{"horses:created", "{\"id\":1}", "7"}}));
}

TEST(parser, type_defaults_to_message) {
    EXPECT_EQ(parse("data: x\n\n"), (std::vector<recorded>{{"message", "x", ""}}));
}

TEST(parser, strips_one_leading_bom_only) {
    EXPECT_EQ(parse("\xEF\xBB\xBF"
                    "data: a\n\n"),
              (std::vector<recorded>{{"message", "a", ""}}));
    // A second BOM belongs to the first line's field name, which then matches no field.
    EXPECT_TRUE(parse("\xEF\xBB\xBF\xEF\xBB\xBF"
                      "data: a\n\n")
                    .empty());
    // A BOM later in the stream is not stripped either.
    EXPECT_EQ(parse("data: a\n\n\xEF\xBB\xBF"
                    "data: b\n\n"),
              (std::vector<recorded>{{"message", "a", ""}}));
    expect_chunking_invariant(
        "\xEF\xBB\xBF"
        "data: a\n\n");
}

TEST(parser, partial_bom_is_text) {
    // EF BB then 'd': not a BOM, so the bytes stay and break the field name.
    EXPECT_TRUE(parse("\xEF\xBB"
                      "data: a\n\n")
                    .empty());
    expect_chunking_invariant(
        "\xEF\xBB"
        "data: a\n\ndata: b\n\n");
}

TEST(parser, cr_lf_and_crlf_line_endings) {
    const std::vector<recorded> expected{{"message", "a\nb", ""}};
    EXPECT_EQ(parse("data: a\ndata: b\n\n"), expected);
    EXPECT_EQ(parse("data: a\rdata: b\r\r"), expected);
    EXPECT_EQ(parse("data: a\r\ndata: b\r\n\r\n"), expected);
    EXPECT_EQ(parse("data: a\rdata: b\r\n\n"), expected);
}

TEST(parser, crlf_split_across_chunks_is_one_line_end) {
    crier::sse::parser p;
    EXPECT_EQ(parse_chunks(p, {"data: a\r", "\n", "data: b\r", "\n\r", "\n"}),
              (std::vector<recorded>{{"message", "a\nb", ""}}));
}

TEST(parser, cr_at_end_of_chunk_followed_by_text) {
    crier::sse::parser p;
    EXPECT_EQ(parse_chunks(p, {"data: a\r", "data: b\r", "\r"}),
              (std::vector<recorded>{{"message", "a\nb", ""}}));
}

TEST(parser, comments_are_ignored) {
    EXPECT_EQ(parse(": heartbeat\n:\ndata: x\n: inside\n\n"),
              (std::vector<recorded>{{"message", "x", ""}}));
    EXPECT_TRUE(parse(": only a comment\n\n").empty());
}

TEST(parser, field_without_colon_has_empty_value) {
    EXPECT_EQ(parse("data\n\n"), (std::vector<recorded>{{"message", "", ""}}));
    EXPECT_EQ(parse("event\ndata: x\n\n"), (std::vector<recorded>{{"message", "x", ""}}));
}

TEST(parser, only_one_leading_space_is_removed) {
    EXPECT_EQ(parse("data:x\n\n")[0].data, "x");
    EXPECT_EQ(parse("data: x\n\n")[0].data, "x");
    EXPECT_EQ(parse("data:  x\n\n")[0].data, " x");
    EXPECT_EQ(parse("data:\tx\n\n")[0].data, "\tx");
    EXPECT_EQ(parse("event:  t\ndata\n\n")[0].type, " t");
}

TEST(parser, colon_in_value_is_kept) {
    EXPECT_EQ(parse("data: a:b: c\n\n")[0].data, "a:b: c");
}

TEST(parser, id_with_nul_is_ignored) {
    using namespace std::string_literals;
    EXPECT_EQ(parse("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"s),
              (std::vector<recorded>{{"message", "a", "1"}, {"message", "b", "1"}}));
}

TEST(parser, empty_id_resets_last_event_id) {
    EXPECT_EQ(
        parse("id: 1\ndata: a\n\nid\ndata: b\n\nid:\ndata: c\n\n"),
        (std::vector<recorded>{{"message", "a", "1"}, {"message", "b", ""}, {"message", "c", ""}}));
}

TEST(parser, id_persists_across_events_in_a_stream) {
    EXPECT_EQ(parse("id: 5\ndata: a\n\ndata: b\n\n"),
              (std::vector<recorded>{{"message", "a", "5"}, {"message", "b", "5"}}));
}

TEST(parser, id_without_data_updates_last_event_id_without_dispatch) {
    crier::sse::parser p;
    EXPECT_TRUE(parse_chunks(p, {"id: 9\n\n"}).empty());
    EXPECT_EQ(p.last_event_id(), "9");
}

TEST(parser, retry_only_when_all_ascii_digits) {
    auto retry_after = [](std::string_view bytes) {
        crier::sse::parser p;
        (void)p.feed(bytes, [](const crier::sse::event&) {});
        return p.reconnection_time();
    };
    EXPECT_EQ(retry_after("retry: 1500\n"), std::chrono::milliseconds(1500));
    EXPECT_EQ(retry_after("retry:0\n"), std::chrono::milliseconds(0));
    EXPECT_EQ(retry_after("retry: 15x\n"), std::nullopt);
    EXPECT_EQ(retry_after("retry: -1\n"), std::nullopt);
    EXPECT_EQ(retry_after("retry: 1.5\n"), std::nullopt);
    EXPECT_EQ(retry_after("retry: \n"), std::nullopt);
    EXPECT_EQ(retry_after("retry:  10\n"), std::nullopt);  // the second space is not a digit
    EXPECT_EQ(retry_after("retry: 100\nretry: bad\n"), std::chrono::milliseconds(100));
    EXPECT_EQ(retry_after("retry: 99999999999999999999999\n"),
              std::chrono::milliseconds(std::numeric_limits<std::int64_t>::max()));
}

TEST(parser, retry_applies_without_dispatch) {
    crier::sse::parser p;
    EXPECT_TRUE(parse_chunks(p, {"retry: 250\n"}).empty());
    EXPECT_EQ(p.reconnection_time(), std::chrono::milliseconds(250));
}

TEST(parser, final_lf_removed_and_lines_joined) {
    EXPECT_EQ(parse("data: a\ndata:\ndata: b\n\n")[0].data, "a\n\nb");
    EXPECT_EQ(parse("data:\ndata:\n\n")[0].data, "\n");
}

TEST(parser, empty_data_dispatches_nothing_and_resets_type) {
    EXPECT_EQ(parse("event: ignored\n\ndata: x\n\n"),
              (std::vector<recorded>{{"message", "x", ""}}));
}

TEST(parser, pending_event_discarded_at_end_of_stream) {
    crier::sse::parser p;
    EXPECT_TRUE(parse_chunks(p, {"data: a\n"}).empty());
    p.begin_stream();
    EXPECT_TRUE(parse_chunks(p, {"\n"}).empty());
    // An unterminated last line is discarded too.
    EXPECT_TRUE(parse("data: a\n\ndata: b").size() == 1);
}

TEST(parser, unknown_fields_are_ignored) {
    EXPECT_EQ(parse("foo: bar\nDATA: x\ndata: y\n\n"),
              (std::vector<recorded>{{"message", "y", ""}}));
}

TEST(parser, last_event_id_survives_reconnection_but_id_buffer_does_not) {
    crier::sse::parser p;
    EXPECT_EQ(parse_chunks(p, {"id: 3\ndata: a\n\n"}).back().id, "3");
    p.begin_stream();
    EXPECT_EQ(p.last_event_id(), "3");
    // A new stream starts with an empty id buffer, so an event without id resets it (WHATWG).
    EXPECT_EQ(parse_chunks(p, {"data: b\n\n"}).back().id, "");
}

TEST(parser, invalid_utf8_is_replaced) {
    EXPECT_EQ(parse("data: a\xFF"
                    "b\n\n")[0]
                  .data,
              "a\xEF\xBF\xBD"
              "b");
    // A truncated 3-byte sequence is one replacement character (maximal subpart).
    EXPECT_EQ(parse("data: \xE2\x82\n\n")[0].data, "\xEF\xBF\xBD");
    EXPECT_EQ(parse("data: \xE2\x82\xAC\n\n")[0].data, "\xE2\x82\xAC");
    EXPECT_EQ(parse("event: t\xC0\ndata: x\n\n")[0].type, "t\xEF\xBF\xBD");
}

TEST(parser, bounded_event_size) {
    crier::sse::parser p({.max_event_bytes = 16});
    auto ignore = [](const crier::sse::event&) {};
    EXPECT_FALSE(p.feed("data: 0123456789\n", ignore));
    EXPECT_EQ(p.feed("data: 0123456789\n", ignore), crier::errc::event_too_large);
    EXPECT_EQ(p.feed("data: x\n\n", ignore), crier::errc::event_too_large);  // stays failed
    p.begin_stream();
    int n = 0;
    EXPECT_FALSE(p.feed("data: x\n\n", [&](const crier::sse::event&) { ++n; }));
    EXPECT_EQ(n, 1);
    // An endless line is refused too.
    crier::sse::parser q({.max_event_bytes = 16});
    EXPECT_FALSE(q.feed("data: 0123", ignore));
    EXPECT_EQ(q.feed("456789abcdef", ignore), crier::errc::event_too_large);
}

// What feeding a stream in given chunks produced: the events, and where it failed (the index of
// the chunk whose feed() returned the error, or -1).
struct outcome {
    std::vector<recorded> events;
    std::error_code error;
    int failed_chunk = -1;
};

outcome feed_all(std::size_t max_event_bytes, const std::vector<std::string_view>& chunks) {
    crier::sse::parser p({.max_event_bytes = max_event_bytes});
    outcome out;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        const auto ec = p.feed(chunks[i], [&](const crier::sse::event& e) {
            EXPECT_LT(out.failed_chunk, 0) << "event after the error";
            out.events.push_back(
                {std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
        });
        if (ec && out.failed_chunk < 0) {
            out.error = ec;
            out.failed_chunk = static_cast<int>(i);
        }
        if (out.failed_chunk >= 0) {
            EXPECT_TRUE(ec) << "a failed parser must stay failed";
        }
    }
    return out;
}

// The limits too are independent of chunking: one whole feed, byte by byte and every split in
// two give the same events and the same error, reported by the chunk holding the byte at which
// the stream became too large.
void expect_limits_chunking_invariant(std::string_view bytes, std::size_t max_event_bytes,
                                      bool must_fail) {
    SCOPED_TRACE(testing::PrintToString(std::string(bytes)));
    const outcome whole = feed_all(max_event_bytes, {bytes});
    EXPECT_EQ(whole.error == crier::errc::event_too_large, must_fail) << whole.error.message();
    std::vector<std::string_view> bytewise;
    for (std::size_t i = 0; i < bytes.size(); ++i) bytewise.push_back(bytes.substr(i, 1));
    const outcome by_byte = feed_all(max_event_bytes, bytewise);
    EXPECT_EQ(by_byte.events, whole.events) << "byte by byte";
    EXPECT_EQ(by_byte.error, whole.error) << "byte by byte";
    for (std::size_t split = 0; split <= bytes.size(); ++split) {
        const outcome two =
            feed_all(max_event_bytes, {bytes.substr(0, split), bytes.substr(split)});
        EXPECT_EQ(two.events, whole.events) << "split at " << split;
        EXPECT_EQ(two.error, whole.error) << "split at " << split;
        if (by_byte.failed_chunk >= 0) {
            const int expected = static_cast<std::size_t>(by_byte.failed_chunk) < split ? 0 : 1;
            EXPECT_EQ(two.failed_chunk, expected) << "split at " << split;
        }
    }
}

TEST(parser, limits_do_not_depend_on_chunking) {
    constexpr std::size_t max = 16;
    const std::string over(20, 'x');    // longer than any line may be
    const std::string at_max(12, 'y');  // "id: " + 12 = 16 bytes: a line exactly at the bound
    const std::string ok = "data: a\n\n";
    for (const std::string& eol : {std::string("\n"), std::string("\r\n"), std::string("\r")}) {
        SCOPED_TRACE(testing::PrintToString(eol));
        // A line over the bound in each kind of field, after an event that must still arrive.
        for (const std::string_view field :
             {"data: ", "id: ", "event: ", ": ", "retry: ", "foo: ", ""}) {
            std::string bytes = ok + std::string(field) + over + eol + "data: b" + eol + eol;
            if (field == "retry: ")
                bytes = ok + std::string(field) + std::string(20, '7') + eol + eol;
            expect_limits_chunking_invariant(bytes, max, true);
        }
        // Event data over the bound, each line within it.
        expect_limits_chunking_invariant(
            ok + "data: 0123456789" + eol + "data: 0123456789" + eol + eol, max, true);
        // Exactly at the bounds: accepted however it is cut.
        expect_limits_chunking_invariant("id: " + at_max + eol + "event: " + std::string(9, 't') +
                                             eol + "data: " + std::string(10, 'd') + eol + eol +
                                             ": " + std::string(14, 'c') + eol,
                                         max, false);
        expect_limits_chunking_invariant("data: 0123456789" + eol + "data: 01234" + eol + eol, max,
                                         false);
    }
    // A partial BOM turned text counts towards its line.
    expect_limits_chunking_invariant("\xEF\xBB" + std::string(14, 'z') + "\n" + ok, max, false);
    expect_limits_chunking_invariant("\xEF\xBB" + std::string(15, 'z') + "\n" + ok, max, true);
}

TEST(parser, largest_bound_means_unbounded) {
    // max_event_bytes + 1 used to wrap to 0 here, refusing every data line.
    crier::sse::parser p({.max_event_bytes = std::numeric_limits<std::size_t>::max()});
    int n = 0;
    EXPECT_FALSE(p.feed("data: x\n\n", [&](const crier::sse::event& e) {
        EXPECT_EQ(e.data, "x");
        ++n;
    }));
    EXPECT_EQ(n, 1);
}

// The examples of WHATWG HTML §9.2.6.
TEST(parser, spec_example_stock_ticker) {
    EXPECT_EQ(parse("data: YHOO\ndata: +2\ndata: 10\n\n"),
              (std::vector<recorded>{{"message", "YHOO\n+2\n10", ""}}));
}

TEST(parser, spec_example_four_blocks) {
    constexpr std::string_view stream =
        ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\n"
        "data:  third event\n";
    EXPECT_EQ(parse(stream), (std::vector<recorded>{{"message", "first event", "1"},
                                                    {"message", "second event", ""}}));
    expect_chunking_invariant(stream);
}

TEST(parser, spec_example_empty_data) {
    EXPECT_EQ(parse("data\n\ndata\ndata\n\ndata:"),
              (std::vector<recorded>{{"message", "", ""}, {"message", "\n", ""}}));
}

TEST(parser, spec_example_space_after_colon) {
    EXPECT_EQ(parse("data:test\n\ndata: test\n\n"),
              (std::vector<recorded>{{"message", "test", ""}, {"message", "test", ""}}));
}

TEST(parser, every_split_point_gives_the_same_events) {
    expect_chunking_invariant(
        "\xEF\xBB\xBF: hello\r\nid: 1\r\nevent: horses:created\r\ndata: {\"a\":1}\r\n\r\n"
        "data: x\rdata: y\r\r: c\nretry: 300\nid\ndata: caf\xC3\xA9\n\ndata\n\n"
        "event: t\n\ndata: last\r\n\r\ndata: pending");
}

}  // namespace
