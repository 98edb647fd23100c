// The CA's certificate signer: holds the CA's key and certificate (made once
// per CA, replaced when the root rotates) and builds workload certificates
// the way control/ca/workload-signer.ts always did: v3, the caller's serial,
// the CA's subject as issuer, an empty subject, keyUsage (critical)
// digitalSignature+keyEncipherment, extKeyUsage serverAuth+clientAuth,
// basicConstraints (critical) CA:FALSE, the CA's key id as AKI when it has
// one, and the names as a critical subjectAltName; signed with SHA-256.
#ifndef ISTHMUS_X509_ISSUE_H_
#define ISTHMUS_X509_ISSUE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "x509_csr_asn1.h"
#include "x509_openssl_ptr.h"

namespace isthmus {

// A subject-alt-name longer than this is refused (the SPIFFE ID limit is 2048 bytes).
constexpr size_t kMaxIssueSanBytes = 2048;
// More names than this in one certificate are refused.
constexpr size_t kMaxIssueSans = 100;

struct IssueSan {
  enum class Type { kUri, kDns, kIp };
  Type type;
  std::string value;
};

// takes "URI:x", "DNS:x" or "IP:x"; returns false when the prefix is none of these.
bool ParseIssueSan(const std::string& text, IssueSan* out);

class CaSigner {
 public:
  // takes the signing certificate PEM and its private key PEM; returns the signer, or null with *error set.
  static std::unique_ptr<CaSigner> Create(const std::string& cert_pem, const std::string& key_pem, std::string* error);

  // takes the subject's public key (copied into the certificate as is), its names, the validity (unix seconds) and
  // a positive big-endian serial; returns the certificate PEM in *pem, or false with *error set.
  bool Issue(const CsrSpki* subject_key, const std::vector<IssueSan>& sans, int64_t not_before, int64_t not_after,
             const unsigned char* serial, size_t serial_length, std::string* pem, std::string* error) const;

 private:
  CaSigner() = default;

  EvpPkeyPtr key_;
  X509Ptr cert_;
  const EVP_MD* digest_ = nullptr;
  std::vector<X509ExtensionPtr> fixed_extensions_;  // the same in every certificate, in order
};

}  // namespace isthmus

#endif  // ISTHMUS_X509_ISSUE_H_
