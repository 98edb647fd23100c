// See h2_mem_pool.h. Each block carries a 16-byte header before the bytes nghttp2 sees: its size class, or, for a
// block over the largest class, its size (such blocks come from and go back to malloc directly). The cache is
// bounded in bytes; past the bound a freed block goes back to malloc.
#include "h2_mem_pool.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace isthmus {

namespace {

constexpr size_t kGrain = 16;
constexpr size_t kClasses = 64;                   // 16, 32, ... 1024 bytes
constexpr size_t kMaxPooled = kGrain * kClasses;  // larger blocks are not kept
constexpr size_t kMaxCachedBytes = 512 * 1024;    // per thread
constexpr uint32_t kLarge = 0xffffffffu;

struct Header {
  uint32_t cls;  // size class, or kLarge
  uint32_t unused;
  size_t size;   // a large block's size (capacity of what follows the header)
};
static_assert(sizeof(Header) == 16, "the header keeps nghttp2's blocks 16-byte aligned");

struct FreeBlock {
  FreeBlock* next;
};

struct Pool {
  FreeBlock* heads[kClasses] = {};
  size_t cached_bytes = 0;
  bool gone = false;  // the thread is exiting: every free goes back to malloc
  ~Pool() {
    gone = true;
    for (FreeBlock*& head : heads) {
      while (head != nullptr) {
        FreeBlock* next = head->next;
        std::free(reinterpret_cast<Header*>(head) - 1);
        head = next;
      }
    }
    cached_bytes = 0;
  }
};

thread_local Pool t_pool;

size_t Capacity(const Header* h) { return h->cls == kLarge ? h->size : (h->cls + 1) * kGrain; }

void* Allocate(size_t size, void*) {
  Pool& p = t_pool;
  if (size <= kMaxPooled) {
    const uint32_t cls = size == 0 ? 0 : static_cast<uint32_t>((size - 1) / kGrain);
    FreeBlock* b = p.gone ? nullptr : p.heads[cls];
    if (b != nullptr) {
      p.heads[cls] = b->next;
      p.cached_bytes -= (cls + 1) * kGrain;
      return b;
    }
    Header* h = static_cast<Header*>(std::malloc(sizeof(Header) + (cls + 1) * kGrain));
    if (h == nullptr) return nullptr;
    h->cls = cls;
    h->size = 0;
    return h + 1;
  }
  if (size > SIZE_MAX - sizeof(Header)) return nullptr;  // the header would wrap the size
  Header* h = static_cast<Header*>(std::malloc(sizeof(Header) + size));
  if (h == nullptr) return nullptr;
  h->cls = kLarge;
  h->size = size;
  return h + 1;
}

void Release(void* ptr, void*) {
  if (ptr == nullptr) return;
  Header* h = static_cast<Header*>(ptr) - 1;
  Pool& p = t_pool;
  const size_t cap = Capacity(h);
  if (h->cls == kLarge || p.gone || p.cached_bytes + cap > kMaxCachedBytes) {
    std::free(h);
    return;
  }
  FreeBlock* b = static_cast<FreeBlock*>(ptr);
  b->next = p.heads[h->cls];
  p.heads[h->cls] = b;
  p.cached_bytes += cap;
}

void* AllocateZeroed(size_t n, size_t size, void* user) {
  if (size != 0 && n > SIZE_MAX / size) return nullptr;
  void* p = Allocate(n * size, user);
  if (p != nullptr) std::memset(p, 0, n * size);
  return p;
}

void* Reallocate(void* ptr, size_t size, void* user) {
  if (ptr == nullptr) return Allocate(size, user);
  const Header* h = static_cast<const Header*>(ptr) - 1;
  const size_t cap = Capacity(h);
  if (size <= cap) return ptr;  // fits the block it has (shrinking keeps it)
  void* next = Allocate(size, user);
  if (next == nullptr) return nullptr;  // the old block stays valid, as realloc leaves it
  std::memcpy(next, ptr, cap < size ? cap : size);
  Release(ptr, user);
  return next;
}

nghttp2_mem g_mem = {nullptr, Allocate, Release, AllocateZeroed, Reallocate};

}  // namespace

nghttp2_mem* H2MemPool() { return &g_mem; }

}  // namespace isthmus
