#include "tls_cert_info.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "tls_openssl_ptr.h"

namespace isthmus {
namespace {

std::string NameText(const X509_NAME* name) {
  if (name == nullptr) return std::string();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return std::string();
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

int64_t TimeSeconds(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string AsnString(const ASN1_STRING* s) {
  if (s == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<size_t>(ASN1_STRING_length(s)));
}

}  // namespace

void ReadSubjectAltNames(X509* cert, std::vector<std::string>* uris, std::vector<std::string>* dns) {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  int count = sk_GENERAL_NAME_num(names.get());
  for (int i = 0; i < count; i++) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_URI && uris != nullptr) uris->push_back(AsnString(name->d.uniformResourceIdentifier));
    if (name->type == GEN_DNS && dns != nullptr) dns->push_back(AsnString(name->d.dNSName));
  }
}

CertificateInfo ReadCertificateInfo(X509* cert) {
  CertificateInfo info;
  if (cert == nullptr) return info;
  info.subject = NameText(X509_get_subject_name(cert));
  info.issuer = NameText(X509_get_issuer_name(cert));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  BIGNUM* bn = serial != nullptr ? ASN1_INTEGER_to_BN(serial, nullptr) : nullptr;
  if (bn != nullptr) {
    char* hex = BN_bn2hex(bn);
    if (hex != nullptr) {
      info.serial = hex;
      for (char& c : info.serial) c = static_cast<char>(c >= 'A' && c <= 'F' ? c + 32 : c);
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &digest_len) == 1) info.sha256 = Hex(digest, digest_len);
  info.not_before = TimeSeconds(X509_get0_notBefore(cert));
  info.not_after = TimeSeconds(X509_get0_notAfter(cert));
  ReadSubjectAltNames(cert, &info.uri_sans, &info.dns_sans);
  return info;
}

}  // namespace isthmus
