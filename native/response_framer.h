// Frames HTTP/1.1 responses on a keep-alive connection with the least parsing
// that is correct: the status code, Content-Length or chunked framing. The
// bench client's one framer: the native closed loop uses it directly, the
// open loop through frameResponses (state kept in a Float64Array, as
// decodeChunked keeps its own). Lengths are checked; nothing is copied.
#ifndef ISTHMUS_RESPONSE_FRAMER_H_
#define ISTHMUS_RESPONSE_FRAMER_H_

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace isthmus {

class ResponseFramer {
 public:
  // Feeds bytes [data, data + n); returns how many responses completed in them.
  int Feed(const uint8_t* data, size_t n);
  bool malformed() const { return malformed_; }
  // Responses completed with status >= 400 since construction.
  uint64_t error_responses() const { return error_responses_; }
  // The whole state as kStateSize doubles (error_responses first, malformed second), for a JS caller to keep.
  static constexpr size_t kStateSize = 15;
  void Load(const double* s);
  void Store(double* s) const;

 private:
  enum class State { kStatusLine, kHeaderLine, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers };
  void StartLine();
  void HeaderByte(uint8_t b);
  bool EndOfHead();
  void Finish();
  void ResetForNext();

  State state_ = State::kStatusLine;
  bool malformed_ = false;
  uint64_t error_responses_ = 0;
  size_t line_pos_ = 0;
  int status_ = 0;
  uint64_t content_length_ = 0;
  bool chunked_ = false;
  int cl_match_ = 0;
  int te_match_ = 0;
  bool in_cl_value_ = false;
  bool in_te_value_ = false;
  int chunked_match_ = 0;
  uint64_t remaining_ = 0;
  uint64_t chunk_size_ = 0;
  bool in_chunk_extension_ = false;
};

// frameResponses(state: Float64Array(15), buf: Uint8Array, start, end) -> responses completed.
void RegisterResponseFramer(Napi::Env env, Napi::Object exports);

}  // namespace isthmus

#endif  // ISTHMUS_RESPONSE_FRAMER_H_
