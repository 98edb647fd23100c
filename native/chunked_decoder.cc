#include "chunked_decoder.h"

#include <cstdint>
#include <cstring>

#include "http_chars.h"
#include "napi_args.h"
#include "parse_errors.h"

namespace isthmus {
namespace {

constexpr uint64_t kMaxChunkSizeDigits = 15;
constexpr uint64_t kMaxSafeInteger = 9007199254740991ull;  // 2^53 - 1: sizes stay exact in the state array

struct FramingState {
  uint32_t phase;
  uint64_t remaining;
  uint64_t line_bytes;
  uint64_t size_digits;
  uint64_t trailer_bytes;
};

// Advances over one framing byte (everything except chunk data). Returns 0 or a ParseError.
inline int StepFraming(FramingState& s, uint8_t ch) {
  const auto& t = kHttpChars;
  if (s.phase <= kPhaseSizeLf) {
    if (++s.line_bytes > kMaxChunkLineBytes) return kChunkLineTooLong;
  } else if (s.phase >= kPhaseTrailerStart) {
    if (++s.trailer_bytes > kMaxTrailerBytes) return kTrailersTooLarge;
  }
  switch (s.phase) {
    case kPhaseSizeStart:
      if (t.hex[ch] == 0xff) return ch == '\n' ? kInvalidLineEnding : kBadChunkSize;
      s.remaining = t.hex[ch];
      s.size_digits = 1;
      s.phase = kPhaseSize;
      return 0;
    case kPhaseSize:
      if (t.hex[ch] != 0xff) {
        if (++s.size_digits > kMaxChunkSizeDigits) return kBadChunkSize;
        s.remaining = s.remaining * 16 + t.hex[ch];
        if (s.remaining > kMaxSafeInteger) return kBadChunkSize;  // checked per digit: state slots stay exact
      } else if (ch == '\r') {
        s.phase = kPhaseSizeLf;
      } else if (ch == ';') {
        s.phase = kPhaseExtension;
      } else if (IsOws(ch)) {
        s.phase = kPhaseSizeBws;  // BWS is allowed only before ';'
      } else {
        return ch == '\n' ? kInvalidLineEnding : kBadChunkSize;
      }
      return 0;
    case kPhaseSizeBws:
      if (ch == ';') {
        s.phase = kPhaseExtension;
      } else if (!IsOws(ch)) {
        return ch == '\n' ? kInvalidLineEnding : kBadChunkSize;
      }
      return 0;
    case kPhaseExtension:  // ;name[=token|quoted-string], loosely: tokens, '=', ';', BWS
      if (ch == '\r') {
        s.phase = kPhaseSizeLf;
      } else if (ch == '"') {
        s.phase = kPhaseExtensionQuoted;
      } else if (!t.token_lower[ch] && ch != ';' && ch != '=' && !IsOws(ch)) {
        return ch == '\n' ? kInvalidLineEnding : kBadChunkSize;
      }
      return 0;
    case kPhaseExtensionQuoted:
      if (ch == '"') {
        s.phase = kPhaseExtension;
      } else if (ch == '\\') {
        s.phase = kPhaseExtensionEscape;
      } else if (!t.field_value[ch]) {
        return (ch == '\r' || ch == '\n') ? kInvalidLineEnding : kBadChunkSize;
      }
      return 0;
    case kPhaseExtensionEscape:
      if (!t.field_value[ch]) return (ch == '\r' || ch == '\n') ? kInvalidLineEnding : kBadChunkSize;
      s.phase = kPhaseExtensionQuoted;
      return 0;
    case kPhaseSizeLf:
      if (ch != '\n') return kInvalidLineEnding;
      s.line_bytes = 0;
      s.size_digits = 0;
      s.phase = s.remaining == 0 ? kPhaseTrailerStart : kPhaseData;
      return 0;
    case kPhaseDataCr:
      if (ch != '\r') return kBadChunkTerminator;
      s.phase = kPhaseDataLf;
      return 0;
    case kPhaseDataLf:
      if (ch != '\n') return kBadChunkTerminator;
      s.phase = kPhaseSizeStart;
      return 0;
    case kPhaseTrailerStart:
      if (ch == '\r') {
        s.phase = kPhaseFinalLf;
      } else if (t.token_lower[ch]) {
        s.phase = kPhaseTrailerName;
      } else {
        return ch == '\n' ? kInvalidLineEnding : kInvalidTrailer;  // includes obs-fold
      }
      return 0;
    case kPhaseTrailerName:
      if (ch == ':') {
        s.phase = kPhaseTrailerValue;
      } else if (!t.token_lower[ch]) {
        return kInvalidTrailer;
      }
      return 0;
    case kPhaseTrailerValue:
      if (ch == '\r') {
        s.phase = kPhaseTrailerLf;
      } else if (!t.field_value[ch]) {
        return ch == '\n' ? kInvalidLineEnding : kInvalidTrailer;
      }
      return 0;
    case kPhaseTrailerLf:
      if (ch != '\n') return kInvalidLineEnding;
      s.phase = kPhaseTrailerStart;
      return 0;
    case kPhaseFinalLf:
      if (ch != '\n') return kInvalidLineEnding;
      s.phase = kPhaseDone;
      return 0;
    default:
      return kBadChunkSize;  // unreachable: the caller validated the phase
  }
}

inline bool IsStateNumber(double d) { return d >= 0 && d <= static_cast<double>(kMaxSafeInteger); }

// Reads state, runs the state machine over buf[start,end) handing each data run to sink.Take(p, n) (which
// returns false when it can take no more: the decoder stops before that run), writes state back. Returns 0 or a
// ParseError.
template <typename Sink>
int Decode(const uint8_t* buf, size_t start, size_t end, double* state, Sink& sink) {
  FramingState s{static_cast<uint32_t>(state[kChunkedPhase]), static_cast<uint64_t>(state[kChunkedRemaining]),
                 static_cast<uint64_t>(state[kChunkedLineBytes]), static_cast<uint64_t>(state[kChunkedSizeDigits]),
                 static_cast<uint64_t>(state[kChunkedTrailerBytes])};
  size_t p = start;
  // Where this call's trailer-section bytes begin: here when it resumes inside the section, else once the last chunk's line ends.
  size_t trailer_start = (s.phase >= kPhaseTrailerStart && s.phase != kPhaseDone) ? start : SIZE_MAX;
  int error = 0;
  while (p < end && s.phase != kPhaseDone) {
    if (s.phase == kPhaseData) {
      const size_t avail = end - p;
      const size_t take = s.remaining < avail ? static_cast<size_t>(s.remaining) : avail;
      if (!sink.Take(p, take)) break;  // caller drains and calls again from CONSUMED
      p += take;
      s.remaining -= take;
      if (s.remaining == 0) s.phase = kPhaseDataCr;
      continue;
    }
    error = StepFraming(s, buf[p]);
    if (error != 0) break;
    p++;
    if (trailer_start == SIZE_MAX && s.phase == kPhaseTrailerStart) trailer_start = p;
  }
  state[kChunkedPhase] = s.phase;
  state[kChunkedRemaining] = static_cast<double>(s.remaining);
  state[kChunkedLineBytes] = static_cast<double>(s.line_bytes);
  state[kChunkedSizeDigits] = static_cast<double>(s.size_digits);
  state[kChunkedConsumed] = static_cast<double>(p);
  state[kChunkedTrailerBytes] = static_cast<double>(s.trailer_bytes);
  state[kChunkedTrailerStart] = static_cast<double>(trailer_start == SIZE_MAX ? p : trailer_start);
  return error;
}

// Data runs as absolute [start,end) pairs, up to capacity pairs.
struct RangeSink {
  uint32_t* segments;
  size_t capacity;
  size_t ranges;
  bool Take(size_t p, size_t n) {
    if (ranges == capacity) return false;
    segments[2 * ranges] = static_cast<uint32_t>(p);
    segments[2 * ranges + 1] = static_cast<uint32_t>(p + n);
    ranges++;
    return true;
  }
};

// Data runs moved down to buf[out...): out <= p always (framing bytes only ever separate runs), so memmove is safe.
struct CompactSink {
  uint8_t* buf;
  size_t out;
  bool Take(size_t p, size_t n) {
    if (out != p) std::memmove(buf + out, buf + p, n);
    out += n;
    return true;
  }
};

// Checks buf, start, end and state (the arguments both JS entry points share); false after throwing.
bool GetDecodeArgs(napi_env env, napi_value* argv, uint8_t** buf, size_t* start, size_t* end, double** state) {
  size_t length;
  size_t state_length;
  if (!GetTypedArray(env, argv[0], napi_uint8_array, "buf must be a Buffer", buf, &length)) return false;
  if (length > 0xffffffffu) return ThrowRangeError(env, "buf is longer than 4 GiB");
  if (!GetIndex(env, argv[1], static_cast<double>(length), "start must be a number", "start is outside buf", start) ||
      !GetIndex(env, argv[2], static_cast<double>(length), "end must be a number", "end is outside buf", end) ||
      !GetWordArray(env, argv[3], "state must be a Float64Array", state, &state_length)) {
    return false;
  }
  if (*start > *end) return ThrowRangeError(env, "start is after end");
  if (state_length < kChunkedStateSize) return ThrowRangeError(env, "state must have CHUNKED.STATE_SIZE slots");
  const double* st = *state;
  const double phase = st[kChunkedPhase];
  if (!(phase >= 0 && phase <= kPhaseDone) || phase != static_cast<double>(static_cast<uint32_t>(phase)) ||
      !IsStateNumber(st[kChunkedRemaining]) || !IsStateNumber(st[kChunkedLineBytes]) ||
      !IsStateNumber(st[kChunkedSizeDigits]) || !IsStateNumber(st[kChunkedTrailerBytes])) {
    return ThrowRangeError(env, "state is not a chunked decoder state");
  }
  return true;
}

// (buf: Buffer, start, end, state: Float64Array, segments: Uint32Array) → number
napi_value DecodeChunkedJs(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  uint8_t* buf;
  double* state;
  uint32_t* segments;
  size_t segments_length;
  size_t start, end;
  if (!GetDecodeArgs(env, argv, &buf, &start, &end, &state) ||
      !GetWordArray(env, argv[4], "segments must be a Uint32Array", &segments, &segments_length)) {
    return nullptr;
  }
  if (segments_length < 2) return ThrowRangeError(env, "segments must hold at least one range"), nullptr;
  return NumberValue(env, static_cast<double>(DecodeChunked(buf, start, end, state, segments, segments_length / 2)));
}

// (buf: Buffer, start, end, state: Float64Array) → number
napi_value DecodeChunkedInPlaceJs(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  uint8_t* buf;
  double* state;
  size_t start, end;
  if (!GetDecodeArgs(env, argv, &buf, &start, &end, &state)) return nullptr;
  return NumberValue(env, static_cast<double>(DecodeChunkedInPlace(buf, start, end, state)));
}

}  // namespace

int64_t DecodeChunked(const uint8_t* buf, size_t start, size_t end, double* state, uint32_t* segments,
                      size_t segment_capacity) {
  RangeSink sink{segments, segment_capacity, 0};
  const int error = Decode(buf, start, end, state, sink);
  return error != 0 ? error : static_cast<int64_t>(sink.ranges);
}

int64_t DecodeChunkedInPlace(uint8_t* buf, size_t start, size_t end, double* state) {
  CompactSink sink{buf, start};
  const int error = Decode(buf, start, end, state, sink);
  return error != 0 ? error : static_cast<int64_t>(sink.out - start);
}

void RegisterChunkedDecoder(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "decodeChunked", NAPI_AUTO_LENGTH, DecodeChunkedJs, nullptr, &fn);
  exports.Set("decodeChunked", fn);
  napi_create_function(env, "decodeChunkedInPlace", NAPI_AUTO_LENGTH, DecodeChunkedInPlaceJs, nullptr, &fn);
  exports.Set("decodeChunkedInPlace", fn);
}

}  // namespace isthmus
