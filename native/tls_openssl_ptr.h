// RAII owners for the OpenSSL objects the TLS engine holds: each is a
// unique_ptr whose deleter is the object's OpenSSL free function, so no path
// (early return on a bad PEM, a failed handshake) can leak one.
#ifndef ISTHMUS_TLS_OPENSSL_PTR_H_
#define ISTHMUS_TLS_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace isthmus {

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct SslSessionFree { void operator()(SSL_SESSION* p) const { SSL_SESSION_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct EvpPkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct X509StackFree { void operator()(STACK_OF(X509)* p) const { sk_X509_pop_free(p, X509_free); } };
struct GeneralNamesFree { void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); } };

using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, SslSessionFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

}  // namespace isthmus

#endif  // ISTHMUS_TLS_OPENSSL_PTR_H_
