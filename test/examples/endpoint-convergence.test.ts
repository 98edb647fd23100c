// The demo's wait for every sidecar to list every workload (examples/up/endpoint-convergence.ts), against real
// HTTP servers standing in for the six sidecars' admin ports: their /clusters text as the admin writes it.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { healthyPorts, missingEndpoints, waitForEndpoints } from '../../examples/up/endpoint-convergence.js';
import { planPorts, type PortPlan } from '../../examples/up/port-plan.js';
import { freeDemoPorts } from '../e2e/up-demo.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const SERVICES = ['productpage', 'details', 'reviews', 'ratings'];
const cluster = (service: string): string => `outbound|9080||${service}.default.svc.cluster.local`;

/** Each sidecar's admin answers /clusters: a cluster per service in `services`, these inbound ports its healthy hosts. */
async function admins(plan: PortPlan, listed: readonly number[], services: readonly string[] = SERVICES): Promise<void> {
  const text = services.map((s) => `${cluster(s)}::default_priority::max_connections::1024\n`).join('')
    + listed.map((p) => `${cluster(services[0]!)}::127.0.0.1:${p}::health_flags::healthy\n`).join('');
  for (const w of plan.workloads) {
    const server = createServer((_req, res) => res.end(text));
    servers.push(server);
    await new Promise<void>((r) => server.listen(w.admin, '127.0.0.1', r));
  }
}

describe("isthmus up's endpoint wait", () => {
  it('reads the healthy hosts of /clusters, not unhealthy ones or other lines', () => {
    const ports = healthyPorts([
      'a::127.0.0.1:1000::health_flags::healthy', 'a::127.0.0.1:1001::health_flags::/failed_active_hc',
      'a::127.0.0.1:1002::cx_active::0', 'b::127.0.0.1:9::127.0.0.1:1003::health_flags::healthy', '',
    ].join('\n'));
    expect([...ports].sort()).toEqual([1000, 1003]);
  });

  it('converges when every admin lists every inbound port, also where Node has no AbortSignal.any (20.0-20.2)', async () => {
    const plan = planPorts(await freeDemoPorts());
    await admins(plan, plan.workloads.map((w) => w.inbound));
    expect(await missingEndpoints(plan, new AbortController().signal)).toEqual([]);
    const any = AbortSignal.any;
    try {
      (AbortSignal as { any?: unknown }).any = undefined;
      expect(await missingEndpoints(plan, new AbortController().signal)).toEqual([]);
    } finally {
      AbortSignal.any = any;
    }
  });

  it('waits only for the services a sidecar has clusters for (a Sidecar resource may scope the others out)', async () => {
    const plan = planPorts(await freeDemoPorts());
    const detailsPort = plan.workloads.find((_, i) => i === 1)!.inbound; // WORKLOADS[1] is details
    await admins(plan, [detailsPort], ['details']);
    expect(await missingEndpoints(plan)).toEqual([]);
  });

  it('names what a sidecar with a cluster for a service still lacks, and waits for everything while it has no cluster at all', async () => {
    const plan = planPorts(await freeDemoPorts());
    // Every cluster, hosts for all but reviews v3 (WORKLOADS[4]).
    await admins(plan, plan.workloads.filter((_, i) => i !== 4).map((w) => w.inbound));
    const missing = await missingEndpoints(plan);
    expect(missing).toHaveLength(6);
    for (const m of missing) expect(m).toMatchObject({ missing: ['reviews-v3'], answered: true });
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await admins(plan, [], []);
    expect((await missingEndpoints(plan)).every((m) => m.missing.length === 6)).toBe(true);
  });

  it('gives up on an admin port that answers /clusters with more than 4 MiB (something else listening there)', async () => {
    const plan = planPorts(await freeDemoPorts());
    await admins(plan, plan.workloads.map((w) => w.inbound));
    const flooder = servers.splice(0, 1)[0]!; // the first sidecar's admin: replaced by one that never stops sending
    await new Promise((r) => flooder.close(r));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const flood = createServer((_req, res) => {
      const more = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });
    servers.push(flood);
    await new Promise<void>((r) => flood.listen(plan.workloads[0]!.admin, '127.0.0.1', r));
    const missing = await missingEndpoints(plan);
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({ sidecar: 'productpage-v1 sidecar', answered: false });
  });

  it('ends the wait at once when its signal aborts (Ctrl-C during startup), long before its timeout', async () => {
    const plan = planPorts(await freeDemoPorts());
    await admins(plan, [plan.workloads[1]!.inbound]);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    const started = Date.now();
    const missing = await waitForEndpoints(plan, 60_000, stop.signal);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(missing.map((m) => m.sidecar)).toHaveLength(6); // what the aborted poll saw: the caller says nothing of it
  });
});
