// Report's cost in the measure a loaded shared machine does not blur: the
// proxy's own CPU per request (its threads' run time, /proc/PID/task/*/schedstat)
// over a fixed count of requests, in alternating rounds (A B C, C B A), for
// the report scenario's rows (bench/scenarios.ts: Report off, on, the A/A
// control, and with --baseline DIR that build's off and on), each beside its
// own `isthmus control` with the telemetry rules, whose CPU per request is
// shown too. Each round waits past report_batch_max_time after its last
// answer, so the round's last partial batch is in it. Per row: median µs per
// request and interquartile range; per round, on / off (and A/A / off).
// With --rate R the rounds are open-loop at R req/s (requests / R seconds,
// CPU over the measured window only): at a sidecar's usual rate, where a
// cost per wake-up (a timer, a message, a write) weighs most, which
// saturation hides by sharing each wake-up among many requests.
// Run: node dist/bench/report-cpu.js [--baseline DIR] [--rounds N] [--requests N] [--connections N] [--rate R] [--rows id,id]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sendFixedCount, sendFixedCountH2load, type FixedCountResult } from './fixed-count-client.js';
import { runLoad } from './load-generator.js';
import { findPeerBinary } from './peers.js';
import { LOAD_TARGETS, startUpstream, type RunningTarget } from './scenarios.js';
import { threadRunNs } from './tracing-cpu.js';

const ROWS = ['report-off', 'report-on', 'report-on-discard', 'report-off-control', 'report-off-baseline', 'report-on-baseline'];
const SETTLE_MS = 1200;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function quartiles(xs: readonly number[]): [number, number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => {
    const i = (s.length - 1) * q;
    return s[Math.floor(i)]! + (s[Math.ceil(i)]! - s[Math.floor(i)]!) * (i - Math.floor(i));
  };
  return [at(0.25), at(0.5), at(0.75)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '10' }, requests: { type: 'string', default: '5000' }, connections: { type: 'string', default: '16' }, rate: { type: 'string', default: '0' }, rows: { type: 'string' } } });
  const rounds = Number(values.rounds);
  const requests = Number(values.requests);
  const connections = Number(values.connections);
  const rate = Number(values.rate);
  if (!(rate >= 0) || !Number.isFinite(rate)) throw new Error(`--rate ${values.rate}: not a rate (req/s, 0 = as fast as answered)`);
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-report-cpu-'));
  const upstream = await startUpstream();
  const running: { id: string; label: string; target: RunningTarget }[] = [];
  const h2load = findPeerBinary('h2load' as 'wrk');
  const send = (port: number, n: number): Promise<FixedCountResult> =>
    h2load === null ? sendFixedCount(port, n, connections, 120_000) : sendFixedCountH2load(h2load, port, n, connections, 120_000);
  try {
    const only = values.rows?.split(',');
    for (const id of ROWS) {
      if (only !== undefined && !only.includes(id)) continue;
      const spec = LOAD_TARGETS.find((t) => t.id === id)!;
      if (spec.unavailable({ ...(values.baseline !== undefined ? { baseline: values.baseline } : {}) }) !== null) continue;
      const target = await spec.start({ upstreamPort: upstream.ready!, dir: join(dir, id), ...(values.baseline !== undefined ? { baseline: values.baseline } : {}) });
      running.push({ id, label: spec.label, target });
    }
    for (const r of running) await send(r.target.port, Math.max(requests, 10_000)); // warm-up
    await sleep(SETTLE_MS);
    const cpu = new Map<string, number[]>(running.map((r) => [r.id, []]));
    const control = new Map<string, number[]>(running.map((r) => [r.id, []]));
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? running : [...running].reverse();
      for (const r of order) {
        const pid = r.target.pids[0]!;
        r.target.duringLoad?.start();
        let ns0 = threadRunNs(pid);
        let ns1: number;
        let answered = requests;
        if (rate > 0) {
          const load = await runLoad({
            port: r.target.port, mode: 'fixed', rate, connections, threads: 1, warmupMs: 500, durationMs: (requests / rate) * 1000,
            onWindowStart: () => (ns0 = threadRunNs(pid)), onWindowEnd: () => (ns1 = threadRunNs(pid)),
          });
          if (load.errors > 0) throw new Error(`${r.label}: ${load.errors} errors at ${rate}/s`);
          answered = load.completed;
          await sleep(SETTLE_MS);
        } else {
          const sent = await send(r.target.port, requests);
          if (sent.non2xx > 0) throw new Error(`${r.label}: ${sent.non2xx} non-2xx answers`);
          await sleep(SETTLE_MS);
          ns1 = threadRunNs(pid);
        }
        const counts = r.target.duringLoad?.end() ?? {};
        cpu.get(r.id)!.push((ns1! - ns0) / 1000 / answered);
        if (counts.control_cpu_ms !== undefined) control.get(r.id)!.push((counts.control_cpu_ms * 1000) / requests);
      }
      process.stderr.write(`round ${round}/${rounds}: ${running.map((r) => `${r.id} ${cpu.get(r.id)!.at(-1)!.toFixed(1)}`).join(', ')} µs/req\n`);
    }
    console.log(rate > 0
      ? `proxy CPU per request (schedstat), ${rounds} alternating rounds of ${requests} requests at ${rate}/s over ${connections} connections (open loop), the measured window only`
      : `proxy CPU per request (schedstat), ${rounds} alternating rounds of ${requests} requests over ${connections} connections (${h2load === null ? 'Node client' : 'h2load --h1'}), each round + ${SETTLE_MS} ms for the last batch`);
    for (const r of running) {
      const [q1, med, q3] = quartiles(cpu.get(r.id)!);
      const c = control.get(r.id)!;
      const base = r.id.endsWith('-baseline') ? 'report-off-baseline' : 'report-off';
      const ratios = r.id === base ? null : quartiles(cpu.get(r.id)!.map((x, i) => x / cpu.get(base)![i]!));
      console.log(`  ${r.label.padEnd(62)} ${med.toFixed(1).padStart(6)} µs [${q1.toFixed(1)}-${q3.toFixed(1)}]${ratios === null ? ' '.repeat(24) : `  vs off ${ratios[1].toFixed(3)} [${ratios[0].toFixed(3)}-${ratios[2].toFixed(3)}]`}  control plane ${c.length === 0 ? '-' : quartiles(c)[1].toFixed(1)} µs/req`);
    }
  } finally {
    await Promise.all(running.map((r) => r.target.stop().catch(() => {})));
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
