// N-API functions of the native transport (socket_transport.h). Each looks up
// the calling thread's Transport in the env's instance data; ids name sockets.
#include "socket_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "napi_args.h"
#include "socket_tls.h"

namespace isthmus {
namespace {

constexpr size_t kMaxWriteParts = 64;

Transport* GetTransport(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok || data == nullptr) {
    ThrowRangeError(env, "transport: call transportInit first on this thread");
    return nullptr;
  }
  return static_cast<Transport*>(data);
}

// The conn named by argv[0], or nullptr (closed or unknown ids are not errors: the socket may have just closed).
bool GetConn(napi_env env, napi_value value, Transport** t, Conn** c) {
  *t = GetTransport(env);
  if (*t == nullptr) return false;
  int32_t id = -1;
  if (napi_get_value_int32(env, value, &id) != napi_ok) return ThrowTypeError(env, "transport: id must be a number");
  *c = FindConn(*t, id);
  return true;
}

void OnEnvTeardown(napi_async_cleanup_hook_handle, void* data) { TeardownTransport(static_cast<Transport*>(data)); }

// (readBuffer: Buffer, events: Int32Array, onEvents: (count) => void, highWaterMark) → undefined
napi_value TransportInit(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  void* existing = nullptr;
  if (napi_get_instance_data(env, &existing) == napi_ok && existing != nullptr) {
    ThrowRangeError(env, "transportInit: already initialised on this thread");
    return nullptr;
  }
  void* buf = nullptr;
  size_t buf_len = 0;
  bool is_buffer = false;
  if (napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[0], &buf, &buf_len) != napi_ok || buf_len < 64 * 1024) {
    ThrowTypeError(env, "transportInit: readBuffer must be a Buffer of at least 64 KiB");
    return nullptr;
  }
  int32_t* events = nullptr;
  size_t events_len = 0;
  if (!GetTypedArray(env, argv[1], napi_int32_array, "transportInit: events must be an Int32Array", &events, &events_len)) {
    return nullptr;
  }
  if (events_len < kRecordInts * 16) {
    ThrowRangeError(env, "transportInit: events must hold at least 16 records");
    return nullptr;
  }
  napi_valuetype type;
  if (napi_typeof(env, argv[2], &type) != napi_ok || type != napi_function) {
    ThrowTypeError(env, "transportInit: onEvents must be a function");
    return nullptr;
  }
  size_t high_water = 0;
  if (!GetIndex(env, argv[3], 1 << 30, "transportInit: highWaterMark must be a number",
                "transportInit: highWaterMark must be an integer in [0, 1 GiB]", &high_water)) {
    return nullptr;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ThrowRangeError(env, "transportInit: no event loop on this thread");
    return nullptr;
  }
  Transport* t = new Transport();
  t->env = env;
  t->loop = loop;
  t->read_buf = static_cast<char*>(buf);
  t->read_cap = buf_len;
  t->events = events;
  t->event_cap = events_len / kRecordInts;
  t->high_water = high_water;
  napi_value name;
  napi_create_string_utf8(env, "isthmus:transport", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[0], 1, &t->buffer_ref) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &t->events_ref) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &t->callback) != napi_ok ||
      napi_async_init(env, nullptr, name, &t->context) != napi_ok ||
      napi_set_instance_data(env, t, nullptr, nullptr) != napi_ok) {
    delete t;  // the references die with the env
    ThrowRangeError(env, "transportInit: out of resources");
    return nullptr;
  }
  StartTransportLoop(t);
  napi_add_async_cleanup_hook(env, OnEnvTeardown, t, &t->hook);
  return Undefined(env);
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// (fd: an accepted, non-blocking socket) → id; the transport owns the fd from now on
napi_value TransportAdopt(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Transport* t = GetTransport(env);
  if (t == nullptr) return nullptr;
  size_t fd = 0;
  if (!GetIndex(env, argv[0], INT_MAX, "transportAdopt: fd must be a number", "transportAdopt: fd must be an integer >= 0", &fd)) {
    return nullptr;
  }
  const int flags = fcntl(static_cast<int>(fd), F_GETFL);
  if (flags < 0) {
    ThrowRangeError(env, "transportAdopt: not an open fd");
    return nullptr;
  }
  if ((flags & O_NONBLOCK) == 0) fcntl(static_cast<int>(fd), F_SETFL, flags | O_NONBLOCK);
  SetNoDelay(static_cast<int>(fd));
  const int32_t id = AddConn(t, static_cast<int>(fd), false, 0);
  if (id < 0) {
    ThrowRangeError(env, "transportAdopt: cannot watch this fd");
    return nullptr;
  }
  return NumberValue(env, id);
}

// (ip: an IPv4/IPv6 literal, port, timeoutMs: 0 = none) → id; CONNECTED or CONNECT_FAILED follows
napi_value TransportConnect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Transport* t = GetTransport(env);
  if (t == nullptr) return nullptr;
  char ip[64];
  size_t ip_len = 0;
  if (napi_get_value_string_utf8(env, argv[0], ip, sizeof(ip), &ip_len) != napi_ok) {
    ThrowTypeError(env, "transportConnect: ip must be a string");
    return nullptr;
  }
  size_t port = 0, timeout = 0;
  if (!GetIndex(env, argv[1], 65535, "transportConnect: port must be a number", "transportConnect: port must be in [0, 65535]", &port) ||
      !GetIndex(env, argv[2], 1e12, "transportConnect: timeoutMs must be a number", "transportConnect: timeoutMs must be >= 0", &timeout)) {
    return nullptr;
  }
  sockaddr_storage addr;
  memset(&addr, 0, sizeof(addr));
  socklen_t addr_len;
  if (uv_ip4_addr(ip, static_cast<int>(port), reinterpret_cast<sockaddr_in*>(&addr)) == 0) {
    addr_len = sizeof(sockaddr_in);
  } else if (uv_ip6_addr(ip, static_cast<int>(port), reinterpret_cast<sockaddr_in6*>(&addr)) == 0) {
    addr_len = sizeof(sockaddr_in6);
  } else {
    ThrowTypeError(env, "transportConnect: ip must be an IPv4 or IPv6 address literal");
    return nullptr;
  }
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowRangeError(env, "transportConnect: cannot create a socket (out of descriptors?)");
    return nullptr;
  }
  SetNoDelay(fd);
  int err = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 && errno != EINPROGRESS) err = errno;
  const int32_t id = AddConn(t, fd, true, err);
  if (id < 0) {
    close(fd);
    ThrowRangeError(env, "transportConnect: cannot watch the socket");
    return nullptr;
  }
  Conn* c = FindConn(t, id);
  if (c != nullptr && timeout > 0) SetConnectTimeout(c, timeout);
  return NumberValue(env, id);
}

// Appends one Buffer/TypedArray or latin1 string to parts; strings are copied into scratch at offsets fixed up later.
bool AddPart(napi_env env, Transport* t, napi_value v, uv_buf_t* parts, size_t* n, size_t* string_offsets, bool* is_string) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return false;
  if (type == napi_string) {
    size_t len = 0;
    if (napi_get_value_string_latin1(env, v, nullptr, 0, &len) != napi_ok) return false;
    const size_t at = t->scratch.size();
    t->scratch.resize(at + len + 1);
    napi_get_value_string_latin1(env, v, t->scratch.data() + at, len + 1, &len);
    t->scratch.resize(at + len);
    string_offsets[*n] = at;
    is_string[*n] = true;
    parts[*n] = uv_buf_init(nullptr, static_cast<unsigned int>(len));
    (*n)++;
    return true;
  }
  void* data = nullptr;
  size_t len = 0;
  bool typed = false;
  if (napi_is_typedarray(env, v, &typed) != napi_ok || !typed || napi_get_buffer_info(env, v, &data, &len) != napi_ok) {
    size_t elements = 0;
    napi_typedarray_type ttype;
    napi_value ab;
    size_t byte_offset = 0;
    if (!typed || napi_get_typedarray_info(env, v, &ttype, &elements, &data, &ab, &byte_offset) != napi_ok) return false;
    len = elements;  // only Uint8Array-like data reaches here
  }
  is_string[*n] = false;
  parts[*n] = uv_buf_init(static_cast<char*>(data), static_cast<unsigned int>(len));
  (*n)++;
  return true;
}

// (id, data: Buffer | string | Array<Buffer | string>) → true when the kernel took it all or what waits stays
// under the high-water mark; false: WRITABLE follows once the queue drained. A closed id takes nothing and answers true.
napi_value TransportWrite(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Transport* t;
  Conn* c;
  if (!GetConn(env, argv[0], &t, &c)) return nullptr;
  napi_value out;
  if (c == nullptr) {
    napi_get_boolean(env, true, &out);
    return out;
  }
  uv_buf_t parts[kMaxWriteParts];
  size_t offsets[kMaxWriteParts];
  bool strings[kMaxWriteParts];
  size_t n = 0;
  t->scratch.clear();
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  bool ok = true;
  if (!is_array) {
    if (!AddPart(env, t, argv[1], parts, &n, offsets, strings)) {
      ThrowTypeError(env, "transportWrite: data must be a Buffer, a string or an array of them");
      return nullptr;
    }
    for (size_t i = 0; i < n; i++) if (strings[i]) parts[i].base = t->scratch.data() + offsets[i];
    ok = c->tls ? WriteTls(c, parts, n) : WriteConn(c, parts, n);
  } else {
    uint32_t length = 0;
    napi_get_array_length(env, argv[1], &length);
    for (uint32_t i = 0; i < length;) {
      n = 0;
      t->scratch.clear();
      for (; i < length && n < kMaxWriteParts; i++) {
        napi_value v;
        if (napi_get_element(env, argv[1], i, &v) != napi_ok || !AddPart(env, t, v, parts, &n, offsets, strings)) {
          ThrowTypeError(env, "transportWrite: data must be a Buffer, a string or an array of them");
          return nullptr;
        }
      }
      for (size_t k = 0; k < n; k++) if (strings[k]) parts[k].base = t->scratch.data() + offsets[k];
      ok = c->tls ? WriteTls(c, parts, n) : WriteConn(c, parts, n);
      if (FindConn(t, c->id) != c) break;  // failed and closing
    }
  }
  napi_get_boolean(env, ok, &out);
  return out;
}

// (id, head: Buffer | null, start, end) → as transportWrite, for head then readBuffer[start, end) in one writev (one
// TLS record when small): a response's head and the body bytes just read, with no copy made in JS.
napi_value TransportWriteRead(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Transport* t;
  Conn* c;
  if (!GetConn(env, argv[0], &t, &c)) return nullptr;
  size_t start = 0, end = 0;
  if (!GetIndex(env, argv[2], t->read_cap, "transportWriteRead: start must be a number", "transportWriteRead: start is outside the read buffer", &start) ||
      !GetIndex(env, argv[3], t->read_cap, "transportWriteRead: end must be a number", "transportWriteRead: end is outside the read buffer", &end)) {
    return nullptr;
  }
  if (end < start) {
    ThrowRangeError(env, "transportWriteRead: end is before start");
    return nullptr;
  }
  uv_buf_t parts[2];
  size_t n = 0;
  napi_valuetype type;
  if (napi_typeof(env, argv[1], &type) != napi_ok) return nullptr;
  if (type != napi_null && type != napi_undefined) {
    uint8_t* data = nullptr;
    size_t len = 0;
    if (!GetWordArray(env, argv[1], "transportWriteRead: head must be a Buffer or null", &data, &len)) return nullptr;
    if (len > 0) parts[n++] = uv_buf_init(reinterpret_cast<char*>(data), static_cast<unsigned int>(len));
  }
  if (end > start) parts[n++] = uv_buf_init(t->read_buf + start, static_cast<unsigned int>(end - start));
  bool ok = true;
  if (c != nullptr && n > 0) ok = c->tls ? WriteTls(c, parts, n) : WriteConn(c, parts, n);
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

// The shape of pause/resume/shutdown/close/reset: (id) → undefined; a closed id is ignored.
template <void (*Op)(Conn*)>
napi_value ConnOp(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Transport* t;
  Conn* c;
  if (!GetConn(env, argv[0], &t, &c)) return nullptr;
  if (c != nullptr) Op(c);
  return Undefined(env);
}

void PauseOp(Conn* c) { SetReading(c, false); }
void ResumeOp(Conn* c) {
  SetReading(c, true);
  if (c->tls) ResumeTls(c);
}
void ShutdownOp(Conn* c) {
  if (c->tls) ShutdownTls(c);
  ShutdownConn(c);
}
void CloseOp(Conn* c) { CloseConn(c, false); }
void HalfOpenOp(Conn* c) { c->half_open = true; }
void ResetOp(Conn* c) { CloseConn(c, true); }

// (id, ms: 0 = none) → undefined; TIMEOUT when the socket has neither read nor written for ms
napi_value TransportSetTimeout(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Transport* t;
  Conn* c;
  if (!GetConn(env, argv[0], &t, &c)) return nullptr;
  size_t ms = 0;
  if (!GetIndex(env, argv[1], 1e12, "transportSetTimeout: ms must be a number", "transportSetTimeout: ms must be >= 0", &ms)) {
    return nullptr;
  }
  if (c != nullptr) SetIdleTimeout(c, ms);
  return Undefined(env);
}

// The connection's peer as getpeername gives it; false when unknown or closed.
bool PeerOf(const Conn* c, sockaddr_storage* addr) {
  if (c == nullptr) return false;
  socklen_t len = sizeof(*addr);
  return getpeername(c->fd, reinterpret_cast<sockaddr*>(addr), &len) == 0;
}

// (id) → the peer's address as a string ('' when unknown or closed)
napi_value TransportRemoteAddress(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Transport* t;
  Conn* c;
  if (!GetConn(env, argv[0], &t, &c)) return nullptr;
  char name[64] = "";
  sockaddr_storage addr;
  if (PeerOf(c, &addr)) {
    if (addr.ss_family == AF_INET) {
      uv_ip4_name(reinterpret_cast<sockaddr_in*>(&addr), name, sizeof(name));
    } else if (addr.ss_family == AF_INET6) {
      uv_ip6_name(reinterpret_cast<sockaddr_in6*>(&addr), name, sizeof(name));
    }
  }
  napi_value out;
  napi_create_string_latin1(env, name, NAPI_AUTO_LENGTH, &out);
  return out;
}

// () → [reads, reads that would block] on this thread since transportInit.
napi_value TransportReadCounts(napi_env env, napi_callback_info) {
  Transport* t = GetTransport(env);
  if (t == nullptr) return nullptr;
  napi_value out, reads, empty;
  if (napi_create_array_with_length(env, 2, &out) != napi_ok) return nullptr;
  napi_create_double(env, t->reads, &reads);
  napi_create_double(env, t->reads_would_block, &empty);
  napi_set_element(env, out, 0, reads);
  napi_set_element(env, out, 1, empty);
  return out;
}

// (id) → the peer's port (0 when unknown or closed)
napi_value TransportRemotePort(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Transport* t;
  Conn* c;
  if (!GetConn(env, argv[0], &t, &c)) return nullptr;
  uint32_t port = 0;
  sockaddr_storage addr;
  if (PeerOf(c, &addr)) {
    if (addr.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    else if (addr.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  }
  napi_value out;
  napi_create_uint32(env, port, &out);
  return out;
}

void Export(napi_env env, Napi::Object exports, const char* name, napi_callback fn) {
  napi_value value;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &value);
  exports.Set(name, value);
}

}  // namespace

void RegisterSocketTransport(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "transportInit", TransportInit);
  Export(env, exports, "transportAdopt", TransportAdopt);
  Export(env, exports, "transportConnect", TransportConnect);
  Export(env, exports, "transportWrite", TransportWrite);
  Export(env, exports, "transportWriteRead", TransportWriteRead);
  Export(env, exports, "transportPause", ConnOp<PauseOp>);
  Export(env, exports, "transportResume", ConnOp<ResumeOp>);
  Export(env, exports, "transportShutdown", ConnOp<ShutdownOp>);
  // (id) → undefined; from now on the peer's FIN only ends reading (EOF): the socket closes once JS shut it down too
  Export(env, exports, "transportAllowHalfOpen", ConnOp<HalfOpenOp>);
  Export(env, exports, "transportClose", ConnOp<CloseOp>);
  Export(env, exports, "transportReset", ConnOp<ResetOp>);
  Export(env, exports, "transportSetTimeout", TransportSetTimeout);
  Export(env, exports, "transportRemoteAddress", TransportRemoteAddress);
  Export(env, exports, "transportRemotePort", TransportRemotePort);
  Export(env, exports, "transportReadCounts", TransportReadCounts);
}

}  // namespace isthmus
