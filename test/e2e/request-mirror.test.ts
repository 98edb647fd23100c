// request_mirror_policies end to end (2 workers, real node:http upstreams):
// the shadow gets a copy with "-shadow" on the host and the same body, a
// fraction mirrors about that share, and a slow, silent or dead shadow
// neither slows nor fails the primary (latency compared with a no-mirror
// baseline in the same run, as ratios).
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapWith, closedPort, metric, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream,
} from './harness.js';
import { median, percent } from './http-filter-config.js';

let primary: Upstream;
let shadow: Upstream;
let slowShadow: Upstream;
let silent: net.Server;
let silentConnections = 0;
/** Accepts, never reads: its socket fills up. */
let stalled: net.Server;
let proxy: RunningProxy;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function mirrored(prefix: string, cluster: string, fraction = 100): Record<string, unknown> {
  return {
    match: { prefix },
    route: { cluster: 'primary', timeout: '1s', request_mirror_policies: [{ cluster, runtime_fraction: { default_value: percent(fraction) } }] },
  };
}

beforeAll(async () => {
  primary = await startUpstream((_req, res, body) => res.end(`primary ${body.length}`));
  shadow = await startUpstream((_req, res) => res.end('shadow'));
  slowShadow = await startUpstream((_req, res) => setTimeout(() => res.end('late'), 2000));
  silent = net.createServer((s) => {
    silentConnections++;
    s.on('data', () => {}); // reads, never answers
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  stalled = net.createServer((s) => {
    s.pause();
    s.on('error', () => {});
  });
  await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
  const deadPort = await closedPort();
  const routes = [
    { match: { prefix: '/baseline' }, route: { cluster: 'primary', timeout: '1s' } },
    mirrored('/copy', 'shadow'),
    mirrored('/half', 'shadow', 50),
    mirrored('/slow', 'slow-shadow'),
    mirrored('/silent', 'silent-shadow'),
    mirrored('/dead', 'dead-shadow'),
    mirrored('/stalled', 'stalled-shadow'),
    { match: { prefix: '/by-header' }, route: { cluster: 'primary', timeout: '1s', request_mirror_policies: [{ cluster_header: 'x-mirror-cluster' }] } },
  ];
  proxy = await startProxy({
    bootstrap: bootstrapWith({ virtual_hosts: [{ name: 'all', domains: ['*'], routes }] }, [
      { name: 'primary', ports: [primary.port] },
      { name: 'shadow', ports: [shadow.port] },
      { name: 'slow-shadow', ports: [slowShadow.port] },
      { name: 'silent-shadow', ports: [(silent.address() as net.AddressInfo).port] },
      { name: 'dead-shadow', ports: [deadPort] },
      { name: 'stalled-shadow', ports: [(stalled.address() as net.AddressInfo).port] },
    ]),
    workers: 2,
  });
});

afterAll(async () => {
  agent.destroy();
  await proxy?.stop();
  await Promise.all([primary?.close(), shadow?.close(), slowShadow?.close()]);
  silent?.close();
  stalled?.close();
});

async function timed(path: string, body?: string): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const res = await request(proxy.port, path, { method: body === undefined ? 'GET' : 'POST', body, headers: { host: 'mirror:8080' }, agent });
  return { status: res.status, body: res.body, ms: performance.now() - started };
}

describe('request mirroring', () => {
  it('sends the shadow a copy with host "-shadow" and the same body, and counts it in the shadow cluster', async () => {
    const small = 'hello mirror';
    const large = 'x'.repeat(100 * 1024);
    expect(await timed('/copy?n=1', small)).toMatchObject({ status: 200, body: `primary ${small.length}` });
    expect(await timed('/copy?n=2', large)).toMatchObject({ status: 200, body: `primary ${large.length}` });
    await waitFor('both copies at the shadow', () => shadow.seen.length >= 2);
    const byUrl = new Map(shadow.seen.map((s) => [s.url, s]));
    expect(byUrl.get('/copy?n=1')).toMatchObject({ method: 'POST', body: small });
    expect(byUrl.get('/copy?n=1')!.headers.host).toBe('mirror-shadow:8080');
    expect(byUrl.get('/copy?n=2')!.body).toBe(large);
    const stats = await waitFor('the shadow counted', async () => {
      const text = (await admin(proxy, '/stats/prometheus')).body;
      return metric(text, 'envoy_cluster_upstream_rq_total{cluster_name="shadow"}') === shadow.seen.length ? text : null;
    });
    expect(metric(stats, 'envoy_cluster_upstream_rq_total{cluster_name="primary"}')).toBe(primary.seen.length);
  });

  it('cluster_header: the request names its shadow; no copy without the header or for a cluster that does not exist', async () => {
    const copies = (): string[] => shadow.seen.filter((s) => s.url.startsWith('/by-header')).map((s) => s.url);
    const send = (n: string, headers: Record<string, string>) => request(proxy.port, `/by-header?n=${n}`, { headers: { host: 'mirror:8080', ...headers }, agent });
    expect((await send('none', {})).status).toBe(200);
    expect((await send('unknown', { 'x-mirror-cluster': 'no-such-cluster' })).status).toBe(200);
    expect((await send('named', { 'X-Mirror-Cluster': 'shadow' })).body).toBe('primary 0');
    await waitFor('the named copy at the shadow', () => copies().includes('/by-header?n=named'));
    await new Promise((r) => setTimeout(r, 200));
    expect(copies()).toEqual(['/by-header?n=named']);
    expect(shadow.seen.find((s) => s.url === '/by-header?n=named')!.headers.host).toBe('mirror-shadow:8080');
  });

  it('mirrors about the configured fraction', async () => {
    const before = shadow.seen.length;
    for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 20 }, () => timed('/half')));
    await new Promise((r) => setTimeout(r, 200));
    const copies = shadow.seen.length - before;
    // Binomial(200, 0.5): sd ≈ 7.1; 5 sd either way.
    expect(copies).toBeGreaterThan(100 - 36);
    expect(copies).toBeLessThan(100 + 36);
  });

  it('a shadow that answers after 2 s, never answers, or refuses connections neither slows nor fails the primary', async () => {
    // Warm both paths, then interleave so both see the same machine load.
    await timed('/baseline');
    await timed('/slow');
    const baseline: number[] = [];
    const withMirror: Record<string, number[]> = { '/slow': [], '/silent': [], '/dead': [] };
    for (let i = 0; i < 30; i++) {
      const b = await timed('/baseline');
      expect(b.status).toBe(200);
      baseline.push(b.ms);
      for (const path of Object.keys(withMirror)) {
        const r = await timed(path);
        expect(r).toMatchObject({ status: 200, body: 'primary 0' });
        withMirror[path]!.push(r.ms);
      }
    }
    const base = median(baseline);
    for (const [path, times] of Object.entries(withMirror)) {
      const ratio = median(times) / base;
      expect(ratio, `${path}: median ${median(times).toFixed(2)} ms vs baseline ${base.toFixed(2)} ms`).toBeLessThan(3);
    }
    // The slow and silent shadows did get their copies.
    await waitFor('copies at the slow and silent shadows', () => slowShadow.seen.length >= 31 && silentConnections >= 1);
  });

  it('drops the copy, not the primary, when the shadow cannot keep up with a large body', async () => {
    const body = 'z'.repeat(16 * 1024 * 1024);
    const res = await timed('/stalled', body);
    expect(res).toMatchObject({ status: 200, body: `primary ${body.length}` });
    // By the time the primary has answered, the copy is already given up (an error at the shadow endpoint),
    // not still buffered until the shadow's 1 s timeout.
    const clusters = (await admin(proxy, '/clusters')).body;
    const port = (stalled.address() as net.AddressInfo).port;
    expect(clusters).toContain(`stalled-shadow::127.0.0.1:${port}::rq_active::0\n`);
    expect(clusters).toContain(`stalled-shadow::127.0.0.1:${port}::rq_error::1\n`);
  });
});
