// The proxy-wide connection count behind --max-connections, shared by workers.
import { describe, expect, it } from 'vitest';
import { ConnectionLimit, createConnectionCounts } from '../../workers/connection-limit.js';

describe('ConnectionLimit', () => {
  it('lets all workers together hold at most max connections', () => {
    const counts = createConnectionCounts(2);
    const a = new ConnectionLimit(counts, 0, 3);
    const b = new ConnectionLimit(counts, 1, 3);
    expect([a.tryAcquire(), b.tryAcquire(), a.tryAcquire()]).toEqual([true, true, true]);
    expect(b.tryAcquire()).toBe(false);
    expect(a.open).toBe(3);
    b.release();
    expect(b.tryAcquire()).toBe(true);
    expect(a.tryAcquire()).toBe(false);
  });

  it('counts without limit when max is 0', () => {
    const limit = new ConnectionLimit(createConnectionCounts(1), 0, 0);
    for (let i = 0; i < 1000; i++) expect(limit.tryAcquire()).toBe(true);
    expect(limit.open).toBe(1000);
  });

  it('gives back what a crashed worker held when its replacement starts', () => {
    const counts = createConnectionCounts(2);
    const crashed = new ConnectionLimit(counts, 1, 2);
    expect([crashed.tryAcquire(), crashed.tryAcquire()]).toEqual([true, true]);
    const other = new ConnectionLimit(counts, 0, 2);
    expect(other.tryAcquire()).toBe(false);
    const replacement = new ConnectionLimit(counts, 1, 2);
    expect(replacement.open).toBe(0);
    expect(other.tryAcquire()).toBe(true);
  });
});
