// One TLS connection's state machine over in-memory queue BIOs (tls_bio.h): the transport feeds it
// ciphertext and sends what it produces; plaintext goes in and out through
// caller-owned buffers. It never touches a socket, so the same class serves
// the node:net transport (through tls_napi.cc) and a native one (from C++).
#ifndef ISTHMUS_TLS_SESSION_H_
#define ISTHMUS_TLS_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tls_bio.h"
#include "tls_context.h"

namespace isthmus {

// What a completed handshake tells about the peer and the connection.
struct TlsPeerInfo {
  std::string alpn;
  std::string server_name;  // SNI the client sent (server) or asked for (client)
  std::string version;  // "TLSv1.2" / "TLSv1.3"
  std::string cipher;
  bool resumed = false;
  bool has_certificate = false;
  CertificateInfo certificate;  // the peer's leaf, when it sent one
};

class TlsSession {
 public:
  // Status bits (TlsSession::status()).
  static constexpr uint32_t kHandshakeDone = 1;  // the handshake has completed
  static constexpr uint32_t kFailed = 2;  // a fatal error: send pending ciphertext (an alert), then close
  static constexpr uint32_t kPeerClosed = 4;  // the peer sent close_notify: no more plaintext will come
  static constexpr uint32_t kPlaintextPending = 8;  // Read stopped because `out` was full: call again

  // takes a context and, for a client, the SNI name to send (empty = none) and an extra SAN the server's
  // certificate must carry (kind exact or prefix; empty value = none); returns a session, or null with *error.
  static std::unique_ptr<TlsSession> Create(std::shared_ptr<TlsContext> context, const std::string& server_name,
                                            const SanMatcher* expected_san, std::string* error);
  ~TlsSession() = default;
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // takes ciphertext from the peer; returns false (and fails the session) past the unprocessed-input bound.
  bool Feed(const uint8_t* data, size_t length);
  // Advances the handshake and decrypts into out[0, capacity); returns the plaintext bytes written.
  size_t Read(uint8_t* out, size_t capacity);
  // takes plaintext to send; returns bytes taken (all of it once the handshake is done and the session is
  // healthy; 0 before the handshake completes or after a failure).
  size_t Write(const uint8_t* data, size_t length);
  // Queues close_notify.
  void Shutdown();
  // Ciphertext waiting to be sent.
  size_t PendingCiphertext() const;
  // takes a buffer; moves up to `capacity` bytes of pending ciphertext into it and returns how many.
  size_t TakeCiphertext(uint8_t* out, size_t capacity);
  // The pending ciphertext in place (PendingCiphertext() bytes; valid until the session runs again): a
  // transport sends from it, then drops what it sent with ConsumeCiphertext.
  const uint8_t* CiphertextData() const { return out_queue_.data(); }
  // takes a count (<= PendingCiphertext()); drops that many bytes of pending ciphertext.
  void ConsumeCiphertext(size_t length) { out_queue_.Consume(length); }
  // Advances the handshake without decrypting application data; returns whether it has completed.
  bool Advance() { return DriveHandshake(); }
  // Ciphertext fed and not yet processed, or decrypted plaintext not yet read: Read has more to give.
  bool HasPendingInput() const;

  uint32_t status() const { return status_; }
  const std::string& error() const { return error_; }
  // Valid once kHandshakeDone is set.
  const TlsPeerInfo& peer() const { return peer_; }
  const TlsContext& context() const { return *context_; }
  // Client: what its resumable sessions are kept under (the SNI name and the expected SAN).
  const std::string& resume_key() const { return resume_key_; }

 private:
  explicit TlsSession(std::shared_ptr<TlsContext> context) : context_(std::move(context)) {}
  static int VerifyCallback(int preverify_ok, X509_STORE_CTX* store);
  bool PeerSanAccepted(X509* leaf) const;
  void Fail(const char* what, int ssl_error);
  void OnHandshakeDone();
  bool DriveHandshake();

  std::shared_ptr<TlsContext> context_;  // keeps the context alive while the session lives
  // Ciphertext from the peer not yet decrypted, and ciphertext to send; declared before ssl_ so they outlive
  // the BIOs (owned by ssl_) that point at them.
  ByteQueue in_queue_;
  ByteQueue out_queue_;
  SslPtr ssl_;
  uint32_t status_ = 0;
  std::string error_;
  TlsPeerInfo peer_;
  std::string resume_key_;
  bool has_expected_san_ = false;
  SanMatcher expected_san_;
};

}  // namespace isthmus

#endif  // ISTHMUS_TLS_SESSION_H_
