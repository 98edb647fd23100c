// nghttp2 client session callbacks and the session's send/receive. See
// h2_client_session.h. The upstream may be hostile too: header list size,
// outbound queue and event room are bounded as on the server side.
#include "h2_client_session.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include "reason_phrase.h"
#include "socket_tls.h"
#include "socket_transport.h"

namespace isthmus {

namespace {

constexpr size_t kMaxRequestHeaders = 512;

H2ClientSession* Self(void* user_data) { return static_cast<H2ClientSession*>(static_cast<H2SessionBase*>(user_data)); }

// Tests only: ISTHMUS_TEST_H2_FIRST_STREAM_ID (an odd id up to 2^31-1) starts each upstream session's stream ids
// there, so a test reaches their end in a few requests instead of a billion. 0 (unset or not such an id): from 1.
int32_t FirstStreamIdForTests() {
  const char* v = std::getenv("ISTHMUS_TEST_H2_FIRST_STREAM_ID");
  if (v == nullptr) return 0;
  char* end = nullptr;
  const long long id = std::strtoll(v, &end, 10);
  return *end == 0 && id > 1 && id <= 0x7fffffff && (id & 1) == 1 ? static_cast<int32_t>(id) : 0;
}

bool Is(const uint8_t* s, size_t len, const char* lit) {
  const size_t n = std::strlen(lit);
  return len == n && std::memcmp(s, lit, n) == 0;
}

bool CleanValue(const uint8_t* v, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (v[i] == '\r' || v[i] == '\n' || v[i] == 0) return false;
  }
  return true;
}

}  // namespace

H2ClientSession::H2ClientSession(Transport* t, int32_t conn_id, int32_t handle, const H2Settings& settings, H2Sink* sink)
    : H2SessionBase(t, conn_id, handle, settings, sink) {}

bool H2ClientSession::Start() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
  const nghttp2_settings_entry iv[3] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list},
  };
  if (!Open(cbs, false, iv, 3)) return false;
  static const int32_t first_id = FirstStreamIdForTests();
  if (first_id > 0) nghttp2_session_set_next_stream_id(session_.get(), first_id);
  return true;
}

int64_t H2ClientSession::Receive(const uint8_t* data, size_t len) {
  FlushOverflow();  // the records an earlier batch had no room for go first
  if (dead_) return -1;
  const ssize_t rv = nghttp2_session_mem_recv(session_.get(), data, len);
  if (rv < 0) {
    if (!dead_) {
      dead_ = true;
      nghttp2_session_terminate_session(session_.get(), rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
      MarkH2Dirty(this, handle_);
    }
    return -1;
  }
  MarkH2Dirty(this, handle_);
  return dead_ ? -1 : static_cast<int64_t>(rv);
}

int32_t H2ClientSession::Request(const char* block, size_t len, bool end_stream, bool head_request) {
  if (dead_ || goaway_last_ >= 0) return -1;
  if (!ParseHeaderBlock(block, len, &nva_, kMaxRequestHeaders)) return -1;
  return Submit(end_stream, head_request);
}

int32_t H2ClientSession::RequestFromHead(uint8_t* head, size_t len, const uint8_t* scheme, size_t scheme_len, bool end_stream,
                                         bool head_request) {
  if (dead_ || goaway_last_ >= 0) return -1;
  if (!RouterHeadToNv(head, len, scheme, scheme_len, &nva_, kMaxRequestHeaders)) return -1;
  return Submit(end_stream, head_request);
}

int32_t H2ClientSession::Submit(bool end_stream, bool head_request) {
  std::vector<nghttp2_nv>& nva = nva_;
  auto st = std::make_unique<H2ClientStream>();
  st->head_request = head_request;
  st->out_ended = end_stream;
  nghttp2_data_provider provider;
  provider.source.ptr = st.get();
  provider.read_callback = ReadBody;
  const int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(), end_stream ? nullptr : &provider, nullptr);
  if (id < 0) return -1;
  st->id = id;
  streams_.Insert(std::move(st));
  MarkH2Dirty(this, handle_);
  return id;
}

int H2ClientSession::Write(int32_t stream_id, const uint8_t* data, size_t len) {
  H2ClientStream* st = Find(stream_id);
  if (st == nullptr || st->out_ended) return -1;
  return QueueBody(st, data, len);
}

void H2ClientSession::End(int32_t stream_id, const char* trailers, size_t trailers_len) {
  H2ClientStream* st = Find(stream_id);
  if (st == nullptr || st->out_ended) return;
  EndBody(st, trailers, trailers_len);
}

void H2ClientSession::Drain() {
  if (dead_) return;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, nullptr, 0);
  MarkH2Dirty(this, handle_);
}

void H2ClientSession::ReportHead(H2ClientStream* st, bool end_stream) {
  const uint32_t status = st->status;
  const bool bodyless = end_stream || st->head_request || status == 204 || status == 304;
  scratch_.assign("HTTP/1.1 ");
  scratch_ += std::to_string(status);
  scratch_ += ' ';
  scratch_ += ReasonPhrase(status);
  scratch_ += "\r\n";
  scratch_ += st->fields;
  if (!bodyless && !st->has_length) scratch_ += "transfer-encoding: chunked\r\n";
  scratch_ += "\r\n";
  st->fields.clear();
  int32_t offset = 0;
  if (!Arena(scratch_.data(), scratch_.size(), &offset)) {
    nghttp2_submit_rst_stream(session_.get(), NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  int32_t code = kH2Response | static_cast<int32_t>(status << kRespStatusShift);
  if (end_stream) code |= kRespEndStream;
  if (st->has_length) code |= kRespHasLength;
  if (ParseIntoArena(offset, scratch_.size(), false)) code |= kRespParsed;
  Event(st->id, code, offset, static_cast<int32_t>(scratch_.size()));
}

// ---- nghttp2 callbacks ----

int H2ClientSession::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  H2ClientStream* st = Self(user_data)->Find(frame->hd.stream_id);
  if (st == nullptr) return 0;
  st->fields.clear();
  st->list_size = 0;
  return 0;
}

int H2ClientSession::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                              const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
  H2ClientSession* self = Self(user_data);
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  H2ClientStream* st = self->Find(frame->hd.stream_id);
  if (st == nullptr || st->header_overflow) return 0;
  st->list_size += namelen + valuelen + 32;
  if (st->list_size > self->settings_.max_header_list || namelen == 0 || !CleanValue(value, valuelen)) {
    // Oversized (an HPACK bomb) or a value an HTTP/1.1 head cannot carry: the stream fails.
    st->header_overflow = true;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  if (name[0] == ':') {
    if (!st->got_final && Is(name, namelen, ":status")) {
      uint32_t status = 0;
      for (size_t i = 0; i < valuelen && i < 3; i++) status = status * 10 + static_cast<uint32_t>(value[i] - '0');
      st->status = status;
    }
    return self->RoomLow() ? NGHTTP2_ERR_PAUSE : 0;
  }
  if (!st->got_final) {
    if (Is(name, namelen, "content-length")) st->has_length = true;
    st->fields.append(reinterpret_cast<const char*>(name), namelen);
    st->fields += ": ";
    st->fields.append(reinterpret_cast<const char*>(value), valuelen);
    st->fields += "\r\n";
  } else {
    st->fields.append(reinterpret_cast<const char*>(name), namelen);
    st->fields += '\0';
    st->fields.append(reinterpret_cast<const char*>(value), valuelen);
    st->fields += '\0';
  }
  // Input pauses here, not in OnFrameRecv (nghttp2 treats any nonzero return there as fatal): a block's events
  // (head, end, close) then always find room.
  return self->RoomLow() ? NGHTTP2_ERR_PAUSE : 0;
}

int H2ClientSession::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user_data) {
  H2ClientSession* self = Self(user_data);
  const int32_t id = frame->hd.stream_id;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      H2ClientStream* st = self->Find(id);
      if (st == nullptr || st->header_overflow) return 0;
      if (!st->got_final) {
        if (st->status < 200) {  // 1xx: informational, dropped (the final head follows)
          st->fields.clear();
          st->status = 0;
          st->has_length = false;
          return 0;
        }
        st->got_final = true;
        self->ReportHead(st, end_stream);
        if (end_stream) self->Event(id, kH2End, 0, 0);
      } else {
        int32_t offset = 0;
        if (!st->fields.empty() && self->Arena(st->fields.data(), st->fields.size(), &offset)) {
          self->Event(id, kH2Trailers, offset, static_cast<int32_t>(st->fields.size()));
        }
        st->fields.clear();
        if (end_stream) self->Event(id, kH2End, 0, 0);
      }
      break;
    }
    case NGHTTP2_DATA:
      if (end_stream && self->Find(id) != nullptr) self->Event(id, kH2End, 0, 0);
      break;
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
        const uint32_t max = nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        self->Event(0, kH2Settings, static_cast<int32_t>(max > 0x7fffffff ? 0x7fffffff : max), 0);
      }
      break;
    case NGHTTP2_GOAWAY:
      self->goaway_last_ = frame->goaway.last_stream_id;
      self->Event(0, kH2Goaway, frame->goaway.last_stream_id, static_cast<int32_t>(frame->goaway.error_code));
      break;
    default:
      break;
  }
  return self->FrameRecvResult();
}

int H2ClientSession::OnDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user_data) {
  H2ClientSession* self = Self(user_data);
  H2ClientStream* st = self->Find(id);
  return self->RecordChunk(st != nullptr && st->got_final ? st : nullptr, id, data, len);  // no body before the head
}

int H2ClientSession::OnStreamClose(nghttp2_session*, int32_t id, uint32_t error_code, void* user_data) {
  H2ClientSession* self = Self(user_data);
  const H2ClientStream* st = self->Find(id);
  if (st == nullptr) return 0;
  // Never processed by the upstream (REFUSED_STREAM, or past its GOAWAY's last stream id): JS may send it again.
  const bool unprocessed = !st->got_final && (error_code == NGHTTP2_REFUSED_STREAM || (self->goaway_last_ >= 0 && id > self->goaway_last_));
  self->Event(id, kH2Close, static_cast<int32_t>(error_code), unprocessed ? 1 : 0);
  self->streams_.Erase(id);
  return 0;
}

}  // namespace isthmus
