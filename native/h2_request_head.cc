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
  const std::string v(reinterpret_cast<const char*>(value), value_len);
  if (name[0] == ':') {
    if (Is(name, name_len, ":method")) method = v;
    else if (Is(name, name_len, ":path")) path = v;
    else if (Is(name, name_len, ":authority")) authority = v;
    return true;  // :scheme and others: not in an HTTP/1.1 head
  }
  if (Is(name, name_len, "cookie")) {
    if (!cookie.empty()) cookie += "; ";
    cookie += v;
    return true;
  }
  if (Is(name, name_len, "content-length")) {
    content_length = v;
    return true;
  }
  if (Is(name, name_len, "te")) {
    te_trailers = v == "trailers";
    return true;
  }
  if (Is(name, name_len, "host")) {
    host = v;
    return true;
  }
  if (Dropped(name, name_len)) return true;
  if (Is(name, name_len, "content-type") && value_len >= 16 && std::memcmp(value, "application/grpc", 16) == 0) grpc = true;
  fields.append(reinterpret_cast<const char*>(name), name_len);
  fields += ": ";
  fields += v;
  fields += "\r\n";
  return true;
}

std::string H2RequestHead::Build(bool end_stream) const {
  std::string head;
  if (path.empty() || method == "CONNECT") return head;
  head.reserve(method.size() + path.size() + authority.size() + fields.size() + cookie.size() + 96);
  head += method.empty() ? "GET" : method;
  head += ' ';
  head += path;
  head += " HTTP/1.1\r\nhost: ";
  head += authority.empty() ? host : authority;
  head += "\r\n";
  head += fields;
  if (!cookie.empty()) {
    head += "cookie: ";
    head += cookie;
    head += "\r\n";
  }
  if (!end_stream) {
    if (!content_length.empty()) {
      head += "content-length: ";
      head += content_length;
      head += "\r\n";
    } else {
      head += "transfer-encoding: chunked\r\n";
    }
  }
  head += "\r\n";
  return head;
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

}  // namespace isthmus
