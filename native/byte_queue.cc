// A byte queue consumed from the front (byte_queue.h).
#include "byte_queue.h"

#include <algorithm>
#include <cstring>

namespace isthmus {
namespace {

// An emptied queue keeps up to this much capacity for the next bytes; a larger one (a big write) is freed.
constexpr size_t kKeptCapacity = 64 * 1024;

}  // namespace

void ByteQueue::Append(const uint8_t* data, size_t length) {
  if (taken_ > 0 && taken_ >= size()) {
    // Taken bytes are at least half the vector: move what is left (usually a partial record) to the front rather
    // than grow, so the vector stays within twice what is queued and a long backlog is not moved per append.
    bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<ptrdiff_t>(taken_));
    taken_ = 0;
  }
  bytes_.insert(bytes_.end(), data, data + length);
}

size_t ByteQueue::Take(uint8_t* out, size_t capacity) {
  const size_t n = std::min(size(), capacity);
  if (n > 0) memcpy(out, data(), n);
  Consume(n);
  return n;
}

void ByteQueue::Consume(size_t length) {
  taken_ += std::min(length, size());
  if (taken_ < bytes_.size()) return;
  taken_ = 0;
  if (bytes_.capacity() > kKeptCapacity) {
    std::vector<uint8_t>().swap(bytes_);
  } else {
    bytes_.clear();
  }
}

}  // namespace isthmus
