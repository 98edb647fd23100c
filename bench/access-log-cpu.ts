// `isthmus bench proxy`'s deciding measure of what the access log (on by
// default) costs: the proxy's own CPU per request with the log off and on (to
// a file, the default format), the same build, measured as `bench tracing`
// measures tracing (tracing-cpu.ts): many short rounds of a fixed request
// count, the proxy's threads' run time from /proc per request, every row's
// round at the same time (as the tracing rounds: in turn, the machine's
// time-varying load hit one row and not the other, and a 20-round interval
// was some 1.6 µs wide; at once, it hits all rows alike), beside an A/A
// control (a second proxy with the log off) that shows the noise floor. The
// saturation rows' on - off difference moves by a few µs from run to run on
// this 2-core machine; the per-round difference of paired rounds does not,
// and its median's 95% interval decides the 2 µs goal.
import { runTracingCpu, type TracingCpuTarget } from './tracing-cpu.js';
import { spreadOf, type Spread, type Verdict } from './tracing-cpu-stats.js';

/** The most proxy CPU per request the access log may cost (µs). */
export const ACCESS_LOG_GOAL_US = 2;

export interface AccessLogCpuReport {
  readonly rounds: number;
  readonly requests_per_round: number;
  readonly connections: number;
  readonly pinning: string;
  readonly client: string;
  /** µs of proxy CPU per request, log off and on. */
  readonly off_us: Spread;
  readonly on_us: Spread;
  /** Per round, on - off (µs per request): the cost. */
  readonly added_us: Spread;
  /** Per round, the second log-off proxy - the first (µs per request): the A/A noise floor (null: no control row). */
  readonly control_us: Spread | null;
  /** 'together' (every row's round at once, the default) or 'turns' (--cpu-in-turns). */
  readonly mode: 'together' | 'turns';
  readonly goal_us: number;
  readonly verdict: Verdict;
}

export interface AccessLogCpuOptions {
  readonly rounds: number;
  readonly requests: number;
  readonly connections: number;
  /** The upstream's pid (pinned with the load generator). */
  readonly helperPids: readonly number[];
  /** Tests: no taskset, a Node client. */
  readonly pin?: boolean;
  readonly nodeClient?: boolean;
  /** Every row's round at the same time (default true; false: in turn, alternating order). */
  readonly together?: boolean;
}

/**
 * The fewest rounds whose min-max covers the median with 95% (1 - 2 * 0.5^n >= 0.95). With fewer, spreadOf's
 * interval is min to max all the same, which covers it far less often (2 rounds, --quick: half the time).
 */
export const MIN_VERDICT_ROUNDS = 6;

/**
 * takes the per-round added cost's spread and the count of rounds; 'met' when its median's 95% interval is within
 * the goal, 'not met' when wholly above, 'unsettled' between or with too few rounds for a 95% interval.
 */
export function accessLogVerdict(added: Spread, rounds: number, goalUs = ACCESS_LOG_GOAL_US): Verdict {
  if (rounds < MIN_VERDICT_ROUNDS) return 'unsettled';
  if (added.ciHigh <= goalUs) return 'met';
  if (added.ciLow > goalUs) return 'not met';
  return 'unsettled';
}

/** takes the proxies with the log off and on (started, same build) and the options; runs the rounds and returns the report. */
export async function runAccessLogCpu(
  off: { readonly pid: number; readonly port: number },
  on: { readonly pid: number; readonly port: number },
  control: { readonly pid: number; readonly port: number } | null,
  options: AccessLogCpuOptions,
  log: (line: string) => void,
): Promise<AccessLogCpuReport> {
  const row = (label: string, p: { pid: number; port: number }, isControl = false): TracingCpuTarget =>
    ({ label, build: 'isthmus', percent: null, pid: p.pid, port: p.port, sink: null, control: isControl });
  const rows = [row('access log off', off), row('access log on', on), ...(control === null ? [] : [row('access log off (A/A)', control, true)])];
  const together = options.together ?? true;
  const report = await runTracingCpu(rows, {
    together,
    rounds: options.rounds, requests: options.requests, connections: options.connections, helperPids: options.helperPids,
    // No reporter flush to wait for. A round fills the log's batch buffer many times over (each full batch is
    // written at once, in the round); only the last partial batch waits for the 1 s flush timer and may be written
    // outside any round: one write per round, well under 0.01 µs per request.
    settleMs: 300,
    ...(options.pin === undefined ? {} : { pin: options.pin }),
    ...(options.nodeClient === undefined ? {} : { nodeClient: options.nodeClient }),
    name: 'access log cpu',
  }, log);
  const [offRow, onRow, controlRow] = report.rows;
  const added = onRow!.rounds_cpu_us.map((v, i) => v - offRow!.rounds_cpu_us[i]!);
  const addedSpread = spreadOf(added);
  const controlSpread = controlRow === undefined ? null : spreadOf(controlRow.rounds_cpu_us.map((v, i) => v - offRow!.rounds_cpu_us[i]!));
  return {
    rounds: options.rounds, requests_per_round: options.requests, connections: options.connections, pinning: report.pinning, client: report.client,
    off_us: offRow!.cpu_us, on_us: onRow!.cpu_us, added_us: addedSpread, control_us: controlSpread, mode: together ? 'together' : 'turns',
    goal_us: ACCESS_LOG_GOAL_US, verdict: accessLogVerdict(addedSpread, added.length),
  };
}

const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-');

/** takes the report; returns its console lines. */
export function formatAccessLogCpu(r: AccessLogCpuReport): string {
  return [
    '',
    `access log: proxy CPU per request, log off and on (a file, the default format), ${r.rounds} rounds x ${r.requests_per_round} requests per row, ${r.connections} connections, ${r.mode === 'together' ? 'rows at the same time' : 'rows in turn, alternating order'}`,
    `  load from ${r.client}; ${r.pinning}`,
    `  off ${f(r.off_us.median)} µs (IQR ${f(r.off_us.q1)}-${f(r.off_us.q3)}), on ${f(r.on_us.median)} µs (IQR ${f(r.on_us.q1)}-${f(r.on_us.q3)})`,
    `  access log cost, on - off per round: ${f(r.added_us.median)} µs (95% CI of the median ${f(r.added_us.ciLow)}-${f(r.added_us.ciHigh)}); goal <= ${r.goal_us} µs: ${r.verdict}${r.rounds < MIN_VERDICT_ROUNDS ? ` (${r.rounds} rounds are too few for a 95% interval: ${MIN_VERDICT_ROUNDS} at least)` : ''}`,
    ...(r.control_us === null
      ? []
      : [`  A/A control, a second log-off proxy - off per round: ${f(r.control_us.median)} µs (95% CI ${f(r.control_us.ciLow)}-${f(r.control_us.ciHigh)}; the noise floor)`]),
    '  (the saturation rows\' "on - off, max" above moves by µs from run to run; these rounds decide)',
    '',
  ].join('\n');
}
