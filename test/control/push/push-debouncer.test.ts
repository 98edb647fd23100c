import { describe, expect, it } from 'vitest';
import { PushDebouncer, type PendingChanges, type Timers } from '../../../control/push/push-debouncer.js';

/** A manual clock: the one fake the rules allow (a clock in a unit test). */
class FakeTimers implements Timers {
  time = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  private seq = 0;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = [...this.pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (next === undefined) break;
      this.pending.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}

function setup(quietMs = 100, maxDelayMs = 1000) {
  const timers = new FakeTimers();
  const pushes: (PendingChanges<string> & { at: number })[] = [];
  const d = new PushDebouncer<string>({ quietMs, maxDelayMs }, (c) => pushes.push({ ...c, at: timers.now() }), timers);
  return { timers, pushes, d };
}

describe('PushDebouncer', () => {
  it('pushes once, after the quiet time, with every key of a burst', () => {
    const { timers, pushes, d } = setup();
    d.changed(['a']);
    timers.advance(50);
    d.changed(['b', 'a']);
    timers.advance(99);
    expect(pushes).toHaveLength(0);
    timers.advance(1);
    expect(pushes).toHaveLength(1);
    expect([...pushes[0]!.keys].sort()).toEqual(['a', 'b']);
    expect(pushes[0]!.merged).toBe(2);
    expect(pushes[0]!.firstChangeAt).toBe(0);
    expect(pushes[0]!.at).toBe(150);
  });

  it('never waits longer than the max delay under a steady trickle', () => {
    const { timers, pushes, d } = setup(100, 1000);
    for (let t = 0; t < 1500; t += 50) {
      d.changed([`k${t}`]);
      timers.advance(50);
    }
    expect(pushes[0]!.at).toBe(1000);
    expect(pushes[0]!.keys.size).toBe(20);
  });

  it('starts a new burst after a push', () => {
    const { timers, pushes, d } = setup();
    d.changed(['a']);
    timers.advance(200);
    d.changed(['b']);
    timers.advance(200);
    expect(pushes.map((p) => [...p.keys])).toEqual([['a'], ['b']]);
    expect(pushes[1]!.firstChangeAt).toBe(200);
  });

  it('flushes on demand and ignores changes after stop', () => {
    const { timers, pushes, d } = setup();
    d.changed(['a']);
    d.flush();
    expect(pushes).toHaveLength(1);
    d.flush();
    expect(pushes).toHaveLength(1);
    d.stop();
    d.changed(['b']);
    timers.advance(5000);
    expect(pushes).toHaveLength(1);
  });

  it('refuses a max delay shorter than the quiet time', () => {
    expect(() => new PushDebouncer({ quietMs: 100, maxDelayMs: 50 }, () => {})).toThrow(/quietMs/);
  });
});
