#include "response_framer.h"

#include <algorithm>

#include "napi_args.h"

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

void ResponseFramer::Load(const double* s) {
  error_responses_ = static_cast<uint64_t>(s[0]);
  malformed_ = s[1] != 0;
  state_ = static_cast<State>(static_cast<int>(s[2]));
  line_pos_ = static_cast<size_t>(s[3]);
  status_ = static_cast<int>(s[4]);
  content_length_ = static_cast<uint64_t>(s[5]);
  chunked_ = s[6] != 0;
  cl_match_ = static_cast<int>(s[7]);
  te_match_ = static_cast<int>(s[8]);
  in_cl_value_ = s[9] != 0;
  in_te_value_ = s[10] != 0;
  chunked_match_ = static_cast<int>(s[11]);
  remaining_ = static_cast<uint64_t>(s[12]);
  chunk_size_ = static_cast<uint64_t>(s[13]);
  in_chunk_extension_ = s[14] != 0;
}

void ResponseFramer::Store(double* s) const {
  s[0] = static_cast<double>(error_responses_);
  s[1] = malformed_ ? 1 : 0;
  s[2] = static_cast<int>(state_);
  s[3] = static_cast<double>(line_pos_);
  s[4] = status_;
  s[5] = static_cast<double>(content_length_);
  s[6] = chunked_ ? 1 : 0;
  s[7] = cl_match_;
  s[8] = te_match_;
  s[9] = in_cl_value_ ? 1 : 0;
  s[10] = in_te_value_ ? 1 : 0;
  s[11] = chunked_match_;
  s[12] = static_cast<double>(remaining_);
  s[13] = static_cast<double>(chunk_size_);
  s[14] = in_chunk_extension_ ? 1 : 0;
}

void ResponseFramer::ResetForNext() {
  state_ = State::kStatusLine;
  status_ = 0;
  content_length_ = 0;
  chunked_ = false;
  chunked_match_ = 0;
  StartLine();
}

namespace {

// A state array is JS-owned and could hold anything: only values Store can write are accepted.
bool ValidState(const double* s) {
  const double state = s[2];
  return state >= 0 && state <= 6 && state == static_cast<int>(state) && s[3] >= 0 && s[5] >= 0 && s[12] >= 0 &&
         s[13] >= 0 && s[7] >= -1 && s[7] <= 15 && s[8] >= -1 && s[8] <= 18 && s[11] >= 0 && s[11] <= 7;
}

napi_value FrameResponses(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 4) {
    ThrowTypeError(env, "frameResponses(state, buf, start, end): 4 arguments");
    return nullptr;
  }
  double* state = nullptr;
  size_t state_length = 0;
  uint8_t* data = nullptr;
  size_t length = 0;
  size_t start = 0;
  size_t end = 0;
  if (!GetWordArray(env, argv[0], "frameResponses: state must be a Float64Array", &state, &state_length) ||
      !GetTypedArray(env, argv[1], napi_uint8_array, "frameResponses: buf must be a Uint8Array", &data, &length) ||
      !GetIndex(env, argv[2], static_cast<double>(length), "frameResponses: start must be a number",
                "frameResponses: start out of range", &start) ||
      !GetIndex(env, argv[3], static_cast<double>(length), "frameResponses: end must be a number",
                "frameResponses: end out of range", &end)) {
    return nullptr;
  }
  if (state_length != ResponseFramer::kStateSize || !ValidState(state)) {
    ThrowRangeError(env, "frameResponses: state must be a Float64Array(15) this function wrote");
    return nullptr;
  }
  if (start > end) {
    ThrowRangeError(env, "frameResponses: start > end");
    return nullptr;
  }
  ResponseFramer framer;
  framer.Load(state);
  const int completed = framer.Feed(data + start, end - start);
  framer.Store(state);
  return NumberValue(env, completed);
}

}  // namespace

void RegisterResponseFramer(Napi::Env env, Napi::Object exports) {
  napi_value fn = nullptr;
  napi_create_function(env, "frameResponses", NAPI_AUTO_LENGTH, FrameResponses, nullptr, &fn);
  exports.Set("frameResponses", Napi::Value(env, fn));
}

}  // namespace isthmus
