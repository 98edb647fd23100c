// The open-loop driver of `npm run bench:mixer`'s Node clients (bench/mixer-load-clients.ts): it ends once every
// planned Check has been answered, also when the plan holds none (a rate and duration under one request).
import { describe, expect, it } from 'vitest';
import { createLatencyHistogram } from '../../bench/latency-histogram.js';
import { driveOpenLoop, type Run, type SendCheck } from '../../bench/mixer-load-clients.js';

const answerAtOnce: SendCheck = (_i, done) => setImmediate(() => done(true));

function run(rate: number, seconds: number): Run {
  return { rate, seconds, maxInFlight: 8, port: 0, dir: '', encoded: () => Buffer.alloc(0), wire: () => ({}) as never };
}

/** The driver's result, or 'hung' when it has not ended within ms. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'hung'> {
  return Promise.race([p, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms))]);
}

describe('driveOpenLoop', () => {
  it('ends with every planned Check answered', async () => {
    const result = await within(driveOpenLoop(run(200, 0.5), answerAtOnce, createLatencyHistogram()), 10_000);
    expect(result).not.toBe('hung');
    expect((result as { line: string }).line).toMatch(/^100 answered, 0 failed, 0 not sent/);
  });

  it('ends at once when the plan holds no Check (rate x duration under one)', async () => {
    const result = await within(driveOpenLoop(run(0.5, 1), answerAtOnce, createLatencyHistogram()), 5_000);
    expect(result).not.toBe('hung');
    expect((result as { line: string }).line).toMatch(/^0 answered, 0 failed, 0 not sent/);
  });
});
