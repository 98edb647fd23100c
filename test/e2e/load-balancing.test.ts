// Hash and latency-aware balancing through a real proxy with two workers:
// ring hash and Maglev keep a key on one endpoint (both workers agree), a
// reload that removes one of five endpoints moves only that endpoint's keys,
// a cookie hash policy sets its cookie and sticks, and peak-EWMA steers
// traffic away from a slower endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapYaml, configDump, httpListener, keepAliveAgent, replaceFile, replyName, request, startProxy, startUpstream, tempDir, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';

const NAMES = ['u0', 'u1', 'u2', 'u3', 'u4'];
let upstreams: Upstream[] = [];
let fast: Upstream;
let slow: Upstream;
let proxy: RunningProxy;
const dir = tempDir('lb');

function endpoints(ports: readonly number[]): Record<string, unknown> {
  return { lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) };
}

function cluster(name: string, ports: readonly number[], lb: Record<string, unknown>): Record<string, unknown> {
  return { name, type: 'STATIC', connect_timeout: '1s', ...lb, load_assignment: { cluster_name: name, endpoints: [endpoints(ports)] } };
}

function bootstrap(ringPorts: readonly number[]): string {
  const route = (prefix: string, clusterName: string, hashPolicy?: unknown[]): Record<string, unknown> => ({
    match: { prefix },
    route: { cluster: clusterName, ...(hashPolicy ? { hash_policy: hashPolicy } : {}) },
  });
  const byUser = [{ header: { header_name: 'x-user' } }];
  return bootstrapYaml({
    static_resources: {
      listeners: [httpListener('outbound', 0, {
        virtual_hosts: [{
          name: 'all',
          domains: ['*'],
          routes: [
            route('/ring', 'ring', byUser),
            route('/maglev', 'maglev', byUser),
            route('/cookie', 'sticky', [{ cookie: { name: 'isthmus-sticky', ttl: '3600s', path: '/' } }]),
            route('/ewma', 'ewma'),
          ],
        }],
      })],
      clusters: [
        cluster('ring', ringPorts, { lb_policy: 'RING_HASH' }),
        cluster('maglev', upstreams.map((u) => u.port), { lb_policy: 'MAGLEV' }),
        cluster('sticky', upstreams.map((u) => u.port), { lb_policy: 'RING_HASH' }),
        cluster('ewma', [fast.port, slow.port], {
          load_balancing_policy: {
            policies: [{
              typed_extension_config: {
                name: 'peak_ewma',
                typed_config: { '@type': 'type.googleapis.com/isthmus.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma', decay: '5s' },
              },
            }],
          },
        }),
      ],
    },
  });
}

beforeAll(async () => {
  upstreams = await Promise.all(NAMES.map((n) => startUpstream(replyName(n))));
  fast = await startUpstream(replyName('fast'));
  slow = await startUpstream((_req, res) => setTimeout(() => replyName('slow')(_req, res, ''), 20));
  const path = `${dir.path}/bootstrap.yaml`;
  replaceFile(path, bootstrap(upstreams.map((u) => u.port)));
  proxy = await startProxy({ bootstrapPath: path, workers: 2 });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([...upstreams.map((u) => u.close()), fast?.close(), slow?.close()]);
  dir.remove();
});

/** Which upstream answers each of `users`, one fresh connection per request (so both workers answer), `rounds` times each. */
async function owners(path: string, users: readonly string[], rounds: number): Promise<Map<string, Set<string>>> {
  const seen = new Map<string, Set<string>>(users.map((u) => [u, new Set()]));
  for (let r = 0; r < rounds; r++) {
    const results = await Promise.all(users.map((u) => request(proxy.port, path, { headers: { 'x-user': u } })));
    results.forEach((res, i) => {
      expect(res.status).toBe(200);
      seen.get(users[i]!)!.add(res.body);
    });
  }
  return seen;
}

const USERS = Array.from({ length: 50 }, (_, i) => `user-${i}`);

describe('ring hash', () => {
  it('keeps each header value on one endpoint across 1000 requests on separate connections (both workers agree)', async () => {
    const seen = await owners('/ring', USERS, 20);
    for (const [user, hosts] of seen) expect([...hosts], user).toHaveLength(1);
    // The keys spread over the endpoints rather than piling on one.
    expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBeGreaterThanOrEqual(4);
  });

  it('moves only the removed endpoint\'s keys (about 1/N) when a reload drops one of five endpoints', async () => {
    const users = Array.from({ length: 200 }, (_, i) => `k-${i}`);
    const before = await owners('/ring', users, 1);
    const version = (await configDump(proxy)).version;
    replaceFile(proxy.bootstrapPath, bootstrap(upstreams.filter((_, i) => i !== 2).map((u) => u.port)));
    await waitFor('the reload on every worker', async () => {
      const dump = await configDump(proxy);
      return dump.version > version && dump.workers.every((w) => w.appliedVersion === dump.version);
    });
    const after = await owners('/ring', users, 2);
    let moved = 0;
    for (const u of users) {
      const was = [...before.get(u)!][0]!;
      const now = [...after.get(u)!];
      expect(now).toHaveLength(1);
      if (was === 'u2') moved++;
      else expect(now[0], u).toBe(was);
    }
    expect(moved / users.length).toBeGreaterThan(0.08);
    expect(moved / users.length).toBeLessThan(0.35);
  });
});

describe('maglev', () => {
  it('keeps each header value on one endpoint across both workers', async () => {
    const seen = await owners('/maglev', USERS.slice(0, 25), 8);
    for (const [user, hosts] of seen) expect([...hosts], user).toHaveLength(1);
    expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBeGreaterThanOrEqual(3);
  });
});

describe('cookie hash policy', () => {
  it('sets the cookie when absent (Envoy\'s format) and sticks to one endpoint once the client sends it', async () => {
    const first = await request(proxy.port, '/cookie');
    expect(first.status).toBe(200);
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(/^isthmus-sticky="[0-9a-f]{16}"; Max-Age=3600; Path=\/; HttpOnly$/);
    const cookie = setCookie.split(';')[0]!;
    const answers = await Promise.all(Array.from({ length: 40 }, () => request(proxy.port, '/cookie', { headers: { cookie } })));
    expect(new Set(answers.map((a) => a.body))).toEqual(new Set([first.body]));
    expect(answers.every((a) => a.headers['set-cookie'] === undefined)).toBe(true);
  });

  it('gives different clients different cookies, spread over the endpoints', async () => {
    const bodies = new Set<string>();
    const cookies = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const res = await request(proxy.port, '/cookie');
      bodies.add(res.body);
      cookies.add(res.headers['set-cookie']![0]!);
    }
    expect(cookies.size).toBe(30);
    expect(bodies.size).toBeGreaterThanOrEqual(3);
  });
});

describe('peak EWMA', () => {
  it('sends most traffic away from an endpoint that answers 20 ms slower', async () => {
    const counts = new Map<string, number>();
    // 8 clients x 40 sequential keep-alive requests: bounded, a few seconds at most.
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 40; i++) {
        const res = await request(proxy.port, '/ewma', { agent: keepAliveAgent });
        counts.set(res.body, (counts.get(res.body) ?? 0) + 1);
      }
    }));
    const total = (counts.get('fast') ?? 0) + (counts.get('slow') ?? 0);
    expect(total).toBe(320);
    expect((counts.get('slow') ?? 0) / total).toBeLessThan(0.2);
  });
});
