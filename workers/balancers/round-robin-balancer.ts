// ROUND_ROBIN as Envoy runs it: equal weights take turns (O(1)); unequal
// weights go through an earliest-deadline-first schedule (Envoy's
// EdfScheduler): each host's next turn is due 1/weight after its last, a
// binary heap yields the earliest (O(log n) per pick), so picks follow the
// weights closely at any point of the sequence.
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import type { Balancer } from './balancer.js';

export class RoundRobinBalancer implements Balancer {
  private readonly uniform: boolean;
  private next: number;
  // ---- EDF (unequal weights) ----
  /** Heap of host positions ordered by (deadline, order). */
  private readonly heap: Int32Array;
  private readonly deadline: Float64Array;
  /** Each host's period between turns (1/weight), computed once. */
  private readonly period: Float64Array;
  /** Tie-break: when the host was last scheduled, so equal deadlines go first-come first-served. */
  private readonly order: Float64Array;
  private readonly skipped: Int32Array;
  private seq = 0;

  constructor(private readonly hosts: readonly UpstreamEndpoint[]) {
    const n = hosts.length;
    let uniform = true;
    for (const e of hosts) if (e.weight !== hosts[0]!.weight) uniform = false;
    this.uniform = uniform;
    // Envoy starts each worker's round robin at a random host, so workers do not move in step.
    this.next = (Math.random() * n) | 0;
    this.heap = new Int32Array(uniform ? 0 : n);
    this.deadline = new Float64Array(uniform ? 0 : n);
    this.period = new Float64Array(uniform ? 0 : n);
    this.order = new Float64Array(uniform ? 0 : n);
    this.skipped = new Int32Array(uniform ? 0 : n);
    if (!uniform) {
      for (let i = 0; i < n; i++) {
        this.period[i] = 1 / hosts[i]!.weight;
        this.deadline[i] = this.period[i]!;
        this.order[i] = this.seq++;
        this.heap[i] = i;
      }
      for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i, n);
    }
  }

  pick(_hash: number, avoid: Uint8Array | null): UpstreamEndpoint {
    const eps = this.hosts;
    const n = eps.length;
    if (this.uniform) {
      const first = eps[this.next]!;
      for (let tries = 0; tries < n; tries++) {
        const e = eps[this.next]!;
        this.next = this.next + 1 === n ? 0 : this.next + 1;
        if (avoid === null || avoid[e.index] !== 1) return e;
      }
      return first;
    }
    const heap = this.heap;
    let size = n;
    let k = 0;
    // A retry: set avoided hosts aside (their turns keep) to reach the earliest usable one; back in afterwards.
    if (avoid !== null) {
      while (size > 1 && avoid[eps[heap[0]!]!.index] === 1) {
        this.skipped[k++] = heap[0]!;
        heap[0] = heap[--size]!;
        this.siftDown(0, size);
      }
    }
    const top = heap[0]!;
    // Its next turn: one period (1/weight) after this one.
    this.deadline[top] = this.deadline[top]! + this.period[top]!;
    this.order[top] = this.seq++;
    this.siftDown(0, size);
    for (let j = 0; j < k; j++) {
      heap[size] = this.skipped[j]!;
      this.siftUp(size++);
    }
    return eps[top]!;
  }

  private before(a: number, b: number): boolean {
    const da = this.deadline[a]!;
    const db = this.deadline[b]!;
    return da < db || (da === db && this.order[a]! < this.order[b]!);
  }

  private siftDown(i: number, size: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const r = l + 1;
      const c = r < size && this.before(heap[r]!, heap[l]!) ? r : l;
      if (!this.before(heap[c]!, heap[i]!)) return;
      const t = heap[i]!;
      heap[i] = heap[c]!;
      heap[c] = t;
      i = c;
    }
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(heap[i]!, heap[p]!)) return;
      const t = heap[i]!;
      heap[i] = heap[p]!;
      heap[p] = t;
      i = p;
    }
  }
}
