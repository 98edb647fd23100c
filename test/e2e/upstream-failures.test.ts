// Weighted splits, retries, timeouts and upstream failures, each as a user
// sees it: the status, the response flag in the access log and the stats.
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapWith, closedPort, keepAliveAgent, replyName, request, startProxy, startUpstream, type RunningProxy, type Upstream,
} from './harness.js';

let v1: Upstream;
let v2: Upstream;
let flaky: Upstream;
let proxy: RunningProxy;
let deadPort: number;
const attempts = new Map<string, number>();

/** Counts attempts per x-test-key, so each test sees its own failure sequence. */
function attempt(key: string): number {
  const n = (attempts.get(key) ?? 0) + 1;
  attempts.set(key, n);
  return n;
}

beforeAll(async () => {
  v1 = await startUpstream(replyName('v1'));
  v2 = await startUpstream(replyName('v2'));
  flaky = await startUpstream((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const key = String(req.headers['x-test-key']);
    const n = attempt(key);
    const failFirst = Number(url.searchParams.get('fail') ?? '0');
    if (url.pathname === '/status' && n <= failFirst) {
      res.statusCode = Number(url.searchParams.get('code'));
      res.end('failing');
    } else if (url.pathname === '/slow-first' && n === 1) {
      setTimeout(() => res.end('slow'), 1500);
    } else if (url.pathname === '/slow') {
      setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms')));
    } else if (url.pathname === '/reset') {
      req.socket.destroy();
    } else {
      res.end(`ok after ${n}`);
    }
  });
  deadPort = await closedPort();
  const retry = (retryOn: string, extra: Record<string, unknown> = {}) => ({
    retry_on: retryOn,
    num_retries: 2,
    retry_back_off: { base_interval: '0.005s', max_interval: '0.02s' },
    ...extra,
  });
  proxy = await startProxy({
    bootstrap: bootstrapWith(
      {
        virtual_hosts: [
          {
            name: 'svc',
            domains: ['svc'],
            routes: [
              {
                match: { prefix: '/split' },
                route: { weighted_clusters: { clusters: [{ name: 'v1', weight: 80 }, { name: 'v2', weight: 20 }] } },
              },
              { match: { prefix: '/retry/status' }, route: { cluster: 'flaky', prefix_rewrite: '/status', retry_policy: retry('5xx') } },
              {
                match: { prefix: '/retry/codes' },
                route: {
                  cluster: 'flaky',
                  prefix_rewrite: '/status',
                  retry_policy: retry('retriable-status-codes', { retriable_status_codes: [409] }),
                },
              },
              { match: { prefix: '/noretry/status' }, route: { cluster: 'flaky', prefix_rewrite: '/status' } },
              { match: { prefix: '/retry/connect' }, route: { cluster: 'half-dead', retry_policy: retry('connect-failure') } },
              { match: { prefix: '/noretry/connect' }, route: { cluster: 'dead' } },
              {
                match: { prefix: '/retry/per-try' },
                route: {
                  cluster: 'flaky',
                  prefix_rewrite: '/slow-first',
                  retry_policy: retry('5xx', { per_try_timeout: '0.2s' }),
                },
              },
              { match: { prefix: '/timeout' }, route: { cluster: 'flaky', prefix_rewrite: '/slow', timeout: '0.3s' } },
              { match: { prefix: '/reset' }, route: { cluster: 'flaky' } },
              { match: { prefix: '/retry/reset' }, route: { cluster: 'flaky', prefix_rewrite: '/reset', retry_policy: retry('reset') } },
            ],
          },
        ],
      },
      [
        { name: 'v1', ports: [v1.port] },
        { name: 'v2', ports: [v2.port] },
        { name: 'flaky', ports: [flaky.port] },
        { name: 'half-dead', ports: [deadPort, v1.port], lb_policy: 'ROUND_ROBIN' },
        { name: 'dead', ports: [deadPort] },
      ],
    ),
    accessLog: 'file',
  });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([v1?.close(), v2?.close(), flaky?.close()]);
});

let keySeq = 0;
async function call(path: string): Promise<{ status: number; body: string }> {
  const { status, body } = await request(proxy.port, path, {
    headers: { host: 'svc', 'x-test-key': `k${++keySeq}`, 'x-request-id': `rid-${keySeq}` },
    agent: keepAliveAgent,
  });
  return { status, body };
}

function accessLogFor(requestId: string): Record<string, unknown> {
  const path = join(proxy.dir, 'access.log');
  const line = readFileSync(path, 'utf8')
    .split('\n')
    .find((l) => l.includes(`"request_id":"${requestId}"`));
  if (line === undefined) throw new Error(`no access log line for ${requestId}`);
  return JSON.parse(line) as Record<string, unknown>;
}

async function accessLogEventually(requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    try {
      return accessLogFor(requestId);
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return accessLogFor(requestId);
}

describe('weighted clusters', () => {
  it('splits 2000 requests 80/20 within statistical tolerance', async () => {
    const counts = { v1: 0, v2: 0 } as Record<string, number>;
    for (let batch = 0; batch < 40; batch++) {
      const results = await Promise.all(Array.from({ length: 50 }, () => request(proxy.port, '/split', { headers: { host: 'svc' }, agent: keepAliveAgent })));
      for (const r of results) counts[r.body] = (counts[r.body] ?? 0) + 1;
    }
    expect(counts.v1! + counts.v2!).toBe(2000);
    // Binomial: mean 1600, sd ≈ 17.9; 5 sd either way.
    expect(counts.v1).toBeGreaterThan(1600 - 90);
    expect(counts.v1).toBeLessThan(1600 + 90);
  });
});

describe('retries', () => {
  it('retries a 503 and returns the eventual success', async () => {
    const res = await call('/retry/status?fail=2&code=503');
    expect(res).toEqual({ status: 200, body: 'ok after 3' });
  });

  it('gives up after num_retries and forwards the last 5xx', async () => {
    const res = await call('/retry/status?fail=5&code=503');
    expect(res.status).toBe(503);
    expect(res.body).toBe('failing');
  });

  it('does not retry without a policy', async () => {
    const res = await call('/noretry/status?fail=1&code=503');
    expect(res.status).toBe(503);
  });

  it('retries only the listed retriable_status_codes', async () => {
    expect((await call('/retry/codes?fail=1&code=409')).status).toBe(200);
    expect((await call('/retry/codes?fail=1&code=500')).status).toBe(500);
  });

  it('retries a connect failure on the other endpoint', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await call('/retry/connect');
      expect(res.status).toBe(200);
      expect(res.body).toBe('v1');
    }
  });

  it('answers 503 UF when the only endpoint refuses connections', async () => {
    const res = await call('/noretry/connect');
    expect(res.status).toBe(503);
    expect(res.body).toContain('connection failure');
    const log = await accessLogEventually(`rid-${keySeq}`);
    expect(log.response_flags).toBe('UF');
    expect(log.response_code).toBe(503);
  });

  it('retries after a per-try timeout and succeeds on the second try', async () => {
    const res = await call('/retry/per-try');
    expect(res).toEqual({ status: 200, body: 'ok after 2' });
  });

  it('answers 502 UC when the upstream resets, and marks retries exhausted with URX', async () => {
    const res = await call('/reset');
    expect(res.status).toBe(502);
    expect((await accessLogEventually(`rid-${keySeq}`)).response_flags).toBe('UC');
    const retried = await call('/retry/reset');
    expect(retried.status).toBe(502);
    expect((await accessLogEventually(`rid-${keySeq}`)).response_flags).toBe('UC,URX');
  });
});

describe('timeouts and local replies', () => {
  it('answers 504 UT when the route timeout passes', async () => {
    const started = Date.now();
    const res = await call('/timeout?ms=3000');
    expect(res.status).toBe(504);
    expect(res.body).toBe('upstream request timeout');
    expect(Date.now() - started).toBeLessThan(2500);
    const log = await accessLogEventually(`rid-${keySeq}`);
    expect(log.response_flags).toBe('UT');
    // start_time is when the request began, not when it was logged (the 0.3 s route timeout later).
    expect(log.duration as number).toBeGreaterThanOrEqual(290);
    const startMs = Date.parse(log.start_time as string);
    expect(startMs).toBeGreaterThanOrEqual(started - 5);
    expect(startMs).toBeLessThan(started + 200);
  });

  it("times each request on a keep-alive connection from its own start: an earlier request's timeout neither cuts nor outlives it", async () => {
    // One socket: requests run one after another on one connection (the proxy reuses one timer per connection).
    const socket = connect(proxy.port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    const exchange = async (path: string): Promise<{ status: number; ms: number }> => {
      received = '';
      const started = Date.now();
      socket.write(`GET ${path} HTTP/1.1\r\nhost: svc\r\nx-test-key: k${++keySeq}\r\n\r\n`);
      const deadline = Date.now() + 5000;
      // Each response here has a content-length; wait for its whole body.
      for (;;) {
        const head = received.indexOf('\r\n\r\n');
        const length = /content-length: (\d+)/i.exec(received);
        if (head >= 0 && length !== null && received.length >= head + 4 + Number(length[1])) break;
        if (Date.now() > deadline) throw new Error(`no whole response to ${path}: ${JSON.stringify(received)}`);
        await new Promise((r) => setTimeout(r, 2));
      }
      return { status: Number(received.slice(9, 12)), ms: Date.now() - started };
    };
    try {
      // Fast requests for longer than the 0.3 s timeout: none is cut by the timer an earlier one started.
      const until = Date.now() + 450;
      while (Date.now() < until) {
        expect((await exchange('/timeout?ms=1')).status).toBe(200);
        await new Promise((r) => setTimeout(r, 20));
      }
      // A slow one gets its full 0.3 s, counted from its own start, then 504.
      const slow = await exchange('/timeout?ms=2000');
      expect(slow.status).toBe(504);
      expect(slow.ms).toBeGreaterThanOrEqual(280);
      expect(slow.ms).toBeLessThan(1500);
    } finally {
      socket.destroy();
    }
  });

  it('answers 404 NR for a host no virtual host serves', async () => {
    const res = await request(proxy.port, '/', { headers: { host: 'unknown.example', 'x-request-id': 'rid-nr' }, agent: keepAliveAgent });
    expect(res.status).toBe(404);
    expect((await accessLogEventually('rid-nr')).response_flags).toBe('NR');
  });

  it('counts every outcome in istio_requests_total with its code and flags', async () => {
    const text = (await admin(proxy, '/stats/prometheus')).body;
    const line = (code: number, flags: string) =>
      text.split('\n').find((l) => l.startsWith('istio_requests_total{') && l.includes(`response_code="${code}"`) && l.includes(`response_flags="${flags}"`));
    expect(line(404, 'NR')).toBeDefined();
    expect(line(503, 'UF')).toBeDefined();
    expect(line(504, 'UT')).toBeDefined();
    expect(line(200, '-')).toBeDefined();
  });
});
