#include "partial_head_check.h"

#include <cstring>

#include "header_semantics.h"
#include "http_chars.h"
#include "http_head_parser.h"
#include "napi_args.h"
#include "parse_errors.h"

namespace isthmus {
namespace {

// Where the check stands. Each phase mirrors one step of http_head_parser.cc
// and returns the same ParseError for the same byte.
enum PartialPhase : uint32_t {
  kPhaseRequestLine = 0,  // empty lines before the request line
  kPhaseMethod = 1,       // method token
  kPhaseTarget = 2,       // request-target bytes
  kPhaseVersion = 3,      // the version: the whole line is re-checked per call, at most 10 calls
  kPhaseLineStart = 4,    // first byte of a field line, or the final CRLF
  kPhaseName = 5,         // field-name token
  kPhaseValue = 6,        // field value up to its CR
  kPhaseLineFeed = 7,     // the LF after a field line's CR
};

constexpr int64_t kNeedMore = 0;

struct Check {
  uint8_t* buf;
  size_t start;
  size_t lim;
  uint32_t* state;
  uint32_t max_headers;
};

// The request line: method and target are scanned incrementally; once the
// target ended, the whole line goes through the parser's own check (which
// re-reads it at most once per added version byte).
int64_t CheckLine(Check& k, size_t& p, uint32_t& phase) {
  uint8_t* buf = k.buf;
  if (phase == kPhaseRequestLine) {
    // RFC 9112 2.2: empty lines before the request line are skipped.
    while (p < k.lim && buf[p] == '\r') {
      if (p + 1 >= k.lim) return kNeedMore;
      if (buf[p + 1] != '\n') return kInvalidLineEnding;
      p += 2;
    }
    if (p >= k.lim) return kNeedMore;
    if (buf[p] == '\n') return kInvalidLineEnding;
    k.state[kPartialLineStart] = static_cast<uint32_t>(p - k.start);
    phase = kPhaseMethod;
  }
  const size_t line_start = k.start + k.state[kPartialLineStart];
  if (phase == kPhaseMethod) {
    while (p < k.lim && kHttpChars.token_lower[buf[p]]) p++;
    if (p >= k.lim) return kNeedMore;
    if (p == line_start || buf[p] != ' ') return kInvalidMethod;
    p++;
    phase = kPhaseTarget;
    k.state[kPartialMark] = static_cast<uint32_t>(p - k.start);
  }
  if (phase == kPhaseTarget) {
    const size_t target_start = k.start + k.state[kPartialMark];
    p = ScanTarget(buf, p, k.lim);
    if (p >= k.lim) return kNeedMore;
    if (buf[p] != ' ') {
      const bool line_end = buf[p] == '\r' || buf[p] == '\n';
      return (line_end && p > target_start) ? kInvalidVersion : kInvalidTarget;
    }
    if (p == target_start) return kInvalidTarget;
    phase = kPhaseVersion;
  }
  size_t next = 0;
  const int r = CheckRequestLine(buf, line_start, k.lim, &next);
  if (r < 0) return r;
  if (r == 0) return kNeedMore;  // p stays after the target: the version is re-read (at most 10 bytes)
  p = next;
  phase = kPhaseLineStart;
  return 1;
}

// The checks of one field's own value (Host characters, Content-Length
// digits, ...) on the complete line buf[line_start, cr), as if it were the
// only field: a fresh FieldSemantics refuses only what any head holding this
// field is refused for. Checks across fields wait for the complete head.
int CheckFieldAlone(uint8_t* buf, size_t line_start, size_t cr) {
  const uint8_t* colon = static_cast<const uint8_t*>(std::memchr(buf + line_start, ':', cr - line_start));
  if (colon == nullptr) return kInvalidHeaderName;  // cannot happen: the name phase found it
  const size_t name_end = static_cast<size_t>(colon - buf);
  for (size_t i = line_start; i < name_end; i++) buf[i] = kHttpChars.lower[buf[i]];
  const HeaderId id = IdentifyHeader(buf + line_start, name_end - line_start);
  if (id == kHeaderOther) return 0;
  size_t value_start = name_end + 1;
  while (value_start < cr && IsOws(buf[value_start])) value_start++;
  size_t value_end = cr;
  while (value_end > value_start && IsOws(buf[value_end - 1])) value_end--;
  FieldSemantics alone{MessageKind::kRequest, 1};
  return ApplyHeaderSemantics(alone, id, 0, buf + value_start, value_end - value_start);
}

// Field lines up to the final empty line; returns the head's length when it ends.
int64_t CheckFields(Check& k, size_t& p, uint32_t& phase) {
  uint8_t* buf = k.buf;
  uint32_t count = k.state[kPartialCount];
  for (;;) {
    if (phase == kPhaseLineStart) {
      if (p >= k.lim) break;
      const uint8_t ch = buf[p];
      if (ch == '\r') {
        if (p + 1 >= k.lim) break;
        if (buf[p + 1] != '\n') return kInvalidLineEnding;
        return static_cast<int64_t>(p + 2 - k.start);
      }
      if (ch == '\n') return kInvalidLineEnding;
      if (IsOws(ch)) return count > 0 ? kObsFold : kInvalidHeaderName;
      if (count == k.max_headers) return kTooManyHeaders;
      k.state[kPartialLineStart] = static_cast<uint32_t>(p - k.start);
      phase = kPhaseName;
    }
    if (phase == kPhaseName) {
      while (p < k.lim && kHttpChars.token_lower[buf[p]]) p++;
      if (p >= k.lim) break;
      const size_t name_start = k.start + k.state[kPartialLineStart];
      if (buf[p] != ':') return IsOws(buf[p]) && p > name_start ? kWhitespaceBeforeColon : kInvalidHeaderName;
      if (p == name_start) return kInvalidHeaderName;
      p++;
      phase = kPhaseValue;
    }
    if (phase == kPhaseValue) {
      p = ScanFieldValue(buf, p, k.lim);  // OWS are field-value bytes too
      if (p >= k.lim) break;
      if (buf[p] != '\r') return buf[p] == '\n' ? kInvalidLineEnding : kInvalidHeaderValue;
      phase = kPhaseLineFeed;
    }
    // kPhaseLineFeed: p is at the CR
    if (p + 1 >= k.lim) break;
    if (buf[p + 1] != '\n') return kInvalidLineEnding;
    const int r = CheckFieldAlone(buf, k.start + k.state[kPartialLineStart], p);
    if (r < 0) return r;
    p += 2;
    count++;
    phase = kPhaseLineStart;
  }
  k.state[kPartialCount] = count;
  return kNeedMore;
}

// (buf: Buffer, start, end, state: Uint32Array, maxHeadBytes, maxHeaders) → number
napi_value CheckPartialRequestHeadJs(napi_env env, napi_callback_info info) {
  HeadCallArgs a;
  if (!GetHeadCallArgs(env, info, "state must be a Uint32Array", &a)) return nullptr;
  if (a.words_length < kPartialStateSize) return ThrowRangeError(env, "state is smaller than PARTIAL_HEAD.STATE_SIZE"), nullptr;
  const int64_t r = CheckPartialRequestHead(a.buf, a.start, a.end, a.words, a.max_head_bytes, a.max_headers);
  return NumberValue(env, static_cast<double>(r));
}

}  // namespace

int64_t CheckPartialRequestHead(uint8_t* buf, size_t start, size_t end, uint32_t* state, size_t max_head_bytes,
                                uint32_t max_headers) {
  const bool capped = end - start > max_head_bytes;
  Check k{buf, start, capped ? start + max_head_bytes : end, state, max_headers};
  size_t p = start + state[kPartialPos];
  uint32_t phase = state[kPartialPhase];
  if (p > k.lim || phase > kPhaseLineFeed) return kInvalidMethod;  // a state from another head: refuse, never read past lim
  int64_t r = 1;
  if (phase < kPhaseLineStart) r = CheckLine(k, p, phase);
  if (r > 0) r = CheckFields(k, p, phase);
  state[kPartialPos] = static_cast<uint32_t>(p - start);
  state[kPartialPhase] = phase;
  if (r == kNeedMore && capped) return kHeadTooLarge;
  return r;
}

void RegisterPartialHeadCheck(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "checkPartialRequestHead", NAPI_AUTO_LENGTH, CheckPartialRequestHeadJs, nullptr, &fn);
  exports.Set("checkPartialRequestHead", fn);
}

}  // namespace isthmus
