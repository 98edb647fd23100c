// Cheap argument checks for the hot-path functions, on raw N-API calls so a
// call allocates nothing. Each getter throws a JS TypeError/RangeError and
// returns false when the argument is wrong; the caller then returns undefined.
#ifndef ISTHMUS_NAPI_ARGS_H_
#define ISTHMUS_NAPI_ARGS_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace isthmus {

inline bool ThrowTypeError(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return false;
}

inline bool ThrowRangeError(napi_env env, const char* message) {
  napi_throw_range_error(env, nullptr, message);
  return false;
}

// A typed array of exactly `want` element type; data points at its first element.
template <typename T>
inline bool GetTypedArray(napi_env env, napi_value value, napi_typedarray_type want, const char* message,
                          T** data, size_t* length) {
  napi_typedarray_type type;
  void* raw = nullptr;
  size_t n = 0;
  if (napi_get_typedarray_info(env, value, &type, &n, &raw, nullptr, nullptr) != napi_ok || type != want) {
    return ThrowTypeError(env, message);
  }
  *data = static_cast<T*>(raw);
  *length = n;
  return true;
}

// A typed array whose elements are sizeof(T) bytes (Uint32Array for
// uint32_t, Float64Array for double). It checks the element size rather than
// the exact type: asking N-API for the type walks a chain of up to ten V8
// type tests per argument, a measurable share of a hot-path call. A
// same-sized wrong type (Int32Array for Uint32Array) reads as garbage but
// stays memory-safe, since all bounds come from the byte length.
template <typename T>
inline bool GetWordArray(napi_env env, napi_value value, const char* message, T** data, size_t* length) {
  size_t elements = 0;
  void* raw = nullptr;
  size_t bytes = 0;
  if (napi_get_typedarray_info(env, value, nullptr, &elements, nullptr, nullptr, nullptr) != napi_ok ||
      napi_get_buffer_info(env, value, &raw, &bytes) != napi_ok || bytes != elements * sizeof(T) ||
      reinterpret_cast<uintptr_t>(raw) % alignof(T) != 0) {
    return ThrowTypeError(env, message);
  }
  *data = static_cast<T*>(raw);
  *length = elements;
  return true;
}

// An integral number in [0, max].
inline bool GetIndex(napi_env env, napi_value value, double max, const char* type_message,
                     const char* range_message, size_t* out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return ThrowTypeError(env, type_message);
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    return ThrowRangeError(env, range_message);
  }
  *out = static_cast<size_t>(d);
  return true;
}

inline napi_value Undefined(napi_env env) {
  napi_value v = nullptr;
  napi_get_undefined(env, &v);
  return v;
}

inline napi_value NumberValue(napi_env env, double n) {
  napi_value v = nullptr;
  napi_create_double(env, n, &v);
  return v;
}

// Takes a function reference and one argument, returns false when the function could not be reached (nothing
// called). Calls fn(arg) as a loop callback does (napi_make_callback in `context`, receiver the global): an exception
// it throws goes to 'uncaughtException', as from any I/O callback. The caller holds a handle scope.
inline bool CallFromLoop(napi_env env, napi_async_context context, napi_ref fn_ref, napi_value arg) {
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || napi_get_global(env, &recv) != napi_ok) return false;
  if (napi_make_callback(env, context, recv, fn, 1, &arg, &result) != napi_ok) {
    bool pending = false;
    napi_value error;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending &&
        napi_get_and_clear_last_exception(env, &error) == napi_ok) {
      napi_fatal_exception(env, error);
    }
  }
  return true;
}

// The arguments every head-parsing call takes: (buf: Buffer, start, end, words: Uint32Array, maxHeadBytes,
// maxHeaders). words is the parser's output slots or the partial check's state; its size is the caller's to check.
struct HeadCallArgs {
  uint8_t* buf;
  size_t start;
  size_t end;
  uint32_t* words;
  size_t words_length;
  size_t max_head_bytes;
  uint32_t max_headers;
};

// Reads and checks HeadCallArgs; words_message names the Uint32Array argument in the TypeError.
inline bool GetHeadCallArgs(napi_env env, napi_callback_info info, const char* words_message, HeadCallArgs* a) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return false;
  size_t length;
  size_t max_headers;
  if (!GetTypedArray(env, argv[0], napi_uint8_array, "buf must be a Buffer", &a->buf, &length)) return false;
  if (length > 0xffffffffu) return ThrowRangeError(env, "buf is longer than 4 GiB");
  if (!GetIndex(env, argv[1], static_cast<double>(length), "start must be a number", "start is outside buf", &a->start) ||
      !GetIndex(env, argv[2], static_cast<double>(length), "end must be a number", "end is outside buf", &a->end) ||
      !GetWordArray(env, argv[3], words_message, &a->words, &a->words_length) ||
      !GetIndex(env, argv[4], 4294967295.0, "maxHeadBytes must be a number", "maxHeadBytes must be an integer >= 0",
                &a->max_head_bytes) ||
      !GetIndex(env, argv[5], 4294967295.0, "maxHeaders must be a number", "maxHeaders must be an integer >= 0",
                &max_headers)) {
    return false;
  }
  if (a->start > a->end) return ThrowRangeError(env, "start is after end");
  a->max_headers = static_cast<uint32_t>(max_headers);
  return true;
}

}  // namespace isthmus

#endif  // ISTHMUS_NAPI_ARGS_H_
