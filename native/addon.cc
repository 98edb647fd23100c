// Addon entry point: registers one group of functions per concern. The only
// per-thread state is the native transport's, kept in the env's instance
// data (socket_transport.cc), never in statics, so the addon loads in any
// number of worker threads.
#include <napi.h>

#include "binary_pages.h"
#include "chunked_decoder.h"
#include "connection_acceptor.h"
#include "h2_module.h"
#include "load_loop.h"
#include "malloc_tuning.h"
#include "response_framer.h"
#include "http_head_parser.h"
#include "partial_head_check.h"
#include "reuseport.h"
#include "socket_tls.h"
#include "startup_page_releaser.h"
#include "socket_transport.h"
#include "tls_napi.h"
#include "x509_napi.h"

namespace isthmus {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  RegisterReusePort(env, exports);
  RegisterConnectionAcceptor(env, exports);
  RegisterHttpHeadParser(env, exports);
  RegisterPartialHeadCheck(env, exports);
  RegisterChunkedDecoder(env, exports);
  RegisterLoadLoop(env, exports);
  RegisterResponseFramer(env, exports);
  RegisterSocketTransport(env, exports);
  RegisterSocketTls(env, exports);
  RegisterTls(env, exports);
  RegisterX509(env, exports);
  RegisterH2(env, exports);
  RegisterH2Client(env, exports);
  RegisterMallocTuning(env, exports);
  RegisterBinaryPages(env, exports);
  RegisterStartupPageReleaser(env, exports);
  return exports;
}

NODE_API_MODULE(isthmus, Init)

}  // namespace isthmus
