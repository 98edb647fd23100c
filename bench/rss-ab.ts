// Peak RSS and CPU per request of two builds side by side, interleaved:
// `node dist/bench/rss-ab.js --baseline DIR [--runs N] [--workers 1,2] [--duration S] [-- proxy args]`.
// For each run and each worker count it starts this build and the baseline (a built checkout) in turn with the
// bench's static bootstrap (access log off), takes the idle RSS, runs the bench's load (50 connections, as
// fast as it goes) and reads the proxy's peak RSS (VmHWM, startup included) and CPU time per request (/proc).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIsthmus } from './isthmus-target.js';
import { runLoad } from './load-generator.js';
import { clockTicksPerSecond, parseProcStat, parseVmHwmKb } from './process-sampler.js';
import { median } from './result-row.js';
import { startUpstream } from './scenarios.js';

interface Sample { readonly idleMb: number; readonly idlePeakMb: number; readonly peakMb: number; readonly cpuUsPerReq: number; readonly rps: number }

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : process.argv[i + 1]!;
};
const extra = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
const baseline = arg('--baseline', '');
if (baseline === '') {
  process.stderr.write('rss-ab: --baseline DIR is required (a built checkout of the version to compare with)\n');
  process.exit(2);
}
const runs = Number(arg('--runs', '3'));
const workerCounts = arg('--workers', '1,2').split(',').map(Number);
const durationMs = Number(arg('--duration', '4')) * 1000;
const vmRssKb = (text: string): number => Number(/^VmRSS:\s+(\d+)/m.exec(text)?.[1] ?? 0);
const cpuTicks = (pid: number): number => parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpuTicks;

async function sample(checkout: string | undefined, workers: number, upstreamPort: number): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'rss-ab-'));
  const proxy = await startIsthmus(upstreamPort, workers, dir, { accessLog: 'off', args: extra, ...(checkout === undefined ? {} : { checkout }) });
  try {
    const port = proxy.ready!.listenPort;
    await new Promise((r) => setTimeout(r, 1000));
    const idleStatus = readFileSync(`/proc/${proxy.pid}/status`, 'utf8');
    const idleMb = vmRssKb(idleStatus) / 1024;
    const idlePeakMb = parseVmHwmKb(idleStatus) / 1024;
    let ticks = 0;
    const result = await runLoad({
      port, mode: 'max', connections: 50, rate: 1000, threads: 1, warmupMs: 1000, durationMs,
      onWindowStart: () => { ticks = cpuTicks(proxy.pid); },
      onWindowEnd: () => { ticks = cpuTicks(proxy.pid) - ticks; },
    });
    const peakMb = parseVmHwmKb(readFileSync(`/proc/${proxy.pid}/status`, 'utf8')) / 1024;
    return { idleMb, idlePeakMb, peakMb, cpuUsPerReq: (ticks * 1e6) / clockTicksPerSecond() / Math.max(1, result.completed), rps: result.rps };
  } finally {
    await proxy.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const upstream = await startUpstream();
try {
  const results = new Map<string, Sample[]>();
  for (let i = 0; i < runs; i++) {
    for (const w of workerCounts) {
      for (const [label, checkout] of [['this', undefined], ['base', baseline]] as const) {
        const s = await sample(checkout, w, upstream.ready!);
        const key = `${label} ${w}w`;
        results.set(key, [...(results.get(key) ?? []), s]);
        process.stderr.write(`${key}: idle ${s.idleMb.toFixed(1)} (peak so far ${s.idlePeakMb.toFixed(1)}) peak ${s.peakMb.toFixed(1)} MB, ${s.cpuUsPerReq.toFixed(1)} us/req, ${s.rps.toFixed(0)} req/s\n`);
      }
    }
  }
  process.stdout.write('| build | idle RSS MB | peak RSS before load MB | peak RSS MB (VmHWM) | CPU us/req | req/s |\n| --- | --- | --- | --- | --- | --- |\n');
  for (const [key, xs] of results) {
    const m = (f: (s: Sample) => number): string => median(xs.map(f)).toFixed(1);
    process.stdout.write(`| ${key} | ${m((s) => s.idleMb)} | ${m((s) => s.idlePeakMb)} | ${m((s) => s.peakMb)} | ${m((s) => s.cpuUsPerReq)} | ${m((s) => s.rps)} |\n`);
  }
} finally {
  await upstream.stop();
}
