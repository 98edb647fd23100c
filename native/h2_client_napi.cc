// N-API for native HTTP/2 client sessions (h2_client_session.h): they live in
// the same per-thread registry as server sessions (h2_napi.cc), share its
// event array and arena, and are flushed by the same loop-turn check.
#include <napi.h>

#include <memory>
#include <string>

#include "h2_client_session.h"
#include "h2_module.h"
#include "napi_args.h"
#include "socket_transport.h"

namespace isthmus {

namespace {

bool GetInt(napi_env env, napi_value v, int32_t* out, const char* message) {
  if (napi_get_value_int32(env, v, out) != napi_ok) return ThrowTypeError(env, message);
  return true;
}

// One call on a client session: argv, the session named by argv[0] (null: gone) and the stream id in argv[1].
struct ClientCall {
  static constexpr size_t kMaxArgs = 4;
  napi_value argv[kMaxArgs];
  H2ClientSession* s = nullptr;
  int32_t stream = 0;
};

// Takes the call's info, its argument count and whether argv[1] is a stream id; returns false with a JS error thrown.
bool GetClientCall(napi_env env, napi_callback_info info, size_t argc, bool with_stream, ClientCall* c) {
  if (napi_get_cb_info(env, info, &argc, c->argv, nullptr, nullptr) != napi_ok) return false;
  if (H2ModuleSink(env) == nullptr) return false;
  int32_t handle = -1;
  if (!GetInt(env, c->argv[0], &handle, "h2c: handle must be a number")) return false;
  H2Endpoint* e = H2Find(handle);
  if (e != nullptr && e->IsClient()) c->s = static_cast<H2ClientSession*>(e);
  return !with_stream || GetInt(env, c->argv[1], &c->stream, "h2c: streamId must be a number");
}

// (connId, settings: Uint32Array [streamWindow, connWindow, maxHeaderList, maxOutboundFrames,
// maxOutboundControlFrames]) → handle, or -1 (not a native connection, or nghttp2 refused). The preface and
// SETTINGS go out at the end of this loop turn.
napi_value H2cOpen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  H2Sink* sink = H2ModuleSink(env);
  if (sink == nullptr) return nullptr;
  int32_t conn_id = -1;
  uint32_t* values = nullptr;
  size_t n = 0;
  if (!GetInt(env, argv[0], &conn_id, "h2cOpen: connId must be a number") ||
      !GetTypedArray(env, argv[1], napi_uint32_array, "h2cOpen: settings must be a Uint32Array", &values, &n)) {
    return nullptr;
  }
  if (n < 5) {
    ThrowRangeError(env, "h2cOpen: settings must hold 5 values");
    return nullptr;
  }
  Transport* t = H2Transport();
  if (t == nullptr || FindConn(t, conn_id) == nullptr) return NumberValue(env, -1);
  const H2Settings s = ReadH2Settings(values, sink->arena_cap);
  const int32_t handle = H2ReserveHandle();
  auto session = std::make_unique<H2ClientSession>(t, conn_id, handle, s, sink);
  H2ClientSession* raw = session.get();
  H2Store(handle, std::move(session));
  if (!raw->Start()) {
    H2Release(handle);
    return NumberValue(env, -1);
  }
  return NumberValue(env, handle);
}

// (handle, buf, start, end) → bytes consumed (fewer: call again after the events), or -1 (the session is over).
// The events are in the array from record 0; their count is h2EventCount().
napi_value H2cReceive(napi_env env, napi_callback_info info) {
  static const H2ReceiveNames names = {"h2cReceive: buf must be a Buffer or Uint8Array", "h2cReceive: start must be a number",
                                       "h2cReceive: start is outside buf", "h2cReceive: end must be a number",
                                       "h2cReceive: end is outside buf", "h2cReceive: start is after end"};
  ClientCall c;
  if (!GetClientCall(env, info, 4, false, &c)) return nullptr;
  return H2ReceiveFrom(env, c.argv, c.s, names);
}

// (handle, block: "name\0value\0"... pseudo-headers first, endStream, headRequest) → stream id, or -1
napi_value H2cRequest(napi_env env, napi_callback_info info) {
  ClientCall c;
  const std::string* block = nullptr;
  bool end_stream = false;
  bool head_request = false;
  if (!GetClientCall(env, info, 4, false, &c) || !H2GetBlock(env, c.argv[1], "h2cRequest: headers must be a string", &block) ||
      napi_get_value_bool(env, c.argv[2], &end_stream) != napi_ok || napi_get_value_bool(env, c.argv[3], &head_request) != napi_ok) {
    return nullptr;
  }
  return NumberValue(env, c.s == nullptr ? -1 : c.s->Request(block->data(), block->size(), end_stream, head_request));
}

// (handle, head: Buffer, the router's HTTP/1.1 request head (parsed by parseRequestHead first), scheme, endStream,
// headRequest) → stream id, or -1. The header list goes from the head's bytes to nghttp2 with no string per field.
napi_value H2cRequestHead(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (H2ModuleSink(env) == nullptr) return nullptr;
  int32_t handle = -1;
  uint8_t* head = nullptr;
  size_t len = 0;
  char scheme[16];
  size_t scheme_len = 0;
  bool end_stream = false;
  bool head_request = false;
  if (!GetInt(env, argv[0], &handle, "h2cRequestHead: handle must be a number") ||
      !GetWordArray(env, argv[1], "h2cRequestHead: head must be a Buffer or Uint8Array", &head, &len)) {
    return nullptr;
  }
  if (napi_get_value_string_latin1(env, argv[2], nullptr, 0, &scheme_len) != napi_ok) {
    ThrowTypeError(env, "h2cRequestHead: scheme must be a string");
    return nullptr;
  }
  // Checked before copying: napi would cut a longer one to fit, and the request would go out with another :scheme.
  if (scheme_len == 0 || scheme_len >= sizeof(scheme)) {
    ThrowRangeError(env, "h2cRequestHead: scheme must be 1 to 15 characters");
    return nullptr;
  }
  napi_get_value_string_latin1(env, argv[2], scheme, sizeof(scheme), &scheme_len);
  if (napi_get_value_bool(env, argv[3], &end_stream) != napi_ok || napi_get_value_bool(env, argv[4], &head_request) != napi_ok) {
    ThrowTypeError(env, "h2cRequestHead: endStream and headRequest must be booleans");
    return nullptr;
  }
  H2Endpoint* e = H2Find(handle);
  if (e == nullptr || !e->IsClient()) return NumberValue(env, -1);
  H2ClientSession* s = static_cast<H2ClientSession*>(e);
  return NumberValue(env, s->RequestFromHead(head, len, reinterpret_cast<const uint8_t*>(scheme), scheme_len, end_stream, head_request));
}

// (handle, streamId, data) → 1 queued, 0 queued but over the limit (DRAIN follows), -1 stream gone
napi_value H2cWrite(napi_env env, napi_callback_info info) {
  ClientCall c;
  if (!GetClientCall(env, info, 3, true, &c)) return nullptr;
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!GetWordArray(env, c.argv[2], "h2cWrite: data must be a Buffer or Uint8Array", &data, &len)) return nullptr;
  return NumberValue(env, c.s == nullptr ? -1 : c.s->Write(c.stream, data, len));
}

// (handle, streamId, trailers?: "name\0value\0" string) → undefined; ends the request body, with trailers if given
napi_value H2cEnd(napi_env env, napi_callback_info info) {
  ClientCall c;
  if (!GetClientCall(env, info, 3, true, &c)) return nullptr;
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, c.argv[2], &type) != napi_ok) return nullptr;
  const std::string* block = nullptr;
  if (type == napi_string && !H2GetBlock(env, c.argv[2], "h2cEnd: trailers must be a string", &block)) return nullptr;
  if (c.s != nullptr) c.s->End(c.stream, block == nullptr ? nullptr : block->data(), block == nullptr ? 0 : block->size());
  return Undefined(env);
}

// (handle, streamId, code) → undefined; resets the stream
napi_value H2cReset(napi_env env, napi_callback_info info) {
  ClientCall c;
  int32_t code = 0;
  if (!GetClientCall(env, info, 3, true, &c) || !GetInt(env, c.argv[2], &code, "h2cReset: code must be a number")) return nullptr;
  if (c.s != nullptr) c.s->Reset(c.stream, static_cast<uint32_t>(code));
  return Undefined(env);
}

// (handle, streamId, reading) → undefined; the response window opens only while reading
napi_value H2cSetReading(napi_env env, napi_callback_info info) {
  ClientCall c;
  bool reading = true;
  if (!GetClientCall(env, info, 3, true, &c) || napi_get_value_bool(env, c.argv[2], &reading) != napi_ok) return nullptr;
  if (c.s != nullptr) c.s->SetReading(c.stream, reading);
  return Undefined(env);
}

// (handle, what: 0 = the socket drained, 1 = graceful GOAWAY, 2 = free the session) → undefined
napi_value H2cControl(napi_env env, napi_callback_info info) {
  ClientCall c;
  int32_t what = 0;
  if (!GetClientCall(env, info, 2, false, &c) || !GetInt(env, c.argv[1], &what, "h2cControl: what must be a number")) return nullptr;
  if (c.s == nullptr) return Undefined(env);
  int32_t handle = -1;
  napi_get_value_int32(env, c.argv[0], &handle);
  if (what == 0) MarkH2Dirty(c.s, handle);
  else if (what == 1) c.s->Drain();
  else if (what == 2) H2Release(handle);
  return Undefined(env);
}

void Export(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn) == napi_ok) {
    napi_set_named_property(env, exports, name, fn);
  }
}

}  // namespace

void RegisterH2Client(Napi::Env env, Napi::Object exports) {
  napi_value e = exports;
  Export(env, e, "h2cOpen", H2cOpen);
  Export(env, e, "h2cReceive", H2cReceive);
  Export(env, e, "h2cRequest", H2cRequest);
  Export(env, e, "h2cRequestHead", H2cRequestHead);
  Export(env, e, "h2cWrite", H2cWrite);
  Export(env, e, "h2cEnd", H2cEnd);
  Export(env, e, "h2cReset", H2cReset);
  Export(env, e, "h2cSetReading", H2cSetReading);
  Export(env, e, "h2cControl", H2cControl);
}

}  // namespace isthmus
