// The figures of the xds scenario from raw timestamps: for one config change,
// each client's convergence is (its ACK of the first RDS version carrying the
// change) - (the moment the bench made the change); the row reports
// p50/p90/p99/max of those and the time until the last client ACKed. A client
// that never ACKed within the limit counts as missing (and makes "all ACKed"
// unknown) rather than being dropped silently. Repeated changes are reduced to
// their medians, like the proxy scenarios' runs.
import { median } from './result-row.js';

/** One change's convergence over the clients, in ms. */
export interface ChangeConvergence {
  readonly clients: number;
  /** Clients that ACKed the change. */
  readonly acked: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  /** Change to the last client's ACK; NaN when some client never ACKed. */
  readonly all_acked_ms: number;
}

/** Nearest-rank percentile (p in 0..100) of ascending values; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const round3 = (v: number): number => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : NaN);

/**
 * `ackAt[i]` is when client i ACKed the change (same clock as `changeAt`, ms), or NaN when it did not.
 * An ACK stamped before the change (clock skew between threads is below a microsecond, but be safe) counts as 0.
 */
export function convergenceOf(changeAt: number, ackAt: ArrayLike<number>): ChangeConvergence {
  const delays: number[] = [];
  for (let i = 0; i < ackAt.length; i++) {
    const at = ackAt[i]!;
    if (Number.isFinite(at)) delays.push(Math.max(0, at - changeAt));
  }
  const sorted = Float64Array.from(delays).sort();
  const max = sorted.length === 0 ? NaN : sorted[sorted.length - 1]!;
  return {
    clients: ackAt.length,
    acked: sorted.length,
    p50_ms: round3(percentile(sorted, 50)),
    p90_ms: round3(percentile(sorted, 90)),
    p99_ms: round3(percentile(sorted, 99)),
    max_ms: round3(max),
    all_acked_ms: sorted.length === ackAt.length ? round3(max) : NaN,
  };
}

/** Medians of each figure over changes; `acked` is the smallest seen (one bad change must not vanish). */
export function medianOfChanges(changes: readonly ChangeConvergence[]): ChangeConvergence {
  if (changes.length === 0) throw new Error('medianOfChanges: no changes measured');
  const pick = (field: 'p50_ms' | 'p90_ms' | 'p99_ms' | 'max_ms' | 'all_acked_ms'): number => {
    const values = changes.map((c) => c[field]);
    // A change where someone never ACKed has no "all acked": it poisons the median instead of being skipped.
    return values.some((v) => !Number.isFinite(v)) ? NaN : round3(median(values));
  };
  return {
    clients: changes[0]!.clients,
    acked: Math.min(...changes.map((c) => c.acked)),
    p50_ms: pick('p50_ms'),
    p90_ms: pick('p90_ms'),
    p99_ms: pick('p99_ms'),
    max_ms: pick('max_ms'),
    all_acked_ms: pick('all_acked_ms'),
  };
}

/** The marker a change writes into the VirtualService (a request header value), unique per revision. */
export function revisionMarker(revision: number): string {
  return `isthmus-bench-rev-${String(revision).padStart(6, '0')}`;
}

const MARKER_PREFIX = Buffer.from('isthmus-bench-rev-');

/**
 * The highest revision marker inside an encoded RouteConfiguration (the header value is stored as a
 * plain protobuf string, so it appears verbatim in the bytes); 0 when it carries none.
 */
export function findRevision(bytes: Uint8Array): number {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let best = 0;
  let at = buf.indexOf(MARKER_PREFIX);
  for (let guard = 0; at !== -1 && guard < 1000; guard++) {
    const start = at + MARKER_PREFIX.length;
    let value = 0;
    let digits = 0;
    while (digits < 6 && start + digits < buf.length) {
      const c = buf[start + digits]!;
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
      digits++;
    }
    if (digits === 6 && value > best) best = value;
    at = buf.indexOf(MARKER_PREFIX, start);
  }
  return best;
}
