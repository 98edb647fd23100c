// The options of `isthmus proxy`, declared once: the same table drives
// parsing, --help, ISTHMUS_* variables and the --config file.
import { parseLocality, type Locality } from '../../src/xds/locality.js';
import type { LogFormat } from '../../src/log-levels.js';
import type { StartupPages } from '../../src/process/startup-pages.js';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, OptionsError, intBetween, parseCommandOptions, type CommandSpec, type OptionValue } from '../../src/cli/options.js';

/** `--control` mode: the agent is an xDS client of this control plane. */
export interface ControlOptions {
  /** HOST:PORT of the control plane's ADS. */
  readonly target: string;
  readonly protocol: 'delta' | 'sotw';
  readonly version: string;
  /** `--label k=v` (repeatable). */
  readonly labels: Readonly<Record<string, string>>;
  /** This workload's address as announced to the control plane. */
  readonly workloadAddress: string;
  /** The application's port behind the sidecar; 0 when not given. */
  readonly appPort: number;
  /** --policy-port: the control plane's policy port on the --control host (plaintext gRPC); null: Checks use --control. */
  readonly policyPort: number | null;
  /** The service port peers dial (SERVICE_PORT); 0 when not given (the control plane then uses the app port). */
  readonly servicePort: number;
  /** The outbound listener's port (OUTBOUND_PORT); 0: any free port, reserved before the node is announced. */
  readonly outboundPort: number;
  /** The inbound listener's port (INBOUND_PORT); 0: any free port; undefined: not announced (the mesh's default). */
  readonly inboundPort: number | undefined;
  /** SERVICE_ACCOUNT, when given. */
  readonly serviceAccount: string | undefined;
  /** node.locality from `--locality region/zone/subzone`, when given. */
  readonly locality: Locality | undefined;
  /** `--router`: announce as a gateway proxy (Istio's `router` type), configured by Gateways that select its labels. */
  readonly router: boolean;
}

export interface IdentityOptions {
  /** The bootstrap token's file (re-read before each request, so it can be replaced). */
  readonly tokenFile: string;
  /** The control plane's root certificate (its root-cert.pem): xDS and the CA are then reached over TLS. */
  readonly controlCa: string | null;
  /** The lifetime asked of the CA, seconds; 0: the CA's default. */
  readonly certTtlSeconds: number;
}

export interface ProxyOptions {
  /** Absolute path; undefined in pure `--control` mode. */
  readonly bootstrap: string | undefined;
  readonly control: ControlOptions | undefined;
  /** --token-file: the proxy gets its workload certificate from the control plane's CA (SDS `default`, `ROOTCA`). */
  readonly identity: IdentityOptions | undefined;
  readonly workers: number;
  readonly adminPort: number;
  readonly adminAddress: string;
  /** Host names the admin API is reached by, besides localhost and IP addresses (DNS-rebinding guard). */
  readonly adminAllowedHosts: readonly string[];
  /** true when neither flag, env nor file set the admin port (the bootstrap's `admin` may then choose). */
  readonly adminFromDefaults: boolean;
  readonly dataDir: string;
  readonly service: string | undefined;
  readonly namespace: string;
  readonly accessLog: string;
  readonly logLevel: string;
  readonly logFormat: LogFormat;
  readonly drainTimeoutMs: number;
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  /** Open downstream connections allowed over all listeners and workers; 0 = no limit. */
  readonly maxConnections: number;
  /** --transport: who reads and writes data-plane sockets. */
  readonly transport: 'node' | 'native';
  readonly enableDebugEndpoints: boolean;
  /** Capacity of the shared state (circuit breakers, health, outlier counters): cluster and endpoint slots. */
  readonly maxClusters: number;
  readonly maxEndpoints: number;
  /** --startup-pages: drop the node binary's and its libraries' pages only startup used (src/process/startup-pages.ts). */
  readonly startupPages: StartupPages;
  /** --main-thread-data-plane: with workers >= 2, worker 0 serves on the main thread (mixed-data-plane-host.ts). */
  readonly mainThreadDataPlane: boolean;
}

const MAX_WORKERS = 256;
/** The service name a `--router` proxy announces when --service is not given (Istio's ingress gateway). */
export const DEFAULT_ROUTER_SERVICE = 'istio-ingressgateway';

export const PROXY_COMMAND: CommandSpec = {
  name: 'proxy',
  usage: '--bootstrap FILE | --control HOST:PORT --service NAME [options]',
  summary: 'Runs the sidecar proxy: routes HTTP/1.1 by an Envoy v3 bootstrap file over N worker threads, reloads it on change.',
  options: [
    { name: 'bootstrap', type: 'string', valueName: 'FILE', description: 'Envoy v3 bootstrap (static_resources), YAML or JSON; watched for changes' },
    {
      name: 'workers', type: 'string', valueName: 'N|auto', default: '1', description: 'data-plane threads: 1 serves on the main thread beside the agent (least memory; a crash there ends the process), N >= 2 starts N worker threads that are restarted when one crashes ("auto": one per core)',
      validate: (v) => (v === 'auto' || (/^\d+$/.test(String(v)) && Number(v) >= 1 && Number(v) <= MAX_WORKERS) ? undefined : `expected a number from 1 to ${MAX_WORKERS} or "auto", got '${String(v)}'`),
    },
    { name: 'admin-port', type: 'integer', valueName: 'PORT', default: 15000, description: 'admin API port (0: any free port)', validate: intBetween(0, 65535) },
    { name: 'admin-address', type: 'string', valueName: 'ADDR', default: '127.0.0.1', description: 'admin API address' },
    {
      name: 'admin-allowed-host', type: 'list', valueName: 'NAME',
      description: 'a host name the admin API may be reached by besides localhost and IP addresses (other Host headers are refused)',
    },
    { name: 'data-dir', type: 'string', valueName: 'DIR', description: 'LMDB data directory (default ./.isthmus/proxy-<service or "default">)' },
    { name: 'service', type: 'string', valueName: 'NAME', description: 'this workload\'s service name (source_workload in metrics)' },
    { name: 'namespace', type: 'string', valueName: 'NS', default: 'default', description: 'this workload\'s namespace' },
    { name: 'access-log', type: 'string', valueName: 'stdout|off|PATH', default: 'stdout', description: 'where access-log lines go' },
    LOG_LEVEL_OPTION,
    LOG_FORMAT_OPTION,
    { name: 'drain-timeout', type: 'duration', valueName: 'DURATION', default: '5s', description: 'how long in-flight requests may finish on shutdown' },
    { name: 'max-head-bytes', type: 'integer', valueName: 'BYTES', default: 61440, description: 'largest request/response header block (431 above)', validate: intBetween(1024, 1 << 24) },
    { name: 'max-headers', type: 'integer', valueName: 'N', default: 100, description: 'most header fields in one message', validate: intBetween(1, 10000) },
    {
      name: 'max-connections', type: 'integer', valueName: 'N', default: 0, validate: intBetween(0, 1 << 24),
      description: 'most open downstream connections over all listeners and workers; more are closed at accept and counted (0: no limit)',
    },
    {
      name: 'transport', type: 'string', valueName: 'node|native', default: 'native',
      description: 'who reads and writes data-plane sockets: Node\'s net module, or the addon on each worker\'s event loop',
      validate: (v) => (v === 'node' || v === 'native' ? undefined : `expected node or native, got '${String(v)}'`),
    },
    { name: 'control', type: 'string', valueName: 'HOST:PORT', description: 'xDS control plane (ADS); the proxy takes its listeners, routes, clusters and endpoints from it (besides --bootstrap, when given)' },
    { name: 'token-file', type: 'string', valueName: 'FILE', description: 'bootstrap token (`isthmus token create`): the proxy gets its workload certificate from the control plane\'s CA, served to TLS contexts as SDS secrets `default` and `ROOTCA`' },
    {
      name: 'policy-port', type: 'integer', valueName: 'PORT',
      description: 'the control plane\'s policy port (its --policy-port) on the --control host: Mixer Checks go there over plaintext gRPC, and to --control while it does not answer',
      validate: (v) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535 ? undefined : `expected a port 1-65535, got ${String(v)}`),
    },
    { name: 'control-ca', type: 'string', valueName: 'FILE', description: 'the control plane\'s root certificate (root-cert.pem in its data dir): xDS and the CA over TLS (its --secure-xds-port)' },
    { name: 'workload-cert-ttl', type: 'duration', valueName: 'DURATION', description: 'the workload certificate lifetime to ask the CA for (default: the CA\'s)' },
    {
      name: 'xds-protocol', type: 'string', valueName: 'delta|sotw', default: 'delta', description: 'ADS variant: incremental (delta) or state of the world (sotw)',
      validate: (v) => (v === 'delta' || v === 'sotw' ? undefined : `expected delta or sotw, got '${String(v)}'`),
    },
    { name: 'version', type: 'string', valueName: 'V', description: 'this workload\'s version label (announced to the control plane)' },
    { name: 'label', type: 'string', valueName: 'K=V', description: 'a workload label announced to the control plane; repeatable (env/file: comma-separated)' },
    { name: 'app-port', type: 'integer', valueName: 'PORT', description: 'the application port behind this sidecar (announced to the control plane)', validate: intBetween(1, 65535) },
    { name: 'service-port', type: 'integer', valueName: 'PORT', description: 'the service port peers address (announced; default: the app port)', validate: intBetween(1, 65535) },
    { name: 'outbound-port', type: 'integer', valueName: 'PORT', default: 15001, description: 'the outbound listener port announced to the control plane (0: any free port, shown in the "proxy ready" line)', validate: intBetween(0, 65535) },
    { name: 'inbound-port', type: 'integer', valueName: 'PORT', description: 'the inbound listener port announced to the control plane (0: any free port; default: the mesh\'s, 15006)', validate: intBetween(0, 65535) },
    { name: 'service-account', type: 'string', valueName: 'NAME', description: 'this workload\'s service account (announced to the control plane)' },
    {
      name: 'locality', type: 'string', valueName: 'REGION/ZONE/SUBZONE',
      description: 'where this workload runs (announced as node.locality; with outlier detection, traffic prefers endpoints in the same locality)',
    },
    {
      name: 'router', type: 'boolean', default: false,
      description: 'run as an ingress/egress gateway (Istio\'s router proxy type): listeners come from the Gateways whose selector matches --label (default service name: istio-ingressgateway)',
    },
    { name: 'workload-address', type: 'string', valueName: 'IP', default: '127.0.0.1', description: 'this workload\'s address (announced to the control plane)' },
    { name: 'max-clusters', type: 'integer', valueName: 'N', default: 1024, description: 'most clusters a config may have (shared-state slots: 64 bytes each)', validate: intBetween(1, 1 << 20) },
    { name: 'max-endpoints', type: 'integer', valueName: 'N', default: 16384, description: 'most upstream endpoints over all clusters (shared-state slots: 64 bytes each)', validate: intBetween(1, 1 << 22) },
    {
      name: 'startup-pages', type: 'string', valueName: 'release|keep', default: 'release',
      description: 'release: once started (and at two points during startup) drop this process\'s mappings of the node binary\'s and its libraries\' pages only startup used (they stay in the page cache, shared; RSS then counts what serving uses); keep: leave them mapped',
      validate: (v) => (v === 'release' || v === 'keep' ? undefined : `expected release or keep, got '${String(v)}'`),
    },
    {
      name: 'main-thread-data-plane', type: 'boolean', default: false,
      description: 'with --workers N >= 2: worker 0 serves on the main thread beside the agent and N-1 worker threads serve beside it (one V8 isolate fewer, ~13 MB; a crash of worker 0 ends the process, and the agent shares its event loop)',
    },
    { name: 'enable-debug-endpoints', type: 'boolean', default: false, description: 'serve admin POST /debug/crash_worker?id=N (for tests and drills)' },
  ],
};

export type ParseProxyOptionsResult = { readonly help: true } | { readonly help: false; readonly options: ProxyOptions };

/** Takes argv after `proxy` (and the environment); returns typed options, or throws OptionsError naming the bad one. */
export function parseProxyOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParseProxyOptionsResult {
  const { rest, labels: labelFlags } = takeLabelFlags(argv);
  const parsed = parseCommandOptions(PROXY_COMMAND, rest, env);
  if (parsed.help) return { help: true };
  const v = parsed.values;
  const bootstrap = v.bootstrap as string | undefined;
  const control = controlOptions(v, labelFlags);
  if ((bootstrap === undefined || bootstrap === '') && control === undefined) {
    throw new OptionsError('--bootstrap FILE is required, or --control HOST:PORT (or ISTHMUS_BOOTSTRAP / ISTHMUS_CONTROL, or the --config file)');
  }
  if (v.router === true && control === undefined) throw new OptionsError('--router needs --control HOST:PORT (a gateway takes its listeners from the Gateways the control plane serves)');
  const workers = v.workers === 'auto' ? availableParallelism() : Number(v.workers);
  const service = (v.service as string | undefined) ?? (control?.router === true ? DEFAULT_ROUTER_SERVICE : undefined);
  const dataDir = (v['data-dir'] as string | undefined) ?? `./.isthmus/proxy-${service ?? 'default'}`;
  return {
    help: false,
    options: {
      bootstrap: bootstrap === undefined || bootstrap === '' ? undefined : resolve(bootstrap),
      control,
      identity: identityOptions(v, control),
      workers,
      adminPort: v['admin-port'] as number,
      adminAddress: v['admin-address'] as string,
      adminAllowedHosts: (v['admin-allowed-host'] as readonly string[] | undefined) ?? [],
      adminFromDefaults: parsed.sources['admin-port'] === 'default' && parsed.sources['admin-address'] === 'default',
      dataDir: resolve(dataDir),
      service,
      namespace: v.namespace as string,
      accessLog: v['access-log'] as string,
      logLevel: v['log-level'] as string,
      logFormat: v['log-format'] as LogFormat,
      drainTimeoutMs: v['drain-timeout'] as number,
      maxHeadBytes: v['max-head-bytes'] as number,
      maxHeaders: v['max-headers'] as number,
      maxConnections: v['max-connections'] as number,
      transport: v.transport as 'node' | 'native',
      enableDebugEndpoints: v['enable-debug-endpoints'] as boolean,
      maxClusters: v['max-clusters'] as number,
      maxEndpoints: v['max-endpoints'] as number,
      startupPages: v['startup-pages'] as StartupPages,
      mainThreadDataPlane: (v['main-thread-data-plane'] as boolean) && workers >= 2,
    },
  };
}

/** Every `--label K=V` / `--label=K=V` (parseArgs keeps only the last of a repeated option); the other arguments. */
function takeLabelFlags(argv: readonly string[]): { rest: string[]; labels: string[] } {
  const rest: string[] = [];
  const labels: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--label') {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new OptionsError('--label needs a value (K=V)');
      labels.push(value);
      i++;
    } else if (arg.startsWith('--label=')) {
      labels.push(arg.slice('--label='.length));
    } else {
      rest.push(arg);
    }
  }
  return { rest, labels };
}

const LABEL_KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,251}[A-Za-z0-9])?$/;

function parseLabels(items: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq === -1 ? '' : item.slice(0, eq);
    if (!LABEL_KEY.test(key)) throw new OptionsError(`--label: expected K=V with a label name as K, got '${item}'`);
    labels[key] = item.slice(eq + 1);
  }
  return labels;
}

const SERVICE_ACCOUNT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function serviceAccount(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!SERVICE_ACCOUNT.test(value)) throw new OptionsError(`--service-account: expected a DNS-style name (a-z, 0-9, '-', '.'), got '${value}'`);
  return value;
}

function controlOptions(v: Readonly<Record<string, OptionValue | undefined>>, labelFlags: readonly string[]): ControlOptions | undefined {
  const target = v.control as string | undefined;
  if (target === undefined || target === '') {
    if (v['policy-port'] !== undefined) throw new OptionsError('--policy-port goes with --control (the port is on the control plane\'s host)');
    return undefined;
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(target);
  if (match === null || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new OptionsError(`--control: expected HOST:PORT (e.g. 127.0.0.1:15010), got '${target}'`);
  }
  const router = v.router as boolean;
  if ((v.service === undefined || v.service === '') && !router) throw new OptionsError('--control needs --service NAME (the workload announced to the control plane)');
  const fromOther = typeof v.label === 'string' && labelFlags.length === 0 ? v.label.split(',').filter((s) => s !== '') : [];
  const workloadAddress = v['workload-address'] as string;
  if (isIP(workloadAddress) === 0) throw new OptionsError(`--workload-address: expected an IP address, got '${workloadAddress}'`);
  return {
    target,
    protocol: v['xds-protocol'] as 'delta' | 'sotw',
    version: (v.version as string | undefined) ?? '',
    labels: parseLabels(labelFlags.length > 0 ? labelFlags : fromOther),
    workloadAddress,
    appPort: (v['app-port'] as number | undefined) ?? 0,
    policyPort: (v['policy-port'] as number | undefined) ?? null,
    servicePort: (v['service-port'] as number | undefined) ?? 0,
    outboundPort: v['outbound-port'] as number,
    inboundPort: v['inbound-port'] as number | undefined,
    serviceAccount: serviceAccount(v['service-account'] as string | undefined),
    locality: locality(v.locality as string | undefined),
    router,
  };
}

function identityOptions(v: Readonly<Record<string, OptionValue | undefined>>, control: ControlOptions | undefined): IdentityOptions | undefined {
  const tokenFile = v['token-file'] as string | undefined;
  const controlCa = v['control-ca'] as string | undefined;
  if (tokenFile === undefined || tokenFile === '') {
    if (controlCa !== undefined && controlCa !== '') throw new OptionsError('--control-ca goes with --token-file (the workload certificate comes from the control plane\'s CA)');
    return undefined;
  }
  if (control === undefined) throw new OptionsError('--token-file needs --control HOST:PORT (the CA is served by the control plane)');
  const ttl = (v['workload-cert-ttl'] as number | undefined) ?? 0;
  return { tokenFile: resolve(tokenFile), controlCa: controlCa === undefined || controlCa === '' ? null : resolve(controlCa), certTtlSeconds: Math.ceil(ttl / 1000) };
}

function locality(value: string | undefined): Locality | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = parseLocality(value);
  if (parsed === null) throw new OptionsError(`--locality: expected REGION[/ZONE[/SUBZONE]] (letters, digits, '-', '_', '.'), got '${value}'`);
  return parsed;
}
