// Everyday Envoy fields through a running proxy: locality_weighted_lb_config
// splitting by locality weight, layered_runtime's connection limit and its
// one-line warning for keys the proxy does not use, an endpoint hostname in
// /clusters, and the hint for an Envoy v1 file.
import * as net from 'node:net';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  admin, CLI, httpListener, metricSum, rawExchange, replyName, request, startProxy, startUpstream, statusCodes, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';

let proxy: RunningProxy | undefined;
let upstreams: Upstream[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy?.stop();
  proxy = undefined;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

const ROUTES = { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc' } }] }] };

function ep(port: number, hostname?: string): Record<string, unknown> {
  return { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } }, ...(hostname ? { hostname } : {}) } };
}

async function split(localityWeighted: boolean): Promise<Map<string, number>> {
  const [east, west] = await Promise.all([startUpstream(replyName('east')), startUpstream(replyName('west'))]);
  upstreams.push(east, west);
  proxy = await startProxy({ bootstrap: { static_resources: {
    listeners: [httpListener('web', 0, ROUTES)],
    clusters: [{
      name: 'svc', type: 'STATIC', lb_policy: 'ROUND_ROBIN',
      ...(localityWeighted ? { common_lb_config: { locality_weighted_lb_config: {} } } : {}),
      load_assignment: { cluster_name: 'svc', endpoints: [
        { locality: { region: 'us-east' }, load_balancing_weight: 1, lb_endpoints: [ep(east.port, 'east.internal')] },
        { locality: { region: 'us-west' }, load_balancing_weight: 4, lb_endpoints: [ep(west.port)] },
      ] },
    }],
  } } });
  const seen = new Map<string, number>();
  for (let i = 0; i < 200; i++) {
    const body = (await request(proxy.port, '/')).body;
    seen.set(body, (seen.get(body) ?? 0) + 1);
  }
  return seen;
}

describe('locality_weighted_lb_config', () => {
  it('splits by locality weight (1:4) when set, and by endpoint alone (1:1) when not', async () => {
    const weighted = await split(true);
    expect(weighted.get('west') ?? 0).toBeGreaterThan(130); // expected 160 of 200
    expect(weighted.get('east') ?? 0).toBeGreaterThan(10); // expected 40
    const text = (await admin(proxy!, '/clusters')).body;
    expect(text).toMatch(/svc::127\.0\.0\.1:\d+::hostname::east\.internal\n/);
    await proxy!.stop();
    proxy = undefined;
    await Promise.all(upstreams.map((u) => u.close()));
    upstreams = [];
    const plain = await split(false);
    expect(plain.get('west')).toBe(100);
    expect(plain.get('east')).toBe(100);
  }, 30_000);
});

describe('layered_runtime', () => {
  it('honours overload.global_downstream_max_connections and names the keys it does not use in one warning', async () => {
    proxy = await startProxy({ bootstrap: {
      layered_runtime: { layers: [
        { name: 'static_layer_0', static_layer: { overload: { global_downstream_max_connections: 2 }, envoy: { reloadable_features: { some_flag: false } } } },
        { name: 'admin_layer', admin_layer: {} },
      ] },
      static_resources: { listeners: [httpListener('web', 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
        { match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'ok' } } }] }] })], clusters: [] },
    } });
    const warning = proxy.lines.find((l) => String(l.msg).startsWith('layered_runtime:'));
    expect(warning?.msg).toBe('layered_runtime: 1 key(s) not used by this proxy: envoy.reloadable_features.some_flag');
    for (let i = 0; i < 2; i++) {
      const s = net.connect(proxy.port, '127.0.0.1');
      sockets.push(s);
      await new Promise((resolve) => s.once('connect', resolve));
    }
    await waitFor('2 connections accepted', async () => metricSum((await admin(proxy!, '/stats/prometheus')).body, 'isthmus_worker_downstream_cx_active') === 2);
    const refused = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3000);
    expect(refused.closed).toBe(true);
    expect(statusCodes(refused.text)).toEqual([]);
  }, 20_000);
});

describe('an Envoy v1 file', () => {
  it('gets a one-line hint that it is the old format', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-v1-'));
    try {
      const file = join(dir, 'envoy.json');
      writeFileSync(file, JSON.stringify({
        listeners: [{ address: 'tcp://0.0.0.0:10000', filters: [{ name: 'http_connection_manager', config: {} }] }],
        admin: { access_log_path: '/dev/null', address: 'tcp://0.0.0.0:9901' },
        cluster_manager: { clusters: [] },
      }));
      const run = spawnSync(process.execPath, [CLI, 'proxy', '--bootstrap', file, '--admin-port', '0', '--data-dir', join(dir, 'd')], { encoding: 'utf8', timeout: 15_000 });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain('listeners is the old Envoy v1 format, which Envoy itself no longer reads');
      expect(run.stderr.split('\n').filter((l) => l.includes('envoy.json:')).length).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
