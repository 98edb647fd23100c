// What each sidecar of the Isthmus mTLS pair allocates per request on the
// mesh path (app -> sidecar -> mTLS -> sidecar -> app, one request at a time,
// 1 KB answers), and what the young-generation collections that garbage
// causes cost: on a one-request-at-a-time path a scavenge's pause lands
// whole on the request it interrupts, so the bytes per request set how
// often the p99 meets one, and the pause sets how much it adds.
//
// Both sidecars run with V8's --trace-gc-nvp (one line per collection, with
// the bytes allocated since the previous one and its pause); after --warmup
// unmeasured round trips (the JIT's warm-up allocates too), --requests round
// trips are counted. Heap bytes only: a Buffer's backing store outside the
// V8 heap is not in them (its JS object is).
//
// Usage: node dist/bench/mesh-alloc.js [--requests N] [--warmup N] [--runs N]
//   [--node-flags '--max-semi-space-size=4 ...'] (after bin/isthmus.js's own flags, so they win)
//   [--bin /other/checkout/bin/isthmus.js] (another build's sidecars: the figure before a change)
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManagedProcess } from '../src/process/managed-process.js';
import { numberArg, stringArg } from './bench-args.js';
import { startMtlsMesh } from './mesh-mtls-target.js';
import { roundTrips } from './mesh-round-trips.js';
import { startUpstream } from './scenarios.js';

function flagsArg(): string[] {
  const i = process.argv.indexOf('--node-flags');
  if (i < 0) return [];
  const value = process.argv[i + 1];
  if (value === undefined) throw new Error('--node-flags needs a value');
  const flags = value.split(/\s+/).filter((f) => f !== '');
  const bad = flags.find((f) => !/^--[\w-]+(=\S+)?$/.test(f));
  if (bad !== undefined) throw new Error(`--node-flags: ${bad} is not a --flag or --flag=value`);
  return flags;
}

/** One collection as --trace-gc-nvp prints it. */
interface GcRecord {
  readonly kind: string;
  readonly pauseMs: number;
  readonly allocated: number;
  readonly promoted: number;
}

/** Takes a --trace-gc-nvp line; returns its collection, or null for any other line. */
export function parseGcLine(line: string): GcRecord | null {
  const kind = / gc=(\w+) /.exec(line);
  const pause = / pause=([\d.]+) /.exec(line);
  const allocated = / allocated=(\d+) /.exec(line);
  if (kind === null || pause === null || allocated === null) return null;
  const promoted = / promoted=(\d+) /.exec(line);
  return { kind: kind[1]!, pauseMs: Number(pause[1]), allocated: Number(allocated[1]), promoted: Number(promoted?.[1] ?? 0) };
}

/** kB of a /proc/PID/status field (VmRSS, VmHWM); NaN when unreadable. */
function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]);
  } catch {
    return NaN;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface SideFigures {
  readonly side: string;
  readonly scavenges: number;
  readonly markCompacts: number;
  readonly bytesPerRequest: number;
  readonly promotedPerRequest: number;
  readonly pauses: number[];
  readonly rssMb: number;
  readonly peakRssMb: number;
}

async function measureOnce(requests: number, warmup: number, flags: string[], bin: string | undefined): Promise<SideFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-mesh-alloc-'));
  const procs: ManagedProcess<unknown>[] = [];
  const gcs = new Map<string, GcRecord[]>([['client', []], ['server', []]]);
  let measuring = false;
  try {
    const upstream = await startUpstream();
    procs.push(upstream);
    const mesh = await startMtlsMesh(upstream.ready!, join(dir, 'mesh'), {
      nodeFlags: ['--trace-gc-nvp', ...flags],
      bin,
      onLine: (side, line) => {
        if (!measuring) return;
        const gc = parseGcLine(line);
        if (gc !== null) gcs.get(side)!.push(gc);
      },
    });
    procs.push(...mesh.procs);
    if (warmup > 0) await roundTrips(mesh.port, warmup, 300_000);
    await sleep(300); // the warm-up's last collections' lines
    measuring = true;
    await roundTrips(mesh.port, requests, 300_000);
    await sleep(300);
    measuring = false;
    // procs: upstream, client side, server side (startMtlsMesh's order)
    return (['client', 'server'] as const).map((side, i) => {
      const records = gcs.get(side)!;
      const pid = mesh.procs[i]!.pid;
      const scavenges = records.filter((r) => r.kind === 's');
      return {
        side,
        scavenges: scavenges.length,
        markCompacts: records.length - scavenges.length,
        bytesPerRequest: records.reduce((a, r) => a + r.allocated, 0) / requests,
        promotedPerRequest: records.reduce((a, r) => a + r.promoted, 0) / requests,
        pauses: scavenges.map((r) => r.pauseMs),
        rssMb: statusKb(pid, 'VmRSS') / 1024,
        peakRssMb: statusKb(pid, 'VmHWM') / 1024,
      };
    });
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const requests = numberArg('--requests', 20_000, 100, 1_000_000);
  const warmup = numberArg('--warmup', 5000, 0, 1_000_000);
  const runs = numberArg('--runs', 1, 1, 20);
  const flags = flagsArg();
  const bin = stringArg('--bin');
  if (bin !== undefined && !existsSync(bin)) throw new Error(`--bin: no file ${bin}`);
  process.stdout.write(`${requests} sequential requests through the Isthmus mTLS pair (1 KB answers) after ${warmup} unmeasured; ` +
    `extra node flags: ${flags.length === 0 ? 'none' : flags.join(' ')}${bin === undefined ? '' : `; sidecars: ${bin}`}\n`);
  process.stdout.write('| run | sidecar | heap bytes allocated per request | promoted per request | scavenges per 1k requests | scavenge pause mean / max ms | mark-compacts | RSS / peak RSS MB |\n' +
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n');
  for (let run = 1; run <= runs; run++) {
    for (const s of await measureOnce(requests, warmup, flags, bin)) {
      const mean = s.pauses.reduce((a, b) => a + b, 0) / Math.max(1, s.pauses.length);
      const pauses = `${mean.toFixed(2)} / ${Math.max(0, ...s.pauses).toFixed(1)}`;
      process.stdout.write(`| ${run} | ${s.side} | ${Math.round(s.bytesPerRequest)} | ${s.promotedPerRequest.toFixed(1)} | ` +
        `${(s.scavenges * 1000 / requests).toFixed(2)} | ${pauses} | ${s.markCompacts} | ${s.rssMb.toFixed(1)} / ${s.peakRssMb.toFixed(1)} |\n`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`mesh-alloc: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
