// Measures how long a config change takes to reach every proxy: N
// state-of-the-world ADS clients (in a child process, spread over worker
// threads, so the control plane's RSS and CPU are its own) subscribe to
// CDS/EDS/LDS/RDS; each round sets one new snapshot (all four types changed)
// for every node, and the server times, per node, setSnapshot → the node's
// last ACK. Reported: p50/p99/max convergence, time until all ACKed, server
// RSS and CPU. This is the push path's cost at fleet scale.
//
// Run (compiled): node <out>/control/xds/bench-push.js [--clients 1000] [--threads 2] [--rounds 5] [--services 50]
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { createLogger } from '../../src/log.js';
import { createAdsServer } from './ads-server.js';
import { loadXdsProtos, TYPE_URL } from './protos.js';
import { SnapshotCache } from './snapshot-cache.js';
import { Snapshot, type SnapshotInput } from './snapshot.js';

interface Options {
  clients: number;
  threads: number;
  rounds: number;
  services: number;
}

const ROUTE_NAME = 'outbound';
const CONNECT_TIMEOUT_MS = 120_000;
const ROUND_TIMEOUT_MS = 30_000;

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { clients: 1000, threads: 2, rounds: 5, services: 50 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '') as keyof Options;
    const value = Number(argv[i + 1]);
    if (!(key in options) || !Number.isInteger(value) || value <= 0) throw new Error(`bench-push: bad option ${argv[i]} ${argv[i + 1] ?? ''}`);
    options[key] = value;
  }
  return options;
}

function serviceName(index: number): string {
  return `outbound|9080||svc-${index}.default.svc.cluster.local`;
}

/** A mesh of `services` EDS clusters with 3 endpoints each, one listener, one route table; `round` shifts ports and versions. */
function meshInput(services: number, round: number): SnapshotInput {
  const names = Array.from({ length: services }, (_, i) => serviceName(i));
  const version = `v${round}`;
  return {
    [TYPE_URL.CLUSTER]: {
      version,
      resources: names.map((name) => ({
        name, type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } },
        connect_timeout: { seconds: String(1 + (round % 3)) }, lb_policy: 'ROUND_ROBIN',
      })),
    },
    [TYPE_URL.ENDPOINT]: {
      version,
      resources: names.map((name, i) => ({
        cluster_name: name,
        endpoints: [{ lb_endpoints: [0, 1, 2].map((k) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 20000 + i * 3 + k + round } } } })) }],
      })),
    },
    [TYPE_URL.LISTENER]: {
      version,
      resources: [{
        name: 'outbound_0.0.0.0_15001',
        address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: `outbound_${round}`,
          rds: { route_config_name: ROUTE_NAME, config_source: { ads: {} } },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
        } }] }],
      }],
    },
    [TYPE_URL.ROUTE]: {
      version,
      resources: [{
        name: ROUTE_NAME,
        virtual_hosts: names.map((name, i) => ({
          name: `svc-${i}`, domains: [`svc-${i}`, `svc-${i}:9080`],
          routes: [{ match: { prefix: '/' }, route: { cluster: name, timeout: { seconds: String(10 + round) } } }],
        })),
      }],
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function runServer(options: Options): Promise<void> {
  const cache = new SnapshotCache();
  const wantedVersion = { value: 'v0' };
  const acked = new Map<string, Set<string>>();
  let roundStart = 0;
  let done = 0;
  let onAllAcked: (() => void) | undefined;
  const convergence: number[] = [];
  const ads = createAdsServer(cache, {
    onAck(node, typeUrl, version) {
      if (version !== wantedVersion.value) return;
      const types = acked.get(node.id) ?? new Set();
      acked.set(node.id, types);
      types.add(typeUrl);
      if (types.size === 4) {
        acked.delete(node.id);
        if (roundStart > 0) convergence.push(performance.now() - roundStart);
        if (++done === options.clients) onAllAcked?.();
      }
    },
  }, { logger: createLogger('bench-push', 'warn') });
  const port = await ads.listen('127.0.0.1', 0);
  const nodeIds = Array.from({ length: options.clients }, (_, i) => `sidecar-${i}`);
  const initial = new Snapshot(meshInput(options.services, 0));
  for (const id of nodeIds) cache.setSnapshot(id, initial);

  const allAcked = (): Promise<void> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${done}/${options.clients} nodes ACKed within the limit`)), roundStart > 0 ? ROUND_TIMEOUT_MS : CONNECT_TIMEOUT_MS);
    onAllAcked = () => { clearTimeout(timer); resolve(); };
  });
  const connectStart = performance.now();
  const connected = allAcked();
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--role-clients', String(port), String(options.clients), String(options.threads), String(options.services)], { stdio: 'inherit' });
  try {
    await connected;
    const connectMs = performance.now() - connectStart;
    const rssConnected = process.memoryUsage().rss;
    const rounds: number[] = [];
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    for (let round = 1; round <= options.rounds; round++) {
      done = 0;
      wantedVersion.value = `v${round}`;
      const snapshot = new Snapshot(meshInput(options.services, round));
      const finished = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`round ${round}: only ${done}/${options.clients} nodes ACKed within ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS);
        onAllAcked = () => { clearTimeout(timer); resolve(); };
      });
      roundStart = performance.now();
      for (const id of nodeIds) cache.setSnapshot(id, snapshot); // the first call encodes, the rest share it
      await finished;
      rounds.push(performance.now() - roundStart);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const cpu = process.cpuUsage(cpuBefore);
    const wall = performance.now() - wallBefore;
    const sorted = convergence.slice().sort((a, b) => a - b);
    const ms = (value: number): string => `${value.toFixed(1)} ms`;
    console.log(JSON.stringify({
      scenario: 'xds-push',
      clients: options.clients, threads: options.threads, rounds: options.rounds, services: options.services,
      connectAllMs: Math.round(connectMs),
      convergence: { samples: sorted.length, p50: ms(percentile(sorted, 50)), p99: ms(percentile(sorted, 99)), max: ms(sorted[sorted.length - 1]) },
      allAckedPerRound: rounds.map(ms),
      serverRssMB: { connected: Math.round(rssConnected / 1048576), end: Math.round(process.memoryUsage().rss / 1048576) },
      serverCpuPercentDuringRounds: Math.round(((cpu.user + cpu.system) / 1000 / wall) * 100),
    }, null, 2));
  } finally {
    child.kill();
    await ads.close();
  }
}

/** Child process: spreads the clients over worker threads and exits with them. */
function runClientProcess(port: number, clients: number, threads: number, services: number): void {
  const perThread = Math.ceil(clients / threads);
  for (let t = 0; t < threads; t++) {
    const first = t * perThread;
    const count = Math.min(perThread, clients - first);
    if (count <= 0) break;
    const worker = new Worker(new URL(import.meta.url), { workerData: { port, first, count, services } });
    worker.on('error', (error) => {
      console.error('bench-push client worker failed:', error);
      process.exit(1);
    });
  }
}

/** Worker thread: `count` SotW clients that subscribe to all four types and ACK every response. */
function runClients(data: { port: number; first: number; count: number; services: number }): void {
  const protos = grpc.loadPackageDefinition(loadXdsProtos().packageDefinition) as any;
  const Client = protos.envoy.service.discovery.v3.AggregatedDiscoveryService as typeof grpc.Client;
  const edsNames = Array.from({ length: data.services }, (_, i) => serviceName(i));
  const namesOf = (typeUrl: string): string[] => (typeUrl === TYPE_URL.ENDPOINT ? edsNames : typeUrl === TYPE_URL.ROUTE ? [ROUTE_NAME] : []);
  for (let i = 0; i < data.count; i++) {
    const client = new Client(`127.0.0.1:${data.port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }) as any;
    const call = client.StreamAggregatedResources();
    call.on('data', (response: { type_url: string; version_info: string; nonce: string }) => {
      call.write({ type_url: response.type_url, version_info: response.version_info, response_nonce: response.nonce, resource_names: namesOf(response.type_url) });
    });
    call.on('error', () => {});
    const node = { id: `sidecar-${data.first + i}`, cluster: 'bench' };
    for (const typeUrl of [TYPE_URL.CLUSTER, TYPE_URL.ENDPOINT, TYPE_URL.LISTENER, TYPE_URL.ROUTE]) {
      call.write({ node, type_url: typeUrl, resource_names: namesOf(typeUrl) });
    }
  }
}

if (!isMainThread) {
  runClients(workerData);
  parentPort?.unref();
} else if (process.argv[2] === '--role-clients') {
  const [port, clients, threads, services] = process.argv.slice(3).map(Number);
  runClientProcess(port, clients, threads, services);
} else {
  runServer(parseOptions(process.argv.slice(2))).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
