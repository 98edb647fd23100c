// RAII owners for the OpenSSL objects the CA's CSR reader and certificate
// signer hold (the TLS engine's are in tls_openssl_ptr.h): unique_ptrs whose
// deleter is the object's free function, so no early return leaks one.
#ifndef ISTHMUS_X509_OPENSSL_PTR_H_
#define ISTHMUS_X509_OPENSSL_PTR_H_

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "tls_openssl_ptr.h"

namespace isthmus {

struct X509ExtensionFree { void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); } };
struct X509ExtensionsFree {
  void operator()(STACK_OF(X509_EXTENSION)* p) const { sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free); }
};
struct Asn1BitStringFree { void operator()(ASN1_BIT_STRING* p) const { ASN1_BIT_STRING_free(p); } };
struct ExtendedKeyUsageFree { void operator()(EXTENDED_KEY_USAGE* p) const { EXTENDED_KEY_USAGE_free(p); } };
struct BasicConstraintsFree { void operator()(BASIC_CONSTRAINTS* p) const { BASIC_CONSTRAINTS_free(p); } };
struct AuthorityKeyIdFree { void operator()(AUTHORITY_KEYID* p) const { AUTHORITY_KEYID_free(p); } };
struct GeneralNameFree { void operator()(GENERAL_NAME* p) const { GENERAL_NAME_free(p); } };

using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, X509ExtensionFree>;
using X509ExtensionsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), X509ExtensionsFree>;
using Asn1BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, Asn1BitStringFree>;
using ExtendedKeyUsagePtr = std::unique_ptr<EXTENDED_KEY_USAGE, ExtendedKeyUsageFree>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, BasicConstraintsFree>;
using AuthorityKeyIdPtr = std::unique_ptr<AUTHORITY_KEYID, AuthorityKeyIdFree>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, GeneralNameFree>;

}  // namespace isthmus

#endif  // ISTHMUS_X509_OPENSSL_PTR_H_
