import { describe, expect, it } from 'vitest';
import {
  createLatencyHistogram,
  encodeHistogram,
  mergeEncodedHistograms,
  recordLatencyMs,
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
});
