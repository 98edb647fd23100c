// Listening TCP sockets with SO_REUSEPORT, so that every worker thread opens
// its own socket on the same port and the kernel spreads connections.
#ifndef ISTHMUS_REUSEPORT_H_
#define ISTHMUS_REUSEPORT_H_

#include <napi.h>

namespace isthmus {

// listenReusePort, reservePort and closeFd on exports.
void RegisterReusePort(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_REUSEPORT_H_
