// Where the fixed-rate mesh tail comes from: the direct path, the Isthmus mTLS
// pair and the haproxy mTLS pair at a fixed rate, in interleaved rounds, each
// row beside counts that do not depend on the machine's other load as much as
// a p99 does:
//  - the client's send lag (how late requests left against their intended
//    times; charged to their latencies) and wake-up bursts, per pacing;
//  - run-queue wait per 1000 requests of every process on the path (the
//    bench's own threads, the upstream, each proxy) from schedstat;
//  - the Isthmus sidecars' GC pauses per 1000 requests (--trace-gc), and how
//    many requests over --slow-ms overlap one, against what chance gives.
//
// Usage: node dist/bench/mesh-rate-probe.js [--rounds 3] [--duration 5000] [--warmup 1000]
//   [--rate 1000] [--connections 16] [--pacing per-connection,shared] [--slow-ms 1]
//   [--mtls-bin NAME=/other/bin/isthmus.js] (one more Isthmus pair from another build)
//   [--pin] (each proxy pair's processes on CPU 0, the bench and upstream on CPU 1: as `bench --pin`)
//   [--rt] (during each measured window every process on the path, this one too, runs SCHED_FIFO 10 via
//   chrt: other load on the machine cannot preempt it, so what is left is the path's own; needs root or
//   CAP_SYS_NICE; the path uses about a third of a core at 1000/s, and the kernel's RT throttling bounds it)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManagedProcess } from '../src/process/managed-process.js';
import { numberArg, stringArg } from './bench-args.js';
import { coincidence, GcTraceClock } from './gc-trace-clock.js';
import { runLoad, type LoadResult } from './load-generator.js';
import type { Pacing } from './load-protocol.js';
import { startHaproxyMtlsMesh } from './mesh-haproxy-mtls.js';
import { startMtlsMesh } from './mesh-mtls-target.js';
import { SEND_LAG_BOUNDS_MS } from './open-loop-stats.js';
import { findPeerBinary } from './peers.js';
import { pinProcessTo } from './cpu-pinning.js';
import { sampleSched, schedPer1k, slicesByThreadName, type SchedSample } from './sched-wait.js';
import { spawnSync } from 'node:child_process';
import { realtimeWindow } from './rt-priority.js';
import { startUpstream } from './scenarios.js';

interface Target {
  readonly name: string;
  readonly port: number;
  /** The proxies' pids, named (client side first). */
  readonly pids: readonly (readonly [string, number])[];
  readonly gc: GcTraceClock | null;
  /** The server side's listening port: the connections to it are the mesh hop's. */
  readonly hopPort: number | null;
}

/** The established connections to port (their client ports), from ss; empty when ss is missing. */
function hopConnections(port: number | null): Set<string> {
  if (port === null) return new Set();
  const r = spawnSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return new Set((r.stdout ?? '').split('\n').map((l) => l.trim().split(/\s+/)[2] ?? '').filter((a) => a !== ''));
}

interface Row {
  readonly target: string;
  readonly pacing: Pacing;
  readonly round: number;
  readonly result: LoadResult;
  readonly waits: Record<string, number>;
  readonly gcPer1k: number | null;
  readonly gcPauseMsPer1k: number | null;
  readonly overGc: string;
  /** Wake-ups (times on a CPU) per request of each process's threads, by thread name. */
  readonly slices: string;
  /** Mesh-hop connections: established at the start, opened meanwhile (still open at the end). */
  readonly hop: string;
}

const median = (v: readonly number[]): number => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)] ?? NaN;

async function main(): Promise<void> {
  const rounds = numberArg('--rounds', 3, 1, 50);
  const durationMs = numberArg('--duration', 5000, 500, 120_000);
  const warmupMs = numberArg('--warmup', 1000, 0, 60_000);
  const rate = numberArg('--rate', 1000, 1, 100_000);
  const connections = numberArg('--connections', 16, 1, 1000);
  const slowMs = numberArg('--slow-ms', 1, 0, 1000);
  const pin = process.argv.includes('--pin');
  const rt = process.argv.includes('--rt');
  const pacings = (stringArg('--pacing') ?? 'per-connection,shared').split(',') as Pacing[];
  if (pacings.some((p) => p !== 'per-connection' && p !== 'shared')) throw new Error('--pacing: a list of per-connection and shared');
  const other = stringArg('--mtls-bin');
  const otherMatch = other === undefined ? null : /^([\w.-]+)=(.+)$/.exec(other);
  if (other !== undefined && otherMatch === null) throw new Error('--mtls-bin: NAME=PATH');
  // --rt: refused now (no chrt, no privilege), before anything starts.
  if (rt) realtimeWindow([process.pid]).end();
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-rate-probe-'));
  const procs: ManagedProcess<unknown>[] = [];
  // A signal ends the process without the finally blocks below: the children would outlive it, real-time
  // when it came inside a window (a terminal's Ctrl-C reaches them too, a kill of this pid alone does not).
  let openWindow: { end(): void } | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`mesh-rate-probe: ${signal}, stopping everything it started\n`);
    openWindow?.end();
    openWindow = null;
    void Promise.all(procs.map((p) => p.stop().catch(() => {}))).finally(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const upstream = await startUpstream();
    procs.push(upstream);
    const targets: Target[] = [{ name: 'direct', port: upstream.ready!, pids: [], gc: null, hopPort: null }];
    const isthmusPair = async (name: string, bin?: string): Promise<void> => {
      const gc = new GcTraceClock();
      const mesh = await startMtlsMesh(upstream.ready!, join(dir, name.replace(/\W+/g, '-')), {
        nodeFlags: ['--trace-gc'],
        onLine: (_side, line) => void gc.line(line),
        ...(bin === undefined ? {} : { bin }),
      });
      procs.push(...mesh.procs);
      targets.push({ name, port: mesh.port, pids: [['client-side', mesh.procs[0]!.pid], ['server-side', mesh.procs[1]!.pid]], gc, hopPort: mesh.procs[1]!.ready!.listenPort });
    };
    await isthmusPair('isthmus x2 mTLS');
    if (otherMatch !== null) await isthmusPair(`isthmus x2 mTLS ${otherMatch[1]}`, otherMatch[2]!);
    const haproxy = findPeerBinary('haproxy');
    if (haproxy !== null) {
      const pair = await startHaproxyMtlsMesh(haproxy, upstream.ready!, join(dir, 'haproxy'));
      procs.push(...pair.procs);
      targets.push({ name: 'haproxy x2 mTLS', port: pair.port, pids: [['client-side', pair.procs[0]!.pid], ['server-side', pair.procs[1]!.pid]], gc: null, hopPort: pair.procs[1]!.ready! });
    } else {
      process.stdout.write('haproxy is not installed: its row is skipped\n');
    }
    if (pin) {
      pinProcessTo(process.pid, 1);
      pinProcessTo(upstream.pid, 1);
      for (const t of targets) for (const [, pid] of t.pids) pinProcessTo(pid, 0);
    }
    // V8 compiles a sidecar's hot path over its first few thousand requests, on threads that take the CPU from
    // the request path (docs/performance.md): the bench's max-mode runs do that before its fixed-rate ones; here
    // 2 s of closed loop per target, not measured.
    for (const t of targets) await runLoad({ port: t.port, mode: 'max', connections: 4, rate: 1, threads: 1, warmupMs: 0, durationMs: 2000 });
    process.stdout.write(`${rounds} rounds, ${rate} req/s over ${connections} connections, ${durationMs} ms measured after ${warmupMs} ms; pacing ${pacings.join(', ')}${pin ? '; pinned' : ''}${rt ? '; the path SCHED_FIFO in each window' : ''}\n`);
    const rows: Row[] = [];
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < targets.length * pacings.length; k++) {
        const slot = (k + round) % (targets.length * pacings.length);
        const target = targets[slot % targets.length]!;
        const pacing = pacings[Math.floor(slot / targets.length)]!;
        const watched: (readonly [string, number])[] = [['bench', process.pid], ['upstream', upstream.pid], ...target.pids];
        let before: (SchedSample | null)[] = [];
        let after: (SchedSample | null)[] = [];
        let slicesBefore: Record<string, number>[] = [];
        let slicesAfter: Record<string, number>[] = [];
        let hopBefore = new Set<string>();
        let hopAfter = new Set<string>();
        let window: { end(): void } | null = null;
        let from = 0;
        let to = 0;
        let result: LoadResult;
        try {
          result = await runLoad({
            port: target.port, mode: 'fixed', connections, rate, threads: 1, warmupMs, durationMs, pacing, slowMs,
            onWindowStart: () => {
              from = performance.timeOrigin + performance.now();
              if (rt) openWindow = window = realtimeWindow(watched.map(([, pid]) => pid));
              before = watched.map(([, pid]) => sampleSched(pid));
              slicesBefore = watched.map(([, pid]) => slicesByThreadName(pid));
              hopBefore = hopConnections(target.hopPort);
            },
            onWindowEnd: () => {
              to = performance.timeOrigin + performance.now();
              after = watched.map(([, pid]) => sampleSched(pid));
              (window as { end(): void } | null)?.end();
              openWindow = window = null;
              slicesAfter = watched.map(([, pid]) => slicesByThreadName(pid));
              hopAfter = hopConnections(target.hopPort);
            },
          });
        } finally {
          // A load that failed mid-window must not leave the path (this process too) real-time.
          (window as { end(): void } | null)?.end();
          openWindow = null;
        }
        const n = result.completed + result.errors;
        const waits: Record<string, number> = {};
        watched.forEach(([name], i) => {
          const per = schedPer1k(before[i] ?? null, after[i] ?? null, n);
          if (per !== null) waits[name] = per.waitMs;
        });
        // GC lines reach us shortly after the pause: let them in before placing them.
        await new Promise((r) => setTimeout(r, 200));
        const pauses = target.gc?.pauses(from, to) ?? null;
        const c = coincidence(result.openLoop.slow, pauses ?? [], from, to);
        rows.push({
          target: target.name, pacing, round, result, waits,
          gcPer1k: pauses === null ? null : (pauses.length * 1000) / n,
          gcPauseMsPer1k: pauses === null ? null : (pauses.reduce((s, p) => s + p.pauseMs, 0) * 1000) / n,
          slices: watched.map(([name], i) => `${name}: ${Object.entries(slicesAfter[i] ?? {}).map(([t, v]) => [t, (v - (slicesBefore[i]?.[t] ?? 0)) / n] as const).filter(([, v]) => v >= 0.05).map(([t, v]) => `${t} ${v.toFixed(2)}`).join(' ')}`).join('; '),
          hop: target.hopPort === null ? '' : `${hopBefore.size} open, ${[...hopAfter].filter((a) => !hopBefore.has(a)).length} new`,
          overGc: `${c.slow} slow, ${c.clientLate} sent late by over half their latency${pauses === null ? '' : `, ${c.overGc} over a GC pause (chance ${(c.chance * 100).toFixed(0)}%)`}`,
        });
      }
    }
    report(rows, targets.map((t) => t.name), pacings);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(rows: readonly Row[], names: readonly string[], pacings: readonly Pacing[]): void {
  const f = (v: number, d = 3): string => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const out: string[] = [];
  out.push('\nper round: | target | pacing | round | p50 | p90 | p99 | sent >0.1 ms late | >0.5 | >1 | wake-ups sending 1/2/3/4+ | run-queue wait ms per 1k: bench, upstream, proxies | GC pauses per 1k | GC ms per 1k | requests over --slow-ms: sent late, over a GC pause | hop connections |');
  for (const r of rows) {
    const lag = r.result.openLoop.sendLag;
    const total = lag.reduce((a, b) => a + b, 0) || 1;
    const over = (ms: number): string => `${((lag.slice(SEND_LAG_BOUNDS_MS.indexOf(ms as never) + 1).reduce((a, b) => a + b, 0) * 100) / total).toFixed(2)}%`;
    out.push(`| ${r.target} | ${r.pacing} | ${r.round} | ${f(r.result.p50_ms)} | ${f(r.result.p90_ms)} | ${f(r.result.p99_ms)} | ${over(0.1)} | ${over(0.5)} | ${over(1)} | ${r.result.openLoop.bursts.join('/')} | ${Object.entries(r.waits).map(([k, v]) => `${k} ${f(v, 1)}`).join(', ')} | ${r.gcPer1k === null ? '' : f(r.gcPer1k, 2)} | ${r.gcPauseMsPer1k === null ? '' : f(r.gcPauseMsPer1k, 2)} | ${r.overGc} | ${r.hop} |`);
  }
  out.push('\nCPU wake-ups per request by thread (schedstat timeslices):');
  for (const r of rows) if (r.round === 0) out.push(`${r.target} (${r.pacing}): ${r.slices}`);
  out.push('\nmedian over rounds of the added figure against direct in the same round and pacing (ms):\n| target | pacing | added p50 | added p90 | added p99 | p99 | run-queue wait ms per 1k (sum of the path) |');
  for (const pacing of pacings) {
    for (const name of names) {
      if (name === 'direct') continue;
      const mine = rows.filter((r) => r.target === name && r.pacing === pacing);
      const added = (pick: (r: LoadResult) => number): number =>
        median(mine.map((r) => pick(r.result) - pick(rows.find((d) => d.target === 'direct' && d.pacing === pacing && d.round === r.round)!.result)));
      const wait = median(mine.map((r) => Object.values(r.waits).reduce((a, b) => a + b, 0)));
      out.push(`| ${name} | ${pacing} | ${f(added((r) => r.p50_ms))} | ${f(added((r) => r.p90_ms))} | ${f(added((r) => r.p99_ms))} | ${f(median(mine.map((r) => r.result.p99_ms)))} | ${f(wait, 1)} |`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`mesh-rate-probe: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
