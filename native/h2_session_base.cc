// The shared half of both native HTTP/2 sessions. See h2_session_base.h.
#include "h2_session_base.h"

#include <cstring>

#include "socket_tls.h"
#include "socket_transport.h"

namespace isthmus {

namespace {

constexpr size_t kSendGather = 64 * 1024;  // frames gathered into one socket write

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
  nghttp2_session* raw = nullptr;
  const int rv = server ? nghttp2_session_server_new2(&raw, cbs, this, opt) : nghttp2_session_client_new2(&raw, cbs, this, opt);
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

int H2SessionBase::RecordChunk(int32_t id, const uint8_t* data, size_t len) {
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
