// The shared half of both native HTTP/2 sessions. See h2_session_base.h.
#include "h2_session_base.h"

#include <cstring>

#include "h2_mem_pool.h"
#include "http_head.h"
#include "http_head_parser.h"
#include "socket_tls.h"
#include "socket_transport.h"

namespace isthmus {

namespace {

constexpr size_t kSendGather = 64 * 1024;       // frames gathered into one socket write
constexpr size_t kStreamHighWater = 64 * 1024;  // queued body bytes past which Write answers 0
constexpr size_t kMaxTrailers = 512;

}  // namespace

H2Settings ReadH2Settings(const uint32_t* values, size_t arena_cap) {
  H2Settings s;
  s.initial_stream_window = values[0] < 65535 ? 65535 : (values[0] > 0x7fffffff ? 0x7fffffff : values[0]);
  s.initial_connection_window = values[1] > 0x7fffffff ? 0x7fffffff : values[1];
  // A head must fit the arena with room to spare (see RoomLow).
  const uint32_t arena_limit = static_cast<uint32_t>(arena_cap / 2);
  s.max_header_list = values[2] == 0 ? 1 : (values[2] > arena_limit ? arena_limit : values[2]);
  s.max_outbound_frames = values[3] == 0 ? 1 : values[3];
  s.max_outbound_control_frames = values[4] == 0 ? 1 : values[4];
  return s;
}

H2SessionBase::H2SessionBase(Transport* t, int32_t conn_id, int32_t handle, const H2Settings& settings, H2Sink* sink)
    : transport_(t), conn_id_(conn_id), handle_(handle), settings_(settings), sink_(sink) {}

bool H2SessionBase::Open(nghttp2_session_callbacks* cbs, bool server, const nghttp2_settings_entry* iv, size_t niv) {
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return false;
  }
  // Windows open as JS takes the body (SetReading), so a slow reader holds only its own stream's window.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_outbound_ack(opt, settings_.max_outbound_control_frames);
  nghttp2_option_set_max_settings(opt, 32);
  // A server keeps closed streams for the RFC 7540 priority tree, up to its SETTINGS_MAX_CONCURRENT_STREAMS:
  // with Envoy's default limit (2^31 - 1) that is every stream the connection ever carried (~300 bytes each,
  // and a slower stream map). Nothing here uses priorities.
  nghttp2_option_set_no_closed_streams(opt, 1);
  nghttp2_session* raw = nullptr;
  const int rv = server ? nghttp2_session_server_new3(&raw, cbs, this, opt, H2MemPool())
                       : nghttp2_session_client_new3(&raw, cbs, this, opt, H2MemPool());
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  session_.reset(raw);
  if (nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, iv, niv) != 0) return false;
  if (settings_.initial_connection_window > 65535) {
    nghttp2_session_set_local_window_size(raw, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(settings_.initial_connection_window));
  }
  MarkH2Dirty(this, handle_);
  return true;
}

int H2SessionBase::QueueBody(H2StreamIo* st, const uint8_t* data, size_t len) {
  st->out.Append(data, len);
  if (st->deferred) {
    st->deferred = false;
    nghttp2_session_resume_data(session_.get(), st->id);
  }
  MarkH2Dirty(this, handle_);
  if (st->out.size() >= kStreamHighWater) {
    st->want_drain = true;
    return 0;
  }
  return 1;
}

void H2SessionBase::EndBody(H2StreamIo* st, const char* block, size_t len) {
  st->out_ended = true;
  if (block != nullptr && len > 0) {
    st->trailer_block.assign(block, len);
    st->has_trailers = true;
  }
  if (st->deferred) {
    st->deferred = false;
    nghttp2_session_resume_data(session_.get(), st->id);
  }
  MarkH2Dirty(this, handle_);
}

void H2SessionBase::Reset(int32_t stream_id, uint32_t code) {
  H2StreamIo* st = FindIo(stream_id);
  if (st == nullptr) return;
  st->local_reset = true;
  nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, stream_id, code);
  MarkH2Dirty(this, handle_);
}

void H2SessionBase::SetReading(int32_t stream_id, bool reading) {
  H2StreamIo* st = FindIo(stream_id);
  if (st == nullptr) return;
  st->reading = reading;
  if (reading && st->unconsumed > 0) {
    nghttp2_session_consume_stream(session_.get(), stream_id, static_cast<size_t>(st->unconsumed));
    st->unconsumed = 0;
    MarkH2Dirty(this, handle_);
  }
}

ssize_t H2SessionBase::ReadBody(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length, uint32_t* data_flags,
                                nghttp2_data_source*, void* user_data) {
  H2SessionBase* self = static_cast<H2SessionBase*>(user_data);
  H2StreamIo* st = self->FindIo(id);
  if (st == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const size_t n = st->out.Take(buf, length);
  if (st->out.size() == 0) {
    if (st->out_ended) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (st->has_trailers) {
        // The trailers end the stream instead of this DATA frame (a malformed block: END_STREAM on DATA).
        std::vector<nghttp2_nv> nva;
        if (ParseHeaderBlock(st->trailer_block.data(), st->trailer_block.size(), &nva, kMaxTrailers) &&
            nghttp2_submit_trailer(session, id, nva.data(), nva.size()) == 0) {
          *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
    } else if (n == 0) {
      st->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  if (st->want_drain && st->out.size() < kStreamHighWater / 2) {
    st->want_drain = false;
    self->Event(id, kH2Drain, 0, 0);
  }
  return static_cast<ssize_t>(n);
}

void H2SessionBase::Event(int32_t id, int32_t code, int32_t a, int32_t b) {
  H2Sink* k = sink_;
  const int32_t kind = code & 0xff;
  // Offsets into this batch's arena or input cannot wait for a later batch (pausing leaves them room).
  const bool batch_bound = kind == kH2Head || kind == kH2Data || kind == kH2DataArena || kind == kH2Response ||
                           kind == kH2Trailers || (kind == kH2End && b > 0);
  if (k->event_count < k->event_cap && (overflow_.empty() || batch_bound)) {
    int32_t* r = k->events + k->event_count * 5;
    r[0] = handle_;
    r[1] = code;
    r[2] = id;
    r[3] = a;
    r[4] = b;
    k->event_count++;
  } else if (!batch_bound) {
    overflow_.push_back({id, code, a, b});
    MarkH2Dirty(this, handle_);
  }
}

void H2SessionBase::FlushOverflow() {
  if (overflow_.empty()) return;
  H2Sink* k = sink_;
  size_t n = 0;
  for (; n < overflow_.size() && k->event_count + 64 < k->event_cap; n++) {
    const Record& e = overflow_[n];
    int32_t* r = k->events + k->event_count * 5;
    r[0] = handle_;
    r[1] = e.code;
    r[2] = e.id;
    r[3] = e.a;
    r[4] = e.b;
    k->event_count++;
  }
  overflow_.erase(overflow_.begin(), overflow_.begin() + static_cast<std::ptrdiff_t>(n));
  if (overflow_.empty()) {
    overflow_.shrink_to_fit();
  } else {
    MarkH2Dirty(this, handle_);  // the rest in the next round
  }
}

bool H2SessionBase::Arena(const char* bytes, size_t len, int32_t* offset) {
  H2Sink* k = sink_;
  if (k->arena_used + len > k->arena_cap) return false;
  std::memcpy(k->arena + k->arena_used, bytes, len);
  *offset = static_cast<int32_t>(k->arena_used);
  k->arena_used += len;
  return true;
}

char* H2SessionBase::ArenaRoom(size_t* cap) const {
  *cap = sink_->arena_cap - sink_->arena_used;
  return sink_->arena + sink_->arena_used;
}

int32_t H2SessionBase::ArenaTake(size_t len) {
  const int32_t offset = static_cast<int32_t>(sink_->arena_used);
  sink_->arena_used += len;
  return offset;
}

bool H2SessionBase::ParseIntoArena(int32_t offset, size_t len, bool request) {
  // Parsed here, where the head was made, rather than by JS calling the parser on the arena: one N-API call less per
  // head. Limits are JS's to apply (it checks count and length against its own and parses again past them, for the
  // same error); the count here is only the words' room.
  H2Sink* k = sink_;
  // Room for as many fields as the head could hold (a field line takes 4 bytes at least, "x:\r\n"), without
  // counting its lines first; what the parse finds is all that stays reserved.
  const uint32_t max_headers = static_cast<uint32_t>(len / 4);
  const size_t words_at = (k->arena_used + 3) & ~static_cast<size_t>(3);
  const size_t words_bytes = 4 * (kSlotHeaders + static_cast<size_t>(kSlotsPerHeader) * max_headers);
  if (words_at + words_bytes > k->arena_cap || (reinterpret_cast<uintptr_t>(k->arena) & 3) != 0) return false;
  uint32_t* words = reinterpret_cast<uint32_t*>(k->arena + words_at);
  uint8_t* arena = reinterpret_cast<uint8_t*>(k->arena);
  const HeadLimits limits{len, max_headers};
  const int64_t n = request ? ParseRequestHead(arena + offset, 0, len, words, limits)
                            : ParseResponseHead(arena, static_cast<size_t>(offset), static_cast<size_t>(offset) + len, words, limits);
  if (n != static_cast<int64_t>(len)) return false;
  k->arena_used = words_at + 4 * (kSlotHeaders + static_cast<size_t>(kSlotsPerHeader) * words[kSlotHeaderCount]);
  return true;
}

int H2SessionBase::RecordChunk(H2StreamIo* st, int32_t id, const uint8_t* data, size_t len) {
  nghttp2_session* session = session_.get();
  if (st == nullptr) {
    nghttp2_session_consume_connection(session, len);
    return 0;
  }
  if (st->reading) {
    nghttp2_session_consume(session, id, len);
  } else {
    nghttp2_session_consume_connection(session, len);
    st->unconsumed += static_cast<int32_t>(len);
  }
  H2Sink* k = sink_;
  int32_t offset = 0;
  if (data >= k->input && data + len <= k->input + k->input_len) {
    Event(id, kH2Data, static_cast<int32_t>(data - k->input), static_cast<int32_t>(len));
  } else if (Arena(reinterpret_cast<const char*>(data), len, &offset)) {
    Event(id, kH2DataArena, offset, static_cast<int32_t>(len));
  } else {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  return RoomLow() ? NGHTTP2_ERR_PAUSE : 0;
}

bool H2SessionBase::RoomLow() const {
  return !overflow_.empty() || sink_->event_count + 32 > sink_->event_cap ||
         sink_->arena_used + settings_.max_header_list + 8192 > sink_->arena_cap;
}

int H2SessionBase::FrameRecvResult() const {
  return overflow_.size() > sink_->event_cap ? NGHTTP2_ERR_CALLBACK_FAILURE : 0;
}

void H2SessionBase::Send() {
  FlushOverflow();
  Conn* c = FindConn(transport_, conn_id_);
  if (c == nullptr || c->closing) return;
  nghttp2_session* s = session_.get();
  bool full = c->Queued() > transport_->high_water;
  out_.clear();
  while (!full) {
    if (sink_->event_count + 64 > sink_->event_cap) {  // room for this send's events: the rest next round
      MarkH2Dirty(this, handle_);
      break;
    }
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(s, &data);
    if (n < 0) {
      dead_ = true;
      break;
    }
    if (n == 0) break;
    out_.insert(out_.end(), data, data + n);
    if (out_.size() >= kSendGather) {
      uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(out_.data()), static_cast<unsigned int>(out_.size()));
      full = !(c->tls ? WriteTls(c, &buf, 1) : WriteConn(c, &buf, 1));
      out_.clear();
    }
  }
  if (!out_.empty()) {
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(out_.data()), static_cast<unsigned int>(out_.size()));
    full = !(c->tls ? WriteTls(c, &buf, 1) : WriteConn(c, &buf, 1));
    out_.clear();
  }
  if (out_.capacity() > 4 * kSendGather) out_.shrink_to_fit();
  // A peer that does not read: frames pile up in nghttp2 while the socket is full (Envoy's max_outbound_frames).
  if (!dead_ && nghttp2_session_get_outbound_queue_size(s) > settings_.max_outbound_frames) {
    dead_ = true;
    if (!IsClient()) sink_->counters[kCntOutboundFlood]++;  // the counters are the downstream side's
    if (!end_reported_) {
      end_reported_ = true;
      Event(0, kH2SessionEnd, 1, 0);  // 1: reset the connection (a GOAWAY would not get through)
    }
    return;
  }
  Finish();
}

void H2SessionBase::Finish() {
  if (end_reported_) return;
  nghttp2_session* s = session_.get();
  const bool done = nghttp2_session_want_read(s) == 0 && nghttp2_session_want_write(s) == 0;
  if (done || (dead_ && nghttp2_session_want_write(s) == 0)) {
    end_reported_ = true;
    Event(0, kH2SessionEnd, 0, 0);
  }
}

}  // namespace isthmus
