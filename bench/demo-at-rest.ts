// What the demo mesh (`isthmus up`) costs a machine: its startup time, and
// the resident memory and CPU of every process it runs (control plane,
// six apps, six sidecars, the demo itself), at rest (--no-traffic) and with
// its built-in demo traffic, from /proc over a sampling window. Memory is
// what a user notices first when they run `npm start`; CPU at rest says
// whether an idle mesh keeps the machine busy (timers, xDS, health checks).
// Usage: node dist/bench/demo-at-rest.js [--seconds N] [--ports-from N] [--rounds N]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/process/compiled-path.js';
import { clockTicksPerSecond, parseProcStat, processTree } from './process-sampler.js';

const ROOT = packageRoot(fileURLToPath(new URL('.', import.meta.url)));

interface Row { name: string; rssMb: number; cpuPercent: number }
interface Phase { label: string; startSeconds: number; rows: Row[] }

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** A short name for a demo process from its command line: 'control', 'reviews-v2 sidecar', 'ratings app', 'isthmus up'. */
function processName(pid: number): string {
  const args = (readOrNull(`/proc/${pid}/cmdline`) ?? '').split('\0');
  const at = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
  if (args.includes('up')) return 'isthmus up (supervisor, load)';
  if (args.includes('control')) return 'control plane';
  if (args.includes('proxy')) return `${at('--service')}-${at('--version')} sidecar`;
  const script = args.find((a) => a.endsWith('.mjs'));
  if (script !== undefined) {
    const env = readOrNull(`/proc/${pid}/environ`) ?? '';
    const version = /(?:^|\0)VERSION=([^\0]*)/.exec(env)?.[1] ?? '';
    return `${script.split('/').pop()!.replace('.mjs', '')}-${version} app`;
  }
  return args.join(' ').slice(0, 40);
}

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readOrNull(`/proc/${pid}/status`) ?? '');
  return m === null ? 0 : Number(m[1]);
}

function cpuTicks(pid: number): number | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  return stat === null ? null : parseProcStat(stat).cpuTicks;
}

/** Starts `isthmus up`, waits for its URLs; returns the child and the seconds it took. */
async function startDemo(portsFrom: number, traffic: boolean): Promise<{ pid: number; seconds: number; stop: () => Promise<void> }> {
  const started = Date.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'isthmus.js'), 'up', '--ports-from', String(portsFrom), ...(traffic ? [] : ['--no-traffic'])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`isthmus up printed no URL in 180 s:\n${output}`)), 180_000);
    child.stdout.on('data', () => {
      if (output.includes('App:')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`isthmus up exited:\n${output}`)));
  });
  // The bench stopped by a signal stops its demo too (the demo's own children follow it).
  const forward = (): void => {
    child.kill('SIGINT');
    void exited.then(() => process.exit(130));
  };
  process.once('SIGINT', forward);
  process.once('SIGTERM', forward);
  void exited.then(() => {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  });
  return {
    pid: child.pid!,
    seconds: (Date.now() - started) / 1000,
    stop: async () => {
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** Samples every process of the tree once a second for `seconds`; returns mean RSS and CPU % per process. */
async function sample(rootPid: number, seconds: number): Promise<Row[]> {
  const pids = processTree(rootPid);
  const hz = clockTicksPerSecond();
  const first = new Map(pids.map((p) => [p, cpuTicks(p)]));
  const rssSum = new Map<number, number>(pids.map((p) => [p, 0]));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of pids) rssSum.set(p, rssSum.get(p)! + rssKb(p));
  }
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  return pids.map((p) => {
    const a = first.get(p);
    const b = cpuTicks(p);
    const cpu = a === null || a === undefined || b === null ? 0 : ((b - a) / hz / elapsed) * 100;
    return { name: processName(p), rssMb: rssSum.get(p)! / seconds / 1024, cpuPercent: cpu };
  }).sort((x, y) => x.name.localeCompare(y.name));
}

function table(phases: readonly Phase[]): string {
  const names = [...new Set(phases.flatMap((p) => p.rows.map((r) => r.name)))].sort();
  const width = Math.max(...names.map((n) => n.length), 8);
  const head = `${'process'.padEnd(width)}  ${phases.map((p) => `${`${p.label} RSS MB`.padStart(18)}  ${`${p.label} CPU %`.padStart(17)}`).join('  ')}`;
  const lines = [head, '-'.repeat(head.length)];
  const cell = (p: Phase, name: string): string => {
    const rows = p.rows.filter((r) => r.name === name);
    const rss = rows.reduce((s, r) => s + r.rssMb, 0);
    const cpu = rows.reduce((s, r) => s + r.cpuPercent, 0);
    return `${rss.toFixed(1).padStart(18)}  ${cpu.toFixed(2).padStart(17)}`;
  };
  for (const name of names) lines.push(`${name.padEnd(width)}  ${phases.map((p) => cell(p, name)).join('  ')}`);
  lines.push('-'.repeat(head.length));
  lines.push(`${'total'.padEnd(width)}  ${phases.map((p) => `${p.rows.reduce((s, r) => s + r.rssMb, 0).toFixed(1).padStart(18)}  ${p.rows.reduce((s, r) => s + r.cpuPercent, 0).toFixed(2).padStart(17)}`).join('  ')}`);
  lines.push(`${'processes'.padEnd(width)}  ${phases.map((p) => `${String(p.rows.length).padStart(18)}  ${''.padStart(17)}`).join('  ')}`);
  lines.push(`${'startup s'.padEnd(width)}  ${phases.map((p) => `${p.startSeconds.toFixed(1).padStart(18)}  ${''.padStart(17)}`).join('  ')}`);
  return lines.join('\n');
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One phase from several rounds of it: per process, the median RSS and CPU; the median startup. */
function medianPhase(label: string, rounds: readonly Phase[]): Phase {
  const names = [...new Set(rounds.flatMap((p) => p.rows.map((r) => r.name)))];
  const rows = names.map((name) => {
    const of = rounds.map((p) => p.rows.filter((r) => r.name === name));
    return {
      name,
      rssMb: median(of.map((rs) => rs.reduce((s, r) => s + r.rssMb, 0))),
      cpuPercent: median(of.map((rs) => rs.reduce((s, r) => s + r.cpuPercent, 0))),
    };
  });
  return { label, startSeconds: median(rounds.map((p) => p.startSeconds)), rows };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    seconds: { type: 'string', default: '20' }, 'ports-from': { type: 'string', default: '26080' }, settle: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '1' },
  } });
  const seconds = Number(values.seconds);
  const portsFrom = Number(values['ports-from']);
  const settle = Number(values.settle);
  const rounds = Number(values.rounds);
  const byLabel = new Map<string, Phase[]>();
  for (let round = 0; round < rounds; round++) {
    for (const traffic of [false, true]) { // interleaved: both phases see the machine's load of the moment
      const label = traffic ? 'traffic' : 'at rest';
      const demo = await startDemo(portsFrom, traffic);
      try {
        await new Promise((r) => setTimeout(r, settle * 1000)); // past the first pushes and certificate fetches
        const phase = { label, startSeconds: demo.seconds, rows: await sample(demo.pid, seconds) };
        byLabel.set(label, [...(byLabel.get(label) ?? []), phase]);
        const total = phase.rows.reduce((s, r) => s + r.rssMb, 0);
        const cpu = phase.rows.reduce((s, r) => s + r.cpuPercent, 0);
        process.stderr.write(`round ${round + 1} ${label}: startup ${demo.seconds.toFixed(1)} s, RSS ${total.toFixed(0)} MB, CPU ${cpu.toFixed(2)} %\n`);
      } finally {
        await demo.stop();
      }
    }
  }
  const phases = [...byLabel].map(([label, list]) => medianPhase(label, list));
  process.stdout.write(`isthmus up, ${rounds} round(s), sampled ${seconds} s after ${settle} s settling (medians over rounds; RSS: mean of 1 s samples; CPU: % of one core)\n${table(phases)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo-at-rest: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
