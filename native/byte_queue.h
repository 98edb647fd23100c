// A queue of bytes appended at the back and consumed from the front without
// moving the rest each time: an HTTP/2 stream's outgoing body (h2_stream.h)
// and a TLS session's ciphertext in both directions (tls_bio.h), which the
// native transport sends from in place (data() / Consume).
#ifndef ISTHMUS_BYTE_QUEUE_H_
#define ISTHMUS_BYTE_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace isthmus {

class ByteQueue {
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

}  // namespace isthmus

#endif  // ISTHMUS_BYTE_QUEUE_H_
