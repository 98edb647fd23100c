// Real load against a real node:http server in this process (the load runs in worker threads).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRequest, runLoad, splitEvenly } from '../../bench/load-generator.js';
import { OpenLoopSchedule, openLoopLatencyMs } from '../../bench/open-loop-schedule.js';

const body = Buffer.alloc(1024, 'b');
let server: Server | null = null;

/** Starts a server on 127.0.0.1:0; `stallAt` (1-based request number) is answered after stallMs. */
async function startServer(options: { stallAt?: number; stallMs?: number; status?: number } = {}): Promise<number> {
  let count = 0;
  server = createServer((_req, res) => {
    count++;
    const answer = (): void => {
      res.writeHead(options.status ?? 200, { 'content-length': body.length });
      res.end(body);
    };
    if (count === options.stallAt) setTimeout(answer, options.stallMs ?? 0);
    else answer();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

afterEach(async () => {
  if (server !== null) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = null;
  }
});

describe('OpenLoopSchedule', () => {
  it('plans requests at fixed intervals from the start, bounded by span and cap', () => {
    const s = new OpenLoopSchedule(1000, 1000, 2000);
    expect(s.total).toBe(2000);
    expect(s.intendedAt(0)).toBe(1000);
    expect(s.intendedAt(10)).toBe(1010);
    expect(s.dueBy(999)).toBe(0);
    expect(s.dueBy(1000)).toBe(1);
    expect(s.dueBy(1010.5)).toBe(11);
    expect(s.dueBy(1e9)).toBe(2000);
    expect(new OpenLoopSchedule(0, 1000, 2000, 50).total).toBe(50);
    expect(() => new OpenLoopSchedule(0, 0, 1000)).toThrow(/rate/);
  });

  it('charges latency from the intended time, so waiting for a connection counts', () => {
    // Intended at 100 ms, sent late at 180 ms (connection busy), answered at 181 ms: 81 ms, not 1 ms.
    expect(openLoopLatencyMs(100, 181)).toBe(81);
  });
});

describe('runLoad', () => {
  it('splits connections evenly over threads', () => {
    expect(splitEvenly(50, 2)).toEqual([25, 25]);
    expect(splitEvenly(5, 3)).toEqual([2, 2, 1]);
    expect(buildRequest('127.0.0.1:8080')).toBe('GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n');
  });

  it('closed loop over two threads answers every request without errors', async () => {
    const port = await startServer();
    const result = await runLoad({ port, mode: 'max', connections: 8, rate: 0, threads: 2, warmupMs: 200, durationMs: 800 });
    expect(result.errors).toBe(0);
    expect(result.completed).toBeGreaterThan(500);
    expect(result.rps).toBe(Math.round(result.completed / 0.8));
    expect(result.p50_ms).toBeGreaterThan(0);
    expect(result.p99_ms).toBeGreaterThanOrEqual(result.p50_ms);
  }, 20_000);

  it('fixed rate sends the planned number of requests', async () => {
    const port = await startServer();
    const result = await runLoad({ port, mode: 'fixed', connections: 4, rate: 500, threads: 1, warmupMs: 200, durationMs: 1000 });
    expect(result.errors).toBe(0);
    expect(result.completed).toBeGreaterThanOrEqual(499);
    expect(result.completed).toBeLessThanOrEqual(501);
    expect(result.rps).toBeGreaterThanOrEqual(499);
  }, 20_000);

  it('a stalled response shows up in the fixed-rate percentiles (no coordinated omission)', async () => {
    // One connection, 1000 req/s, request 300 held for 200 ms: ~200 requests planned during the
    // stall wait behind it, and each is charged from its intended time.
    const port = await startServer({ stallAt: 300, stallMs: 200 });
    const result = await runLoad({ port, mode: 'fixed', connections: 1, rate: 1000, threads: 1, warmupMs: 0, durationMs: 1000 });
    expect(result.errors).toBe(0);
    expect(result.completed).toBeGreaterThanOrEqual(999);
    expect(result.max_ms).toBeGreaterThanOrEqual(195);
    expect(result.p90_ms).toBeGreaterThan(20); // a closed-loop client would show one slow sample: p90 well under 1 ms
    expect(result.p99_ms).toBeGreaterThan(150);
  }, 20_000);

  it('fixed rate gives each connection its own evenly spaced share, as fortio -uniform paces', async () => {
    // 8 connections at 400 req/s: each sends every 20 ms, offset 2.5 ms from the next, so every socket the
    // server sees carries 1/8 of the requests (the earlier pacing let any idle connection send: one carried nearly all).
    const perSocket = new Map<object, number>();
    server = createServer((req, res) => {
      perSocket.set(req.socket, (perSocket.get(req.socket) ?? 0) + 1);
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const result = await runLoad({ port, mode: 'fixed', connections: 8, rate: 400, threads: 1, warmupMs: 0, durationMs: 1000 });
    expect(result.errors).toBe(0);
    expect(result.completed).toBe(400);
    expect([...perSocket.values()].sort((x, y) => x - y)).toEqual([50, 50, 50, 50, 50, 50, 50, 50]);
    // Every measured request's send lag is counted once; wake-ups that sent one request are the rule.
    expect(result.openLoop.sendLag.reduce((x, y) => x + y, 0)).toBe(400);
    expect(result.openLoop.bursts[0]).toBeGreaterThan(result.openLoop.bursts.slice(1).reduce((x, y) => x + y, 0));
  }, 20_000);

  it('counts error statuses as errors, not as throughput', async () => {
    const port = await startServer({ status: 503 });
    const result = await runLoad({ port, mode: 'max', connections: 2, rate: 0, threads: 1, warmupMs: 100, durationMs: 300 });
    expect(result.completed).toBe(0);
    expect(result.rps).toBe(0);
    expect(result.errors).toBeGreaterThan(10);
  }, 20_000);

  it('rejects with a clear message when nothing listens', async () => {
    const port = await startServer();
    await new Promise((resolve) => server!.close(resolve));
    server = null;
    await expect(runLoad({ port, mode: 'max', connections: 2, rate: 0, threads: 1, warmupMs: 0, durationMs: 100 })).rejects.toThrow(
      new RegExp(`no connection to 127\\.0\\.0\\.1:${port}.*ECONNREFUSED`),
    );
  }, 20_000);
});
