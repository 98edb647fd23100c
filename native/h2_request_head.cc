// An HTTP/2 request's fields as an HTTP/1.1 head: pseudo-headers to the
// request line and host, cookies joined (RFC 9113 8.2.3), connection-specific
// and framing headers dropped, and the body framed by content-length or
// chunked. The head then goes through the same strict parser as HTTP/1.1.
#include <cstring>

#include "h2_stream.h"

namespace isthmus {

namespace {

bool Is(const uint8_t* s, size_t len, const char* lit) {
  const size_t n = std::strlen(lit);
  return len == n && std::memcmp(s, lit, n) == 0;
}

// Headers an HTTP/1.1 head does not carry over from HTTP/2.
bool Dropped(const uint8_t* name, size_t len) {
  return Is(name, len, "connection") || Is(name, len, "keep-alive") || Is(name, len, "proxy-connection") ||
         Is(name, len, "transfer-encoding") || Is(name, len, "upgrade") || Is(name, len, "te") || Is(name, len, "host");
}

}  // namespace

bool H2RequestHead::Add(const uint8_t* name, size_t name_len, const uint8_t* value, size_t value_len) {
  if (name_len == 0) return false;
  for (size_t i = 0; i < value_len; i++) {
    if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0') return false;
  }
  // Values are appended or assigned in place: no temporary string per field (malloc was a tenth of the proxy's CPU).
  const char* v = reinterpret_cast<const char*>(value);
  if (name[0] == ':') {
    if (Is(name, name_len, ":method")) method.assign(v, value_len);
    else if (Is(name, name_len, ":path")) path.assign(v, value_len);
    else if (Is(name, name_len, ":authority")) authority.assign(v, value_len);
    return true;  // :scheme and others: not in an HTTP/1.1 head
  }
  if (Is(name, name_len, "cookie")) {
    if (!cookie.empty()) cookie += "; ";
    cookie.append(v, value_len);
    return true;
  }
  if (Is(name, name_len, "content-length")) {
    content_length.assign(v, value_len);
    return true;
  }
  if (Is(name, name_len, "te")) {
    te_trailers = value_len == 8 && std::memcmp(value, "trailers", 8) == 0;
    return true;
  }
  if (Is(name, name_len, "host")) {
    host.assign(v, value_len);
    return true;
  }
  if (Dropped(name, name_len)) return true;
  if (Is(name, name_len, "content-type") && value_len >= 16 && std::memcmp(value, "application/grpc", 16) == 0) grpc = true;
  // One allocation for a usual request's fields rather than one per doubling.
  if (fields.capacity() < 256) fields.reserve(256);
  fields.append(reinterpret_cast<const char*>(name), name_len);
  fields += ": ";
  fields.append(v, value_len);
  fields += "\r\n";
  return true;
}

size_t H2RequestHead::BuildInto(bool end_stream, char* dst, size_t cap) const {
  // Written where it goes (the arena), without a string made and freed per request.
  if (path.empty() || method == "CONNECT") return 0;
  const char* m = method.empty() ? "GET" : method.data();
  const size_t m_len = method.empty() ? 3 : method.size();
  const std::string& h = authority.empty() ? host : authority;
  static const char kTail[] = " HTTP/1.1\r\nhost: ";
  static const char kChunked[] = "transfer-encoding: chunked\r\n";
  size_t need = m_len + 1 + path.size() + (sizeof(kTail) - 1) + h.size() + 2 + fields.size() + 2;
  if (!cookie.empty()) need += 8 + cookie.size() + 2;
  if (!end_stream) need += content_length.empty() ? sizeof(kChunked) - 1 : 16 + content_length.size() + 2;
  if (need > cap) return need;
  char* p = dst;
  auto put = [&p](const char* b, size_t n) {
    std::memcpy(p, b, n);
    p += n;
  };
  put(m, m_len);
  *p++ = ' ';
  put(path.data(), path.size());
  put(kTail, sizeof(kTail) - 1);
  put(h.data(), h.size());
  put("\r\n", 2);
  put(fields.data(), fields.size());
  if (!cookie.empty()) {
    put("cookie: ", 8);
    put(cookie.data(), cookie.size());
    put("\r\n", 2);
  }
  if (!end_stream) {
    if (!content_length.empty()) {
      put("content-length: ", 16);
      put(content_length.data(), content_length.size());
      put("\r\n", 2);
    } else {
      put(kChunked, sizeof(kChunked) - 1);
    }
  }
  put("\r\n", 2);
  return static_cast<size_t>(p - dst);
}

bool ParseHeaderBlock(const char* block, size_t len, std::vector<nghttp2_nv>* nva, size_t max) {
  nva->clear();
  size_t pos = 0;
  while (pos < len) {
    const void* z1 = std::memchr(block + pos, 0, len - pos);
    if (z1 == nullptr) return false;
    const size_t name_end = static_cast<size_t>(static_cast<const char*>(z1) - block);
    const void* z2 = std::memchr(block + name_end + 1, 0, len - name_end - 1);
    if (name_end + 1 > len || z2 == nullptr) return false;
    const size_t value_end = static_cast<size_t>(static_cast<const char*>(z2) - block);
    if (nva->size() >= max) return false;
    nghttp2_nv nv;
    nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(block + pos));
    nv.namelen = name_end - pos;
    nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(block + name_end + 1));
    nv.valuelen = value_end - name_end - 1;
    nv.flags = NGHTTP2_NV_FLAG_NONE;
    nva->push_back(nv);
    pos = value_end + 1;
  }
  return true;
}

namespace {

nghttp2_nv Nv(const char* name, size_t name_len, const uint8_t* value, size_t value_len) {
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name));
  nv.namelen = name_len;
  nv.value = const_cast<uint8_t*>(value);
  nv.valuelen = value_len;
  nv.flags = NGHTTP2_NV_FLAG_NONE;
  return nv;
}

// Connection-specific fields HTTP/2 forbids (RFC 9113 8.2.2). A request also drops Expect, HTTP2-Settings and Host
// (it becomes :authority); a response also drops Trailer.
bool DroppedField(const uint8_t* p, size_t len, bool response) {
  switch (len) {
    case 2: return Is(p, len, "te");
    case 4: return !response && Is(p, len, "host");
    case 6: return !response && Is(p, len, "expect");
    case 7: return Is(p, len, "upgrade") || (response && Is(p, len, "trailer"));
    case 10: return Is(p, len, "connection") || Is(p, len, "keep-alive");
    case 14: return !response && Is(p, len, "http2-settings");
    case 16: return Is(p, len, "proxy-connection");
    case 17: return Is(p, len, "transfer-encoding");
    default: return false;
  }
}

// One "name: value" line of a head: the name lowercased in place (HTTP/2 requires it; the native parser already
// did), the value with its surrounding whitespace left out.
struct HeadField {
  uint8_t* name;
  size_t name_len;
  uint8_t* value;
  size_t value_len;
};

// takes the head's next line at *line (before end); fills f and moves *line past it; returns 1 for a field, 0 at the
// blank line ending the head, -1 when malformed.
int NextField(uint8_t** line, uint8_t* end, HeadField* f) {
  uint8_t* at = *line;
  uint8_t* eol = static_cast<uint8_t*>(std::memchr(at, '\n', static_cast<size_t>(end - at)));
  if (eol == nullptr) return -1;
  *line = eol + 1;
  uint8_t* stop = eol;
  if (stop > at && stop[-1] == '\r') stop--;
  if (stop == at) return 0;
  uint8_t* colon = static_cast<uint8_t*>(std::memchr(at, ':', static_cast<size_t>(stop - at)));
  if (colon == nullptr || colon == at) return -1;
  for (uint8_t* c = at; c < colon; c++) {
    if (*c >= 'A' && *c <= 'Z') *c = static_cast<uint8_t>(*c + 32);
  }
  uint8_t* v = colon + 1;
  while (v < stop && (*v == ' ' || *v == '\t')) v++;
  uint8_t* ve = stop;
  while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
  f->name = at;
  f->name_len = static_cast<size_t>(colon - at);
  f->value = v;
  f->value_len = static_cast<size_t>(ve - v);
  return 1;
}

const uint8_t kTrailers[] = {'t', 'r', 'a', 'i', 'l', 'e', 'r', 's'};

}  // namespace

bool RouterHeadToNv(uint8_t* head, size_t len, const uint8_t* scheme, size_t scheme_len, std::vector<nghttp2_nv>* nva, size_t max) {
  nva->clear();
  uint8_t* end = head + len;
  uint8_t* sp1 = static_cast<uint8_t*>(std::memchr(head, ' ', len));
  if (sp1 == nullptr) return false;
  uint8_t* sp2 = static_cast<uint8_t*>(std::memchr(sp1 + 1, ' ', static_cast<size_t>(end - sp1 - 1)));
  if (sp2 == nullptr) return false;
  uint8_t* line = static_cast<uint8_t*>(std::memchr(sp2, '\n', static_cast<size_t>(end - sp2)));
  if (line == nullptr) return false;
  line++;
  nva->push_back(Nv(":method", 7, head, static_cast<size_t>(sp1 - head)));
  nva->push_back(Nv(":scheme", 7, scheme, scheme_len));
  nva->push_back(Nv(":authority", 10, nullptr, 0));  // filled from Host below; left out when there is none
  nva->push_back(Nv(":path", 5, sp1 + 1, static_cast<size_t>(sp2 - sp1 - 1)));
  bool authority = false;
  bool grpc = false;
  HeadField f;
  int got;
  while ((got = NextField(&line, end, &f)) == 1) {
    if (Is(f.name, f.name_len, "host")) {
      (*nva)[2].value = f.value;
      (*nva)[2].valuelen = f.value_len;
      authority = f.value_len > 0;
    } else if (!DroppedField(f.name, f.name_len, false)) {
      if (nva->size() >= max) return false;
      if (Is(f.name, f.name_len, "content-type") && f.value_len >= 16 && std::memcmp(f.value, "application/grpc", 16) == 0) grpc = true;
      nva->push_back(Nv(reinterpret_cast<const char*>(f.name), f.name_len, f.value, f.value_len));
      // A value new on every request (the proxy's x-request-id) is sent without indexing: in the HPACK dynamic
      // table it would only evict the fields that do repeat, on both ends, and cost a table insertion each.
      if (Is(f.name, f.name_len, "x-request-id")) nva->back().flags = NGHTTP2_NV_FLAG_NO_INDEX;
    }
  }
  if (got < 0) return false;
  if (grpc) nva->push_back(Nv("te", 2, kTrailers, sizeof(kTrailers)));
  if (!authority) nva->erase(nva->begin() + 2);
  return true;
}

bool ResponseHeadToNv(uint8_t* head, size_t len, std::vector<nghttp2_nv>* nva, size_t max) {
  uint8_t* end = head + len;
  uint8_t* line = static_cast<uint8_t*>(std::memchr(head, '\n', len));
  if (line == nullptr) return false;
  line++;
  HeadField f;
  int got;
  while ((got = NextField(&line, end, &f)) == 1) {
    if (DroppedField(f.name, f.name_len, true)) continue;
    if (nva->size() >= max) return false;
    nva->push_back(Nv(reinterpret_cast<const char*>(f.name), f.name_len, f.value, f.value_len));
  }
  return got == 0;
}

}  // namespace isthmus
