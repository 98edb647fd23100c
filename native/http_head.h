// The HEAD layout of the Uint32Array the head parsers fill, the flags and the
// header ids. Mirrored by HEAD, FLAG and HEADER_ID in src/native.ts.
#ifndef ISTHMUS_HTTP_HEAD_H_
#define ISTHMUS_HTTP_HEAD_H_

#include <cstdint>

namespace isthmus {

enum HeadSlot : uint32_t {
  kSlotMethodStart = 0,
  kSlotStatusCode = 0,
  kSlotMethodEnd = 1,
  kSlotTargetStart = 2,
  kSlotTargetEnd = 3,
  kSlotVersionMinor = 4,
  kSlotHeaderCount = 5,
  kSlotFlags = 6,
  kSlotContentLengthLo = 7,
  kSlotContentLengthHi = 8,
  kSlotHostIndex = 9,
  kSlotHeaders = 16,
  kSlotsPerHeader = 5,
  kHeaderNameStart = 0,
  kHeaderNameEnd = 1,
  kHeaderValueStart = 2,
  kHeaderValueEnd = 3,
  kHeaderIdSlot = 4,
};

enum HeadFlag : uint32_t {
  kFlagChunked = 1,
  kFlagContentLength = 2,
  kFlagConnectionClose = 4,
  kFlagConnectionKeepAlive = 8,
  kFlagUpgrade = 16,
  kFlagExpectContinue = 32,
  kFlagConnectionOther = 64,
  kFlagTransferEncoding = 128,
  kFlagConnectionUpgrade = 256,
};

enum HeaderId : uint32_t {
  kHeaderOther = 0,
  kHeaderHost = 1,
  kHeaderContentLength = 2,
  kHeaderTransferEncoding = 3,
  kHeaderConnection = 4,
  kHeaderKeepAlive = 5,
  kHeaderProxyConnection = 6,
  kHeaderTe = 7,
  kHeaderTrailer = 8,
  kHeaderUpgrade = 9,
  kHeaderXForwardedFor = 10,
  kHeaderXForwardedProto = 11,
  kHeaderXRequestId = 12,
  kHeaderExpect = 13,
};

constexpr uint32_t kNoHostIndex = 0xffffffffu;

}  // namespace isthmus

#endif  // ISTHMUS_HTTP_HEAD_H_
