// MAGLEV: Google's Maglev lookup table (Eisenbud et al., NSDI 2016) as
// Envoy builds it. Each host has a permutation of the table's slots
// (offset = h0 % M, skip = h1 % (M - 1) + 1 from two hashes of "address:port");
// hosts take turns claiming their next free slot until the table is full.
// Weights as in Envoy: a host of weight w claims on iterations where
// iteration * w reaches its running target (advanced by the max weight per
// claim), so claims are proportional to weight. A pick is one table lookup.
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import type { Balancer } from './balancer.js';
import { hashString, randomHash } from './hash32.js';
import { hostHashKey } from './ring-hash-balancer.js';

const EMPTY = 0xffffffff;

export class MaglevBalancer implements Balancer {
  /** Slot -> position in `hosts`. */
  readonly table: Uint32Array;
  readonly tableSize: number;

  constructor(
    private readonly hosts: readonly UpstreamEndpoint[],
    tableSize: number,
  ) {
    // Every permutation covers every slot only when M is prime; the config reader insists, this is the backstop.
    const m = nextPrime(Math.max(tableSize, hosts.length, 2));
    this.tableSize = m;
    const table = new Uint32Array(m).fill(EMPTY);
    const n = hosts.length;
    const position = new Float64Array(n); // the slot each host tries next: offset + skip * next (mod M)
    const skip = new Float64Array(n);
    const weight = new Float64Array(n);
    const target = new Float64Array(n);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      const key = hostHashKey(hosts[i]!);
      position[i] = hashString(key, 0) % m;
      skip[i] = (hashString(key, 1) % (m - 1)) + 1;
      weight[i] = hosts[i]!.weight;
      maxWeight = Math.max(maxWeight, hosts[i]!.weight);
    }
    let filled = 0;
    for (let iteration = 1; filled < m; iteration++) {
      for (let i = 0; i < n && filled < m; i++) {
        if (iteration * weight[i]! < target[i]!) continue;
        target[i]! += maxWeight;
        let c = position[i]!;
        while (table[c] !== EMPTY) c = (c + skip[i]!) % m;
        table[c] = i;
        position[i] = (c + skip[i]!) % m;
        filled++;
      }
    }
    this.table = table;
  }

  pick(hash: number, avoid: Uint8Array | null): UpstreamEndpoint {
    const m = this.tableSize;
    const at = (hash < 0 ? randomHash() : hash) % m;
    const hosts = this.hosts;
    const chosen = hosts[this.table[at]!]!;
    if (avoid === null || avoid[chosen.index] !== 1) return chosen;
    // Table slots are spread over hosts by weight: the next slots give the retry another host in proportion.
    for (let k = 1; k < m; k++) {
      const e = hosts[this.table[(at + k) % m]!]!;
      if (avoid[e.index] !== 1) return e;
    }
    return chosen;
  }
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

function nextPrime(n: number): number {
  let p = n;
  while (!isPrime(p)) p++;
  return p;
}
