// SPDX-License-Identifier: MIT
// The chunked decoder against RFC 9112 §7.1, split at every byte.
#include <crier/client/chunked_decoder.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using crier::client::chunked_decoder;
using namespace std::literals;

struct decoded {
    std::string payload;
    bool done = false;
    std::size_t consumed = 0;  // of all input, in total
    std::error_code ec;
};

decoded decode_pieces(const std::vector<std::string_view>& pieces) {
    chunked_decoder d;
    decoded out;
    for (const auto piece : pieces) {
        std::size_t consumed = 0;
        out.ec =
            d.decode(piece, consumed, [&](std::string_view data) { out.payload.append(data); });
        out.consumed += consumed;
        if (out.ec || d.done()) break;
        EXPECT_EQ(consumed, piece.size());
    }
    out.done = d.done();
    return out;
}

// A body using every feature: extensions (with quoted strings), leading zeros, both hex cases,
// a chunk holding CRLF, trailers; then bytes that belong to the next response.
constexpr std::string_view full_body =
    "7;name=value;q=\"a;b\"\r\n"
    "id: 1\nd\r\n"
    "00A \r\n"
    "ata: x\n\n\r\n\r\n"
    "b\r\n"
    "data: more\n\r\n"
    "19\r\n"
    "event: horses:created\r\n\r\n\r\n"
    "0;last\r\n"
    "Trailer-One: 1\r\n"
    "Trailer-Two: two\r\n"
    "\r\n";
constexpr std::string_view full_payload =
    "id: 1\nd"
    "ata: x\n\n\r\n"
    "data: more\n"
    "event: horses:created\r\n\r\n";

TEST(chunked_decoder, decodes_a_whole_body) {
    const auto r = decode_pieces({full_body});
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.payload, full_payload);
    EXPECT_EQ(r.consumed, full_body.size());
}

TEST(chunked_decoder, same_result_split_at_every_byte) {
    for (std::size_t i = 0; i <= full_body.size(); ++i) {
        const auto r = decode_pieces({full_body.substr(0, i), full_body.substr(i)});
        EXPECT_FALSE(r.ec) << "split at " << i;
        EXPECT_TRUE(r.done) << "split at " << i;
        EXPECT_EQ(r.payload, full_payload) << "split at " << i;
        EXPECT_EQ(r.consumed, full_body.size()) << "split at " << i;
    }
}

TEST(chunked_decoder, same_result_split_at_every_pair_of_bytes) {
    for (std::size_t i = 0; i <= full_body.size(); ++i) {
        for (std::size_t j = i; j <= full_body.size(); ++j) {
            const auto r = decode_pieces(
                {full_body.substr(0, i), full_body.substr(i, j - i), full_body.substr(j)});
            ASSERT_FALSE(r.ec) << i << "," << j;
            ASSERT_TRUE(r.done) << i << "," << j;
            ASSERT_EQ(r.payload, full_payload) << i << "," << j;
        }
    }
}

TEST(chunked_decoder, same_result_byte_by_byte) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < full_body.size(); ++i) bytes.push_back(full_body.substr(i, 1));
    const auto r = decode_pieces(bytes);
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.payload, full_payload);
}

TEST(chunked_decoder, stops_at_the_end_of_the_body) {
    const std::string input = std::string(full_body) + "HTTP/1.1 200 OK\r\n";
    chunked_decoder d;
    std::string payload;
    std::size_t consumed = 0;
    EXPECT_FALSE(d.decode(input, consumed, [&](std::string_view s) { payload.append(s); }));
    EXPECT_TRUE(d.done());
    EXPECT_EQ(consumed, full_body.size());
    EXPECT_EQ(payload, full_payload);
    // More input after the end is not body.
    EXPECT_FALSE(
        d.decode("5\r\nhello\r\n", consumed, [&](std::string_view s) { payload.append(s); }));
    EXPECT_EQ(consumed, 0u);
    EXPECT_EQ(payload, full_payload);
}

TEST(chunked_decoder, accepts_bare_lf_line_ends) {
    const auto r = decode_pieces({"3\nabc\n0\n\n"});
    EXPECT_FALSE(r.ec);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.payload, "abc");
}

TEST(chunked_decoder, a_stream_that_never_ends_is_not_done) {
    const auto r = decode_pieces({"5\r\nhello\r\n", "3\r\nabc\r\n"});
    EXPECT_FALSE(r.ec);
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.payload, "helloabc");
}

TEST(chunked_decoder, largest_sizes) {
    chunked_decoder d;
    std::size_t consumed = 0;
    std::uint64_t bytes = 0;
    auto count = [&](std::string_view s) { bytes += s.size(); };
    EXPECT_FALSE(d.decode("0000000000000000000FFFFFFFFFFFFFFFF\r\nab", consumed, count));
    EXPECT_EQ(bytes, 2u);
    chunked_decoder overflow;
    EXPECT_EQ(overflow.decode("10000000000000000\r\n", consumed, count),
              crier::errc::protocol_error);
}

TEST(chunked_decoder, rejects_malformed_framing) {
    const std::string_view bad[] = {
        "\r\n"sv,             // no size
        "x\r\n"sv,            // not hex
        "5x\r\nhello\r\n"sv,  // junk after the size
        "5\r\nhelloX\r\n"sv,  // no CRLF after the data
        "5\r\nhello\rX"sv,    // CR without LF
        "5\rX"sv,             // CR without LF in the size line
        "0\r\n\rX"sv,         // CR without LF ending the trailers
        "-1\r\n"sv,           // sign
        "5;ext\0\r\n"sv,      // NUL
    };
    for (const auto input : bad) {
        const auto r = decode_pieces({input});
        EXPECT_EQ(r.ec, crier::errc::protocol_error) << testing::PrintToString(std::string(input));
    }
}

TEST(chunked_decoder, bounds_extensions_and_trailers) {
    std::string long_ext = "1;" + std::string(chunked_decoder::max_line_bytes, 'x') + "\r\na\r\n";
    EXPECT_EQ(decode_pieces({long_ext}).ec, crier::errc::protocol_error);
    std::string long_trailer =
        "0\r\nX: " + std::string(chunked_decoder::max_trailer_bytes, 'y') + "\r\n\r\n";
    EXPECT_EQ(decode_pieces({long_trailer}).ec, crier::errc::protocol_error);
}

// Leading zeros count towards the size line's bound: an endless "000…" is refused as soon as it
// is too long, not scanned forever, and the same however it is cut.
TEST(chunked_decoder, bounds_leading_zeros) {
    constexpr std::size_t max = chunked_decoder::max_line_bytes;
    const std::string endless(max + 1, '0');
    // Within the bound: max - 1 digits and the CR.
    const std::string longest = std::string(max - 2, '0') + "1\r\na\r\n0\r\n\r\n";
    for (const auto& [input, ok] :
         {std::pair{endless, false}, std::pair{endless + "1\r\na\r\n", false},
          std::pair{longest, true}}) {
        std::vector<std::string_view> bytewise;
        for (std::size_t i = 0; i < input.size(); ++i) {
            bytewise.push_back(std::string_view(input).substr(i, 1));
        }
        for (const auto& r : {decode_pieces({input}), decode_pieces(bytewise)}) {
            if (ok) {
                EXPECT_FALSE(r.ec);
                EXPECT_TRUE(r.done);
                EXPECT_EQ(r.payload, "a");
            } else {
                EXPECT_EQ(r.ec, crier::errc::protocol_error) << input.size();
            }
        }
    }
}

TEST(chunked_decoder, stays_failed_until_reset) {
    chunked_decoder d;
    std::size_t consumed = 0;
    auto ignore = [](std::string_view) {};
    EXPECT_EQ(d.decode("zz", consumed, ignore), crier::errc::protocol_error);
    EXPECT_EQ(d.decode("1\r\na\r\n", consumed, ignore), crier::errc::protocol_error);
    d.reset();
    std::string payload;
    EXPECT_FALSE(
        d.decode("1\r\na\r\n0\r\n\r\n", consumed, [&](std::string_view s) { payload += s; }));
    EXPECT_TRUE(d.done());
    EXPECT_EQ(payload, "a");
}

}  // namespace
