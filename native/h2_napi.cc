// N-API for native HTTP/2 sessions (h2_session.h): one registry per thread
// holding the sessions, the event array and arena JS shares, and a check +
// idle handle pair that writes every session's pending frames once per loop
// turn and hands JS the events that produced (stream closes, drains).
#include <napi.h>
#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "h2_module.h"
#include "h2_session.h"
#include "napi_args.h"
#include "socket_transport.h"

namespace isthmus {

namespace {

constexpr int kEventInts = 5;
constexpr size_t kMaxBlock = 1024 * 1024;  // a response header/trailer block from JS

struct H2Module {
  napi_env env = nullptr;
  uv_check_t check;
  uv_idle_t idle;
  int open_handles = 0;
  bool idle_running = false;
  bool flushing = false;
  bool tearing_down = false;
  napi_ref dispatch = nullptr;
  napi_ref events_ref = nullptr;
  napi_ref arena_ref = nullptr;
  napi_async_context context = nullptr;
  napi_async_cleanup_hook_handle hook = nullptr;
  H2Sink sink;
  std::vector<std::unique_ptr<H2Endpoint>> sessions;  // by handle (server and client sessions)
  std::vector<int32_t> free_handles;
  std::vector<int32_t> dirty;
  std::string scratch;
};

thread_local H2Module* g_module = nullptr;

void FlushAll(H2Module* m);

void OnCheck(uv_check_t* h) { FlushAll(static_cast<H2Module*>(h->data)); }

void OnIdle(uv_idle_t* h) {
  H2Module* m = static_cast<H2Module*>(h->data);
  FlushAll(m);
  if (m->dirty.empty() && m->idle_running) {
    m->idle_running = false;
    uv_idle_stop(&m->idle);
  }
}

void DispatchEvents(H2Module* m) {
  if (m->sink.event_count == 0 || m->tearing_down) return;
  const size_t count = m->sink.event_count;
  napi_env env = m->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_value arg;
    if (napi_create_uint32(env, static_cast<uint32_t>(count), &arg) == napi_ok) CallFromLoop(env, m->context, m->dispatch, arg);
    napi_close_handle_scope(env, scope);
  }
  m->sink.event_count = 0;
  m->sink.arena_used = 0;
}

// Writes every dirty session's frames; JS gets the events; what JS then writes is sent in the next round.
void FlushAll(H2Module* m) {
  if (m->flushing || m->tearing_down) return;
  m->flushing = true;
  // What the last h2Receive left was read by JS before it returned to the loop.
  m->sink.event_count = 0;
  m->sink.arena_used = 0;
  for (int round = 0; round < 4 && !m->dirty.empty(); round++) {
    std::vector<int32_t> list;
    list.swap(m->dirty);
    for (int32_t h : list) {
      // JS runs first, so the session is looked up after it (JS may have freed it).
      if (m->sink.event_count + 128 > m->sink.event_cap) DispatchEvents(m);
      if (h < 0 || static_cast<size_t>(h) >= m->sessions.size() || !m->sessions[h]) continue;
      H2Endpoint* s = m->sessions[h].get();
      s->dirty = false;
      s->Send();
    }
    DispatchEvents(m);
  }
  m->flushing = false;
  if (!m->dirty.empty() && !m->idle_running) {
    m->idle_running = true;
    uv_idle_start(&m->idle, OnIdle);
  }
}

void OnHandleClosed(uv_handle_t* h) {
  H2Module* m = static_cast<H2Module*>(h->data);
  if (--m->open_handles > 0) return;
  if (m->hook != nullptr) napi_remove_async_cleanup_hook(m->hook);
  delete m;
}

void OnTeardown(napi_async_cleanup_hook_handle, void* data) {
  H2Module* m = static_cast<H2Module*>(data);
  m->tearing_down = true;
  m->sessions.clear();
  if (g_module == m) g_module = nullptr;
  if (m->dispatch != nullptr) napi_delete_reference(m->env, m->dispatch);
  if (m->events_ref != nullptr) napi_delete_reference(m->env, m->events_ref);
  if (m->arena_ref != nullptr) napi_delete_reference(m->env, m->arena_ref);
  if (m->context != nullptr) napi_async_destroy(m->env, m->context);
  uv_close(reinterpret_cast<uv_handle_t*>(&m->check), OnHandleClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&m->idle), OnHandleClosed);
}

H2Module* Module(napi_env env) {
  if (g_module == nullptr || g_module->env != env) {
    ThrowRangeError(env, "h2: call h2Init first on this thread");
    return nullptr;
  }
  return g_module;
}

bool GetInt(napi_env env, napi_value v, int32_t* out, const char* message) {
  if (napi_get_value_int32(env, v, out) != napi_ok) return ThrowTypeError(env, message);
  return true;
}

// One call on a session: its arguments, the module, and the session named by argv[0] (null: already closed).
struct SessionCall {
  static constexpr size_t kMaxArgs = 7;
  napi_value argv[kMaxArgs];
  H2Module* m = nullptr;
  H2Session* s = nullptr;
  int32_t handle = -1;
  int32_t stream = 0;
};

// Takes the call's info, its argument count and the TypeError for a bad streamId (null: no streamId in argv[1]);
// returns false with a JS error thrown when the module or the (handle, streamId) arguments are wrong.
bool GetSessionCall(napi_env env, napi_callback_info info, size_t argc, const char* stream_message, SessionCall* c) {
  if (napi_get_cb_info(env, info, &argc, c->argv, nullptr, nullptr) != napi_ok) return false;
  c->m = Module(env);
  if (c->m == nullptr || !GetInt(env, c->argv[0], &c->handle, "h2: handle must be a number")) return false;
  if (c->handle >= 0 && static_cast<size_t>(c->handle) < c->m->sessions.size()) {
    H2Endpoint* e = c->m->sessions[c->handle].get();
    if (e != nullptr && !e->IsClient()) c->s = static_cast<H2Session*>(e);
  }
  return stream_message == nullptr || GetInt(env, c->argv[1], &c->stream, stream_message);
}

// A header block argument: a latin1 string "name\0value\0..." (or undefined: empty), copied into m->scratch.
bool GetBlock(napi_env env, H2Module* m, napi_value v, const char* message) {
  napi_valuetype type;
  if (napi_typeof(env, v, &type) != napi_ok) return ThrowTypeError(env, message);
  m->scratch.clear();
  if (type == napi_undefined || type == napi_null) return true;
  if (type != napi_string) return ThrowTypeError(env, message);
  size_t len = 0;
  if (napi_get_value_string_latin1(env, v, nullptr, 0, &len) != napi_ok) return ThrowTypeError(env, message);
  if (len > kMaxBlock) return ThrowRangeError(env, "h2: header block over 1 MiB");
  m->scratch.resize(len + 1);
  size_t got = 0;
  if (napi_get_value_string_latin1(env, v, &m->scratch[0], len + 1, &got) != napi_ok) return ThrowTypeError(env, message);
  m->scratch.resize(got);
  // Names go out lower-case (HTTP/2 requires it; an HTTP/1.1 upstream's may not be).
  bool in_name = true;
  for (char& ch : m->scratch) {
    if (ch == 0) in_name = !in_name;
    else if (in_name && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
  }
  return true;
}

// (events: Int32Array, arena: Buffer, dispatch: (count) => void) → undefined
napi_value H2Init(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  if (g_module != nullptr && g_module->env == env) {
    ThrowRangeError(env, "h2Init: already initialised on this thread");
    return nullptr;
  }
  int32_t* events = nullptr;
  size_t events_len = 0;
  if (!GetTypedArray(env, argv[0], napi_int32_array, "h2Init: events must be an Int32Array", &events, &events_len)) return nullptr;
  uint8_t* arena = nullptr;
  size_t arena_len = 0;
  if (!GetTypedArray(env, argv[1], napi_uint8_array, "h2Init: arena must be a Buffer of at least 128 KiB", &arena, &arena_len)) return nullptr;
  if (arena_len < 128 * 1024) {
    ThrowTypeError(env, "h2Init: arena must be a Buffer of at least 128 KiB");
    return nullptr;
  }
  napi_valuetype type;
  if (napi_typeof(env, argv[2], &type) != napi_ok || type != napi_function) {
    ThrowTypeError(env, "h2Init: dispatch must be a function");
    return nullptr;
  }
  if (events_len / kEventInts < 256) {
    ThrowRangeError(env, "h2Init: events must hold at least 256 records");
    return nullptr;
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return nullptr;
  auto m = std::make_unique<H2Module>();
  m->env = env;
  m->sink.events = events;
  m->sink.event_cap = events_len / kEventInts;
  m->sink.arena = reinterpret_cast<char*>(arena);
  m->sink.arena_cap = arena_len;
  napi_value name;
  if (napi_create_reference(env, argv[0], 1, &m->events_ref) != napi_ok ||
      napi_create_reference(env, argv[1], 1, &m->arena_ref) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &m->dispatch) != napi_ok ||
      napi_create_string_utf8(env, "isthmus.h2", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, nullptr, name, &m->context) != napi_ok) {
    return nullptr;
  }
  H2Module* raw = m.release();
  uv_check_init(loop, &raw->check);
  raw->check.data = raw;
  uv_check_start(&raw->check, OnCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&raw->check));
  uv_idle_init(loop, &raw->idle);
  raw->idle.data = raw;
  uv_unref(reinterpret_cast<uv_handle_t*>(&raw->idle));
  raw->open_handles = 2;
  napi_add_async_cleanup_hook(env, OnTeardown, raw, &raw->hook);
  g_module = raw;
  return Undefined(env);
}

// (connId, settings: Uint32Array [maxStreams, streamWindow, connWindow, maxHeaderList, maxOutboundFrames,
// maxOutboundControlFrames]) → handle, or -1 (not a native connection, or nghttp2 refused)
napi_value H2Open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  H2Module* m = Module(env);
  if (m == nullptr) return nullptr;
  int32_t conn_id = -1;
  uint32_t* values = nullptr;
  size_t n = 0;
  if (!GetInt(env, argv[0], &conn_id, "h2Open: connId must be a number") ||
      !GetTypedArray(env, argv[1], napi_uint32_array, "h2Open: settings must be a Uint32Array", &values, &n)) {
    return nullptr;
  }
  if (n < 6) {
    ThrowRangeError(env, "h2Open: settings must hold 6 values");
    return nullptr;
  }
  Transport* t = H2Transport();
  if (t == nullptr || FindConn(t, conn_id) == nullptr) return NumberValue(env, -1);
  H2Settings s = ReadH2Settings(values + 1, m->sink.arena_cap);
  s.max_concurrent_streams = values[0] == 0 ? 1 : values[0];
  const int32_t handle = H2ReserveHandle();
  auto session = std::make_unique<H2Session>(t, conn_id, handle, s, &m->sink);
  H2Session* raw = session.get();
  m->sessions[handle] = std::move(session);
  if (!raw->Start()) {
    m->sessions[handle].reset();
    m->free_handles.push_back(handle);
    return NumberValue(env, -1);
  }
  return NumberValue(env, handle);
}

// (handle, buf: Buffer, start, end) → bytes consumed (fewer than end - start: call again after the events), or -1
// (the session is over). The events are in the array from record 0; their count is h2EventCount().
napi_value H2Receive(napi_env env, napi_callback_info info) {
  static const H2ReceiveNames names = {"h2Receive: buf must be a Buffer or Uint8Array", "h2Receive: start must be a number",
                                       "h2Receive: start is outside buf", "h2Receive: end must be a number",
                                       "h2Receive: end is outside buf", "h2Receive: start is after end"};
  SessionCall c;
  if (!GetSessionCall(env, info, 4, nullptr, &c)) return nullptr;
  return H2ReceiveFrom(env, c.argv, c.s, names);
}

// () → how many event records the last h2Receive left in the array
napi_value H2EventCount(napi_env env, napi_callback_info) {
  H2Module* m = Module(env);
  if (m == nullptr) return nullptr;
  return NumberValue(env, static_cast<double>(m->sink.event_count));
}

// (handle, streamId, status, block: string, endStream: boolean) → true when submitted; or
// (handle, streamId, status, head: Buffer, endStream, start, end): the fields of the HTTP/1.1 response head at
// head[start, end) the proxy wrote (checked by parseResponseHead), with no string made of them.
napi_value H2Respond(napi_env env, napi_callback_info info) {
  SessionCall c;
  int32_t status = 0;
  bool end_stream = false;
  if (!GetSessionCall(env, info, 7, "h2Respond: streamId must be a number", &c) ||
      !GetInt(env, c.argv[2], &status, "h2Respond: status must be a number") ||
      napi_get_value_bool(env, c.argv[4], &end_stream) != napi_ok) {
    return nullptr;
  }
  bool done = false;
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, c.argv[5], &type) != napi_ok) return nullptr;
  if (type == napi_number) {
    uint8_t* head = nullptr;
    size_t len = 0;
    int32_t start = 0;
    int32_t end = 0;
    if (!GetWordArray(env, c.argv[3], "h2Respond: head must be a Buffer", &head, &len) ||
        !GetInt(env, c.argv[5], &start, "h2Respond: start must be a number") || !GetInt(env, c.argv[6], &end, "h2Respond: end must be a number")) {
      return nullptr;
    }
    if (start < 0 || end < start || static_cast<size_t>(end) > len) {
      ThrowRangeError(env, "h2Respond: [start, end) is outside head");
      return nullptr;
    }
    done = c.s != nullptr && c.s->RespondHead(c.stream, static_cast<uint32_t>(status), head + start, static_cast<size_t>(end - start), end_stream);
  } else {
    if (!GetBlock(env, c.m, c.argv[3], "h2Respond: headers must be a string")) return nullptr;
    const std::string& block = c.m->scratch;
    done = c.s != nullptr && c.s->Respond(c.stream, static_cast<uint32_t>(status), block.data(), block.size(), end_stream);
  }
  napi_value out;
  napi_get_boolean(env, done, &out);
  return out;
}

// (handle, streamId, data: Buffer) → 1 queued, 0 queued but over the limit (DRAIN follows), -1 stream gone
napi_value H2Write(napi_env env, napi_callback_info info) {
  SessionCall c;
  if (!GetSessionCall(env, info, 5, "h2Write: streamId must be a number", &c)) return nullptr;
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!GetWordArray(env, c.argv[2], "h2Write: data must be a Buffer or Uint8Array", &data, &len)) return nullptr;
  // Optional [start, end): a piece of a buffer the caller does not own (the read buffer), copied here.
  napi_valuetype type = napi_undefined;
  if (napi_typeof(env, c.argv[3], &type) != napi_ok) return nullptr;
  if (type != napi_undefined) {
    int32_t start = 0;
    int32_t end = 0;
    if (!GetInt(env, c.argv[3], &start, "h2Write: start must be a number") || !GetInt(env, c.argv[4], &end, "h2Write: end must be a number")) {
      return nullptr;
    }
    if (start < 0 || end < start || static_cast<size_t>(end) > len) {
      ThrowRangeError(env, "h2Write: [start, end) is outside data");
      return nullptr;
    }
    data += start;
    len = static_cast<size_t>(end - start);
  }
  return NumberValue(env, c.s == nullptr ? -1 : c.s->Write(c.stream, data, len));
}

// (handle, streamId, trailers: string | undefined) → undefined; ends the response
napi_value H2End(napi_env env, napi_callback_info info) {
  SessionCall c;
  if (!GetSessionCall(env, info, 3, "h2End: streamId must be a number", &c) ||
      !GetBlock(env, c.m, c.argv[2], "h2End: trailers must be a string or undefined")) {
    return nullptr;
  }
  if (c.s != nullptr) c.s->End(c.stream, c.m->scratch.data(), c.m->scratch.size());
  return Undefined(env);
}

// (handle, streamId, code) → undefined; resets the stream
napi_value H2Reset(napi_env env, napi_callback_info info) {
  SessionCall c;
  int32_t code = 0;
  if (!GetSessionCall(env, info, 3, "h2Reset: streamId must be a number", &c) ||
      !GetInt(env, c.argv[2], &code, "h2Reset: code must be a number")) {
    return nullptr;
  }
  if (c.s != nullptr) c.s->Reset(c.stream, static_cast<uint32_t>(code));
  return Undefined(env);
}

// (handle, streamId, reading: boolean) → undefined; the stream's window opens only while reading
napi_value H2SetReading(napi_env env, napi_callback_info info) {
  SessionCall c;
  bool reading = true;
  if (!GetSessionCall(env, info, 3, "h2SetReading: streamId must be a number", &c) ||
      napi_get_value_bool(env, c.argv[2], &reading) != napi_ok) {
    return nullptr;
  }
  if (c.s != nullptr) c.s->SetReading(c.stream, reading);
  return Undefined(env);
}

// (handle, what: 0 = the socket drained, 1 = graceful GOAWAY, 2 = free the session) → undefined
napi_value H2Control(napi_env env, napi_callback_info info) {
  SessionCall c;
  int32_t what = 0;
  if (!GetSessionCall(env, info, 2, nullptr, &c) || !GetInt(env, c.argv[1], &what, "h2Control: what must be a number")) {
    return nullptr;
  }
  H2Module* m = c.m;
  H2Session* s = c.s;
  const int32_t h = c.handle;
  if (s == nullptr) return Undefined(env);
  if (what == 0) MarkH2Dirty(s, h);
  else if (what == 1) s->Drain();
  else if (what == 2) {
    m->sessions[h].reset();
    m->free_handles.push_back(h);
  }
  return Undefined(env);
}

// (out: Float64Array of at least 9) → undefined; fills this thread's counters (h2_session.h H2Counter)
napi_value H2Counters(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  double* out = nullptr;
  size_t n = 0;
  if (!GetTypedArray(env, argv[0], napi_float64_array, "h2Counters: out must be a Float64Array", &out, &n)) return nullptr;
  H2Module* m = g_module != nullptr && g_module->env == env ? g_module : nullptr;
  for (size_t i = 0; i < n && i < kCntCount; i++) out[i] = m == nullptr ? 0 : m->sink.counters[i];
  return Undefined(env);
}

void Export(napi_env env, napi_value exports, const char* name, napi_callback cb) {
  napi_value fn;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, nullptr, &fn) == napi_ok) {
    napi_set_named_property(env, exports, name, fn);
  }
}

}  // namespace

napi_value H2ReceiveFrom(napi_env env, napi_value* argv, H2SessionBase* s, const H2ReceiveNames& names) {
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!GetWordArray(env, argv[1], names.buf, &data, &len)) return nullptr;
  size_t start = 0, end = 0;
  if (!GetIndex(env, argv[2], static_cast<double>(len), names.start, names.start_outside, &start) ||
      !GetIndex(env, argv[3], static_cast<double>(len), names.end, names.end_outside, &end)) {
    return nullptr;
  }
  if (start > end) {
    ThrowRangeError(env, names.order);
    return nullptr;
  }
  H2Sink* sink = H2ModuleSink(env);
  if (sink == nullptr) return nullptr;
  sink->event_count = 0;
  sink->arena_used = 0;
  if (s == nullptr) return NumberValue(env, -1);
  sink->input = data;
  sink->input_len = len;
  const int64_t n = s->Receive(data + start, end - start);
  sink->input = nullptr;
  sink->input_len = 0;
  return NumberValue(env, static_cast<double>(n));
}

H2Sink* H2ModuleSink(napi_env env) {
  H2Module* m = Module(env);
  return m == nullptr ? nullptr : &m->sink;
}

int32_t H2ReserveHandle() {
  H2Module* m = g_module;
  if (!m->free_handles.empty()) {
    const int32_t handle = m->free_handles.back();
    m->free_handles.pop_back();
    return handle;
  }
  m->sessions.emplace_back();
  return static_cast<int32_t>(m->sessions.size() - 1);
}

void H2Store(int32_t handle, std::unique_ptr<H2Endpoint> s) { g_module->sessions[handle] = std::move(s); }

void H2Release(int32_t handle) {
  H2Module* m = g_module;
  if (m == nullptr || handle < 0 || static_cast<size_t>(handle) >= m->sessions.size()) return;
  m->sessions[handle].reset();
  m->free_handles.push_back(handle);
}

H2Endpoint* H2Find(int32_t handle) {
  H2Module* m = g_module;
  if (m == nullptr || handle < 0 || static_cast<size_t>(handle) >= m->sessions.size()) return nullptr;
  return m->sessions[handle].get();
}

bool H2GetBlock(napi_env env, napi_value v, const char* message, const std::string** out) {
  H2Module* m = Module(env);
  if (m == nullptr || !GetBlock(env, m, v, message)) return false;
  *out = &m->scratch;
  return true;
}

void MarkH2Dirty(H2Endpoint* s, int32_t handle) {
  H2Module* m = g_module;
  if (m == nullptr || s->dirty) return;
  s->dirty = true;
  m->dirty.push_back(handle);
  if (!m->flushing && !m->idle_running) {
    m->idle_running = true;
    uv_idle_start(&m->idle, OnIdle);
  }
}

Transport* H2Transport() {
  H2Module* m = g_module;
  if (m == nullptr) return nullptr;
  void* data = nullptr;
  if (napi_get_instance_data(m->env, &data) != napi_ok) return nullptr;
  return static_cast<Transport*>(data);
}

void RegisterH2(Napi::Env env, Napi::Object exports) {
  napi_value e = exports;
  Export(env, e, "h2Init", H2Init);
  Export(env, e, "h2Open", H2Open);
  Export(env, e, "h2Receive", H2Receive);
  Export(env, e, "h2EventCount", H2EventCount);
  Export(env, e, "h2Respond", H2Respond);
  Export(env, e, "h2Write", H2Write);
  Export(env, e, "h2End", H2End);
  Export(env, e, "h2Reset", H2Reset);
  Export(env, e, "h2SetReading", H2SetReading);
  Export(env, e, "h2Control", H2Control);
  Export(env, e, "h2Counters", H2Counters);
}

}  // namespace isthmus
