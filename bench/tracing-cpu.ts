// `isthmus bench tracing`'s deciding measure: the proxy's own CPU per request
// with tracing off, at 1% and at 100%, over many short rounds, each loading
// every row at once (bench default) or in turn, alternating (A B C, C B A). On a 2-core machine shared with the
// load generator, upstream and collector, saturation req/s swings more than
// the goals' 2% margin; CPU per request of the proxy process does not depend
// on who else runs, and a proxy that is its own bottleneck does 1/(CPU per
// request) requests a second, so the throughput ratio is cpu_off / cpu_on.
// Each round sends a fixed count of requests (exact, not a timed window), then
// waits for the reporter's flush timer so the report writes are in the round
// too, and reads: the proxy's threads' run time (/proc/PID/task/*/schedstat,
// ns), utime+stime (/proc/PID/stat, ticks) and, where perf counts them,
// instructions. The collector is a separate process (not in the proxy's CPU);
// its span count per round checks the row is traced at its rate.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { request } from 'node:http';
import { pinProcessTo } from './cpu-pinning.js';
import { sendFixedCount, sendFixedCountH2load, type FixedCountResult } from './fixed-count-client.js';
import { findPeerBinary } from './peers.js';
import { clockTicksPerSecond, parseProcStat } from './process-sampler.js';
import { compareRows, ratioSpread, spanCountProblem, spreadOf, type CpuRows, type Spread, type TracingRatio } from './tracing-cpu-stats.js';

export interface TracingCpuTarget {
  readonly label: string;
  /** 'isthmus' or 'baseline': rows are compared within a build. */
  readonly build: string;
  /** null: tracing off. */
  readonly percent: number | null;
  readonly pid: number;
  readonly port: number;
  readonly sink: { readonly pid: number; readonly port: number } | null;
  /** An untraced proxy like the off row, measured as one more row: off vs control is an A/A ratio, the noise floor. */
  readonly control?: boolean;
}

export interface TracingCpuOptions {
  readonly rounds: number;
  /** Requests per row per round. */
  readonly requests: number;
  readonly connections: number;
  /** Pids pinned with the load generator (upstream); the collectors are added from the targets. */
  readonly helperPids: readonly number[];
  /** Requests per row before the rounds (default: the larger of a round and 10000). */
  readonly warmupRequests?: number;
  /** Every row's round at the same time instead of in turn (time-varying load on a shared machine hits all alike). */
  readonly together?: boolean;
  /** Load from the Node client even when h2load is installed (tests of that path). */
  readonly nodeClient?: boolean;
  /** Pin with taskset (default true; a test keeps its own process where it is). */
  readonly pin?: boolean;
  /** Wait after a round's last answer (the reporter's 1 s flush timer sends the last batch). */
  readonly settleMs?: number;
  /** What the log lines and errors call these rounds (default 'tracing cpu'; the access log's rounds reuse them). */
  readonly name?: string;
}

export interface TracingCpuRow {
  readonly label: string;
  readonly build: string;
  readonly percent: number | null;
  /** µs of proxy CPU per request (schedstat). */
  readonly cpu_us: Spread;
  /** µs per request from utime+stime (10 ms ticks). */
  readonly stat_cpu_us: Spread;
  readonly instructions: Spread | null;
  /** The proxy's CPU over the requests' wall time (1 = a whole core: the proxy was the bottleneck). */
  readonly busy: Spread;
  /** µs per request, round by round (in round order). */
  readonly rounds_cpu_us: readonly number[];
  readonly requests: number;
  /** Spans the collector received during the measured rounds (null: no collector). */
  readonly spans: number | null;
  readonly span_problem: string | null;
}

export interface TracingCpuReport {
  readonly rounds: number;
  readonly requests_per_round: number;
  readonly connections: number;
  /** 'turns' (rows one after another, alternating order) or 'together' (every row's round at once). */
  readonly mode: 'turns' | 'together';
  readonly pinning: string;
  readonly perf: string;
  readonly client: string;
  readonly rows: readonly TracingCpuRow[];
  readonly ratios: readonly TracingRatio[];
  /** off / control, per round: what the same code shows against itself here (1 with a quiet machine). */
  readonly control: readonly { readonly build: string; readonly ratio: Spread }[];
}

/** takes a pid; returns its threads' total run time in ns (schedstat's first field, summed over /proc/PID/task). */
export function threadRunNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return ns;
}

function statSeconds(pid: number): number {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpuTicks / clockTicksPerSecond();
}

/** takes perf stat -x, output; returns each event's count (null when perf printed <not supported> / <not counted>). */
export function parsePerfCsv(text: string): Map<string, number | null> {
  const counts = new Map<string, number | null>();
  for (const line of text.split('\n')) {
    const fields = line.split(',');
    if (fields.length < 3 || fields[2] === '') continue;
    const value = Number(fields[0]);
    counts.set(fields[2]!, fields[0] !== '' && Number.isFinite(value) ? value : null);
  }
  return counts;
}

/** The instruction events perf counts for a process here (kernel ones need perf_event_paranoid <= 1), or why none. */
function perfEvents(pid: number): { events: string[] } | { reason: string } {
  const r = spawnSync('perf', ['stat', '-x,', '-e', 'instructions:u,instructions:k', '-p', String(pid), '--', 'sleep', '0.1'], { encoding: 'utf8', timeout: 5000 });
  if (r.error !== undefined) return { reason: `perf could not run (${r.error.message}; Debian: linux-perf)` };
  const counts = parsePerfCsv(r.stderr);
  const events = [...counts].filter(([, v]) => v !== null).map(([k]) => k);
  if (events.length > 0) return { events };
  const said = r.stderr.split('\n').find((l) => l.includes('instructions')) ?? r.stderr.trim().split('\n')[0] ?? '';
  return { reason: `perf counts no instructions here (${said.trim() || `exit ${r.status}`}; a VM without a PMU, or perf_event_paranoid)` };
}

/**
 * A perf stat attached to pid until stop(); stop returns the instructions it counted (events summed), NaN when it
 * counted none or ended before it was stopped (it could not attach, or was not there: its count is not the round's).
 */
export function startPerf(pid: number, events: readonly string[], binary = 'perf'): { stop(): Promise<number> } {
  const child: ChildProcess = spawn(binary, ['stat', '-x,', '-e', events.join(','), '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.on('error', () => {}); // could not start: exitCode stays null, stop() sees no pid
  return {
    stop: () => new Promise((resolve) => {
      // Ended already: no 'close' is coming for stop() to wait on.
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
        resolve(NaN);
        return;
      }
      // 'close', not 'exit': perf's counts may still be in the pipe when the process has exited.
      child.once('close', () => {
        const counts = parsePerfCsv(err);
        let sum = 0;
        for (const [, v] of counts) sum += v ?? NaN;
        resolve(counts.size === 0 ? NaN : sum);
      });
      child.kill('SIGINT');
    }),
  };
}

/** takes the collector's port; returns the spans it has received so far. */
export function sinkSpans(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/stats', agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
        try {
          resolve((JSON.parse(body) as { spans: number }).spans);
        } catch (err) {
          reject(new Error(`span sink /stats: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('span sink /stats timed out')));
    req.on('error', reject);
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pins each proxy on CPU 0 and this process, the upstream and the collectors on CPU 1 (taskset); returns what it did. */
function pin(targets: readonly TracingCpuTarget[], helpers: readonly number[]): string {
  if (cpus().length < 2) return `not pinned: ${cpus().length} CPU`;
  const said = new Set<string>();
  for (const t of targets) said.add(`proxies ${pinProcessTo(t.pid, 0)}`);
  for (const pid of [process.pid, ...helpers, ...targets.flatMap((t) => (t.sink === null ? [] : [t.sink.pid]))]) said.add(`load generator, upstream, collectors ${pinProcessTo(pid, 1)}`);
  return [...said].join('; ');
}

interface Measured {
  cpuUs: number[];
  busy: number[];
  statUs: number[];
  instructions: number[];
  spans: number;
}

/** takes the tracing targets (started), the options and a log; runs the rounds and returns the rows and ratios. */
export async function runTracingCpu(targets: readonly TracingCpuTarget[], options: TracingCpuOptions, log: (line: string) => void): Promise<TracingCpuReport> {
  const settleMs = options.settleMs ?? 1300;
  const name = options.name ?? 'tracing cpu';
  const pinning = options.pin === false ? 'not pinned' : pin(targets, options.helperPids);
  log(`bench: ${name} rounds: ${pinning}`);
  const perf = targets.length > 0 ? perfEvents(targets[0]!.pid) : { reason: 'no targets' };
  const perfText = 'events' in perf ? `perf counts ${perf.events.join(', ')}` : perf.reason;
  log(`bench: ${name} rounds: ${perfText}`);
  const measured = new Map<TracingCpuTarget, Measured>(targets.map((t) => [t, { cpuUs: [], busy: [], statUs: [], instructions: [], spans: 0 }]));
  const timeoutMs = Math.max(60_000, options.requests * 5);
  // h2load (C) when installed: a Node client costs about as much CPU per request as the proxy, so on 2 cores it
  // (not the proxy) was the bottleneck and the proxy idled a third of the time, batching less.
  const h2load = options.nodeClient === true ? null : findPeerBinary('h2load' as 'wrk');
  const client = h2load !== null ? 'h2load --h1' : options.nodeClient === true ? 'a Node client' : 'a Node client (h2load is not installed; Debian: nghttp2-client)';
  log(`bench: ${name} rounds: load from ${client}`);
  const send = (port: number, n: number): Promise<FixedCountResult> =>
    h2load === null ? sendFixedCount(port, n, options.connections, timeoutMs) : sendFixedCountH2load(h2load, port, n, options.connections, timeoutMs);
  // Warm-up: JIT, connections, the reporter's first report; not measured.
  for (const t of targets) await send(t.port, options.warmupRequests ?? Math.max(options.requests, 10_000));
  await sleep(settleMs);
  for (let round = 1; round <= options.rounds; round++) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    const parts: string[] = [];
    // One row's round: readings before, its requests, the flush wait, readings after. In 'together' mode every row's
    // round runs at once (the proxies share CPU 0 and whatever else the machine runs at that moment alike).
    const measure = async (t: TracingCpuTarget): Promise<void> => {
      const m = measured.get(t)!;
      const spansBefore = t.sink === null ? 0 : await sinkSpans(t.sink.port);
      const counter = 'events' in perf ? startPerf(t.pid, perf.events) : null;
      if (counter !== null) await sleep(150); // perf attaches
      const ns0 = threadRunNs(t.pid);
      const stat0 = statSeconds(t.pid);
      const sent = await send(t.port, options.requests);
      const nsSent = threadRunNs(t.pid);
      if (sent.non2xx > 0) throw new Error(`${name}: ${t.label} answered ${sent.non2xx} of ${options.requests} requests with a non-2xx status`);
      // The last partial batch goes out on the reporter's flush timer: its JSON and write belong to this round.
      await sleep(settleMs);
      const ns1 = threadRunNs(t.pid);
      const stat1 = statSeconds(t.pid);
      const instructions = counter === null ? NaN : await counter.stop();
      const spans = t.sink === null ? 0 : (await sinkSpans(t.sink.port)) - spansBefore;
      m.cpuUs.push((ns1 - ns0) / 1000 / options.requests);
      m.busy.push((nsSent - ns0) / 1e6 / sent.elapsedMs);
      m.statUs.push(((stat1 - stat0) * 1e6) / options.requests);
      if (Number.isFinite(instructions)) m.instructions.push(instructions / options.requests);
      m.spans += spans;
      parts.push(`${t.label} ${m.cpuUs.at(-1)!.toFixed(2)} µs, ${Math.round(100 * m.busy.at(-1)!)}% busy${t.sink === null ? '' : ` (${spans} spans)`}`);
    };
    if (options.together === true) await Promise.all(order.map(measure));
    else for (const t of order) await measure(t);
    log(`${name} round ${round}/${options.rounds}: ${parts.join(', ')}`);
  }
  const requests = options.rounds * options.requests;
  const rows: TracingCpuRow[] = targets.map((t) => {
    const m = measured.get(t)!;
    return {
      label: t.label,
      build: t.build,
      percent: t.percent,
      cpu_us: spreadOf(m.cpuUs),
      stat_cpu_us: spreadOf(m.statUs),
      instructions: m.instructions.length === 0 ? null : spreadOf(m.instructions),
      busy: spreadOf(m.busy),
      rounds_cpu_us: m.cpuUs,
      requests,
      spans: t.sink === null ? null : m.spans,
      span_problem: t.percent === null ? null : spanCountProblem(t.percent, requests, m.spans),
    };
  });
  const ratios: TracingRatio[] = [];
  const control: { build: string; ratio: Spread }[] = [];
  for (const off of targets.filter((t) => t.percent === null && t.control !== true)) {
    for (const twin of targets.filter((t) => t.build === off.build && t.control === true)) {
      control.push({ build: off.build, ratio: ratioSpread(measured.get(off)!.cpuUs, measured.get(twin)!.cpuUs) });
    }
    for (const on of targets.filter((t) => t.build === off.build && t.percent !== null)) {
      const a = measured.get(off)!;
      const b = measured.get(on)!;
      const rowsOf = (x: Measured): CpuRows => ({ cpuUs: x.cpuUs, statUs: x.statUs, instructions: x.instructions });
      ratios.push(compareRows(on.build, on.percent!, rowsOf(a), rowsOf(b), requests, b.spans));
    }
  }
  return { rounds: options.rounds, requests_per_round: options.requests, connections: options.connections, mode: options.together === true ? 'together' : 'turns', pinning, perf: perfText, client, rows, ratios, control };
}

const f = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : '-');
const spread = (s: Spread, digits: number): string => `${f(s.median, digits)} (IQR ${f(s.q1, digits)}-${f(s.q3, digits)})`;
const withCi = (s: Spread, digits: number): string => `${f(s.median, digits)} (95% CI of the median ${f(s.ciLow, digits)}-${f(s.ciHigh, digits)}; IQR ${f(s.q1, digits)}-${f(s.q3, digits)})`;

/** takes the report; returns the console table: rows, then each ratio with its goal and verdict. */
export function formatTracingCpu(report: TracingCpuReport): string {
  const lines = [
    '',
    `tracing: proxy CPU per request, ${report.rounds} rounds x ${report.requests_per_round} requests per row, ${report.connections} connections, ${report.mode === 'together' ? 'rows at the same time' : 'rows in turn, alternating order'}; median (interquartile range); the verdict needs the median's 95% interval within the goal`,
    `  load from ${report.client}; ${report.pinning}; ${report.perf}`,
    '  (the req/s rows above are saturation throughput with the load generator, upstream and collector sharing the cores: noisy; these rounds decide)',
  ];
  for (const r of report.rows) {
    const spans = r.spans === null ? '' : `, ${r.spans} spans for ${r.requests} requests (${f((100 * r.spans) / r.requests, 2)}%)`;
    const instr = r.instructions === null ? '' : `, ${spread(r.instructions, 0)} instructions`;
    lines.push(`  ${r.label.padEnd(28)} ${spread(r.cpu_us, 2)} µs (stat: ${spread(r.stat_cpu_us, 1)}), ${f(100 * r.busy.median, 0)}% of a core busy${instr}${spans}${r.span_problem === null ? '' : ` PROBLEM: ${r.span_problem}`}`);
  }
  for (const x of report.ratios) {
    const goal = x.goal === null ? 'no goal' : `goal >= ${f(1 - x.goal, 2)}`;
    const instr = x.instructionRatio === null ? '' : `, by instructions ${spread(x.instructionRatio, 4)}`;
    lines.push(`  ${x.build} ${x.percent}%: throughput traced/off = cpu_off/cpu_on ${withCi(x.ratio, 4)}${instr}; ${goal}: ${x.verdict ?? '-'}${x.problem === null ? '' : ` (${x.problem})`}`);
  }
  for (const c of report.control) {
    lines.push(`  ${c.build} A/A control: off / a second untraced proxy ${withCi(c.ratio, 4)} (the noise floor: a cost much smaller than this interval is wide cannot be told apart)`);
  }
  return `${lines.join('\n')}\n`;
}
