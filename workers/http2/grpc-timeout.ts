// The grpc-timeout request header (gRPC over HTTP/2 spec): up to 8 digits and
// a unit, H M S m u n.

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** takes the header value (or undefined); returns milliseconds (at least 1 for a non-zero value), or -1 when absent or malformed. */
export function parseGrpcTimeout(value: string | undefined): number {
  if (value === undefined || value.length < 2 || value.length > 9) return -1;
  const unit = UNIT_MS[value[value.length - 1]!];
  const digits = value.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return -1;
  const ms = Number(digits) * unit;
  // A zero timeout would read as "none" to the route timer: an expired deadline stays a deadline.
  return Math.max(1, Math.ceil(ms));
}

/** The largest TimeoutValue the spec allows (8 digits). */
const MAX_TIMEOUT_VALUE = 99_999_999;

/** takes a timeout in ms; returns a grpc-timeout value (8 digits at most: a longer one goes in a coarser unit, rounded up). */
export function formatGrpcTimeout(ms: number): string {
  const m = Math.max(1, Math.ceil(ms));
  if (m <= MAX_TIMEOUT_VALUE) return m + 'm';
  const s = Math.ceil(m / 1000);
  if (s <= MAX_TIMEOUT_VALUE) return s + 'S';
  const min = Math.ceil(s / 60);
  if (min <= MAX_TIMEOUT_VALUE) return min + 'M';
  return Math.min(MAX_TIMEOUT_VALUE, Math.ceil(min / 60)) + 'H';
}
