// google.protobuf.Duration in its two shapes: the JSON string form ("1.5s",
// "0.250s", "15s") and the object form ({seconds, nanos}) that YAML users
// sometimes copy from proto text. Both become milliseconds.

const DURATION_TEXT = /^(\d+)(?:\.(\d{1,9}))?s$/;

/** Takes "1.5s"-style text; returns milliseconds, or null when the text is not a duration. */
export function parseDurationText(text: string): number | null {
  const m = DURATION_TEXT.exec(text);
  if (m === null) return null;
  const seconds = Number(m[1]);
  const nanos = m[2] === undefined ? 0 : Number(m[2].padEnd(9, '0'));
  return durationFromParts(seconds, nanos);
}

/** Takes whole seconds and nanoseconds (0..999999999); returns milliseconds. */
export function durationFromParts(seconds: number, nanos: number): number {
  return seconds * 1000 + nanos / 1e6;
}

/** Envoy caps durations at 315576000000 s (10000 years); anything larger is a typo. */
export const MAX_DURATION_SECONDS = 315_576_000_000;
