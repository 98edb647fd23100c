// HTTP/2 server sessions driven by nghttp2 (the copy inside the Node binary)
// on native transport connections. nghttp2 reads the client's frames from the
// plaintext JS hands in and writes its own straight to the connection
// (through TLS when the connection has it); JS sees compact per-stream events:
// a request head (already an HTTP/1.1 head, for the same parser and request
// path as HTTP/1.1), body chunks as offsets into the buffer it passed in, the
// request's end, a stream's close, and "its queued response drained".
// Flow control, stream limits and the flood defences are all here.
#ifndef ISTHMUS_H2_SESSION_H_
#define ISTHMUS_H2_SESSION_H_

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "h2_module.h"
#include "h2_session_base.h"
#include "h2_stream.h"
#include "h2_stream_table.h"

namespace isthmus {

struct Transport;

enum H2HeadFlags : int32_t {
  kHeadEndStream = 1 << 8,   // no body follows
  kHeadGrpc = 1 << 9,        // content-type application/grpc*
  kHeadTeTrailers = 1 << 10, // te: trailers
  kHeadRefuse400 = 1 << 11,  // no :path (answer 400)
  kHeadRefuse403 = 1 << 12,  // CONNECT (answer 403)
  kHeadParsed = 1 << 13,     // the head's parse (http_head.h's words, offsets from its start) follows it in the arena
};

class H2Session : public H2SessionBase {
 public:
  // takes the owning transport, the conn id and the settings; Start() must succeed before use.
  H2Session(Transport* t, int32_t conn_id, int32_t handle, const H2Settings& settings, H2Sink* sink);
  // takes nothing; returns false when nghttp2 could not make the session.
  bool Start();
  // takes plaintext bytes; returns how many were consumed (less than len when paused for event room), or -1 when
  // the session is over (GOAWAY queued).
  int64_t Receive(const uint8_t* data, size_t len) override;
  bool IsClient() const override { return false; }
  // takes a stream id, status and a header block ("name\0value\0"...), and whether the body is empty; false when
  // the stream is gone.
  bool Respond(int32_t stream_id, uint32_t status, const char* block, size_t len, bool end_stream);
  // takes a stream id, the status and the HTTP/1.1 response head the proxy wrote (its fields go out as the
  // response's, see ResponseHeadToNv), whether no body follows; returns false as Respond does.
  bool RespondHead(int32_t stream_id, uint32_t status, uint8_t* head, size_t len, bool end_stream);
  // takes a stream id and body bytes; returns 1 (queued), 0 (queued, over the limit: DRAIN follows), -1 (gone).
  int Write(int32_t stream_id, const uint8_t* data, size_t len);
  // takes a stream id and a trailer block (empty = none); ends the response.
  bool End(int32_t stream_id, const char* block, size_t len);
  // Graceful shutdown: GOAWAY, open streams finish.
  void Drain();

 private:
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t, const uint8_t*, size_t, uint8_t, void*);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int OnStreamClose(nghttp2_session*, int32_t, uint32_t, void*);
  static int OnBeginFrame(nghttp2_session*, const nghttp2_frame_hd*, void*);
  static int OnInvalidFrame(nghttp2_session*, const nghttp2_frame*, int, void*);

  H2Stream* Find(int32_t id) { return streams_.Find(id); }
  H2StreamIo* FindIo(int32_t id) override { return Find(id); }
  void Fatal(uint32_t goaway_code, H2Counter counter);
  // takes the stream, status, the fields (a "name\0value\0" block, or an HTTP/1.1 head when h1_head) and end_stream;
  // submits the response.
  bool RespondWith(int32_t stream_id, uint32_t status, uint8_t* fields, size_t len, bool h1_head, bool end_stream);

  H2StreamTable<H2Stream> streams_;
  uint32_t streams_seen_ = 0;
  uint32_t premature_resets_ = 0;
  uint32_t invalid_frames_ = 0;
  uint32_t continuations_ = 0;
  std::vector<nghttp2_nv> nva_;        // the response being submitted (kept to reuse its storage)
  std::vector<nghttp2_nv> nva_block_;  // a block's fields before they join nva_
};

}  // namespace isthmus

#endif  // ISTHMUS_H2_SESSION_H_
