import { describe, expect, it } from 'vitest';
import {
  createLatencyHistogram,
  encodeHistogram,
  mergeEncodedHistograms,
  percentileSpectrum,
  recordLatencyMs,
  spectrumOfEncoded,
  summarizeLatency,
} from '../../bench/latency-histogram.js';

describe('latency histograms', () => {
  it('merging per-thread histograms gives the percentiles of all values together', () => {
    const a = createLatencyHistogram();
    const b = createLatencyHistogram();
    const all = createLatencyHistogram();
    for (let i = 1; i <= 9000; i++) {
      const ms = i / 100; // 0.01 .. 90 ms
      recordLatencyMs(i % 3 === 0 ? b : a, ms);
      recordLatencyMs(all, ms);
    }
    const merged = mergeEncodedHistograms([encodeHistogram(a), encodeHistogram(b)]);
    expect(summarizeLatency(merged)).toEqual(summarizeLatency(all));
    const summary = summarizeLatency(merged);
    expect(summary.count).toBe(9000);
    expect(summary.p50_ms).toBeCloseTo(45, 0);
    expect(summary.p99_ms).toBeCloseTo(89.1, 0);
    expect(summary.max_ms).toBeCloseTo(90, 0);
  });

  it('a single slow sample in another thread still shows as the max', () => {
    const fast = createLatencyHistogram();
    const slow = createLatencyHistogram();
    for (let i = 0; i < 1000; i++) recordLatencyMs(fast, 0.2);
    recordLatencyMs(slow, 2500);
    const summary = summarizeLatency(mergeEncodedHistograms([encodeHistogram(fast), encodeHistogram(slow)]));
    expect(summary.p99_ms).toBeCloseTo(0.2, 2);
    expect(summary.max_ms).toBeGreaterThanOrEqual(2499);
  });

  it('summarizes an empty histogram as zeros', () => {
    expect(summarizeLatency(createLatencyHistogram())).toEqual({ count: 0, p50_ms: 0, p90_ms: 0, p99_ms: 0, p999_ms: 0, max_ms: 0 });
  });

  it('keeps sub-microsecond samples (clamped to 1 µs) in the count', () => {
    const h = createLatencyHistogram();
    recordLatencyMs(h, 0.0001);
    expect(summarizeLatency(h).count).toBe(1);
  });

  it('draws a spectrum from 0 through halvings of the tail to the max, as far as the count resolves', () => {
    const h = createLatencyHistogram();
    for (let i = 1; i <= 1000; i++) recordLatencyMs(h, i / 100); // 0.01 .. 10 ms
    const spectrum = percentileSpectrum(h);
    expect(spectrum[0]).toEqual([0, 0.01]);
    expect(spectrum.at(-1)![0]).toBe(100);
    expect(spectrum.at(-1)![1]).toBeCloseTo(10, 1); // bucket-rounded to 3 significant digits
    const percentiles = spectrum.map(([p]) => p);
    expect(percentiles).toContain(50);
    expect(percentiles).toContain(75);
    expect(percentiles).toContain(99.21875); // 1 - 2^-7
    // 1000 samples resolve the tail to 1/1000: nothing between 99.9 and 100.
    expect(percentiles.filter((p) => p > 99.9 && p < 100)).toEqual([]);
    for (let i = 1; i < spectrum.length; i++) {
      expect(spectrum[i]![0]).toBeGreaterThan(spectrum[i - 1]![0]);
      expect(spectrum[i]![1]).toBeGreaterThanOrEqual(spectrum[i - 1]![1]);
    }
    const median = spectrum.find(([p]) => p === 50)!;
    expect(median[1]).toBeCloseTo(5, 1);
    expect(percentileSpectrum(createLatencyHistogram())).toEqual([]);
  });

  it('merges runs for the spectrum: a stall in one run shows in the tail', () => {
    const quiet = createLatencyHistogram();
    const stalled = createLatencyHistogram();
    for (let i = 0; i < 5000; i++) recordLatencyMs(quiet, 0.3);
    for (let i = 0; i < 4950; i++) recordLatencyMs(stalled, 0.3);
    for (let i = 0; i < 50; i++) recordLatencyMs(stalled, 40);
    const spectrum = spectrumOfEncoded([encodeHistogram(quiet), encodeHistogram(stalled)]);
    const at = (p: number): number => spectrum.filter(([q]) => q <= p).at(-1)![1];
    expect(at(99)).toBeCloseTo(0.3, 2); // 50 of 10000 slow: 0.5% of the values
    expect(at(99.61)).toBeGreaterThanOrEqual(39.9);
    expect(spectrum.at(-1)![1]).toBeGreaterThanOrEqual(39.9);
  });
});
