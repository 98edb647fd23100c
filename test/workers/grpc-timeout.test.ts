// The grpc-timeout header as the router reads it (gRPC over HTTP/2: up to 8 digits and a unit).
import { describe, expect, it } from 'vitest';
import { formatGrpcTimeout, parseGrpcTimeout } from '../../workers/http2/grpc-timeout.js';

describe('parseGrpcTimeout', () => {
  it('reads every unit, rounding up to whole milliseconds', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('5S')).toBe(5000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(2);
    expect(parseGrpcTimeout('1n')).toBe(1);
    expect(parseGrpcTimeout('0m')).toBe(1); // an expired deadline stays a deadline, never "no timeout"
  });

  it('refuses what the spec does not allow', () => {
    for (const bad of [undefined, '', 'S', '123456789S', '10s', '-1S', '1.5S', ' 1S']) expect(parseGrpcTimeout(bad)).toBe(-1);
  });
});

describe('formatGrpcTimeout', () => {
  it('writes at most 8 digits, in a coarser unit when needed, never shorter than asked', () => {
    for (const ms of [0, 0.2, 1, 250, 99_999_999, 100_000_000, 30 * 24 * 3600 * 1000, 315_576_000_000_000]) {
      const text = formatGrpcTimeout(ms);
      expect(text.length).toBeLessThanOrEqual(9);
      expect(parseGrpcTimeout(text)).toBeGreaterThanOrEqual(Math.min(ms, 99_999_999 * 3_600_000));
    }
    expect(formatGrpcTimeout(250)).toBe('250m');
    expect(formatGrpcTimeout(100_000_000)).toBe('100000S');
  });
});
