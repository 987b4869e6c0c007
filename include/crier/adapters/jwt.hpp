// SPDX-License-Identifier: MIT
// HS256 JSON Web Tokens for the embedded server's authenticate hook (OpenSSL HMAC, simdjson
// claims). Needs the crier::jwt target, which links OpenSSL's libcrypto.
#ifndef CRIER_ADAPTERS_JWT_HPP
#define CRIER_ADAPTERS_JWT_HPP

#include <crier/adapters/server_options.hpp>
#include <crier/error.hpp>
#include <crier/http/request.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace crier::adapters {

/// How tokens are found and checked.
struct jwt_options {
    /// The HMAC-SHA256 key. Use at least 32 random bytes.
    std::string secret;
    /// Cookie that may carry the token when there is no `Authorization: Bearer` header.
    std::string cookie = "token";
    /// Accepted clock difference for `exp` and `nbf`.
    std::chrono::seconds leeway{30};
    /// Refuse tokens without `exp` (default: yes; a token that never expires is a liability).
    bool require_exp = true;
    /// When set, the `iss` claim must equal it.
    std::string issuer{};
    /// When set, the `aud` claim (string) must equal it.
    std::string audience{};
};

/// What a verified token says.
struct jwt_claims {
    std::string subject;     ///< `sub` (a string, or a number written in decimal)
    bool admin = false;      ///< `admin: true` or `role: "admin"`
    bool publisher = false;  ///< `publish: true`, or admin
    /// `exp` (NumericDate: fractional seconds allowed), clamped to ±2^33 s around 1970.
    std::optional<std::chrono::system_clock::time_point> expires;
};

/// Verifies HS256 tokens and turns them into principals. Stateless and thread-safe.
class jwt_verifier {
public:
    /// A verifier with these options (secret, cookie, leeway, required claims).
    explicit jwt_verifier(jwt_options options) : options_(std::move(options)) {}

    /// Verifies a compact JWS (`header.payload.signature`), each part canonical unpadded
    /// base64url. `exp` and `nbf` are JSON numbers of seconds (fractions allowed); one that is
    /// present but not such a number refuses the token. On failure returns nullopt and sets
    /// `ec` to errc::unauthorized; `why` (when given) names the reason.
    [[nodiscard]] std::optional<jwt_claims> verify(std::string_view token, std::error_code& ec,
                                                   std::string* why = nullptr) const {
        auto fail = [&](const char* reason) -> std::optional<jwt_claims> {
            ec = errc::unauthorized;
            if (why) *why = reason;
            return std::nullopt;
        };
        ec.clear();
        const auto dot1 = token.find('.');
        const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
        if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
            return fail("not a compact JWS");
        }
        const std::string_view signing_input = token.substr(0, dot2);
        const auto header = base64url_decode(token.substr(0, dot1));
        const auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
        const auto signature = base64url_decode(token.substr(dot2 + 1));
        if (!header || !payload || !signature) return fail("bad base64url");

        simdjson::dom::parser parser;
        simdjson::dom::element h;
        std::string_view alg;
        if (parser.parse(*header).get(h) || h["alg"].get_string().get(alg)) {
            return fail("bad header");
        }
        if (alg != "HS256") return fail("alg must be HS256");
        if (signature->size() != 32 ||
            CRYPTO_memcmp(signature->data(), sign_raw(signing_input, options_.secret).data(), 32) !=
                0) {
            return fail("bad signature");
        }

        simdjson::dom::element claims;
        if (parser.parse(*payload).get(claims) || !claims.is_object()) return fail("bad claims");
        jwt_claims out;
        std::string_view sub;
        std::int64_t sub_number = 0;
        if (!claims["sub"].get_string().get(sub)) {
            out.subject = std::string(sub);
        } else if (!claims["sub"].get_int64().get(sub_number)) {
            out.subject = std::to_string(sub_number);
        } else {
            return fail("no sub claim");
        }
        // Compare in (fractional) seconds as doubles: NumericDate may be non-integer (RFC 7519
        // §2), and nothing here can overflow, whatever the token says (exp = INT64_MAX is fine).
        const double now =
            std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        const auto leeway = static_cast<double>(options_.leeway.count());
        double exp = 0;
        switch (numeric_date(claims, "exp", exp)) {
            case claim::malformed:
                return fail("bad exp claim");
            case claim::absent:
                if (options_.require_exp) return fail("no exp claim");
                break;
            case claim::present:
                if (now > exp + leeway) return fail("token expired");
                // Saturate: a far-future exp in nanoseconds would overflow a time_point.
                out.expires = std::chrono::system_clock::time_point(
                    std::chrono::duration_cast<std::chrono::system_clock::duration>(
                        std::chrono::duration<double>(
                            std::clamp(exp, -max_expiry_seconds, max_expiry_seconds))));
                break;
        }
        double nbf = 0;
        switch (numeric_date(claims, "nbf", nbf)) {
            case claim::malformed:
                return fail("bad nbf claim");
            case claim::absent:
                break;
            case claim::present:
                if (now + leeway < nbf) return fail("token not yet valid");
                break;
        }
        std::string_view text;
        if (!options_.issuer.empty() &&
            (claims["iss"].get_string().get(text) || text != options_.issuer)) {
            return fail("wrong issuer");
        }
        if (!options_.audience.empty() &&
            (claims["aud"].get_string().get(text) || text != options_.audience)) {
            return fail("wrong audience");
        }
        bool flag = false;
        out.admin = (!claims["admin"].get_bool().get(flag) && flag) ||
                    (!claims["role"].get_string().get(text) && text == "admin");
        out.publisher = out.admin || (!claims["publish"].get_bool().get(flag) && flag);
        return out;
    }

    /// For server_options::authenticate: the token from `Authorization: Bearer …`, else from
    /// the cookie; nullopt (401) when absent or invalid.
    [[nodiscard]] std::optional<principal> authenticate(const http::request& request) const {
        std::string_view token;
        if (const auto auth = request.header("authorization");
            auth && auth->starts_with("Bearer ")) {
            token = auth->substr(7);
        } else if (const auto cookie = request.cookie(options_.cookie)) {
            token = *cookie;
        } else {
            return std::nullopt;
        }
        std::error_code ec;
        const auto claims = verify(token, ec);
        if (!claims) return std::nullopt;
        return principal{
            .user_id = claims->subject, .admin = claims->admin, .publisher = claims->publisher};
    }

    /// Signs `payload_json` (the claims) into a compact HS256 token. For tests and tools.
    [[nodiscard]] static std::string sign(std::string_view payload_json, std::string_view secret) {
        std::string token = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
        token.push_back('.');
        token += base64url_encode(payload_json);
        const std::string mac = sign_raw(token, secret);
        token.push_back('.');
        token += base64url_encode(mac);
        return token;
    }

    /// Base64url without padding.
    [[nodiscard]] static std::string base64url_encode(std::string_view bytes) {
        static constexpr char table[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        std::string out;
        out.reserve((bytes.size() + 2) / 3 * 4);
        std::uint32_t acc = 0;
        int bits = 0;
        for (const char c : bytes) {
            acc = (acc << 8) | static_cast<unsigned char>(c);
            bits += 8;
            while (bits >= 6) {
                bits -= 6;
                out.push_back(table[(acc >> bits) & 0x3f]);
            }
        }
        if (bits > 0) out.push_back(table[(acc << (6 - bits)) & 0x3f]);
        return out;
    }

    /// Canonical unpadded base64url (RFC 7515 §2, RFC 4648 §5): nullopt on a character outside
    /// the alphabet, on `=` padding, on a length that no encoding has (4n+1) and on non-zero
    /// unused bits in the last character. Exactly one text decodes to given bytes, so a token that
    /// verifies is byte for byte the one that was issued.
    [[nodiscard]] static std::optional<std::string> base64url_decode(std::string_view text) {
        if (text.size() % 4 == 1) return std::nullopt;
        std::string out;
        out.reserve(text.size() * 3 / 4);
        std::uint32_t acc = 0;
        int bits = 0;
        for (const char c : text) {
            int v = -1;
            if (c >= 'A' && c <= 'Z')
                v = c - 'A';
            else if (c >= 'a' && c <= 'z')
                v = c - 'a' + 26;
            else if (c >= '0' && c <= '9')
                v = c - '0' + 52;
            else if (c == '-')
                v = 62;
            else if (c == '_')
                v = 63;
            if (v < 0) return std::nullopt;
            acc = (acc << 6) | static_cast<std::uint32_t>(v);
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out.push_back(static_cast<char>((acc >> bits) & 0xff));
            }
        }
        // The 2 or 4 bits left over are padding that the encoder writes as zeros.
        if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
        return out;
    }

private:
    enum class claim { absent, present, malformed };

    /// Farthest expiry (either side of 1970) reported in jwt_claims::expires, about 272 years:
    /// what a time_point in nanoseconds holds with room to spare.
    static constexpr double max_expiry_seconds = 8589934592.0;  // 2^33

    /// Reads a NumericDate claim: any JSON number of seconds within the range of int64 (fractions
    /// allowed); anything else that is present — a string, a bool, null, an absurd number — is
    /// malformed, so the caller refuses the token instead of ignoring the claim.
    static claim numeric_date(simdjson::dom::element claims, const char* name, double& out) {
        simdjson::dom::element value;
        if (claims[name].get(value)) return claim::absent;
        std::int64_t i = 0;
        std::uint64_t u = 0;
        if (!value.get_int64().get(i)) {
            out = static_cast<double>(i);
        } else if (!value.get_uint64().get(u)) {
            return claim::malformed;  // past INT64_MAX: absurd
        } else if (value.get_double().get(out) || !std::isfinite(out) ||
                   !(out >= -9223372036854775808.0 && out < 9223372036854775808.0)) {
            return claim::malformed;
        }
        return claim::present;
    }

    static std::string sign_raw(std::string_view input, std::string_view secret) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
        return std::string(reinterpret_cast<const char*>(mac), len);
    }

    jwt_options options_;
};

}  // namespace crier::adapters

#endif
