// Per-request fields a plaintext HTTP/1.1 request through a route without filters, retries or tracing never sets
// (ActiveRequest's trailers, filter edits, response transforms; the Router's retry and body
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
  requestTrailers: null,
  responseTrailers: null,
  grpcStatus: -1,
  setCookie: null,
  localReplyHeaders: null,
  filterRequestAdd: '',
  filterRequestRemove: null,
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
  rareState: unknown[] | null;
}

/**
 * Defines each field of `defaults` on `proto` as an accessor reading and writing `this.rareState` (the class
 * declares the fields with `declare` so that no instance field is made, and `rareState = null` as a real one).
 * The side object is an array indexed by the field's place in `defaults`, starting as a copy of their values.
 * Why an array and not an object keyed by name: every accessor is a closure of the same function, so the property
 * access inside is one inline cache for all the keys; keyed by name it goes megamorphic (a hash lookup per access:
 * 4.5% of the proxy's CPU under h2load, perf -e cpu-clock), indexed it stays one array shape whatever the index.
 */
export function defineRareFields(proto: object, defaults: Readonly<Record<string, unknown>>): void {
  const keys = Object.keys(defaults);
  const initial = keys.map((k) => defaults[k]);
  for (let i = 0; i < keys.length; i++) {
    const fallback = initial[i];
    Object.defineProperty(proto, keys[i]!, {
      configurable: false,
      enumerable: false,
      get(this: HasRareState): unknown {
        const s = this.rareState;
        return s === null ? fallback : s[i];
      },
      set(this: HasRareState, value: unknown): void {
        let s = this.rareState;
        if (s === null) {
          if (value === fallback) return; // a reset to the default: nothing to keep
          s = this.rareState = initial.slice();
        }
        s[i] = value;
      },
    });
  }
}
