// runClosedLoop: the bench load generator's closed loop (max throughput) in
// C++ on sockets Node already connected: one request in flight per
// connection, the next written as soon as the answer is framed, latencies
// of the measured window written to a Float64Array. It blocks its (worker)
// thread for warm-up + duration: a JS loop pays Node's per-read callback
// (about a microsecond) on every response, enough to make the client, not
// the system under test, the limit on a 2-core machine.
#ifndef ISTHMUS_LOAD_LOOP_H_
#define ISTHMUS_LOAD_LOOP_H_

#include <napi.h>

namespace isthmus {

void RegisterLoadLoop(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_LOAD_LOOP_H_
