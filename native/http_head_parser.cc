#include "http_head_parser.h"

#include <cstring>

#include "header_semantics.h"
#include "http_chars.h"
#include "http_head.h"
#include "napi_args.h"
#include "parse_errors.h"

namespace isthmus {
namespace {

// Step results besides negative ParseErrors.
constexpr int kNeedMore = 0;
constexpr int kOk = 1;

// Bytes buf[p, lim) are available; lim is end or start + maxHeadBytes.
struct Cursor {
  uint8_t* buf;
  size_t p;
  size_t lim;
};

inline bool MethodIs(const uint8_t* m, size_t n, const char* literal, size_t length) {
  return n == length && std::memcmp(m, literal, length) == 0;
}

// authority-form (CONNECT): uri-host ":" port.
bool IsAuthorityForm(const uint8_t* t, size_t n) {
  size_t colon = n;
  for (size_t i = 0; i < n; i++) {
    if (!kHttpChars.authority[t[i]]) return false;
    if (t[i] == ':') colon = i;
  }
  if (colon == 0 || colon == n || n - colon - 1 == 0 || n - colon - 1 > 5) return false;
  for (size_t i = colon + 1; i < n; i++) {
    if (!IsDigit(t[i])) return false;
  }
  return true;
}

// origin-form, absolute-form (scheme "://" authority, no userinfo),
// authority-form for CONNECT only, asterisk-form for OPTIONS only.
int ValidateTarget(const uint8_t* m, size_t mn, const uint8_t* t, size_t tn) {
  if (MethodIs(m, mn, "CONNECT", 7)) return IsAuthorityForm(t, tn) ? kOk : kInvalidTarget;
  if (t[0] == '/') return kOk;
  if (tn == 1 && t[0] == '*') return MethodIs(m, mn, "OPTIONS", 7) ? kOk : kInvalidTarget;
  if (!IsAlpha(t[0])) return kInvalidTarget;
  size_t i = 1;
  while (i < tn && (IsAlpha(t[i]) || IsDigit(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.')) i++;
  if (tn - i < 4 || t[i] != ':' || t[i + 1] != '/' || t[i + 2] != '/') return kInvalidTarget;
  i += 3;
  size_t authority_start = i;
  while (i < tn && t[i] != '/' && t[i] != '?') {
    if (!kHttpChars.authority[t[i]]) return kInvalidTarget;  // also refuses '@' (userinfo) and '#'
    i++;
  }
  return i > authority_start ? kOk : kInvalidTarget;
}

// "HTTP/1.0" or "HTTP/1.1", then CRLF (request line) or SP (status line).
int ParseVersion(Cursor& c, bool request_line, uint32_t* minor) {
  static const char kPrefix[] = "HTTP/1.";
  const size_t need = request_line ? 10 : 9;
  const size_t avail = c.lim - c.p;
  const size_t n = avail < need ? avail : need;
  const uint8_t* v = c.buf + c.p;
  for (size_t i = 0; i < n; i++) {
    const uint8_t ch = v[i];
    if (i < 7) {
      if (ch != static_cast<uint8_t>(kPrefix[i])) return kInvalidVersion;
    } else if (i == 7) {
      if (ch != '0' && ch != '1') return kInvalidVersion;
    } else if (i == 8) {
      if (request_line) {
        if (ch == '\n') return kInvalidLineEnding;
        if (ch != '\r') return kInvalidVersion;
      } else if (ch != ' ') {
        return (ch == '\r' || ch == '\n') ? kInvalidStatus : kInvalidVersion;
      }
    } else if (ch != '\n') {
      return kInvalidLineEnding;
    }
  }
  if (avail < need) return kNeedMore;
  *minor = static_cast<uint32_t>(v[7] - '0');
  c.p += need;
  return kOk;
}

int ParseRequestLine(Cursor& c, uint32_t* out, uint32_t* minor) {
  uint8_t* buf = c.buf;
  // RFC 9112 2.2: a server ignores empty lines before the request line.
  while (c.p < c.lim && buf[c.p] == '\r') {
    if (c.p + 1 >= c.lim) return kNeedMore;
    if (buf[c.p + 1] != '\n') return kInvalidLineEnding;
    c.p += 2;
  }
  if (c.p >= c.lim) return kNeedMore;
  if (buf[c.p] == '\n') return kInvalidLineEnding;

  const size_t method_start = c.p;
  while (c.p < c.lim && kHttpChars.token_lower[buf[c.p]]) c.p++;
  if (c.p >= c.lim) return kNeedMore;
  if (c.p == method_start || buf[c.p] != ' ') return kInvalidMethod;
  const size_t method_end = c.p++;

  const size_t target_start = c.p;
  c.p = ScanTarget(buf, c.p, c.lim);
  if (c.p >= c.lim) return kNeedMore;
  if (buf[c.p] != ' ') {
    // "GET /\r\n" has no version; anything else is a bad target byte
    const bool line_end = buf[c.p] == '\r' || buf[c.p] == '\n';
    return (line_end && c.p > target_start) ? kInvalidVersion : kInvalidTarget;
  }
  if (c.p == target_start) return kInvalidTarget;
  const size_t target_end = c.p++;
  int r = ValidateTarget(buf + method_start, method_end - method_start, buf + target_start, target_end - target_start);
  if (r != kOk) return r;

  r = ParseVersion(c, true, minor);
  if (r != kOk) return r;
  out[kSlotMethodStart] = static_cast<uint32_t>(method_start);
  out[kSlotMethodEnd] = static_cast<uint32_t>(method_end);
  out[kSlotTargetStart] = static_cast<uint32_t>(target_start);
  out[kSlotTargetEnd] = static_cast<uint32_t>(target_end);
  return kOk;
}

// HTTP-version SP 3DIGIT [SP reason-phrase] CRLF (a missing SP + reason is accepted).
int ParseStatusLine(Cursor& c, uint32_t* out, uint32_t* minor) {
  int r = ParseVersion(c, false, minor);
  if (r != kOk) return r;
  uint8_t* buf = c.buf;
  uint32_t code = 0;
  for (size_t i = 0; i < 3; i++, c.p++) {
    if (c.p >= c.lim) return kNeedMore;
    if (!IsDigit(buf[c.p])) return kInvalidStatus;
    code = code * 10 + static_cast<uint32_t>(buf[c.p] - '0');
  }
  if (code < 100 || code > 599) return kInvalidStatus;
  if (c.p >= c.lim) return kNeedMore;
  size_t reason_start = c.p;
  if (buf[c.p] == ' ') {
    reason_start = ++c.p;
    c.p = ScanFieldValue(buf, c.p, c.lim);
    if (c.p >= c.lim) return kNeedMore;
  }
  const size_t reason_end = c.p;
  if (buf[c.p] != '\r') return buf[c.p] == '\n' ? kInvalidLineEnding : kInvalidStatus;
  if (c.p + 1 >= c.lim) return kNeedMore;
  if (buf[c.p + 1] != '\n') return kInvalidLineEnding;
  c.p += 2;
  out[kSlotStatusCode] = code;
  out[kSlotMethodEnd] = 0;
  out[kSlotTargetStart] = static_cast<uint32_t>(reason_start);
  out[kSlotTargetEnd] = static_cast<uint32_t>(reason_end);
  return kOk;
}

// Header fields up to and including the empty line.
int ParseFields(Cursor& c, uint32_t* out, uint32_t max_headers, FieldSemantics& s, uint32_t* header_count) {
  uint8_t* buf = c.buf;
  const size_t lim = c.lim;
  size_t p = c.p;
  uint32_t count = 0;
  for (;;) {
    if (p >= lim) return kNeedMore;
    uint8_t ch = buf[p];
    if (ch == '\r') {
      if (p + 1 >= lim) return kNeedMore;
      if (buf[p + 1] != '\n') return kInvalidLineEnding;
      c.p = p + 2;
      *header_count = count;
      return kOk;
    }
    if (ch == '\n') return kInvalidLineEnding;
    if (IsOws(ch)) return count > 0 ? kObsFold : kInvalidHeaderName;
    if (count == max_headers) return kTooManyHeaders;

    const size_t name_start = p;
    uint8_t lower;
    while (p < lim && (lower = kHttpChars.token_lower[buf[p]]) != 0) buf[p++] = lower;
    if (p >= lim) return kNeedMore;
    ch = buf[p];
    if (ch != ':') return IsOws(ch) && p > name_start ? kWhitespaceBeforeColon : kInvalidHeaderName;
    if (p == name_start) return kInvalidHeaderName;
    const size_t name_end = p++;

    while (p < lim && IsOws(buf[p])) p++;
    const size_t value_start = p;
    p = ScanFieldValue(buf, p, lim);
    if (p >= lim) return kNeedMore;
    ch = buf[p];
    if (ch != '\r') return ch == '\n' ? kInvalidLineEnding : kInvalidHeaderValue;
    if (p + 1 >= lim) return kNeedMore;
    if (buf[p + 1] != '\n') return kInvalidLineEnding;
    size_t value_end = p;
    while (value_end > value_start && IsOws(buf[value_end - 1])) value_end--;
    p += 2;

    const HeaderId id = IdentifyHeader(buf + name_start, name_end - name_start);
    uint32_t* slot = out + kSlotHeaders + kSlotsPerHeader * count;
    slot[kHeaderNameStart] = static_cast<uint32_t>(name_start);
    slot[kHeaderNameEnd] = static_cast<uint32_t>(name_end);
    slot[kHeaderValueStart] = static_cast<uint32_t>(value_start);
    slot[kHeaderValueEnd] = static_cast<uint32_t>(value_end);
    slot[kHeaderIdSlot] = id;
    if (id != kHeaderOther) {
      const int r = ApplyHeaderSemantics(s, id, count, buf + value_start, value_end - value_start);
      if (r < 0) return r;
    }
    count++;
  }
}

int64_t ParseHead(uint8_t* buf, size_t start, size_t end, uint32_t* out, HeadLimits limits, MessageKind kind) {
  const bool capped = end - start > limits.max_head_bytes;
  Cursor c{buf, start, capped ? start + limits.max_head_bytes : end};
  uint32_t minor = 0;
  int r = kind == MessageKind::kRequest ? ParseRequestLine(c, out, &minor) : ParseStatusLine(c, out, &minor);
  if (r == kNeedMore) return capped ? kHeadTooLarge : 0;
  if (r < 0) return r;

  FieldSemantics s{kind, minor};
  uint32_t count = 0;
  r = ParseFields(c, out, limits.max_headers, s, &count);
  if (r == kNeedMore) return capped ? kHeadTooLarge : 0;
  if (r < 0) return r;
  r = FinishHeaderSemantics(s);
  if (r < 0) return r;

  out[kSlotVersionMinor] = minor;
  out[kSlotHeaderCount] = count;
  out[kSlotFlags] = s.flags;
  out[kSlotContentLengthLo] = static_cast<uint32_t>(s.content_length & 0xffffffffu);
  out[kSlotContentLengthHi] = static_cast<uint32_t>(s.content_length >> 32);
  out[kSlotHostIndex] = s.host_index;
  return static_cast<int64_t>(c.p - start);
}

// (buf: Buffer, start, end, out: Uint32Array, maxHeadBytes, maxHeaders) → number
napi_value ParseHeadJs(napi_env env, napi_callback_info info, MessageKind kind) {
  HeadCallArgs a;
  if (!GetHeadCallArgs(env, info, "out must be a Uint32Array", &a)) return nullptr;
  if (a.words_length < kSlotHeaders || (a.words_length - kSlotHeaders) / kSlotsPerHeader < a.max_headers) {
    return ThrowRangeError(env, "out is smaller than headSlots(maxHeaders)"), nullptr;
  }
  const HeadLimits limits{a.max_head_bytes, a.max_headers};
  const int64_t r = ParseHead(a.buf, a.start, a.end, a.words, limits, kind);
  return NumberValue(env, static_cast<double>(r));
}

napi_value ParseRequestHeadJs(napi_env env, napi_callback_info info) {
  return ParseHeadJs(env, info, MessageKind::kRequest);
}

napi_value ParseResponseHeadJs(napi_env env, napi_callback_info info) {
  return ParseHeadJs(env, info, MessageKind::kResponse);
}

}  // namespace

int64_t ParseRequestHead(uint8_t* buf, size_t start, size_t end, uint32_t* out, HeadLimits limits) {
  return ParseHead(buf, start, end, out, limits, MessageKind::kRequest);
}

int64_t ParseResponseHead(uint8_t* buf, size_t start, size_t end, uint32_t* out, HeadLimits limits) {
  return ParseHead(buf, start, end, out, limits, MessageKind::kResponse);
}

int CheckRequestLine(uint8_t* buf, size_t p, size_t lim, size_t* next) {
  uint32_t scratch[kSlotHeaders];
  uint32_t minor = 0;
  Cursor c{buf, p, lim};
  const int r = ParseRequestLine(c, scratch, &minor);
  if (r == kOk) *next = c.p;
  return r;
}

void RegisterHttpHeadParser(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "parseRequestHead", NAPI_AUTO_LENGTH, ParseRequestHeadJs, nullptr, &fn);
  exports.Set("parseRequestHead", fn);
  napi_create_function(env, "parseResponseHead", NAPI_AUTO_LENGTH, ParseResponseHeadJs, nullptr, &fn);
  exports.Set("parseResponseHead", fn);
}

}  // namespace isthmus
