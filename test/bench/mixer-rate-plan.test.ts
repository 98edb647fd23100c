// `npm run bench:mixer`'s open-loop h2load plan (h2load-spread), the rate a
// client reached, the verdict that keeps a client's limit or a burst artefact
// from being read as the control plane's figure, and --pin's refusal text.
import { describe, expect, it } from 'vitest';
import { reachedRate, rowVerdict, spreadPlan, type RowFacts } from '../../bench/mixer-rate-plan.js';
import { pinProcesses, pinText } from '../../bench/cpu-pinning.js';
import { runBenchScript } from './run-script.js';

describe('spreadPlan', () => {
  it('splits 5000/s over 50 clients at 100/s each (one Check per 10 ms tick), 5 connections a ms', () => {
    expect(spreadPlan(5000, 10)).toEqual({ clients: 50, rpsPerClient: 100, requests: 50_000, connectionsPerMs: 5 });
  });

  it('keeps every client at or under 100/s, and asks for the whole run', () => {
    for (const rate of [1, 99, 100, 101, 1000, 3333, 5000, 12_345]) {
      const p = spreadPlan(rate, 10);
      expect(p.rpsPerClient).toBeLessThanOrEqual(100);
      expect(p.clients * p.rpsPerClient).toBeCloseTo(rate, 6);
      expect(Math.abs(p.requests - rate * 10)).toBeLessThanOrEqual(p.clients);
    }
  });

  it('opens one connection a ms when the clients are fewer than a tick has ms (1000/s: 10 clients over 10 ms)', () => {
    expect(spreadPlan(1000, 2)).toEqual({ clients: 10, rpsPerClient: 100, requests: 2000, connectionsPerMs: 1 });
  });

  it('refuses a rate or duration that is not positive', () => {
    expect(() => spreadPlan(0, 10)).toThrow('h2load-spread: rate and duration must be > 0 (got 0/s, 10 s)');
    expect(() => spreadPlan(10, -1)).toThrow('must be > 0');
  });
});

describe('reachedRate', () => {
  it('counts n sends over n - 1 intervals, in any order', () => {
    expect(reachedRate([2000, 0, 1000])).toBe(1000);
    expect(reachedRate(Array.from({ length: 5001 }, (_, i) => i * 200))).toBe(5000);
  });

  it('gives the count for fewer than two sends', () => {
    expect(reachedRate([])).toBe(0);
    expect(reachedRate([5])).toBe(1);
  });
});

describe('rowVerdict', () => {
  const row = (over: Partial<RowFacts>): RowFacts => ({ client: 'h2load-spread', askedPerSec: 5000, reachedPerSec: 4990, p99Ms: 0.6, meanMs: 0.3, notSent: 0, bursty: false, connections: 50, maxInFlight: 64, serverWaitShare: 0, ...over });

  it('gives the goal only for a row that reached the rate with no bursts and nothing unsent', () => {
    expect(rowVerdict(row({}))).toBe('goal met (p99 < 1 ms) at 4990/s reached of 5000/s asked');
    expect(rowVerdict(row({ p99Ms: 1.2 }))).toBe('goal not met (p99 >= 1 ms) at 4990/s reached of 5000/s asked');
  });

  it('says so when the server waited for a CPU for 5% of the run or more', () => {
    expect(rowVerdict(row({ p99Ms: 2455, serverWaitShare: 0.8 }))).toBe('goal not met (p99 >= 1 ms) at 4990/s reached of 5000/s asked; the server waited 80% of the run for a CPU: a busy machine\'s figure');
    expect(rowVerdict(row({ serverWaitShare: 0.049 }))).toBe('goal met (p99 < 1 ms) at 4990/s reached of 5000/s asked');
  });

  it('names the client as the limit when it sent under 95% of the asked rate, however good its p99', () => {
    expect(rowVerdict(row({ client: 'h2load-paced', reachedPerSec: 3072, p99Ms: 0.505 }))).toBe('NOT THE FIGURE at 5000/s: limited by the client (h2load-paced), which sent 3072/s of 5000/s asked');
    expect(rowVerdict(row({ reachedPerSec: NaN }))).toMatch(/sent an unknown rate of 5000\/s asked/);
  });

  it('says a client whose in-flight bound was full (answers too slow) was not limited by its pacing', () => {
    // 50 connections at 100/s each with answers taking 941 ms on average hold 94 streams each: over the bound of 64.
    expect(rowVerdict(row({ reachedPerSec: 1795, p99Ms: 14671, meanMs: 941 }))).toBe('NOT THE FIGURE at 5000/s: the client (h2load-spread) sent 1795/s of 5000/s asked because answers were too slow (mean 941.0 ms as it measured them) for its 64 streams in flight per connection: the server-side time and the run-queue waits above say whose time that was');
    // One connection at 5000/s: 64 streams fill at a mean of 12.8 ms (Little's law; the p99 does not count).
    expect(rowVerdict(row({ client: 'h2load-paced', connections: 1, reachedPerSec: 822, p99Ms: 100, meanMs: 12.8 }))).toMatch(/answers were too slow/);
    expect(rowVerdict(row({ client: 'h2load-paced', connections: 1, reachedPerSec: 822, p99Ms: 100, meanMs: 12.7 }))).toMatch(/limited by the client \(h2load-paced\)/);
  });

  it('names the in-flight bound when the client skipped Checks', () => {
    expect(rowVerdict(row({ client: 'proxy', notSent: 977 }))).toBe('NOT THE FIGURE at 5000/s: the client (proxy) did not send 977 planned Checks, its 64 in flight all waiting (its own event loop or slow answers: the client lateness, server-side time and run-queue waits above say which)');
    // Even when the rate it reached looks right.
    expect(rowVerdict(row({ client: 'proxy', notSent: 1, reachedPerSec: 5000 }))).toMatch(/did not send 1 planned Checks/);
  });

  it('never gives a bursty row as the figure, even when fast enough', () => {
    expect(rowVerdict(row({ client: 'h2load', bursty: true, p99Ms: 0.2 }))).toMatch(/^NOT THE FIGURE: bursts \(h2load --rps from one client submits ~50 Checks every 10 ms/);
  });
});

describe('--pin', () => {
  it('refuses on one CPU and says so', () => {
    const p = pinProcesses(process.pid, process.pid, 1);
    expect(p).toEqual({ refused: '--pin needs 2 CPUs, this machine has 1' });
    expect(pinText(p)).toBe('not pinned: --pin needs 2 CPUs, this machine has 1');
    expect(pinText(null)).toMatch(/^not pinned \(--pin/);
  });
});

describe('bench:mixer --client', () => {
  it('lists h2load-spread among the clients it takes', async () => {
    const r = await runBenchScript('mixer-check', ['--client', 'nope']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--client: unknown client 'nope' (one or more of proxy, proxy-grpc-js, grpc-js, h2load, h2load-paced, h2load-spread");
  });
});
