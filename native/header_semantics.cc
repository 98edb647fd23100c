#include "header_semantics.h"

#include <cstring>

#include "http_chars.h"
#include "parse_errors.h"

namespace isthmus {
namespace {

constexpr uint64_t kMaxContentLengthDigits = 15;  // keeps the value below 2^53 (exact in a JS number)

inline bool NameIs(const uint8_t* name, const char* literal, size_t length) {
  return std::memcmp(name, literal, length) == 0;
}

// Calls visit(start, length) for each comma-separated element of a list
// value, OWS-trimmed (empty elements included). Stops at the first nonzero
// return of visit and returns it.
template <typename Visit>
inline int ForEachListElement(const uint8_t* value, size_t length, Visit visit) {
  size_t i = 0;
  for (;;) {
    while (i < length && IsOws(value[i])) i++;
    size_t start = i;
    while (i < length && value[i] != ',') i++;
    size_t end = i;
    while (end > start && IsOws(value[end - 1])) end--;
    int r = visit(value + start, end - start);
    if (r != 0) return r;
    if (i >= length) return 0;
    i++;  // past the comma
  }
}

int ApplyContentLength(FieldSemantics& s, const uint8_t* value, size_t length) {
  return ForEachListElement(value, length, [&s](const uint8_t* e, size_t n) -> int {
    if (n == 0 || n > kMaxContentLengthDigits) return kInvalidContentLength;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
      if (!IsDigit(e[i])) return kInvalidContentLength;
      v = v * 10 + static_cast<uint64_t>(e[i] - '0');
    }
    if ((s.flags & kFlagContentLength) && s.content_length != v) return kDuplicateContentLength;
    s.flags |= kFlagContentLength;
    s.content_length = v;
    return 0;
  });
}

// Requests: the only coding the proxy forwards is `chunked`, exactly once,
// so every element must be `chunked` and there may be only one of them.
// Responses: the body is chunked when the last coding is `chunked`, else it
// runs to connection close.
int ApplyTransferEncoding(FieldSemantics& s, const uint8_t* value, size_t length) {
  s.flags |= kFlagTransferEncoding;
  if (s.kind == MessageKind::kRequest) {
    if (s.version_minor == 0) return kInvalidTransferEncoding;
    return ForEachListElement(value, length, [&s](const uint8_t* e, size_t n) -> int {
      if (n == 0) return 0;  // RFC 9110 5.6.1: ignore empty list elements
      if (!EqualsLowerLiteral(e, n, "chunked", 7) || s.te_chunked_seen) return kInvalidTransferEncoding;
      s.te_chunked_seen = true;
      return 0;
    });
  }
  return ForEachListElement(value, length, [&s](const uint8_t* e, size_t n) -> int {
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
      // a coding is a token, optionally with parameters
      if (kHttpChars.token_lower[e[i]] == 0 && e[i] != ';' && e[i] != '=' && e[i] != '"' && !IsOws(e[i])) {
        return kInvalidTransferEncoding;
      }
    }
    s.te_last_chunked = EqualsLowerLiteral(e, n, "chunked", 7);
    return 0;
  });
}

int ApplyConnection(FieldSemantics& s, const uint8_t* value, size_t length) {
  return ForEachListElement(value, length, [&s](const uint8_t* e, size_t n) -> int {
    if (n == 0) return 0;
    if (EqualsLowerLiteral(e, n, "close", 5)) {
      s.flags |= kFlagConnectionClose;
    } else if (EqualsLowerLiteral(e, n, "keep-alive", 10)) {
      s.flags |= kFlagConnectionKeepAlive;
    } else if (EqualsLowerLiteral(e, n, "upgrade", 7)) {
      s.flags |= kFlagConnectionUpgrade;
    } else {
      s.flags |= kFlagConnectionOther;
    }
    return 0;
  });
}

int ApplyHost(FieldSemantics& s, uint32_t index, const uint8_t* value, size_t length) {
  if (s.kind == MessageKind::kResponse) {
    if (s.host_index == kNoHostIndex) s.host_index = index;
    return 0;
  }
  if (s.host_index != kNoHostIndex) return kDuplicateHost;
  for (size_t i = 0; i < length; i++) {
    if (!kHttpChars.authority[value[i]]) return kInvalidHeaderValue;
  }
  s.host_index = index;
  return 0;
}

}  // namespace

HeaderId IdentifyHeader(const uint8_t* n, size_t length) {
  switch (length) {
    case 2:
      return NameIs(n, "te", 2) ? kHeaderTe : kHeaderOther;
    case 4:
      return NameIs(n, "host", 4) ? kHeaderHost : kHeaderOther;
    case 6:
      return NameIs(n, "expect", 6) ? kHeaderExpect : kHeaderOther;
    case 7:
      if (NameIs(n, "upgrade", 7)) return kHeaderUpgrade;
      return NameIs(n, "trailer", 7) ? kHeaderTrailer : kHeaderOther;
    case 10:
      if (NameIs(n, "connection", 10)) return kHeaderConnection;
      return NameIs(n, "keep-alive", 10) ? kHeaderKeepAlive : kHeaderOther;
    case 12:
      return NameIs(n, "x-request-id", 12) ? kHeaderXRequestId : kHeaderOther;
    case 14:
      return NameIs(n, "content-length", 14) ? kHeaderContentLength : kHeaderOther;
    case 15:
      return NameIs(n, "x-forwarded-for", 15) ? kHeaderXForwardedFor : kHeaderOther;
    case 16:
      return NameIs(n, "proxy-connection", 16) ? kHeaderProxyConnection : kHeaderOther;
    case 17:
      if (NameIs(n, "transfer-encoding", 17)) return kHeaderTransferEncoding;
      return NameIs(n, "x-forwarded-proto", 17) ? kHeaderXForwardedProto : kHeaderOther;
    default:
      return kHeaderOther;
  }
}

int ApplyHeaderSemantics(FieldSemantics& s, HeaderId id, uint32_t index, const uint8_t* value, size_t length) {
  switch (id) {
    case kHeaderHost:
      return ApplyHost(s, index, value, length);
    case kHeaderContentLength:
      return ApplyContentLength(s, value, length);
    case kHeaderTransferEncoding:
      return ApplyTransferEncoding(s, value, length);
    case kHeaderConnection:
      return ApplyConnection(s, value, length);
    case kHeaderUpgrade:
      s.flags |= kFlagUpgrade;
      return 0;
    case kHeaderExpect:
      if (EqualsLowerLiteral(value, length, "100-continue", 12)) s.flags |= kFlagExpectContinue;
      return 0;
    default:
      return 0;
  }
}

int FinishHeaderSemantics(FieldSemantics& s) {
  if (s.flags & kFlagTransferEncoding) {
    if (s.flags & kFlagContentLength) return kContentLengthWithTransferEncoding;
    if (s.kind == MessageKind::kRequest) {
      if (!s.te_chunked_seen) return kInvalidTransferEncoding;
      s.flags |= kFlagChunked;
    } else if (s.te_last_chunked) {
      s.flags |= kFlagChunked;
    }
  }
  if (s.kind == MessageKind::kRequest && s.version_minor == 1 && s.host_index == kNoHostIndex) return kMissingHost;
  return 0;
}

}  // namespace isthmus
