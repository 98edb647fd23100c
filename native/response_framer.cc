#include "response_framer.h"

#include <algorithm>

namespace isthmus {
namespace {

constexpr uint8_t kCr = 13;
constexpr uint8_t kLf = 10;
constexpr char kContentLength[] = "content-length:";
constexpr char kTransferEncoding[] = "transfer-encoding:";
constexpr char kChunked[] = "chunked";
constexpr int kContentLengthSize = sizeof(kContentLength) - 1;
constexpr int kTransferEncodingSize = sizeof(kTransferEncoding) - 1;
constexpr int kChunkedSize = sizeof(kChunked) - 1;
// A length beyond this is malformed (and would overflow the arithmetic).
constexpr uint64_t kMaxLength = uint64_t{1} << 50;

inline uint8_t Lower(uint8_t b) { return (b >= 'A' && b <= 'Z') ? (b | 0x20) : b; }

inline int HexValue(uint8_t b) {
  if (b >= '0' && b <= '9') return b - '0';
  const uint8_t l = Lower(b);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

}  // namespace

int ResponseFramer::Feed(const uint8_t* data, size_t n) {
  int completed = 0;
  size_t i = 0;
  while (i < n) {
    switch (state_) {
      case State::kStatusLine: {
        const uint8_t b = data[i++];
        if (b == kLf) {
          if (status_ < 100 || status_ > 999) malformed_ = true;
          state_ = State::kHeaderLine;
          StartLine();
        } else if (b != kCr) {
          const size_t pos = line_pos_++;
          // "HTTP/1.1 200 OK": the code is bytes 9..11 of the line.
          if (pos >= 9 && pos <= 11) {
            if (b < '0' || b > '9') malformed_ = true;
            status_ = status_ * 10 + (b - '0');
          }
        }
        break;
      }
      case State::kHeaderLine: {
        const uint8_t b = data[i++];
        if (b == kLf) {
          if (line_pos_ == 0) {
            if (EndOfHead()) completed++;
          } else {
            StartLine();
          }
        } else if (b != kCr) {
          HeaderByte(b);
        }
        break;
      }
      case State::kBody: {
        const uint64_t take = std::min<uint64_t>(remaining_, n - i);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          Finish();
          completed++;
        }
        break;
      }
      case State::kChunkSize: {
        const uint8_t b = data[i++];
        if (b == kLf) {
          if (chunk_size_ == 0) {
            state_ = State::kTrailers;
            line_pos_ = 0;
          } else {
            state_ = State::kChunkData;
            remaining_ = chunk_size_;
          }
        } else if (b == kCr || in_chunk_extension_) {
          // the line ends at LF; extensions are ignored
        } else if (b == ';') {
          in_chunk_extension_ = true;
        } else {
          const int v = HexValue(b);
          if (v < 0 || chunk_size_ > kMaxLength) malformed_ = true;
          else chunk_size_ = chunk_size_ * 16 + v;
        }
        break;
      }
      case State::kChunkData: {
        const uint64_t take = std::min<uint64_t>(remaining_, n - i);
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd: {
        if (data[i++] == kLf) {
          state_ = State::kChunkSize;
          chunk_size_ = 0;
          in_chunk_extension_ = false;
        }
        break;
      }
      case State::kTrailers: {
        const uint8_t b = data[i++];
        if (b == kLf) {
          if (line_pos_ == 0) {
            Finish();
            completed++;
          } else {
            line_pos_ = 0;
          }
        } else if (b != kCr) {
          line_pos_++;
        }
        break;
      }
    }
    if (malformed_) return completed;
  }
  return completed;
}

void ResponseFramer::StartLine() {
  line_pos_ = 0;
  cl_match_ = 0;
  te_match_ = 0;
  in_cl_value_ = false;
  in_te_value_ = false;
}

void ResponseFramer::HeaderByte(uint8_t b) {
  line_pos_++;
  if (in_cl_value_) {
    if (b >= '0' && b <= '9') {
      if (content_length_ > kMaxLength) malformed_ = true;
      else content_length_ = content_length_ * 10 + (b - '0');
    }
    return;
  }
  const uint8_t l = Lower(b);
  if (in_te_value_) {
    if (l == static_cast<uint8_t>(kChunked[chunked_match_])) {
      if (++chunked_match_ == kChunkedSize) chunked_ = true;
    } else {
      chunked_match_ = l == static_cast<uint8_t>(kChunked[0]) ? 1 : 0;
    }
    if (chunked_match_ >= kChunkedSize) chunked_match_ = 0;
    return;
  }
  if (cl_match_ >= 0) {
    if (l == static_cast<uint8_t>(kContentLength[cl_match_])) {
      if (++cl_match_ == kContentLengthSize) {
        in_cl_value_ = true;
        content_length_ = 0;
      }
    } else {
      cl_match_ = -1;
    }
  }
  if (te_match_ >= 0) {
    if (l == static_cast<uint8_t>(kTransferEncoding[te_match_])) {
      if (++te_match_ == kTransferEncodingSize) {
        in_te_value_ = true;
        chunked_match_ = 0;
      }
    } else {
      te_match_ = -1;
    }
  }
}

bool ResponseFramer::EndOfHead() {
  const int s = status_;
  if (s >= 100 && s < 200) {
    ResetForNext();  // 1xx interim response: the real one follows
    return false;
  }
  if (s == 204 || s == 304) {
    Finish();
    return true;
  }
  if (chunked_) {
    state_ = State::kChunkSize;
    chunk_size_ = 0;
    in_chunk_extension_ = false;
    return false;
  }
  if (content_length_ > 0) {
    state_ = State::kBody;
    remaining_ = content_length_;
    return false;
  }
  Finish();
  return true;
}

void ResponseFramer::Finish() {
  if (status_ >= 400) error_responses_++;
  ResetForNext();
}

void ResponseFramer::ResetForNext() {
  state_ = State::kStatusLine;
  status_ = 0;
  content_length_ = 0;
  chunked_ = false;
  chunked_match_ = 0;
  StartLine();
}

}  // namespace isthmus
