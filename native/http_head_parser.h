// HTTP/1.x request and response head parser (RFC 9112, strict): one call
// parses a whole head into offsets in a Uint32Array (HEAD layout, see
// http_head.h) and allocates nothing.
#ifndef ISTHMUS_HTTP_HEAD_PARSER_H_
#define ISTHMUS_HTTP_HEAD_PARSER_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace isthmus {

struct HeadLimits {
  size_t max_head_bytes;
  uint32_t max_headers;
};

// Parse buf[start,end) (offsets written to out are absolute in buf). Returns
// the bytes consumed (> 0) when the head is complete, 0 when more bytes are
// needed, or a negative ParseError. Lowercases header names in place.
int64_t ParseRequestHead(uint8_t* buf, size_t start, size_t end, uint32_t* out, HeadLimits limits);
int64_t ParseResponseHead(uint8_t* buf, size_t start, size_t end, uint32_t* out, HeadLimits limits);

// Checks the request line at buf[p, lim) (after any leading empty lines), the
// same way ParseRequestHead does: returns 1 with *next just past its CRLF, 0
// when more bytes are needed, or a negative ParseError. Reads buf only.
int CheckRequestLine(uint8_t* buf, size_t p, size_t lim, size_t* next);

// parseRequestHead / parseResponseHead on exports.
void RegisterHttpHeadParser(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_HTTP_HEAD_PARSER_H_
