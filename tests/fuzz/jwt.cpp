// SPDX-License-Identifier: MIT
// HS256 verification never accepts a token not signed with the key. Claims come from the fuzz
// input and are signed with the real key; oracles: a token accepted is byte for byte the one
// signed (each part re-encodes to itself), every mutation of it is refused, and a token taken
// straight from the input is accepted only if it is exactly its own correct signature.
#include <crier/adapters/jwt.hpp>

#include <fmt/format.h>

#include <limits>
#include <string>

#include "fuzz_support.hpp"

namespace {

const std::string key = "fuzz-key-0123456789abcdef01234567";

// True when `token` is header.payload.signature with every part canonical and the signature the
// key's HMAC of header.payload: the only tokens that may be accepted.
bool properly_signed(std::string_view token) {
    using crier::adapters::jwt_verifier;
    const auto dot1 = token.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos) return false;
    for (const auto part :
         {token.substr(0, dot1), token.substr(dot1 + 1, dot2 - dot1 - 1), token.substr(dot2 + 1)}) {
        const auto bytes = jwt_verifier::base64url_decode(part);
        if (!bytes || jwt_verifier::base64url_encode(*bytes) != part) return false;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const std::string_view input = token.substr(0, dot2);
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return jwt_verifier::base64url_encode(
               std::string_view(reinterpret_cast<const char*>(mac), len)) == token.substr(dot2 + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using crier::adapters::jwt_verifier;
    FuzzedDataProvider fdp(data, size);
    const jwt_verifier verifier({.secret = key,
                                 .leeway = std::chrono::seconds(fdp.ConsumeIntegralInRange(0, 60)),
                                 .require_exp = fdp.ConsumeBool()});
    std::error_code ec;

    // The input as a token: accepted only when it is a correct signature.
    const std::string raw = fdp.ConsumeRandomLengthString(512);
    if (verifier.verify(raw, ec)) CRIER_FUZZ_CHECK(properly_signed(raw));

    // Claims signed with the key: from the input as they are, or valid ones whose NumericDates
    // the input picks (integers to the int64 limits, fractions, exponents).
    std::string claims;
    if (fdp.ConsumeBool()) {
        claims = fdp.ConsumeRandomLengthString(512);
    } else {
        auto date = [&] {
            switch (fdp.ConsumeIntegralInRange(0, 3)) {
                case 0:
                    return std::to_string(fdp.ConsumeIntegral<std::int64_t>());
                case 1:
                    return std::to_string(std::numeric_limits<std::int64_t>::max());
                case 2:
                    return fmt::format("{}", fdp.ConsumeFloatingPoint<double>());
                default:
                    return std::string("9999999999");
            }
        };
        claims = fmt::format(R"({{"sub":"u","exp":{})", date());
        if (fdp.ConsumeBool()) claims += fmt::format(R"(,"nbf":{})", date());
        claims += "}";
    }
    const std::string token = jwt_verifier::sign(claims, key);
    CRIER_FUZZ_CHECK(properly_signed(token));
    if (!verifier.verify(token, ec)) return 0;

    // Every mutation the input picks is refused: a changed, appended, removed or padded byte.
    while (fdp.remaining_bytes() > 0) {
        std::string mutated = token;
        const auto at = fdp.ConsumeIntegralInRange<std::size_t>(0, mutated.size() - 1);
        switch (fdp.ConsumeIntegralInRange(0, 4)) {
            case 0:
                mutated[at] = static_cast<char>(fdp.ConsumeIntegral<unsigned char>());
                break;
            case 1:
                mutated.insert(at, 1, static_cast<char>(fdp.ConsumeIntegral<char>()));
                break;
            case 2:
                mutated.erase(at, 1);
                break;
            case 3:
                mutated.append(fdp.ConsumeIntegralInRange<std::size_t>(1, 3), '=');
                break;
            default:
                mutated.push_back(static_cast<char>(fdp.ConsumeIntegral<char>()));
                break;
        }
        if (mutated == token) continue;
        CRIER_FUZZ_CHECK(!verifier.verify(mutated, ec));
        CRIER_FUZZ_CHECK(ec == crier::errc::unauthorized);
    }
    return 0;
}
