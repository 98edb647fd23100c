// `node dist/bench/mixer-compare.js --baseline OTHER_BUILD [--runs 5] [mixer-check options]`:
// issue 14's Check p99 for two builds, interleaved in one run so both see the
// same machine load: each round runs mixer-check.ts once against the baseline
// build's control plane (--cli BASE/bin/isthmus.js) and once against this
// build's, in alternating order, and the closing table gives the medians over
// the rounds of p50/p90/p99, control plane CPU per Check, event-loop delay
// p99 and GC pause p99. Options other than --baseline and --runs go to every
// mixer-check run (default: --client h2load-spread --target policy --rate
// 5000 --duration 10).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { median } from './result-row.js';

interface Row {
  client: string;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  controlCpuUs: number;
  loopP99Ms: number | null;
  gcP99Ms: number | null;
  gcCount: number | null;
  gcTotalMs: number | null;
  load: number;
}

const argv = process.argv.slice(2);
function take(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const [, value] = argv.splice(i, 2);
  return value;
}
const baseline = take('baseline');
if (baseline === undefined) throw new Error('--baseline DIR (a built copy of another commit) is required');
const runs = Number(take('runs') ?? 5);
const passOn = argv.length > 0 ? argv : ['--client', 'h2load-spread', '--target', 'policy', '--rate', '5000', '--duration', '10'];
const builds = [
  { name: 'baseline', cli: join(baseline, 'bin', 'isthmus.js') },
  { name: 'this build', cli: join(import.meta.dirname, '..', '..', 'bin', 'isthmus.js') },
];
const results = new Map<string, Row[]>(builds.map((b) => [b.name, []]));

process.stdout.write(`load average at the start: ${loadavg().map((n) => n.toFixed(2)).join(' ')}\n`);
for (let round = 0; round < runs; round++) {
  const order = round % 2 === 0 ? builds : [...builds].reverse();
  for (const build of order) {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, 'mixer-check.js'), ...passOn, '--cli', build.cli], { encoding: 'utf8', timeout: 300_000 });
    const rows = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('RESULT ')).map((l) => JSON.parse(l.slice(7)) as Row);
    if (rows.length === 0) {
      process.stdout.write(`round ${round + 1} ${build.name}: no result (exit ${r.status}): ${(r.stderr ?? '').slice(-400)}\n`);
      continue;
    }
    for (const row of rows) {
      results.get(build.name)!.push(row);
      process.stdout.write(`round ${round + 1} ${build.name} [${row.client}]: p50/p90/p99 ${row.p50Ms.toFixed(3)}/${row.p90Ms.toFixed(3)}/${row.p99Ms.toFixed(3)} ms, CPU ${row.controlCpuUs.toFixed(1)} µs/Check, loop p99 ${row.loopP99Ms?.toFixed(3)} ms, GC ${row.gcCount} pauses p99 ${row.gcP99Ms?.toFixed(3)} ms total ${row.gcTotalMs?.toFixed(1)} ms, load ${row.load.toFixed(2)}\n`);
    }
  }
}
process.stdout.write(`\nmedians over ${runs} rounds (${passOn.join(' ')}):\n| build | p50 / p90 / p99 ms | control plane CPU per Check | event-loop delay p99 | GC pause p99 | GC pauses per run (total ms) |\n| --- | --- | --- | --- | --- | --- |\n`);
for (const build of builds) {
  const rows = results.get(build.name)!;
  const m = (f: (r: Row) => number | null): number => median(rows.map(f).filter((v): v is number => v !== null));
  process.stdout.write(`| ${build.name} | ${m((r) => r.p50Ms).toFixed(3)} / ${m((r) => r.p90Ms).toFixed(3)} / ${m((r) => r.p99Ms).toFixed(3)} | ${m((r) => r.controlCpuUs).toFixed(1)} µs | ${m((r) => r.loopP99Ms).toFixed(3)} ms | ${m((r) => r.gcP99Ms).toFixed(3)} ms | ${m((r) => r.gcCount).toFixed(0)} (${m((r) => r.gcTotalMs).toFixed(1)}) |\n`);
}
process.stdout.write(`p99 per round: ${builds.map((b) => `${b.name} ${results.get(b.name)!.map((r) => r.p99Ms.toFixed(3)).join(', ')}`).join('; ')}\nload average at the end: ${loadavg().map((n) => n.toFixed(2)).join(' ')}\n`);
