#include "tls_session.h"

#include <openssl/err.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace isthmus {
namespace {

// Ciphertext fed but not yet processed. Each Feed is followed by Read, which consumes everything it can;
// what is left is at most a partial record (<= ~16.6 KiB) unless the caller stops reading, so this only
// bounds a caller that feeds without reading.
constexpr size_t kMaxUnprocessedCiphertext = 1024 * 1024;

bool EqualsCase(const std::string& a, const std::string& b, bool ignore_case) {
  if (a.size() != b.size()) return false;
  if (!ignore_case) return a == b;
  for (size_t i = 0; i < a.size(); i++) {
    if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool MatchOne(const SanMatcher& m, const std::string& value) {
  const std::string& want = m.value;
  switch (m.kind) {
    case SanMatcher::Kind::kExact:
      return EqualsCase(value, want, m.ignore_case);
    case SanMatcher::Kind::kPrefix:
      return value.size() >= want.size() && EqualsCase(value.substr(0, want.size()), want, m.ignore_case);
    case SanMatcher::Kind::kSuffix:
      return value.size() >= want.size() &&
             EqualsCase(value.substr(value.size() - want.size()), want, m.ignore_case);
    case SanMatcher::Kind::kContains:
      if (want.size() > value.size()) return false;
      for (size_t i = 0; i + want.size() <= value.size(); i++) {
        if (EqualsCase(value.substr(i, want.size()), want, m.ignore_case)) return true;
      }
      return false;
  }
  return false;
}

bool MatchAny(const SanMatcher& m, const std::vector<std::string>& uris, const std::vector<std::string>& dns) {
  for (const std::string& v : m.type == SanMatcher::Type::kUri ? uris : dns) {
    if (MatchOne(m, v)) return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<TlsSession> TlsSession::Create(std::shared_ptr<TlsContext> context, const std::string& server_name,
                                               const SanMatcher* expected_san, std::string* error) {
  if (!context) {
    *error = "no TLS context";
    return nullptr;
  }
  std::unique_ptr<TlsSession> session(new TlsSession(context));
  session->ssl_.reset(SSL_new(context->ssl_ctx()));
  // Queue BIOs: an empty one reports "retry" rather than EOF, which is what a non-blocking socket does.
  BIO* in = NewQueueBio(&session->in_queue_);
  BIO* out = NewQueueBio(&session->out_queue_);
  if (!session->ssl_ || in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    *error = "out of memory creating a TLS session";
    return nullptr;
  }
  SSL* ssl = session->ssl_.get();
  SSL_set_bio(ssl, in, out);  // the SSL owns both from here
  SSL_set_app_data(ssl, session.get());
  SSL_set_verify(ssl, context->verify_mode(), VerifyCallback);
  if (expected_san != nullptr && !expected_san->value.empty()) {
    session->has_expected_san_ = true;
    session->expected_san_ = *expected_san;
  }
  if (context->server()) {
    SSL_set_accept_state(ssl);
  } else {
    if (session->has_expected_san_ && context->verify_mode() == SSL_VERIFY_NONE) {
      *error = "an expected subject-alt-name needs a trusted CA";
      return nullptr;
    }
    if (!server_name.empty()) {
      if (server_name.size() > 255 || SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1) {
        *error = "the SNI name is not valid";
        return nullptr;
      }
    }
    const std::vector<unsigned char>& alpn = context->alpn_wire();
    if (!alpn.empty() && SSL_set_alpn_protos(ssl, alpn.data(), static_cast<unsigned int>(alpn.size())) != 0) {
      *error = "cannot set the ALPN list";
      return nullptr;
    }
    // A resumed handshake skips certificate verification: a session is offered again only to a handshake with
    // the same name AND the same expected SAN, so one verified against a weaker check never satisfies a stricter one.
    session->resume_key_ = server_name;
    if (session->has_expected_san_) {
      const SanMatcher& m = session->expected_san_;
      session->resume_key_ += '\n';
      session->resume_key_ += static_cast<char>('0' + static_cast<int>(m.type));
      session->resume_key_ += static_cast<char>('0' + static_cast<int>(m.kind));
      session->resume_key_ += m.ignore_case ? 'i' : 'c';
      session->resume_key_ += m.value;
    }
    SSL_SESSION* resumable = context->TakeResumableSession(session->resume_key_);
    if (resumable != nullptr) {
      SSL_set_session(ssl, resumable);
      SSL_SESSION_free(resumable);
    }
    SSL_set_connect_state(ssl);
  }
  return session;
}

int TlsSession::VerifyCallback(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const TlsSession* session = ssl != nullptr ? static_cast<const TlsSession*>(SSL_get_app_data(ssl)) : nullptr;
  if (session == nullptr) return 0;
  if (!session->PeerSanAccepted(X509_STORE_CTX_get_current_cert(store))) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

bool TlsSession::PeerSanAccepted(X509* leaf) const {
  const std::vector<SanMatcher>& matchers = context_->san_matchers();
  if (matchers.empty() && !has_expected_san_) return true;
  std::vector<std::string> uris;
  std::vector<std::string> dns;
  ReadSubjectAltNames(leaf, &uris, &dns);
  if (has_expected_san_ && !MatchAny(expected_san_, uris, dns)) return false;
  if (matchers.empty()) return true;
  for (const SanMatcher& m : matchers) {
    if (MatchAny(m, uris, dns)) return true;
  }
  return false;
}

bool TlsSession::Feed(const uint8_t* data, size_t length) {
  if (status_ & kFailed) return false;
  if (length == 0) return true;
  if (length > kMaxUnprocessedCiphertext || in_queue_.size() + length > kMaxUnprocessedCiphertext) {
    Fail("too much unprocessed TLS input", 0);
    return false;
  }
  in_queue_.Append(data, length);
  return true;
}

void TlsSession::Fail(const char* what, int ssl_error) {
  if (status_ & kFailed) return;
  status_ |= kFailed;
  error_ = what;
  unsigned long code = ERR_peek_error();
  if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    error_ += ": ";
    error_ += reason;
  }
  long verify = SSL_get_verify_result(ssl_.get());
  if (verify != X509_V_OK) {
    error_ += verify == X509_V_ERR_APPLICATION_VERIFICATION ? " (peer certificate subject-alt-name not accepted)"
                                                            : std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  }
  ERR_clear_error();
}

bool TlsSession::DriveHandshake() {
  if (status_ & kHandshakeDone) return true;
  if (status_ & kFailed) return false;
  int r = SSL_do_handshake(ssl_.get());
  if (r == 1) {
    OnHandshakeDone();
    return true;
  }
  int e = SSL_get_error(ssl_.get(), r);
  if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) Fail("TLS handshake failed", e);
  return false;
}

void TlsSession::OnHandshakeDone() {
  status_ |= kHandshakeDone;
  SSL* ssl = ssl_.get();
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn != nullptr) peer_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sni != nullptr) peer_.server_name = sni;
  peer_.version = SSL_get_version(ssl);
  const char* cipher = SSL_get_cipher_name(ssl);
  if (cipher != nullptr) peer_.cipher = cipher;
  peer_.resumed = SSL_session_reused(ssl) == 1;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert != nullptr) {
    X509Ptr owned(cert);
    peer_.has_certificate = true;
    peer_.certificate = ReadCertificateInfo(cert);
  }
}

size_t TlsSession::Read(uint8_t* out, size_t capacity) {
  status_ &= ~kPlaintextPending;
  if (!DriveHandshake()) return 0;
  size_t total = 0;
  while (total < capacity && !(status_ & (kFailed | kPeerClosed))) {
    size_t room = std::min(capacity - total, static_cast<size_t>(INT_MAX));
    int r = SSL_read(ssl_.get(), out + total, static_cast<int>(room));
    if (r > 0) {
      total += static_cast<size_t>(r);
      // Nothing left to decrypt: another SSL_read would only find the queue empty (a partial record stays in
      // the queue or in OpenSSL's buffer until more arrives), so skip that call.
      if (in_queue_.size() == 0 && SSL_pending(ssl_.get()) == 0) break;
      continue;
    }
    int e = SSL_get_error(ssl_.get(), r);
    if (e == SSL_ERROR_ZERO_RETURN) {
      status_ |= kPeerClosed;
    } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      Fail("TLS read failed", e);
    }
    break;
  }
  if (total == capacity && (SSL_pending(ssl_.get()) > 0 || in_queue_.size() > 0)) status_ |= kPlaintextPending;
  return total;
}

size_t TlsSession::Write(const uint8_t* data, size_t length) {
  if ((status_ & kFailed) || !(status_ & kHandshakeDone)) return 0;
  size_t total = 0;
  while (total < length) {
    size_t chunk = std::min(length - total, static_cast<size_t>(INT_MAX));
    size_t written = 0;
    int r = SSL_write_ex(ssl_.get(), data + total, chunk, &written);
    if (r != 1) {
      int e = SSL_get_error(ssl_.get(), r);
      // The queue BIO never blocks a write; anything but success is fatal.
      Fail("TLS write failed", e);
      break;
    }
    total += written;
  }
  return total;
}

void TlsSession::Shutdown() {
  if (status_ & kFailed) return;
  if (SSL_shutdown(ssl_.get()) < 0) ERR_clear_error();
}

size_t TlsSession::PendingCiphertext() const { return out_queue_.size(); }

size_t TlsSession::TakeCiphertext(uint8_t* out, size_t capacity) { return out_queue_.Take(out, capacity); }

bool TlsSession::HasPendingInput() const {
  return !(status_ & (kFailed | kPeerClosed)) && (in_queue_.size() > 0 || SSL_pending(ssl_.get()) > 0);
}

}  // namespace isthmus
