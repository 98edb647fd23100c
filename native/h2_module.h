// The per-thread registry of native HTTP/2 sessions (h2_napi.cc): which
// sessions have frames to send, flushed once per loop turn.
#ifndef ISTHMUS_H2_MODULE_H_
#define ISTHMUS_H2_MODULE_H_

#include <cstdint>

namespace isthmus {

struct Transport;
struct H2Sink;
class H2SessionBase;

// A native HTTP/2 session of either side, as the registry holds it: handles are shared by server sessions
// (h2_session.h) and upstream client sessions (h2_client_session.h), so one event batch serves both.
class H2Endpoint {
 public:
  virtual ~H2Endpoint() = default;
  // Writes what nghttp2 has to send into the connection, up to its high-water mark.
  virtual void Send() = 0;
  virtual bool IsClient() const = 0;
  bool dirty = false;  // in the module's send list
};

// takes a session with something to send; it is written out at the end of this loop turn.
void MarkH2Dirty(H2Endpoint* s, int32_t handle);
// takes nothing; returns this thread's native transport (null before transportInit).
Transport* H2Transport();

}  // namespace isthmus

#include <napi.h>

#include <memory>
#include <string>

namespace isthmus {

// takes the env; returns this thread's event sink (null, with a JS error thrown, before h2Init).
H2Sink* H2ModuleSink(napi_env env);
// takes a session made with the handle H2ReserveHandle gave; stores it under that handle.
void H2Store(int32_t handle, std::unique_ptr<H2Endpoint> s);
// takes nothing; returns a free handle (H2Store or H2Release it next).
int32_t H2ReserveHandle();
// takes a handle; frees its session (if any) and the handle.
void H2Release(int32_t handle);
// takes a handle; returns its session or null.
H2Endpoint* H2Find(int32_t handle);
// The argument messages of one receive function (h2Receive, h2cReceive).
struct H2ReceiveNames {
  const char* buf;
  const char* start;
  const char* start_outside;
  const char* end;
  const char* end_outside;
  const char* order;
};
// takes argv (handle, buf, start, end), the session the handle names (null: gone) and the call's messages; feeds the
// session buf[start, end) with the event array emptied first; returns bytes consumed or -1 (null, with a JS error
// thrown, for bad arguments).
napi_value H2ReceiveFrom(napi_env env, napi_value* argv, H2SessionBase* s, const H2ReceiveNames& names);
// takes a header block argument (latin1 "name\0value\0"..., or undefined); returns false with a JS error thrown;
// names are lower-cased. The block is valid until the next call.
bool H2GetBlock(napi_env env, napi_value v, const char* message, const std::string** out);

// h2Init, h2Open, h2Receive, h2EventCount, h2Respond, h2Write, h2End, h2Reset, h2SetReading, h2Control,
// h2Counters on exports.
void RegisterH2(Napi::Env env, Napi::Object exports);
// h2cOpen, h2cReceive, h2cRequest, h2cWrite, h2cEnd, h2cReset, h2cSetReading, h2cControl on exports
// (h2_client_napi.cc).
void RegisterH2Client(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_H2_MODULE_H_
