// BIOs a TLS session reads ciphertext from and writes it to, over byte queues
// (byte_queue.h). OpenSSL's memory BIO does the same through BUF_MEM (a ctrl
// call for every pending check, zeroed growth, a copy out before every send);
// the native transport sends from these queues directly.
#ifndef ISTHMUS_TLS_BIO_H_
#define ISTHMUS_TLS_BIO_H_

#include <openssl/bio.h>

#include "byte_queue.h"

namespace isthmus {

// takes a queue (which must outlive the BIO); returns a BIO reading from its front (empty: "retry", as a
// non-blocking socket) and appending to its back, or null when out of memory.
BIO* NewQueueBio(ByteQueue* queue);

}  // namespace isthmus

#endif  // ISTHMUS_TLS_BIO_H_
