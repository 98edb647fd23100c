// Latency histograms: recorded per load thread in microseconds, shipped to the
// main thread in HdrHistogram's compressed encoding and merged there, so the
// merged percentiles are exact to 3 significant digits whatever the thread count.
import * as hdr from 'hdr-histogram-js';

export type Histogram = ReturnType<typeof hdr.build>;

/** Percentiles in milliseconds, as reported. */
export interface LatencySummary {
  readonly count: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly max_ms: number;
}

/** A histogram for microsecond values from 1 µs up (it grows as needed), 3 significant digits. */
export function createLatencyHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

/** Records one latency given in milliseconds (fractional). */
export function recordLatencyMs(histogram: Histogram, ms: number): void {
  // Below 1 µs is below what a loopback round trip can take; clamp so it is still counted.
  const us = Math.round(ms * 1000);
  histogram.recordValue(us < 1 ? 1 : us);
}

/** Takes a histogram; returns its compressed base64 form (cheap to post between threads). */
export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Takes encoded histograms from several threads; returns one histogram holding every value. */
export function mergeEncodedHistograms(encoded: readonly string[]): Histogram {
  const merged = createLatencyHistogram();
  for (const text of encoded) {
    const part = hdr.decodeFromCompressedBase64(text);
    merged.add(part);
    part.destroy();
  }
  return merged;
}

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/** Takes a histogram of microseconds; returns percentiles in ms (0 when empty). */
export function summarizeLatency(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0) return { count: 0, p50_ms: 0, p90_ms: 0, p99_ms: 0, p999_ms: 0, max_ms: 0 };
  const at = (p: number): number => round3(histogram.getValueAtPercentile(p) / 1000);
  return {
    count: histogram.totalCount,
    p50_ms: at(50),
    p90_ms: at(90),
    p99_ms: at(99),
    p999_ms: at(99.9),
    // Percentile 100 (not maxValue): the same bucket-rounded figure before and after a merge.
    max_ms: at(100),
  };
}

/** One point of a latency spectrum: [percentile 0..100, latency ms]. */
export type SpectrumPoint = readonly [number, number];

/**
 * Takes a histogram of microseconds; returns its percentile spectrum as HdrHistogram's plotter draws it:
 * percentiles that halve the remaining distance to 100 (`ticksPerHalf` points per halving: 0, 50, 75,
 * 87.5, ... 99.9...), as far as the sample count resolves, then 100 (the max).
 */
export function percentileSpectrum(histogram: Histogram, ticksPerHalf = 4): SpectrumPoint[] {
  const count = histogram.totalCount;
  if (count === 0) return [];
  const points: SpectrumPoint[] = [];
  for (let k = 0; ; k++) {
    const remaining = 0.5 ** (k / ticksPerHalf);
    // Beyond 1/count of the tail every point is the max: stop there.
    if (remaining * count < 1) break;
    const p = 100 * (1 - remaining);
    points.push([Math.round(p * 1e6) / 1e6, round3(histogram.getValueAtPercentile(p) / 1000)]);
  }
  points.push([100, round3(histogram.getValueAtPercentile(100) / 1000)]);
  return points;
}

/** Takes encoded histograms (e.g. one per run); returns the spectrum of all their values together. */
export function spectrumOfEncoded(encoded: readonly string[]): SpectrumPoint[] {
  const merged = mergeEncodedHistograms(encoded);
  try {
    return percentileSpectrum(merged);
  } finally {
    merged.destroy();
  }
}
