// What JS (and the admin /certs view) may know about a certificate: names,
// serial, validity and digest, read once from an X509. Never key material.
#ifndef ISTHMUS_TLS_CERT_INFO_H_
#define ISTHMUS_TLS_CERT_INFO_H_

#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <vector>

namespace isthmus {

struct CertificateInfo {
  std::string subject;  // RFC 2253 form
  std::string issuer;
  std::string serial;  // lower-case hex
  std::string sha256;  // lower-case hex of the DER encoding's SHA-256
  int64_t not_before = 0;  // unix seconds
  int64_t not_after = 0;
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
};

// takes a certificate; returns its CertificateInfo.
CertificateInfo ReadCertificateInfo(X509* cert);

// takes a certificate; returns its URI and DNS subject-alt-names (appended to the two lists).
void ReadSubjectAltNames(X509* cert, std::vector<std::string>* uris, std::vector<std::string>* dns);

}  // namespace isthmus

#endif  // ISTHMUS_TLS_CERT_INFO_H_
