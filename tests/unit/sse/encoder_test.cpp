// SPDX-License-Identifier: MIT
// The encoder's exact bytes, its errors, and encode -> parse round trips of random payloads.
#include <crier/sse/encoder.hpp>
#include <crier/sse/parser.hpp>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

using crier::sse::event_fields;
using namespace std::chrono_literals;

std::string encoded(const event_fields& f) {
    std::string out;
    EXPECT_FALSE(crier::sse::append_event(out, f));
    EXPECT_EQ(out.size(), crier::sse::encoded_size(f));
    return out;
}

TEST(encoder, exact_bytes) {
    EXPECT_EQ(encoded({.id = "3f-1", .type = "horses:created", .data = "{\"id\":1}"}),
              "id: 3f-1\nevent: horses:created\ndata: {\"id\":1}\n\n");
    EXPECT_EQ(encoded({.data = "x"}), "data: x\n\n");
    EXPECT_EQ(encoded({.data = "x", .retry = 1500ms}), "retry: 1500\ndata: x\n\n");
}

TEST(encoder, line_breaks_become_data_lines) {
    EXPECT_EQ(encoded({.data = "a\nb"}), "data: a\ndata: b\n\n");
    EXPECT_EQ(encoded({.data = "a\rb"}), "data: a\ndata: b\n\n");
    EXPECT_EQ(encoded({.data = "a\r\nb"}), "data: a\ndata: b\n\n");
    EXPECT_EQ(encoded({.data = "a\n\nb"}), "data: a\ndata:\ndata: b\n\n");
    EXPECT_EQ(encoded({.data = "\n"}), "data:\ndata:\n\n");
    EXPECT_EQ(encoded({.data = "a\r\r\nb\n"}), "data: a\ndata:\ndata: b\ndata:\n\n");
}

TEST(encoder, event_without_id_then_stamped_id_fills_the_reserved_slot) {
    // A hub encodes before it knows the id and stamps it later: the data lines are split the
    // same way as append_event, and the stamp never reallocates.
    const std::string longest_prefix = "ffffffffffffffff-";
    for (std::string_view data : {"{\"id\":1}", "", "a\r\nb\rc\n\nd", "\n"}) {
        std::string out;
        crier::sse::append_event_without_id(out, "horses:created", data);
        std::string plain;
        ASSERT_FALSE(crier::sse::append_event(plain, {.type = "horses:created", .data = data}));
        EXPECT_EQ(out, plain.substr(0, plain.size() - 1)) << data;  // all but the blank line
        const auto* before = out.data();
        crier::sse::stamp_id(out, longest_prefix, UINT64_MAX);
        EXPECT_EQ(out.data(), before) << "the id slot was too small";
        EXPECT_EQ(out, plain.substr(0, plain.size() - 1) + "id: " + longest_prefix +
                           "18446744073709551615\n\n");
        crier::sse::parser p;
        int events = 0;
        ASSERT_FALSE(p.feed(out, [&](const crier::sse::event& e) {
            ++events;
            EXPECT_EQ(e.type, "horses:created");
            EXPECT_EQ(e.last_event_id, longest_prefix + "18446744073709551615");
        }));
        EXPECT_EQ(events, 1);
    }
}

TEST(encoder, empty_data_is_one_empty_data_line) {
    EXPECT_EQ(encoded({.data = ""}), "data:\n\n");
}

TEST(encoder, leading_space_survives) {
    const auto bytes = encoded({.data = " indented"});
    crier::sse::parser p;
    std::string got;
    (void)p.feed(bytes, [&](const crier::sse::event& e) { got = e.data; });
    EXPECT_EQ(got, " indented");
}

TEST(encoder, rejects_line_breaks_and_nul_in_id_and_type) {
    using namespace std::string_view_literals;
    for (auto bad : {"a\nb"sv, "a\rb"sv, "a\0b"sv}) {
        std::string out = "keep";
        EXPECT_EQ(crier::sse::append_event(out, {.id = bad, .data = "x"}),
                  crier::errc::invalid_field);
        EXPECT_EQ(crier::sse::append_event(out, {.type = bad, .data = "x"}),
                  crier::errc::invalid_field);
        EXPECT_EQ(out, "keep");
    }
}

TEST(encoder, rejects_invalid_utf8) {
    std::error_code ec;
    EXPECT_EQ(crier::sse::encode({.data = "a\xFF"}, ec), nullptr);
    EXPECT_EQ(ec, crier::errc::invalid_utf8);
    EXPECT_EQ(crier::sse::encode({.type = "\xC0\x80", .data = "x"}, ec), nullptr);
    EXPECT_EQ(ec, crier::errc::invalid_utf8);
    EXPECT_EQ(crier::sse::encode({.data = "\xED\xA0\x80"}, ec), nullptr);  // a surrogate
    EXPECT_EQ(ec, crier::errc::invalid_utf8);
}

TEST(encoder, throwing_overload_reports_the_code) {
    try {
        (void)crier::sse::encode(event_fields{.id = "a\nb", .data = "x"});
        FAIL() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), crier::errc::invalid_field);
        EXPECT_NE(std::string(e.what()).find("CR, LF or NUL"), std::string::npos) << e.what();
    }
}

TEST(encoder, frame_is_shared_and_exact) {
    const crier::sse::frame f = crier::sse::encode(event_fields{.type = "t", .data = "d"});
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(*f, "event: t\ndata: d\n\n");
    const crier::sse::frame copy = f;
    EXPECT_EQ(copy.get(), f.get());
}

TEST(encoder, comments_and_retry) {
    std::string out;
    crier::sse::append_comment(out, "");
    crier::sse::append_comment(out, "hb");
    crier::sse::append_comment(out, "a\nid: injected");
    EXPECT_EQ(out, ":\n: hb\n: a\n: id: injected\n");
    out.clear();
    crier::sse::append_retry(out, 2500ms);
    EXPECT_EQ(out, "retry: 2500\n\n");

    // Comments never reach a parser as events or ids.
    crier::sse::parser p;
    int events = 0;
    (void)p.feed(":\n: hb\n: a\n: id: injected\n\n", [&](const crier::sse::event&) { ++events; });
    EXPECT_EQ(events, 0);
    EXPECT_EQ(p.last_event_id(), "");
}

// What a receiver must see: the same text with CRLF and CR normalised to LF.
std::string normalise_line_breaks(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            out.push_back('\n');
            if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::string random_text(std::mt19937& rng, std::size_t max_len) {
    static const std::vector<std::string> pieces = {
        "a",         "b",    "Z",           " ",   ":",        "\n",           "\r",
        "\r\n",      "\n\n", "data: ",      "id:", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x90\xB4",
        "{\"k\":1}", "\t",   "\xEF\xBB\xBF"};
    std::uniform_int_distribution<std::size_t> len(0, max_len);
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
    std::string s;
    const std::size_t n = len(rng);
    for (std::size_t i = 0; i < n; ++i) s += pieces[pick(rng)];
    return s;
}

TEST(encoder, round_trips_random_payloads_under_random_chunking) {
    std::mt19937 rng(20261127);
    for (int round = 0; round < 300; ++round) {
        std::vector<std::string> payloads;
        std::string stream;
        for (int k = 0; k < 5; ++k) {
            payloads.push_back(random_text(rng, 40));
            const std::string id = "e-" + std::to_string(round * 5 + k);
            ASSERT_FALSE(crier::sse::append_event(
                stream, {.id = id, .type = "t:" + std::to_string(k), .data = payloads.back()}));
        }
        crier::sse::parser p;
        std::vector<std::string> got;
        std::vector<std::string> types;
        std::uniform_int_distribution<std::size_t> cut(1, 17);
        for (std::size_t i = 0; i < stream.size();) {
            const std::size_t n = std::min(cut(rng), stream.size() - i);
            ASSERT_FALSE(
                p.feed(std::string_view(stream).substr(i, n), [&](const crier::sse::event& e) {
                    got.emplace_back(e.data);
                    types.emplace_back(e.type);
                }));
            i += n;
        }
        ASSERT_EQ(got.size(), payloads.size());
        for (std::size_t k = 0; k < payloads.size(); ++k) {
            EXPECT_EQ(got[k], normalise_line_breaks(payloads[k])) << "round " << round;
            EXPECT_EQ(types[k], "t:" + std::to_string(k));
        }
        EXPECT_EQ(p.last_event_id(), "e-" + std::to_string(round * 5 + 4));
    }
}

TEST(encoder, round_trips_one_mebibyte_payloads) {
    std::mt19937 rng(7);
    std::string big;
    while (big.size() < (1u << 20)) big += random_text(rng, 64);
    for (const std::string& payload : {big, std::string(1u << 20, 'x')}) {
        const auto f = crier::sse::encode(event_fields{.id = "big", .data = payload});
        crier::sse::parser p;
        std::string got;
        int events = 0;
        // Fed in 4 KiB chunks, as a socket would deliver it.
        for (std::size_t i = 0; i < f->size(); i += 4096) {
            ASSERT_FALSE(
                p.feed(std::string_view(*f).substr(i, 4096), [&](const crier::sse::event& e) {
                    got = e.data;
                    ++events;
                }));
        }
        EXPECT_EQ(events, 1);
        EXPECT_EQ(got, normalise_line_breaks(payload));
    }
}

}  // namespace
