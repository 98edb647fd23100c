// The per-thread registry of native HTTP/2 sessions (h2_napi.cc): which
// sessions have frames to send, flushed once per loop turn.
#ifndef ISTHMUS_H2_MODULE_H_
#define ISTHMUS_H2_MODULE_H_

#include <cstdint>

namespace isthmus {

class H2Session;
struct Transport;

// takes a session with something to send; it is written out at the end of this loop turn.
void MarkH2Dirty(H2Session* s, int32_t handle);
// takes nothing; returns this thread's native transport (null before transportInit).
Transport* H2Transport();

}  // namespace isthmus

#include <napi.h>

namespace isthmus {

// h2Init, h2Open, h2Receive, h2EventCount, h2Respond, h2Write, h2End, h2Reset, h2SetReading, h2Control,
// h2Counters on exports.
void RegisterH2(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_H2_MODULE_H_
