#include "tls_context.h"

#include "tls_session.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstring>

namespace isthmus {
namespace {

// Client sessions kept for resumption per context; past this the map starts over.
constexpr size_t kMaxResumableSessions = 256;
// Bounds on what a config may hand us (a trust bundle of this size is far beyond any real one).
constexpr size_t kMaxPemBytes = 4 * 1024 * 1024;
constexpr size_t kMaxAlpnWireBytes = 65535;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

// Appends the OpenSSL error queue's first reason to a message and clears the queue.
std::string WithSslReason(const std::string& message) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return message;
  char reason[256];
  ERR_error_string_n(code, reason, sizeof reason);
  return message + " (" + reason + ")";
}

int ToSslVersion(int wire) { return wire == kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION; }

// The server's ALPN choice: its own first protocol the client offers; none in common = no ALPN (as Envoy).
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
               void* arg) {
  const TlsContext* context = static_cast<const TlsContext*>(arg);
  const std::vector<unsigned char>& ours = context->alpn_wire();
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, ours.data(), static_cast<unsigned int>(ours.size()), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Server: installs the certificate for the client's SNI before the server's first flight.
int SelectCertificate(SSL* ssl, void* arg) {
  const TlsContext* context = static_cast<const TlsContext*>(arg);
  size_t index = context->CertificateIndexFor(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
  if (index == 0) return 1;  // the default is already on the SSL_CTX
  return context->UseCertificate(ssl, index) ? 1 : 0;
}

// Client: keeps new session tickets for resumption.
int OnNewClientSession(SSL* ssl, SSL_SESSION* session) {
  TlsContext* context = static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const TlsSession* owner = static_cast<const TlsSession*>(SSL_get_app_data(ssl));
  if (context == nullptr || owner == nullptr) return 0;
  context->KeepResumableSession(owner->resume_key(), session);
  return 1;
}

bool WildcardMatches(const std::string& pattern, const std::string& name) {
  // "*.example.com" matches exactly one label before ".example.com".
  if (pattern.size() < 3 || pattern[0] != '*' || pattern[1] != '.') return false;
  size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return false;
  return name.compare(dot, std::string::npos, pattern, 1, std::string::npos) == 0;
}

}  // namespace

std::shared_ptr<TlsContext> TlsContext::Create(const TlsContextConfig& config, std::string* error) {
  ERR_clear_error();
  std::shared_ptr<TlsContext> context(new TlsContext());
  context->server_ = config.server;
  context->ctx_.reset(SSL_CTX_new(config.server ? TLS_server_method() : TLS_client_method()));
  SSL_CTX* ctx = context->ctx_.get();
  if (ctx == nullptr) {
    *error = WithSslReason("cannot create an SSL context");
    return nullptr;
  }
  SSL_CTX_set_app_data(ctx, context.get());
  if (config.min_version != kTls12 && config.min_version != kTls13) {
    *error = "minimum TLS version must be 1.2 or 1.3";
    return nullptr;
  }
  if (config.max_version != kTls12 && config.max_version != kTls13) {
    *error = "maximum TLS version must be 1.2 or 1.3";
    return nullptr;
  }
  if (config.min_version > config.max_version) {
    *error = "minimum TLS version is above the maximum";
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, ToSslVersion(config.min_version));
  SSL_CTX_set_max_proto_version(ctx, ToSslVersion(config.max_version));
  // No SSL_MODE_RELEASE_BUFFERS: it frees and mallocs OpenSSL's ~17 KB read and write buffers around every
  // record, a malloc/free pair per record on a busy connection; kept, they cost ~34 KB per open TLS connection.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);

  if (config.server && config.certificates.empty()) {
    *error = "a server context needs at least one certificate";
    return nullptr;
  }
  if (!config.server && config.certificates.size() > 1) {
    *error = "a client context takes at most one certificate";
    return nullptr;
  }
  for (size_t i = 0; i < config.certificates.size(); i++) {
    if (!context->LoadCertificate(config.certificates[i], i, error)) return nullptr;
  }
  if (!context->certificates_.empty() && !context->UseCertificateOnCtx()) {
    *error = WithSslReason("cannot install the certificate");
    return nullptr;
  }
  if (!config.trusted_ca_pem.empty() && !context->LoadTrust(config.trusted_ca_pem, error)) return nullptr;
  if (config.require_client_certificate && config.trusted_ca_pem.empty()) {
    *error = "require_client_certificate needs a trusted CA to verify the client certificate against";
    return nullptr;
  }
  if (!config.san_matchers.empty() && config.trusted_ca_pem.empty()) {
    *error = "subject-alt-name matching needs a trusted CA";
    return nullptr;
  }
  context->san_matchers_ = config.san_matchers;
  if (!config.trusted_ca_pem.empty()) {
    context->verify_mode_ = SSL_VERIFY_PEER;
    if (config.server && config.require_client_certificate) context->verify_mode_ |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }

  for (const std::string& protocol : config.alpn) {
    if (protocol.empty() || protocol.size() > 255) {
      *error = "an ALPN protocol name must be 1 to 255 bytes";
      return nullptr;
    }
    context->alpn_wire_.push_back(static_cast<unsigned char>(protocol.size()));
    context->alpn_wire_.insert(context->alpn_wire_.end(), protocol.begin(), protocol.end());
    if (context->alpn_wire_.size() > kMaxAlpnWireBytes) {
      *error = "the ALPN list is too long";
      return nullptr;
    }
  }

  if (config.server) {
    static const unsigned char kSessionIdContext[] = "isthmus";
    SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    if (!context->alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, context.get());
    if (context->certificates_.size() > 1) SSL_CTX_set_cert_cb(ctx, SelectCertificate, context.get());
    if (!config.ticket_key.empty()) {
      if (config.ticket_key.size() != 80) {
        *error = "a session ticket key must be exactly 80 bytes";
        return nullptr;
      }
      unsigned char key[80];
      memcpy(key, config.ticket_key.data(), sizeof key);
      if (SSL_CTX_set_tlsext_ticket_keys(ctx, key, sizeof key) != 1) {
        *error = WithSslReason("cannot set the session ticket key");
        return nullptr;
      }
    }
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, OnNewClientSession);
  }
  return context;
}

bool TlsContext::LoadCertificate(const TlsCertificateConfig& config, size_t index, std::string* error) {
  std::string which = "certificate " + std::to_string(index) + ": ";
  if (config.chain_pem.empty() || config.chain_pem.size() > kMaxPemBytes) {
    *error = which + "the certificate chain is empty or too large";
    return false;
  }
  if (config.key_pem.empty() || config.key_pem.size() > kMaxPemBytes) {
    *error = which + "the private key is empty or too large";
    return false;
  }
  Certificate cert;
  BioPtr chain_bio(BIO_new_mem_buf(config.chain_pem.data(), static_cast<int>(config.chain_pem.size())));
  cert.leaf.reset(chain_bio ? PEM_read_bio_X509(chain_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert.leaf) {
    *error = WithSslReason(which + "the certificate chain holds no PEM certificate");
    return false;
  }
  cert.chain.reset(sk_X509_new_null());
  for (;;) {
    X509* extra = PEM_read_bio_X509(chain_bio.get(), nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    if (sk_X509_push(cert.chain.get(), extra) == 0) {
      X509_free(extra);
      *error = which + "out of memory reading the chain";
      return false;
    }
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  BioPtr key_bio(BIO_new_mem_buf(config.key_pem.data(), static_cast<int>(config.key_pem.size())));
  cert.key.reset(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert.key) {
    *error = WithSslReason(which + "the private key is not a PEM private key");
    return false;
  }
  if (X509_check_private_key(cert.leaf.get(), cert.key.get()) != 1) {
    *error = WithSslReason(which + "the private key does not match the certificate");
    return false;
  }
  std::vector<std::string> dns;
  ReadSubjectAltNames(cert.leaf.get(), nullptr, &dns);
  for (std::string& name : dns) cert.dns_names.push_back(Lower(name));
  certificate_info_.push_back(ReadCertificateInfo(cert.leaf.get()));
  certificates_.push_back(std::move(cert));
  return true;
}

bool TlsContext::UseCertificateOnCtx() {
  const Certificate& cert = certificates_[0];
  if (SSL_CTX_use_certificate(ctx_.get(), cert.leaf.get()) != 1) return false;
  if (SSL_CTX_use_PrivateKey(ctx_.get(), cert.key.get()) != 1) return false;
  return SSL_CTX_set1_chain(ctx_.get(), cert.chain.get()) == 1;
}

bool TlsContext::LoadTrust(const std::string& pem, std::string* error) {
  if (pem.size() > kMaxPemBytes) {
    *error = "the trusted CA bundle is too large";
    return false;
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_.get());
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  for (;;) {
    X509Ptr ca(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!ca) break;
    if (X509_STORE_add_cert(store, ca.get()) != 1) {
      *error = WithSslReason("cannot add a trusted CA");
      return false;
    }
    ca_info_.push_back(ReadCertificateInfo(ca.get()));
  }
  ERR_clear_error();
  if (ca_info_.empty()) {
    *error = "the trusted CA bundle holds no PEM certificate";
    return false;
  }
  return true;
}

size_t TlsContext::CertificateIndexFor(const char* server_name) const {
  if (server_name == nullptr || certificates_.size() < 2) return 0;
  std::string name = Lower(server_name);
  for (size_t i = 0; i < certificates_.size(); i++) {
    for (const std::string& dns : certificates_[i].dns_names) {
      if (dns == name) return i;
    }
  }
  for (size_t i = 0; i < certificates_.size(); i++) {
    for (const std::string& dns : certificates_[i].dns_names) {
      if (WildcardMatches(dns, name)) return i;
    }
  }
  return 0;
}

bool TlsContext::UseCertificate(SSL* ssl, size_t index) const {
  if (index >= certificates_.size()) return false;
  const Certificate& cert = certificates_[index];
  return SSL_use_cert_and_key(ssl, cert.leaf.get(), cert.key.get(), cert.chain.get(), 1) == 1;
}

SSL_SESSION* TlsContext::TakeResumableSession(const std::string& server_name) {
  auto it = resumable_.find(server_name);
  if (it == resumable_.end()) return nullptr;
  SSL_SESSION* session = it->second.release();
  resumable_.erase(it);
  if (SSL_SESSION_is_resumable(session) != 1) {
    SSL_SESSION_free(session);
    return nullptr;
  }
  return session;
}

void TlsContext::KeepResumableSession(const std::string& server_name, SSL_SESSION* session) {
  if (resumable_.size() >= kMaxResumableSessions && resumable_.find(server_name) == resumable_.end()) {
    resumable_.clear();
  }
  resumable_[server_name].reset(session);
}

}  // namespace isthmus
