// glibc gives each thread that mallocs its own arena (up to 8 per core), and
// memory freed in one arena is not reused by another. With worker threads
// each V8 isolate mallocs in its own arena, which cost --workers 2 about
// 5 MB of peak RSS under load; a cap makes threads share. Settable at run
// time (mallopt) so every way of starting the proxy gets it; arenas threads
// already hold stay, threads started later share the capped set.
#include "malloc_tuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace isthmus {

namespace {

// takes (max: integer >= 1); returns true when the C library took the setting (false where it has none: not glibc).
Napi::Value SetMallocArenaMax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "setMallocArenaMax(max): max must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t max = info[0].As<Napi::Number>().Int64Value();
  if (max < 1 || max > 1024) {
    Napi::RangeError::New(env, "setMallocArenaMax(max): max must be between 1 and 1024").ThrowAsJavaScriptException();
    return env.Undefined();
  }
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
  return Napi::Boolean::New(env, mallopt(M_ARENA_MAX, static_cast<int>(max)) == 1);
#else
  return Napi::Boolean::New(env, false);
#endif
}

}  // namespace

void RegisterMallocTuning(Napi::Env env, Napi::Object exports) {
  exports.Set("setMallocArenaMax", Napi::Function::New(env, SetMallocArenaMax, "setMallocArenaMax"));
}

}  // namespace isthmus
