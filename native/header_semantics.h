// What the proxy must understand about a few header fields (RFC 9110/9112):
// framing (Content-Length, Transfer-Encoding), Host, Connection, Expect.
// The head parser calls ApplyHeaderSemantics once per field of a known id
// and FinishHeaderSemantics once after the blank line.
#ifndef ISTHMUS_HEADER_SEMANTICS_H_
#define ISTHMUS_HEADER_SEMANTICS_H_

#include <cstddef>
#include <cstdint>

#include "http_head.h"

namespace isthmus {

enum class MessageKind { kRequest, kResponse };

struct FieldSemantics {
  MessageKind kind;
  uint32_t version_minor;
  uint32_t flags = 0;
  uint64_t content_length = 0;
  uint32_t host_index = kNoHostIndex;
  bool te_chunked_seen = false;  // request: one `chunked` coding seen
  bool te_last_chunked = false;  // response: the last coding so far is `chunked`
};

// Name is lowercase already; returns kHeaderOther for any header without special meaning.
HeaderId IdentifyHeader(const uint8_t* name, size_t length);

// Value is buf[start,end), OWS-trimmed. Returns 0 or a negative ParseError.
int ApplyHeaderSemantics(FieldSemantics& s, HeaderId id, uint32_t index, const uint8_t* value, size_t length);

// Cross-field checks (CL with TE, missing Host, TE without chunked). Returns 0 or a ParseError.
int FinishHeaderSemantics(FieldSemantics& s);

}  // namespace isthmus

#endif  // ISTHMUS_HEADER_SEMANTICS_H_
