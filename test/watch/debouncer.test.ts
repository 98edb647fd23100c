// The debouncer with a fake clock: a burst runs once after the quiet time;
// events without pause still run at the max wait after the first event.
import { describe, expect, it } from 'vitest';
import { Debouncer, type DebounceTimers } from '../../src/watch/debouncer.js';

class FakeTimers implements DebounceTimers {
  time = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now = () => this.time;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown) => {
    this.timers.delete(handle as number);
  };
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
    }
    this.time = end;
  }
}

describe('Debouncer', () => {
  it('runs once per burst, after the quiet time', () => {
    const timers = new FakeTimers();
    const runs: number[] = [];
    const d = new Debouncer({ quietMs: 100, maxWaitMs: 1000 }, () => runs.push(timers.time), timers);
    for (let i = 0; i < 5; i++) {
      d.event();
      timers.advance(20);
    }
    expect(d.pending).toBe(true);
    timers.advance(500);
    expect(runs).toEqual([180]);
    expect(d.pending).toBe(false);
  });

  it('runs at the max wait while events never stop, then again after the storm', () => {
    const timers = new FakeTimers();
    const runs: number[] = [];
    const d = new Debouncer({ quietMs: 100, maxWaitMs: 1000 }, () => runs.push(timers.time), timers);
    for (let t = 0; t < 3000; t += 50) {
      d.event();
      timers.advance(50);
    }
    timers.advance(1000);
    expect(runs).toEqual([1000, 2000, 3000]);
  });

  it('ignores events after stop, and refuses a max wait below the quiet time', () => {
    const timers = new FakeTimers();
    let runs = 0;
    const d = new Debouncer({ quietMs: 100, maxWaitMs: 1000 }, () => runs++, timers);
    d.event();
    d.stop();
    d.event();
    timers.advance(2000);
    expect(runs).toBe(0);
    expect(() => new Debouncer({ quietMs: 100, maxWaitMs: 50 }, () => undefined)).toThrow(RangeError);
  });
});
