// Low-level EC_KEY / RSA / SHA-2 calls are deprecated in OpenSSL 3.0 but are what is fast there (see ParsedCsr).
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "x509_csr.h"

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include <cstdint>
#include <cstring>

namespace isthmus {
namespace {

const char kNotPem[] = "the CSR is not one PEM \"CERTIFICATE REQUEST\" block";
const char kNotPkcs10[] = "the CSR is not a valid PKCS#10 request: ";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// Consumes `word` at *pos when it is there.
bool Take(const char* s, size_t n, size_t* pos, const char* word) {
  size_t w = strlen(word);
  if (n - *pos < w || memcmp(s + *pos, word, w) != 0) return false;
  *pos += w;
  return true;
}

// Consumes "-----BEGIN " / "-----END " + optional "NEW " + "CERTIFICATE REQUEST-----".
bool TakeLabel(const char* s, size_t n, size_t* pos, const char* edge) {
  if (!Take(s, n, pos, edge)) return false;
  Take(s, n, pos, "NEW ");
  return Take(s, n, pos, "CERTIFICATE REQUEST-----");
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes base64 skipping CR/LF; '=' only as the final padding. False on anything else.
bool DecodeBase64(const char* s, size_t n, std::vector<unsigned char>* out) {
  out->reserve(n / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\r' || c == '\n') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    int v = Base64Value(c);
    if (v < 0 || padding) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<unsigned char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

// Why the last OpenSSL call failed, in a few words; clears the error queue.
std::string OpenSslReason() {
  unsigned long code = ERR_peek_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  ERR_clear_error();
  return reason != nullptr ? std::string(reason) : std::string("malformed DER");
}

std::string Dotted(const ASN1_OBJECT* obj) {
  char buf[128];
  int n = obj == nullptr ? -1 : OBJ_obj2txt(buf, sizeof buf, obj, 1);
  if (n <= 0) return std::string("(none)");
  return std::string(buf, static_cast<size_t>(n) < sizeof buf ? static_cast<size_t>(n) : sizeof buf - 1);
}

// Appends the names of one subjectAltName extension; false with *error when it does not decode.
bool ReadSubjectAltName(X509_EXTENSION* ext, CsrFacts* facts) {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
  if (!names) {
    ERR_clear_error();
    facts->extension_error = "its subjectAltName does not decode";
    return false;
  }
  int count = sk_GENERAL_NAME_num(names.get());
  for (int i = 0; i < count; i++) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_URI) {
      const ASN1_STRING* s = name->d.uniformResourceIdentifier;
      facts->uri_sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<size_t>(ASN1_STRING_length(s)));
    } else {
      facts->other_sans++;
    }
  }
  return true;
}

// Reads every extensionRequest attribute value (PKCS#9) for subjectAltNames.
void ReadRequestedNames(const STACK_OF(X509_ATTRIBUTE)* attributes, CsrFacts* facts) {
  int count = attributes == nullptr ? 0 : sk_X509_ATTRIBUTE_num(attributes);
  for (int i = 0; i < count; i++) {
    X509_ATTRIBUTE* attr = sk_X509_ATTRIBUTE_value(attributes, i);
    if (OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr)) != NID_ext_req) continue;
    int values = X509_ATTRIBUTE_count(attr);
    for (int j = 0; j < values; j++) {
      ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attr, j);
      if (value == nullptr || value->type != V_ASN1_SEQUENCE) {
        facts->extension_error = "an extensionRequest value is not a SEQUENCE of extensions";
        return;
      }
      const unsigned char* p = value->value.sequence->data;
      long length = value->value.sequence->length;
      X509ExtensionsPtr extensions(d2i_X509_EXTENSIONS(nullptr, &p, length));
      if (!extensions || p != value->value.sequence->data + length) {
        ERR_clear_error();
        facts->extension_error = "an extensionRequest value is not a SEQUENCE of extensions";
        return;
      }
      int extension_count = sk_X509_EXTENSION_num(extensions.get());
      for (int k = 0; k < extension_count; k++) {
        X509_EXTENSION* ext = sk_X509_EXTENSION_value(extensions.get(), k);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
        if (!ReadSubjectAltName(ext, facts)) return;
      }
    }
  }
}

// Builds the low-level key of a P-256/P-384 or RSA SubjectPublicKeyInfo into *csr (nothing for other keys).
void LoadKey(ParsedCsr* csr) {
  const CsrSpki* spki = csr->raw->info->spki;
  const ASN1_OBJECT* algorithm = nullptr;
  int type = 0;
  const void* value = nullptr;
  X509_ALGOR_get0(&algorithm, &type, &value, spki->algorithm);
  const unsigned char* p = ASN1_STRING_get0_data(spki->public_key);
  long length = ASN1_STRING_length(spki->public_key);
  int nid = OBJ_obj2nid(algorithm);
  if (nid == NID_X9_62_id_ecPublicKey && type == V_ASN1_OBJECT) {
    int curve = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(value));
    if (curve != NID_X9_62_prime256v1 && curve != NID_secp384r1) return;
    EC_KEY* key = EC_KEY_new_by_curve_name(curve);
    // o2i_ECPublicKey refuses a point that is not on the curve.
    if (key != nullptr && o2i_ECPublicKey(&key, &p, length) != nullptr) csr->ec_key.reset(key);
    else EC_KEY_free(key);
  } else if (nid == NID_rsaEncryption) {
    const unsigned char* start = p;
    RSA* key = d2i_RSAPublicKey(nullptr, &p, length);
    if (key != nullptr && p == start + length) csr->rsa_key.reset(key);
    else RSA_free(key);
  }
  ERR_clear_error();
}

}  // namespace

void EcKeyFree::operator()(EC_KEY* p) const { EC_KEY_free(p); }
void RsaFree::operator()(RSA* p) const { RSA_free(p); }

std::unique_ptr<ParsedCsr> ParseCsrPem(const char* pem, size_t length, std::string* error) {
  if (length > kMaxCsrPemBytes) {
    *error = "the CSR is " + std::to_string(length) + " bytes; at most " + std::to_string(kMaxCsrPemBytes) +
             " are accepted";
    return nullptr;
  }
  // The frame csr-reader.ts always accepted: optional space, one BEGIN line, base64 lines, END, optional space.
  size_t pos = 0;
  while (pos < length && IsSpace(pem[pos])) pos++;
  if (!TakeLabel(pem, length, &pos, "-----BEGIN ")) {
    *error = kNotPem;
    return nullptr;
  }
  Take(pem, length, &pos, "\r");
  if (!Take(pem, length, &pos, "\n")) {
    *error = kNotPem;
    return nullptr;
  }
  size_t body = pos;
  while (pos < length && (Base64Value(pem[pos]) >= 0 || pem[pos] == '=' || pem[pos] == '\r' || pem[pos] == '\n')) pos++;
  size_t body_end = pos;
  if (body_end == body || !TakeLabel(pem, length, &pos, "-----END ")) {
    *error = kNotPem;
    return nullptr;
  }
  while (pos < length && IsSpace(pem[pos])) pos++;
  if (pos != length) {
    *error = kNotPem;
    return nullptr;
  }
  std::vector<unsigned char> der;
  if (!DecodeBase64(pem + body, body_end - body, &der)) {
    *error = std::string(kNotPkcs10) + "its base64 body does not decode";
    return nullptr;
  }
  std::unique_ptr<ParsedCsr> csr(new ParsedCsr());
  long consumed = 0;
  csr->raw = DecodeCsrRaw(der.data(), static_cast<long>(der.size()), &consumed);
  if (!csr->raw) {
    *error = std::string(kNotPkcs10) + OpenSslReason();
    return nullptr;
  }
  size_t rest = der.size() - static_cast<size_t>(consumed);
  if (rest != 0) {
    *error = std::string(kNotPkcs10) + std::to_string(rest) + " bytes follow the request";
    return nullptr;
  }
  if (ASN1_INTEGER_get(csr->raw->info->version) != 0) {
    *error = std::string(kNotPkcs10) + "its version is not 1";
    return nullptr;
  }
  LoadKey(csr.get());
  return csr;
}

CsrFacts ReadCsrFacts(const ParsedCsr& csr) {
  CsrFacts facts;
  const CsrSpki* spki = csr.raw->info->spki;
  const ASN1_OBJECT* algorithm = nullptr;
  int type = 0;
  const void* value = nullptr;
  X509_ALGOR_get0(&algorithm, &type, &value, spki->algorithm);
  facts.key_algorithm = Dotted(algorithm);
  if (OBJ_obj2nid(algorithm) == NID_X9_62_id_ecPublicKey && type == V_ASN1_OBJECT) {
    const ASN1_OBJECT* curve = static_cast<const ASN1_OBJECT*>(value);
    facts.curve = Dotted(curve);
    int nid = OBJ_obj2nid(curve);
    int size = nid == NID_X9_62_prime256v1 ? 32 : nid == NID_secp384r1 ? 48 : 0;
    const unsigned char* point = ASN1_STRING_get0_data(spki->public_key);
    facts.ec_point_uncompressed = size > 0 && ASN1_STRING_length(spki->public_key) == 1 + 2 * size && point[0] == 4;
  }
  if (csr.ec_key) {
    facts.key_loaded = true;
    facts.key_bits = EC_GROUP_get_degree(EC_KEY_get0_group(csr.ec_key.get()));
  } else if (csr.rsa_key) {
    facts.key_loaded = true;
    facts.key_bits = RSA_bits(csr.rsa_key.get());
  }
  const ASN1_OBJECT* signature_oid = nullptr;
  X509_ALGOR_get0(&signature_oid, nullptr, nullptr, csr.raw->signature_algorithm);
  facts.signature_algorithm = Dotted(signature_oid);
  ReadRequestedNames(csr.raw->info->attributes, &facts);
  return facts;
}

bool VerifyCsrSignature(const ParsedCsr& csr) {
  const CsrInfo* info = csr.raw->info;
  const ASN1_BIT_STRING* signature = csr.raw->signature;
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, csr.raw->signature_algorithm);
  int algorithm = OBJ_obj2nid(oid);
  if (info->enc.enc == nullptr || info->enc.len <= 0 || (signature->flags & 7) != 0) return false;
  unsigned char digest[SHA512_DIGEST_LENGTH];
  size_t digest_length = 0;
  int digest_nid = 0;
  const unsigned char* tbs = info->enc.enc;
  size_t tbs_length = static_cast<size_t>(info->enc.len);
  switch (algorithm) {
    case NID_ecdsa_with_SHA256: case NID_sha256WithRSAEncryption:
      SHA256(tbs, tbs_length, digest), digest_length = SHA256_DIGEST_LENGTH, digest_nid = NID_sha256;
      break;
    case NID_ecdsa_with_SHA384: case NID_sha384WithRSAEncryption:
      SHA384(tbs, tbs_length, digest), digest_length = SHA384_DIGEST_LENGTH, digest_nid = NID_sha384;
      break;
    case NID_sha512WithRSAEncryption:
      SHA512(tbs, tbs_length, digest), digest_length = SHA512_DIGEST_LENGTH, digest_nid = NID_sha512;
      break;
    default:
      return false;
  }
  bool ecdsa = algorithm == NID_ecdsa_with_SHA256 || algorithm == NID_ecdsa_with_SHA384;
  bool ok = false;
  if (ecdsa && csr.ec_key) {
    // ECDSA_verify also refuses a signature whose DER is not the canonical encoding.
    ok = ECDSA_verify(0, digest, static_cast<int>(digest_length), ASN1_STRING_get0_data(signature),
                      ASN1_STRING_length(signature), csr.ec_key.get()) == 1;
  } else if (!ecdsa && csr.rsa_key) {
    ok = RSA_verify(digest_nid, digest, static_cast<unsigned int>(digest_length), ASN1_STRING_get0_data(signature),
                    static_cast<unsigned int>(ASN1_STRING_length(signature)), csr.rsa_key.get()) == 1;
  }
  ERR_clear_error();
  return ok;
}

}  // namespace isthmus
