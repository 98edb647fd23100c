// Chunked transfer-coding decoder (RFC 9112 7.1): finds the data ranges of a
// chunked body without copying them, or compacts the data of a whole read in
// place so the caller gets one range per read however small the chunks are.
// The trailer section is validated and bounded (kMaxTrailerBytes) but not
// interpreted: each call says where its share of it begins, so the caller can
// collect the raw lines (buf[trailer start, consumed)), which neither entry
// point moves. Resumable at any byte: all progress lives in a caller-owned Float64Array
// (layout below, mirrored by CHUNKED in src/native.ts; all zeros = start of a
// body). Both entry points run the same state machine.
#ifndef ISTHMUS_CHUNKED_DECODER_H_
#define ISTHMUS_CHUNKED_DECODER_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace isthmus {

enum ChunkedStateSlot : size_t {
  kChunkedPhase = 0,
  kChunkedRemaining = 1,   // data bytes left in this chunk, or the chunk size being read
  kChunkedLineBytes = 2,   // bytes of the current chunk-size line so far
  kChunkedSizeDigits = 3,  // hex digits of the chunk size so far
  kChunkedConsumed = 4,    // out: absolute offset up to which input was consumed
  kChunkedTrailerBytes = 5,
  kChunkedTrailerStart = 6,  // out: absolute offset where this call's trailer-section bytes begin (== consumed: none)
  kChunkedStateSize = 8,
};

enum ChunkedPhase : uint32_t {
  kPhaseSizeStart = 0,
  kPhaseSize = 1,
  kPhaseSizeBws = 2,
  kPhaseExtension = 3,
  kPhaseExtensionQuoted = 4,
  kPhaseExtensionEscape = 5,
  kPhaseSizeLf = 6,
  kPhaseData = 7,
  kPhaseDataCr = 8,
  kPhaseDataLf = 9,
  kPhaseTrailerStart = 10,
  kPhaseTrailerName = 11,
  kPhaseTrailerValue = 12,
  kPhaseTrailerLf = 13,
  kPhaseFinalLf = 14,
  kPhaseDone = 15,
};

constexpr size_t kMaxChunkLineBytes = 4096;
constexpr size_t kMaxTrailerBytes = 60 * 1024;

// Decodes buf[start,end) continuing from state; writes absolute [start,end)
// pairs into segments (room for segment_capacity pairs). Returns the number
// of ranges or a negative ParseError; state[kChunkedConsumed] says how far it got.
int64_t DecodeChunked(const uint8_t* buf, size_t start, size_t end, double* state, uint32_t* segments,
                      size_t segment_capacity);

// Decodes buf[start,end) continuing from state, moving every data byte found
// down so the data is contiguous at buf[start, start + n) (the write position
// never passes the read position, and nothing at or after the consumed offset
// is touched). Returns n or a negative ParseError; state[kChunkedConsumed]
// says how far it got (the end of the message when the phase is kPhaseDone).
int64_t DecodeChunkedInPlace(uint8_t* buf, size_t start, size_t end, double* state);

// decodeChunked and decodeChunkedInPlace on exports.
void RegisterChunkedDecoder(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_CHUNKED_DECODER_H_
