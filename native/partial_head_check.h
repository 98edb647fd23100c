// Incremental validation of a request head that has not fully arrived: each
// call checks only the bytes added since the last call (state carries the
// position), so a head trickled in byte by byte costs linear time, and a
// malformed one is refused as soon as its offending byte arrives instead of
// when (if ever) its final empty line does.
#ifndef ISTHMUS_PARTIAL_HEAD_CHECK_H_
#define ISTHMUS_PARTIAL_HEAD_CHECK_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace isthmus {

// Slots of the Uint32Array state (all zeros = nothing checked yet). Offsets
// are relative to the head's first byte, so the caller may move the bytes.
enum PartialHeadSlot : uint32_t {
  kPartialLineStart = 0,  // first byte of the line being checked
  kPartialPos = 1,        // bytes before this were checked
  kPartialPhase = 2,      // PartialPhase
  kPartialCount = 3,      // header fields completed
  kPartialMark = 4,       // request-target start, while the request line is checked
  kPartialStateSize = 5,
};

// Takes buf[start,end) holding the start of a request head and the state of
// earlier calls on the same head (same start, more bytes); returns 0 when the
// bytes so far can begin a valid head that is not complete yet, the head's
// length (> 0) once its final empty line arrived (parse it with
// ParseRequestHead, which also checks header semantics), or the negative
// ParseError ParseRequestHead would return for these bytes (errors that
// depend on several fields, such as differing Content-Length values, wait
// for the complete head). Lowercases field names in place, as the parser does.
int64_t CheckPartialRequestHead(uint8_t* buf, size_t start, size_t end, uint32_t* state, size_t max_head_bytes,
                                uint32_t max_headers);

// checkPartialRequestHead on exports.
void RegisterPartialHeadCheck(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_PARTIAL_HEAD_CHECK_H_
