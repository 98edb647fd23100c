// What a TLS context is built from: plain C++ values (PEM text, names, flags)
// so the engine can be configured from N-API today and from the native
// transport's C++ later, with no JS types in between.
#ifndef ISTHMUS_TLS_CONFIG_H_
#define ISTHMUS_TLS_CONFIG_H_

#include <string>
#include <vector>

namespace isthmus {

// One certificate chain (leaf first) and its private key, both PEM.
struct TlsCertificateConfig {
  std::string chain_pem;
  std::string key_pem;
};

// A subject-alt-name the peer's leaf certificate must carry (any one of the list).
struct SanMatcher {
  enum class Type { kUri, kDns };
  enum class Kind { kExact, kPrefix, kSuffix, kContains };
  Type type = Type::kUri;
  Kind kind = Kind::kExact;
  std::string value;
  bool ignore_case = false;
};

// Protocol versions as TLS wire numbers: 0x0303 = TLS 1.2, 0x0304 = TLS 1.3.
constexpr int kTls12 = 0x0303;
constexpr int kTls13 = 0x0304;

struct TlsContextConfig {
  bool server = true;
  // Server: one or more certificates, chosen by SNI (first = default). Client: at most one (a client certificate).
  std::vector<TlsCertificateConfig> certificates;
  // PEM bundle of trusted CAs; empty = the peer is not verified (Envoy's default without a validation_context).
  std::string trusted_ca_pem;
  std::vector<SanMatcher> san_matchers;
  // ALPN protocols in preference order.
  std::vector<std::string> alpn;
  int min_version = kTls12;
  int max_version = kTls13;
  // Server: refuse a handshake without a client certificate (needs trusted_ca_pem).
  bool require_client_certificate = false;
  // Server: session ticket key, 80 bytes (16 name + 32 HMAC + 32 AES); empty = a random key per context.
  std::string ticket_key;
};

}  // namespace isthmus

#endif  // ISTHMUS_TLS_CONFIG_H_
