// SPDX-License-Identifier: MIT
// A self-signed certificate made at run time (OpenSSL 3), for tests that serve TLS: no key
// material in the repository, and one that never expires between runs.
#ifndef CRIER_TEST_SUPPORT_TEST_CERTIFICATE_HPP
#define CRIER_TEST_SUPPORT_TEST_CERTIFICATE_HPP

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace crier::test {

/// A certificate and its private key, both PEM.
struct certificate {
    std::string cert_pem;
    std::string key_pem;
};

/// A self-signed P-256 certificate for CN=localhost, valid for an hour.
inline certificate make_certificate() {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
    X509_set_pubkey(x.get(), key.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x.get(), name);
    X509_sign(x.get(), key.get(), EVP_sha256());
    auto to_pem = [](auto write) {
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
        write(bio.get());
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio.get(), &data);
        return std::string(data, static_cast<std::size_t>(n));
    };
    return {to_pem([&](BIO* b) { PEM_write_bio_X509(b, x.get()); }), to_pem([&](BIO* b) {
                PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
            })};
}

}  // namespace crier::test

#endif
