// TLS inside the native transport: a connection's TlsSession lives beside its
// socket (Conn::tls). Reads are ciphertext fed to the session and its
// plaintext is handed to JS as DATA records at offsets in the read buffer;
// JS writes plaintext that is encrypted here and written like any other
// bytes (so the write queue and its high-water mark count ciphertext). The
// handshake's end and a failure are events; ciphertext never reaches JS.
#ifndef ISTHMUS_SOCKET_TLS_H_
#define ISTHMUS_SOCKET_TLS_H_

#include <memory>
#include <string>

#include "socket_transport.h"
#include "tls_context.h"

namespace isthmus {

// takes a transport; returns the buffer (kMaxRead bytes) a TLS connection's ciphertext is read into.
char* TlsReadBuffer(Transport* t);
// takes a TLS conn and the length of what was just read into TlsReadBuffer; feeds and decrypts it.
void OnTlsCiphertext(Conn* c, size_t length);
// Decrypts what TLS conns left undecrypted (paused, or fed by JS); runs outside a dispatch (idle handle).
void ServeTlsBacklog(Transport* t);
// takes a conn, a context and, for a client, an SNI name ('' = none) and an extra SAN the server must carry
// (null = none); puts a session on the conn (a client sends its ClientHello now). false with *error when it
// cannot (bad name, already TLS).
bool StartTls(Conn* c, std::shared_ptr<TlsContext> context, const std::string& server_name, const SanMatcher* expected_san,
              std::string* error);
// takes a TLS conn and ciphertext JS held (the ClientHello the tls_inspector peeked at); feeds it as if read.
void FeedTls(Conn* c, const uint8_t* data, size_t length);
// takes a TLS conn and plaintext parts; encrypts and writes them; returns WriteConn's answer (false = over the
// high-water mark). Before the handshake completes or after a failure the parts are dropped (true).
bool WriteTls(Conn* c, const uv_buf_t* bufs, size_t count);
// takes a TLS conn; queues close_notify (ShutdownConn then half-closes after it).
void ShutdownTls(Conn* c);
// takes a TLS conn JS resumed; schedules decrypting what it left buffered while paused.
void ResumeTls(Conn* c);

// ---- socket_tls_napi.cc ----
// transportStartTls, transportTlsFeed, transportTlsPeer and transportTlsError on exports.
void RegisterSocketTls(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_SOCKET_TLS_H_
