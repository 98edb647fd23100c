// OpenSSL ASN.1 templates for a PKCS#10 request read without building an
// EVP_PKEY: OpenSSL 3.0's d2i_X509_REQ decodes the public key through its
// provider decoders, which cost more than the whole CSR's verification. Here
// the key stays an algorithm identifier and a BIT STRING (copied into the
// certificate as is), and the request info keeps its received encoding for
// the signature check. No ASN.1 is written by hand: OpenSSL's template
// machinery (asn1t.h) does the decoding.
#ifndef ISTHMUS_X509_CSR_ASN1_H_
#define ISTHMUS_X509_CSR_ASN1_H_

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <memory>

namespace isthmus {

// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
struct CsrSpki {
  X509_ALGOR* algorithm;
  ASN1_BIT_STRING* public_key;
};

// CertificationRequestInfo (RFC 2986); `enc` keeps the bytes as received, which the signature covers.
struct CsrInfo {
  ASN1_ENCODING enc;
  ASN1_INTEGER* version;
  ASN1_STRING* subject;  // a SEQUENCE, never read: the CA ignores the CSR's subject
  CsrSpki* spki;
  STACK_OF(X509_ATTRIBUTE)* attributes;
};

// CertificationRequest ::= SEQUENCE { info, signatureAlgorithm, signature BIT STRING }
struct CsrRaw {
  CsrInfo* info;
  X509_ALGOR* signature_algorithm;
  ASN1_BIT_STRING* signature;
};

// takes nothing; returns the template of CsrRaw (for ASN1_item_d2i / ASN1_item_free).
const ASN1_ITEM* CsrRawItem();
// takes nothing; returns the template of CsrSpki.
const ASN1_ITEM* CsrSpkiItem();

struct CsrRawFree { void operator()(CsrRaw* p) const { ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(p), CsrRawItem()); } };
struct CsrSpkiFree { void operator()(CsrSpki* p) const { ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(p), CsrSpkiItem()); } };
using CsrRawPtr = std::unique_ptr<CsrRaw, CsrRawFree>;
using CsrSpkiPtr = std::unique_ptr<CsrSpki, CsrSpkiFree>;

// takes DER and its length; returns the request (null when it does not decode; *consumed = bytes read).
CsrRawPtr DecodeCsrRaw(const unsigned char* der, long length, long* consumed);
// takes SPKI DER and its length; returns it (null when it does not decode or has bytes after it).
CsrSpkiPtr DecodeCsrSpki(const unsigned char* der, long length);

}  // namespace isthmus

#endif  // ISTHMUS_X509_CSR_ASN1_H_
