// glibc gives each thread that mallocs its own arena (up to 8 per core), and
// memory freed in one arena is not reused by another. With worker threads
// each V8 isolate mallocs in its own arena, which cost --workers 2 about
// 5 MB of peak RSS under load; a cap makes threads share. Settable at run
// time (mallopt) so every way of starting the proxy gets it; arenas threads
// already hold stay, threads started later share the capped set.
//
// The thresholds: glibc starts with 128 kB for both the mmap threshold (a
// larger block gets a mapping of its own, unmapped when freed) and the trim
// threshold (free memory at the top of an arena beyond it goes back to the
// kernel), but the first mmapped block freed raises the mmap threshold to its
// size and the trim threshold to twice that (up to 32/64 MB). Node frees one
// early (a large ArrayBuffer), and from then on an arena keeps megabytes of
// free memory resident: what V8's optimizing compiler allocates and frees in
// its first seconds under load (zones of 3-5 MB per isolate) stays counted.
// mallopt-ing either turns that adjustment off (src/process/malloc-thresholds.ts
// says which values the proxy sets and why).
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

// takes (trimBytes, mmapBytes: integers 4096..64 MiB); returns true when the C library took both (false where it has none:
// not glibc). Fixed values end glibc's dynamic raising of both thresholds.
Napi::Value SetMallocThresholds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "setMallocThresholds(trimBytes, mmapBytes): both must be numbers").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int64_t trim = info[0].As<Napi::Number>().Int64Value();
  const int64_t mmap = info[1].As<Napi::Number>().Int64Value();
  constexpr int64_t kMin = 4096;
  constexpr int64_t kMax = 64 << 20;  // glibc refuses an mmap threshold above 32 MB on 64-bit anyway: this bounds the trim one
  if (trim < kMin || trim > kMax || mmap < kMin || mmap > kMax) {
    Napi::RangeError::New(env, "setMallocThresholds(trimBytes, mmapBytes): both must be between 4096 and 67108864").ThrowAsJavaScriptException();
    return env.Undefined();
  }
#if defined(__GLIBC__) && defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
  const bool trimSet = mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim)) == 1;
  const bool mmapSet = mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap)) == 1;
  return Napi::Boolean::New(env, trimSet && mmapSet);
#else
  return Napi::Boolean::New(env, false);
#endif
}

}  // namespace

void RegisterMallocTuning(Napi::Env env, Napi::Object exports) {
  exports.Set("setMallocArenaMax", Napi::Function::New(env, SetMallocArenaMax, "setMallocArenaMax"));
  exports.Set("setMallocThresholds", Napi::Function::New(env, SetMallocThresholds, "setMallocThresholds"));
}

}  // namespace isthmus
