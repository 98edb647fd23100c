import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bootstrap, HealthCheck } from '../../../src/config/bootstrap-types.js';
import { createLogger } from '../../../src/log.js';
import { HealthChecker } from '../../../workers/agent/health-checker.js';
import { StateSlots } from '../../../workers/agent/state-slots.js';
import { bindClusterState } from '../../../workers/shared-state/cluster-binding.js';
import { ENDPOINT, SharedState, healthFlagsText } from '../../../workers/shared-state/state-layout.js';
import { closedPort } from '../../e2e/peers.js';
import { testCluster } from '../../support/bootstrap-defaults.js';

const log = createLogger('test', 'silent');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

interface CheckedServer {
  port: number;
  /** Status the next checks get. */
  status: number;
  seen: { path: string; host: string }[];
}

async function server(): Promise<CheckedServer> {
  const s: CheckedServer = { port: 0, status: 200, seen: [] };
  const srv = http.createServer((req, res) => {
    s.seen.push({ path: req.url ?? '', host: req.headers.host ?? '' });
    res.statusCode = s.status;
    res.end();
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  s.port = (srv.address() as AddressInfo).port;
  cleanups.push(() => new Promise<void>((resolve) => (srv.closeAllConnections(), srv.close(() => resolve()))));
  return s;
}

const HC: HealthCheck = {
  timeoutMs: 500,
  intervalMs: 20,
  intervalJitterMs: 0,
  unhealthyThreshold: 2,
  healthyThreshold: 3,
  http: { path: '/healthz', host: null, expectedStatuses: [[200, 201]] },
};

function setup(ports: number[], hc: HealthCheck = HC) {
  const state = SharedState.create({ clusters: 4, endpoints: 8, workers: 2 });
  const slots = new StateSlots(state);
  const checker = new HealthChecker(state, log);
  cleanups.push(() => checker.stop());
  const bootstrap: Bootstrap = { listeners: [], clusters: [testCluster('svc', ports, { healthCheck: hc })] };
  const assigned = slots.assign(bootstrap);
  const config = assigned.bootstrap.clusters[0]!;
  const flags = (i: number) => healthFlagsText(Atomics.load(state.ints, state.endpointBase(config.endpoints[i]!.stateSlot!) + ENDPOINT.FLAGS));
  return { state, checker, assigned, config, flags, health: bindClusterState(config, state).health };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('HealthChecker', () => {
  it('new endpoints wait for their first check; update() resolves once each has one', async () => {
    const live = await server();
    const dead = await closedPort();
    const t = setup([live.port, dead]);
    const done = t.checker.update(t.assigned.bootstrap, t.assigned.freshEndpoints);
    expect([t.flags(0), t.flags(1)]).toEqual(['/failed_active_hc/pending_active_hc', '/failed_active_hc/pending_active_hc']);
    await done;
    expect([t.flags(0), t.flags(1)]).toEqual(['healthy', '/failed_active_hc']);
    expect([t.health.healthy(0), t.health.healthy(1)]).toEqual([true, false]);
    expect(live.seen[0]).toEqual({ path: '/healthz', host: 'svc' });
    const stats = t.checker.stats().get('svc')!;
    expect(stats.success).toBeGreaterThanOrEqual(1);
    expect(stats.networkFailure).toBeGreaterThanOrEqual(1);
  });

  it('unhealthy_threshold failures in a row take an endpoint out, healthy_threshold successes bring it back', async () => {
    const s = await server();
    const t = setup([s.port]);
    await t.checker.update(t.assigned.bootstrap, t.assigned.freshEndpoints);
    expect(t.flags(0)).toBe('healthy');
    const epoch = t.health.epoch();
    s.status = 503;
    const before = s.seen.length;
    await until(() => t.flags(0) === '/failed_active_hc');
    expect(s.seen.length - before).toBeGreaterThanOrEqual(2);
    expect(t.health.epoch()).toBeGreaterThan(epoch);
    s.status = 200;
    const back = s.seen.length;
    await until(() => t.flags(0) === 'healthy');
    expect(s.seen.length - back).toBeGreaterThanOrEqual(3);
  });

  it('a timeout fails the check; host and expected statuses come from the config', async () => {
    const slow = http.createServer(() => undefined); // never answers
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => (slow.closeAllConnections(), slow.close(() => resolve()))));
    const odd = await server();
    odd.status = 204;
    const t = setup([(slow.address() as AddressInfo).port, odd.port], {
      ...HC, timeoutMs: 100, http: { path: '/ready', host: 'health.local', expectedStatuses: [[200, 205]] },
    });
    const started = Date.now();
    await t.checker.update(t.assigned.bootstrap, t.assigned.freshEndpoints);
    expect(Date.now() - started).toBeLessThan(1000);
    expect([t.flags(0), t.flags(1)]).toEqual(['/failed_active_hc', 'healthy']);
    expect(odd.seen[0]).toEqual({ path: '/ready', host: 'health.local' });
  });

  it('stop() ends every check; a config without the check clears its flags', async () => {
    const s = await server();
    const t = setup([s.port]);
    s.status = 500;
    await t.checker.update(t.assigned.bootstrap, t.assigned.freshEndpoints);
    expect(t.flags(0)).toBe('/failed_active_hc');
    await t.checker.update({ listeners: [], clusters: [{ ...t.config, healthCheck: null }] }, new Set());
    expect(t.flags(0)).toBe('healthy');
    const count = s.seen.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(s.seen.length).toBe(count);
  });
});
