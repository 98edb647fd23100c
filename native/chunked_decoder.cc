#include "chunked_decoder.h"

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

// (buf: Buffer, start, end, state: Float64Array, segments: Uint32Array) → number
napi_value DecodeChunkedJs(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return nullptr;
  uint8_t* buf;
  size_t length;
  double* state;
  size_t state_length;
  uint32_t* segments;
  size_t segments_length;
  size_t start, end;
  if (!GetTypedArray(env, argv[0], napi_uint8_array, "buf must be a Buffer", &buf, &length)) return nullptr;
  if (length > 0xffffffffu) return ThrowRangeError(env, "buf is longer than 4 GiB"), nullptr;
  if (!GetIndex(env, argv[1], static_cast<double>(length), "start must be a number", "start is outside buf", &start) ||
      !GetIndex(env, argv[2], static_cast<double>(length), "end must be a number", "end is outside buf", &end) ||
      !GetWordArray(env, argv[3], "state must be a Float64Array", &state, &state_length) ||
      !GetWordArray(env, argv[4], "segments must be a Uint32Array", &segments, &segments_length)) {
    return nullptr;
  }
  if (start > end) return ThrowRangeError(env, "start is after end"), nullptr;
  if (segments_length < 2) return ThrowRangeError(env, "segments must hold at least one range"), nullptr;
  if (state_length < kChunkedStateSize) return ThrowRangeError(env, "state must have CHUNKED.STATE_SIZE slots"), nullptr;
  const double phase = state[kChunkedPhase];
  if (!(phase >= 0 && phase <= kPhaseDone) || phase != static_cast<double>(static_cast<uint32_t>(phase)) ||
      !IsStateNumber(state[kChunkedRemaining]) || !IsStateNumber(state[kChunkedLineBytes]) ||
      !IsStateNumber(state[kChunkedSizeDigits]) || !IsStateNumber(state[kChunkedTrailerBytes])) {
    return ThrowRangeError(env, "state is not a chunked decoder state"), nullptr;
  }
  const int64_t r = DecodeChunked(buf, start, end, state, segments, segments_length / 2);
  return NumberValue(env, static_cast<double>(r));
}

}  // namespace

int64_t DecodeChunked(const uint8_t* buf, size_t start, size_t end, double* state, uint32_t* segments,
                      size_t segment_capacity) {
  FramingState s{static_cast<uint32_t>(state[kChunkedPhase]), static_cast<uint64_t>(state[kChunkedRemaining]),
                 static_cast<uint64_t>(state[kChunkedLineBytes]), static_cast<uint64_t>(state[kChunkedSizeDigits]),
                 static_cast<uint64_t>(state[kChunkedTrailerBytes])};
  size_t p = start;
  size_t ranges = 0;
  int error = 0;
  while (p < end && s.phase != kPhaseDone) {
    if (s.phase == kPhaseData) {
      if (ranges == segment_capacity) break;  // caller drains the ranges and calls again from CONSUMED
      const size_t avail = end - p;
      const size_t take = s.remaining < avail ? static_cast<size_t>(s.remaining) : avail;
      segments[2 * ranges] = static_cast<uint32_t>(p);
      segments[2 * ranges + 1] = static_cast<uint32_t>(p + take);
      ranges++;
      p += take;
      s.remaining -= take;
      if (s.remaining == 0) s.phase = kPhaseDataCr;
      continue;
    }
    error = StepFraming(s, buf[p]);
    if (error != 0) break;
    p++;
  }
  state[kChunkedPhase] = s.phase;
  state[kChunkedRemaining] = static_cast<double>(s.remaining);
  state[kChunkedLineBytes] = static_cast<double>(s.line_bytes);
  state[kChunkedSizeDigits] = static_cast<double>(s.size_digits);
  state[kChunkedConsumed] = static_cast<double>(p);
  state[kChunkedTrailerBytes] = static_cast<double>(s.trailer_bytes);
  return error != 0 ? error : static_cast<int64_t>(ranges);
}

void RegisterChunkedDecoder(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "decodeChunked", NAPI_AUTO_LENGTH, DecodeChunkedJs, nullptr, &fn);
  exports.Set("decodeChunked", fn);
}

}  // namespace isthmus
