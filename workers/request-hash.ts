// A request's hash for RING_HASH / MAGLEV clusters, from the route's
// hash_policy list as Envoy evaluates it: each policy that finds its value
// (a header, a cookie, the source IP, a query parameter) hashes it and is
// folded in by rotate-xor; a `terminal` policy that produced a hash ends the
// list. A cookie policy with a ttl whose cookie is absent makes up a value
// (one per downstream connection, as Envoy does), hashes that, and asks for a
// set-cookie on the response. Computed once per request while the head
// buffer is valid (in Router.prepare) and kept for its retries.
import type { HashPolicy } from '../src/config/bootstrap-types.js';
import { HEAD } from '../src/native.js';
import { NO_HASH } from './balancers/balancer.js';
import { combineHash, hashString, randomHash } from './balancers/hash32.js';
import { headerNameIs } from './header-block.js';

export { NO_HASH };

/** Where requestHash leaves the set-cookie header line(s) it wants on the response (null: none). */
export interface SetCookieSink {
  setCookie: string | null;
}

/**
 * The request's 32-bit hash, or NO_HASH when no policy found its value. `buf`/`out`: the request head as parsed;
 * `query`: the raw query (after '?'); `connection`: identifies the downstream connection (for generated cookies).
 */
export function requestHash(
  policies: readonly HashPolicy[],
  buf: Buffer,
  out: Uint32Array,
  query: string,
  sourceIp: string,
  connection: object,
  sink: SetCookieSink,
): number {
  let hash = 0;
  let have = false;
  for (let p = 0; p < policies.length; p++) {
    const policy = policies[p]!;
    let h = -1;
    switch (policy.kind) {
      case 'header':
        h = headerHash(buf, out, policy.name);
        break;
      case 'cookie': {
        let value = cookieValue(buf, out, policy.name);
        if (value === null && policy.ttlMs !== null) {
          value = generatedCookieValue(connection);
          const line = setCookieLine(policy.name, value, policy.ttlMs, policy.path);
          sink.setCookie = sink.setCookie === null ? line : sink.setCookie + line;
        }
        if (value !== null) h = hashString(value);
        break;
      }
      case 'source_ip':
        if (sourceIp !== '') h = hashString(sourceIp);
        break;
      case 'query_parameter': {
        const value = queryValue(query, policy.name);
        if (value !== null) h = hashString(value);
        break;
      }
    }
    if (h >= 0) {
      hash = have ? combineHash(hash, h) : h;
      have = true;
    }
    if (policy.terminal && have) break;
  }
  return have ? hash : NO_HASH;
}

/** Envoy's Set-Cookie for a generated hash cookie: `name="value"; Max-Age=s; Path=p; HttpOnly` (Max-Age only when > 0 s). */
export function setCookieLine(name: string, value: string, ttlMs: number, path: string | null): string {
  let line = `set-cookie: ${name}="${value}"`;
  const seconds = Math.floor(ttlMs / 1000);
  if (seconds > 0) line += `; Max-Age=${seconds}`;
  if (path !== null && path !== '') line += `; Path=${path}`;
  return line + '; HttpOnly\r\n';
}

/** Hash of a header's value; several occurrences hash in sorted order, so their order does not matter (Envoy). */
function headerHash(buf: Buffer, out: Uint32Array, name: string): number {
  const count = out[HEAD.HEADER_COUNT]!;
  let first = -1;
  let values: string[] | null = null;
  for (let i = 0; i < count; i++) {
    const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
    if (!headerNameIs(buf, out, base, name)) continue;
    if (first < 0) {
      first = base;
    } else {
      values ??= [buf.latin1Slice(out[first + HEAD.VALUE_START]!, out[first + HEAD.VALUE_END]!)];
      values.push(buf.latin1Slice(out[base + HEAD.VALUE_START]!, out[base + HEAD.VALUE_END]!));
    }
  }
  if (first < 0) return -1;
  if (values === null) return hashString(buf.latin1Slice(out[first + HEAD.VALUE_START]!, out[first + HEAD.VALUE_END]!));
  values.sort();
  let h = hashString(values[0]!);
  for (let i = 1; i < values.length; i++) h = combineHash(h, hashString(values[i]!));
  return h;
}

/** The value of cookie `name` in the request's cookie headers (surrounding double quotes removed), or null. */
export function cookieValue(buf: Buffer, out: Uint32Array, name: string): string | null {
  const count = out[HEAD.HEADER_COUNT]!;
  const len = name.length;
  for (let i = 0; i < count; i++) {
    const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
    if (!headerNameIs(buf, out, base, 'cookie')) continue;
    const end = out[base + HEAD.VALUE_END]!;
    let pos = out[base + HEAD.VALUE_START]!;
    while (pos < end) {
      while (pos < end && (buf[pos] === 0x20 || buf[pos] === 0x09)) pos++;
      let pairEnd = pos;
      while (pairEnd < end && buf[pairEnd] !== 0x3b) pairEnd++; // ';'
      let match = pos + len < pairEnd && buf[pos + len] === 0x3d; // '='
      for (let k = 0; match && k < len; k++) if (buf[pos + k] !== name.charCodeAt(k)) match = false;
      if (match) {
        let vs = pos + len + 1;
        let ve = pairEnd;
        while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
        if (ve - vs >= 2 && buf[vs] === 0x22 && buf[ve - 1] === 0x22) {
          vs++;
          ve--;
        }
        return buf.latin1Slice(vs, ve);
      }
      pos = pairEnd + 1;
    }
  }
  return null;
}

/** The first value of query parameter `name` (not decoded, as Envoy's hash takes it; "" when given without '='), or null. */
export function queryValue(query: string, name: string): string | null {
  const len = name.length;
  let pos = 0;
  while (pos <= query.length) {
    let end = query.indexOf('&', pos);
    if (end < 0) end = query.length;
    if (query.startsWith(name, pos)) {
      if (pos + len === end) return '';
      if (query.charCodeAt(pos + len) === 0x3d) return query.slice(pos + len + 1, end);
    }
    pos = end + 1;
  }
  return null;
}

/** One made-up cookie value per downstream connection, so concurrent requests on it land together (Envoy's rule). */
const generated = new WeakMap<object, string>();

function generatedCookieValue(connection: object): string {
  let value = generated.get(connection);
  if (value === undefined) {
    value = randomHash().toString(16).padStart(8, '0') + randomHash().toString(16).padStart(8, '0');
    generated.set(connection, value);
  }
  return value;
}
