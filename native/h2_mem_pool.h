// The allocator nghttp2 sessions of one thread use (nghttp2_mem): freed blocks of up to 1 KiB are kept on a
// free list per 16-byte size class and handed out again, instead of going back to glibc. A session allocates and
// frees several such blocks per stream (the stream, its header copies, its outbound frames), in bursts as long
// as the streams a batch opens; past tcache's 7 blocks a size, glibc's _int_malloc, unlink_chunk and
// malloc_consolidate took ~10% of the proxy's CPU under h2load -c 4 -m 16 (perf -e cpu-clock).
#ifndef ISTHMUS_H2_MEM_POOL_H_
#define ISTHMUS_H2_MEM_POOL_H_

#include <nghttp2/nghttp2.h>

namespace isthmus {

// takes nothing; returns this thread's allocator (sessions must be used and deleted on the thread that made them).
nghttp2_mem* H2MemPool();

}  // namespace isthmus

#endif  // ISTHMUS_H2_MEM_POOL_H_
