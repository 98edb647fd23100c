// Per-endpoint response latency for PEAK_EWMA, kept per cluster (so it
// survives host-set rebuilds) and indexed by UpstreamEndpoint.index.
// Linkerd's peak-sensitive EWMA: a slower sample replaces the estimate at
// once (the peak), faster samples pull it down with a weight that grows with
// the time since the last sample (exp(-elapsed / decay)), and without samples
// the estimate decays towards zero, so an idle endpoint is tried again.
//
// Picks compare two endpoints without reading the clock: both estimates
// decay by the same factor from "now", so rtt_a e^-(now-t_a)/d against
// rtt_b e^-(now-t_b)/d is ln(rtt_a) + t_a/d against ln(rtt_b) + t_b/d, a
// score fixed when the sample is recorded.

/** Linkerd's default RTT for an endpoint before any sample, in ms; used only before the cluster has any sample at all. */
export const DEFAULT_RTT_MS = 30;
/** Failed attempts count as at least this many times the cluster's typical latency, so failing fast does not attract traffic. */
const FAILURE_PENALTY = 4;
/** Samples below this (ms) count as this: keeps the log finite. */
const MIN_SAMPLE_MS = 0.001;

export class LatencyTable {
  /** Estimate in ms as of `at[i]`; NaN before the first sample. */
  private readonly rtt: Float64Array;
  private readonly at: Float64Array;
  /** ln(rtt) + at / decay: the decay-free score picks compare (NaN before the first sample). */
  private readonly score: Float64Array;
  /** An EWMA over every sample of the cluster: what an endpoint with no samples yet is assumed to cost (neutral, neither favoured nor shunned). */
  private neutral = DEFAULT_RTT_MS;
  private neutralAt = 0;
  private neutralScore = Math.log(DEFAULT_RTT_MS);
  private sampled = false;

  constructor(
    size: number,
    private readonly decayMs: number,
  ) {
    this.rtt = new Float64Array(size).fill(Number.NaN);
    this.at = new Float64Array(size);
    this.score = new Float64Array(size).fill(Number.NaN);
  }

  /** The estimate for endpoint `i` at time `now` (performance.now() ms), decayed since its last sample. */
  estimate(i: number, now: number): number {
    const rtt = this.rtt[i]!;
    const measured = rtt === rtt;
    const value = measured ? rtt : this.neutral;
    const elapsed = now - (measured ? this.at[i]! : this.neutralAt);
    return elapsed <= 0 || (!measured && !this.sampled) ? value : value * Math.exp(-elapsed / this.decayMs);
  }

  /** ln of endpoint i's estimate at any common "now", plus a constant shared by all: only differences mean anything. */
  logScore(i: number): number {
    const s = this.score[i]!;
    return s === s ? s : this.neutralScore;
  }

  /** One finished attempt: `ms` from its start to its end; `ok` false for a failure (reset, error status, timeout). */
  record(i: number, ms: number, ok: boolean, now: number): void {
    const sample = Math.max(ok ? ms : Math.max(ms, this.neutral * FAILURE_PENALTY), MIN_SAMPLE_MS);
    const rtt = this.rtt[i]!;
    let next: number;
    if (rtt !== rtt || sample > rtt) {
      next = sample; // first sample, or a peak: take it at once
    } else {
      const w = Math.exp(-Math.max(now - this.at[i]!, 0) / this.decayMs);
      next = rtt * w + sample * (1 - w);
    }
    this.rtt[i] = next;
    this.at[i] = now;
    this.score[i] = Math.log(next) + now / this.decayMs;
    if (!this.sampled) {
      this.neutral = sample;
      this.sampled = true;
    } else {
      const w = Math.exp(-Math.max(now - this.neutralAt, 0) / this.decayMs);
      this.neutral = this.neutral * w + sample * (1 - w);
    }
    this.neutralAt = now;
    this.neutralScore = Math.log(this.neutral) + now / this.decayMs;
  }
}
