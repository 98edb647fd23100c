// The native transport: data-plane sockets read and written by the addon on
// the calling thread's libuv loop (uv_poll_t + read/writev), with every event
// of one loop turn handed to JS in ONE call as records in an Int32Array, and
// read bytes placed at offsets in one buffer JS already holds.
//
// Per-thread state: one Transport per napi_env (napi instance data), so each
// worker thread has its own sockets, batch and buffer.
#ifndef ISTHMUS_SOCKET_TRANSPORT_H_
#define ISTHMUS_SOCKET_TRANSPORT_H_

#include <napi.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tls_session.h"

namespace isthmus {

// Record codes (the second int32 of a record); the JS side mirrors them (src/native.ts TRANSPORT_EVENT).
enum TransportEvent : int32_t {
  kEventData = 1,           // offset, length into the read buffer
  kEventEof = 2,            // the peer half-closed
  kEventError = 3,          // third field: errno (positive)
  kEventConnected = 4,      // an upstream connect succeeded
  kEventConnectFailed = 5,  // third field: errno (ETIMEDOUT for the connect timeout); CLOSED follows
  kEventWritable = 6,       // the write queue drained after a write returned false
  kEventClosed = 7,         // last record for this id; the id may be reused afterwards
  kEventTimeout = 8,        // no read or write for the idle timeout
  kEventTlsHandshake = 9,   // the connection's TLS handshake completed (transportTlsPeer tells the rest)
  kEventTlsFailed = 10,     // its TLS session failed (transportTlsError says why); the alert is queued
};

constexpr int kRecordInts = 4;  // id, code, a, b

struct Transport;

struct Conn {
  uv_poll_t poll;
  uv_timer_t timer;
  Transport* transport = nullptr;
  int fd = -1;
  int32_t id = -1;
  int poll_events = 0;         // what the poll watches now
  int open_handles = 0;        // handles not yet closed (poll, timer)
  bool reading = true;         // JS wants reads (resume) or not (pause)
  bool connecting = false;
  bool eof = false;
  bool half_open = false;      // the peer's FIN ends reading only; our side ends when JS shuts it down (tcp_proxy)
  bool shut_pending = false;   // shutdown(SHUT_WR) once the queue drains
  bool shut_done = false;
  bool closing = false;
  bool want_writable = false;  // a write returned false: report WRITABLE when the queue drains
  bool timer_running = false;
  int error = 0;               // reported (ERROR or CONNECT_FAILED) just before CLOSED
  uint64_t idle_timeout_ms = 0;
  uint64_t connect_deadline = 0;  // uv_now value, 0 = none
  uint64_t last_activity = 0;
  std::vector<char> queue;     // bytes the kernel did not take yet, from queue_off
  size_t queue_off = 0;
  // TLS in the transport (socket_tls.cc): reads are ciphertext for it, DATA records carry its plaintext,
  // writes are encrypted by it; the queue above then holds ciphertext.
  std::unique_ptr<TlsSession> tls;
  bool tls_done_reported = false;
  bool tls_failure_reported = false;
  bool tls_backlogged = false;  // in Transport::tls_backlog
  // What the session wrote on its own while reading (alerts, handshake flights, KeyUpdates) and the kernel did not
  // take, since the queue last drained. A peer that provokes such output and never reads (TLS 1.2 renegotiation
  // attempts answered by no_renegotiation alerts, TLS 1.3 KeyUpdates) stops being read past kTlsUnaskedLimit,
  // until the queue drains: JS never wrote those bytes, so its backpressure cannot see them.
  size_t tls_unasked = 0;
  bool tls_read_gated = false;

  size_t Queued() const { return queue.size() - queue_off; }
};

struct Transport {
  napi_env env = nullptr;
  uv_loop_t* loop = nullptr;
  uv_check_t check;
  uv_idle_t idle;              // forces a flush before the loop waits, for events from close callbacks
  napi_ref callback = nullptr;
  napi_ref buffer_ref = nullptr;
  napi_ref events_ref = nullptr;
  napi_async_context context = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  char* read_buf = nullptr;
  size_t read_cap = 0;
  size_t read_used = 0;
  int32_t* events = nullptr;
  size_t event_cap = 0;        // in records
  size_t event_count = 0;
  bool dispatching = false;
  bool tearing_down = false;
  int open_handles = 0;        // the check and idle handles
  int conns_alive = 0;
  size_t high_water = 64 * 1024;
  // recv calls on this thread and those that found nothing (a test checks that a short read is never
  // followed by another read before the next readiness event: would-block reads stay at 0).
  double reads = 0;
  double reads_would_block = 0;
  std::vector<Conn*> conns;    // by id
  std::vector<int32_t> free_ids;
  std::vector<int32_t> released_ids;  // closed, free once JS has seen their CLOSED
  std::vector<int32_t> deferred;      // records pushed during a dispatch
  std::vector<char> scratch;   // string → bytes for writes
  std::vector<uint8_t> tls_in;         // one read of ciphertext (socket_tls.cc)
  std::vector<uint8_t> tls_plain;      // small plaintext parts joined into one record
  std::vector<int32_t> tls_backlog;    // TLS conns with input left to decrypt (resumed, or fed by JS)
};

constexpr size_t kMaxRead = 64 * 1024;  // one read's limit
constexpr size_t kMinRead = 16 * 1024;  // less room than this in the read buffer: flush first

// ---- socket_io.cc: the loop side ----
// Starts watching an fd (accepted, or connecting when `connecting`; a connect_error fails it
// asynchronously); returns its id, or -1 (fd not closed) when libuv cannot watch it.
int32_t AddConn(Transport* t, int fd, bool connecting, int connect_error);
Conn* FindConn(Transport* t, int32_t id);
// Writes iov now as far as the kernel takes it and queues the rest; returns false when over the high-water mark.
bool WriteConn(Conn* c, const uv_buf_t* bufs, size_t count);
void SetReading(Conn* c, bool reading);
// Stops reading until the write queue drains (see Conn::tls_read_gated).
void GateTlsReads(Conn* c);
void ShutdownConn(Conn* c);
// Closes the socket (after SO_LINGER 0 when `reset`); CLOSED is reported once its handles are closed.
void CloseConn(Conn* c, bool reset);
void SetIdleTimeout(Conn* c, uint64_t ms);
void SetConnectTimeout(Conn* c, uint64_t ms);
// Adds one record; flushes to JS first when the array is full.
void PushEvent(Transport* t, int32_t id, int32_t code, int32_t a, int32_t b);
// Calls JS with the pending records (no-op when none or already inside such a call).
void Flush(Transport* t);
void StartTransportLoop(Transport* t);
// Makes the next loop turn serve the TLS backlog and flush before it waits for I/O.
void WakeNextTurn(Transport* t);
void TeardownTransport(Transport* t);

// ---- socket_transport.cc: N-API functions ----
// transportInit, transportAdopt, transportConnect, transportWrite, transportPause, transportResume,
// transportShutdown, transportClose, transportReset, transportSetTimeout, transportRemoteAddress on exports.
void RegisterSocketTransport(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_SOCKET_TRANSPORT_H_
