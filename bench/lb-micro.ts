// Load balancer micro-benchmark: nanoseconds per pick for every lb_policy at
// 10 and 1000 endpoints, through UpstreamCluster.pick (what a request pays:
// the health-epoch check, the priority choice and the picker), plus the time
// to build a host set (the RING_HASH ring, the MAGLEV table) that a health
// change or a reload costs each worker.
// Run: npm run bench:lb [-- iterations] (after npm install or npx tsc -p .)
import { performance } from 'node:perf_hooks';
import type { Cluster, LbPolicy } from '../src/config/bootstrap-types.js';
import { DEFAULT_CIRCUIT_BREAKERS, DEFAULT_CONNECT_TIMEOUT_MS } from '../src/config/cluster.js';
import { DEFAULT_LB_FIELDS } from '../src/config/lb-config.js';
import { DEFAULT_OVERPROVISIONING_FACTOR } from '../src/config/load-assignment.js';
import { hashString } from '../workers/balancers/hash32.js';
import { PrioritySet } from '../workers/balancers/priority-set.js';
import { UpstreamCluster } from '../workers/upstream-cluster.js';

const POLICIES: readonly LbPolicy[] = ['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST', 'RING_HASH', 'MAGLEV', 'PEAK_EWMA'];
const SIZES = [10, 1000] as const;
const HASHES = Uint32Array.from({ length: 4096 }, (_, i) => hashString(`user-${i}`));

function config(policy: LbPolicy, n: number): Cluster {
  return {
    name: 'bench',
    type: 'STATIC',
    dns: null,
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
    tls: null,
    ...DEFAULT_LB_FIELDS,
    lbPolicy: policy,
    circuitBreakers: DEFAULT_CIRCUIT_BREAKERS,
    outlierDetection: null,
    healthCheck: null,
    overprovisioningFactor: DEFAULT_OVERPROVISIONING_FACTOR,
    endpoints: Array.from({ length: n }, (_, i) => ({
      address: `10.0.${i >> 8}.${i & 255}`,
      port: 8080,
      weight: 1 + (i % 3),
      locality: { region: '', zone: '', subZone: '' },
      priority: 0,
    })),
  };
}

/** Median of 5 rounds of `iterations` calls, in ns per call. */
function measure(iterations: number, fn: (i: number) => number): number {
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 200_000); i++) sink += fn(i);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) sink += fn(i);
    rounds.push(((performance.now() - t0) * 1e6) / iterations);
  }
  if (sink === -1) console.log(sink); // keeps the loop observable
  rounds.sort((a, b) => a - b);
  return rounds[2]!;
}

function buildMs(c: Cluster, cluster: UpstreamCluster): number {
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    new PrioritySet(c, cluster.endpoints, cluster.health, cluster.latency);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[2]!;
}

function main(): void {
  const iterations = Number(process.argv[2] ?? 2_000_000);
  const rows: string[][] = [['policy', 'endpoints', 'ns/pick', 'ns/pick (retry, 1 avoided)', 'host set build ms']];
  for (const policy of POLICIES) {
    for (const n of SIZES) {
      const c = config(policy, n);
      const cluster = new UpstreamCluster(c, '');
      const eps = cluster.endpoints;
      for (let i = 0; i < n; i++) {
        eps[i]!.rqActive = i % 4;
        cluster.latency?.record(i, 1 + (i % 7), true, performance.now());
      }
      const hashed = cluster.usesHash;
      const pick = measure(iterations, (i) => cluster.pick(hashed ? HASHES[i & 4095]! : -1, null)!.port);
      const failed = eps[0]!;
      const retry = measure(iterations >> 2, (i) => cluster.pick(hashed ? HASHES[i & 4095]! : -1, failed)!.port);
      rows.push([policy, String(n), pick.toFixed(1), retry.toFixed(1), buildMs(c, cluster).toFixed(3)]);
      cluster.close();
    }
  }
  // For scale on a busy machine: what one Math.random() costs here and now.
  rows.push(['(Math.random)', '-', measure(iterations, () => Math.random()).toFixed(1), '-', '-']);
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  for (const r of rows) console.log(r.map((cell, k) => cell.padStart(widths[k]!)).join('  '));
  console.log(`node ${process.version}, ${iterations} picks per round, median of 5 rounds; weights 1-3, 4 requests in flight at most`);
}

main();
