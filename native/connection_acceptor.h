// Accepts connections on a listening socket from the calling thread's libuv
// loop, in place of Node's net.Server, so that running out of file
// descriptors stops accepting (the connection waits in the kernel's backlog)
// instead of libuv's EMFILE handling, which closes queued connections or, once
// its reserve descriptor is lost to another thread, spins in accept().
#ifndef ISTHMUS_CONNECTION_ACCEPTOR_H_
#define ISTHMUS_CONNECTION_ACCEPTOR_H_

#include <napi.h>

namespace isthmus {

// startAccepting, resumeAccepting and stopAccepting on exports.
void RegisterConnectionAcceptor(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_CONNECTION_ACCEPTOR_H_
