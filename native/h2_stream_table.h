// A session's streams by id, server or client (h2_session.h, h2_client_session.h).
// A stream's callbacks come in runs (a header block's fields, then its frame,
// then JS's answer), so the last stream found is kept; every change to the
// table clears it, so it can never point at a stream the table freed.
#ifndef ISTHMUS_H2_STREAM_TABLE_H_
#define ISTHMUS_H2_STREAM_TABLE_H_

#include <cstdint>
#include <memory>
#include <unordered_map>

namespace isthmus {

template <typename Stream>
class H2StreamTable {
 public:
  // takes a stream id; returns its stream, or null when the table has none with that id.
  Stream* Find(int32_t id) {
    if (id == last_id_ && last_ != nullptr) return last_;
    auto it = streams_.find(id);
    if (it == streams_.end()) return nullptr;
    last_id_ = id;
    last_ = it->second.get();
    return last_;
  }
  // takes a stream (its id set); adds it, freeing any the table had with that id.
  void Insert(std::unique_ptr<Stream> stream) {
    last_ = nullptr;
    const int32_t id = stream->id;
    streams_[id] = std::move(stream);
  }
  // takes a stream id; removes and frees its stream (nothing when none).
  void Erase(int32_t id) {
    last_ = nullptr;
    streams_.erase(id);
  }

 private:
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  int32_t last_id_ = 0;
  Stream* last_ = nullptr;  // Find's last answer (null when none or the table changed since)
};

}  // namespace isthmus

#endif  // ISTHMUS_H2_STREAM_TABLE_H_
