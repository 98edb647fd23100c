// Byte classes of RFC 9110/9112 as immutable lookup tables. They are
// constexpr (read-only data), so every worker thread can share them safely.
#ifndef ISTHMUS_HTTP_CHARS_H_
#define ISTHMUS_HTTP_CHARS_H_

#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace isthmus {

struct HttpChars {
  // tchar → its ASCII lowercase form; any other byte → 0 (no tchar is 0).
  uint8_t token_lower[256];
  // field-vchar / obs-text / SP / HTAB → 1 (what may sit inside a field value).
  uint8_t field_value[256];
  // reg-name / IP-literal / port characters of an authority (Host, CONNECT).
  uint8_t authority[256];
  // visible ASCII allowed in a request-target (no CTL, SP, DEL or obs-text).
  uint8_t target[256];
  // hex digit → value, other bytes → 0xff.
  uint8_t hex[256];
  // ASCII lowercase of every byte (non-letters unchanged).
  uint8_t lower[256];
};

constexpr bool IsAlpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool IsDigit(int c) { return c >= '0' && c <= '9'; }

constexpr HttpChars MakeHttpChars() {
  HttpChars t{};
  const char* token_extra = "!#$%&'*+-.^_`|~";
  const char* authority_extra = "-._~!$&'()*+,;=:[]%";
  for (int c = 0; c < 256; c++) {
    bool tchar = IsAlpha(c) || IsDigit(c);
    for (const char* p = token_extra; *p; p++) tchar = tchar || c == *p;
    uint8_t lower = static_cast<uint8_t>((c >= 'A' && c <= 'Z') ? c + 32 : c);
    t.lower[c] = lower;
    t.token_lower[c] = tchar ? lower : 0;
    t.field_value[c] = ((c >= 0x21 && c != 0x7f) || c == ' ' || c == '\t') ? 1 : 0;
    bool auth = IsAlpha(c) || IsDigit(c);
    for (const char* p = authority_extra; *p; p++) auth = auth || c == *p;
    t.authority[c] = auth ? 1 : 0;
    t.target[c] = (c > 0x20 && c < 0x7f) ? 1 : 0;
    t.hex[c] = IsDigit(c) ? static_cast<uint8_t>(c - '0')
             : (c >= 'a' && c <= 'f') ? static_cast<uint8_t>(c - 'a' + 10)
             : (c >= 'A' && c <= 'F') ? static_cast<uint8_t>(c - 'A' + 10)
             : 0xff;
  }
  return t;
}

inline constexpr HttpChars kHttpChars = MakeHttpChars();

// Case-insensitive compare of s[0,n) against a lowercase ASCII literal of length n.
inline bool EqualsLowerLiteral(const uint8_t* s, size_t n, const char* lit, size_t lit_len) {
  if (n != lit_len) return false;
  for (size_t i = 0; i < n; i++) {
    if (kHttpChars.lower[s[i]] != static_cast<uint8_t>(lit[i])) return false;
  }
  return true;
}

inline bool IsOws(uint8_t c) { return c == ' ' || c == '\t'; }

// Returns the first offset in [p, lim) whose byte may not appear in a field
// value (a CTL other than HTAB, or DEL), or lim. Values are most of a head's
// bytes, so this runs 16 bytes per step where SSE2 is available.
inline size_t ScanFieldValue(const uint8_t* buf, size_t p, size_t lim) {
#if defined(__SSE2__)
  const __m128i ctl_max = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i tab = _mm_set1_epi8('\t');
  while (lim - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + p));
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(x, ctl_max), x);  // unsigned x <= 0x1f
    const __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(x, tab), ctl), _mm_cmpeq_epi8(x, del));
    const int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    p += 16;
  }
#endif
  while (p < lim && kHttpChars.field_value[buf[p]]) p++;
  return p;
}

// Returns the first offset in [p, lim) whose byte is not visible ASCII
// (0x21-0x7e, what a request-target may hold), or lim.
inline size_t ScanTarget(const uint8_t* buf, size_t p, size_t lim) {
#if defined(__SSE2__)
  const __m128i low = _mm_set1_epi8(0x21);
  const __m128i span = _mm_set1_epi8(0x7e - 0x21);
  while (lim - p >= 16) {
    const __m128i x = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(buf + p)), low);
    const __m128i ok = _mm_cmpeq_epi8(_mm_min_epu8(x, span), x);  // unsigned x - 0x21 <= 0x5d
    const int mask = _mm_movemask_epi8(ok) ^ 0xffff;
    if (mask != 0) return p + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    p += 16;
  }
#endif
  while (p < lim && kHttpChars.target[buf[p]]) p++;
  return p;
}

}  // namespace isthmus

#endif  // ISTHMUS_HTTP_CHARS_H_
