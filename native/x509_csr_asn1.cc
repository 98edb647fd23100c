#include "x509_csr_asn1.h"

#include <openssl/asn1t.h>

#include <cstddef>

namespace isthmus {

ASN1_SEQUENCE(CsrSpki) = {
  ASN1_SIMPLE(CsrSpki, algorithm, X509_ALGOR),
  ASN1_SIMPLE(CsrSpki, public_key, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(CsrSpki)

ASN1_SEQUENCE_enc(CsrInfo, enc, 0) = {
  ASN1_SIMPLE(CsrInfo, version, ASN1_INTEGER),
  ASN1_SIMPLE(CsrInfo, subject, ASN1_SEQUENCE),
  ASN1_SIMPLE(CsrInfo, spki, CsrSpki),
  // Some requests omit an empty attribute set (OpenSSL's X509_REQ_INFO accepts that too).
  ASN1_IMP_SET_OF_OPT(CsrInfo, attributes, X509_ATTRIBUTE, 0),
} ASN1_SEQUENCE_END_enc(CsrInfo, CsrInfo)

ASN1_SEQUENCE(CsrRaw) = {
  ASN1_SIMPLE(CsrRaw, info, CsrInfo),
  ASN1_SIMPLE(CsrRaw, signature_algorithm, X509_ALGOR),
  ASN1_SIMPLE(CsrRaw, signature, ASN1_BIT_STRING),
} ASN1_SEQUENCE_END(CsrRaw)

const ASN1_ITEM* CsrRawItem() { return ASN1_ITEM_rptr(CsrRaw); }

const ASN1_ITEM* CsrSpkiItem() { return ASN1_ITEM_rptr(CsrSpki); }

CsrRawPtr DecodeCsrRaw(const unsigned char* der, long length, long* consumed) {
  const unsigned char* p = der;
  CsrRawPtr raw(reinterpret_cast<CsrRaw*>(ASN1_item_d2i(nullptr, &p, length, CsrRawItem())));
  *consumed = static_cast<long>(p - der);
  return raw;
}

CsrSpkiPtr DecodeCsrSpki(const unsigned char* der, long length) {
  const unsigned char* p = der;
  CsrSpkiPtr spki(reinterpret_cast<CsrSpki*>(ASN1_item_d2i(nullptr, &p, length, CsrSpkiItem())));
  if (spki && p != der + length) spki.reset();
  return spki;
}

}  // namespace isthmus
