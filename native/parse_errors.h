// Negative return codes shared by the head parser and the chunked decoder.
// Mirrored by PARSE_ERROR in src/native.ts: keep both in step.
#ifndef ISTHMUS_PARSE_ERRORS_H_
#define ISTHMUS_PARSE_ERRORS_H_

namespace isthmus {

enum ParseError : int {
  kInvalidMethod = -1,
  kInvalidTarget = -2,
  kInvalidVersion = -3,
  kInvalidHeaderName = -4,
  kInvalidHeaderValue = -5,
  kObsFold = -6,
  kWhitespaceBeforeColon = -7,
  kInvalidLineEnding = -8,
  kInvalidContentLength = -9,
  kDuplicateContentLength = -10,
  kContentLengthWithTransferEncoding = -11,
  kInvalidTransferEncoding = -12,
  kHeadTooLarge = -13,
  kTooManyHeaders = -14,
  kDuplicateHost = -15,
  kMissingHost = -16,
  kInvalidStatus = -17,
  kBadChunkSize = -20,
  kBadChunkTerminator = -21,
  kChunkLineTooLong = -22,
  kTrailersTooLarge = -23,
  kInvalidTrailer = -24,
};

}  // namespace isthmus

#endif  // ISTHMUS_PARSE_ERRORS_H_
