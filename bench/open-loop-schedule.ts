// The open-loop (constant rate) plan: request i is due at start + i / rate,
// whether or not earlier requests have been answered. Latency is taken from
// that intended time, not from when a free connection finally sent it, so a
// stall delays and is charged to every request planned behind it (no
// coordinated omission, as wrk2 measures).

export class OpenLoopSchedule {
  readonly startMs: number;
  readonly intervalMs: number;
  /** Total requests planned (bounded by duration and the request cap). */
  readonly total: number;

  /** startMs: time of request 0 (performance.now() clock); ratePerSec > 0; spanMs: how long the plan runs. */
  constructor(startMs: number, ratePerSec: number, spanMs: number, maxRequests = Number.MAX_SAFE_INTEGER) {
    if (!(ratePerSec > 0)) throw new Error(`rate must be > 0 req/s, got ${ratePerSec}`);
    this.startMs = startMs;
    this.intervalMs = 1000 / ratePerSec;
    this.total = Math.min(maxRequests, Math.floor((spanMs * ratePerSec) / 1000));
  }

  /** When request i should be sent. */
  intendedAt(i: number): number {
    return this.startMs + i * this.intervalMs;
  }

  /** How many requests are due by nowMs (indices 0 .. result-1). */
  dueBy(nowMs: number): number {
    if (nowMs < this.startMs) return 0;
    return Math.min(this.total, Math.floor((nowMs - this.startMs) / this.intervalMs) + 1);
  }
}

/** Latency of a request as an open-loop client must report it: from the intended send time, not the actual one. */
export function openLoopLatencyMs(intendedMs: number, completedMs: number): number {
  return completedMs - intendedMs;
}
