// Syscalls per request on each sidecar of the mTLS mesh path (issue 12):
// latency on a quiet machine is the hops' work plus their wake-ups, and on a
// shared machine the syscall and wake-up counts are what can be measured
// without noise. After a warm-up, `strace -f -c` is attached to every sidecar
// while one keep-alive connection sends --requests round trips paced at
// --rate per second (a sidecar idles between requests, as at 1000 req/s);
// the table divides each syscall's count by the request count.
//
// Usage: node dist/bench/mesh-syscalls.js [--requests 2000] [--rate 1000] [--warmup 3000]
//   [--only 'isthmus x2,isthmus x2 mTLS,haproxy x2 mTLS'] (default: the two mTLS pairs) [--mtls-bin NAME=/other/bin/isthmus.js]
//   [--cpu [--rounds 5]] (no strace: CPU µs per request of each sidecar from /proc/PID/task/*/schedstat, rounds interleaved)
//   [--detail] (print every traced syscall with its time instead: what one request does, in order)
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManagedProcess } from '../src/process/managed-process.js';
import { numberArg, stringArg } from './bench-args.js';
import { startIsthmus } from './isthmus-target.js';
import { startHaproxyMtlsMesh } from './mesh-haproxy-mtls.js';
import { startMtlsMesh } from './mesh-mtls-target.js';
import { TripClient } from './mesh-round-trips.js';
import { findPeerBinary } from './peers.js';
import { startUpstream } from './scenarios.js';

interface Pair { readonly name: string; readonly procs: ManagedProcess<unknown>[]; readonly port: number }

/** `strace -c` summary lines: "% time seconds usecs/call calls [errors] syscall" → syscall → [calls, errors]. */
function parseSummary(text: string): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^\d/.test(f[0]!) || f.at(-1) === 'total') continue;
    const calls = Number(f[3]);
    const errors = f.length >= 6 ? Number(f[4]) : 0;
    out.set(f.at(-1)!, [calls, errors]);
  }
  return out;
}

/** ns on CPU of every thread of pid (/proc/PID/task/TID/schedstat's first field). */
function cpuNs(pid: number): number {
  let sum = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      sum += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended
    }
  }
  return sum;
}

/** µs on CPU per request of each process of the pair over `requests` paced round trips (no strace). */
async function cpuPerRequest(pair: Pair, requests: number, rate: number): Promise<number[]> {
  const client = await TripClient.open(pair.port);
  for (let i = 0; i < 50; i++) await client.trip(5000);
  const before = pair.procs.map((p) => cpuNs(p.pid));
  await paced(client, requests, rate);
  const after = pair.procs.map((p) => cpuNs(p.pid));
  client.close();
  return after.map((a, i) => (a - before[i]!) / 1000 / requests);
}

async function paced(client: TripClient, requests: number, rate: number): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < requests; i++) {
    await client.trip(5000);
    const due = start + ((i + 1) * 1000) / rate;
    while (performance.now() < due - 1) await new Promise((r) => setTimeout(r, 0));
    while (performance.now() < due);  // busy-wait the last ms: the client's own timer is not what is measured
  }
}

async function traced(pair: Pair, requests: number, rate: number, dir: string, detail: boolean): Promise<Map<string, [number, number]>[]> {
  const client = await TripClient.open(pair.port);
  const out: Map<string, [number, number]>[] = [];
  const tracers: { child: ChildProcess; file: string; done: Promise<void> }[] = [];
  for (const [i, p] of pair.procs.entries()) {
    const file = join(dir, `${pair.name.replace(/\W+/g, '-')}-${i}.txt`);
    const mode = detail ? ['-f', '-tt', '-e', 'trace=!clock_gettime', '-o', file] : ['-f', '-c', '-o', file];
    const child = spawn('strace', [...mode, '-p', String(p.pid)], { stdio: 'ignore' });
    const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    tracers.push({ child, file, done });
  }
  await new Promise((r) => setTimeout(r, 1500));  // strace attaches to every thread
  for (let i = 0; i < 20; i++) await client.trip(5000);  // settle after the attach (these are counted: 1% of the table)
  await paced(client, requests, rate);
  for (const t of tracers) t.child.kill('SIGINT');
  for (const t of tracers) {
    await t.done;
    if (detail) process.stdout.write(`==== ${t.file}\n${readFileSync(t.file, 'utf8')}`);
    out.push(parseSummary(readFileSync(t.file, 'utf8')));
  }
  client.close();
  return out;
}

async function main(): Promise<void> {
  const requests = numberArg('--requests', 2000, 100, 100_000);
  const rate = numberArg('--rate', 1000, 1, 10_000);
  const warmup = numberArg('--warmup', 3000, 0, 100_000);
  const only = (stringArg('--only') ?? 'isthmus x2 mTLS,haproxy x2 mTLS').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'mesh-syscalls-'));
  const upstream = await startUpstream(1024);
  const pairs: Pair[] = [];
  try {
    if (only.includes('isthmus x2')) {
      const server = await startIsthmus(upstream.ready!, 1, join(dir, 'plain-server'));
      const client = await startIsthmus(server.ready!.listenPort, 1, join(dir, 'plain-client'));
      pairs.push({ name: 'isthmus x2', procs: [client, server], port: client.ready!.listenPort });
    }
    if (only.includes('isthmus x2 mTLS')) {
      const m = await startMtlsMesh(upstream.ready!, join(dir, 'isthmus'));
      pairs.push({ name: 'isthmus x2 mTLS', ...m });
    }
    for (const [i, arg] of process.argv.entries()) {
      if (arg !== '--mtls-bin') continue;
      const b = /^([\w.-]+)=(.+)$/.exec(process.argv[i + 1] ?? '');
      if (b === null || !existsSync(b[2]!)) throw new Error('--mtls-bin: NAME=PATH of a bin/isthmus.js');
      const m = await startMtlsMesh(upstream.ready!, join(dir, `isthmus-${b[1]}`), { bin: b[2]! });
      pairs.push({ name: `isthmus x2 mTLS ${b[1]}`, ...m });
    }
    const haproxy = findPeerBinary('haproxy');
    if (only.includes('haproxy x2 mTLS') && haproxy !== null) {
      const m = await startHaproxyMtlsMesh(haproxy, upstream.ready!, join(dir, 'haproxy'));
      pairs.push({ name: 'haproxy x2 mTLS', ...m });
    }
    for (const pair of pairs) {
      const c = await TripClient.open(pair.port);
      for (let i = 0; i < warmup; i++) await c.trip(5000);
      c.close();
    }
    if (process.argv.includes('--cpu')) {
      const rounds = numberArg('--rounds', 5, 1, 50);
      const per = new Map<string, number[][]>();
      for (let r = 0; r < rounds; r++) {
        // Alternate the order: on a shared machine the pair measured first in a round reads a few µs apart from
        // the one measured last (7 rounds, load 20: 4 µs either way depending on the order).
        for (const pair of r % 2 === 0 ? pairs : [...pairs].reverse()) {
          const got = await cpuPerRequest(pair, requests, rate);
          per.set(pair.name, [...(per.get(pair.name) ?? []), got]);
        }
      }
      const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)]!;
      for (const [name, runs] of per) {
        const sides = runs[0]!.map((_, i) => median(runs.map((x) => x[i]!)));
        process.stdout.write(`${name}: CPU µs/request client-side ${sides[0]!.toFixed(1)}, server-side ${sides[1]!.toFixed(1)} (median of ${rounds})\n`);
      }
      return;
    }
    for (const pair of pairs) {
      const sides = await traced(pair, requests, rate, dir, process.argv.includes('--detail'));
      for (const [i, counts] of sides.entries()) {
        const side = i === 0 ? 'client-side' : 'server-side';
        const rows = [...counts].filter(([, [c]]) => c / requests >= 0.05).sort((a, b) => b[1][0] - a[1][0]);
        const total = [...counts.values()].reduce((s, [c]) => s + c, 0);
        process.stdout.write(`${pair.name} ${side}: ${(total / requests).toFixed(2)} syscalls/request\n`);
        for (const [name, [c, e]] of rows) {
          process.stdout.write(`  ${name.padEnd(16)} ${(c / requests).toFixed(2).padStart(6)}${e > 0 ? `  (${(e / requests).toFixed(2)} errors)` : ''}\n`);
        }
      }
    }
  } finally {
    for (const p of pairs) for (const proc of p.procs) await proc.stop();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
