// The CA's CSR reader: a PKCS#10 request as a peer sent it (PEM text,
// bounded), decoded by OpenSSL, and the facts the CA's policy needs (key
// algorithm and size, signature algorithm, requested names). The policy
// itself (which keys, which names) stays in control/ca/csr-reader.ts.
#ifndef ISTHMUS_X509_CSR_H_
#define ISTHMUS_X509_CSR_H_

#include <cstddef>
#include <string>
#include <vector>

#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "x509_csr_asn1.h"
#include "x509_openssl_ptr.h"

namespace isthmus {

// A CSR PEM longer than this is refused unread (as MAX_CSR_PEM_BYTES in csr-reader.ts).
constexpr size_t kMaxCsrPemBytes = 16 * 1024;

struct EcKeyFree { void operator()(EC_KEY* p) const; };
struct RsaFree { void operator()(RSA* p) const; };

// A decoded request and its public key as a low-level key (EC_KEY or RSA): OpenSSL 3.0's EVP_PKEY
// decoding and signature setup would cost more than the verification itself.
struct ParsedCsr {
  CsrRawPtr raw;
  std::unique_ptr<EC_KEY, EcKeyFree> ec_key;  // set for a P-256/P-384 key that is a point on its curve
  std::unique_ptr<RSA, RsaFree> rsa_key;  // set for a readable RSA key
};

struct CsrFacts {
  std::string key_algorithm;  // dotted OID of the SPKI algorithm
  std::string curve;  // dotted OID of an EC key's named curve; "" when none
  bool ec_point_uncompressed = false;  // an uncompressed point of exactly its named curve's size
  bool key_loaded = false;  // OpenSSL could build the public key (an EC point on its curve, an RSA key)
  int key_bits = 0;
  std::string signature_algorithm;  // dotted OID
  std::vector<std::string> uri_sans;
  size_t other_sans = 0;  // requested names that are not URIs
  std::string extension_error;  // "" or why the extension request cannot be read
};

// takes PEM text and its length; returns the decoded request with its key, or null with *error set to the
// refusal message.
std::unique_ptr<ParsedCsr> ParseCsrPem(const char* pem, size_t length, std::string* error);

// takes a decoded request; returns the facts the CA's policy checks.
CsrFacts ReadCsrFacts(const ParsedCsr& csr);

// takes a decoded request; returns whether its self-signature verifies with its own key (proof of possession).
bool VerifyCsrSignature(const ParsedCsr& csr);

}  // namespace isthmus

#endif  // ISTHMUS_X509_CSR_H_
