// `isthmus bench` options. --quick shortens every run (and the xds and parser
// scenarios) unless the option was set explicitly.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { OptionsError, helpText, parseCommandOptions, type CommandSpec, type OptionValue } from '../src/cli/options.js';
import { DEFAULT_SCENARIOS, SCENARIOS } from './scenarios.js';
import type { XdsProtocol } from './xds-worker-protocol.js';

export interface BenchOptions {
  /** Scenario names, in the order given (default: DEFAULT_SCENARIOS). */
  readonly scenarios: readonly string[];
  readonly runs: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  /** Fixed-rate mode's connections, each on its own evenly spaced schedule (fortio's -c). */
  readonly fixedConnections: number;
  readonly rate: number;
  readonly threads: number;
  readonly out: string;
  readonly quick: boolean;
  /** --pin: targets on CPU 0, everything else on CPU 1. */
  readonly pin: boolean;
  /** --rt: fixed-rate windows with the whole request path SCHED_FIFO (bench/rt-priority.ts). */
  readonly rt: boolean;
  /** --baseline DIR: a built checkout of another Isthmus version for the resilience scenario. */
  readonly baseline?: string;
  /** The tracing scenario's CPU rounds (bench/tracing-cpu.ts): rounds, and requests per row per round. */
  readonly cpuRounds: number;
  readonly cpuRequests: number;
  readonly cpuTogether: boolean;
  /** The parser scenario: parses per round (5 rounds per head and parser). */
  readonly parserIterations: number;
  /** The xds scenario (`isthmus bench xds`). */
  readonly xds: {
    readonly clients: number;
    readonly changes: number;
    readonly protocol: XdsProtocol;
    readonly threads: number;
    readonly services: number;
  };
}

const positive = (v: OptionValue): string | undefined => (typeof v === 'number' && v > 0 ? undefined : 'must be greater than 0');

export const BENCH_SPEC: CommandSpec = {
  name: 'bench',
  summary:
    'Benchmarks Isthmus on this machine beside a direct connection and nginx/haproxy (when installed; skipped and said so otherwise): ' +
    'closed-loop max throughput and open-loop fixed rate (latency from the intended send time), 1 KB keep-alive responses, ' +
    'CPU and peak RSS of every proxy from /proc. Writes bench.json, bench.md and bench.html to --out. ' +
    'Scenarios: direct (with wrk -t1 as the client baseline when installed), proxy (isthmus 1 and 2 workers, nginx, haproxy), ' +
    'mesh (two proxies in series), reload (routes change every 500 ms under fixed-rate load), ' +
    'xds (N simulated sidecars against the control plane: convergence time), parser (request-head parse ns: native vs llhttp), ' +
    'resilience (only when named: isthmus with every v2 feature configured but idle, vs. without, vs. --baseline), ' +
    'tls (only when named: TLS termination keep-alive req/s, CPU per request and full handshakes/s, isthmus vs haproxy and nginx with one ECDSA P-256 certificate), ' +
    'ca (only when named: CSRs the CA checks and signs per second on one thread), ' +
    'tcp (only when named: raw TCP relaying MB/s and CPU s per GB, isthmus tcp_proxy vs haproxy mode tcp vs direct), ' +
    'h2 (only when named: gRPC unary and h2load req/s and CPU per 1000 requests, isthmus vs haproxy relaying h2 vs direct), ' +
    'policy (only when named: the policy filter\'s cost per request: no policy vs. check cache hit vs. a Check RPC per request), ' +
    `uws-front (only when named), authz (only when named: proxy CPU per request with an AuthorizationPolicy of 10 rules, translated as for a sidecar, vs. none), tracing (only when named: Zipkin tracing off, 1% and 100% sampled: saturation req/s rows (noisy on a shared machine), then the deciding measure, the proxy's CPU per request over --cpu-rounds alternating rounds with the throughput ratio cpu_off/cpu_on and its interquartile range against the goals), report (only when named: a check cache hit with Report off vs. on, telemetry rules active on a real control plane, beside an A/A control (a second Report-off proxy), Report on to a server that runs no rules, and on with the control plane on another CPU (with --baseline, that build's off and on too): request p99 at a fixed rate against Report off round by round next to the A/A ratio, proxy and control plane CPU per request, cache hit ratio). Default: ${DEFAULT_SCENARIOS.join(' ')}.`,
  usage: '[SCENARIO...] [options]',
  positionals: true,
  options: [
    { name: 'runs', type: 'integer', valueName: 'N', default: 3, description: 'interleaved runs per target; medians are reported', validate: positive },
    { name: 'duration', type: 'duration', valueName: 'TIME', default: '5s', description: 'measured time per load run', validate: positive },
    { name: 'warmup', type: 'duration', valueName: 'TIME', default: '1s', description: 'load before measuring starts (excluded)' },
    { name: 'connections', type: 'integer', valueName: 'N', default: 50, description: 'keep-alive connections', validate: positive },
    {
      name: 'fixed-connections', type: 'integer', valueName: 'N', default: 16, validate: positive,
      description: "fixed-rate mode: keep-alive connections, each sending its own evenly spaced share of --rate (as Istio's fortio runs, -c 16)",
    },
    { name: 'rate', type: 'integer', valueName: 'N', default: 1000, description: 'fixed-rate mode: requests per second', validate: positive },
    {
      name: 'threads',
      type: 'integer',
      valueName: 'N',
      default: Math.max(1, Math.floor(availableParallelism() / 2)),
      description: 'load-generator threads in max mode (fixed mode uses 1)',
      validate: positive,
    },
    { name: 'out', type: 'string', valueName: 'DIR', default: 'bench-results', description: 'where bench.json, bench.md and bench.html go' },
    { name: 'baseline', type: 'string', valueName: 'DIR', description: 'resilience and tracing: a built checkout of another Isthmus version (e.g. data plane v1) run side by side' },
    {
      name: 'pin', type: 'boolean', default: false,
      description: 'load scenarios: each target\'s processes on CPU 0, the bench (its load generator), upstream and helpers on CPU 1 (taskset), so a target\'s throughput is what one core of it does',
    },
    {
      name: 'rt', type: 'boolean', default: false,
      description: 'load scenarios, fixed rate only: during each measured window every process on the request path (this one, the upstream, the target\'s) runs SCHED_FIFO (chrt), so a shared machine\'s other load cannot preempt it; needs root or CAP_SYS_NICE',
    },
    { name: 'cpu-rounds', type: 'integer', valueName: 'N', default: 20, description: 'tracing and proxy (its access log off vs on): rounds of proxy CPU per request per row, in alternating order (--quick: 2); medians and their 95% intervals decide the goals', validate: positive },
    { name: 'cpu-in-turns', type: 'boolean', default: false, description: 'tracing and proxy (its access log off vs on): each CPU round loads the rows one after another (alternating order) instead of all at the same time (the default: the proxies then share CPU 0 and the machine\'s other load alike)' },
    { name: 'cpu-requests', type: 'integer', valueName: 'N', default: 20_000, description: 'tracing and proxy: requests per row per CPU round (--quick: 2000)', validate: positive },
    { name: 'quick', type: 'boolean', default: false, description: 'a smoke test: 1 run of 2 s after 0.5 s warm-up, xds with 200 clients and 1 change, parser with 50000 parses per round' },
    { name: 'parser-iterations', type: 'integer', valueName: 'N', default: 500_000, description: 'parser: parses per round (5 rounds, median)', validate: positive },
    { name: 'clients', type: 'integer', valueName: 'N', default: 1000, description: 'xds: simulated sidecars (ADS clients)', validate: positive },
    {
      name: 'changes', type: 'integer', valueName: 'N', default: 3, description: 'xds: VirtualService changes timed, medians reported (0: connect only)',
      validate: (v: OptionValue) => (typeof v === 'number' && v >= 0 && v <= 100 ? undefined : 'must be between 0 and 100'),
    },
    {
      name: 'xds-protocol', type: 'string', valueName: 'P', default: 'sotw', description: 'xds: sotw (state of the world, Envoy\'s default) or delta',
      validate: (v: OptionValue) => (v === 'sotw' || v === 'delta' ? undefined : `must be sotw or delta, got '${String(v)}'`),
    },
    {
      name: 'xds-threads', type: 'integer', valueName: 'N', default: Math.max(1, availableParallelism()),
      description: 'xds: worker threads the clients are spread over', validate: positive,
    },
    { name: 'services', type: 'integer', valueName: 'N', default: 50, description: 'xds: client i is a sidecar of productpage-<i % N>', validate: positive },
  ],
};

/** Parses argv; returns null after printing help. Throws OptionsError naming the bad flag or target. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions | null {
  const parsed = parseCommandOptions(BENCH_SPEC, argv);
  if (parsed.help) {
    process.stdout.write(helpText(BENCH_SPEC));
    return null;
  }
  const v = parsed.values;
  const quick = v.quick === true;
  const explicit = (name: string): boolean => parsed.sources[name] !== 'default';
  for (const name of parsed.positionals) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new OptionsError(`unknown scenario '${name}' (choose from ${SCENARIOS.join(', ')})`);
    }
  }
  const quickDefault = (name: string, quickValue: number): number => (quick && !explicit(name) ? quickValue : (v[name] as number));
  return {
    scenarios: parsed.positionals.length > 0 ? [...new Set(parsed.positionals)] : [...DEFAULT_SCENARIOS],
    runs: quick && !explicit('runs') ? 1 : (v.runs as number),
    durationMs: quick && !explicit('duration') ? 2000 : (v.duration as number),
    warmupMs: quick && !explicit('warmup') ? 500 : (v.warmup as number),
    connections: v.connections as number,
    fixedConnections: v['fixed-connections'] as number,
    rate: v.rate as number,
    threads: v.threads as number,
    out: v.out as string,
    quick,
    cpuRounds: quickDefault('cpu-rounds', 2),
    cpuRequests: quickDefault('cpu-requests', 2000),
    cpuTogether: v['cpu-in-turns'] !== true,
    pin: v.pin === true,
    rt: v.rt === true,
    ...(typeof v.baseline === 'string' && v.baseline !== '' ? { baseline: resolve(v.baseline) } : {}),
    parserIterations: quickDefault('parser-iterations', 50_000),
    xds: {
      clients: quickDefault('clients', 200),
      changes: quickDefault('changes', 1),
      protocol: v['xds-protocol'] as XdsProtocol,
      threads: v['xds-threads'] as number,
      services: v.services as number,
    },
  };
}
