// What the native HTTP/2 server session (h2_session.h) and upstream client
// session (h2_client_session.h) share: the event records and arena JS reads,
// the nghttp2 session's creation, the send loop into the connection, and the
// end-of-session report. Each side keeps only its callbacks and stream state.
#ifndef ISTHMUS_H2_SESSION_BASE_H_
#define ISTHMUS_H2_SESSION_BASE_H_

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
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

// Client event codes (after H2Event; src/native.ts H2_EVENT mirrors them).
enum H2ClientEvent : int32_t {
  kH2Response = 8,   // a = offset in the arena, b = length of the HTTP/1.1 response head; code bits: H2ResponseFlags
  kH2Trailers = 9,   // a = offset in the arena, b = length of the "name\0value\0" block
  kH2Settings = 10,  // stream 0; a = the peer's SETTINGS_MAX_CONCURRENT_STREAMS
  kH2Goaway = 11,    // stream 0; a = last stream id, b = error code
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

// takes the settings values both sides get from JS ([streamWindow, connWindow, maxHeaderList, maxOutboundFrames,
// maxOutboundControlFrames]) and the arena's size; returns settings with them clamped to what the session handles.
H2Settings ReadH2Settings(const uint32_t* values, size_t arena_cap);

class H2SessionBase : public H2Endpoint {
 public:
  // takes plaintext bytes from the peer; returns how many were consumed (less than len when paused for event room),
  // or -1 when the session is over.
  virtual int64_t Receive(const uint8_t* data, size_t len) = 0;
  // Writes what nghttp2 has to send into the connection, up to its high-water mark.
  void Send() override;
  // takes a stream id and an HTTP/2 error code; resets the stream.
  void Reset(int32_t stream_id, uint32_t code);
  // takes a stream id and whether JS reads its incoming body now; window updates wait while paused.
  void SetReading(int32_t stream_id, bool reading);
  bool dead() const { return dead_; }
  int32_t conn_id() const { return conn_id_; }

 protected:
  H2SessionBase(Transport* t, int32_t conn_id, int32_t handle, const H2Settings& settings, H2Sink* sink);
  // takes the side's callbacks (taken over), whether it is the server and the SETTINGS to send; returns false when
  // nghttp2 could not make the session.
  bool Open(nghttp2_session_callbacks* cbs, bool server, const nghttp2_settings_entry* iv, size_t niv);
  // takes a stream id; returns its stream, or null.
  virtual H2StreamIo* FindIo(int32_t id) = 0;
  // takes a stream and body bytes; returns 1 (queued), 0 (queued, over the limit: DRAIN follows).
  int QueueBody(H2StreamIo* st, const uint8_t* data, size_t len);
  // takes a stream and its trailer block (len 0: none); ends its body.
  void EndBody(H2StreamIo* st, const char* block, size_t len);
  // nghttp2's data source for both sides: the stream's queued body, then its trailers.
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t*, size_t, uint32_t*, nghttp2_data_source*, void*);
  // takes a record's fields; appends it to the event array. A record that points at nothing in this batch (a
  // close, an end without trailers, a drain, the session's end, SETTINGS, GOAWAY) waits in overflow_ when the
  // array is full, so a GOAWAY or RST flood closing more streams than the array holds loses no close.
  void Event(int32_t id, int32_t code, int32_t a, int32_t b);
  // Moves waiting records into the event array, leaving room for the frame input may resume in.
  void FlushOverflow();
  // takes bytes; copies them into the arena; returns false when it is full.
  bool Arena(const char* bytes, size_t len, int32_t* offset);
  // The arena's free room (for writing in place) and taking len bytes of it as written; returns their offset.
  char* ArenaRoom(size_t* cap) const;
  int32_t ArenaTake(size_t len);
  // takes an HTTP/1.1 head just put in the arena at offset (len bytes); parses it into http_head.h's words, put after
  // it at the next multiple of 4 (a request's offsets from the head's start, as JS copies it to a buffer of its own;
  // a response's from the arena's). false: not parsed (no room, or not a head), JS parses it itself.
  bool ParseIntoArena(int32_t offset, size_t len, bool request);
  // takes a stream (null: one whose body is not wanted) and a body chunk received on it; opens the windows for it
  // (the stream's only while JS reads) and records it (as an offset into the input, or a copy in the arena);
  // returns what the data chunk callback returns.
  int RecordChunk(H2StreamIo* st, int32_t id, const uint8_t* data, size_t len);
  // true when input should pause (a callback that may pause returns NGHTTP2_ERR_PAUSE).
  bool RoomLow() const;
  // returns what on_frame_recv returns: NGHTTP2_ERR_PAUSE is fatal there. Frames no callback can pause (SETTINGS,
  // RST_STREAM, GOAWAY, empty DATA) queue their records in overflow_; a flood of them that queues more than an
  // event array's worth ends the session (the queue stays bounded).
  int FrameRecvResult() const;
  void Finish();

  Transport* transport_;
  int32_t conn_id_;
  int32_t handle_;
  H2Settings settings_;
  H2Sink* sink_;
  std::unique_ptr<nghttp2_session, NghttpSessionDeleter> session_;
  std::vector<uint8_t> out_;
  struct Record {
    int32_t id, code, a, b;
  };
  std::vector<Record> overflow_;  // records for the next batches, in order; bounded by FrameRecvResult
  bool dead_ = false;
  bool end_reported_ = false;
};

}  // namespace isthmus

#endif  // ISTHMUS_H2_SESSION_BASE_H_
