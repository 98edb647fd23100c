// One HTTP/2 stream of a native session: the request head as it arrives
// (turned into an HTTP/1.1 head, see h2_request_head.cc) and the response
// body queued until nghttp2 sends it within the client's window.
#ifndef ISTHMUS_H2_STREAM_H_
#define ISTHMUS_H2_STREAM_H_

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <vector>

#include "byte_queue.h"

namespace isthmus {

// The request's headers, gathered until the HEADERS frame (and its CONTINUATIONs) ends.
struct H2RequestHead {
  std::string method;
  std::string path;
  std::string authority;
  std::string host;
  std::string cookie;
  std::string content_length;
  std::string fields;  // "name: value\r\n" for every header the HTTP/1.1 head carries over
  size_t list_size = 0;  // RFC 9113 header list size so far (name + value + 32 per field)
  bool grpc = false;
  bool te_trailers = false;

  // takes one decoded field; returns false when it is one an HTTP/1.1 head cannot carry (nghttp2 already
  // refused malformed ones, so this is a last guard).
  bool Add(const uint8_t* name, size_t name_len, const uint8_t* value, size_t value_len);
  // takes end_stream and room for the head; writes the request as an HTTP/1.1 head into dst and returns its length
  // (0: no head: no :path, or CONNECT); when the head needs more than cap, writes nothing and returns that size.
  size_t BuildInto(bool end_stream, char* dst, size_t cap) const;
};

// What both sides keep of a stream's outgoing body and incoming window (H2SessionBase runs it).
struct H2StreamIo {
  int32_t id = 0;
  ByteQueue out;               // body not yet taken by nghttp2
  std::string trailer_block;   // "name\0value\0"... sent after the body when has_trailers
  bool has_trailers = false;
  bool out_ended = false;      // JS ended the body
  bool deferred = false;       // the data source returned DEFERRED: resume on the next write
  bool want_drain = false;     // Write answered "over the limit": report DRAIN once it empties
  bool reading = true;         // JS takes the incoming body now
  bool header_overflow = false;
  bool local_reset = false;    // the proxy reset it (Reset): its close is not the peer's premature reset
  int32_t unconsumed = 0;      // body bytes received while paused: the window opens for them on resume
};

struct H2Stream : H2StreamIo {
  H2RequestHead head;
  std::string request_trailers; // the request's trailer fields as "name: value\r\n" lines (bounded like its head)
  bool responded = false;      // the response HEADERS were submitted
};

// takes a block of "name\0value\0" pairs; fills nva (pointing into the block); false when it is malformed or
// has more than max pairs.
bool ParseHeaderBlock(const char* block, size_t len, std::vector<nghttp2_nv>* nva, size_t max);

// takes the HTTP/1.1 request head the router wrote (already checked by the native head parser, which lowercased
// its names in place) and the upstream :scheme; fills nva (pointing into head and scheme) with :method, :scheme,
// :authority (from Host, left out when empty), :path, then the fields HTTP/2 may carry (connection-specific ones,
// Expect, HTTP2-Settings and Host dropped) and `te: trailers` for gRPC; false when malformed or past max fields.
// The head never becomes a string on the way: the request's header list goes from its bytes to nghttp2.
bool RouterHeadToNv(uint8_t* head, size_t len, const uint8_t* scheme, size_t scheme_len, std::vector<nghttp2_nv>* nva, size_t max);

// takes the HTTP/1.1 response head the proxy wrote for an HTTP/2 client (checked by the native parser); appends to
// nva (pointing into head) its fields but the connection-specific ones and Trailer (the status line is the caller's
// :status); false when malformed or past max fields.
bool ResponseHeadToNv(uint8_t* head, size_t len, std::vector<nghttp2_nv>* nva, size_t max);

}  // namespace isthmus

#endif  // ISTHMUS_H2_STREAM_H_
