// The JS face of the CA's CSR reader (x509_csr.h) and signer (x509_issue.h):
// x509ReadCsr returns a parsed request as a tagged external plus its facts,
// x509VerifyCsr checks its proof of possession, and the X509Signer class
// (one per CA key) issues certificates. Every failure is a JS Error with a
// message; nothing throws across N-API.
#ifndef ISTHMUS_X509_NAPI_H_
#define ISTHMUS_X509_NAPI_H_

#include <napi.h>

namespace isthmus {

// takes the addon's exports; adds x509ReadCsr, x509VerifyCsr and the X509Signer class.
void RegisterX509(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_X509_NAPI_H_
