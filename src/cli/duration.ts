// Durations as operators write them: '5s', '500ms', '1.5s', '2m', '1h';
// a bare number means milliseconds.
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Takes a duration string or number of ms, returns milliseconds or undefined when malformed. */
export function parseDuration(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(raw);
  if (m === null) return undefined;
  const unit = UNIT_MS[m[2] ?? 'ms'] ?? 1;
  return Math.round(Number(m[1]) * unit);
}
