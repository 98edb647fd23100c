// Garbage collections and bytes allocated per plaintext HTTP/1.1 request through the proxy (one worker, access log
// on, 1 KB answers, keep-alive), per build. Young collections come at a rate set by the bytes each request
// allocates, not by the machine's load, so builds compare on a shared machine where time does not. Each build runs
// in turn behind the same bench upstream with --trace-gc-nvp; after WARM requests and a pause the trace's length is
// noted, then N requests over 50 connections are counted by the collections traced past that point. Bytes per
// request: the sum of the young collections' "allocated" (bytes allocated since the previous collection) / N.
// Run: npx tsc -p . && node dist/bench/h1-gc-count.js WARM N ROUNDS NAME=CHECKOUT [NAME=CHECKOUT ...]
//   e.g. nice -n 19 node dist/bench/h1-gc-count.js 5000 20000 2 base=/work/base new=.
//   TRACING=PERCENT in the environment: the HCM traces at that random_sampling (spans to a collector of the run).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { binNodeFlags } from '../src/process/proxy-process.js';
import { sendFixedCount } from './fixed-count-client.js';
import { benchBootstrapYaml } from './isthmus-target.js';
import { freePort } from './peers.js';
import { startSpanSink, startUpstream } from './scenarios.js';

const CONNECTIONS = 50;
const PAUSE_MS = 500;
const LOAD_TIMEOUT_MS = 300_000;

async function up(port: number, proxy: ChildProcess, name: string): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await sendFixedCount(port, 1, 1, 5000).then(() => true, () => false);
    if (ok) return;
    if (i >= 60 || proxy.exitCode !== null) throw new Error(`${name}: the proxy never answered`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Per isolate (the main thread and the worker each trace their own), young and full collections and young bytes. */
function tally(text: string): Map<string, { young: number; full: number; bytes: number }> {
  const by = new Map<string, { young: number; full: number; bytes: number }>();
  for (const line of text.split('\n')) {
    const m = /^\[\d+:(0x[0-9a-f]+)\].*\bgc=(\w+)\b.*\ballocated=(\d+)/.exec(line);
    if (m === null) continue;
    const t = by.get(m[1]!) ?? { young: 0, full: 0, bytes: 0 };
    if (m[2] === 's') { t.young++; t.bytes += Number(m[3]); } else t.full++;
    by.set(m[1]!, t);
  }
  return by;
}

/** TRACING=PERCENT: the HCM traces at that random_sampling, spans to a collector (bench/span-sink.ts) of the run. */
const TRACING = process.env.TRACING === undefined || process.env.TRACING === '' ? null : Number(process.env.TRACING);
let collectorPort = 0;
function tracingOption(): { tracing?: { samplingPercent: number; collectorPort: number } } {
  return TRACING === null ? {} : { tracing: { samplingPercent: TRACING, collectorPort } };
}

async function measure(warm: number, n: number, dir: string, upstreamPort: number, spec: string): Promise<string> {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  const bin = join(resolve(spec.slice(eq + 1)), 'bin', 'isthmus.js');
  const port = await freePort();
  writeFileSync(join(dir, `${name}.yaml`), benchBootstrapYaml(upstreamPort, { listenPort: port, ...tracingOption() }));
  const trace = join(dir, `${name}.gc`);
  const fd = openSync(trace, 'w');
  const proxy = spawn(process.execPath, [...binNodeFlags(bin), '--trace-gc-nvp', bin, 'proxy', '--bootstrap', join(dir, `${name}.yaml`), '--admin-port', '0',
    '--data-dir', join(dir, `${name}-data`), '--workers', '1', '--access-log', join(dir, `${name}.log`)], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  try {
    await up(port, proxy, name);
    await sendFixedCount(port, warm, CONNECTIONS, LOAD_TIMEOUT_MS);
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const from = statSync(trace).size;
    const r = await sendFixedCount(port, n, CONNECTIONS, LOAD_TIMEOUT_MS);
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const by = tally(readFileSync(trace).subarray(from).toString('latin1'));
    // The worker is the isolate that collected most in the window.
    const w = [...by.values()].sort((a, b) => b.young - a.young)[0] ?? { young: 0, full: 0, bytes: 0 };
    const per = (x: number): string => (x * 10_000 / n).toFixed(1);
    return `${name}: ${per(w.young)} young and ${per(w.full)} full collections per 10k requests, ${Math.round(w.bytes / n)} bytes allocated per request (${w.young}/${w.full} in ${n} after ${warm}; ${JSON.stringify(r).slice(0, 80)})`;
  } finally {
    proxy.kill('SIGTERM');
  }
}

const [warm, n, rounds, ...specs] = process.argv.slice(2);
if (!(Number(warm) >= 0) || !(Number(n) > 0) || !(Number(rounds) >= 1) || specs.length === 0 || specs.some((s) => !s.includes('='))) {
  console.error('usage: h1-gc-count.js WARM N ROUNDS NAME=CHECKOUT [NAME=CHECKOUT ...]');
  process.exitCode = 2;
} else {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-h1gc-'));
  const upstream = await startUpstream();
  const collector = TRACING === null ? null : await startSpanSink();
  collectorPort = collector?.ready ?? 0;
  try {
    for (let i = 0; i < Number(rounds); i++) for (const s of specs) console.log(`round ${i + 1} ${await measure(Number(warm), Number(n), dir, upstream.ready!, s)}`);
  } finally {
    await upstream.stop();
    await collector?.stop();
    if (process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
    else console.log(dir);
  }
}
