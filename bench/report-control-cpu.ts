// The control plane's CPU per Report entry, per thread (issue 14: Report
// never adds latency to requests): this build's proxy with Report on drives
// wrk against an upstream while a real `isthmus control` runs the report
// scenario's telemetry rules (bench/policy-control.ts: a prometheus metric
// inline, a stdio log entry on a pool thread); the control plane's threads'
// run time (/proc/PID/task/*/schedstat) over the measured window, divided by
// the requests wrk made (one Report entry each). With --baseline DIR, that
// build's control plane is measured the same way in alternating rounds
// (this, baseline, baseline, this, ...); the proxy is this build's in both.
// Per build: median µs per entry for the gRPC thread, the busiest other
// thread (the stdio lane) and all threads.
// Run: node dist/bench/report-control-cpu.js [--baseline DIR] [--rounds N] [--seconds S]
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import type { ManagedProcess } from '../src/process/managed-process.js';
import { startIsthmus } from './isthmus-target.js';
import { findPeerBinary } from './peers.js';
import { startUpstream } from './scenarios.js';

const run = promisify(execFile);
const MAX_ROUNDS = 20;
const MAX_SECONDS = 30;

type StartControl = (dir: string) => Promise<ManagedProcess<number>>;

/** takes a pid; returns each thread's run time in ns by tid. */
function threadNs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return out;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

interface Round {
  readonly main: number;
  readonly busiestOther: number;
  readonly total: number;
}

async function measure(wrk: string, start: StartControl, upstreamPort: number, seconds: number): Promise<Round> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-report-control-'));
  const control = await start(dir);
  try {
    const proxy = await startIsthmus(upstreamPort, 1, dir, { mixerPort: control.ready!, mixerReport: true });
    try {
      const url = `http://127.0.0.1:${proxy.ready!.listenPort}/`;
      const wrkRun = (s: number) => run(wrk, ['-t1', '-c16', `-d${s}s`, url], { timeout: (s + 20) * 1000 });
      await wrkRun(2); // warm-up: JIT, the check cache, the pool threads
      const before = threadNs(control.pid);
      const out = (await wrkRun(seconds)).stdout;
      const after = threadNs(control.pid);
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
      const perEntry = (ns: number): number => ns / 1000 / requests;
      let total = 0;
      let busiestOther = 0;
      for (const [tid, ns] of after) {
        const d = ns - (before.get(tid) ?? 0);
        total += d;
        if (tid !== String(control.pid)) busiestOther = Math.max(busiestOther, d);
      }
      const main = (after.get(String(control.pid)) ?? 0) - (before.get(String(control.pid)) ?? 0);
      return { main: perEntry(main), busiestOther: perEntry(busiestOther), total: perEntry(total) };
    } finally {
      await proxy.stop();
    }
  } finally {
    await control.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '6' } } });
  const rounds = Math.min(MAX_ROUNDS, Math.max(1, Number(values.rounds) || 3));
  const seconds = Math.min(MAX_SECONDS, Math.max(1, Number(values.seconds) || 6));
  const wrk = findPeerBinary('wrk');
  if (wrk === null) throw new Error('wrk is not installed');
  const builds: { name: string; start: StartControl }[] = [{ name: 'this build', start: (await import('./policy-control.js')).startPolicyControl }];
  if (values.baseline !== undefined) {
    const url = pathToFileURL(join(values.baseline, 'dist', 'bench', 'policy-control.js')).href;
    builds.push({ name: `baseline ${values.baseline}`, start: ((await import(url)) as { startPolicyControl: StartControl }).startPolicyControl });
  }
  const upstream = await startUpstream();
  const results = new Map<string, Round[]>(builds.map((b) => [b.name, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const build of order) {
        const r = await measure(wrk, build.start, upstream.ready!, seconds);
        results.get(build.name)!.push(r);
        process.stderr.write(`round ${round + 1}/${rounds} ${build.name}: main ${r.main.toFixed(2)}, busiest other ${r.busiestOther.toFixed(2)}, total ${r.total.toFixed(2)} µs/entry\n`);
      }
    }
  } finally {
    await upstream.stop();
  }
  console.log(`control plane CPU per Report entry (schedstat), median of ${rounds} rounds of wrk -c16 ${seconds}s through a Report-on proxy`);
  for (const [name, rs] of results) {
    console.log(`  ${name.padEnd(40)} gRPC thread ${median(rs.map((r) => r.main)).toFixed(2)}  busiest other thread ${median(rs.map((r) => r.busiestOther)).toFixed(2)}  all threads ${median(rs.map((r) => r.total)).toFixed(2)} µs/entry`);
  }
}

await main();
