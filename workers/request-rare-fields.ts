// Per-request fields a plaintext HTTP/1.1 request through a route without filters, retries or tracing never sets
// (ActiveRequest's HTTP/2 stream, trailers, filter edits, response transforms; the Router's retry and body
// queue state): kept in one side object made on the first write of a value other than the default, not in every
// request. Without pointer compression each field is 8 bytes of every request object, and a proxy's young
// generation is 1 MB (--max-semi-space-size=1): every byte a request allocates brings the next scavenge nearer
// (bench/h1-gc-count.ts measures bytes and scavenges per request).
// Reads of a field never set cost a null check and give the default.
// Not here: a field that common traffic sets on every request (forwardedFor behind a gateway, xfcc on an mTLS
// listener): the side object (8 bytes for each rare field) would then be made for every request, costing more
// than the field's own 8 bytes.

/** ActiveRequest's rare fields and their defaults (the value a request starts with). */
export const REQUEST_RARE_DEFAULTS = {
  http2Stream: null,
  requestTrailers: null,
  responseTrailers: null,
  grpcStatus: -1,
  setCookie: null,
  localReplyHeaders: null,
  filterRequestAdd: '',
  filterRequestRemove: null,
  h2Parts: false,
  h2NoBody: false,
  h2Length: -1,
  teTrailers: false,
  lastChunk: null,
  bodyTransform: null,
  transformEnding: false,
  requestEndMark: 0,
  responseStartMark: 0,
  headKept: false,
  headersCache: null,
  body: null,
  receivingBody: false,
  filters: null,
  loggedResponseHeaders: null,
  closeAfter: false,
  flags: 0,
} as const;

interface HasRareState {
  rareState: Record<string, unknown> | null;
}

/**
 * Defines each field of `defaults` on `proto` as an accessor reading and writing `this.rareState` (the class
 * declares the fields with `declare` so that no instance field is made, and `rareState = null` as a real one).
 * The side object starts as a copy of `defaults` (one shape for every request of a class).
 */
export function defineRareFields(proto: object, defaults: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(defaults)) {
    const fallback = defaults[key];
    Object.defineProperty(proto, key, {
      configurable: false,
      enumerable: false,
      get(this: HasRareState): unknown {
        const s = this.rareState;
        return s === null ? fallback : s[key];
      },
      set(this: HasRareState, value: unknown): void {
        let s = this.rareState;
        if (s === null) {
          if (value === fallback) return; // a reset to the default: nothing to keep
          s = this.rareState = { ...defaults };
        }
        s[key] = value;
      },
    });
  }
}
