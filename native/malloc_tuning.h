// Process-wide glibc malloc settings the proxy makes at startup (see
// malloc_tuning.cc): fewer malloc arenas for the worker threads to share,
// and trim/mmap thresholds that stay where glibc starts them.
#ifndef ISTHMUS_MALLOC_TUNING_H_
#define ISTHMUS_MALLOC_TUNING_H_

#include <napi.h>

namespace isthmus {

// takes the addon's exports; adds setMallocArenaMax and setMallocThresholds.
void RegisterMallocTuning(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_MALLOC_TUNING_H_
