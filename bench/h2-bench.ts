// HTTP/2 and gRPC throughput: the proxy (one worker, HTTP/2 both sides)
// beside haproxy relaying h2 (nbthread 1) and a direct connection, in one run
// so the ratios are comparable on a shared machine. Two loads:
//   gRPC unary (@grpc/grpc-js client process, CONCURRENCY calls in flight on one channel) against a grpc-js server;
//   h2load (Debian's nghttp2-client; skipped and said so when absent) against a node:http2 server.
// Run: npx tsc -p . && node dist/bench/h2-bench.js [seconds per run, 10] [rounds, 3]
// Also a second proxy with ISTHMUS_H2_UPSTREAM=node (the upstream leg on node:http2) for the before/after.
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { binNodeFlags } from '../src/process/proxy-process.js';
import { findPeerBinary, freePort } from './peers.js';
import { cpuSecondsPer1k, sampleProcess } from './process-sampler.js';
import { median } from './result-row.js';

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
const CLI = join(SELF, '..', '..', '..', 'bin', 'isthmus.js');
export const CONCURRENCY = 32;
const id = (b: Buffer): Buffer => b;
const UNARY = { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };

/** Child: the upstreams (grpc-js on argv[3], node:http2 on argv[4]). */
async function upstreams(grpcPort: number, h2Port: number): Promise<void> {
  const server = new grpc.Server();
  server.addService({ unary: UNARY }, { unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request) });
  await new Promise<void>((r, j) => server.bindAsync(`127.0.0.1:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? j(e) : r())));
  const body = Buffer.alloc(64, 'x');
  const h2 = http2.createServer();
  h2.on('stream', (stream) => {
    stream.on('error', () => {}); // a stream the proxy reset (refused past the session's limit) must not end the process
    stream.respond({ ':status': 200, 'content-length': String(body.length) });
    stream.end(body);
  });
  h2.listen(h2Port, '127.0.0.1', () => process.send?.('ready'));
}

/** Child: grpc-js unary load for `seconds` against argv[3]; prints calls per second. */
async function grpcLoad(target: string, seconds: number): Promise<void> {
  const Client = grpc.makeGenericClientConstructor({ unary: UNARY }, 'Echo');
  const client = new Client(target, grpc.credentials.createInsecure());
  const payload = Buffer.alloc(100, 'p');
  let done = 0;
  let errors = 0;
  let measuring = false;
  const warmEnd = Date.now() + 1000;
  const end = warmEnd + seconds * 1000;
  await new Promise<void>((resolve) => {
    let active = CONCURRENCY;
    const one = (): void => {
      if (Date.now() >= end) {
        if (--active === 0) resolve();
        return;
      }
      client.makeUnaryRequest(UNARY.path, id, id, payload, (err) => {
        if (!measuring && Date.now() >= warmEnd) measuring = true;
        if (measuring) {
          if (err) errors++;
          else done++;
        }
        one();
      });
    };
    for (let i = 0; i < CONCURRENCY; i++) one();
  });
  client.close();
  process.stdout.write(JSON.stringify({ rps: done / seconds, errors }) + '\n');
}

export function haproxyConfig(listen: number, grpcPort: number, listenH2: number, h2Port: number): string {
  return `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend grpc_front
  bind 127.0.0.1:${listen} proto h2
  default_backend grpc_back
backend grpc_back
  server up 127.0.0.1:${grpcPort} proto h2
frontend h2_front
  bind 127.0.0.1:${listenH2} proto h2
  default_backend h2_back
backend h2_back
  server up 127.0.0.1:${h2Port} proto h2
`;
}

export function isthmusBootstrap(listen: number, grpcPort: number, listenH2: number, h2Port: number): string {
  const listener = (name: string, port: number, cluster: string): string => `
  - name: ${name}
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}
          codec_type: HTTP2
          route_config:
            name: r
            virtual_hosts: [{ name: all, domains: ['*'], routes: [{ match: { prefix: / }, route: { cluster: ${cluster}, timeout: 0s } }] }]`;
  const cluster = (name: string, port: number): string => `
  - name: ${name}
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        '@type': type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }
    load_assignment: { cluster_name: ${name}, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } } }] }] }`;
  return `static_resources:\n  listeners:${listener('grpc', listen, 'grpc')}${listener('h2', listenH2, 'h2')}\n  clusters:${cluster('grpc', grpcPort)}${cluster('h2', h2Port)}\n`;
}

export async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = http2.connect(`http://127.0.0.1:${port}`);
      s.on('connect', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never accepted`);
}

export interface Measured {
  readonly rps: number;
  readonly errors: number;
  /** CPU ms the proxy spent per 1000 requests (null: direct, nothing in between). */
  readonly cpuMsPer1k: number | null;
}

/** CPU ms per 1000 requests of `pid` while `load` ran (wall time is noisy on a shared machine; CPU per request much less). */
export async function withCpu(pid: number | null, seconds: number, load: () => Promise<{ rps: number; errors: number }>): Promise<Measured> {
  const before = pid === null ? null : sampleProcess(pid);
  const r = await load();
  const after = pid === null ? null : sampleProcess(pid);
  const cpuSeconds = before === null || after === null ? null : cpuSecondsPer1k(before, after, r.rps * seconds);
  return { ...r, cpuMsPer1k: cpuSeconds === null ? null : cpuSeconds * 1000 };
}

/** Beyond the load's warm-up (1 s) and its seconds: a target that stops answering leaves calls pending forever. */
const GRPC_LOAD_MARGIN_S = 10;

/** Runs grpcLoad in a child; rejects when it has no result within its time and a margin (the child is killed). */
export async function measureGrpc(target: string, seconds: number): Promise<{ rps: number; errors: number }> {
  const child = fork(SELF, ['grpc-load', target, String(seconds)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const limitS = 1 + seconds + GRPC_LOAD_MARGIN_S;
  const timer = setTimeout(() => child.kill('SIGKILL'), limitS * 1000);
  await new Promise((r) => child.on('exit', r));
  clearTimeout(timer);
  if (out.trim() === '') throw new Error(`gRPC load against ${target}: no result within ${limitS} s (calls left unanswered)`);
  return JSON.parse(out) as { rps: number; errors: number };
}

/** The median of each field over rounds (rounds interleave the targets, so load swings hit them alike). */
function medianOf(ms: Measured[]): Measured {
  const cpu = ms.map((m) => m.cpuMsPer1k).filter((c): c is number => c !== null);
  return { rps: median(ms.map((m) => m.rps)), errors: ms.reduce((n, m) => n + m.errors, 0), cpuMsPer1k: cpu.length === 0 ? null : median(cpu) };
}

function line(name: string, rounds: Measured[], vs: Measured | null): string {
  const m = medianOf(rounds);
  const cpu = m.cpuMsPer1k === null ? '' : `, ${m.cpuMsPer1k.toFixed(1)} ms CPU per 1k`;
  const ratio = vs === null ? '' : `  ${(m.rps / vs.rps).toFixed(2)}x haproxy`;
  const each = rounds.length > 1 ? `  [${rounds.map((r) => r.rps.toFixed(0)).join(', ')}]` : '';
  return `  ${name.padEnd(22)} ${m.rps.toFixed(0).padStart(6)} req/s (errors ${m.errors}${cpu})${ratio}${each}`;
}

export async function measureH2load(h2load: string, port: number, seconds: number): Promise<{ rps: number; errors: number }> {
  const { stdout } = await run(h2load, ['-c', '4', '-m', '16', '-D', String(seconds), '--warm-up-time=1', `http://127.0.0.1:${port}/`], { maxBuffer: 1 << 22 });
  const rps = Number(/finished in [^,]+, ([0-9.]+) req\/s/.exec(stdout)?.[1] ?? 'NaN');
  const m = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  return { rps, errors: m === null ? -1 : Number(m[2]) + Number(m[3]) };
}

interface Target {
  readonly name: string;
  readonly pid: number | null;
  readonly grpc: string;
  readonly h2: number;
}

/** Starts one proxy (1 worker) of the build whose bin script is `cli`, its bootstrap `name`.yaml in dir: ports are [grpc listener, grpc upstream, h2 listener, h2 upstream]. */
export function startProxy(dir: string, name: string, ports: [number, number, number, number], env: NodeJS.ProcessEnv = {}, cli = CLI): ChildProcess {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, isthmusBootstrap(...ports));
  // Access log off, as the peers run (haproxy logs nothing here).
  // The bin script's node flags (its `#!` line), as `isthmus proxy` runs: the figures are the product's.
  return spawn(process.execPath, [...binNodeFlags(cli), cli, 'proxy', '--bootstrap', file, '--admin-port', '0', '--data-dir', join(dir, `${name}-data`), '--workers', '1', '--access-log', 'off'],
    { stdio: 'ignore', env: { ...process.env, ...env } });
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? '10');
  const rounds = Number(process.argv[3] ?? '3');
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-h2bench-'));
  const children: ChildProcess[] = [];
  try {
    const [grpcPort, h2Port, proxyGrpc, proxyH2, nodeGrpc, nodeH2, haGrpc, haH2] = await Promise.all(Array.from({ length: 8 }, () => freePort()));
    const up = fork(SELF, ['upstreams', String(grpcPort), String(h2Port)], { stdio: 'inherit' });
    children.push(up);
    await new Promise((r) => up.once('message', r));
    const proxy = startProxy(dir, 'isthmus', [proxyGrpc!, grpcPort!, proxyH2!, h2Port!], {});
    // The upstream leg on node:http2 (as before the native client session), for the before/after in one run.
    const nodeProxy = process.env.ISTHMUS_BENCH_NODE_UP === '0' ? null : startProxy(dir, 'isthmus-node', [nodeGrpc!, grpcPort!, nodeH2!, h2Port!], { ISTHMUS_H2_UPSTREAM: 'node' });
    children.push(proxy);
    if (nodeProxy !== null) children.push(nodeProxy);
    // ISTHMUS_BENCH_BASE=<another checkout>/bin/isthmus.js: that build as one more target, for a before/after in one run.
    const baseCli = process.env.ISTHMUS_BENCH_BASE;
    const [baseGrpc, baseH2] = baseCli === undefined ? [0, 0] : await Promise.all([freePort(), freePort()]);
    const baseProxy = baseCli === undefined ? null : startProxy(dir, 'isthmus-base', [baseGrpc!, grpcPort!, baseH2!, h2Port!], {}, baseCli);
    if (baseProxy !== null) children.push(baseProxy);
    const haproxy = findPeerBinary('haproxy');
    const targets: Target[] = [
      { name: 'direct', pid: null, grpc: `127.0.0.1:${grpcPort}`, h2: h2Port! },
      { name: 'isthmus', pid: proxy.pid ?? null, grpc: `127.0.0.1:${proxyGrpc}`, h2: proxyH2! },
    ];
    if (nodeProxy !== null) targets.push({ name: 'isthmus node:http2 up', pid: nodeProxy.pid ?? null, grpc: `127.0.0.1:${nodeGrpc}`, h2: nodeH2! });
    if (baseProxy !== null) targets.push({ name: 'isthmus base', pid: baseProxy.pid ?? null, grpc: `127.0.0.1:${baseGrpc}`, h2: baseH2! });
    if (haproxy !== null) {
      writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(haGrpc!, grpcPort!, haH2!, h2Port!));
      const ha = spawn(haproxy, ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: 'ignore' });
      children.push(ha);
      targets.push({ name: 'haproxy', pid: ha.pid ?? null, grpc: `127.0.0.1:${haGrpc}`, h2: haH2! });
    } else {
      console.log('haproxy: not installed, skipped');
    }
    for (const t of targets) await waitPort(t.h2);
    console.log(`load before: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${cpus().length} cores); ${rounds} rounds, targets interleaved, median shown`);
    const h2load = findPeerBinary('h2load' as 'wrk');
    const grpcRuns = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
    const h2Runs = new Map<string, Measured[]>(targets.map((t) => [t.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const t of targets) grpcRuns.get(t.name)!.push(await withCpu(t.pid, seconds, () => measureGrpc(t.grpc, seconds)));
      if (h2load !== null) for (const t of targets) h2Runs.get(t.name)!.push(await withCpu(t.pid, seconds, () => measureH2load(h2load, t.h2, seconds)));
    }
    const report = (title: string, runs: Map<string, Measured[]>): void => {
      console.log(title);
      const ha = runs.get('haproxy');
      const vs = ha === undefined ? null : medianOf(ha);
      for (const t of targets) console.log(line(t.name, runs.get(t.name)!, t.name === 'haproxy' ? null : vs));
    };
    report(`gRPC unary, ${CONCURRENCY} in flight on one channel, ${seconds} s each:`, grpcRuns);
    if (h2load === null) console.log('h2load: not installed (apt-get install nghttp2-client), skipped');
    else report(`h2load -c 4 -m 16, ${seconds} s each:`, h2Runs);
    console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Forks this file as the upstreams' process (grpc-js on grpcPort, node:http2 on h2Port); resolves once they listen, rejects when it exits first. */
export async function forkUpstreams(grpcPort: number, h2Port: number): Promise<ChildProcess> {
  const up = fork(SELF, ['upstreams', String(grpcPort), String(h2Port)], { stdio: 'inherit' });
  await new Promise<void>((resolve, reject) => {
    const exited = (code: number | null): void => reject(new Error(`h2 bench upstreams (ports ${grpcPort}, ${h2Port}) exited (${code}) before listening`));
    up.once('exit', exited);
    up.once('message', () => {
      up.off('exit', exited);
      resolve();
    });
  });
  return up;
}

// Run as a script (or forked as one of its roles); imported (bench/h2-scenario.ts), it only lends its pieces.
if (process.argv[1] === SELF) {
  const role = process.argv[2];
  if (role === 'upstreams') void upstreams(Number(process.argv[3]), Number(process.argv[4]));
  else if (role === 'grpc-load') void grpcLoad(process.argv[3]!, Number(process.argv[4]));
  else void main();
}
