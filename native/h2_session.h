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
#include "h2_stream.h"

namespace isthmus {

struct Transport;

// Event codes (second int32 of a record: id, code, a, b); src/native.ts H2_EVENT mirrors them.
enum H2Event : int32_t {
  kH2Head = 1,      // a = offset in the arena, b = length; code bits 8+ = H2HeadFlags
  kH2Data = 2,      // a = offset in the buffer given to h2Receive, b = length
  kH2DataArena = 3, // a = offset in the arena, b = length (nghttp2 handed a copy)
  kH2End = 4,       // the request body ended; a = offset in the arena, b = length of its trailer lines (0: none)
  kH2Close = 5,     // the stream closed; a = its error code, b = 1 when the response had not been all sent
  kH2Drain = 6,     // the stream's queued response fell below the limit after h2Write answered false
  kH2SessionEnd = 7,// stream id 0: the session is over (GOAWAY sent or both sides done); JS ends the connection
};

enum H2HeadFlags : int32_t {
  kHeadEndStream = 1 << 8,   // no body follows
  kHeadGrpc = 1 << 9,        // content-type application/grpc*
  kHeadTeTrailers = 1 << 10, // te: trailers
  kHeadRefuse400 = 1 << 11,  // no :path (answer 400)
  kHeadRefuse403 = 1 << 12,  // CONNECT (answer 403)
};

// Counters of one thread's sessions (read by JS for stats). Indexes into the Float64Array h2Counters fills.
enum H2Counter {
  kCntProtocolError = 0,      // sessions ended for a protocol error or a flood nghttp2 detected
  kCntPrematureResets = 1,    // sessions ended for too many streams reset before their response (CVE-2023-44487)
  kCntRxReset = 2,            // streams the client reset before their response completed
  kCntHeaderOverflow = 3,     // streams refused for a header list over max_request_headers_kb (HPACK bomb)
  kCntOutboundFlood = 4,      // sessions ended for more than max_outbound_frames frames queued to a peer not reading
  kCntContinuationFlood = 5,  // sessions ended for a header block in too many CONTINUATION frames
  kCntInboundFlood = 6,       // sessions ended for SETTINGS/PING/RST floods (outbound control frames past the limit)
  kCntInvalidFrames = 7,      // sessions ended for too many invalid frames
  kCntStreams = 8,            // streams (requests) received
  kCntCount = 9,
};

struct H2Settings {
  uint32_t max_concurrent_streams = 100;
  uint32_t initial_stream_window = 65535;
  uint32_t initial_connection_window = 65535;
  uint32_t max_header_list = 60 * 1024;
  uint32_t max_outbound_frames = 10000;
  uint32_t max_outbound_control_frames = 1000;
};

struct NghttpSessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};

// Where events go: the arrays JS shares (h2Init), filled during h2Receive and the send flush.
struct H2Sink {
  int32_t* events = nullptr;
  size_t event_cap = 0;   // records
  size_t event_count = 0;
  char* arena = nullptr;
  size_t arena_cap = 0;
  size_t arena_used = 0;
  const uint8_t* input = nullptr;  // the buffer h2Receive was given
  size_t input_len = 0;
  double counters[kCntCount] = {};
};

class H2Session : public H2Endpoint {
 public:
  // takes the owning transport, the conn id and the settings; Start() must succeed before use.
  H2Session(Transport* t, int32_t conn_id, int32_t handle, const H2Settings& settings, H2Sink* sink);
  // takes nothing; returns false when nghttp2 could not make the session.
  bool Start();
  // takes plaintext bytes; returns how many were consumed (less than len when paused for event room), or -1 when
  // the session is over (GOAWAY queued).
  int64_t Receive(const uint8_t* data, size_t len);
  // Writes what nghttp2 has to send into the connection, up to its high-water mark.
  void Send() override;
  bool IsClient() const override { return false; }
  // takes a stream id, status and a header block ("name\0value\0"...), and whether the body is empty; false when
  // the stream is gone.
  bool Respond(int32_t stream_id, uint32_t status, const char* block, size_t len, bool end_stream);
  // takes a stream id and body bytes; returns 1 (queued), 0 (queued, over the limit: DRAIN follows), -1 (gone).
  int Write(int32_t stream_id, const uint8_t* data, size_t len);
  // takes a stream id and a trailer block (empty = none); ends the response.
  bool End(int32_t stream_id, const char* block, size_t len);
  // takes a stream id and an HTTP/2 error code; resets the stream.
  void Reset(int32_t stream_id, uint32_t code);
  // takes a stream id and whether JS reads its body now; window updates wait while paused.
  void SetReading(int32_t stream_id, bool reading);
  // Graceful shutdown: GOAWAY, open streams finish.
  void Drain();
  bool dead() const { return dead_; }
  int32_t conn_id() const { return conn_id_; }

 private:
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t*, size_t, const uint8_t*, size_t, uint8_t, void*);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame*, void*);
  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int OnStreamClose(nghttp2_session*, int32_t, uint32_t, void*);
  static int OnBeginFrame(nghttp2_session*, const nghttp2_frame_hd*, void*);
  static int OnInvalidFrame(nghttp2_session*, const nghttp2_frame*, int, void*);
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*, nghttp2_data_source*, void*);

  H2Stream* Find(int32_t id);
  void Event(int32_t id, int32_t code, int32_t a, int32_t b);
  bool RoomLow() const;
  void Fatal(uint32_t goaway_code, H2Counter counter);
  void Finish();

  Transport* transport_;
  int32_t conn_id_;
  int32_t handle_;
  H2Settings settings_;
  H2Sink* sink_;
  std::unique_ptr<nghttp2_session, NghttpSessionDeleter> session_;
  std::unordered_map<int32_t, std::unique_ptr<H2Stream>> streams_;
  std::vector<uint8_t> out_;
  uint32_t streams_seen_ = 0;
  uint32_t premature_resets_ = 0;
  uint32_t invalid_frames_ = 0;
  uint32_t continuations_ = 0;
  bool dead_ = false;
  bool end_reported_ = false;
};

}  // namespace isthmus

#endif  // ISTHMUS_H2_SESSION_H_
