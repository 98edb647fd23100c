// An HTTP/2 client session to an upstream, run by nghttp2 on a native
// transport connection (the upstream leg of an h2 cluster): JS submits
// requests as header blocks and body bytes; nghttp2 writes the frames
// straight to the socket; JS gets per-stream records in the same event batch
// as server sessions (h2_session.h): the response as an HTTP/1.1 head (for the
// same parser and router path as HTTP/1.1), body chunks as offsets into the
// buffer JS passed in, trailers, the end, the stream's close, and the peer's
// SETTINGS and GOAWAY. Response windows open as JS takes the body.
#ifndef ISTHMUS_H2_CLIENT_SESSION_H_
#define ISTHMUS_H2_CLIENT_SESSION_H_

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "h2_module.h"
#include "h2_session.h"
#include "h2_stream.h"
#include "h2_stream_table.h"

namespace isthmus {

enum H2ResponseFlags : int32_t {
  kRespEndStream = 1 << 8,  // no body follows
  kRespHasLength = 1 << 9,  // content-length given
  kRespParsed = 1 << 10,    // the head's parse (http_head.h's words) follows it in the arena, 4-byte aligned
  kRespStatusShift = 16,    // the status in bits 16+
};

struct H2ClientStream : H2StreamIo {
  std::string fields;         // the response head's "name: value\r\n" lines, then trailers' "name\0value\0"
  size_t list_size = 0;       // header list size of the block being received
  uint32_t status = 0;
  bool head_request = false;  // HEAD: the response has no body whatever it says
  bool has_length = false;
  bool got_final = false;     // the final (non-1xx) response head was reported
};

class H2ClientSession : public H2SessionBase {
 public:
  // takes the transport, the connected conn id, its handle, the settings we send and the shared sink.
  H2ClientSession(Transport* t, int32_t conn_id, int32_t handle, const H2Settings& settings, H2Sink* sink);
  // takes nothing; returns false when nghttp2 could not make the session (preface and SETTINGS queued otherwise).
  bool Start();
  // takes plaintext bytes from the upstream; returns how many were consumed, or -1 when the session is over.
  int64_t Receive(const uint8_t* data, size_t len) override;
  bool IsClient() const override { return true; }
  // takes a header block ("name\0value\0"..., pseudo-headers first), whether no body follows and whether it is a
  // HEAD request; returns the stream id, or -1 (session over, ids exhausted, malformed block).
  int32_t Request(const char* block, size_t len, bool end_stream, bool head_request);
  // takes the router's HTTP/1.1 request head (see RouterHeadToNv) and the :scheme, then as Request; returns the
  // stream id, or -1.
  int32_t RequestFromHead(uint8_t* head, size_t len, const uint8_t* scheme, size_t scheme_len, bool end_stream,
                          bool head_request);
  // takes a stream id and body bytes; returns 1 (queued), 0 (queued, over the limit: DRAIN follows), -1 (gone).
  int Write(int32_t stream_id, const uint8_t* data, size_t len);
  // takes a stream id and the request trailers' "name\0value\0" block (len 0: none); ends the request body.
  void End(int32_t stream_id, const char* trailers, size_t trailers_len);
  // Graceful close: GOAWAY, open streams finish.
  void Drain();

 private:
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t, const uint8_t*, size_t, uint8_t, void*);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int OnStreamClose(nghttp2_session*, int32_t, uint32_t, void*);

  H2ClientStream* Find(int32_t id) { return streams_.Find(id); }
  H2StreamIo* FindIo(int32_t id) override { return Find(id); }
  void ReportHead(H2ClientStream* st, bool end_stream);
  // takes the request's header list in nva_; submits it (with a body provider unless end_stream); returns the id or -1.
  int32_t Submit(bool end_stream, bool head_request);

  H2StreamTable<H2ClientStream> streams_;
  std::string scratch_;
  std::vector<nghttp2_nv> nva_;  // the request being submitted (kept to reuse its storage)
  int32_t goaway_last_ = -1;
};

}  // namespace isthmus

#endif  // ISTHMUS_H2_CLIENT_SESSION_H_
