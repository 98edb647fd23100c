#include "x509_issue.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

namespace isthmus {
namespace {

// The last OpenSSL error as text (or `fallback`); clears the queue.
std::string OpenSslError(const char* fallback) {
  unsigned long code = ERR_peek_error();
  const char* reason = code == 0 ? nullptr : ERR_reason_error_string(code);
  ERR_clear_error();
  return std::string(fallback) + (reason != nullptr ? std::string(" (") + reason + ")" : std::string());
}

X509ExtensionPtr KeyUsageExtension() {
  Asn1BitStringPtr bits(ASN1_BIT_STRING_new());
  if (!bits || ASN1_BIT_STRING_set_bit(bits.get(), 0, 1) != 1 ||  // digitalSignature
      ASN1_BIT_STRING_set_bit(bits.get(), 2, 1) != 1) {  // keyEncipherment
    return nullptr;
  }
  return X509ExtensionPtr(X509V3_EXT_i2d(NID_key_usage, 1, bits.get()));
}

X509ExtensionPtr ExtendedKeyUsageExtension() {
  ExtendedKeyUsagePtr usages(sk_ASN1_OBJECT_new_null());
  if (!usages || sk_ASN1_OBJECT_push(usages.get(), OBJ_nid2obj(NID_server_auth)) <= 0 ||
      sk_ASN1_OBJECT_push(usages.get(), OBJ_nid2obj(NID_client_auth)) <= 0) {
    return nullptr;
  }
  return X509ExtensionPtr(X509V3_EXT_i2d(NID_ext_key_usage, 0, usages.get()));
}

X509ExtensionPtr BasicConstraintsExtension() {
  BasicConstraintsPtr constraints(BASIC_CONSTRAINTS_new());
  if (!constraints) return nullptr;
  constraints->ca = 0;
  return X509ExtensionPtr(X509V3_EXT_i2d(NID_basic_constraints, 1, constraints.get()));
}

// The CA's subjectKeyIdentifier as an authorityKeyIdentifier; null when the CA has none.
X509ExtensionPtr AuthorityKeyIdExtension(X509* ca) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(ca);
  if (ski == nullptr) return nullptr;
  AuthorityKeyIdPtr akid(AUTHORITY_KEYID_new());
  if (!akid) return nullptr;
  akid->keyid = ASN1_OCTET_STRING_dup(ski);
  if (akid->keyid == nullptr) return nullptr;
  return X509ExtensionPtr(X509V3_EXT_i2d(NID_authority_key_identifier, 0, akid.get()));
}

// Appends one name to *names; false with *error set when it cannot be encoded.
bool AddName(GENERAL_NAMES* names, const IssueSan& san, std::string* error) {
  GeneralNamePtr name(GENERAL_NAME_new());
  if (!name) return (*error = "out of memory", false);
  if (san.type == IssueSan::Type::kIp) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(san.value.c_str());
    if (ip == nullptr) {
      ERR_clear_error();
      *error = "\"" + san.value + "\" is not an IP address";
      return false;
    }
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip);
  } else {
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    if (text == nullptr || ASN1_STRING_set(text, san.value.data(), static_cast<int>(san.value.size())) != 1) {
      ASN1_IA5STRING_free(text);
      return (*error = "out of memory", false);
    }
    GENERAL_NAME_set0_value(name.get(), san.type == IssueSan::Type::kUri ? GEN_URI : GEN_DNS, text);
  }
  if (sk_GENERAL_NAME_push(names, name.get()) <= 0) return (*error = "out of memory", false);
  name.release();
  return true;
}

// Copies the subject's SubjectPublicKeyInfo into the certificate as received (no EVP_PKEY round trip: in
// OpenSSL 3.0 X509_set_pubkey encodes and decodes the key through its provider coders).
bool SetPublicKey(X509* x, const CsrSpki* spki) {
  const ASN1_OBJECT* algorithm = nullptr;
  int type = 0;
  const void* value = nullptr;
  X509_ALGOR_get0(&algorithm, &type, &value, spki->algorithm);
  void* parameter = nullptr;
  if (type == V_ASN1_OBJECT) {
    parameter = OBJ_dup(static_cast<const ASN1_OBJECT*>(value));
    if (parameter == nullptr) return false;
  } else if (type != V_ASN1_NULL && type != V_ASN1_UNDEF) {
    return false;  // explicit curve parameters and the like: the CA's policy refused those already
  }
  ASN1_OBJECT* oid = OBJ_dup(algorithm);
  int length = ASN1_STRING_length(spki->public_key);
  unsigned char* bits = length > 0 ? static_cast<unsigned char*>(OPENSSL_memdup(ASN1_STRING_get0_data(spki->public_key), length)) : nullptr;
  if (oid == nullptr || bits == nullptr ||
      X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), oid, type, parameter, bits, length) != 1) {
    ASN1_OBJECT_free(oid);
    if (type == V_ASN1_OBJECT) ASN1_OBJECT_free(static_cast<ASN1_OBJECT*>(parameter));
    OPENSSL_free(bits);
    return false;
  }
  return true;
}

}  // namespace

bool ParseIssueSan(const std::string& text, IssueSan* out) {
  static const struct { const char* prefix; size_t length; IssueSan::Type type; } kPrefixes[] = {
      {"URI:", 4, IssueSan::Type::kUri}, {"DNS:", 4, IssueSan::Type::kDns}, {"IP:", 3, IssueSan::Type::kIp}};
  for (const auto& p : kPrefixes) {
    if (text.compare(0, p.length, p.prefix) == 0) {
      out->type = p.type;
      out->value = text.substr(p.length);
      return true;
    }
  }
  return false;
}

std::unique_ptr<CaSigner> CaSigner::Create(const std::string& cert_pem, const std::string& key_pem, std::string* error) {
  std::unique_ptr<CaSigner> signer(new CaSigner());
  BioPtr cert_bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  if (cert_bio) signer->cert_.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!signer->cert_) return (*error = OpenSslError("the CA certificate is not a PEM certificate"), nullptr);
  BioPtr key_bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (key_bio) signer->key_.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!signer->key_) return (*error = OpenSslError("the CA key is not a PEM private key"), nullptr);
  int type = EVP_PKEY_get_base_id(signer->key_.get());
  if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) {
    *error = "the CA key is neither EC nor RSA";
    return nullptr;
  }
  if (X509_check_private_key(signer->cert_.get(), signer->key_.get()) != 1) {
    *error = OpenSslError("the CA key does not belong to the CA certificate");
    return nullptr;
  }
  // ecdsa-with-SHA256 or sha256WithRSAEncryption (PKCS#1 v1.5), whatever the key size, as before.
  signer->digest_ = EVP_sha256();
  X509ExtensionPtr fixed[] = {KeyUsageExtension(), ExtendedKeyUsageExtension(), BasicConstraintsExtension()};
  for (auto& ext : fixed) {
    if (!ext) return (*error = OpenSslError("cannot build the certificate extensions"), nullptr);
    signer->fixed_extensions_.push_back(std::move(ext));
  }
  X509ExtensionPtr akid = AuthorityKeyIdExtension(signer->cert_.get());
  ERR_clear_error();
  if (akid) signer->fixed_extensions_.push_back(std::move(akid));
  return signer;
}

bool CaSigner::Issue(const CsrSpki* subject_key, const std::vector<IssueSan>& sans, int64_t not_before, int64_t not_after,
                     const unsigned char* serial, size_t serial_length, std::string* pem, std::string* error) const {
  if (serial_length == 0 || serial_length > 20 || serial[0] == 0 || serial[0] > 0x7f) {
    *error = "the serial must be 1 to 20 bytes, positive, with no leading zero byte";
    return false;
  }
  if (sans.empty() || sans.size() > kMaxIssueSans) {
    *error = "a certificate needs 1 to " + std::to_string(kMaxIssueSans) + " subject-alt-names, not " +
             std::to_string(sans.size());
    return false;
  }
  for (const IssueSan& san : sans) {
    if (san.value.empty() || san.value.size() > kMaxIssueSanBytes) {
      *error = "a subject-alt-name is " + std::to_string(san.value.size()) + " bytes; 1 to " +
               std::to_string(kMaxIssueSanBytes) + " are accepted";
      return false;
    }
  }
  if (not_after <= not_before) {
    *error = "notAfter is not after notBefore";
    return false;
  }
  X509Ptr cert(X509_new());
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!cert || !names) return (*error = "out of memory", false);
  for (const IssueSan& san : sans) {
    if (!AddName(names.get(), san, error)) return false;
  }
  X509* x = cert.get();
  bool built = X509_set_version(x, X509_VERSION_3) == 1 &&
               ASN1_STRING_set(X509_get_serialNumber(x), serial, static_cast<int>(serial_length)) == 1 &&
               X509_set_issuer_name(x, X509_get_subject_name(cert_.get())) == 1 &&
               ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(not_before)) != nullptr &&
               ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(not_after)) != nullptr &&
               SetPublicKey(x, subject_key);
  for (size_t i = 0; built && i < fixed_extensions_.size(); i++) {
    built = X509_add_ext(x, fixed_extensions_[i].get(), -1) == 1;
  }
  // Critical: the subject is empty, so the SAN is the whole name (RFC 5280 4.2.1.6).
  built = built && X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), 1, X509V3_ADD_DEFAULT) == 1;
  if (!built) return (*error = OpenSslError("cannot build the certificate"), false);
  if (X509_sign(x, key_.get(), digest_) <= 0) return (*error = OpenSslError("cannot sign the certificate"), false);
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509(out.get(), x) != 1) return (*error = OpenSslError("cannot write the certificate"), false);
  char* data = nullptr;
  long length = BIO_get_mem_data(out.get(), &data);
  if (length <= 0) return (*error = "cannot write the certificate", false);
  pem->assign(data, static_cast<size_t>(length));
  return true;
}

}  // namespace isthmus
