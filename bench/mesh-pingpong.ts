// Where the mesh's added latency sits, without queueing: one keep-alive
// connection sends a request, waits for the whole 1 KB answer, sends the
// next (ping-pong), against direct, one Isthmus sidecar alone, the Isthmus
// pair plaintext and with mTLS, and the haproxy pair with mTLS (when
// installed), in interleaved rounds. Each request's round trip then is the
// proxies' work plus the process wake-ups on the path, with none of the
// fixed-rate mode's waiting behind other requests.
//
// Every target first gets --warmup round trips (default 5000) that are not
// measured: V8 compiles the proxy's hot path with TurboFan over its first few
// thousand requests, on background threads that on a 2-core machine take the
// CPU from the request path, and the first requests also grow the heap. A
// 300-request warm-up left that inside the first measured rounds (1-3% of
// their requests 0.5-3 ms slower, the later rounds without it), which is
// what a sidecar does once after start, not per request.
//
// With 3 rounds or more a second table gives the median over rounds of each round's added figure: a burst
// of other load on a shared machine hits one round of one target, and the median sets it aside.
//
// Usage: node dist/bench/mesh-pingpong.js [--rounds N] [--requests N] [--warmup N]
//   [--only 'isthmus x2,haproxy x2 mTLS'] (direct and these; the others are not started)
//   [--mtls-flags 'NAME=--flag --flag=value'] (repeatable: one more Isthmus mTLS pair, row 'isthmus x2 mTLS NAME',
//   its sidecars run with these node flags after bin/isthmus.js's own: V8 settings compared in the same rounds)
//   [--interleave rounds|trips] (rounds: each target's round of --requests in turn; trips: one round trip per
//   target in turn, the fairest comparison on a busy machine, where a burst of other load would hit one round)
//   [--mtls-bin 'NAME=/other/checkout/bin/isthmus.js'] (repeatable: one more Isthmus mTLS pair, row
//   'isthmus x2 mTLS NAME', run from another build: before and after a change in the same rounds)
//   [--dump FILE.csv] (every round trip: target, round, seq, start in CLOCK_MONOTONIC ms as perf and
//   `strace -ttt` print it, latency; and the pids, to set the slow ones beside a trace of the processes)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManagedProcess } from '../src/process/managed-process.js';
import { startIsthmus } from './isthmus-target.js';
import { startHaproxyMtlsMesh } from './mesh-haproxy-mtls.js';
import { numberArg, stringArg } from './bench-args.js';
import { startMtlsMesh } from './mesh-mtls-target.js';
import { roundTrips, TripClient, type Sample } from './mesh-round-trips.js';
import { findPeerBinary } from './peers.js';
import { startUpstream } from './scenarios.js';

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] ?? NaN;
};

/** A path to measure: its name and how to start what it needs (resolves with the port the client connects to). */
interface PathSpec {
  readonly name: string;
  readonly start: (upstreamPort: number, dir: string, procs: ManagedProcess<unknown>[]) => Promise<number | null>;
}

const PATHS: readonly PathSpec[] = [
  {
    name: 'isthmus x2',
    start: async (up, dir, procs) => {
      const server = await startIsthmus(up, 1, join(dir, 'plain-server'));
      procs.push(server);
      const client = await startIsthmus(server.ready!.listenPort, 1, join(dir, 'plain-client'));
      procs.push(client);
      return client.ready!.listenPort;
    },
  },
  {
    name: 'isthmus x1',
    start: async (up, dir, procs) => {
      const single = await startIsthmus(up, 1, join(dir, 'plain-single'));
      procs.push(single);
      return single.ready!.listenPort;
    },
  },
  {
    name: 'isthmus x2 mTLS',
    start: async (up, dir, procs) => {
      const mtls = await startMtlsMesh(up, join(dir, 'isthmus-mtls'));
      procs.push(...mtls.procs);
      return mtls.port;
    },
  },
  {
    name: 'haproxy x2 mTLS',
    start: async (up, dir, procs) => {
      const haproxy = findPeerBinary('haproxy');
      if (haproxy === null) {
        process.stdout.write('haproxy is not installed: its row is skipped\n');
        return null;
      }
      const pair = await startHaproxyMtlsMesh(haproxy, up, join(dir, 'haproxy-mtls'));
      procs.push(...pair.procs);
      return pair.port;
    },
  },
];

/** --mtls-flags NAME=FLAGS and --mtls-bin NAME=PATH: each an Isthmus mTLS pair with those node flags, or from that build. */
function flagVariants(): PathSpec[] {
  const out: PathSpec[] = [];
  process.argv.forEach((arg, i) => {
    const value = process.argv[i + 1] ?? '';
    if (arg === '--mtls-bin') {
      const b = /^([\w.-]+)=(.+)$/.exec(value);
      if (b === null || !existsSync(b[2]!)) throw new Error(`--mtls-bin: '${value}' is not NAME=PATH of a bin/isthmus.js`);
      out.push({
        name: `isthmus x2 mTLS ${b[1]}`,
        start: async (up, dir, procs) => {
          const mtls = await startMtlsMesh(up, join(dir, `isthmus-mtls-${b[1]}`), { bin: b[2]! });
          procs.push(...mtls.procs);
          return mtls.port;
        },
      });
      return;
    }
    if (arg !== '--mtls-flags') return;
    const m = /^([\w.-]+)=(.*)$/.exec(value);
    const flags = m === null ? [] : m[2]!.split(/\s+/).filter((f) => f !== '');
    if (m === null || flags.some((f) => !/^--[\w-]+(=\S+)?$/.test(f))) throw new Error(`--mtls-flags: '${value}' is not NAME=--flag --flag=value ...`);
    out.push({
      name: `isthmus x2 mTLS ${m[1]}`,
      start: async (up, dir, procs) => {
        const mtls = await startMtlsMesh(up, join(dir, `isthmus-mtls-${m[1]}`), { nodeFlags: flags });
        procs.push(...mtls.procs);
        return mtls.port;
      },
    });
  });
  return out;
}

async function main(): Promise<void> {
  const rounds = numberArg('--rounds', 5, 1, 100);
  const requests = numberArg('--requests', 1000, 1, 100_000);
  const warmup = numberArg('--warmup', 5000, 0, 1_000_000);
  const dump = stringArg('--dump');
  const interleave = stringArg('--interleave') ?? 'rounds';
  if (interleave !== 'rounds' && interleave !== 'trips') throw new Error('--interleave must be rounds or trips');
  const tripByTrip = interleave === 'trips';
  const onlyArg = stringArg('--only');
  const only = onlyArg === undefined ? null : new Set(onlyArg.split(','));
  if (only !== null) {
    const unknown = [...only].filter((name) => name !== 'direct' && !PATHS.some((p) => p.name === name));
    if (unknown.length > 0) throw new Error(`--only: unknown path ${unknown.join(', ')} (paths: ${PATHS.map((p) => p.name).join(', ')})`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-pingpong-'));
  const procs: ManagedProcess<unknown>[] = [];
  try {
    const upstream = await startUpstream();
    procs.push(upstream);
    const up = upstream.ready!;
    const targets = new Map<string, number>([['direct', up]]);
    for (const path of [...PATHS, ...flagVariants()]) {
      if (only !== null && !only.has(path.name) && !path.name.startsWith('isthmus x2 mTLS ')) continue;
      const port = await path.start(up, dir, procs);
      if (port !== null) targets.set(path.name, port);
    }
    if (dump !== undefined) process.stdout.write(`pids: bench=${process.pid} ${procs.map((p) => `${p.name}=${p.pid}`).join(' ')}\n`);
    const samples = new Map<string, Sample[]>([...targets.keys()].map((k) => [k, []]));
    // In slices, interleaved, so no target's warm-up runs far from the others'.
    for (let done = 0; done < warmup; done += requests) {
      for (const port of targets.values()) await roundTrips(port, Math.min(requests, warmup - done), 120_000);
    }
    if (tripByTrip) {
      // One round trip per target in turn (starting with a different target each time), so each moment's load
      // on the machine falls on every target alike.
      const clients = await Promise.all([...targets].map(async ([name, port]) => ({ name, client: await TripClient.open(port) })));
      try {
        for (let i = 0; i < rounds * requests; i++) {
          for (let k = 0; k < clients.length; k++) {
            const { name, client } = clients[(i + k) % clients.length]!;
            samples.get(name)!.push(await client.trip(120_000));
          }
        }
      } finally {
        for (const { client } of clients) client.close();
      }
    } else {
      for (let r = 0; r < rounds; r++) {
        for (const [name, port] of targets) samples.get(name)!.push(...await roundTrips(port, requests, 120_000));
      }
    }
    if (dump !== undefined) {
      const lines = ['target,round,seq,at_ms,latency_ms'];
      for (const [name, values] of samples) values.forEach((v, i) => lines.push(`${name},${Math.floor(i / requests)},${i % requests},${v.at.toFixed(3)},${v.ms.toFixed(4)}`));
      writeFileSync(dump, `${lines.join('\n')}\n`);
    }
    const direct = samples.get('direct')!.map((v) => v.ms);
    const [d50, d90, d99] = [0.5, 0.9, 0.99].map((q) => quantile(direct, q));
    process.stdout.write(`${rounds} rounds x ${requests} sequential requests per target (1 KB answers), after ${warmup} unmeasured${tripByTrip ? ', one round trip per target in turn' : ''}\n`);
    process.stdout.write('| path | p50 ms | p90 ms | p99 ms | added p50 ms | added p90 ms | added p99 ms | > 1 ms per round |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n');
    for (const [name, timed] of samples) {
      const values = timed.map((v) => v.ms);
      const [p50, p90, p99] = [0.5, 0.9, 0.99].map((q) => quantile(values, q));
      const f = (v: number): string => v.toFixed(3);
      const slow = slowPerRound(values, requests).join(' ');
      process.stdout.write(`| ${name} | ${f(p50!)} | ${f(p90!)} | ${f(p99!)} | ${f(p50! - d50!)} | ${f(p90! - d90!)} | ${f(p99! - d99!)} | ${slow} |\n`);
    }
    if (rounds >= 3) {
      // On a shared machine a burst of other load hits one round of one target; the median over rounds of each
      // round's added figure (against direct's same round) sets such a round aside.
      process.stdout.write(`\nmedian over the ${rounds} rounds of each round's added figure (ms):\n| path | added p50 | added p90 | added p99 |\n| --- | ---: | ---: | ---: |\n`);
      const directRounds = perRound(direct, requests);
      for (const [name, timed] of samples) {
        if (name === 'direct') continue;
        const mine = perRound(timed.map((v) => v.ms), requests);
        const added = [0.5, 0.9, 0.99].map((q) => median(mine.map((r, i) => quantile(r, q)! - quantile(directRounds[i]!, q)!)).toFixed(3));
        process.stdout.write(`| ${name} | ${added.join(' | ')} |\n`);
      }
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function perRound(values: readonly number[], perRoundCount: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < values.length; i += perRoundCount) out.push(values.slice(i, i + perRoundCount));
  return out;
}

const median = (values: readonly number[]): number => quantile(values, 0.5)!;

/** How many round trips took over 1 ms in each round: a burst in one round is the machine, the same in every round is the path. */
function slowPerRound(values: readonly number[], perRoundCount: number): number[] {
  return perRound(values, perRoundCount).map((r) => r.filter((v) => v > 1).length);
}

main().catch((err: unknown) => {
  process.stderr.write(`mesh-pingpong: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
