// The open-loop driver of `npm run bench:mixer`'s Node clients (bench/mixer-load-clients.ts): it ends once every
// planned Check has been answered, also when the plan holds none (a rate and duration under one request), and
// within a bounded time when the server stops answering (counted, or an error naming the warm-up).
import { describe, expect, it } from 'vitest';
import { createLatencyHistogram } from '../../bench/latency-histogram.js';
import { ANSWER_WAIT_MS, driveOpenLoop, type Run, type SendCheck } from '../../bench/mixer-load-clients.js';

const answerAtOnce: SendCheck = (_i, done) => setImmediate(() => done(true));

function run(rate: number, seconds: number, maxInFlight = 8): Run {
  return { rate, seconds, maxInFlight, port: 0, dir: '', encoded: () => Buffer.alloc(0), wire: () => ({}) as never };
}

/** The driver's result, or 'hung' when it has not ended within ms. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'hung'> {
  return Promise.race([p, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms))]);
}

describe('driveOpenLoop', () => {
  it('ends with every planned Check answered', async () => {
    const result = await within(driveOpenLoop(run(200, 0.5, 1000), answerAtOnce, createLatencyHistogram()), 10_000); // none left unsent however late the loop
    expect(result).not.toBe('hung');
    expect((result as { line: string }).line).toMatch(/^100 answered, 0 failed, 0 not sent/);
  });

  it('reports the rate it sent at and the Checks it never sent, for the row verdict', async () => {
    const result = await within(driveOpenLoop(run(200, 0.5, 1000), answerAtOnce, createLatencyHistogram()), 10_000);
    expect(result).not.toBe('hung');
    const r = result as { reachedPerSec: number; notSent: number; bursty: boolean };
    // 100 Checks 5 ms apart; a loaded machine sends some late, hence the margin.
    expect(r.reachedPerSec).toBeGreaterThan(150);
    expect(r.reachedPerSec).toBeLessThan(260);
    expect(r.notSent).toBe(0);
    expect(r.bursty).toBe(false);
  });

  it('ends at once when the plan holds no Check (rate x duration under one)', async () => {
    const result = await within(driveOpenLoop(run(0.5, 1), answerAtOnce, createLatencyHistogram()), 5_000);
    expect(result).not.toBe('hung');
    expect((result as { line: string }).line).toMatch(/^0 answered, 0 failed, 0 not sent/);
  });

  it('counts the Checks a server stopped answering and ends, ANSWER_WAIT_MS after the plan', async () => {
    let calls = 0;
    // The 2000 warm-up Checks are answered, none after.
    const stopsAnswering: SendCheck = (_i, done) => {
      if (++calls <= 2000) setImmediate(() => done(true));
    };
    const started = performance.now();
    const result = await within(driveOpenLoop(run(200, 0.5), stopsAnswering, createLatencyHistogram()), 20_000);
    expect(result).not.toBe('hung');
    expect((result as { line: string }).line).toMatch(new RegExp(`^0 answered, 0 failed, 8 unanswered after ${ANSWER_WAIT_MS} ms, 92 not sent`));
    expect(performance.now() - started).toBeGreaterThanOrEqual(ANSWER_WAIT_MS);
  }, 30_000);

  it('fails with a clear error when the warm-up goes unanswered', async () => {
    const never: SendCheck = () => {};
    const result = await within(driveOpenLoop(run(200, 0.5), never, createLatencyHistogram()).then(() => 'ran', (err: Error) => err.message), 20_000);
    expect(result).toBe(`mixer bench: 50 of 50 warm-up Checks unanswered after ${ANSWER_WAIT_MS} ms`);
  }, 30_000);
});
