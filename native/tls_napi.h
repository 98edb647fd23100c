// The JS face of the TLS engine (tls_context.h, tls_session.h): contexts and
// sessions as tagged externals, and batch calls that feed ciphertext ranges of
// the shared read buffer and return plaintext into a buffer JS holds.
#ifndef ISTHMUS_TLS_NAPI_H_
#define ISTHMUS_TLS_NAPI_H_

#include <napi.h>

namespace isthmus {

// tlsCreateContext, tlsContextCertificates, tlsCreateSession, tlsSessionFeed, tlsSessionWrite,
// tlsSessionTakeCiphertext, tlsSessionShutdown, tlsSessionPeer, tlsSessionError and tlsSessionFree on exports.
void RegisterTls(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_TLS_NAPI_H_
