// A TLS context: one SSL_CTX built once from a TlsContextConfig (certificates,
// trust bundle, ALPN, versions, client-certificate policy, ticket key).
// Sessions hold it by shared_ptr, so replacing a listener's context (a
// certificate reload) affects only new handshakes; the old one is freed when
// its last session ends. A context belongs to one thread (one worker).
#ifndef ISTHMUS_TLS_CONTEXT_H_
#define ISTHMUS_TLS_CONTEXT_H_

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tls_cert_info.h"
#include "tls_config.h"
#include "tls_openssl_ptr.h"

namespace isthmus {

class TlsContext {
 public:
  // takes a config; returns a context, or null with *error naming what was wrong.
  static std::shared_ptr<TlsContext> Create(const TlsContextConfig& config, std::string* error);

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ssl_ctx() const { return ctx_.get(); }
  bool server() const { return server_; }
  // SSL_VERIFY_* mode sessions use.
  int verify_mode() const { return verify_mode_; }
  const std::vector<SanMatcher>& san_matchers() const { return san_matchers_; }
  const std::vector<unsigned char>& alpn_wire() const { return alpn_wire_; }
  // Leaf certificate of each configured certificate, in config order.
  const std::vector<CertificateInfo>& certificates() const { return certificate_info_; }
  // Each certificate in the trust bundle.
  const std::vector<CertificateInfo>& trusted_cas() const { return ca_info_; }

  // takes an SNI name (may be null); returns the index of the certificate serving it (0 = the default).
  size_t CertificateIndexFor(const char* server_name) const;
  // takes an SSL and a certificate index; installs that certificate, chain and key on it. Returns success.
  bool UseCertificate(SSL* ssl, size_t index) const;

  // Client: takes a server name; returns a session to resume for it (owned by the caller), or null.
  SSL_SESSION* TakeResumableSession(const std::string& server_name);
  // Client: keeps a session (ownership taken) for later handshakes to the same server name.
  void KeepResumableSession(const std::string& server_name, SSL_SESSION* session);

 private:
  struct Certificate {
    X509Ptr leaf;
    X509StackPtr chain;
    EvpPkeyPtr key;
    std::vector<std::string> dns_names;  // lower-case
  };

  TlsContext() = default;
  bool LoadCertificate(const TlsCertificateConfig& config, size_t index, std::string* error);
  bool LoadTrust(const std::string& pem, std::string* error);
  bool UseCertificateOnCtx();

  SslCtxPtr ctx_;
  bool server_ = true;
  int verify_mode_ = SSL_VERIFY_NONE;
  std::vector<SanMatcher> san_matchers_;
  std::vector<unsigned char> alpn_wire_;
  std::vector<Certificate> certificates_;
  std::vector<CertificateInfo> certificate_info_;
  std::vector<CertificateInfo> ca_info_;
  std::unordered_map<std::string, SslSessionPtr> resumable_;
};

}  // namespace isthmus

#endif  // ISTHMUS_TLS_CONTEXT_H_
