// The thread that releases the node binary's clean pages while the proxy starts (native/startup_page_releaser.cc):
// one per process, stoppable, bounded in time, and its arguments checked.
import { afterEach, describe, expect, it } from 'vitest';
import { startPageReleaser, stopPageReleaser } from '../../src/native.js';

afterEach(() => {
  stopPageReleaser();
});

describe.skipIf(process.platform !== 'linux')('startPageReleaser', () => {
  it('runs rounds until stopped; a second start while it runs is refused', async () => {
    expect(startPageReleaser(5, 10_000)).toBe(true);
    expect(startPageReleaser(5, 10_000)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(stopPageReleaser()).toBeGreaterThan(1);
    expect(stopPageReleaser()).toBe(0); // nothing runs any more
  });

  it('stops by itself after its limit, and can then be started again', async () => {
    expect(startPageReleaser(5, 30)).toBe(true);
    await new Promise((r) => setTimeout(r, 150));
    expect(startPageReleaser(5, 10_000)).toBe(true); // the first ran out: a new one starts
    expect(startPageReleaser(5, 10_000)).toBe(false); // and runs
  });

  it('rejects a period or limit out of range, and non-numbers', () => {
    expect(() => startPageReleaser(0, 100)).toThrow(RangeError);
    expect(() => startPageReleaser(5, -1)).toThrow(RangeError);
    expect(() => startPageReleaser(5, 600_001)).toThrow(RangeError);
    expect(() => (startPageReleaser as unknown as (a: unknown, b: unknown) => boolean)('5', 100)).toThrow(TypeError);
  });
});
