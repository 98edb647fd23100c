// What every picker implements, and the helpers they share. A balancer is
// built over the usable hosts of one priority level (rebuilt when health
// changes) and picks without allocating. `avoid` marks endpoints (by
// UpstreamEndpoint.index) a retry should not land on again; a picker skips
// them when any other host exists and otherwise ignores them.
import type { UpstreamEndpoint } from '../upstream-endpoint.js';

/** The request has no hash (no hash_policy, or none of its parts was present). */
export const NO_HASH = -1;

export interface Balancer {
  /** One of the level's hosts (there is at least one). `hash`: the request's 32-bit hash or NO_HASH. */
  pick(hash: number, avoid: Uint8Array | null): UpstreamEndpoint;
}

/** A uniformly random host not in `avoid` (a few draws, then a scan from a random start); any host when all are avoided. */
export function randomUsable(hosts: readonly UpstreamEndpoint[], avoid: Uint8Array | null): UpstreamEndpoint {
  const n = hosts.length;
  const first = hosts[(Math.random() * n) | 0]!;
  if (avoid === null || avoid[first.index] !== 1) return first;
  for (let tries = 0; tries < 3; tries++) {
    const e = hosts[(Math.random() * n) | 0]!;
    if (avoid[e.index] !== 1) return e;
  }
  const start = (Math.random() * n) | 0;
  for (let k = 0; k < n; k++) {
    const e = hosts[(start + k) % n]!;
    if (avoid[e.index] !== 1) return e;
  }
  return first;
}

/** A second random host different from `a` (by position) when n > 1, for power-of-two-choices. */
export function otherRandom(hosts: readonly UpstreamEndpoint[], a: UpstreamEndpoint, avoid: Uint8Array | null): UpstreamEndpoint {
  const n = hosts.length;
  if (n === 1) return a;
  for (let tries = 0; tries < 4; tries++) {
    const b = hosts[(Math.random() * n) | 0]!;
    if (b !== a && (avoid === null || avoid[b.index] !== 1)) return b;
  }
  const start = (Math.random() * n) | 0;
  for (let k = 0; k < n; k++) {
    const b = hosts[(start + k) % n]!;
    if (b !== a && (avoid === null || avoid[b.index] !== 1)) return b;
  }
  return a;
}
