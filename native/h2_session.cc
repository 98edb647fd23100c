// nghttp2 server session callbacks and the session's send/receive. See
// h2_session.h. Defences: nghttp2's own (SETTINGS/PING ack floods via
// max_outbound_ack, RST rate limit, HPACK limits, CONTINUATION limit in 1.61)
// plus ours: header list size, CONTINUATION count, invalid frames,
// premature resets (Envoy's rule) and max_outbound_frames.
#include "h2_session.h"

#include <cstring>
#include <string>

#include "h2_module.h"
#include "socket_tls.h"
#include "socket_transport.h"

namespace isthmus {

namespace {

constexpr uint32_t kMaxContinuations = 8;        // CONTINUATION frames per header block (nghttp2 1.61's own limit)
constexpr uint32_t kMaxInvalidFrames = 100;
constexpr uint32_t kPrematureMinStreams = 100;   // Envoy: past this many streams, over half reset early ends the session
constexpr size_t kMaxResponseHeaders = 512;

H2Session* Self(void* user_data) { return static_cast<H2Session*>(static_cast<H2SessionBase*>(user_data)); }

}  // namespace

H2Session::H2Session(Transport* t, int32_t conn_id, int32_t handle, const H2Settings& settings, H2Sink* sink)
    : H2SessionBase(t, conn_id, handle, settings, sink) {}

bool H2Session::Start() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, OnBeginFrame);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, OnInvalidFrame);
  const nghttp2_settings_entry iv[4] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  return Open(cbs, true, iv, 4);
}

void H2Session::Fatal(uint32_t goaway_code, H2Counter counter) {
  if (dead_) return;
  dead_ = true;
  sink_->counters[counter]++;
  nghttp2_session_terminate_session(session_.get(), goaway_code);
  MarkH2Dirty(this, handle_);
}

int64_t H2Session::Receive(const uint8_t* data, size_t len) {
  FlushOverflow();  // the records an earlier batch had no room for go first
  if (dead_) return -1;
  const ssize_t rv = nghttp2_session_mem_recv(session_.get(), data, len);
  if (rv < 0) {
    if (!dead_) {
      if (rv == NGHTTP2_ERR_FLOODED) Fatal(NGHTTP2_ENHANCE_YOUR_CALM, kCntInboundFlood);
      else Fatal(NGHTTP2_PROTOCOL_ERROR, kCntProtocolError);
    }
    return -1;
  }
  if (nghttp2_session_get_outbound_queue_size(session_.get()) > settings_.max_outbound_frames) {
    Fatal(NGHTTP2_ENHANCE_YOUR_CALM, kCntOutboundFlood);
    return -1;
  }
  MarkH2Dirty(this, handle_);
  return dead_ ? -1 : static_cast<int64_t>(rv);
}

bool H2Session::Respond(int32_t stream_id, uint32_t status, const char* block, size_t len, bool end_stream) {
  return RespondWith(stream_id, status, reinterpret_cast<uint8_t*>(const_cast<char*>(block)), len, false, end_stream);
}

bool H2Session::RespondHead(int32_t stream_id, uint32_t status, uint8_t* head, size_t len, bool end_stream) {
  return RespondWith(stream_id, status, head, len, true, end_stream);
}

bool H2Session::RespondWith(int32_t stream_id, uint32_t status, uint8_t* fields, size_t len, bool h1_head, bool end_stream) {
  H2Stream* st = Find(stream_id);
  if (st == nullptr || st->responded || dead_) return false;
  if (status < 100 || status > 999) return false;
  char status_text[4];
  status_text[0] = static_cast<char>('0' + status / 100);
  status_text[1] = static_cast<char>('0' + status / 10 % 10);
  status_text[2] = static_cast<char>('0' + status % 10);
  status_text[3] = 0;
  std::vector<nghttp2_nv>& nva = nva_;
  nva.clear();
  nghttp2_nv st_nv = {reinterpret_cast<uint8_t*>(const_cast<char*>(":status")), reinterpret_cast<uint8_t*>(status_text), 7, 3,
                      NGHTTP2_NV_FLAG_NONE};
  nva.push_back(st_nv);
  if (h1_head) {
    if (!ResponseHeadToNv(fields, len, &nva, kMaxResponseHeaders + 1)) return false;
  } else {
    std::vector<nghttp2_nv>& more = nva_block_;
    if (!ParseHeaderBlock(reinterpret_cast<const char*>(fields), len, &more, kMaxResponseHeaders)) return false;
    nva.insert(nva.end(), more.begin(), more.end());
  }
  st->responded = true;
  int rv;
  if (end_stream) {
    st->out_ended = true;
    rv = nghttp2_submit_response(session_.get(), stream_id, nva.data(), nva.size(), nullptr);
  } else {
    nghttp2_data_provider provider;
    provider.source.ptr = st;
    provider.read_callback = ReadBody;
    rv = nghttp2_submit_response(session_.get(), stream_id, nva.data(), nva.size(), &provider);
  }
  MarkH2Dirty(this, handle_);
  return rv == 0;
}

int H2Session::Write(int32_t stream_id, const uint8_t* data, size_t len) {
  H2Stream* st = Find(stream_id);
  if (st == nullptr || st->out_ended || !st->responded) return -1;
  return QueueBody(st, data, len);
}

bool H2Session::End(int32_t stream_id, const char* block, size_t len) {
  H2Stream* st = Find(stream_id);
  if (st == nullptr || st->out_ended || !st->responded) return false;
  EndBody(st, block, len);
  return true;
}

void H2Session::Drain() {
  if (dead_) return;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_.get()),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  MarkH2Dirty(this, handle_);
}

// ---- nghttp2 callbacks ----

int H2Session::OnBeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user_data) {
  H2Session* self = Self(user_data);
  if (hd->type == NGHTTP2_HEADERS) {
    self->continuations_ = 0;
  } else if (hd->type == NGHTTP2_CONTINUATION && ++self->continuations_ > kMaxContinuations) {
    self->Fatal(NGHTTP2_ENHANCE_YOUR_CALM, kCntContinuationFlood);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int H2Session::OnInvalidFrame(nghttp2_session*, const nghttp2_frame*, int, void* user_data) {
  H2Session* self = Self(user_data);
  if (++self->invalid_frames_ > kMaxInvalidFrames) {
    self->Fatal(NGHTTP2_ENHANCE_YOUR_CALM, kCntInvalidFrames);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int H2Session::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  H2Session* self = Self(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto st = std::make_unique<H2Stream>();
  st->id = frame->hd.stream_id;
  self->streams_.Insert(std::move(st));
  self->streams_seen_++;
  self->sink_->counters[kCntStreams]++;
  return 0;
}

int H2Session::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                        const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
  H2Session* self = Self(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  H2Stream* st = self->Find(frame->hd.stream_id);
  if (st == nullptr || st->header_overflow) return 0;
  if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
    // Request trailers (nghttp2 has checked the field names): kept as header lines for JS, within the same
    // header list limit as the head (past it they are dropped, the body still ends).
    st->head.list_size += namelen + valuelen + 32;
    if (st->head.list_size > self->settings_.max_header_list || (namelen > 0 && name[0] == ':')) return 0;
    st->request_trailers.append(reinterpret_cast<const char*>(name), namelen).append(": ");
    st->request_trailers.append(reinterpret_cast<const char*>(value), valuelen).append("\r\n");
    return self->RoomLow() ? NGHTTP2_ERR_PAUSE : 0;
  }
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  st->head.list_size += namelen + valuelen + 32;
  if (st->head.list_size > self->settings_.max_header_list) {
    // An HPACK bomb (a few bytes that decode to a huge list) or plain oversized headers: the stream is refused.
    st->header_overflow = true;
    self->sink_->counters[kCntHeaderOverflow]++;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  if (!st->head.Add(name, namelen, value, valuelen)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  // Input pauses here, not in OnFrameRecv (nghttp2 treats any nonzero return there as fatal): a block's events
  // (head, end, close) then always find room.
  return self->RoomLow() ? NGHTTP2_ERR_PAUSE : 0;
}

int H2Session::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  H2Session* self = Self(user_data);
  const int32_t id = frame->hd.stream_id;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    H2Stream* st = self->Find(id);
    if (st == nullptr || st->header_overflow) return 0;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      // Written straight into the arena (no string per request); past its room the stream is refused as before.
      size_t cap = 0;
      char* room = self->ArenaRoom(&cap);
      const size_t len = st->head.BuildInto(end_stream, room, cap);
      int32_t flags = end_stream ? kHeadEndStream : 0;
      if (st->head.grpc) flags |= kHeadGrpc;
      if (st->head.te_trailers) flags |= kHeadTeTrailers;
      if (len == 0) {
        flags |= st->head.method == "CONNECT" ? kHeadRefuse403 : kHeadRefuse400;
        self->Event(id, kH2Head | flags, 0, 0);
      } else if (len <= cap) {
        const int32_t offset = self->ArenaTake(len);
        if (self->ParseIntoArena(offset, len, true)) flags |= kHeadParsed;
        self->Event(id, kH2Head | flags, offset, static_cast<int32_t>(len));
      } else {
        nghttp2_submit_rst_stream(self->session_.get(), NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
      }
      st->head = H2RequestHead();  // the strings are not needed any more
    } else if (end_stream) {
      // Request trailers end the body: their lines go to JS through the arena (dropped if it is full).
      const std::string& t = st->request_trailers;
      int32_t offset = 0;
      if (!t.empty() && self->Arena(t.data(), t.size(), &offset)) {
        self->Event(id, kH2End, offset, static_cast<int32_t>(t.size()));
      } else {
        self->Event(id, kH2End, 0, 0);
      }
      st->request_trailers.clear();
    }
  } else if (frame->hd.type == NGHTTP2_DATA && end_stream) {
    if (self->Find(id) != nullptr) self->Event(id, kH2End, 0, 0);
  }
  return self->FrameRecvResult();
}

int H2Session::OnDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user_data) {
  H2Session* self = Self(user_data);
  H2Stream* st = self->Find(id);
  return self->RecordChunk(st, id, data, len);
}

int H2Session::OnStreamClose(nghttp2_session*, int32_t id, uint32_t error_code, void* user_data) {
  H2Session* self = Self(user_data);
  const H2Stream* st = self->Find(id);
  if (st == nullptr) return 0;
  // A stream the proxy reset itself (its upstream broke, a flush timeout) is not the client's doing: counted as the
  // client's, a broken upstream's resets alone ended the client's connection with ENHANCE_YOUR_CALM (Envoy leaves
  // internally reset streams out of its premature-reset rule too).
  const bool premature =
      error_code != NGHTTP2_NO_ERROR && !st->local_reset && !(st->out_ended && st->out.size() == 0);
  if (premature) {
    self->sink_->counters[kCntRxReset]++;
    self->premature_resets_++;
    if (self->streams_seen_ >= kPrematureMinStreams && self->premature_resets_ * 2 > self->streams_seen_) {
      self->Fatal(NGHTTP2_ENHANCE_YOUR_CALM, kCntPrematureResets);
    }
  }
  self->Event(id, kH2Close, static_cast<int32_t>(error_code), premature ? 1 : 0);
  self->streams_.Erase(id);
  return 0;
}

}  // namespace isthmus
