// HTTP/2 (gRPC) response trailers for an HTTP/1.1 client: sent as the
// trailer section of a chunked body when the client said `te: trailers`,
// else dropped (RFC 9110 6.5: a recipient that did not ask may discard them;
// a gRPC status in them is still read for stats). Fields that frame, route or
// authenticate a message may not be trailers (RFC 9110 6.5.1): dropped.
const NOT_TRAILERS: ReadonlySet<string> = new Set([
  'content-length', 'transfer-encoding', 'host', 'te', 'trailer', 'connection', 'keep-alive', 'proxy-connection',
  'upgrade', 'content-type', 'content-encoding', 'content-range', 'authorization', 'set-cookie', 'cache-control', 'expect',
]);

/** takes a lowercased field name; returns whether it may be a trailer (RFC 9110 6.5.1; see NOT_TRAILERS). */
export function mayBeTrailer(name: string): boolean {
  return !NOT_TRAILERS.has(name);
}

/**
 * On trailers read from a native HTTP/2 upstream: their header block as C++ wrote it ("name\0value\0..."), which a
 * native HTTP/2 client stream sends on as it is instead of rebuilding it from the object. A symbol: for-in skips it.
 */
export const TRAILER_BLOCK: unique symbol = Symbol('trailer block');

/** A field value a trailer line may carry (no CR, LF or NUL: from HTTP/2 they cannot occur; checked anyway). */
const SAFE_VALUE = /^[^\r\n\0]*$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** True when a `te` request header value lists `trailers` (a comma list, case-insensitive). */
export function teAcceptsTrailers(te: string): boolean {
  for (const part of te.split(',')) {
    const semi = part.indexOf(';');
    if ((semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase() === 'trailers') return true;
  }
  return false;
}

/** The fields of `trailers` that may be trailers (see NOT_TRAILERS), for an HTTP/2 peer. */
export function allowedTrailers(trailers: Record<string, string>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const name in trailers) {
    const value = trailers[name]!;
    if (name.charCodeAt(0) !== 58 && !NOT_TRAILERS.has(name) && TOKEN.test(name) && SAFE_VALUE.test(value)) out[name] = value;
  }
  return out;
}

/** "name: value\r\n" lines (as the native session hands request trailers over) as fields; repeated names joined with ", ". */
export function trailerFields(lines: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const line of lines.split('\r\n')) {
    const colon = line.indexOf(': ');
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    const value = line.slice(colon + 2);
    out[name] = out[name] === undefined ? value : out[name] + ', ' + value;
  }
  return out;
}

/** The end of a chunked body carrying `trailers`: "0\r\n", one line per field, "\r\n". */
export function lastChunkWithTrailers(trailers: Record<string, string>): Buffer {
  let text = '0\r\n';
  for (const name in trailers) {
    const value = trailers[name]!;
    if (name.charCodeAt(0) === 58 /* : */ || NOT_TRAILERS.has(name) || !TOKEN.test(name) || !SAFE_VALUE.test(value)) continue;
    text += name + ': ' + value + '\r\n';
  }
  return Buffer.from(text + '\r\n', 'latin1');
}
