// timestamp("...") and duration("...") literals: RFC 3339 and Go's duration syntax, to milliseconds.
import { describe, expect, it } from 'vitest';
import { parseDuration, parseTimestamp } from '../../src/policy/time-literals.js';

describe('parseTimestamp', () => {
  it('reads RFC 3339 with a zone, and refuses what is not one', () => {
    expect(parseTimestamp('2015-01-02T15:04:35Z')).toBe(Date.UTC(2015, 0, 2, 15, 4, 35));
    expect(parseTimestamp('2015-01-02T15:04:35.250+01:00')).toBe(Date.UTC(2015, 0, 2, 14, 4, 35, 250));
    for (const bad of ['2015-01-02', '2015-01-02T15:04:35', '2015-13-02T15:04:35Z', 'yesterday', '2015-01-02T25:00:00Z']) expect(parseTimestamp(bad), bad).toBeNull();
  });
});

describe('parseDuration', () => {
  it("reads Go's durations", () => {
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1500us')).toBe(1.5);
    expect(parseDuration('-2m')).toBe(-120_000);
    expect(parseDuration('0')).toBe(0);
    for (const bad of ['', '5', '5 minutes', '1d', 's', '1s2']) expect(parseDuration(bad), bad).toBeNull();
  });
});
