// Addon entry point: registers one group of functions per concern. There is
// no per-instance state (lookup tables are constexpr), so the addon loads in
// any number of worker threads; state, if ever needed, belongs in a
// Napi::Addon<T> instance, never in statics.
#include <napi.h>

#include "chunked_decoder.h"
#include "connection_acceptor.h"
#include "load_loop.h"
#include "response_framer.h"
#include "http_head_parser.h"
#include "partial_head_check.h"
#include "reuseport.h"
#include "tls_napi.h"

namespace isthmus {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterReusePort(env, exports);
  RegisterConnectionAcceptor(env, exports);
  RegisterHttpHeadParser(env, exports);
  RegisterPartialHeadCheck(env, exports);
  RegisterChunkedDecoder(env, exports);
  RegisterLoadLoop(env, exports);
  RegisterResponseFramer(env, exports);
  RegisterTls(env, exports);
  return exports;
}

NODE_API_MODULE(isthmus, Init)

}  // namespace isthmus
