// The JS face of the TLS engine (tls_context.h, tls_session.h): contexts and
// sessions as tagged externals, and batch calls that feed ciphertext ranges of
// the shared read buffer and return plaintext into a buffer JS holds.
#ifndef ISTHMUS_TLS_NAPI_H_
#define ISTHMUS_TLS_NAPI_H_

#include <napi.h>

#include <memory>

#include "tls_session.h"

namespace isthmus {

// tlsCreateContext, tlsContextCertificates, tlsCreateSession, tlsSessionFeed, tlsSessionWrite,
// tlsSessionTakeCiphertext, tlsSessionShutdown, tlsSessionPeer, tlsSessionError and tlsSessionFree on exports.
void RegisterTls(Napi::Env env, Napi::Object exports);

// Shared with the native transport's TLS functions (socket_tls_napi.cc):
// takes a tlsCreateContext external; returns its context, or null with a TypeError pending.
std::shared_ptr<TlsContext> TlsContextFromValue(napi_env env, napi_value value);
// takes a { type, kind, value, ignoreCase } object; fills *out, false with an exception pending.
bool TlsSanMatcherFromValue(napi_env env, napi_value value, SanMatcher* out);
// takes a completed handshake's peer info; returns it as tlsSessionPeer's object.
napi_value TlsPeerValue(napi_env env, const TlsPeerInfo& peer);

}  // namespace isthmus

#endif  // ISTHMUS_TLS_NAPI_H_
