// Where `isthmus proxy`'s memory goes: `node dist/bench/rss-components.js [--runs N] [--duration SECONDS]`.
// 1. Modules: fresh processes (with bin/isthmus.js's node flags) load what the proxy loads, step by step in
//    its order; each step's load time and RSS growth (anonymous, and file-backed: the node binary's and
//    addons' pages) and V8 heap growth after a full GC. Steps share Node's module machinery, so a step's figure is what it adds after the ones above.
// 2. The running proxy (the bench's static bootstrap, admin on, access log off), 1 and 2 workers: RSS idle
//    and its peak (VmHWM) under the bench's load (50 connections), split by mapping (/proc/PID/smaps), and
//    each isolate's V8 heap from a probe preloaded with NODE_OPTIONS (it adds ~0.3 MB; `isthmus bench proxy`
//    gives the unprobed peak).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/process/compiled-path.js';
import { binNodeFlags } from '../src/process/proxy-process.js';
import { startIsthmus } from './isthmus-target.js';
import { runLoad } from './load-generator.js';
import { startUpstream } from './scenarios.js';

const root = packageRoot(new URL('.', import.meta.url).pathname);
const dist = join(root, 'dist');
const flags = binNodeFlags(join(root, 'bin', 'isthmus.js'));
const MB = 1024 * 1024;

/** The proxy's load order: [label, code run in an async function of a fresh ES module]. */
const STEPS: readonly (readonly [string, string])[] = [
  ['node itself (nothing loaded)', ''],
  ['the addon (build/Release/isthmus.node)', `await import('${dist}/src/native.js')`],
  ['pino (src/log.js)', `await import('${dist}/src/log.js')`],
  ['yaml, CLI options (proxy-command.js)', `await import('${dist}/workers/agent/proxy-command.js')`],
  ['uWebSockets.js (admin API)', `await import('${dist}/src/uws.js')`],
  ['the agent (proxy-agent.js graph)', `await import('${dist}/workers/agent/proxy-agent.js')`],
  ['the data plane (data-plane.js graph)', `await import('${dist}/workers/agent/in-thread-data-plane.js'); await import('${dist}/workers/data-plane.js')`],
  ['lmdb, store opened (--workers >= 2)', `const d = (await import('node:fs')).mkdtempSync('/tmp/rss-lmdb-'); (await import('${dist}/src/store/proxy-store.js')).ProxyStore.open(d)`],
  ['@grpc/grpc-js, xDS client (--control)', `await import('${dist}/workers/agent/xds-client.js')`],
  ['xDS protos parsed (protobufjs, --control)', `(await import('${dist}/src/xds/xds-protos.js')).loadXdsProtos()`],
];

interface Status { readonly rss: number; readonly hwm: number; readonly anon: number; readonly file: number; readonly heap: number }

function parseStatus(text: string): Status {
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile'), heap: kb('HeapUsed') };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const f1 = (x: number): string => x.toFixed(1);

function moduleSteps(runs: number): string {
  const script = `
    const { readFileSync } = await import('node:fs');
    const v8 = await import('node:v8');
    const status = () => { globalThis.gc(); return readFileSync('/proc/self/status', 'utf8') + 'HeapUsed: ' + Math.round(v8.getHeapStatistics().used_heap_size / 1024) + ' kB'; };
    const settle = () => new Promise((r) => setTimeout(r, 150));
    const out = [];
    await settle();
    out.push([0, status()]);
    ${STEPS.slice(1).map(([, code]) => `{ const t = performance.now(); ${code}; const ms = performance.now() - t; await settle(); out.push([ms, status()]); }`).join('\n')}
    process.stdout.write(JSON.stringify(out));
    process.exit(0);`;
  const samples: Status[][] = [];
  const times: number[][] = [];
  for (let i = 0; i < runs; i++) {
    const out = JSON.parse(execFileSync(process.execPath, [...flags, '--expose-gc', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' })) as [number, string][];
    samples.push(out.map(([, s]) => parseStatus(s)));
    times.push(out.map(([ms]) => ms));
  }
  const rows = STEPS.map(([label], k) => {
    const d = (key: keyof Status): number => median(samples.map((s) => (k === 0 ? s[0]![key] : s[k]![key] - s[k - 1]![key])));
    const total = median(samples.map((s) => s[k]!.rss));
    return `| ${label} | ${k === 0 ? '' : median(times.map((t) => t[k]!)).toFixed(0)} | ${f1(d('rss'))} | ${f1(d('anon'))} | ${f1(d('file'))} | ${f1(d('heap'))} | ${f1(total)} |`;
  });
  return ['| step (cumulative, in load order) | load ms | RSS + MB | anon + MB | file + MB | V8 heap used + MB (after a full GC) | process RSS MB |', '| --- | --- | --- | --- | --- | --- | --- |', ...rows].join('\n');
}

const PROBE = `
const fs = require('fs'); const v8 = require('v8'); const { threadId } = require('worker_threads');
const out = process.env.RSS_PROBE_DIR + '/' + process.pid + '-' + threadId + '.json';
let peakUsed = 0, peakCommitted = 0, peakCode = 0, peakMalloced = 0;
setInterval(() => {
  const h = v8.getHeapStatistics();
  const code = v8.getHeapSpaceStatistics().filter((s) => s.space_name.startsWith('code')).reduce((a, s) => a + s.physical_space_size, 0);
  peakUsed = Math.max(peakUsed, h.used_heap_size); peakCommitted = Math.max(peakCommitted, h.total_physical_size);
  peakCode = Math.max(peakCode, code); peakMalloced = Math.max(peakMalloced, h.peak_malloced_memory);
  fs.writeFileSync(out + '.tmp', JSON.stringify({ threadId, peakUsed, peakCommitted, peakCode, peakMalloced }));
  fs.renameSync(out + '.tmp', out);
}, 200).unref();
`;

interface HeapPeak { readonly threadId: number; readonly peakUsed: number; readonly peakCommitted: number; readonly peakCode: number; readonly peakMalloced: number }

/** Takes /proc/PID/smaps; returns resident MB by kind: the node binary, other files (addons, libc...), malloc's brk heap, other anonymous. */
function smapsByKind(text: string): Record<string, number> {
  const kinds: Record<string, number> = { 'node binary': 0, 'other files (addons, libs)': 0, 'malloc brk heap': 0, 'anonymous (V8 heaps, mmapped malloc, stacks)': 0 };
  for (const block of text.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const name = block.split('\n', 1)[0]!.split(/\s+/).slice(5).join(' ');
    const kb = Number(/^Rss:\s+(\d+)/m.exec(block)?.[1] ?? 0);
    const kind = name === process.execPath ? 'node binary' : name === '[heap]' ? 'malloc brk heap' : name.startsWith('/') ? 'other files (addons, libs)' : 'anonymous (V8 heaps, mmapped malloc, stacks)';
    kinds[kind]! += kb / 1024;
  }
  return kinds;
}

interface ProxySample { readonly idle: Status; readonly loaded: Status; readonly kinds: Record<string, number>; readonly heaps: HeapPeak[]; readonly packages: string[] }

async function proxyRun(workers: number, upstreamPort: number, durationMs: number): Promise<ProxySample> {
  const dir = mkdtempSync(join(tmpdir(), 'rss-components-'));
  const probeDir = join(dir, 'probe');
  execFileSync('mkdir', ['-p', probeDir]);
  writeFileSync(join(dir, 'probe.cjs'), PROBE);
  const savedOptions = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${savedOptions ?? ''} --require ${join(dir, 'probe.cjs')}`;
  process.env.RSS_PROBE_DIR = probeDir;
  const proxy = await startIsthmus(upstreamPort, workers, dir, { accessLog: 'off' });
  if (savedOptions === undefined) delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = savedOptions;
  try {
    const ports = proxy.ready!;
    await new Promise((r) => setTimeout(r, 1500));
    const idle = parseStatus(readFileSync(`/proc/${proxy.pid}/status`, 'utf8'));
    const info = (await (await fetch(`http://127.0.0.1:${ports.adminPort}/server_info`)).json()) as { loaded_packages?: string[] };
    await runLoad({ port: ports.listenPort, mode: 'max', connections: 50, rate: 1000, threads: 1, warmupMs: 1000, durationMs });
    const loaded = parseStatus(readFileSync(`/proc/${proxy.pid}/status`, 'utf8'));
    const kinds = smapsByKind(readFileSync(`/proc/${proxy.pid}/smaps`, 'utf8'));
    await new Promise((r) => setTimeout(r, 400));
    const heaps = readdirSync(probeDir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(probeDir, f), 'utf8')) as HeapPeak).sort((a, b) => a.threadId - b.threadId);
    return { idle, loaded, kinds, heaps, packages: info.loaded_packages ?? [] };
  } finally {
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(name);
    return i < 0 ? fallback : Number(process.argv[i + 1]);
  };
  const runs = arg('--runs', 3);
  const durationMs = arg('--duration', 5) * 1000;
  process.stdout.write(`node ${process.version}, flags ${flags.join(' ')}; medians of ${runs} runs\n\n${moduleSteps(runs)}\n\n`);
  const upstream = await startUpstream();
  try {
    for (const workers of [1, 2]) {
      const samples: ProxySample[] = [];
      for (let i = 0; i < runs; i++) samples.push(await proxyRun(workers, upstream.ready!, durationMs));
      const m = (pick: (s: ProxySample) => number): string => f1(median(samples.map(pick)));
      const lines = [
        `### --workers ${workers}: RSS idle ${m((s) => s.idle.rss)} MB, peak (VmHWM) under load ${m((s) => s.loaded.hwm)} MB`,
        `loaded packages: ${samples[0]!.packages.join(', ')}`,
        '',
        '| after load, resident | MB |',
        '| --- | --- |',
        ...Object.keys(samples[0]!.kinds).map((k) => `| ${k} | ${m((s) => s.kinds[k]!)} |`),
        ...samples[0]!.heaps.map((h, t) => `| V8 heap, thread ${h.threadId}${h.threadId === 0 ? ' (agent' + (workers === 1 ? ' + data plane)' : ')') : ' (worker)'}: peak used / committed / code space; V8 malloc peak | ${m((s) => (s.heaps[t]?.peakUsed ?? NaN) / MB)} / ${m((s) => (s.heaps[t]?.peakCommitted ?? NaN) / MB)} / ${m((s) => (s.heaps[t]?.peakCode ?? NaN) / MB)}; ${m((s) => (s.heaps[t]?.peakMalloced ?? NaN) / MB)} |`),
      ];
      process.stdout.write(`${lines.join('\n')}\n\n`);
    }
  } finally {
    await upstream.stop();
  }
}

await main();
