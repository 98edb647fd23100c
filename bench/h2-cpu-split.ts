// Where an h2load request's proxy CPU goes: user and kernel time per request (/proc/PID/stat utime and stime, all
// threads; this VM has no PMU, so perf stat counts no instructions) and, with --strace, syscalls per request
// (strace -f -c), for each build named and haproxy (nbthread 1) behind h2-bench.ts's upstreams, in one run.
// Every proxy is started fresh and warmed with WARM requests: a proxy that has served a million requests spends
// a fifth more per request than a fresh one (h2-bench's proxies serve the gRPC rounds too), and that must not
// pass for a difference between builds. Rounds interleave the targets; medians are printed.
// --flags installed (the default) runs each build with its bin/isthmus.js's `#!` V8 flags, the proxy as installed and
// as h2-bench.ts runs it; bare runs `node bin/isthmus.js` without them.
// Run: npx tsc -p . && node dist/bench/h2-cpu-split.js NAME=CHECKOUT [NAME=CHECKOUT ...] [--requests 50000]
//   [--warm 30000] [--rounds 3] [--flags installed|bare] [--strace]
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { binNodeFlags } from '../src/process/proxy-process.js';
import { numberArg, stringArg } from './bench-args.js';
import { forkUpstreams, haproxyConfig, isthmusBootstrap, waitPort } from './h2-bench.js';
import { clockTicksPerSecond } from './process-sampler.js';
import { findPeerBinary, freePort } from './peers.js';
import { median } from './result-row.js';

const run = promisify(execFile);
/** Per h2load run: a target that stops answering must not hang the bench. */
const LOAD_TIMEOUT_MS = 300_000;

interface Target {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly port: number;
}

/** utime and stime of every thread of pid, in clock ticks (/proc/PID/stat fields 14 and 15). */
function ticks(pid: number): [number, number] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return [Number(f[11]), Number(f[12])];
}

/** `count` requests by h2load -c 4 -m 16 (h2-bench's load); returns how many succeeded. */
async function h2load(port: number, count: number): Promise<number> {
  const { stdout } = await run('h2load', ['-c', '4', '-m', '16', '-n', String(count), `http://127.0.0.1:${port}/`], { timeout: LOAD_TIMEOUT_MS, maxBuffer: 1 << 22 });
  return Number(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(stdout)?.[1] ?? 0);
}

/** µs of user and of kernel time per request over one load. */
async function cpuSplit(t: Target, count: number): Promise<[number, number]> {
  const before = ticks(t.proc.pid!);
  const ok = await h2load(t.port, count);
  const after = ticks(t.proc.pid!);
  const us = 1e6 / clockTicksPerSecond() / Math.max(ok, 1);
  return [(after[0] - before[0]) * us, (after[1] - before[1]) * us];
}

/** `strace -c` summary lines → syscall → calls. */
function parseSummary(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !/^\d/.test(f[0]!) || f.at(-1) === 'total') continue;
    out.set(f.at(-1)!, Number(f[3]));
  }
  return out;
}

/** Syscalls per request while strace -f -c is attached to the whole process over one load. */
async function syscalls(t: Target, count: number, dir: string): Promise<Map<string, number>> {
  const file = join(dir, `strace.${t.name.replace(/\W/g, '_')}`);
  const tracer = spawn('strace', ['-f', '-c', '-o', file, '-p', String(t.proc.pid)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000)); // attached to every thread
  const ok = await h2load(t.port, count);
  tracer.kill('SIGINT');
  await new Promise((r) => tracer.once('exit', r));
  const per = new Map<string, number>();
  for (const [name, calls] of parseSummary(readFileSync(file, 'utf8'))) per.set(name, calls / Math.max(ok, 1));
  return per;
}

async function main(): Promise<void> {
  const specs = process.argv.slice(2).filter((a, i, all) => a.includes('=') && !all[i - 1]?.startsWith('--'));
  const requests = numberArg('--requests', 50_000, 1000, 10_000_000);
  const warm = numberArg('--warm', 30_000, 0, 10_000_000);
  const rounds = numberArg('--rounds', 3, 1, 50);
  const flags = stringArg('--flags') ?? 'installed';
  if (specs.length === 0 || (flags !== 'bare' && flags !== 'installed')) {
    console.error('usage: h2-cpu-split.js NAME=CHECKOUT [...] [--requests N] [--warm N] [--rounds N] [--flags installed|bare] [--strace]');
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-h2split-'));
  const children: ChildProcess[] = [];
  try {
    const [grpcPort, h2Port] = [await freePort(), await freePort()];
    children.push(await forkUpstreams(grpcPort, h2Port));
    const targets: Target[] = [];
    for (const spec of specs) {
      const name = spec.slice(0, spec.indexOf('='));
      const cli = join(resolve(spec.slice(spec.indexOf('=') + 1)), 'bin', 'isthmus.js');
      const [g, port] = [await freePort(), await freePort()];
      writeFileSync(join(dir, `${name}.yaml`), isthmusBootstrap(g, grpcPort, port, h2Port));
      const args = [...(flags === 'installed' ? binNodeFlags(cli) : []), cli, 'proxy', '--bootstrap', join(dir, `${name}.yaml`), '--admin-port', '0',
        '--data-dir', join(dir, `${name}-data`), '--workers', '1', '--access-log', 'off'];
      const proc = spawn(process.execPath, args, { stdio: 'ignore' });
      children.push(proc);
      targets.push({ name, proc, port });
    }
    const haproxy = findPeerBinary('haproxy');
    if (haproxy !== null) {
      const [g, port] = [await freePort(), await freePort()];
      writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(g, grpcPort, port, h2Port));
      const proc = spawn(haproxy, ['-f', join(dir, 'haproxy.cfg'), '-db'], { stdio: 'ignore' });
      children.push(proc);
      targets.push({ name: 'haproxy', proc, port });
    }
    for (const t of targets) await waitPort(t.port);
    for (const t of targets) if (warm > 0) await h2load(t.port, warm);
    const split = new Map<string, [number, number][]>(targets.map((t) => [t.name, []]));
    for (let r = 0; r < rounds; r++) for (const t of targets) split.get(t.name)!.push(await cpuSplit(t, requests));
    console.log(`h2load -c 4 -m 16 -n ${requests}, ${rounds} rounds after ${warm}, ${flags} V8 flags; proxy µs per request (median, [rounds]):`);
    for (const t of targets) {
      const s = split.get(t.name)!;
      const each = s.map(([u, k]) => `${u.toFixed(1)}+${k.toFixed(1)}`).join(', ');
      console.log(`  ${t.name.padEnd(10)} user ${median(s.map((x) => x[0])).toFixed(1)}  kernel ${median(s.map((x) => x[1])).toFixed(1)}  [${each}]`);
    }
    if (process.argv.includes('--strace')) {
      const per = new Map<string, Map<string, number>>();
      for (const t of targets) per.set(t.name, await syscalls(t, requests, dir));
      const names = [...new Set([...per.values()].flatMap((m) => [...m.entries()].filter(([, v]) => v >= 0.001).map(([k]) => k)))].sort();
      console.log(`syscalls per request (strace -f -c, ${requests} requests):`);
      console.log(`  ${'syscall'.padEnd(14)}${targets.map((t) => t.name.padStart(12)).join('')}`);
      for (const n of names) console.log(`  ${n.padEnd(14)}${targets.map((t) => (per.get(t.name)!.get(n) ?? 0).toFixed(3).padStart(12)).join('')}`);
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
