// The loop side of TLS in the native transport (socket_tls.h).
#include "socket_tls.h"

#include <algorithm>
#include <cstring>

namespace isthmus {
namespace {

// Joining parts up to this size into one record saves a record header, MAC and cipher call per part
// (a response's head and body become one record).
constexpr size_t kJoinLimit = 16 * 1024;
constexpr size_t kMaxCiphertextChunk = 1024 * 1024;
// Session-made output left unsent past this stops reading (Conn::tls_unasked). A handshake flight with a long
// chain is a few KB, and it is only counted while the peer is not reading.
constexpr size_t kTlsUnaskedLimit = 64 * 1024;

void ReportHandshake(Conn* c) {
  if (c->tls_done_reported || !(c->tls->status() & TlsSession::kHandshakeDone)) return;
  c->tls_done_reported = true;
  PushEvent(c->transport, c->id, kEventTlsHandshake, 0, 0);
}

void ReportFailure(Conn* c) {
  if (c->tls_failure_reported || !(c->tls->status() & TlsSession::kFailed)) return;
  c->tls_failure_reported = true;
  PushEvent(c->transport, c->id, kEventTlsFailed, 0, 0);
}

// Writes what the session produced (handshake flights, tickets, records, alerts) straight from the session's
// queue, in chunks of at most kMaxCiphertextChunk (each uv_buf length stays bounded whatever JS wrote at once);
// WriteConn copies what the kernel does not take. Returns WriteConn's last answer.
bool SendCiphertext(Conn* c) {
  TlsSession* s = c->tls.get();
  bool ok = true;
  for (size_t pending = s->PendingCiphertext(); pending > 0 && !c->closing; pending = s->PendingCiphertext()) {
    const size_t chunk = std::min(pending, kMaxCiphertextChunk);
    uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(s->CiphertextData())), static_cast<unsigned int>(chunk));
    ok = WriteConn(c, &buf, 1);
    s->ConsumeCiphertext(chunk);
  }
  return ok;
}

// SendCiphertext for what the session made while reading: counted against kTlsUnaskedLimit.
void SendSessionOutput(Conn* c) {
  const size_t before = c->Queued();
  SendCiphertext(c);
  if (c->closing || c->Queued() <= before) return;
  c->tls_unasked += c->Queued() - before;
  if (c->tls_unasked > kTlsUnaskedLimit) GateTlsReads(c);
}

void Backlog(Conn* c) {
  if (c->tls_backlogged) return;
  c->tls_backlogged = true;
  c->transport->tls_backlog.push_back(c->id);
  WakeNextTurn(c->transport);
}

// Decrypts into the read buffer and records DATA, flushing to JS when it fills; stops when JS pauses or closes
// the conn (what is left waits in the session for ResumeTls). Never called during a dispatch.
void Decrypt(Conn* c) {
  Transport* t = c->transport;
  TlsSession* s = c->tls.get();
  for (;;) {
    if (t->read_cap - t->read_used < kMinRead || t->event_count >= t->event_cap) Flush(t);
    if (c->closing) return;
    if (!c->reading) return;  // what is left waits for ResumeTls
    const size_t room = std::min(t->read_cap - t->read_used, kMaxRead);
    const size_t got = s->Read(reinterpret_cast<uint8_t*>(t->read_buf + t->read_used), room);
    SendSessionOutput(c);
    if (c->closing) return;
    ReportHandshake(c);
    if (got > 0) {
      const size_t at = t->read_used;
      t->read_used += got;
      PushEvent(t, c->id, kEventData, static_cast<int32_t>(at), static_cast<int32_t>(got));
    }
    ReportFailure(c);
    if (!(s->status() & TlsSession::kPlaintextPending)) return;
  }
}

}  // namespace

char* TlsReadBuffer(Transport* t) {
  if (t->tls_in.size() < kMaxRead) t->tls_in.resize(kMaxRead);
  return reinterpret_cast<char*>(t->tls_in.data());
}

void OnTlsCiphertext(Conn* c, size_t length) {
  TlsSession* s = c->tls.get();
  if (s->status() & TlsSession::kFailed) return;  // lingering after an alert: what the peer sends is dropped
  if (!s->Feed(c->transport->tls_in.data(), std::min(length, c->transport->tls_in.size()))) {
    SendSessionOutput(c);
    ReportFailure(c);
    return;
  }
  Decrypt(c);
}

void ServeTlsBacklog(Transport* t) {
  if (t->tls_backlog.empty()) return;
  std::vector<int32_t> ids;
  ids.swap(t->tls_backlog);
  for (int32_t id : ids) {
    Conn* c = FindConn(t, id);
    if (c == nullptr || !c->tls || !c->tls_backlogged) continue;
    c->tls_backlogged = false;
    Decrypt(c);
  }
}

bool StartTls(Conn* c, std::shared_ptr<TlsContext> context, const std::string& server_name, const SanMatcher* expected_san,
              std::string* error) {
  if (c->tls) {
    *error = "the connection already has TLS";
    return false;
  }
  std::unique_ptr<TlsSession> session = TlsSession::Create(std::move(context), server_name, expected_san, error);
  if (!session) return false;
  c->tls = std::move(session);
  if (!c->tls->context().server()) {
    c->tls->Advance();  // the ClientHello
    SendCiphertext(c);
    ReportFailure(c);
  }
  return true;
}

void FeedTls(Conn* c, const uint8_t* data, size_t length) {
  TlsSession* s = c->tls.get();
  if (s->status() & TlsSession::kFailed) return;
  // Called from JS (possibly inside a dispatch, while JS reads the read buffer): only the handshake advances
  // here; any application data waits for the backlog, which runs outside the dispatch.
  if (s->Feed(data, length)) s->Advance();
  SendSessionOutput(c);
  if (c->closing) return;
  ReportHandshake(c);
  ReportFailure(c);
  if (s->HasPendingInput()) Backlog(c);
}

bool WriteTls(Conn* c, const uv_buf_t* bufs, size_t count) {
  TlsSession* s = c->tls.get();
  if (c->closing || c->shut_pending) return true;
  if (!(s->status() & TlsSession::kHandshakeDone) || (s->status() & TlsSession::kFailed)) return true;
  size_t total = 0;
  for (size_t i = 0; i < count; i++) total += bufs[i].len;
  if (count > 1 && total <= kJoinLimit) {
    std::vector<uint8_t>& joined = c->transport->tls_plain;
    joined.resize(total);
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
      if (bufs[i].len > 0) memcpy(joined.data() + at, bufs[i].base, bufs[i].len);
      at += bufs[i].len;
    }
    s->Write(joined.data(), total);
  } else {
    for (size_t i = 0; i < count; i++) s->Write(reinterpret_cast<const uint8_t*>(bufs[i].base), bufs[i].len);
  }
  const bool ok = SendCiphertext(c);
  ReportFailure(c);
  return ok;
}

void ShutdownTls(Conn* c) {
  if (c->closing || c->shut_pending) return;
  c->tls->Shutdown();
  SendCiphertext(c);
}

void ResumeTls(Conn* c) {
  if (c->tls->HasPendingInput()) Backlog(c);
}

}  // namespace isthmus
