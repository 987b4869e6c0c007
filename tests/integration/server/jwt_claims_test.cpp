// SPDX-License-Identifier: MIT
// The HS256 JWT helper against hostile tokens: NumericDate claims that are not plain int64
// (fractions, out of range, wrong JSON types), exp at the int64 limit, and non-canonical
// base64url that would let a token differing byte-wise from the issued one verify.
#include <crier/adapters/jwt.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace {

using crier::adapters::jwt_options;
using crier::adapters::jwt_verifier;

const std::string secret = "0123456789abcdef0123456789abcdef";

// Whole seconds since the epoch; the true time is in [now_s(), now_s() + 1).
std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// The reason a token is refused, or "" when it is accepted.
std::string verdict(const jwt_verifier& v, const std::string& token) {
    std::error_code ec;
    std::string why;
    const auto claims = v.verify(token, ec, &why);
    if (claims) {
        EXPECT_FALSE(ec);
        return "";
    }
    EXPECT_EQ(ec, crier::errc::unauthorized);
    EXPECT_FALSE(why.empty());
    return why;
}

std::string signed_claims(std::string_view claims) {
    return jwt_verifier::sign(claims, secret);
}

// `header.payload` encoded by the caller (possibly non-canonically), signed with the real key.
std::string sign_encoded(const std::string& header_b64, const std::string& payload_b64) {
    const std::string input = header_b64 + "." + payload_b64;
    // sign() encodes canonically itself, so the MAC over arbitrary text is computed here.
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return input + "." +
           jwt_verifier::base64url_encode(std::string(reinterpret_cast<const char*>(mac), len));
}

const std::string header_b64 = jwt_verifier::base64url_encode(R"({"alg":"HS256","typ":"JWT"})");

TEST(jwt_claims, fractional_nbf_in_the_future_is_not_yet_valid) {
    const jwt_verifier v({.secret = secret, .leeway = std::chrono::seconds(0)});
    const auto t = now_s();
    EXPECT_EQ(verdict(v, signed_claims(fmt::format(R"({{"sub":"u","exp":{},"nbf":{}.5}})", t + 7200,
                                                   t + 3600))),
              "token not yet valid");
    EXPECT_EQ(
        verdict(v, signed_claims(fmt::format(R"({{"sub":"u","exp":{},"nbf":9.9e9}})", t + 7200))),
        "token not yet valid");
    EXPECT_EQ(verdict(v, signed_claims(fmt::format(R"({{"sub":"u","exp":{},"nbf":{}e0}})", t + 7200,
                                                   t + 60))),
              "token not yet valid");
    // A fractional nbf already passed is fine.
    EXPECT_EQ(verdict(v, signed_claims(
                             fmt::format(R"({{"sub":"u","exp":{},"nbf":{}.5}})", t + 7200, t - 2))),
              "");
}

TEST(jwt_claims, fractional_exp_is_compared_not_ignored) {
    // Without require_exp, an ignored exp would make the token valid forever.
    const jwt_verifier v(
        {.secret = secret, .leeway = std::chrono::seconds(0), .require_exp = false});
    const auto t = now_s();
    EXPECT_EQ(verdict(v, signed_claims(fmt::format(R"({{"sub":"u","exp":{}.5}})", t - 3600))),
              "token expired");
    EXPECT_EQ(verdict(v, signed_claims(fmt::format(R"({{"sub":"u","exp":{}.5}})", t - 2))),
              "token expired");
    EXPECT_EQ(verdict(v, signed_claims(R"({"sub":"u","exp":1.5e9})")), "token expired");
    // Fractions count: the leeway and the half second add up.
    const jwt_verifier lenient(
        {.secret = secret, .leeway = std::chrono::seconds(10), .require_exp = false});
    EXPECT_EQ(verdict(lenient, signed_claims(fmt::format(R"({{"sub":"u","exp":{}.5}})", t - 5))),
              "");
    EXPECT_EQ(verdict(lenient, signed_claims(fmt::format(R"({{"sub":"u","exp":{}.5}})", t - 12))),
              "token expired");

    // A future fractional exp is accepted and reported.
    std::error_code ec;
    const auto claims = v.verify(signed_claims(R"({"sub":"u","exp":4000000000.5})"), ec);
    ASSERT_TRUE(claims) << ec.message();
    ASSERT_TRUE(claims->expires);
    // Within a microsecond: a double holds 4e18 ns to 512 ns.
    EXPECT_NEAR(std::chrono::duration<double>(claims->expires->time_since_epoch()).count(),
                4000000000.5, 1e-6);
}

TEST(jwt_claims, malformed_exp_or_nbf_refuses_the_token) {
    const jwt_verifier strict({.secret = secret});
    const jwt_verifier lax({.secret = secret, .require_exp = false});
    const auto future = now_s() + 3600;
    for (const std::string bad :
         {R"("9999999999")", "true", "false", "null", "{}", "[]", R"([9999999999])",
          "18446744073709551615", "9223372036854775808", "1e19", "-1e19", "1e300", "-1e300"}) {
        SCOPED_TRACE(bad);
        EXPECT_EQ(verdict(strict, signed_claims(fmt::format(R"({{"sub":"u","exp":{}}})", bad))),
                  "bad exp claim");
        EXPECT_EQ(verdict(lax, signed_claims(fmt::format(R"({{"sub":"u","exp":{}}})", bad))),
                  "bad exp claim");
        EXPECT_EQ(verdict(strict, signed_claims(fmt::format(R"({{"sub":"u","exp":{},"nbf":{}}})",
                                                            future, bad))),
                  "bad nbf claim");
        EXPECT_EQ(verdict(lax, signed_claims(fmt::format(R"({{"sub":"u","nbf":{}}})", bad))),
                  "bad nbf claim");
    }
}

TEST(jwt_claims, exp_at_the_int64_limit_saturates) {
    // exp + leeway used to overflow (undefined behaviour; in practice a wrapped, negative
    // expiry that refused the token).
    const jwt_verifier v({.secret = secret, .leeway = std::chrono::seconds(30)});
    const auto max = std::numeric_limits<std::int64_t>::max();
    std::error_code ec;
    const auto claims = v.verify(signed_claims(fmt::format(R"({{"sub":"u","exp":{}}})", max)), ec);
    ASSERT_TRUE(claims) << ec.message();
    ASSERT_TRUE(claims->expires);
    EXPECT_GT(*claims->expires, std::chrono::system_clock::now() + std::chrono::hours(24 * 365));
    // The other extremes: long expired, and a harmless nbf far in the past.
    const auto min = std::numeric_limits<std::int64_t>::min();
    EXPECT_EQ(verdict(v, signed_claims(fmt::format(R"({{"sub":"u","exp":{}}})", min))),
              "token expired");
    EXPECT_EQ(
        verdict(v, signed_claims(fmt::format(R"({{"sub":"u","exp":{},"nbf":{}}})", max, min))), "");
}

TEST(jwt_claims, base64url_must_be_canonical_and_unpadded) {
    EXPECT_EQ(jwt_verifier::base64url_decode("Zg"), "f");
    EXPECT_EQ(jwt_verifier::base64url_decode("Zm8"), "fo");
    EXPECT_EQ(jwt_verifier::base64url_decode(""), "");
    EXPECT_EQ(jwt_verifier::base64url_decode("Zg=="), std::nullopt);  // padding
    EXPECT_EQ(jwt_verifier::base64url_decode("Zm8="), std::nullopt);
    EXPECT_EQ(jwt_verifier::base64url_decode("Zh"), std::nullopt);     // unused bits 0001
    EXPECT_EQ(jwt_verifier::base64url_decode("Zm9"), std::nullopt);    // unused bits 01
    EXPECT_EQ(jwt_verifier::base64url_decode("Zm9vY"), std::nullopt);  // 4n+1 characters
    EXPECT_EQ(jwt_verifier::base64url_decode("Z=g"), std::nullopt);
}

TEST(jwt_claims, signature_variants_of_an_issued_token_are_refused) {
    const jwt_verifier v({.secret = secret});
    const std::string issued =
        signed_claims(fmt::format(R"({{"sub":"u","exp":{}}})", now_s() + 600));
    ASSERT_EQ(verdict(v, issued), "");
    EXPECT_NE(verdict(v, issued + "="), "");
    EXPECT_NE(verdict(v, issued + "=="), "");
    EXPECT_NE(verdict(v, issued + "==="), "");
    // 32 bytes take 43 characters: the last one carries 4 bits and 2 unused ones. Setting those
    // gives three other spellings of the same MAC.
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const auto last = alphabet.find(issued.back());
    ASSERT_NE(last, std::string::npos);
    ASSERT_EQ(last & 3, 0u);
    for (std::size_t low = 1; low < 4; ++low) {
        std::string variant = issued;
        variant.back() = alphabet[last | low];
        EXPECT_EQ(verdict(v, variant), "bad base64url") << variant;
    }
    // A signature of 4n+1 characters, and one of 33 bytes.
    EXPECT_EQ(verdict(v, issued + "AA"), "bad base64url");
    EXPECT_EQ(verdict(v, issued + "A"), "bad signature");
}

TEST(jwt_claims, non_canonical_header_or_payload_is_refused_even_when_signed) {
    // Signed with the real key over non-canonical text: the encoding itself is refused, so no
    // two texts of one token exist.
    const jwt_verifier v({.secret = secret});
    // 38 bytes: not a multiple of 3, so the canonical text has unused bits and could be padded.
    const std::string claims = fmt::format(R"({{"sub":"u","exp":{}}})", now_s() + 600);
    ASSERT_NE(claims.size() % 3, 0u);
    const std::string payload_b64 = jwt_verifier::base64url_encode(claims);
    ASSERT_EQ(verdict(v, sign_encoded(header_b64, payload_b64)), "");
    std::string padded = payload_b64;
    while (padded.size() % 4 != 0) padded.push_back('=');
    ASSERT_NE(padded, payload_b64) << "the claims' length must leave padding to add";
    EXPECT_EQ(verdict(v, sign_encoded(header_b64, padded)), "bad base64url");
    EXPECT_EQ(verdict(v, sign_encoded(header_b64 + "==", payload_b64)), "bad base64url");
    // A payload whose length leaves unused bits, spelled with them set.
    const std::string odd_claims = claims.size() % 3 == 0 ? claims + " " : claims;
    const std::string odd_b64 = jwt_verifier::base64url_encode(odd_claims);
    ASSERT_EQ(verdict(v, sign_encoded(header_b64, odd_b64)), "");
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string dirty = odd_b64;
    dirty.back() = alphabet[alphabet.find(dirty.back()) | 1];
    EXPECT_EQ(verdict(v, sign_encoded(header_b64, dirty)), "bad base64url");
}

}  // namespace
