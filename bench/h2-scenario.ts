// `isthmus bench h2`: HTTP/2 and gRPC through the proxy (one worker, HTTP/2
// both sides) beside haproxy relaying h2 (nbthread 1) and a direct
// connection, visited interleaved run after run so the ratios hold on a shared
// machine: gRPC unary (a grpc-js client, 32 calls in flight on one channel)
// and h2load (-c 4 -m 16). Reports the median req/s and the proxy's median CPU
// ms per 1000 requests. The upstreams, the loads and the configs are
// bench/h2-bench.ts's (`npm run bench:h2` runs the same once, standalone).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isthmusCommand } from '../src/process/proxy-process.js';
import { findPeerBinary, freePort } from './peers.js';
import { median } from './result-row.js';
import { forkUpstreams, haproxyConfig, isthmusBootstrap, measureGrpc, measureH2load, waitPort, withCpu, type Measured } from './h2-bench.js';

export interface H2ScenarioOptions {
  readonly runs: number;
  /** Measured seconds per load run (each load adds a 1 s warm-up of its own). */
  readonly seconds: number;
}

export interface H2ResultRow {
  /** 'grpc unary' or 'h2load'. */
  readonly load: string;
  readonly target: string;
  /** Median over runs. */
  readonly rps: number;
  /** Failed calls or requests over all runs. */
  readonly errors: number;
  /** Median CPU ms of the target per 1000 requests; null for direct. */
  readonly cpu_ms_per_1k: number | null;
  readonly runs: number;
}

interface Target {
  readonly label: string;
  readonly grpcPort: number;
  readonly h2Port: number;
  readonly pid: number | null;
}

/** Runs the scenario; haproxy and h2load are skipped, and said so, when not installed. */
export async function runH2Scenario(
  options: H2ScenarioOptions,
  dir: string,
  log: (line: string) => void,
): Promise<{ rows: H2ResultRow[]; skipped: { target: string; reason: string }[] }> {
  const skipped: { target: string; reason: string }[] = [];
  mkdirSync(dir, { recursive: true });
  const children: ChildProcess[] = [];
  const samples = new Map<string, { rps: number[]; cpu: number[]; errors: number }>();
  try {
    const [grpcPort, h2Port, proxyGrpc, proxyH2, haGrpc, haH2] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
    children.push(await forkUpstreams(grpcPort, h2Port));
    writeFileSync(join(dir, 'bootstrap.yaml'), isthmusBootstrap(proxyGrpc, grpcPort, proxyH2, h2Port));
    const cmd = isthmusCommand(['proxy', '--bootstrap', join(dir, 'bootstrap.yaml'), '--admin-port', '0', '--data-dir', join(dir, 'data'), '--workers', '1']);
    const proxy = spawn(cmd.command, cmd.args, { stdio: 'ignore' });
    children.push(proxy);
    const targets: Target[] = [{ label: 'direct', grpcPort, h2Port, pid: null }, { label: 'isthmus 1w', grpcPort: proxyGrpc, h2Port: proxyH2, pid: proxy.pid ?? null }];
    const haproxy = findPeerBinary('haproxy');
    if (haproxy === null) skipped.push({ target: 'h2 haproxy', reason: 'haproxy is not installed' });
    else {
      writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(haGrpc, grpcPort, haH2, h2Port));
      const ha = spawn(haproxy, ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: 'ignore' });
      children.push(ha);
      targets.push({ label: 'haproxy', grpcPort: haGrpc, h2Port: haH2, pid: ha.pid ?? null });
    }
    for (const t of targets) await waitPort(t.grpcPort);
    const h2load = findPeerBinary('h2load' as 'wrk');
    if (h2load === null) skipped.push({ target: 'h2load', reason: 'h2load is not installed (Debian: nghttp2-client)' });
    const seconds = options.seconds;
    const record = (load: string, t: Target, m: Measured): void => {
      const key = `${load}\0${t.label}`;
      const s = samples.get(key) ?? samples.set(key, { rps: [], cpu: [], errors: 0 }).get(key)!;
      s.rps.push(m.rps);
      if (m.cpuMsPer1k !== null) s.cpu.push(m.cpuMsPer1k);
      s.errors += Math.max(0, m.errors);
      log(`run ${s.rps.length}/${options.runs} h2 ${load} ${t.label}: ${m.rps.toFixed(0)} req/s${m.cpuMsPer1k === null ? '' : `, ${m.cpuMsPer1k.toFixed(0)} ms CPU per 1k`}, errors ${m.errors}`);
    };
    for (let run = 1; run <= options.runs; run++) {
      for (const t of targets) record('grpc unary', t, await withCpu(t.pid, seconds, () => measureGrpc(`127.0.0.1:${t.grpcPort}`, seconds)));
      if (h2load !== null) {
        for (const t of targets) record('h2load', t, await withCpu(t.pid, seconds, () => measureH2load(h2load, t.h2Port, seconds)));
      }
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
  const rows: H2ResultRow[] = [];
  for (const [key, s] of samples) {
    const [load, target] = key.split('\0') as [string, string];
    rows.push({
      load,
      target,
      rps: Math.round(median(s.rps)),
      errors: s.errors,
      cpu_ms_per_1k: s.cpu.length === 0 ? null : Math.round(median(s.cpu)),
      runs: s.rps.length,
    });
  }
  return { rows, skipped };
}

/** The rows as a table, each Isthmus row against haproxy's on the same load. */
export function formatH2Table(rows: readonly H2ResultRow[]): string {
  const lines = ['load         target          req/s  errors  cpu-ms/1k   vs haproxy (req/s, cpu/1k)'];
  for (const r of rows) {
    const ha = rows.find((x) => x.load === r.load && x.target === 'haproxy');
    const vs = ha === undefined || r === ha || r.cpu_ms_per_1k === null || ha.cpu_ms_per_1k === null || ha.rps === 0 || ha.cpu_ms_per_1k === 0
      ? ''
      : `${(r.rps / ha.rps).toFixed(2)}x, ${(r.cpu_ms_per_1k / ha.cpu_ms_per_1k).toFixed(1)}x`;
    lines.push(`${r.load.padEnd(12)} ${r.target.padEnd(12)} ${String(r.rps).padStart(8)}  ${String(r.errors).padStart(6)}  ${(r.cpu_ms_per_1k === null ? '-' : String(r.cpu_ms_per_1k)).padStart(9)}   ${vs}`);
  }
  return `${lines.join('\n')}\n`;
}
