// The byte queues a TLS session's BIOs read ciphertext from and write it to.
// OpenSSL's memory BIO does the same through BUF_MEM (a ctrl call for every
// pending check, zeroed growth, a copy out before every send); these are
// plain vectors the native transport sends from directly.
#ifndef ISTHMUS_TLS_BIO_H_
#define ISTHMUS_TLS_BIO_H_

#include <openssl/bio.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace isthmus {

class CipherQueue {
 public:
  // Bytes queued and not yet taken.
  size_t size() const { return bytes_.size() - taken_; }
  // The first queued byte (valid until the next Append, Take or Consume).
  const uint8_t* data() const { return bytes_.data() + taken_; }
  // takes bytes; queues a copy.
  void Append(const uint8_t* data, size_t length);
  // takes a buffer; moves up to `capacity` queued bytes into it and returns how many.
  size_t Take(uint8_t* out, size_t capacity);
  // takes a count (<= size()); drops that many queued bytes from the front.
  void Consume(size_t length);

 private:
  std::vector<uint8_t> bytes_;
  size_t taken_ = 0;  // bytes_[0, taken_) were taken
};

// takes a queue (which must outlive the BIO); returns a BIO reading from its front (empty: "retry", as a
// non-blocking socket) and appending to its back, or null when out of memory.
BIO* NewQueueBio(CipherQueue* queue);

}  // namespace isthmus

#endif  // ISTHMUS_TLS_BIO_H_
