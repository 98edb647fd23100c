// Queue-backed BIOs for TLS sessions (tls_bio.h).
#include "tls_bio.h"

namespace isthmus {
namespace {

ByteQueue* QueueOf(BIO* bio) { return static_cast<ByteQueue*>(BIO_get_data(bio)); }

int QueueWrite(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  if (length <= 0) return 0;
  QueueOf(bio)->Append(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(length));
  return length;
}

int QueueRead(BIO* bio, char* out, int capacity) {
  BIO_clear_retry_flags(bio);
  if (capacity <= 0) return 0;
  const size_t n = QueueOf(bio)->Take(reinterpret_cast<uint8_t*>(out), static_cast<size_t>(capacity));
  if (n == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  return static_cast<int>(n);
}

long QueueCtrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_PENDING:
      return static_cast<long>(QueueOf(bio)->size());
    case BIO_CTRL_FLUSH:
      return 1;
    default:
      return 0;  // WPENDING, EOF, kTLS queries, ...: nothing to report
  }
}

BIO_METHOD* QueueMethod() {
  // Made once per process (thread-safe static init) and never freed, as OpenSSL's own methods are static.
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "isthmus cipher queue");
    if (m == nullptr) return m;
    BIO_meth_set_write(m, QueueWrite);
    BIO_meth_set_read(m, QueueRead);
    BIO_meth_set_ctrl(m, QueueCtrl);
    return m;
  }();
  return method;
}

}  // namespace

BIO* NewQueueBio(ByteQueue* queue) {
  BIO_METHOD* method = QueueMethod();
  BIO* bio = method == nullptr ? nullptr : BIO_new(method);
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, queue);
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace isthmus
