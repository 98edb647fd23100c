// The http_inspector listener filter: peeks at a plaintext connection's first
// bytes to tell HTTP/1.x (a request line) or h2c (the HTTP/2 connection
// preface) from anything else, so a filter chain matching
// application_protocols ("http/1.1", "http/1.0", "h2c") can be chosen, as
// Envoy's inspector does. Reads only what it was given.

export const HTTP_INSPECT_MORE = 0; // not enough bytes to tell yet
export const HTTP_INSPECT_NOT_HTTP = 1;
export const HTTP_INSPECT_HTTP10 = 2;
export const HTTP_INSPECT_HTTP11 = 3;
export const HTTP_INSPECT_H2C = 4;

/** Envoy's inspector gives up past 64 KiB: no request line by then is not HTTP. */
export const MAX_HTTP_INSPECT_BYTES = 64 * 1024;
const MAX_METHOD_LENGTH = 20;
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const VERSION_PREFIX = Buffer.from('HTTP/1.', 'latin1');

/** The application protocol a result names ('' for none): what filter_chain_match.application_protocols matches. */
export function httpInspectProtocol(result: number): string {
  if (result === HTTP_INSPECT_HTTP11) return 'http/1.1';
  if (result === HTTP_INSPECT_HTTP10) return 'http/1.0';
  if (result === HTTP_INSPECT_H2C) return 'h2c';
  return '';
}

function isTchar(c: number): boolean {
  // RFC 9110 token characters.
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
    || c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x2d || c === 0x2e
    || c === 0x5e || c === 0x5f || c === 0x60 || c === 0x7c || c === 0x7e;
}

/** takes buf[start, end) (a connection's first bytes); returns HTTP_INSPECT_*. */
export function inspectHttp(buf: Buffer, start: number, end: number): number {
  const n = end - start;
  // The h2 preface, byte by byte while it could still be one.
  const pre = Math.min(n, H2_PREFACE.length);
  if (buf.compare(H2_PREFACE, 0, pre, start, start + pre) === 0) return n >= H2_PREFACE.length ? HTTP_INSPECT_H2C : HTTP_INSPECT_MORE;
  let pos = start;
  // method SP
  while (pos < end && pos - start < MAX_METHOD_LENGTH && isTchar(buf[pos]!)) pos++;
  if (pos === end) return n >= MAX_HTTP_INSPECT_BYTES ? HTTP_INSPECT_NOT_HTTP : HTTP_INSPECT_MORE;
  if (pos === start || buf[pos] !== 0x20) return HTTP_INSPECT_NOT_HTTP;
  pos++;
  // request-target SP: visible ASCII
  const targetStart = pos;
  while (pos < end && buf[pos]! > 0x20 && buf[pos]! < 0x7f) pos++;
  if (pos === end) return n >= MAX_HTTP_INSPECT_BYTES ? HTTP_INSPECT_NOT_HTTP : HTTP_INSPECT_MORE;
  if (pos === targetStart || buf[pos] !== 0x20) return HTTP_INSPECT_NOT_HTTP;
  pos++;
  // HTTP/1.x CRLF
  for (let i = 0; i < VERSION_PREFIX.length; i++, pos++) {
    if (pos === end) return HTTP_INSPECT_MORE;
    if (buf[pos] !== VERSION_PREFIX[i]) return HTTP_INSPECT_NOT_HTTP;
  }
  if (pos === end) return HTTP_INSPECT_MORE;
  const minor = buf[pos]!;
  if (minor !== 0x30 && minor !== 0x31) return HTTP_INSPECT_NOT_HTTP;
  pos++;
  if (pos === end) return HTTP_INSPECT_MORE;
  if (buf[pos] === 0x0d) {
    pos++;
    if (pos === end) return HTTP_INSPECT_MORE;
  }
  if (buf[pos] !== 0x0a) return HTTP_INSPECT_NOT_HTTP;
  return minor === 0x31 ? HTTP_INSPECT_HTTP11 : HTTP_INSPECT_HTTP10;
}
