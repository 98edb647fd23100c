// RING_HASH: Envoy's ketama-style consistent hash ring. Each host gets ring
// points hashed from "address:port_i", weight x (points per unit of weight),
// so the least-weighted host gets a whole number and the ring holds at least
// minimum_ring_size points. A request lands on the first point at or after
// its hash (binary search over a sorted Uint32Array). One departure from
// Envoy: the points per unit of weight are rounded up to a power of two, so
// a host joining or leaving (a reload, an ejection) mostly leaves the other
// hosts' points as they were and moves about 1/N of keys; Envoy's exact
// count re-sizes every host and moves ~1.5-1.8x that (measured: 29% for one
// of 5). Above maximum_ring_size the ring is capped with Envoy's running-sum
// fill. The count comes from the level's configured hosts, so an ejection or a
// failed health check changes no other host's points at all.
// Deterministic: every worker builds the same ring from the same hosts.
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import type { Balancer } from './balancer.js';
import { hashString, randomHash } from './hash32.js';

/** Hosts per ring must fit beside the 32-bit hash in a float64's 53 exact bits while sorting. */
const HOST_BITS = 21;
const HOST_SCALE = 2 ** HOST_BITS;

export interface RingHashOptions {
  readonly minRingSize: number;
  readonly maxRingSize: number;
}

/** Ring points per unit of weight for a level whose configured hosts (healthy or not) weigh `totalWeight`. */
export function pointsPerWeight(minRingSize: number, totalWeight: number): number {
  return 2 ** Math.max(0, Math.ceil(Math.log2(minRingSize / totalWeight)));
}

/** The key a host's ring points are hashed from, as Envoy's (address:port). */
export function hostHashKey(e: UpstreamEndpoint): string {
  return e.hostPort;
}

export class RingHashBalancer implements Balancer {
  /** Point hashes, ascending. */
  readonly ring: Uint32Array;
  /** ringHosts[i]: position in `hosts` of the host owning point i. */
  private readonly ringHosts: Uint32Array;

  constructor(
    private readonly hosts: readonly UpstreamEndpoint[],
    options: RingHashOptions,
    /** The weight of all the level's configured hosts, healthy or not (default: these hosts): health changes then leave the size alone. */
    sizingWeight?: number,
  ) {
    if (hosts.length >= HOST_SCALE) throw new Error(`ring hash: at most ${HOST_SCALE - 1} hosts per priority`);
    let totalWeight = 0;
    for (const h of hosts) totalWeight += h.weight;
    const perUnit = pointsPerWeight(options.minRingSize, sizingWeight ?? totalWeight);
    // scale = ring points per unit of normalized weight: the whole ring.
    const scale = Math.min(perUnit * totalWeight, options.maxRingSize);
    const size = Math.ceil(scale);
    const packed = new Float64Array(size);
    let count = 0;
    let current = 0;
    let target = 0;
    for (let hi = 0; hi < hosts.length; hi++) {
      const key = hostHashKey(hosts[hi]!) + '_';
      target += (scale * hosts[hi]!.weight) / totalWeight;
      for (let i = 0; current < target && count < size; i++, current++) {
        packed[count++] = hashString(key + i) * HOST_SCALE + hi;
      }
    }
    const filled = packed.subarray(0, count).sort();
    this.ring = new Uint32Array(count);
    this.ringHosts = new Uint32Array(count);
    for (let i = 0; i < count; i++) {
      const v = filled[i]!;
      const hash = Math.floor(v / HOST_SCALE);
      this.ring[i] = hash;
      this.ringHosts[i] = v - hash * HOST_SCALE;
    }
  }

  pick(hash: number, avoid: Uint8Array | null): UpstreamEndpoint {
    const ring = this.ring;
    const n = ring.length;
    const h = hash < 0 ? randomHash() : hash;
    // First point >= h, wrapping to the start.
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const at = lo === n ? 0 : lo;
    const hosts = this.hosts;
    const chosen = hosts[this.ringHosts[at]!]!;
    if (avoid === null || avoid[chosen.index] !== 1) return chosen;
    // A retry avoiding hosts walks on to the next point of a usable host: the key's next owner on the ring.
    for (let k = 1; k < n; k++) {
      const e = hosts[this.ringHosts[(at + k) % n]!]!;
      if (avoid[e.index] !== 1) return e;
    }
    return chosen;
  }
}
