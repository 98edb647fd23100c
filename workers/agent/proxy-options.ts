// The options of `isthmus proxy`, declared once: the same table drives
// parsing, --help, ISTHMUS_* variables and the --config file.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { isLogLevel } from '../../src/log.js';
import { OptionsError, parseCommandOptions, type CommandSpec, type OptionValue } from '../../src/cli/options.js';

export interface ProxyOptions {
  readonly bootstrap: string;
  readonly workers: number;
  readonly adminPort: number;
  readonly adminAddress: string;
  /** true when neither flag, env nor file set the admin port (the bootstrap's `admin` may then choose). */
  readonly adminFromDefaults: boolean;
  readonly dataDir: string;
  readonly service: string | undefined;
  readonly namespace: string;
  readonly accessLog: string;
  readonly logLevel: string;
  readonly drainTimeoutMs: number;
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  readonly enableDebugEndpoints: boolean;
}

const MAX_WORKERS = 256;

function intBetween(min: number, max: number) {
  return (v: OptionValue): string | undefined =>
    typeof v === 'number' && v >= min && v <= max ? undefined : `must be between ${min} and ${max}, got ${String(v)}`;
}

export const PROXY_COMMAND: CommandSpec = {
  name: 'proxy',
  usage: '--bootstrap FILE [options]',
  summary: 'Runs the sidecar proxy: routes HTTP/1.1 by an Envoy v3 bootstrap file over N worker threads, reloads it on change.',
  options: [
    { name: 'bootstrap', type: 'string', valueName: 'FILE', description: 'Envoy v3 bootstrap (static_resources), YAML or JSON; watched for changes' },
    {
      name: 'workers', type: 'string', valueName: 'N|auto', default: '1', description: 'worker threads ("auto": one per core)',
      validate: (v) => (v === 'auto' || (/^\d+$/.test(String(v)) && Number(v) >= 1 && Number(v) <= MAX_WORKERS) ? undefined : `expected a number from 1 to ${MAX_WORKERS} or "auto", got '${String(v)}'`),
    },
    { name: 'admin-port', type: 'integer', valueName: 'PORT', default: 15000, description: 'admin API port (0: any free port)', validate: intBetween(0, 65535) },
    { name: 'admin-address', type: 'string', valueName: 'ADDR', default: '127.0.0.1', description: 'admin API address' },
    { name: 'data-dir', type: 'string', valueName: 'DIR', description: 'LMDB data directory (default ./.isthmus/proxy-<service or "default">)' },
    { name: 'service', type: 'string', valueName: 'NAME', description: 'this workload\'s service name (source_workload in metrics)' },
    { name: 'namespace', type: 'string', valueName: 'NS', default: 'default', description: 'this workload\'s namespace' },
    { name: 'access-log', type: 'string', valueName: 'stdout|off|PATH', default: 'stdout', description: 'where access-log lines go' },
    {
      name: 'log-level', type: 'string', valueName: 'LEVEL', default: 'info', description: 'fatal, error, warn, info, debug, trace or silent',
      validate: (v) => (isLogLevel(String(v)) ? undefined : `unknown log level '${String(v)}'`),
    },
    { name: 'drain-timeout', type: 'duration', valueName: 'DURATION', default: '5s', description: 'how long in-flight requests may finish on shutdown' },
    { name: 'max-head-bytes', type: 'integer', valueName: 'BYTES', default: 61440, description: 'largest request/response header block (431 above)', validate: intBetween(1024, 1 << 24) },
    { name: 'max-headers', type: 'integer', valueName: 'N', default: 100, description: 'most header fields in one message', validate: intBetween(1, 10000) },
    { name: 'enable-debug-endpoints', type: 'boolean', default: false, description: 'serve admin POST /debug/crash_worker?id=N (for tests and drills)' },
  ],
};

export type ParseProxyOptionsResult = { readonly help: true } | { readonly help: false; readonly options: ProxyOptions };

/** Takes argv after `proxy` (and the environment); returns typed options, or throws OptionsError naming the bad one. */
export function parseProxyOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParseProxyOptionsResult {
  const parsed = parseCommandOptions(PROXY_COMMAND, argv, env);
  if (parsed.help) return { help: true };
  const v = parsed.values;
  const bootstrap = v.bootstrap as string | undefined;
  if (bootstrap === undefined || bootstrap === '') {
    throw new OptionsError('--bootstrap FILE is required (or ISTHMUS_BOOTSTRAP, or `bootstrap:` in the --config file)');
  }
  const workers = v.workers === 'auto' ? availableParallelism() : Number(v.workers);
  const service = v.service as string | undefined;
  const dataDir = (v['data-dir'] as string | undefined) ?? `./.isthmus/proxy-${service ?? 'default'}`;
  return {
    help: false,
    options: {
      bootstrap: resolve(bootstrap),
      workers,
      adminPort: v['admin-port'] as number,
      adminAddress: v['admin-address'] as string,
      adminFromDefaults: parsed.sources['admin-port'] === 'default' && parsed.sources['admin-address'] === 'default',
      dataDir: resolve(dataDir),
      service,
      namespace: v.namespace as string,
      accessLog: v['access-log'] as string,
      logLevel: v['log-level'] as string,
      drainTimeoutMs: v['drain-timeout'] as number,
      maxHeadBytes: v['max-head-bytes'] as number,
      maxHeaders: v['max-headers'] as number,
      enableDebugEndpoints: v['enable-debug-endpoints'] as boolean,
    },
  };
}
