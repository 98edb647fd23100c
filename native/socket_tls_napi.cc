// N-API functions for TLS inside the native transport (socket_tls.h): start a
// session on a connection, feed it the ClientHello the tls_inspector peeked
// at, and read what the handshake told. Ids name connections as in
// socket_transport.cc; a closed id answers as "nothing" rather than throwing.
#include <napi.h>

#include <string>

#include "napi_args.h"
#include "socket_tls.h"
#include "tls_napi.h"

namespace isthmus {
namespace {

// The open conn named by `value` into *c (null when closed; with `closing`, also one whose CLOSED is still to
// come, so what its handshake told stays readable while JS handles that batch); false with an exception pending.
bool GetConnArg(napi_env env, napi_value value, const char* name, Conn** c, bool closing = false) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok || data == nullptr) {
    std::string message = std::string(name) + ": call transportInit first on this thread";
    return ThrowRangeError(env, message.c_str());
  }
  int32_t id = -1;
  if (napi_get_value_int32(env, value, &id) != napi_ok) {
    std::string message = std::string(name) + ": id must be a number";
    return ThrowTypeError(env, message.c_str());
  }
  Transport* t = static_cast<Transport*>(data);
  *c = FindConn(t, id);
  if (*c == nullptr && closing && id >= 0 && static_cast<size_t>(id) < t->conns.size()) *c = t->conns[id];
  return true;
}

// (id, context, serverName: string ('' = none; client only), expectedSan?: TlsSanMatcher) → undefined; the conn
// reads and writes through a session of that context from now on (a client sends its ClientHello at once).
napi_value StartTlsFn(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Conn* c = nullptr;
  if (argc < 3 || !GetConnArg(env, argv[0], "transportStartTls", &c)) {
    if (argc < 3) ThrowTypeError(env, "transportStartTls: takes (id, context, serverName, expectedSan?)");
    return nullptr;
  }
  std::shared_ptr<TlsContext> context = TlsContextFromValue(env, argv[1]);
  if (!context) return nullptr;
  char name[256];
  size_t name_len = 0;
  if (napi_get_value_string_utf8(env, argv[2], name, sizeof(name), &name_len) != napi_ok) {
    ThrowTypeError(env, "transportStartTls: serverName must be a string");
    return nullptr;
  }
  if (name_len >= sizeof(name) - 1) {
    ThrowRangeError(env, "transportStartTls: serverName is longer than 254 bytes");
    return nullptr;
  }
  SanMatcher expected;
  bool has_expected = false;
  napi_valuetype type = napi_undefined;
  if (argc > 3 && napi_typeof(env, argv[3], &type) == napi_ok && type == napi_object) {
    if (!TlsSanMatcherFromValue(env, argv[3], &expected)) return nullptr;
    has_expected = true;
  }
  if (c == nullptr) return Undefined(env);
  std::string error;
  if (!StartTls(c, std::move(context), std::string(name, name_len), has_expected ? &expected : nullptr, &error)) {
    napi_throw_error(env, nullptr, ("transportStartTls: " + error).c_str());
    return nullptr;
  }
  return Undefined(env);
}

// (id, buf: Uint8Array, start, end) → undefined; buf[start, end) is ciphertext the conn's session takes as if read
// from its socket (the ClientHello bytes the tls_inspector held).
napi_value FeedTlsFn(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Conn* c = nullptr;
  if (!GetConnArg(env, argv[0], "transportTlsFeed", &c)) return nullptr;
  uint8_t* data = nullptr;
  size_t len = 0, start = 0, end = 0;
  if (!GetTypedArray(env, argv[1], napi_uint8_array, "transportTlsFeed: buf must be a Uint8Array", &data, &len) ||
      !GetIndex(env, argv[2], static_cast<double>(len), "transportTlsFeed: start must be a number",
                "transportTlsFeed: start out of range", &start) ||
      !GetIndex(env, argv[3], static_cast<double>(len), "transportTlsFeed: end must be a number",
                "transportTlsFeed: end out of range", &end)) {
    return nullptr;
  }
  if (start > end) {
    ThrowRangeError(env, "transportTlsFeed: start is past end");
    return nullptr;
  }
  if (c == nullptr) return Undefined(env);
  if (!c->tls) {
    ThrowTypeError(env, "transportTlsFeed: the connection has no TLS session (transportStartTls first)");
    return nullptr;
  }
  FeedTls(c, data + start, end - start);
  return Undefined(env);
}

// (id) → what the handshake told (tlsSessionPeer's object), or null before it completed / without TLS / closed.
napi_value TlsPeerFn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Conn* c = nullptr;
  if (!GetConnArg(env, argv[0], "transportTlsPeer", &c, true)) return nullptr;
  if (c == nullptr || !c->tls || !(c->tls->status() & TlsSession::kHandshakeDone)) {
    napi_value null;
    napi_get_null(env, &null);
    return null;
  }
  return TlsPeerValue(env, c->tls->peer());
}

// (id) → why the conn's TLS session failed ('' when it has not, or closed).
napi_value TlsErrorFn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  Conn* c = nullptr;
  if (!GetConnArg(env, argv[0], "transportTlsError", &c, true)) return nullptr;
  const std::string empty;
  const std::string& error = c != nullptr && c->tls ? c->tls->error() : empty;
  napi_value out;
  napi_create_string_utf8(env, error.data(), error.size(), &out);
  return out;
}

void Export(napi_env env, Napi::Object exports, const char* name, napi_callback fn) {
  napi_value value;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, nullptr, &value);
  exports.Set(name, value);
}

}  // namespace

void RegisterSocketTls(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "transportStartTls", StartTlsFn);
  Export(env, exports, "transportTlsFeed", FeedTlsFn);
  Export(env, exports, "transportTlsPeer", TlsPeerFn);
  Export(env, exports, "transportTlsError", TlsErrorFn);
}

}  // namespace isthmus
