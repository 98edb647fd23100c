// `isthmus bench` options. --quick shortens every run unless the duration,
// warm-up or run count were set explicitly.
import { availableParallelism } from 'node:os';
import { OptionsError, helpText, parseCommandOptions, type CommandSpec, type OptionValue } from '../src/cli/options.js';
import { SELECTABLE, XDS_TARGET } from './scenarios.js';
import type { XdsProtocol } from './xds-worker-protocol.js';

export interface BenchOptions {
  readonly targets: readonly string[];
  readonly runs: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  readonly rate: number;
  readonly threads: number;
  readonly out: string;
  readonly quick: boolean;
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
    'Benchmarks the proxy on this machine: direct vs. isthmus (and nginx/haproxy when installed), ' +
    `closed-loop max throughput and open-loop fixed rate, 1 KB keep-alive responses. Targets: ${SELECTABLE.join(', ')} (default: all). ` +
    `\`${XDS_TARGET}\` (only when named) benchmarks the control plane instead: N simulated sidecars, a VirtualService change, time until all ACKed.`,
  usage: '[TARGET...] [options]',
  positionals: true,
  options: [
    { name: 'runs', type: 'integer', valueName: 'N', default: 3, description: 'interleaved runs per target; medians are reported', validate: positive },
    { name: 'duration', type: 'duration', valueName: 'TIME', default: '5s', description: 'measured time per load run', validate: positive },
    { name: 'warmup', type: 'duration', valueName: 'TIME', default: '1s', description: 'load before measuring starts (excluded)' },
    { name: 'connections', type: 'integer', valueName: 'N', default: 50, description: 'keep-alive connections', validate: positive },
    { name: 'rate', type: 'integer', valueName: 'N', default: 1000, description: 'fixed-rate mode: requests per second', validate: positive },
    {
      name: 'threads',
      type: 'integer',
      valueName: 'N',
      default: Math.max(1, Math.floor(availableParallelism() / 2)),
      description: 'load-generator threads in max mode (fixed mode uses 1)',
      validate: positive,
    },
    { name: 'out', type: 'string', valueName: 'DIR', default: 'bench-results', description: 'where bench.json and bench.md go' },
    { name: 'quick', type: 'boolean', default: false, description: '1 run of 2 s after 0.5 s warm-up (a smoke test)' },
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
  for (const target of parsed.positionals) {
    if (!(SELECTABLE as readonly string[]).includes(target) && target !== XDS_TARGET) {
      throw new OptionsError(`unknown target '${target}' (choose from ${[...SELECTABLE, XDS_TARGET].join(', ')})`);
    }
  }
  return {
    targets: parsed.positionals.length > 0 ? parsed.positionals : [...SELECTABLE],
    runs: quick && !explicit('runs') ? 1 : (v.runs as number),
    durationMs: quick && !explicit('duration') ? 2000 : (v.duration as number),
    warmupMs: quick && !explicit('warmup') ? 500 : (v.warmup as number),
    connections: v.connections as number,
    rate: v.rate as number,
    threads: v.threads as number,
    out: v.out as string,
    quick,
    xds: {
      clients: v.clients as number,
      changes: v.changes as number,
      protocol: v['xds-protocol'] as XdsProtocol,
      threads: v['xds-threads'] as number,
      services: v.services as number,
    },
  };
}
