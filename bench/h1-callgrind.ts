// Per plaintext HTTP/1.1 request through the proxy (one worker, access log on, 1 KB answers), figures the load of a
// shared machine does not move: instructions (callgrind) or syscalls (strace -c) over a counted window. Each build
// named runs in turn behind the same bench upstream; after WARM requests (the JIT settled) the counter is zeroed
// (callgrind) or attached (strace), then N keep-alive requests over 50 connections are counted.
// Run: npx tsc -p . && node dist/bench/h1-callgrind.js callgrind|strace WARM N NAME=CHECKOUT [NAME=CHECKOUT ...]
//   e.g. node dist/bench/h1-callgrind.js strace 5000 20000 base=/work/base new=.
//   TRACING=PERCENT in the environment: the HCM traces at that random_sampling (spans to a collector of the run).
//   ACCESS_LOG=off: the proxies run without their access log (its instructions are the difference).
//   H1CG_VALGRIND_FLAGS='--cache-sim=yes' KEEP=1: the kept dump's summary line adds I1/D1/LL misses (events line).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { binNodeFlags } from '../src/process/proxy-process.js';
import { sendFixedCount } from './fixed-count-client.js';
import { benchBootstrapYaml } from './isthmus-target.js';
import { freePort } from './peers.js';
import { startSpanSink, startUpstream } from './scenarios.js';

const CONNECTIONS = 50;
/** Per load (under valgrind the proxy runs some 50 times slower). */
const LOAD_TIMEOUT_MS = 900_000;

/**
 * Instructions in a callgrind dump: all threads, and the event loop without the collections run on it (the steadier
 * figure: TurboFan still compiles on other threads after tens of thousands of requests, more in one run than another).
 */
function instructions(file: string): { all: number; loop: number } {
  const all = Number(/\n(?:summary|totals): (\d+)/.exec(readFileSync(file, 'latin1'))?.[1] ?? NaN);
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { maxBuffer: 1 << 26 }).toString();
  const inclusive = (re: RegExp): number => Number((re.exec(annotated)?.[1] ?? '0').replace(/,/g, ''));
  return { all, loop: inclusive(/^\s*([\d,]+) .*:uv_run /m) - inclusive(/^\s*([\d,]+) .*Heap::CollectGarbage\(/m) };
}

/** strace -c's table: calls per syscall name. */
function syscalls(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/gm)) calls.set(m[2]!, Number(m[1]));
  return calls;
}

async function up(port: number, proxy: ChildProcess, name: string): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await sendFixedCount(port, 1, 1, 5000).then(() => true, () => false);
    if (ok) return;
    if (i >= 150 || proxy.exitCode !== null) throw new Error(`${name}: the proxy never answered`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** TRACING=PERCENT: the HCM traces at that random_sampling, spans to a collector (bench/span-sink.ts) of the run. */
const TRACING = process.env.TRACING === undefined || process.env.TRACING === '' ? null : Number(process.env.TRACING);
let collectorPort = 0;
function tracingOption(): { tracing?: { samplingPercent: number; collectorPort: number } } {
  return TRACING === null ? {} : { tracing: { samplingPercent: TRACING, collectorPort } };
}

async function measure(mode: string, warm: number, n: number, dir: string, upstreamPort: number, spec: string): Promise<string> {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  const bin = join(resolve(spec.slice(eq + 1)), 'bin', 'isthmus.js');
  const port = await freePort();
  writeFileSync(join(dir, `${name}.yaml`), benchBootstrapYaml(upstreamPort, { listenPort: port, ...tracingOption() }));
  const out = join(dir, `callgrind.${name}`);
  const node = [process.execPath, ...binNodeFlags(bin), ...(process.env.H1CG_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''), bin, 'proxy', '--bootstrap', join(dir, `${name}.yaml`), '--admin-port', '0',
    '--data-dir', join(dir, `${name}-data`), '--workers', '1', '--access-log', process.env.ACCESS_LOG === 'off' ? 'off' : join(dir, `${name}.log`)];
  // H1CG_VALGRIND_FLAGS: e.g. --cache-sim=yes (the dump then also counts L1/LL misses: the cost of code and data a
  // path touches, which a proxy sharing its core's caches pays more of than its instruction count says).
  const valgrindFlags = (process.env.H1CG_VALGRIND_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const argv = mode === 'callgrind' ? ['valgrind', '--tool=callgrind', ...valgrindFlags, `--callgrind-out-file=${out}`, ...node] : node;
  const proxy = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  try {
    await up(port, proxy, name);
    await sendFixedCount(port, warm, CONNECTIONS, LOAD_TIMEOUT_MS);
    if (mode === 'callgrind') {
      execFileSync('callgrind_control', ['-z', String(proxy.pid)], { stdio: 'ignore' });
      await sendFixedCount(port, n, CONNECTIONS, LOAD_TIMEOUT_MS);
      execFileSync('callgrind_control', ['-d', String(proxy.pid)], { stdio: 'ignore' });
      const c = instructions(`${out}.1`);
      return `${name}: ${(c.all / n / 1000).toFixed(1)}k instructions per request, ${(c.loop / n / 1000).toFixed(1)}k on the event loop without its collections (${n} after ${warm})`;
    }
    const strace = spawn('strace', ['-f', '-c', '-o', join(dir, `${name}.strace`), '-p', String(proxy.pid)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1500));
    await sendFixedCount(port, n, CONNECTIONS, LOAD_TIMEOUT_MS);
    strace.kill('SIGINT');
    await new Promise((r) => strace.on('exit', r));
    const calls = syscalls(readFileSync(join(dir, `${name}.strace`), 'utf8'));
    const per = [...calls].filter(([, c]) => c >= n / 100).sort((a, b) => b[1] - a[1]).map(([s, c]) => `${s} ${(c / n).toFixed(2)}`);
    return `${name}: per request ${per.join(', ')} (${n} after ${warm})`;
  } finally {
    proxy.kill('SIGTERM');
  }
}

const [mode, warm, n, ...specs] = process.argv.slice(2);
if ((mode !== 'callgrind' && mode !== 'strace') || !(Number(warm) >= 0) || !(Number(n) > 0) || specs.length === 0 || specs.some((s) => !s.includes('='))) {
  console.error('usage: h1-callgrind.js callgrind|strace WARM N NAME=CHECKOUT [NAME=CHECKOUT ...]');
  process.exitCode = 2;
} else {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-h1cg-'));
  const upstream = await startUpstream();
  const collector = TRACING === null ? null : await startSpanSink();
  collectorPort = collector?.ready ?? 0;
  try {
    for (const s of specs) console.log(await measure(mode, Number(warm), Number(n), dir, upstream.ready!, s));
  } finally {
    await upstream.stop();
    await collector?.stop();
    if (process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
    else console.log(dir);
  }
}
