// The admin API of a running `isthmus proxy` with two workers: readiness,
// metrics summed over workers with per-worker connection counters,
// config_dump, clusters, drain_listeners and quitquitquit.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapYaml, configDump, metric, metricSum, request, startProxy, startUpstream, taggedBootstrap, tempDir, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';

const REQUESTS = 40;
const dir = tempDir('admin');
let upstream: Upstream;
let proxy: RunningProxy;
let port: number;

beforeAll(async () => {
  upstream = await startUpstream();
  const bootstrapPath = join(dir.path, 'bootstrap.yaml');
  writeFileSync(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
  proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data'), workers: 2, args: ['--service', 'productpage', '--namespace', 'shop'] });
  port = proxy.ports.get('outbound')!;
}, 30_000);

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await upstream?.close();
  dir.remove();
});

describe('admin API', () => {
  it('reports ready and healthy', async () => {
    expect(proxy.adminPort).toBeGreaterThan(0);
    expect(await admin(proxy, '/ready')).toMatchObject({ status: 200, body: 'LIVE\n' });
    expect(await admin(proxy, '/healthz')).toMatchObject({ status: 200 });
  });

  it('counts requests in /stats/prometheus, summed over workers, with per-worker connection counters', async () => {
    // Each request on its own connection, so the kernel spreads them over both workers.
    for (let i = 0; i < REQUESTS; i++) {
      const r = await request(port, `/item/${i}`);
      expect(r.status).toBe(200);
      expect(r.body).toBe(`upstream /item/${i}\n`);
    }
    const direct = await request(port, '/version'); // a direct_response: a local reply with no cluster
    expect(direct).toMatchObject({ status: 200, body: 'v1' });

    const stats = await admin(proxy, '/stats/prometheus');
    expect(stats.status).toBe(200);
    expect(stats.headers['content-type']).toContain('text/plain; version=0.0.4');
    const text = stats.body;
    const ok = ['response_code="200"', 'destination_service="backend"', 'source_workload="productpage"', 'source_workload_namespace="shop"', 'reporter="source"'];
    expect(metricSum(text, 'istio_requests_total', ...ok)).toBe(REQUESTS);
    expect(metricSum(text, 'istio_request_duration_milliseconds_count', ...ok)).toBe(REQUESTS);
    expect(metricSum(text, 'istio_request_duration_milliseconds_bucket', ...ok, 'le="+Inf"')).toBe(REQUESTS);
    expect(metricSum(text, 'istio_request_duration_milliseconds_sum', ...ok)).toBeGreaterThan(0);
    // A direct response has no cluster: it is labelled with its route's virtual host, as Envoy's vhost stats are.
    expect(metricSum(text, 'istio_requests_total', 'destination_service="all"', 'destination_service_name="all"', 'response_code="200"')).toBe(1);
    expect(metricSum(text, 'istio_requests_total', 'destination_service="unknown"')).toBe(0);
    expect(metric(text, 'envoy_cluster_upstream_rq_total{cluster_name="backend"}')).toBe(REQUESTS);
    expect(metric(text, 'envoy_cluster_upstream_cx_total{cluster_name="backend"}')).toBeGreaterThanOrEqual(1);

    const perWorker = [0, 1].map((w) => metric(text, `isthmus_worker_downstream_cx_total{worker="${w}"}`) ?? 0);
    expect(perWorker[0]! + perWorker[1]!).toBe(REQUESTS + 1);
    // Both workers accepted connections: the sharding is visible per worker.
    expect(perWorker[0]).toBeGreaterThan(0);
    expect(perWorker[1]).toBeGreaterThan(0);
    expect(metric(text, 'isthmus_config_version')).toBe(1);
    expect(metric(text, 'isthmus_config_rejected_total')).toBe(0);
    expect(metric(text, 'isthmus_worker_restarts_total')).toBe(0);
  });

  it('lists its endpoints at / and /help, as Envoy\'s admin does', async () => {
    for (const path of ['/', '/help']) {
      const index = await admin(proxy, path);
      expect(index.status).toBe(200);
      expect(index.body.startsWith('admin commands are:\n')).toBe(true);
      for (const endpoint of ['/ready', '/server_info', '/stats', '/stats/prometheus', '/config_dump', '/clusters', '/listeners', '/memory', '/logging', '/quitquitquit']) {
        expect(index.body).toMatch(new RegExp(`^  ${endpoint.replace(/[/]/g, '\\/')}( \\(POST\\))?: \\S`, 'm'));
      }
      expect(index.body).toContain('  /quitquitquit (POST): ');
    }
  });

  it('serves /stats as Envoy\'s `name: value` text, with ?filter= and ?format=json', async () => {
    const text = (await admin(proxy, '/stats')).body;
    expect(text).toMatch(/^cluster\.backend\.upstream_rq_total: \d+$/m);
    expect(text).toMatch(/^server\.uptime: \d+$/m);
    const names = text.trim().split('\n').map((l) => l.slice(0, l.lastIndexOf(': ')));
    expect(names).toEqual([...names].sort());
    const filtered = (await admin(proxy, '/stats?filter=upstream_rq_total')).body.trim().split('\n');
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.every((l) => l.includes('upstream_rq_total'))).toBe(true);
    const json = JSON.parse((await admin(proxy, '/stats?format=json&filter=%5Eserver%5C.')).body) as { stats: { name: string; value: number }[] };
    expect(json.stats.map((s) => s.name)).toContain('server.concurrency');
    expect(json.stats.find((s) => s.name === 'server.concurrency')?.value).toBe(2);
    expect(json.stats.every((s) => s.name.startsWith('server.'))).toBe(true);
    expect((await admin(proxy, '/stats?filter=(')).status).toBe(400);
  });

  it('runs /stats?filter= as RE2 (as Envoy): a pattern that backtracks for ages in a JS RegExp answers at once, and the admin stays responsive', async () => {
    // Any page in a browser can make this GET (an <img> sends no Origin); with a backtracking engine it held the
    // agent thread, and with it /ready, health checks and config, for good.
    const r = await admin(proxy, `/stats?filter=${encodeURIComponent('^([a-z_.]+)+!$')}`);
    expect(r.status).toBe(200);
    expect(r.body.trim()).toBe('');
    expect((await admin(proxy, '/ready')).status).toBe(200);
    expect((await admin(proxy, `/stats?filter=${encodeURIComponent('(?=server)')}`)).status).toBe(400);
  }, 20_000);

  it('answers /server_info, /listeners and /memory in Envoy\'s shapes', async () => {
    const info = JSON.parse((await admin(proxy, '/server_info')).body) as Record<string, unknown>;
    expect(info).toMatchObject({ state: 'LIVE', command_line_options: { concurrency: 2, log_level: 'info' } });
    expect(String(info.version)).toMatch(/^isthmus\/\d+\.\d+\.\d+/);
    expect(String(info.uptime_current_epoch)).toMatch(/^\d+s$/);
    expect((await admin(proxy, '/listeners')).body).toBe(`outbound::127.0.0.1:${port}\n`);
    expect(JSON.parse((await admin(proxy, '/listeners?format=json')).body)).toEqual({
      listener_statuses: [{ name: 'outbound', local_address: { socket_address: { address: '127.0.0.1', port_value: port } } }],
    });
    const memory = JSON.parse((await admin(proxy, '/memory')).body) as Record<string, string>;
    expect(Object.keys(memory).sort()).toEqual(['allocated', 'heap_size', 'pageheap_free', 'pageheap_unmapped', 'total_physical_bytes', 'total_thread_cache']);
    expect(Number(memory.total_physical_bytes)).toBeGreaterThan(Number(memory.heap_size));
  });

  it('changes the log level at run time with POST /logging?level=', async () => {
    expect((await admin(proxy, '/logging')).body).toContain('isthmus: info');
    expect((await admin(proxy, '/logging?level=debug')).body).toContain('isthmus: info'); // GET changes nothing
    expect((await admin(proxy, '/logging?level=loud', 'POST')).status).toBe(400);
    const set = await admin(proxy, '/logging?level=debug', 'POST');
    expect(set).toMatchObject({ status: 200 });
    expect(set.body).toContain('isthmus: debug');
    expect(JSON.parse((await admin(proxy, '/server_info')).body)).toMatchObject({ command_line_options: { log_level: 'debug' } });
    expect((await admin(proxy, '/logging?level=info', 'POST')).body).toContain('isthmus: info');
  });

  it('dumps the active config with the resolved listener port and every worker\'s version', async () => {
    const dump = await configDump(proxy);
    expect(dump.version).toBe(1);
    expect(dump.bootstrap?.listeners[0]?.address.port).toBe(port);
    expect(dump.workers.map((w) => [w.workerId, w.appliedVersion, w.state])).toEqual([
      [0, 1, 'running'],
      [1, 1, 'running'],
    ]);
    expect(dump.lastRejected).toBeNull();
  });

  it('lists cluster endpoints with request counts, as text and JSON', async () => {
    const text = (await admin(proxy, '/clusters')).body;
    expect(text).toContain(`backend::127.0.0.1:${upstream.port}::rq_total::${REQUESTS}\n`);
    expect(text).toContain(`backend::127.0.0.1:${upstream.port}::rq_active::0\n`);
    expect(text).toContain(`backend::127.0.0.1:${upstream.port}::weight::1\n`);
    const json = JSON.parse((await admin(proxy, '/clusters?format=json')).body) as {
      cluster_statuses: { name: string; host_statuses: { address: { socket_address: { port_value: number } }; stats: { name: string; value: number }[] }[] }[];
    };
    const host = json.cluster_statuses.find((c) => c.name === 'backend')?.host_statuses[0];
    expect(host?.address.socket_address.port_value).toBe(upstream.port);
    expect(host?.stats.find((s) => s.name === 'rq_total')?.value).toBe(REQUESTS);
  });

  it('answers HEAD without a body, so a kept-alive connection stays usable', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await request(proxy.adminPort, '/ready', { method: 'HEAD', agent })).toMatchObject({ status: 200, body: '' });
      expect(await request(proxy.adminPort, '/healthz', { agent })).toMatchObject({ status: 200, body: 'OK\n', reusedSocket: true });
    } finally {
      agent.destroy();
    }
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    expect((await admin(proxy, '/nope')).status).toBe(404);
    expect((await admin(proxy, '/quitquitquit')).status).toBe(405);
    expect((await admin(proxy, '/drain_listeners')).status).toBe(405);
    // Debug endpoints exist only with --enable-debug-endpoints.
    expect((await admin(proxy, '/debug/crash_worker?id=0', 'POST')).status).toBe(404);
  });

  it('drain_listeners stops accepting and makes /ready fail; quitquitquit exits 0', async () => {
    expect((await admin(proxy, '/drain_listeners', 'POST')).status).toBe(200);
    expect(await admin(proxy, '/ready')).toMatchObject({ status: 503, body: 'NOT READY: listeners drained (admin /drain_listeners)\n' });
    await waitFor('the listener to refuse connections', async () => {
      try {
        await request(port, '/', { timeoutMs: 1000 });
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      }
    });
    expect((await admin(proxy, '/quitquitquit', 'POST')).status).toBe(200);
    const code = await Promise.race([proxy.exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(code).toBe(0);
  });
});
